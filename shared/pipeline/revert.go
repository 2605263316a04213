package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// Reverter reverts the failing verdicts of one resource as read, through
// the safety gates (a *revert.Reverter): the switch, the allowlist, error
// verdicts and failed reads, manual remediations, the revert budget.
type Reverter interface {
	RevertFailing(ctx context.Context, res resource.Resource, readErr error, vs []policy.Verdict, ch *change.Change) []revert.Result
}

var _ Reverter = (*revert.Reverter)(nil)

// AutoRevertActor is who the actions of the automatic revert are recorded
// as (finding.Action.By).
const AutoRevertActor = "driftwatch (automatic)"

// candidates returns the verdicts of one check the automatic revert is
// asked about: the failing verdicts of rules whose mode is revert. The
// Reverter's gates decide the rest.
func candidates(c detect.Checked) []policy.Verdict {
	var out []policy.Verdict
	for _, v := range c.Verdicts {
		if v.Result == policy.Fail && v.Rule != nil && v.Rule.Mode == policy.ModeRevert {
			if v.Resource.ID == "" {
				v.Resource = c.Resource.Ref
			}
			out = append(out, v)
		}
	}
	return out
}

// wantsRevert reports whether any check of out has a candidate.
func wantsRevert(out detect.Outcome) bool {
	for _, c := range out.Checked {
		if len(candidates(c)) > 0 {
			return true
		}
	}
	return false
}

// revert is the automatic revert stage: after the verdicts were applied
// (trs), each check's candidates go to the Reverter, and each result is
// recorded on its finding and noted (Slack thread, ticket, event); a
// revert verified by its re-read applies the re-read's verdicts, which
// resolve the finding. Only findings left open by the verdicts are
// reverted: a suppressed finding (an exception covers it) is not, nor is
// one that a newer read than this change's already judged.
func (p *Pipeline) revert(ctx context.Context, out detect.Outcome, observed time.Time, trs []finding.Transition) ([]revert.Result, error) {
	found := map[finding.Key]*finding.Finding{}
	for _, tr := range trs {
		if tr.Finding != nil {
			found[tr.Key] = tr.Finding
		}
	}
	var (
		results []revert.Result
		errs    []error
	)
	for _, c := range out.Checked {
		var vs []policy.Verdict
		for _, v := range candidates(c) {
			if why := p.holdBack(v, out.Change, found, observed); why != "" {
				results = append(results, revert.Result{Status: revert.StatusSkipped, Resource: v.Resource, RuleID: v.RuleID,
					Remediation: v.Rule.Remediation, Reason: why})
				continue
			}
			vs = append(vs, v)
		}
		if len(vs) == 0 {
			continue
		}
		started := p.now()
		for _, r := range p.Revert.RevertFailing(ctx, c.Resource, c.Err, vs, out.Change) {
			results = append(results, r)
			if err := p.report(ctx, r, out.Change, found, started); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return results, errors.Join(errs...)
}

// holdBack returns why the verdict is not reverted automatically, or "".
func (p *Pipeline) holdBack(v policy.Verdict, ch *change.Change, found map[finding.Key]*finding.Finding, observed time.Time) string {
	if acct := accountOf(v.Resource, ch); p.RevertAccount != "" && acct != p.RevertAccount {
		return fmt.Sprintf("the resource is in account %s: automatic reverts act in account %s only", acct, p.RevertAccount)
	}
	if p.Lifecycle == nil {
		return ""
	}
	key, err := finding.KeyFor(v, ch)
	if err != nil {
		return fmt.Sprintf("no finding: %v", err)
	}
	f := found[key]
	switch {
	case f == nil:
		return "the verdict was not recorded as a finding"
	case f.Status == finding.StatusSuppressed:
		return "the finding is suppressed (" + f.SuppressReason + "): an exception covers it"
	case f.Status != finding.StatusOpen:
		return "the finding is " + string(f.Status)
	case f.CheckedAt.After(observed):
		return "a newer read of the resource was applied: its change decides"
	}
	return ""
}

// accountOf returns the account of a resource, else the change's.
func accountOf(ref resource.Ref, ch *change.Change) string {
	if ref.Account != "" || ch == nil {
		return ref.Account
	}
	return ch.Account
}

// report records one result on its finding and notes it: a dry run (the
// calls that would be made), a revert (verified), a failure, a failed
// verification, a pause of a flapping resource (at its alert severity).
// Other skipped results (a gate held the revert back) are only returned.
// A verified revert then applies the re-read's verdicts (observed at
// started, when the revert began), so the finding resolves: the Slack
// alert is replaced and the ticket closed. A dry run or a pause already
// noted on the finding with the same text is not noted again.
func (p *Pipeline) report(ctx context.Context, r revert.Result, ch *change.Change, found map[finding.Key]*finding.Finding, started time.Time) error {
	if p.Lifecycle == nil || (r.Status == revert.StatusSkipped && !r.Flapping) {
		return nil
	}
	key, err := finding.KeyFor(policy.Verdict{RuleID: r.RuleID, Resource: r.Resource}, ch)
	if err != nil {
		return fmt.Errorf("record revert result: %w", err)
	}
	text := NoteText(r)
	if (r.Status == revert.StatusDryRun || r.Flapping) && lastAutoRevert(found[key]) == text {
		return nil
	}
	var errs []error
	if _, err := p.Lifecycle.Record(ctx, key, finding.Action{Kind: finding.ActionRevert, By: AutoRevertActor, Result: text}, r.AlertSeverity); err != nil {
		errs = append(errs, fmt.Errorf("record %s revert of finding %s: %w", r.Status, key, err))
	}
	if r.Status == revert.StatusReverted && r.After != nil && len(r.Verdicts) > 0 {
		in := finding.Input{ObservedAt: started, Checks: []finding.Check{{Resource: *r.After, Verdicts: r.Verdicts}}}
		if _, err := p.Lifecycle.Apply(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("apply the verdicts of the re-read after reverting %s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

// lastAutoRevert returns the result of the newest automatic revert action
// on f ("" when none).
func lastAutoRevert(f *finding.Finding) string {
	if f == nil {
		return ""
	}
	for i := len(f.Actions) - 1; i >= 0; i-- {
		if a := f.Actions[i]; a.Kind == finding.ActionRevert && a.By == AutoRevertActor {
			return a.Result
		}
	}
	return ""
}

// NoteText is what a revert result says on its finding, in Slack and on
// the ticket: revert.Result.Text, except for a flapping resource, whose
// note starts "flapping — revert paused: …" and lists the calls it did
// not make.
func NoteText(r revert.Result) string {
	if !r.Flapping {
		return r.Text()
	}
	var b strings.Builder
	b.WriteString(r.Reason)
	fmt.Fprintf(&b, "; not reverted: %s on %s", r.RuleID, r.Resource.ID)
	if r.Remediation != "" {
		fmt.Fprintf(&b, " with %s", r.Remediation)
	}
	for _, c := range r.Calls {
		b.WriteString("\n  " + c.String())
	}
	return b.String()
}

// Allowlisted reports whether a principal is on the config's allowlist
// for every rule: the automatic revert never undoes its changes (entries
// limited to some rules suppress those findings, which are then not
// reverted either).
func Allowlisted(cfg *config.Config) func(principalARN string) bool {
	return func(arn string) bool {
		for _, a := range cfg.Allowlist {
			if len(a.Rules) == 0 && a.Principal.Match(arn) {
				return true
			}
		}
		return false
	}
}
