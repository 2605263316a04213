package azure

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// Reverter decides whether a failing verdict on an Azure resource is
// reverted, and reverts it. Its gates are revert.Reverter's, in the same
// order and with the same results:
//
//  1. the verdict must be a failure: never on a pass, an error verdict or
//     a failed read;
//  2. the rule must name a remediation this package knows;
//  3. the rule's mode must be revert, unless a person asked;
//  4. the change must not come from an allowlisted principal (asked with
//     the change's principal, an Entra object ID, and the managed
//     identity's resource ID where there is one);
//  5. the switch must not be off; when it is dry-run (and nobody asked),
//     the result is the plan, "would revert", with the exact calls;
//  6. the resource's revert budget must not be spent.
//
// Changes made by driftwatch's own identity never reach the Reverter (the
// filter drops them), so a revert never triggers another.
type Reverter struct {
	exec        revert.Executor
	sw          revert.Switch
	allowlisted func(principal string) bool
	budget      revert.Budget
}

// NewReverter returns a Reverter that plans and executes with exec (a
// Remediator) under cfg, revert's configuration.
func NewReverter(exec revert.Executor, cfg revert.Config) (*Reverter, error) {
	sw, err := revert.ParseSwitch(string(cfg.Switch))
	if err != nil {
		return nil, err
	}
	if exec == nil {
		return nil, errors.New("new Azure reverter: no executor")
	}
	g := &Reverter{exec: exec, sw: sw, allowlisted: cfg.Allowlisted, budget: cfg.Budget}
	if g.budget == nil {
		g.budget = revert.NewMemoryBudget(revert.DefaultBudgetLimit, revert.DefaultBudgetWindow)
	}
	return g, nil
}

// Switch returns the Reverter's switch position.
func (g *Reverter) Switch() revert.Switch { return g.sw }

// Revert passes req through the gates and, when they all open, plans and
// executes the remediation. The error is non-nil exactly when the status
// is failed.
func (g *Reverter) Revert(ctx context.Context, req revert.Request) (revert.Result, error) {
	v, res := req.Verdict, req.Resource
	out := revert.Result{Resource: v.Resource, RuleID: v.RuleID, Requester: req.Requester}
	if out.Resource.ID == "" {
		out.Resource = res.Ref
	}
	if v.Rule != nil {
		out.Remediation = v.Rule.Remediation
	}
	skip := func(format string, args ...any) (revert.Result, error) {
		out.Status, out.Reason = revert.StatusSkipped, fmt.Sprintf(format, args...)
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
	case !Known(out.Remediation):
		return skip("rule %s names remediation %q, which does not exist for Azure", v.RuleID, out.Remediation)
	}
	if v.Rule.Mode != policy.ModeRevert && req.Requester == "" {
		mode := v.Rule.Mode
		if mode == "" {
			mode = policy.ModeAlert
		}
		return skip("rule %s is in %s mode, not revert", v.RuleID, mode)
	}
	if p := g.allowlistedPrincipal(req.Change); p != "" {
		return skip("the change was made by %s, an allowlisted principal", p)
	}
	if g.sw == revert.SwitchOff {
		return skip("the revert switch is off")
	}

	plan, err := g.exec.Plan(ctx, out.Remediation, res, v, req.Change)
	if err != nil {
		out.Status, out.Reason = revert.StatusFailed, err.Error()
		return out, err
	}
	out.Backup = plan.Backup
	if len(plan.Calls) == 0 {
		out.Reason = plan.Reason
		if out.Reason == "" {
			out.Reason = "nothing to revert"
		}
		out.Status = revert.StatusSkipped
		return out, nil
	}
	if g.sw == revert.SwitchDryRun && req.Requester == "" {
		out.Status, out.Calls, out.Reason = revert.StatusDryRun, plan.Calls, "would revert: "+plan.Reason
		return out, nil
	}

	ok, err := g.budget.Take(ctx, budgetKey(res.Ref))
	if err != nil {
		out.Status, out.Reason = revert.StatusFailed, fmt.Sprintf("check the revert budget: %v", err)
		return out, fmt.Errorf("revert %s on %s: check the revert budget: %w", out.Remediation, res.Ref.ID, err)
	}
	if !ok {
		n, window := g.budget.Limit()
		out.Status, out.Flapping, out.AlertSeverity = revert.StatusSkipped, true, revert.FlappingSeverity
		out.Reason = fmt.Sprintf("flapping — revert paused: %s was already reverted %d times in the last %s", res.Ref.ID, n, window)
		out.Calls = plan.Calls
		return out, nil
	}

	done, err := g.exec.Execute(ctx, plan)
	done.Requester = req.Requester
	return done, err
}

// allowlistedPrincipal returns the principal by which the change is
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

// RevertFailing reverts each failing verdict of one resource as read, in
// order; after a revert that changed the resource, the later verdicts are
// taken from the verification's re-read (the RDP and SSH rules of an NSG
// share one remediation and must not delete the same rule twice).
func (g *Reverter) RevertFailing(ctx context.Context, res resource.Resource, readErr error, vs []policy.Verdict, ch *change.Change) []revert.Result {
	var out []revert.Result
	vs = slices.Clone(vs)
	for _, v := range vs {
		if v.Result == policy.Pass {
			continue
		}
		r, _ := g.Revert(ctx, revert.Request{Resource: res, ReadErr: readErr, Verdict: v, Change: ch})
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

// budgetKey is the budget's key of a resource (the same as revert's).
func budgetKey(ref resource.Ref) string { return ref.Account + "/" + ref.ID }
