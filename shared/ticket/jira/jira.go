// Package jira opens, updates and closes Jira Cloud tickets for findings,
// through the Jira Cloud platform REST API v3 with basic authentication
// (an Atlassian account's email and API token).
//
// Notifier implements finding.Notifier:
//
//   - Opened searches the project for an open issue carrying the finding's
//     label (finding.Key.Label) and reuses it, or creates one whose
//     description (an Atlassian Document Format document) names the rule,
//     the resource, the change, why the rule fails, the rule's references
//     and the finding's key.
//   - Repeated comments on the ticket, naming the change and its principal,
//     and comments the notes about the finding (a revert's result).
//   - Resolved comments with the reason and applies the configured done
//     transition.
//
// # Endpoints
//
//	POST /rest/api/3/search/jql              find the open ticket by label
//	POST /rest/api/3/issue                   create it
//	POST /rest/api/3/issue/{key}/comment     comment on it
//	GET  /rest/api/3/issue/{key}?fields=status        is it done already?
//	GET  /rest/api/3/issue/{key}/transitions          find the done transition
//	POST /rest/api/3/issue/{key}/transitions          apply it
//
// The enhanced search (/search/jql) replaces /rest/api/3/search, which
// Jira Cloud no longer serves. It is eventually consistent: an issue created
// a moment ago may not be found yet. So a creation whose outcome is unknown
// (a timeout, a dropped connection, a 5xx) is never simply repeated: the
// notifier searches again a few times, and if the issue has not appeared it
// returns an error wrapping ticket.ErrOutcomeUnknown, and the lifecycle
// delivers the notice again later, when the search finds the issue if it was
// created.
package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/ticket"
)

// Name is the notifier's name and its key in finding.Refs.Tickets.
const Name = "jira"

// Options are a Notifier's collaborators; the zero value is usable.
type Options struct {
	// HTTPClient's Transport is the base transport, wrapped with Retry
	// (http.DefaultTransport when nil). Its Timeout should be zero: Retry
	// times each try.
	HTTPClient *http.Client
	// Retry times out and retries requests; its AttemptTimeout defaults to
	// Config.Timeout.
	Retry ticket.Retry
	// Rules gives the rule's references for a new ticket; nil leaves them
	// out.
	Rules ticket.Rules
	// Settle are the waits before each search for an issue whose creation
	// had an unknown outcome (default 1s, 2s, 4s).
	Settle []time.Duration
}

// Notifier is the Jira ticket notifier.
type Notifier struct {
	cfg    Config
	c      *client
	rules  ticket.Rules
	settle []time.Duration
	sleep  func(context.Context, time.Duration) error
}

var _ finding.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier.
func New(cfg Config, opts Options) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("jira config: %w", err)
	}
	retry := opts.Retry
	if retry.AttemptTimeout == 0 {
		retry.AttemptTimeout = cfg.Timeout
	}
	var base http.RoundTripper
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		*hc = *opts.HTTPClient
		base = opts.HTTPClient.Transport
	}
	hc.Transport = retry.Transport(base)
	c, err := newClient(cfg.BaseURL, cfg.Email, cfg.APIToken, hc)
	if err != nil {
		return nil, err
	}
	settle := opts.Settle
	if settle == nil {
		settle = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	}
	sleep := retry.Sleep
	if sleep == nil {
		sleep = ticket.SleepContext
	}
	return &Notifier{cfg: cfg, c: c, rules: opts.Rules, settle: settle, sleep: sleep}, nil
}

// Name returns "jira".
func (n *Notifier) Name() string { return Name }

// Opened finds the finding's open ticket by its label or creates one, and
// returns its key in Refs.Tickets["jira"]. When a ticket of an earlier
// occurrence is still open, it is reused with a comment saying the finding
// opened again.
func (n *Notifier) Opened(ctx context.Context, f *finding.Finding, no finding.Notice) (finding.Refs, error) {
	key, created, err := n.ensure(ctx, f, no)
	if err != nil {
		return finding.Refs{}, err
	}
	if !created && key == f.Tickets[Name] && max(no.Occurrence, f.Occurrence) > 1 {
		if err := n.comment(ctx, key, ticket.Reopened(f, no), noticeRef(f, no)); err != nil {
			return finding.Refs{}, fmt.Errorf("comment on reopened finding %s: %w", f.Key, err)
		}
	}
	return refs(key), nil
}

// Repeated comments on the finding's ticket, naming the change and its
// principal, unless Config.Repeats leaves this kind of repeat out. A
// finding without a ticket (Jira was configured after it
// opened) gets one first.
//
// A note (no.Kind Noted: a revert's result) is a comment too (ticket.Noted),
// whatever Config.Repeats says. A finding that is not open gets no new
// ticket for a note: the note goes to its ticket if it has one.
func (n *Notifier) Repeated(ctx context.Context, f *finding.Finding, no finding.Notice) (finding.Refs, error) {
	if !n.cfg.Repeats.Comment(no.Kind) {
		return finding.Refs{}, nil
	}
	body, open := ticket.Repeated(f, no), true
	if no.Kind == finding.Noted {
		body, open = ticket.Noted(f, no), f.Status == finding.StatusOpen
	}
	key := f.Tickets[Name]
	if key == "" && !open {
		return finding.Refs{}, nil
	}
	if key == "" {
		var err error
		if key, _, err = n.ensure(ctx, f, openingNotice(f)); err != nil {
			return finding.Refs{}, err
		}
	}
	err := n.comment(ctx, key, body, noticeRef(f, no))
	if notFound(err) && key == f.Tickets[Name] {
		if !open {
			return finding.Refs{}, nil // deleted, and nothing to reopen it for
		}
		// The ticket was deleted: open a new one.
		if key, _, err = n.ensure(ctx, f, openingNotice(f)); err != nil {
			return finding.Refs{}, err
		}
		err = n.comment(ctx, key, body, noticeRef(f, no))
	}
	if err != nil {
		return finding.Refs{}, fmt.Errorf("comment on finding %s: %w", f.Key, err)
	}
	return refs(key), nil
}

// Resolved comments on the finding's ticket with the reason, then applies
// the done transition. A ticket already done is left alone, so a notice
// delivered twice does not comment twice; a finding without a ticket has
// nothing to close.
func (n *Notifier) Resolved(ctx context.Context, f *finding.Finding, no finding.Notice) (finding.Refs, error) {
	key := f.Tickets[Name]
	if key == "" {
		found, err := n.find(ctx, f.Key.Label())
		if err != nil || found == "" {
			return finding.Refs{}, err
		}
		key = found
	}
	done, err := n.isDone(ctx, key)
	if notFound(err) {
		return finding.Refs{}, nil // the ticket was deleted: nothing to close
	}
	if err != nil {
		return finding.Refs{}, fmt.Errorf("resolve finding %s: %w", f.Key, err)
	}
	if done {
		return refs(key), nil
	}
	if err := n.comment(ctx, key, ticket.Resolved(f, no), noticeRef(f, no)); err != nil {
		return finding.Refs{}, fmt.Errorf("comment on resolved finding %s: %w", f.Key, err)
	}
	if err := n.transition(ctx, key); err != nil {
		return finding.Refs{}, fmt.Errorf("close ticket of finding %s: %w", f.Key, err)
	}
	return refs(key), nil
}

func refs(key string) finding.Refs {
	return finding.Refs{Tickets: map[string]string{Name: key}}
}

// openingNotice rebuilds the Opened notice of f's current occurrence, for a
// ticket created late.
func openingNotice(f *finding.Finding) finding.Notice {
	return finding.Notice{Kind: finding.Opened, Occurrence: f.Occurrence, Change: f.OpenedBy, Message: f.Message}
}

// ensure returns the key of the finding's open ticket, creating it if the
// search finds none.
func (n *Notifier) ensure(ctx context.Context, f *finding.Finding, no finding.Notice) (key string, created bool, err error) {
	label := f.Key.Label()
	if key, err = n.find(ctx, label); err != nil || key != "" {
		return key, false, err
	}
	key, err = n.create(ctx, f, no)
	if err == nil {
		return key, true, nil
	}
	if !ambiguous(err) {
		return "", false, fmt.Errorf("create jira issue for finding %s in project %s: %w", f.Key, n.cfg.Project, err)
	}
	// The issue may exist: look for it, never create it again here.
	for _, wait := range n.settle {
		if serr := n.sleep(ctx, wait); serr != nil {
			break
		}
		found, ferr := n.find(ctx, label)
		if ferr == nil && found != "" {
			return found, true, nil
		}
	}
	return "", false, fmt.Errorf("create jira issue for finding %s in project %s: %w (no issue labelled %s found yet; the next delivery searches again): %w",
		f.Key, n.cfg.Project, ticket.ErrOutcomeUnknown, label, err)
}

// notFound reports whether err is a 404 from Jira.
func notFound(err error) bool {
	var he *ticket.HTTPError
	return errors.As(err, &he) && he.Status == http.StatusNotFound
}

// ambiguous reports whether a failed creation may have created the issue.
func ambiguous(err error) bool {
	var he *ticket.HTTPError
	if errors.As(err, &he) {
		return he.Status >= 500
	}
	return true // a timeout, a dropped connection, an unreadable 2xx
}

type searchRequest struct {
	JQL        string   `json:"jql"`
	Fields     []string `json:"fields"`
	MaxResults int      `json:"maxResults"`
}

type issue struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		Status status `json:"status"`
	} `json:"fields"`
}

type status struct {
	Name           string `json:"name"`
	StatusCategory struct {
		Key string `json:"key"`
	} `json:"statusCategory"`
}

// find returns the key of the oldest issue of the project that carries
// label and is not done, or "".
func (n *Notifier) find(ctx context.Context, label string) (string, error) {
	req := searchRequest{JQL: SearchJQL(n.cfg.Project, label), Fields: []string{"status"}, MaxResults: 10}
	var resp struct {
		Issues []issue `json:"issues"`
	}
	if err := n.c.do(ctx, http.MethodPost, "/rest/api/3/search/jql", nil, req, &resp); err != nil {
		return "", fmt.Errorf("search jira project %s for label %s: %w", n.cfg.Project, label, err)
	}
	for _, is := range resp.Issues {
		if is.Key != "" && is.Fields.Status.StatusCategory.Key != "done" {
			return is.Key, nil
		}
	}
	return "", nil
}

// SearchJQL returns the JQL that finds the open issues of project carrying
// label, oldest first. Both values are quoted as JQL strings.
func SearchJQL(project, label string) string {
	return fmt.Sprintf("project = %s AND labels = %s AND statusCategory != Done ORDER BY created ASC", QuoteJQL(project), QuoteJQL(label))
}

// QuoteJQL returns s as a double-quoted JQL string literal, with
// backslashes and double quotes escaped and control characters removed, so
// that no value can end the literal and add a clause.
func QuoteJQL(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < ' ' || r == 0x7f:
			// JQL strings cannot hold control characters; labels never do.
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

type createRequest struct {
	Fields createFields `json:"fields"`
}

type createFields struct {
	Project     keyRef   `json:"project"`
	IssueType   nameRef  `json:"issuetype"`
	Summary     string   `json:"summary"`
	Description Node     `json:"description"`
	Labels      []string `json:"labels"`
	Priority    *nameRef `json:"priority,omitempty"`
}

type keyRef struct {
	Key string `json:"key"`
}

type nameRef struct {
	Name string `json:"name"`
}

// create creates the finding's issue. The request is marked
// non-idempotent, so the transport does not repeat it after a 5xx or a
// timeout.
func (n *Notifier) create(ctx context.Context, f *finding.Finding, no finding.Notice) (string, error) {
	req := createRequest{Fields: createFields{
		Project:     keyRef{Key: n.cfg.Project},
		IssueType:   nameRef{Name: n.cfg.issueType()},
		Summary:     Summary(f),
		Description: Doc(ticket.Opened(f, no, n.rules, f.Tickets[Name])),
		Labels:      n.labels(f),
	}}
	if p := n.cfg.Priorities[f.Severity]; p != "" {
		req.Fields.Priority = &nameRef{Name: p}
	}
	var resp struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := n.c.do(ticket.NonIdempotent(ctx), http.MethodPost, "/rest/api/3/issue", nil, req, &resp); err != nil {
		return "", err
	}
	if resp.Key == "" {
		return "", errors.New("POST /rest/api/3/issue: response names no issue key")
	}
	return resp.Key, nil
}

// labels returns the finding's label followed by the configured ones.
func (n *Notifier) labels(f *finding.Finding) []string {
	out := []string{f.Key.Label()}
	for _, l := range n.cfg.Labels {
		if l != out[0] {
			out = append(out, l)
		}
	}
	return out
}

// Summary returns the issue summary for f: the severity, the rule's title
// and the resource ID, on one line of at most 250 characters (Jira takes
// 255).
func Summary(f *finding.Finding) string {
	return ticket.Line(ticket.Title(f)+" - "+f.Resource.ID, ticket.MaxTitle)
}

func issuePath(key string, rest string) string {
	return "/rest/api/3/issue/" + url.PathEscape(key) + rest
}

// noticeRef names one notice of one finding, for a comment to carry: a
// comment already carrying it was posted before (a retry after a lost
// reply, or after a failed transition) and is not posted again.
func noticeRef(f *finding.Finding, no finding.Notice) string {
	if no.Seq == 0 {
		return "" // a rebuilt notice (a ticket created late) has no identity
	}
	ref := fmt.Sprintf("driftwatch notice %s/%d", f.Key.Label(), no.Seq)
	if id := no.Change.EventID; id != "" && len(id) <= 64 && strings.Trim(id, "0123456789abcdefABCDEF-") == "" {
		ref += " event " + id // only a UUID-like ID: the reference must read back verbatim
	}
	return ref
}

// comment posts b on the issue, ending with ref; when ref is set and one of
// the issue's latest comments already carries it, nothing is posted.
func (n *Notifier) comment(ctx context.Context, key string, b ticket.Body, ref string) error {
	if ref != "" {
		posted, err := n.commented(ctx, key, ref)
		if err != nil {
			return err
		}
		if posted {
			return nil
		}
	}
	doc := Doc(b)
	if ref != "" {
		doc.Content = append(doc.Content, Node{Type: "paragraph", Content: []Node{{Type: "text", Text: ref, Marks: []Mark{{Type: "code"}}}}})
	}
	req := struct {
		Body Node `json:"body"`
	}{Body: doc}
	if err := n.c.do(ctx, http.MethodPost, issuePath(key, "/comment"), nil, req, nil); err != nil {
		return fmt.Errorf("comment on jira issue %s: %w", key, err)
	}
	return nil
}

// commented reports whether one of the issue's latest comments carries ref.
func (n *Notifier) commented(ctx context.Context, key, ref string) (bool, error) {
	var page struct {
		Comments []struct {
			Body json.RawMessage `json:"body"`
		} `json:"comments"`
	}
	q := url.Values{"orderBy": {"-created"}, "maxResults": {"50"}}
	if err := n.c.do(ctx, http.MethodGet, issuePath(key, "/comment"), q, nil, &page); err != nil {
		return false, fmt.Errorf("list comments of jira issue %s: %w", key, err)
	}
	for _, c := range page.Comments {
		if bytes.Contains(c.Body, []byte(ref)) {
			return true, nil
		}
	}
	return false, nil
}

func (n *Notifier) isDone(ctx context.Context, key string) (bool, error) {
	var is issue
	if err := n.c.do(ctx, http.MethodGet, issuePath(key, ""), url.Values{"fields": {"status"}}, nil, &is); err != nil {
		return false, fmt.Errorf("get status of jira issue %s: %w", key, err)
	}
	return is.Fields.Status.StatusCategory.Key == "done", nil
}

type transition struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	To   status `json:"to"`
}

// transition applies the done transition: the one whose name, else whose
// target status's name, equals Config.DoneTransition, ignoring case.
func (n *Notifier) transition(ctx context.Context, key string) error {
	var list struct {
		Transitions []transition `json:"transitions"`
	}
	if err := n.c.do(ctx, http.MethodGet, issuePath(key, "/transitions"), nil, nil, &list); err != nil {
		return fmt.Errorf("list transitions of jira issue %s: %w", key, err)
	}
	want := n.cfg.doneTransition()
	var pick *transition
	for i, t := range list.Transitions {
		if strings.EqualFold(t.Name, want) {
			pick = &list.Transitions[i]
			break
		}
		if pick == nil && strings.EqualFold(t.To.Name, want) {
			pick = &list.Transitions[i]
		}
	}
	if pick == nil {
		names := make([]string, 0, len(list.Transitions))
		for _, t := range list.Transitions {
			names = append(names, fmt.Sprintf("%q (to %q)", t.Name, t.To.Name))
		}
		return fmt.Errorf("jira issue %s has no transition named %q (done_transition); available: %s", key, want, strings.Join(names, ", "))
	}
	req := map[string]any{"transition": map[string]string{"id": pick.ID}}
	if n.cfg.Resolution != "" {
		req["fields"] = map[string]any{"resolution": nameRef{Name: n.cfg.Resolution}}
	}
	if err := n.c.do(ctx, http.MethodPost, issuePath(key, "/transitions"), nil, req, nil); err != nil {
		return fmt.Errorf("transition jira issue %s to %q: %w", key, pick.Name, err)
	}
	return nil
}
