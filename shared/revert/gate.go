package revert

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Switch is a deployment's revert switch.
type Switch string

// Switch positions.
const (
	// SwitchOff: never revert, not even on request.
	SwitchOff Switch = "off"
	// SwitchDryRun: report what would be reverted, with the exact calls,
	// and change nothing (the default). A person's request (Slack's
	// "Revert now") still reverts.
	SwitchDryRun Switch = "dry-run"
	// SwitchOn: revert the failing verdicts of rules whose mode is revert.
	SwitchOn Switch = "on"
)

// ParseSwitch reads a switch position; "" is SwitchDryRun.
func ParseSwitch(s string) (Switch, error) {
	switch Switch(s) {
	case "":
		return SwitchDryRun, nil
	case SwitchOff, SwitchDryRun, SwitchOn:
		return Switch(s), nil
	}
	return "", fmt.Errorf("revert switch %q: want off, dry-run or on", s)
}

// Executor plans and executes remediations (Remediator).
type Executor interface {
	Plan(ctx context.Context, rem string, res resource.Resource, v policy.Verdict, ch *change.Change) (Plan, error)
	Execute(ctx context.Context, p Plan) (Result, error)
}

var _ Executor = (*Remediator)(nil)

// Registry is implemented by an Executor whose remediations are not this
// package's (another cloud's): the Reverter asks it which names it knows
// and which are manual, instead of this package's registry.
type Registry interface {
	Known(name string) bool
	Manual(name string) (reason string, manual bool)
}

// known and manual consult the executor's registry, else this package's.
func (g *Reverter) known(name string) bool {
	if r, ok := g.exec.(Registry); ok {
		return r.Known(name)
	}
	return Known(name)
}

func (g *Reverter) manual(name string) (string, bool) {
	if r, ok := g.exec.(Registry); ok {
		return r.Manual(name)
	}
	return Manual(name)
}

// FlappingSeverity is the severity of the alert a paused (flapping)
// resource deserves.
const FlappingSeverity = policy.SeverityHigh

// Reverter decides whether a failing verdict is reverted, and reverts it.
// Its gates, in order:
//
//  1. the verdict must be a failure: never on a pass, and never on an error
//     verdict or a failed read (a resource that could not be judged is not
//     changed);
//  2. the rule must name a remediation, and the remediation must be
//     automated (a manual one is reported with its reason);
//  3. the rule's mode must be revert, unless a person asked;
//  4. the change must not come from an allowlisted principal;
//  5. the switch must not be off; when it is dry-run (and nobody asked),
//     the result is the plan, "would revert", with the exact calls;
//  6. the resource's revert budget must not be spent: after Budget's limit
//     of reverts in its window the resource is flapping, its reverts are
//     paused and the result asks for a high-severity alert.
//
// Changes made by driftwatch's own principal never reach the Reverter:
// the filter drops them before any check (filter.OwnPrincipal), so a revert
// never triggers another. It is safe for concurrent use when its parts
// are.
type Reverter struct {
	exec        Executor
	sw          Switch
	allowlisted func(principalARN string) bool
	budget      Budget
}

// Config configures a Reverter.
type Config struct {
	// Switch is the deployment's switch ("" is SwitchDryRun).
	Switch Switch
	// Allowlisted reports whether changes by a principal are never
	// reverted. It is asked with the change's principal ARN and, for a
	// role session, with the role's ARN (the session's issuer). Nil
	// allowlists nobody.
	Allowlisted func(principalARN string) bool
	// Budget limits the reverts per resource (nil: DefaultBudgetLimit per
	// DefaultBudgetWindow, in memory).
	Budget Budget
}

// NewReverter returns a Reverter that plans and executes with exec.
func NewReverter(exec Executor, cfg Config) (*Reverter, error) {
	sw, err := ParseSwitch(string(cfg.Switch))
	if err != nil {
		return nil, err
	}
	if exec == nil {
		return nil, errors.New("new reverter: no executor")
	}
	g := &Reverter{exec: exec, sw: sw, allowlisted: cfg.Allowlisted, budget: cfg.Budget}
	if g.budget == nil {
		g.budget = NewMemoryBudget(DefaultBudgetLimit, DefaultBudgetWindow)
	}
	return g, nil
}

// Switch returns the Reverter's switch position.
func (g *Reverter) Switch() Switch { return g.sw }

// Request is one failing verdict to revert.
type Request struct {
	// Resource is the resource as read for the verdict; ReadErr is the
	// error of that read, if it failed.
	Resource resource.Resource
	ReadErr  error
	Verdict  policy.Verdict
	// Change is the change that led to the check (nil for a scan).
	Change *change.Change
	// Requester names the person who asked for the revert (Slack's "Revert
	// now"); "" for an automatic revert. A request overrides the rule's
	// mode and a dry-run switch, not an off switch, the allowlist, the
	// budget or the other gates.
	Requester string
}

// Revert passes req through the gates and, when they all open, plans and
// executes the remediation. The error is non-nil exactly when the status
// is failed (a call, the plan or the budget's state failed): the caller
// may retry then.
func (g *Reverter) Revert(ctx context.Context, req Request) (Result, error) {
	return g.revert(ctx, req, false)
}

// Preview returns what Revert would do if a person asked for it, and
// changes nothing: neither the switch nor the rule's mode is consulted,
// every other gate applies, and a result that would revert is a dry run
// with the exact calls. It serves the demo, and a "what would driftwatch
// do" line in a message before a person presses Revert now.
func (g *Reverter) Preview(ctx context.Context, req Request) (Result, error) {
	return g.revert(ctx, req, true)
}

func (g *Reverter) revert(ctx context.Context, req Request, preview bool) (Result, error) {
	v, res := req.Verdict, req.Resource
	out := Result{Resource: v.Resource, RuleID: v.RuleID, Requester: req.Requester}
	if out.Resource.ID == "" {
		out.Resource = res.Ref
	}
	if v.Rule != nil {
		out.Remediation = v.Rule.Remediation
	}
	skip := func(format string, args ...any) (Result, error) {
		out.Status, out.Reason = StatusSkipped, fmt.Sprintf(format, args...)
		return out, nil
	}
	switch {
	case req.ReadErr != nil:
		return skip("the resource could not be read (%v): a resource that could not be judged is never reverted", req.ReadErr)
	case v.Result == policy.Error:
		return skip("the verdict is an error (%s): never reverted", v.Message)
	case v.Result != policy.Fail:
		return skip("the verdict is %s: nothing to revert", v.Result)
	case !res.Exists:
		return skip("the resource no longer exists")
	case v.Rule == nil:
		return skip("the verdict carries no rule")
	case out.Remediation == "":
		return skip("rule %s names no remediation", v.RuleID)
	case !g.known(out.Remediation):
		return skip("rule %s names remediation %q, which does not exist", v.RuleID, out.Remediation)
	}
	if why, manual := g.manual(out.Remediation); manual {
		return skip("remediation %s is manual: %s", out.Remediation, why)
	}
	if v.Rule.Mode != policy.ModeRevert && req.Requester == "" && !preview {
		mode := v.Rule.Mode
		if mode == "" {
			mode = policy.ModeAlert
		}
		return skip("rule %s is in %s mode, not revert", v.RuleID, mode)
	}
	if p := g.allowlistedPrincipal(req.Change); p != "" {
		return skip("the change was made by %s, an allowlisted principal", p)
	}
	if g.sw == SwitchOff && !preview {
		return skip("the revert switch is off")
	}

	plan, err := g.exec.Plan(ctx, out.Remediation, res, v, req.Change)
	switch {
	case errors.Is(err, ErrNotApplicable) || errors.Is(err, ErrUnknownRemediation):
		// A rule naming a remediation of another resource type: retrying
		// cannot help.
		return skip("%v", err)
	case err != nil:
		out.Status, out.Reason = StatusFailed, err.Error()
		return out, err
	}
	out.Backup = plan.Backup
	if len(plan.Calls) == 0 {
		out.Reason = plan.Reason
		if out.Reason == "" {
			out.Reason = "nothing to revert"
		}
		out.Status = StatusSkipped
		return out, nil
	}
	if preview || (g.sw == SwitchDryRun && req.Requester == "") {
		out.Status, out.Calls, out.Reason = StatusDryRun, plan.Calls, "would revert: "+plan.Reason
		return out, nil
	}

	ok, err := g.budget.Take(ctx, budgetKey(res.Ref))
	if err != nil {
		out.Status, out.Reason = StatusFailed, fmt.Sprintf("check the revert budget: %v", err)
		return out, fmt.Errorf("revert %s on %s: check the revert budget: %w", out.Remediation, res.Ref.ID, err)
	}
	if !ok {
		n, window := g.budget.Limit()
		out.Status, out.Flapping, out.AlertSeverity = StatusSkipped, true, FlappingSeverity
		out.Reason = fmt.Sprintf("flapping — revert paused: %s was already reverted %d times in the last %s", res.Ref.ID, n, window)
		out.Calls = plan.Calls
		return out, nil
	}

	done, err := g.exec.Execute(ctx, plan)
	done.Requester = req.Requester
	return done, err
}

// allowlistedPrincipal returns the ARN by which the change's principal is
// allowlisted, or "".
func (g *Reverter) allowlistedPrincipal(ch *change.Change) string {
	if g.allowlisted == nil || ch == nil {
		return ""
	}
	for _, a := range []string{ch.Principal.ARN, ch.Principal.IssuerARN} {
		if a != "" && g.allowlisted(a) {
			return a
		}
	}
	return ""
}

// RevertFailing reverts each failing verdict of one resource as read (the
// verdicts of detect.Checked): every verdict goes through Revert, in order.
// After a revert that changed the resource, the later verdicts are taken
// from the verification's re-read, so that two rules with one remediation
// (the admin-port and all-traffic rules of a security group) do not revert
// the same thing twice. Passing verdicts give no result.
func (g *Reverter) RevertFailing(ctx context.Context, res resource.Resource, readErr error, vs []policy.Verdict, ch *change.Change) []Result {
	var out []Result
	vs = slices.Clone(vs)
	for _, v := range vs {
		if v.Result == policy.Pass {
			continue
		}
		r, _ := g.Revert(ctx, Request{Resource: res, ReadErr: readErr, Verdict: v, Change: ch})
		out = append(out, r)
		if r.After == nil {
			continue
		}
		res, readErr = *r.After, nil
		for i := range vs {
			if nv, ok := verdictOf(r.Verdicts, vs[i].RuleID); ok {
				nv.EventID = vs[i].EventID
				vs[i] = nv
			}
		}
	}
	return out
}

// budgetKey is the budget's key of a resource.
func budgetKey(ref resource.Ref) string { return ref.Account + "/" + ref.ID }
