package interact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/baseline"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
	"github.com/driftwatch/driftwatch/shared/slack"
)

// DefaultSnooze is how long Snooze 24 h silences a finding.
const DefaultSnooze = 24 * time.Hour

// JobTTL is how long a carried-out Job's ID is remembered, so that a
// second delivery of the same Job (asynchronous invocations are delivered
// at least once) does nothing.
const JobTTL = 24 * time.Hour

// Findings is the part of finding.Store the Worker uses.
type Findings interface {
	Get(ctx context.Context, key finding.Key) (*finding.Finding, error)
	Update(ctx context.Context, f *finding.Finding) error
	MarkSeen(ctx context.Context, id string, ttl time.Duration) (first bool, err error)
}

// Reader reads a resource live (fetch/aws.Reader).
type Reader interface {
	Read(ctx context.Context, ref resource.Ref) (resource.Resource, error)
}

// Evaluator evaluates a resource against its rules (policy.Engine, with the
// baselines: policy.WithBaselines).
type Evaluator interface {
	Evaluate(ctx context.Context, in policy.Input) []policy.Verdict
}

// Reverter reverts one failing verdict through the safety gates
// (revert.Reverter). A request with a Requester reverts even when the
// deployment's switch is dry-run.
type Reverter interface {
	Revert(ctx context.Context, req revert.Request) (revert.Result, error)
}

// Applier applies verdicts to findings and records actions on them
// (finding.Lifecycle): a finding the action fixed resolves and its
// notifiers say so, and what the person did, with its result, reaches the
// finding, the Slack thread and the ticket as a note.
type Applier interface {
	Apply(ctx context.Context, in finding.Input) ([]finding.Transition, error)
	Record(ctx context.Context, key finding.Key, a finding.Action, severity string) (*finding.Finding, error)
}

// Responder answers a press through its response_url (slack.Responder).
type Responder interface {
	Replace(ctx context.Context, responseURL string, msg slack.Message) error
	Ephemeral(ctx context.Context, responseURL, text string) error
}

// Access says who may press Revert now and Accept as baseline.
type Access struct {
	// Users are Slack user IDs.
	Users []string
	// Groups are Slack user-group IDs whose members may too.
	Groups []string
	// Members lists a group's members (slack.Notifier.UserGroupMembers);
	// with Groups and no Members, only Users are allowed.
	Members func(ctx context.Context, group string) ([]string, error)
}

// Allowed reports whether the user may revert and accept. An error (a
// membership that could not be read) is never an allowance.
func (a Access) Allowed(ctx context.Context, user string) (bool, error) {
	if user == "" {
		return false, nil
	}
	if slices.Contains(a.Users, user) {
		return true, nil
	}
	if a.Members == nil {
		return false, nil
	}
	for _, g := range a.Groups {
		members, err := a.Members(ctx, g)
		if err != nil {
			return false, fmt.Errorf("check membership of user group %s: %w", g, err)
		}
		if slices.Contains(members, user) {
			return true, nil
		}
	}
	return false, nil
}

// Worker carries out verified presses. Its Findings, Respond and Access
// are required; without Reader and Rules, Revert now and Accept as
// baseline are refused, as is Revert now without a Reverter and Accept as
// baseline without Baselines. It is safe for concurrent use when its parts
// are.
type Worker struct {
	Findings Findings
	// Reader and Rules read the resource and judge it again before a
	// revert or an acceptance.
	Reader    Reader
	Rules     Evaluator
	Reverter  Reverter
	Baselines baseline.Store
	// Lifecycle, if set, records every action with its result (delivered
	// as a note to the Slack thread, the ticket and the event bus) and gets
	// the verdicts of the re-read after a revert or an acceptance: a
	// finding they fixed resolves, as after any change. Without it the
	// action is only stored on the finding.
	Lifecycle Applier
	Respond   Responder
	Access    Access
	// Details looks up what an alert shows besides the finding (the rule's
	// title and CIS ids); nil shows none.
	Details func(f *finding.Finding) slack.Details
	// Snooze is how long Snooze silences a finding (default DefaultSnooze).
	Snooze time.Duration
	Now    func() time.Time
	Log    *slog.Logger
}

// Outcome is what became of a Job.
type Outcome struct {
	// Status is "done", "refused", "failed" or "duplicate".
	Status string
	// Text is what the person was told.
	Text string
}

// Outcome statuses.
const (
	StatusDone      = "done"
	StatusRefused   = "refused"
	StatusFailed    = "failed"
	StatusDuplicate = "duplicate"
)

// maxAttempts bounds the retries of a finding update on conflict.
const maxAttempts = 16

// Do carries out one press. It tells the person the outcome through the
// response_url and, when something was done, replaces the alert with the
// finding's new state and who did what. The error is set when the press
// could not be carried out for a reason worth retrying (the store, a
// failed revert); a refusal is not an error.
func (w *Worker) Do(ctx context.Context, j Job) (Outcome, error) {
	log := w.log().With("action", j.Action, "finding", j.Key, "user", j.UserID)
	first, err := w.Findings.MarkSeen(ctx, "slack-job/"+j.ID, JobTTL)
	if err != nil {
		return w.fail(ctx, j, "driftwatch could not start this action: try again in a minute.", fmt.Errorf("mark job %s: %w", j.ID, err))
	}
	if !first {
		log.InfoContext(ctx, "slack action delivered twice; done once")
		return Outcome{Status: StatusDuplicate}, nil
	}
	key, err := finding.ParseKey(j.Key)
	if err != nil {
		return w.refuse(ctx, j, "This button names no finding driftwatch knows.")
	}
	f, err := w.Findings.Get(ctx, key)
	if errors.Is(err, finding.ErrNotFound) {
		return w.refuse(ctx, j, "driftwatch no longer has this finding.")
	}
	if err != nil {
		return w.fail(ctx, j, "driftwatch could not read the finding: try again in a minute.", fmt.Errorf("get finding %s: %w", key, err))
	}
	if j.Action == finding.ActionRevert || j.Action == finding.ActionAcceptBaseline {
		ok, err := w.Access.Allowed(ctx, j.UserID)
		if err != nil {
			return w.fail(ctx, j, "driftwatch could not check that you may do this, so it did nothing.", err)
		}
		if !ok {
			log.WarnContext(ctx, "slack action refused: user not allowed")
			return w.refuse(ctx, j, "Only the people named in driftwatch's slack.actions (users or user groups) may revert a change or accept a baseline. Nothing was changed.")
		}
	}

	var out Outcome
	switch j.Action {
	case finding.ActionAcknowledge:
		out, err = w.acknowledge(ctx, f, j)
	case finding.ActionSnooze:
		out, err = w.snooze(ctx, f, j)
	case finding.ActionRevert:
		out, err = w.revert(ctx, f, j)
	case finding.ActionAcceptBaseline:
		out, err = w.accept(ctx, f, j)
	default:
		return w.refuse(ctx, j, "driftwatch does not know this button.")
	}
	if out.Status == StatusRefused {
		return w.refuse(ctx, j, out.Text)
	}
	w.replace(ctx, key, j, log)
	if out.Text != "" {
		if rerr := w.Respond.Ephemeral(ctx, j.ResponseURL, out.Text); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		log.ErrorContext(ctx, "slack action", "status", out.Status, "error", err)
	} else {
		log.InfoContext(ctx, "slack action", "status", out.Status)
	}
	return out, err
}

// acknowledge silences the finding's repeats until it resolves.
func (w *Worker) acknowledge(ctx context.Context, f *finding.Finding, j Job) (Outcome, error) {
	now := w.now()
	if _, err := w.update(ctx, f.Key, func(f *finding.Finding) { f.Acknowledge(j.By(), now) }); err != nil {
		return Outcome{Status: StatusFailed, Text: "driftwatch could not record the acknowledgement: try again."}, err
	}
	w.record(ctx, f.Key, finding.Action{Kind: finding.ActionAcknowledge, By: j.By(), At: now,
		Result: j.By() + " acknowledged the finding: no further alerts for this occurrence until it resolves"}, "")
	return Outcome{Status: StatusDone}, nil
}

// snooze silences the finding's alerts for w.Snooze.
func (w *Worker) snooze(ctx context.Context, f *finding.Finding, j Job) (Outcome, error) {
	now := w.now()
	d := w.Snooze
	if d <= 0 {
		d = DefaultSnooze
	}
	until := now.Add(d)
	if _, err := w.update(ctx, f.Key, func(f *finding.Finding) {
		if until.After(f.SnoozedUntil) {
			f.SnoozedUntil = until
		}
	}); err != nil {
		return Outcome{Status: StatusFailed, Text: "driftwatch could not record the snooze: try again."}, err
	}
	w.record(ctx, f.Key, finding.Action{Kind: finding.ActionSnooze, By: j.By(), At: now,
		Result: j.By() + " snoozed the finding's alerts until " + until.UTC().Format("2006-01-02 15:04 UTC")}, "")
	return Outcome{Status: StatusDone}, nil
}

// revert reads the resource again, judges it again and, if the rule still
// fails, reverts it through the gates as the person's request (which
// overrides a dry-run switch, never an off switch, the allowlist or the
// budget).
func (w *Worker) revert(ctx context.Context, f *finding.Finding, j Job) (Outcome, error) {
	if w.Reverter == nil || w.Reader == nil || w.Rules == nil {
		return Outcome{Status: StatusRefused, Text: "Reverts are not set up in this deployment. Nothing was changed."}, nil
	}
	now := w.now()
	ch := changeOf(f)
	res, vs, err := w.judge(ctx, f, ch)
	if err != nil {
		w.record(ctx, f.Key, finding.Action{Kind: finding.ActionRevert, By: j.By(), At: now, Result: revertNote(j, "failed: "+err.Error())}, "")
		return Outcome{Status: StatusFailed, Text: "Nothing was reverted: " + err.Error()}, err
	}
	v, ok := verdictOf(vs, f.RuleID)
	switch {
	case !ok:
		return Outcome{Status: StatusRefused, Text: fmt.Sprintf("Rule %s no longer applies to %s. Nothing was changed.", f.RuleID, f.Resource.ID)}, nil
	case v.Result == policy.Pass:
		w.record(ctx, f.Key, finding.Action{Kind: finding.ActionRevert, By: j.By(), At: now, Result: revertNote(j, "nothing to revert: the rule passes")}, "")
		w.apply(ctx, res, vs)
		return Outcome{Status: StatusDone, Text: fmt.Sprintf("Nothing to revert: %s passes on %s as it is now.", f.RuleID, f.Resource.ID)}, nil
	}
	result, rerr := w.Reverter.Revert(ctx, revert.Request{Resource: res, Verdict: v, Change: ch, Requester: j.By()})
	text := result.Text()
	if result.Status == "" && rerr != nil {
		text = "failed: " + rerr.Error()
	}
	w.record(ctx, f.Key, finding.Action{Kind: finding.ActionRevert, By: j.By(), At: now, Result: revertNote(j, text)}, result.AlertSeverity)
	if result.After != nil {
		w.apply(ctx, *result.After, result.Verdicts)
	}
	out := Outcome{Status: StatusDone, Text: result.Text()}
	switch result.Status {
	case revert.StatusFailed, revert.StatusVerificationFailed:
		out.Status = StatusFailed
	case revert.StatusSkipped, revert.StatusDryRun:
		// A gate held it back (switch off, allowlisted principal, budget
		// spent, manual remediation): recorded and shown on the alert.
		out.Text = "Not reverted. " + result.Text()
	}
	return out, rerr
}

// accept stores the resource's current document as its approved baseline
// and acknowledges the finding; rules of kind baseline compare with it from
// now on.
func (w *Worker) accept(ctx context.Context, f *finding.Finding, j Job) (Outcome, error) {
	if w.Baselines == nil || w.Reader == nil {
		return Outcome{Status: StatusRefused, Text: "Baselines are not set up in this deployment. Nothing was changed."}, nil
	}
	now := w.now()
	res, err := w.Reader.Read(ctx, f.Resource)
	if err != nil {
		return Outcome{Status: StatusFailed, Text: "Nothing was accepted: the resource could not be read."}, fmt.Errorf("read %s: %w", f.Resource, err)
	}
	if !res.Exists {
		return Outcome{Status: StatusRefused, Text: fmt.Sprintf("%s no longer exists: there is nothing to accept. Nothing was changed.", f.Resource.ID)}, nil
	}
	b, err := baseline.Approve(ctx, w.Baselines, res, j.By(), fmt.Sprintf("accepted in Slack on finding %s (rule %s)", f.Key.Label(), f.RuleID), now)
	if err != nil {
		return Outcome{Status: StatusFailed, Text: "Nothing was accepted: driftwatch could not store the baseline."}, err
	}
	if _, err := w.update(ctx, f.Key, func(f *finding.Finding) { f.Acknowledge(j.By(), now) }); err != nil {
		return Outcome{Status: StatusFailed, Text: "The baseline was stored, but the finding could not be updated."}, err
	}
	w.record(ctx, f.Key, finding.Action{Kind: finding.ActionAcceptBaseline, By: j.By(), At: now,
		Result: fmt.Sprintf("%s accepted the current configuration of %s as its approved baseline (version %d); the finding is acknowledged", j.By(), res.Ref.ID, b.Version)}, "")
	if w.Rules != nil {
		w.apply(ctx, res, w.Rules.Evaluate(ctx, policy.Input{Resource: res}))
	}
	return Outcome{Status: StatusDone, Text: fmt.Sprintf("The current configuration of %s is now its approved baseline (version %d). Rules of kind baseline compare with it from now on; this finding is acknowledged.", res.Ref.ID, b.Version)}, nil
}

// judge reads the finding's resource and evaluates its rules.
func (w *Worker) judge(ctx context.Context, f *finding.Finding, ch *change.Change) (resource.Resource, []policy.Verdict, error) {
	res, err := w.Reader.Read(ctx, f.Resource)
	if err != nil {
		return res, nil, fmt.Errorf("the resource could not be read: %w", err)
	}
	if !res.Exists {
		return res, nil, fmt.Errorf("%s no longer exists", f.Resource.ID)
	}
	return res, w.Rules.Evaluate(ctx, policy.Input{Resource: res, Change: ch}), nil
}

// apply hands a re-read's verdicts to the lifecycle (as a scan: no change),
// so that a finding they fix resolves. Its errors are logged: the action
// itself is done.
func (w *Worker) apply(ctx context.Context, res resource.Resource, vs []policy.Verdict) {
	if w.Lifecycle == nil || len(vs) == 0 {
		return
	}
	if _, err := w.Lifecycle.Apply(ctx, finding.Input{Checks: []finding.Check{{Resource: res, Verdicts: vs}}}); err != nil {
		w.log().ErrorContext(ctx, "apply verdicts after a slack action", "resource", res.Ref.ID, "error", err)
	}
}

// record adds an action to the finding through the lifecycle, which
// delivers its result as a note (to the Slack thread, the ticket, the
// event bus) at the alert severity, if any; without a lifecycle it only
// stores the action. A failure is logged: the action itself is done, and
// a note whose delivery failed is delivered again by the next touch of the
// finding or the sweeper.
func (w *Worker) record(ctx context.Context, key finding.Key, a finding.Action, severity string) {
	var err error
	if w.Lifecycle != nil {
		_, err = w.Lifecycle.Record(ctx, key, a, severity)
	} else {
		_, err = w.update(ctx, key, func(f *finding.Finding) { f.Record(a) })
	}
	if err != nil {
		w.log().ErrorContext(ctx, "record slack action", "finding", key.String(), "error", err)
	}
}

// revertNote is the result of a person's Revert now: who pressed it, then
// what came of it (its further lines are the calls).
func revertNote(j Job, outcome string) string {
	return j.By() + " pressed Revert now: " + outcome
}

// update applies fn to the stored finding with a conditional write,
// reading it again on conflict.
func (w *Worker) update(ctx context.Context, key finding.Key, fn func(f *finding.Finding)) (*finding.Finding, error) {
	for range maxAttempts {
		cur, err := w.Findings.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("get finding %s: %w", key, err)
		}
		next := cur.Clone()
		fn(next)
		err = w.Findings.Update(ctx, next)
		if errors.Is(err, finding.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("update finding %s: %w", key, err)
		}
		return next, nil
	}
	return nil, fmt.Errorf("update finding %s: %w", key, finding.ErrContention)
}

// replace shows the finding's new state, with who did what, in place of
// the alert.
func (w *Worker) replace(ctx context.Context, key finding.Key, j Job, log *slog.Logger) {
	f, err := w.Findings.Get(ctx, key)
	if err != nil {
		log.ErrorContext(ctx, "read finding to update the alert", "error", err)
		return
	}
	var d slack.Details
	if w.Details != nil {
		d = w.Details(f)
	}
	if err := w.Respond.Replace(ctx, j.ResponseURL, slack.StateMessage(f, d)); err != nil {
		log.ErrorContext(ctx, "update the alert", "error", err)
	}
}

// refuse tells the person why nothing was done.
func (w *Worker) refuse(ctx context.Context, j Job, text string) (Outcome, error) {
	out := Outcome{Status: StatusRefused, Text: text}
	if err := w.Respond.Ephemeral(ctx, j.ResponseURL, text); err != nil {
		return out, fmt.Errorf("tell %s the refusal: %w", j.UserID, err)
	}
	return out, nil
}

// fail tells the person the action failed, and returns err.
func (w *Worker) fail(ctx context.Context, j Job, text string, err error) (Outcome, error) {
	w.log().ErrorContext(ctx, "slack action failed", "action", j.Action, "finding", j.Key, "error", err)
	if rerr := w.Respond.Ephemeral(ctx, j.ResponseURL, text); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return Outcome{Status: StatusFailed, Text: text}, err
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.DiscardHandler)
}

// verdictOf returns the verdict of rule id among vs.
func verdictOf(vs []policy.Verdict, id string) (policy.Verdict, bool) {
	for _, v := range vs {
		if v.RuleID == id {
			return v, true
		}
	}
	return policy.Verdict{}, false
}

// changeOf rebuilds the finding's newest change from its summary, for the
// gates (is its principal allowlisted?) and the remediations that undo
// what the change did (the policy it attached): nil for a scan.
func changeOf(f *finding.Finding) *change.Change {
	c := f.Change
	if c == (finding.Change{}) {
		return nil
	}
	ch := &change.Change{
		Cloud: f.Cloud, EventID: c.EventID, Time: c.Time, Account: f.Account, Region: f.Region,
		Service: c.Service, Operation: c.Operation,
		Principal: change.Principal{ARN: c.PrincipalARN, Type: c.PrincipalType, IssuerARN: c.IssuerARN},
		SourceIP:  c.SourceIP, UserAgent: c.UserAgent,
	}
	if strings.HasPrefix(c.Request, "{") && json.Valid([]byte(c.Request)) {
		ch.RequestJSON = json.RawMessage(c.Request)
	}
	return ch
}
