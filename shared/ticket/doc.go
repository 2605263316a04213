// Package ticket holds what the ticket notifiers share: the text of a
// ticket as data (Body, built from a finding and a notice by Opened,
// Repeated, Reopened and Resolved), the sanitising of untrusted values
// (Line, Block), and
// the HTTP timeouts and retries every ticket client uses (Retry), and the
// configuration pieces both notifiers validate the same way (FieldError,
// Repeats, CheckBaseURL, CheckLabels).
//
// The notifiers live in the subpackages: jira (Jira Cloud REST API v3,
// hand-written client) and github (GitHub Issues through go-github). Both
// implement finding.Notifier, and both find a finding's ticket again by the
// label finding.Key.Label before they create one, so that a notice delivered
// twice (a retry after a timeout) never opens a second ticket.
//
// # Idempotent creation
//
// Creating a ticket is the one request that must not happen twice. It is
// sent with a NonIdempotent context, so Retry repeats it only on 429 (the
// server did nothing). After a timeout, a dropped connection or a 5xx the
// notifier does not send it again: it searches for the label a few times,
// and returns an error wrapping ErrOutcomeUnknown if the ticket has not
// appeared, so that the lifecycle delivers the notice again later (Jira's
// search is eventually consistent and may lag a write by seconds).
//
// # Untrusted text
//
// Bucket names, principal ARNs, user agents and verdict messages come from
// events and resources that an attacker may control. A Body keeps them
// apart from driftwatch's own text: Field.Value and Section.Block are shown
// literally (Jira: text nodes with a code mark or a code block, which Jira
// never interprets; GitHub: code spans and fenced code blocks, in which
// Markdown does not recognise mentions, links or HTML). Line and Block
// replace control and invisible formatting characters with visible escapes
// first, so a value cannot break out of its line, and bound its length.
package ticket
