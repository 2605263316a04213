// Package slack announces findings in Slack with Block Kit messages. Its
// Notifier implements finding.Notifier in one of two modes:
//
//   - bot-token mode (Config.BotToken, Web API through
//     github.com/slack-go/slack): a new finding is posted with
//     chat.postMessage to the channel Routing picks; the post is kept up to
//     date with chat.update (occurrence count, latest change) and, once the
//     finding is resolved, replaced by a resolved version without buttons;
//     a change by a different principal and the resolution are also told
//     as thread replies (thread_ts), and so are notes (a revert's result,
//     NoteMessage), which do not touch the alert; a note asking for a high
//     or critical alert (a flapping resource) is broadcast to the channel.
//   - incoming-webhook mode (Config.WebhookURL): post only. An alert when
//     the finding opens, another post when a different principal changes
//     it, another when it is resolved, one per note; nothing can be
//     updated, so the
//     first alert keeps its buttons, and the webhook's own channel is used
//     whatever Routing says.
//
// An alert shows the severity and rule title; the resource (type, ID,
// account, region, a console link from ConsoleURL); who made the change
// (principal and type, source IP, user agent), when, and what it did (the
// operation and its request parameters summarised by SummarizeRequest);
// why the rule fails (the verdict message); the rule's CIS controls; and
// the buttons Revert now, Acknowledge, Snooze 24 h and Accept as baseline,
// whose value is the finding key (finding.Key.String) and whose action IDs
// are the Action* constants, for the interactivity handler.
//
// # Untrusted text
//
// Every string that comes from an event or a resource (resource IDs,
// principal ARNs, user agents, request parameters, verdict messages, which
// quote resource values) is hostile. It goes through Escape (& < > as
// entities, so no <!channel>, <@U…>, <#C…> or <http://evil|label> can
// form; control and invisible format characters removed), and is placed
// either in a plain_text object with emoji off or in a code span of a
// mrkdwn object marked verbatim (no automatic links, no name parsing), with
// backticks replaced so the span cannot be closed early. Lengths are capped
// to Slack's limits. Messages are posted with link_names, parse and
// unfurling off.
//
// # Rate limits and errors
//
// A 429 is retried after its Retry-After, a 5xx after an exponential
// backoff, a bounded number of times (Retry) and never past the context's
// deadline; other errors are returned, wrapped with what was attempted.
// Slack has no idempotency key: an alert whose post succeeded but whose
// refs were not stored (a crash in between) is posted again when the
// lifecycle redelivers the notice.
//
// # Secrets
//
// Tokens and webhook URLs are Secrets, which never print, log or encode
// their value; errors never include them.
//
// RenderText renders a message for a terminal (make demo, replay), and
// shared/slack/slackfake is a fake Slack for tests of code that uses a
// Notifier.
package slack
