package revert

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// The gates against moto: the real Remediator behind a Reverter.

const sshRule = "aws-ec2-security-group-admin-ports-open-ipv4"

// openSSH opens SSH to the world on a fresh group and returns the group's
// reference and its read.
func openSSH(t *testing.T, e *ec2Env) (string, resource.Ref, resource.Resource) {
	t.Helper()
	id, r := e.securityGroup(t)
	e.authorize(t, id, "tcp", 22, 22, "0.0.0.0/0", "")
	res := e.read(t, r)
	if v := e.verdict(t, res, sshRule, nil); v.Result != policy.Fail {
		t.Fatalf("SSH open: %s is %s, want fail", sshRule, v.Result)
	}
	return id, r, res
}

func TestGateDryRunChangesNothing(t *testing.T) {
	e := newEC2Env(t)
	ctx := context.Background()
	_, r, broken := openSSH(t, e)
	g, err := NewReverter(e.rem, Config{Switch: SwitchDryRun})
	must(t, "new reverter", err)
	res, err := g.Revert(ctx, Request{Resource: broken, Verdict: e.verdict(t, broken, sshRule, nil)})
	must(t, "revert", err)
	if res.Status != StatusDryRun || len(res.Calls) != 1 || res.Calls[0].Operation != "RevokeSecurityGroupIngress" {
		t.Fatalf("dry run: %s, calls %v (%s); want dry-run with the revoke call", res.Status, operations(res.Calls), res.Reason)
	}
	var sshRuleID string
	for _, x := range broken.Doc["SecurityGroupIngress"].([]any) {
		if m := x.(map[string]any); m["CidrIp"] == "0.0.0.0/0" && m["FromPort"] == int64(22) {
			sshRuleID = m["RuleId"].(string)
		}
	}
	ids, _ := res.Calls[0].Params["SecurityGroupRuleIds"].([]any)
	if len(ids) != 1 || ids[0] != sshRuleID || res.Calls[0].IAMAction != "ec2:RevokeSecurityGroupIngress" {
		t.Errorf("dry-run call %s, want the revoke of %s", res.Calls[0], sshRuleID)
	}
	if txt := res.Text(); !strings.HasPrefix(txt, "would revert "+sshRule) || strings.Count(txt, "would revert") != 1 || !strings.Contains(txt, sshRuleID) {
		t.Errorf("Text() = %q", txt)
	}
	after := e.read(t, r)
	assertSameDocument(t, broken.Doc, after.Doc)
	if v := e.verdict(t, after, sshRule, nil); v.Result != policy.Fail {
		t.Errorf("after a dry run the rule is %s, want still fail", v.Result)
	}
}

func TestGateErrorVerdictNeverReverts(t *testing.T) {
	e := newEC2Env(t)
	ctx := context.Background()
	_, r, broken := openSSH(t, e)
	g, err := NewReverter(e.rem, Config{Switch: SwitchOn})
	must(t, "new reverter", err)
	v := e.verdict(t, broken, sshRule, nil)
	errored := v
	errored.Result, errored.Message = policy.Error, "evaluate condition: no such key: SecurityGroupIngress"
	for _, req := range []Request{
		{Resource: broken, Verdict: errored},
		{Resource: resource.Resource{Ref: r}, ReadErr: errors.New("UnauthorizedOperation"), Verdict: v},
	} {
		res, err := g.Revert(ctx, req)
		must(t, "revert", err)
		if res.Status != StatusSkipped || len(res.Calls) != 0 {
			t.Errorf("status %s with %d calls (%s), want skipped", res.Status, len(res.Calls), res.Reason)
		}
	}
	after := e.read(t, r)
	assertSameDocument(t, broken.Doc, after.Doc)
}

// TestGateBudgetExhausted makes a snapshot public again after each revert:
// three reverts, then the fourth is paused as flapping and the snapshot
// stays public, until the window moves on.
func TestGateBudgetExhausted(t *testing.T) {
	e := newEC2Env(t)
	ctx := context.Background()
	id := e.snapshot(t)
	r := ref("AWS::EC2::Snapshot", "arn:aws:ec2:"+mototest.Region+"::snapshot/"+id)
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	budget := NewMemoryBudget(DefaultBudgetLimit, DefaultBudgetWindow)
	budget.now = func() time.Time { return now }
	g, err := NewReverter(e.rem, Config{Switch: SwitchOn, Budget: budget})
	must(t, "new reverter", err)
	const rule = "aws-ec2-snapshot-public"
	makePublic := func(t *testing.T) resource.Resource {
		t.Helper()
		_, err := e.ec2.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(id),
			Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission, OperationType: ec2types.OperationTypeAdd, GroupNames: []string{"all"}})
		must(t, "make snapshot public", err)
		return e.read(t, r)
	}
	for i := 1; i <= 4; i++ {
		broken := makePublic(t)
		res, err := g.Revert(ctx, Request{Resource: broken, Verdict: e.verdict(t, broken, rule, nil)})
		must(t, "revert", err)
		after := e.verdict(t, e.read(t, r), rule, nil)
		if i <= DefaultBudgetLimit {
			if res.Status != StatusReverted || after.Result != policy.Pass {
				t.Fatalf("revert %d: %s (%s), rule %s; want reverted and passing", i, res.Status, res.Reason, after.Result)
			}
		} else if res.Status != StatusSkipped || !res.Flapping || res.AlertSeverity != policy.SeverityHigh || after.Result != policy.Fail ||
			!strings.HasPrefix(res.Reason, "flapping — revert paused") {
			t.Fatalf("revert %d: %s flapping %v severity %q (%s), rule %s; want paused with a high-severity flag and the snapshot left public",
				i, res.Status, res.Flapping, res.AlertSeverity, res.Reason, after.Result)
		}
		now = now.Add(5 * time.Minute)
	}
	now = now.Add(time.Hour)
	broken := e.read(t, r)
	if res, _ := g.Revert(ctx, Request{Resource: broken, Verdict: e.verdict(t, broken, rule, nil)}); res.Status != StatusReverted {
		t.Errorf("after the window: %s (%s), want reverted", res.Status, res.Reason)
	}
}

// TestGateRevertFailing reverts every failing verdict of one group at
// once. One all-traffic rule from the world fails three rules (admin
// ports, all traffic, database ports), here all in revert mode: the first
// revert revokes it, and the other two verdicts, re-judged on the
// verification's re-read, pass and revert nothing (on the stale document
// they would try to revoke the revoked rule again, and fail).
func TestGateRevertFailing(t *testing.T) {
	e := newEC2Env(t)
	ctx := context.Background()
	id, r := e.securityGroup(t)
	before := e.read(t, r)
	e.authorize(t, id, "-1", 0, 0, "0.0.0.0/0", "")
	broken := e.read(t, r)
	g, err := NewReverter(e.rem, Config{Switch: SwitchOn})
	must(t, "new reverter", err)
	vs := e.rules.Evaluate(ctx, policy.Input{Resource: broken})
	failing := 0
	for i, v := range vs {
		if v.Result != policy.Fail {
			continue
		}
		failing++
		rule := *v.Rule
		rule.Mode = policy.ModeRevert
		vs[i].Rule = &rule
	}
	if failing != 3 {
		t.Fatalf("%d failing verdicts, want 3: %v", failing, vs)
	}
	out := g.RevertFailing(ctx, broken, nil, vs, nil)
	if len(out) != 1 || out[0].Status != StatusReverted || out[0].RuleID != sshRule {
		t.Fatalf("results %+v, want one: %s reverted", out, sshRule)
	}
	assertSameDocument(t, before.Doc, e.read(t, r).Doc)
}
