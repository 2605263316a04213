package sweep

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// RecheckReport is what the re-check of open findings did.
type RecheckReport struct {
	// Findings is the number of open findings re-checked, on Resources
	// distinct resources.
	Findings  int `json:"findings"`
	Resources int `json:"resources"`
	// Resolved were fixed (or deleted) out of band; StillFailing still fail.
	Resolved     int `json:"resolved"`
	StillFailing int `json:"still_failing"`
	// Unchecked could not be re-checked: the read failed, the rule is gone
	// from the pack, or the resource type is not readable.
	Unchecked int `json:"unchecked"`
	// Flushed findings owed notices that were delivered now.
	Flushed int `json:"flushed"`
}

// Recheck re-reads the resource of every open finding and applies the
// verdicts of the findings' rules, so that a finding fixed out of band
// (through a path the real-time detector did not see) is resolved, and
// delivers the notices of findings whose deliverer crashed. Findings of the
// tamper rules are left to Tamper.
func (s *Sweeper) Recheck(ctx context.Context) (RecheckReport, error) {
	var rep RecheckReport
	lc := s.opts.Pipeline.Lifecycle
	type group struct {
		ref   resource.Ref
		rules []string
	}
	groups := map[string]*group{}
	var owing []finding.Key
	for f, err := range lc.Store.List(ctx, finding.StatusOpen) {
		if err != nil {
			return rep, fmt.Errorf("re-check: list open findings: %w", err)
		}
		if len(f.Outbox) > 0 {
			owing = append(owing, f.Key)
		}
		if f.RuleID == TrailTamperRule.ID || f.RuleID == WatchRuleTamperRule.ID {
			continue
		}
		rep.Findings++
		ref := f.Resource
		if ref.ID == "" {
			ref.ID = f.Key.ResourceID
		}
		if ref.Account == "" {
			ref.Account = f.Account
		}
		if ref.Region == "" {
			ref.Region = f.Region
		}
		k := ref.Type + "\x00" + ref.ID + "\x00" + ref.Account + "\x00" + ref.Region
		g := groups[k]
		if g == nil {
			g = &group{ref: ref}
			groups[k] = g
		}
		g.rules = append(g.rules, f.RuleID)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	var errs []error
	for _, k := range keys {
		g := groups[k]
		rep.Resources++
		obs := s.observed()
		res, err := s.opts.Pipeline.Detector.Reader.Read(ctx, g.ref)
		if errors.Is(err, fetchaws.ErrUnsupportedType) {
			rep.Unchecked += len(g.rules)
			continue
		}
		if err != nil {
			rep.Unchecked += len(g.rules)
			errs = append(errs, fmt.Errorf("re-check %s: %w", g.ref, err))
			continue
		}
		var keep []policy.Verdict
		for _, v := range s.opts.Pipeline.Detector.Rules.Evaluate(ctx, policy.Input{Resource: res, Now: obs}) {
			if slices.Contains(g.rules, v.RuleID) {
				keep = append(keep, v)
			}
		}
		rep.Unchecked += len(g.rules) - len(keep)
		trs, err := s.opts.Pipeline.Lifecycle.Apply(ctx, finding.Input{Checks: []finding.Check{{Resource: res, Verdicts: keep}}, ObservedAt: obs})
		for _, tr := range trs {
			switch tr.Kind {
			case finding.Resolved:
				rep.Resolved++
			case finding.Errored:
				rep.Unchecked++
			default:
				if tr.Verdict.Result == policy.Fail {
					rep.StillFailing++
				}
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("re-check %s: %w", g.ref, err))
		}
	}
	if len(lc.Notifiers) > 0 {
		for _, key := range owing {
			f, err := lc.Flush(ctx, key)
			if err != nil {
				errs = append(errs, fmt.Errorf("re-check: deliver notices of %s: %w", key, err))
				continue
			}
			if len(f.Outbox) == 0 {
				rep.Flushed++
			}
		}
	}
	return rep, errors.Join(errs...)
}

// partitionOf returns the AWS partition of a region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}
