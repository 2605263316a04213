// Package github opens, updates and closes GitHub issues for findings,
// through the GitHub REST API (github.com or GitHub Enterprise Server) with
// github.com/google/go-github.
//
// Notifier implements finding.Notifier:
//
//   - Opened makes sure the finding's label (finding.Key.Label) exists in
//     the repository, lists the open issues carrying it and reuses the
//     oldest, or creates an issue whose Markdown body names the rule, the
//     resource, the change, why the rule fails, the rule's references and
//     the finding's key.
//   - Repeated comments on the issue, naming the change and its principal,
//     and comments the notes about the finding (a revert's result).
//   - Resolved comments with the reason and closes the issue as completed.
//
// Issues are found by listing the repository's issues filtered by label
// (GET /repos/{owner}/{repo}/issues?labels=…&state=open), not through the
// search API, whose index lags behind. A creation whose outcome is unknown
// (a timeout, a dropped connection, a 5xx) is never simply repeated: the
// notifier lists again a few times, and if the issue has not appeared it
// returns an error wrapping ticket.ErrOutcomeUnknown so that the notice is
// delivered again later.
//
// Every value from an event or a resource is shown in a code span or a
// fenced code block (see Markdown), so it can mention nobody, link nowhere
// and inject no HTML.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/ticket"
)

// Name is the notifier's name and its key in finding.Refs.Tickets.
const Name = "github"

// labelColor is the colour of the finding labels the notifier creates.
const labelColor = "5319e7"

// Options are a Notifier's collaborators; the zero value is usable.
type Options struct {
	// HTTPClient's Transport is the base transport, wrapped with Retry
	// (http.DefaultTransport when nil). Its Timeout should be zero: Retry
	// times each try.
	HTTPClient *http.Client
	// Retry times out and retries requests; its AttemptTimeout defaults to
	// Config.Timeout. GitHub's 403 rate-limit answers (with Retry-After,
	// or X-RateLimit-Remaining: 0) are retried like 429s.
	Retry ticket.Retry
	// Rules gives the rule's references for a new issue; nil leaves them
	// out.
	Rules ticket.Rules
	// Settle are the waits before each listing for an issue whose creation
	// had an unknown outcome (default 1s, 2s, 4s).
	Settle []time.Duration
}

// Notifier is the GitHub Issues notifier.
type Notifier struct {
	cfg    Config
	issues issuesAPI
	rules  ticket.Rules
	settle []time.Duration
	sleep  func(context.Context, time.Duration) error
}

// issuesAPI is the part of go-github's IssuesService the notifier calls.
type issuesAPI interface {
	ListByRepo(ctx context.Context, owner, repo string, opts *gh.IssueListByRepoOptions) ([]*gh.Issue, *gh.Response, error)
	Get(ctx context.Context, owner, repo string, number int) (*gh.Issue, *gh.Response, error)
	Create(ctx context.Context, owner, repo string, issue *gh.IssueRequest) (*gh.Issue, *gh.Response, error)
	Edit(ctx context.Context, owner, repo string, number int, issue *gh.IssueRequest) (*gh.Issue, *gh.Response, error)
	CreateComment(ctx context.Context, owner, repo string, number int, comment *gh.IssueComment) (*gh.IssueComment, *gh.Response, error)
	ListComments(ctx context.Context, owner, repo string, number int, opts *gh.IssueListCommentsOptions) ([]*gh.IssueComment, *gh.Response, error)
	GetLabel(ctx context.Context, owner, repo, name string) (*gh.Label, *gh.Response, error)
	CreateLabel(ctx context.Context, owner, repo string, label *gh.Label) (*gh.Label, *gh.Response, error)
	AddLabelsToIssue(ctx context.Context, owner, repo string, number int, labels []string) ([]*gh.Label, *gh.Response, error)
}

var (
	_ issuesAPI        = (*gh.IssuesService)(nil)
	_ finding.Notifier = (*Notifier)(nil)
)

// New validates cfg and returns a Notifier.
func New(cfg Config, opts Options) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("github config: %w", err)
	}
	retry := opts.Retry
	if retry.AttemptTimeout == 0 {
		retry.AttemptTimeout = cfg.Timeout
	}
	if retry.Throttled == nil {
		retry.Throttled = throttled
	}
	var base http.RoundTripper
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		*hc = *opts.HTTPClient
		base = opts.HTTPClient.Transport
	}
	hc.Transport = retry.Transport(base)
	client := gh.NewClient(hc).WithAuthToken(cfg.Token.Reveal())
	client.UserAgent = "driftwatch"
	if cfg.BaseURL != "" {
		var err error
		if client, err = client.WithEnterpriseURLs(cfg.BaseURL, cfg.BaseURL); err != nil {
			return nil, fmt.Errorf("github config: base_url: %w", err)
		}
	}
	settle := opts.Settle
	if settle == nil {
		settle = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	}
	sleep := retry.Sleep
	if sleep == nil {
		sleep = ticket.SleepContext
	}
	return &Notifier{cfg: cfg, issues: client.Issues, rules: opts.Rules, settle: settle, sleep: sleep}, nil
}

// throttled recognises GitHub's rate-limit answers with status 403: a
// secondary rate limit carries Retry-After, an exhausted primary one
// X-RateLimit-Remaining: 0 and the reset time.
func throttled(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden {
		return 0, false
	}
	if resp.Header.Get("Retry-After") != "" {
		return ticket.RetryAfter(resp.Header, time.Now()), true
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Until(time.Unix(reset, 0)), 0) + time.Second, true
		}
		return 0, true
	}
	return 0, false
}

// Name returns "github".
func (n *Notifier) Name() string { return Name }

// ref is an issue: "owner/repo#7" in finding.Refs.
type ref struct {
	owner, repo string
	number      int
}

// String returns "owner/repo#N".
func (r ref) String() string { return r.owner + "/" + r.repo + "#" + strconv.Itoa(r.number) }

// parseRef parses "owner/repo#7"; ok is false for anything else.
func parseRef(s string) (ref, bool) {
	repo, num, ok := strings.Cut(s, "#")
	owner, name, ok2 := strings.Cut(repo, "/")
	number, err := strconv.Atoi(num)
	if !ok || !ok2 || err != nil || owner == "" || name == "" || number <= 0 {
		return ref{}, false
	}
	return ref{owner: owner, repo: name, number: number}, true
}

func refs(r ref) finding.Refs {
	return finding.Refs{Tickets: map[string]string{Name: r.String()}}
}

// Opened finds the finding's open issue by its label or creates one, and
// returns "owner/repo#N" in Refs.Tickets["github"]. When an issue of an
// earlier occurrence is still open, it is reused with a comment saying the
// finding opened again.
func (n *Notifier) Opened(ctx context.Context, f *finding.Finding, no finding.Notice) (finding.Refs, error) {
	r, created, err := n.ensure(ctx, f, no)
	if err != nil {
		return finding.Refs{}, err
	}
	if !created && r.String() == f.Tickets[Name] && max(no.Occurrence, f.Occurrence) > 1 {
		if err := n.comment(ctx, r, ticket.Reopened(f, no), noticeRef(f, no)); err != nil {
			return finding.Refs{}, fmt.Errorf("comment on reopened finding %s: %w", f.Key, err)
		}
	}
	return refs(r), nil
}

// Repeated comments on the finding's issue, naming the change and its
// principal, unless Config.Repeats leaves this kind of repeat out. A
// finding without an issue (GitHub was configured after it
// opened), or whose issue was deleted, gets one first.
//
// A note (no.Kind Noted: a revert's result) is a comment too (ticket.Noted),
// whatever Config.Repeats says. A finding that is not open gets no new
// issue for a note: the note goes to its issue if it has one.
func (n *Notifier) Repeated(ctx context.Context, f *finding.Finding, no finding.Notice) (finding.Refs, error) {
	if !n.cfg.Repeats.Comment(no.Kind) {
		return finding.Refs{}, nil
	}
	body, open := ticket.Repeated(f, no), true
	if no.Kind == finding.Noted {
		body, open = ticket.Noted(f, no), f.Status == finding.StatusOpen
	}
	r, ok := parseRef(f.Tickets[Name])
	var err error
	if ok {
		err = n.comment(ctx, r, body, noticeRef(f, no))
		if !gone(err) {
			if err != nil {
				return finding.Refs{}, fmt.Errorf("comment on finding %s: %w", f.Key, err)
			}
			return refs(r), nil
		}
	}
	if !open {
		return finding.Refs{}, nil // no issue, or a deleted one: none is opened for a note
	}
	if r, _, err = n.ensure(ctx, f, openingNotice(f)); err != nil {
		return finding.Refs{}, err
	}
	if err := n.comment(ctx, r, body, noticeRef(f, no)); err != nil {
		return finding.Refs{}, fmt.Errorf("comment on finding %s: %w", f.Key, err)
	}
	return refs(r), nil
}

// Resolved comments on the finding's issue with the reason and closes it
// as completed. An issue already closed is left alone, so a notice
// delivered twice does not comment twice; a finding without an issue has
// nothing to close.
func (n *Notifier) Resolved(ctx context.Context, f *finding.Finding, no finding.Notice) (finding.Refs, error) {
	r, ok := parseRef(f.Tickets[Name])
	if !ok {
		found, err := n.find(ctx, f.Key.Label())
		if err != nil || found == nil {
			return finding.Refs{}, err
		}
		r = *found
	}
	is, _, err := n.issues.Get(ctx, r.owner, r.repo, r.number)
	if gone(err) {
		return finding.Refs{}, nil // deleted or transferred: nothing to close
	}
	if err != nil {
		return finding.Refs{}, fmt.Errorf("get github issue %s of finding %s: %w", r, f.Key, err)
	}
	if is.GetState() == "closed" {
		return refs(r), nil
	}
	if err := n.comment(ctx, r, ticket.Resolved(f, no), noticeRef(f, no)); err != nil {
		return finding.Refs{}, fmt.Errorf("comment on resolved finding %s: %w", f.Key, err)
	}
	edit := &gh.IssueRequest{State: gh.Ptr("closed"), StateReason: gh.Ptr("completed")}
	if _, _, err := n.issues.Edit(ctx, r.owner, r.repo, r.number, edit); err != nil {
		return finding.Refs{}, fmt.Errorf("close github issue %s of finding %s: %w", r, f.Key, err)
	}
	return refs(r), nil
}

// openingNotice rebuilds the Opened notice of f's current occurrence, for
// an issue created late.
func openingNotice(f *finding.Finding) finding.Notice {
	return finding.Notice{Kind: finding.Opened, Occurrence: f.Occurrence, Change: f.OpenedBy, Message: f.Message}
}

// ensure returns the finding's open issue, creating it if none carries the
// finding's label.
func (n *Notifier) ensure(ctx context.Context, f *finding.Finding, no finding.Notice) (ref, bool, error) {
	label := f.Key.Label()
	found, err := n.find(ctx, label)
	if err != nil {
		return ref{}, false, err
	}
	if found != nil {
		return *found, false, nil
	}
	if err := n.ensureLabel(ctx, label); err != nil {
		return ref{}, false, err
	}
	r, err := n.create(ctx, f, no)
	if err == nil {
		return r, true, nil
	}
	if !ambiguous(err) {
		return ref{}, false, fmt.Errorf("create github issue for finding %s in %s/%s: %w", f.Key, n.cfg.Owner, n.cfg.Repo, err)
	}
	for _, wait := range n.settle {
		if serr := n.sleep(ctx, wait); serr != nil {
			break
		}
		if found, ferr := n.find(ctx, label); ferr == nil && found != nil {
			return *found, true, nil
		}
	}
	return ref{}, false, fmt.Errorf("create github issue for finding %s in %s/%s: %w (no issue labelled %s found yet; the next delivery looks again): %w",
		f.Key, n.cfg.Owner, n.cfg.Repo, ticket.ErrOutcomeUnknown, label, err)
}

// find returns the oldest open issue (not pull request) of the repository
// carrying label, or nil.
func (n *Notifier) find(ctx context.Context, label string) (*ref, error) {
	opts := &gh.IssueListByRepoOptions{
		Labels: []string{label}, State: "open", Sort: "created", Direction: "asc",
		ListOptions: gh.ListOptions{PerPage: 20},
	}
	list, _, err := n.issues.ListByRepo(ctx, n.cfg.Owner, n.cfg.Repo, opts)
	if err != nil {
		return nil, fmt.Errorf("list github issues of %s/%s labelled %s: %w", n.cfg.Owner, n.cfg.Repo, label, err)
	}
	for _, is := range list {
		if is.IsPullRequest() || is.GetNumber() <= 0 {
			continue
		}
		return &ref{owner: n.cfg.Owner, repo: n.cfg.Repo, number: is.GetNumber()}, nil
	}
	return nil, nil
}

// ensureLabel creates the finding's label in the repository when it is
// missing. GitHub's documentation does not promise that creating an issue
// with an unknown label creates the label, so the notifier does not rely
// on it.
func (n *Notifier) ensureLabel(ctx context.Context, label string) error {
	_, _, err := n.issues.GetLabel(ctx, n.cfg.Owner, n.cfg.Repo, label)
	if err == nil {
		return nil
	}
	if status(err) != http.StatusNotFound {
		return fmt.Errorf("get label %s of %s/%s: %w", label, n.cfg.Owner, n.cfg.Repo, err)
	}
	l := &gh.Label{Name: gh.Ptr(label), Color: gh.Ptr(labelColor), Description: gh.Ptr("driftwatch finding")}
	if _, _, err := n.issues.CreateLabel(ctx, n.cfg.Owner, n.cfg.Repo, l); err != nil && status(err) != http.StatusUnprocessableEntity {
		// 422: created meanwhile by another delivery.
		return fmt.Errorf("create label %s in %s/%s: %w", label, n.cfg.Owner, n.cfg.Repo, err)
	}
	return nil
}

// create opens the finding's issue and checks that it carries the label.
// The request is marked non-idempotent, so the transport does not repeat
// it after a 5xx or a timeout.
func (n *Notifier) create(ctx context.Context, f *finding.Finding, no finding.Notice) (ref, error) {
	label := f.Key.Label()
	labels := []string{label}
	for _, l := range n.cfg.Labels {
		if l != label {
			labels = append(labels, l)
		}
	}
	req := &gh.IssueRequest{
		Title:  gh.Ptr(Title(f)),
		Body:   gh.Ptr(Markdown(ticket.Opened(f, no, n.rules, f.Tickets[Name]))),
		Labels: &labels,
	}
	is, _, err := n.issues.Create(ticket.NonIdempotent(ctx), n.cfg.Owner, n.cfg.Repo, req)
	if err != nil {
		return ref{}, err
	}
	if is.GetNumber() <= 0 {
		return ref{}, errors.New("create issue: response names no issue number")
	}
	r := ref{owner: n.cfg.Owner, repo: n.cfg.Repo, number: is.GetNumber()}
	if !slices.ContainsFunc(is.Labels, func(l *gh.Label) bool { return l.GetName() == label }) {
		// GitHub drops the labels of a caller without push access.
		if _, _, err := n.issues.AddLabelsToIssue(ctx, r.owner, r.repo, r.number, []string{label}); err != nil {
			return ref{}, fmt.Errorf("issue %s was created without its label %s, which the token may not set (it needs push or triage access); adding it: %w", r, label, err)
		}
	}
	return r, nil
}

// Title returns the issue title for f: the severity and rule title, and
// the resource ID in a code span.
func Title(f *finding.Finding) string {
	return escapeText(ticket.Line(ticket.Title(f), 120)) + " on " + codeSpan(ticket.Line(f.Resource.ID, 120))
}

// noticeRef names one notice of one finding, for a comment to carry: a
// comment already carrying it was posted before (a retry after a lost
// reply, or after a failed close) and is not posted again.
func noticeRef(f *finding.Finding, no finding.Notice) string {
	if no.Seq == 0 {
		return "" // a rebuilt notice (an issue created late) has no identity
	}
	ref := fmt.Sprintf("driftwatch notice %s/%d", f.Key.Label(), no.Seq)
	if id := no.Change.EventID; id != "" && len(id) <= 64 && strings.Trim(id, "0123456789abcdefABCDEF-") == "" {
		ref += " event " + id // only a UUID-like ID: the reference must read back verbatim
	}
	return ref
}

// maxCommentPages bounds how many pages of comments a retry looks through.
const maxCommentPages = 5

// comment posts b on the issue, ending with ref in a code span; when ref is
// set and a comment of the issue already carries it, nothing is posted.
func (n *Notifier) comment(ctx context.Context, r ref, b ticket.Body, ref string) error {
	body := Markdown(b)
	if ref != "" {
		posted, err := n.commented(ctx, r, ref)
		if err != nil {
			return err
		}
		if posted {
			return nil
		}
		body += "\n\n" + codeSpan(ref) + "\n"
	}
	c := &gh.IssueComment{Body: gh.Ptr(body)}
	if _, _, err := n.issues.CreateComment(ctx, r.owner, r.repo, r.number, c); err != nil {
		return fmt.Errorf("comment on github issue %s: %w", r, err)
	}
	return nil
}

// commented reports whether a comment of the issue carries ref.
func (n *Notifier) commented(ctx context.Context, r ref, ref string) (bool, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for range maxCommentPages {
		cs, resp, err := n.issues.ListComments(ctx, r.owner, r.repo, r.number, opts)
		if err != nil {
			return false, fmt.Errorf("list comments of github issue %s: %w", r, err)
		}
		for _, c := range cs {
			if strings.Contains(c.GetBody(), ref) {
				return true, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return false, nil
		}
		opts.Page = resp.NextPage
	}
	return false, nil
}

// status returns the HTTP status of a go-github error, or 0.
func status(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) && rl.Response != nil {
		return rl.Response.StatusCode
	}
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &ab) && ab.Response != nil {
		return ab.Response.StatusCode
	}
	return 0
}

// gone reports whether err says the issue no longer exists (404) or was
// deleted or transferred (410).
func gone(err error) bool {
	s := status(err)
	return s == http.StatusNotFound || s == http.StatusGone
}

// ambiguous reports whether a failed creation may have created the issue:
// a 5xx, a timeout, a dropped connection, an unreadable 2xx. A 4xx,
// rate-limit answers included, created nothing.
func ambiguous(err error) bool {
	s := status(err)
	return s == 0 || s >= 500
}
