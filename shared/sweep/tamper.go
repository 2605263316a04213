package sweep

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// The rules the tamper check reports under. They are not CEL rules of the
// pack: the sweeper evaluates them itself, each run, and applies the
// verdicts to findings like any other (a pass resolves the finding).
var (
	// TrailTamperRule fails when no multi-region trail is logging (or the
	// configured trail is gone, stopped or single-region): the changes
	// driftwatch watches may no longer reach it.
	TrailTamperRule = &policy.Rule{
		ID:            "aws-driftwatch-tamper-trail",
		Title:         "CloudTrail is not recording every region for driftwatch",
		Description:   "driftwatch's sweeper found no multi-region CloudTrail trail that is logging (or the configured trail is missing, stopped or single-region).",
		Severity:      "high",
		ResourceTypes: []string{"AWS::CloudTrail::Trail"},
	}
	// WatchRuleTamperRule fails when one of driftwatch's EventBridge watch
	// rules is disabled or deleted: its changes no longer reach the detector.
	WatchRuleTamperRule = &policy.Rule{
		ID:            "aws-driftwatch-tamper-watch-rule",
		Title:         "A driftwatch EventBridge watch rule is disabled or deleted",
		Description:   "driftwatch's sweeper found a watch rule that is not enabled: the changes it matches no longer reach the detector in real time.",
		Severity:      "high",
		ResourceTypes: []string{"AWS::Events::Rule"},
	}
)

// trailAPI is the CloudTrail calls the tamper check makes.
type trailAPI interface {
	DescribeTrails(ctx context.Context, in *cloudtrail.DescribeTrailsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(ctx context.Context, in *cloudtrail.GetTrailStatusInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
}

// rulesAPI is the EventBridge call the tamper check makes.
type rulesAPI interface {
	DescribeRule(ctx context.Context, in *eventbridge.DescribeRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error)
}

// TamperResult is one tamper check's verdict.
type TamperResult struct {
	Rule     string `json:"rule"`
	Resource string `json:"resource"`
	Result   string `json:"result"`
	Message  string `json:"message"`
}

// TamperReport is what the tamper check found.
type TamperReport struct {
	Results []TamperResult `json:"results"`
}

// Failed reports whether any check failed.
func (r TamperReport) Failed() bool {
	for _, x := range r.Results {
		if x.Result != string(policy.Pass) {
			return true
		}
	}
	return false
}

// Tamper checks that the real-time path is intact: a multi-region trail is
// logging (Options.Trail, or any), and every watch rule (Options.WatchRules)
// exists and is enabled. Each check's verdict is applied to its finding,
// opening a high-severity finding on failure and resolving it once fixed.
func (s *Sweeper) Tamper(ctx context.Context) (TamperReport, error) {
	var (
		rep    TamperReport
		checks []finding.Check
		errs   []error
	)
	add := func(rule *policy.Rule, ref resource.Ref, pass bool, msg string) {
		res := policy.Pass
		if !pass {
			res = policy.Fail
		}
		v := policy.Verdict{Rule: rule, RuleID: rule.ID, Severity: rule.Severity, Resource: ref, Result: res, Message: msg}
		checks = append(checks, finding.Check{Resource: resource.Resource{Ref: ref, Exists: true, Doc: map[string]any{}, Tags: map[string]string{}}, Verdicts: []policy.Verdict{v}})
		rep.Results = append(rep.Results, TamperResult{Rule: rule.ID, Resource: ref.ID, Result: string(res), Message: msg})
	}
	obs := s.observed()
	if ref, pass, msg, err := s.checkTrail(ctx); err != nil {
		errs = append(errs, err)
	} else {
		add(TrailTamperRule, ref, pass, msg)
	}
	for _, name := range s.opts.WatchRules {
		ref, pass, msg, err := s.checkWatchRule(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		add(WatchRuleTamperRule, ref, pass, msg)
	}
	if len(checks) > 0 {
		if _, err := s.opts.Pipeline.Lifecycle.Apply(ctx, finding.Input{Checks: checks, ObservedAt: obs}); err != nil {
			errs = append(errs, fmt.Errorf("apply tamper verdicts: %w", err))
		}
	}
	return rep, errors.Join(errs...)
}

// checkTrail finds the trail the detector depends on and checks it.
func (s *Sweeper) checkTrail(ctx context.Context) (resource.Ref, bool, string, error) {
	region := s.region()
	out, err := s.trails.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return resource.Ref{}, false, "", fmt.Errorf("tamper check: describe trails in %s: %w", region, err)
	}
	ref := resource.Ref{Type: "AWS::CloudTrail::Trail", Account: s.opts.Account, Region: region,
		ID: "arn:" + partitionOf(region) + ":cloudtrail:" + region + ":" + s.opts.Account + ":trail/*"}
	want := s.opts.Trail
	var notes []string
	for _, tr := range out.TrailList {
		name, arn := aws.ToString(tr.Name), aws.ToString(tr.TrailARN)
		if want != "" && want != name && want != arn {
			continue
		}
		if want != "" {
			ref.ID = arn
		}
		multi := aws.ToBool(tr.IsMultiRegionTrail)
		if !multi {
			notes = append(notes, name+" records one region only")
			if want != "" {
				break
			}
			continue
		}
		st, err := s.trails.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
		if err != nil {
			return ref, false, "", fmt.Errorf("tamper check: get status of trail %s: %w", arn, err)
		}
		if aws.ToBool(st.IsLogging) {
			return ref, true, fmt.Sprintf("trail %s is multi-region and logging", name), nil
		}
		notes = append(notes, name+" is not logging")
		if want != "" {
			break
		}
	}
	switch {
	case want != "" && len(notes) == 0:
		return ref, false, fmt.Sprintf("trail %s does not exist in %s", want, region), nil
	case len(notes) == 0:
		return ref, false, fmt.Sprintf("no CloudTrail trail exists in %s", region), nil
	}
	sort.Strings(notes)
	return ref, false, "no multi-region trail is logging: " + strings.Join(notes, "; "), nil
}

// checkWatchRule checks one watch rule, named "rule" (default bus) or
// "bus|rule" (what CloudFormation's Ref returns for a rule on a custom bus).
func (s *Sweeper) checkWatchRule(ctx context.Context, spec string) (resource.Ref, bool, string, error) {
	region := s.region()
	bus, name, ok := strings.Cut(spec, "|")
	if !ok {
		bus, name = "", spec
	}
	path := name
	if bus != "" && bus != "default" {
		path = bus + "/" + name
	}
	ref := resource.Ref{Type: "AWS::Events::Rule", Account: s.opts.Account, Region: region,
		ID: "arn:" + partitionOf(region) + ":events:" + region + ":" + s.opts.Account + ":rule/" + path}
	in := &eventbridge.DescribeRuleInput{Name: aws.String(name)}
	if bus != "" {
		in.EventBusName = aws.String(bus)
	}
	out, err := s.rules.DescribeRule(ctx, in)
	if errorCode(err) == "ResourceNotFoundException" {
		return ref, false, fmt.Sprintf("watch rule %s was deleted", spec), nil
	}
	if err != nil {
		return ref, false, "", fmt.Errorf("tamper check: describe watch rule %s: %w", spec, err)
	}
	if a := aws.ToString(out.Arn); a != "" {
		ref.ID = a
	}
	if state := string(out.State); !strings.HasPrefix(state, "ENABLED") {
		return ref, false, fmt.Sprintf("watch rule %s is %s", spec, state), nil
	}
	return ref, true, fmt.Sprintf("watch rule %s is enabled", spec), nil
}
