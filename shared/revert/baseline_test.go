package revert

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

func TestPlanRestoreBaseline(t *testing.T) {
	sgRef := resource.Ref{Type: securityGroupType, ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1", Region: "us-east-1"}
	rule := func(id string, port int64, cidr string) map[string]any {
		return map[string]any{"RuleId": id, "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": cidr, "CidrIpv6": "",
			"SourceSecurityGroupId": "", "SourceSecurityGroupOwnerId": "", "SourcePrefixListId": "", "Description": ""}
	}
	approved := map[string]any{"GroupId": "sg-1", "GroupName": "web", "SecurityGroupIngress": []any{rule("sgr-1", 443, "0.0.0.0/0")}, "SecurityGroupEgress": []any{}}
	live := map[string]any{"GroupId": "sg-1", "GroupName": "web-renamed", "SecurityGroupIngress": []any{rule("sgr-1", 443, "0.0.0.0/0"), rule("sgr-2", 22, "0.0.0.0/0")},
		"SecurityGroupEgress": []any{rule("sgr-3", 25, "0.0.0.0/0")}}
	baselineRule := &policy.Rule{ID: "sg-baseline", Kind: policy.KindBaseline, Watch: []string{"SecurityGroupIngress", "GroupName"}}
	tests := []struct {
		name       string
		rule       *policy.Rule
		source     policy.BaselineSource
		wantErr    error
		wantErrMsg string
		wantOps    []string
		wantReason []string
	}{
		{name: "not a baseline rule", rule: &policy.Rule{ID: "sg-open"}, source: &memBaselines{docs: map[string]map[string]any{sgRef.ID: approved}}, wantErr: ErrNotApplicable},
		{name: "no baseline source", rule: baselineRule, wantErrMsg: "no baseline source"},
		{name: "nothing approved", rule: baselineRule, source: &memBaselines{}, wantOps: []string{}, wantReason: []string{"no approved baseline"}},
		{
			name: "watched rules restored, unwatched egress kept, name left to a person", rule: baselineRule,
			source:  &memBaselines{docs: map[string]map[string]any{sgRef.ID: approved}},
			wantOps: []string{"RevokeSecurityGroupIngress"}, wantReason: []string{"revokes sgr-2 (tcp 22-22 from 0.0.0.0/0)", "left to a person (not restored automatically): GroupName"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(aws.Config{Region: "us-east-1"}, nil, nil, Options{Baselines: tt.source})
			v := policy.Verdict{Rule: tt.rule, RuleID: tt.rule.ID, Result: policy.Fail, Resource: sgRef}
			p, err := r.Plan(context.Background(), RestoreBaseline, resource.Resource{Ref: sgRef, Exists: true, Doc: live}, v, nil)
			switch {
			case tt.wantErr != nil || tt.wantErrMsg != "":
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.wantErrMsg) {
					t.Fatalf("Plan error %v, want %v %q", err, tt.wantErr, tt.wantErrMsg)
				}
				return
			case err != nil:
				t.Fatalf("Plan: %v", err)
			}
			if got := operations(p.Calls); strings.Join(got, ",") != strings.Join(tt.wantOps, ",") {
				t.Errorf("calls %v, want %v", got, tt.wantOps)
			}
			for _, want := range tt.wantReason {
				if !strings.Contains(p.Reason, want) {
					t.Errorf("reason %q, want it to contain %q", p.Reason, want)
				}
			}
			if len(p.Calls) > 0 {
				if ids := p.Calls[0].Params["SecurityGroupRuleIds"]; len(ids.([]any)) != 1 || ids.([]any)[0] != "sgr-2" {
					t.Errorf("revoked %v, want only sgr-2", ids)
				}
			}
		})
	}
}

func TestPolicyText(t *testing.T) {
	canonical := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": "", "Effect": "Allow", "Principal": map[string]any{"AWS": []any{"*"}, "Service": []any{}}, "NotPrincipal": map[string]any{},
		"Action": []any{"s3:GetObject"}, "NotAction": []any{}, "Resource": []any{"arn:aws:s3:::b/*"}, "NotResource": []any{}, "Condition": map[string]any{},
	}}}
	text, err := policyText(canonical)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(text), &got); err != nil {
		t.Fatal(err)
	}
	stmt := got["Statement"].([]any)[0].(map[string]any)
	for _, k := range []string{"Sid", "NotPrincipal", "NotAction", "NotResource", "Condition"} {
		if _, ok := stmt[k]; ok {
			t.Errorf("%s kept in %s", k, text)
		}
	}
	if p, _ := json.Marshal(stmt["Principal"]); string(p) != `{"AWS":["*"]}` {
		t.Errorf("principal %s", p)
	}
}
