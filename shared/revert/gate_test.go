package revert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"
)

// fakeExecutor plans one call and counts what it was asked.
type fakeExecutor struct {
	plans, executions int
	planErr           error
}

var _ Executor = (*fakeExecutor)(nil)

func (f *fakeExecutor) Plan(_ context.Context, rem string, res resource.Resource, v policy.Verdict, _ *change.Change) (Plan, error) {
	f.plans++
	if f.planErr != nil {
		return Plan{}, f.planErr
	}
	return Plan{Action: Action{Name: rem, Calls: []Call{{Service: "ec2", Operation: "RevokeSecurityGroupIngress",
		do: func(context.Context) error { return nil }}}}, Resource: res.Ref, RuleID: v.RuleID, Reason: "revokes sgr-1"}, nil
}

func (f *fakeExecutor) Execute(_ context.Context, p Plan) (Result, error) {
	f.executions++
	return Result{Status: StatusReverted, Remediation: p.Name, Resource: p.Resource, RuleID: p.RuleID, Calls: p.Calls}, nil
}

// failingBudget is a Budget whose store is down.
type failingBudget struct{}

func (failingBudget) Take(context.Context, string) (bool, error) {
	return false, errors.New("table not found")
}
func (failingBudget) Limit() (int, time.Duration) { return 3, time.Hour }

func TestReverterGates(t *testing.T) {
	sg := resource.Resource{Ref: resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1", Account: "123456789012"},
		Exists: true, Doc: map[string]any{}}
	revertRule := &policy.Rule{ID: "aws-ec2-security-group-admin-ports-open-ipv4", Mode: policy.ModeRevert, Remediation: "ec2-revoke-world-ingress"}
	alertRule := &policy.Rule{ID: "aws-ec2-security-group-all-traffic-open", Mode: policy.ModeAlert, Remediation: "ec2-revoke-world-ingress"}
	manualRule := &policy.Rule{ID: "aws-iam-role-trust-public", Mode: policy.ModeRevert, Remediation: "iam-restore-trust-policy"}
	bareRule := &policy.Rule{ID: "aws-ec2-default-security-group-has-rules", Mode: policy.ModeRevert}
	fail := func(r *policy.Rule) policy.Verdict {
		return policy.Verdict{Rule: r, RuleID: r.ID, Resource: sg.Ref, Result: policy.Fail, Message: "SSH open"}
	}
	byUser := &change.Change{EventID: "e1", Principal: change.Principal{ARN: "arn:aws:iam::123456789012:user/alice"}}
	byPipeline := &change.Change{EventID: "e2", Principal: change.Principal{ARN: "arn:aws:sts::123456789012:assumed-role/deployer/build-42",
		IssuerARN: "arn:aws:iam::123456789012:role/deployer"}}
	allowlisted := func(arn string) bool { return arn == "arn:aws:iam::123456789012:role/deployer" }

	for _, tc := range []struct {
		name       string
		sw         Switch
		preview    bool
		req        Request
		planErr    error
		budget     Budget
		wantStatus Status
		wantReason string
		wantPlans  int
		wantExecs  int
		wantCalls  int
		wantErr    bool
	}{
		{name: "reverted", sw: SwitchOn, req: Request{Resource: sg, Verdict: fail(revertRule), Change: byUser},
			wantStatus: StatusReverted, wantPlans: 1, wantExecs: 1, wantCalls: 1},
		{name: "dry-run reports the calls", sw: SwitchDryRun, req: Request{Resource: sg, Verdict: fail(revertRule), Change: byUser},
			wantStatus: StatusDryRun, wantReason: "would revert: revokes sgr-1", wantPlans: 1, wantCalls: 1},
		{name: "default switch is dry-run", req: Request{Resource: sg, Verdict: fail(revertRule)},
			wantStatus: StatusDryRun, wantReason: "would revert", wantPlans: 1, wantCalls: 1},
		{name: "switch off", sw: SwitchOff, req: Request{Resource: sg, Verdict: fail(revertRule)},
			wantStatus: StatusSkipped, wantReason: "switch is off"},
		{name: "switch off holds a person's request too", sw: SwitchOff, req: Request{Resource: sg, Verdict: fail(revertRule), Requester: "U123"},
			wantStatus: StatusSkipped, wantReason: "switch is off"},
		{name: "error verdict", sw: SwitchOn, req: Request{Resource: sg, Verdict: policy.Verdict{Rule: revertRule, RuleID: revertRule.ID, Result: policy.Error, Message: "no such key"}},
			wantStatus: StatusSkipped, wantReason: "verdict is an error"},
		{name: "failed read", sw: SwitchOn, req: Request{Resource: resource.Resource{Ref: sg.Ref}, ReadErr: errors.New("AccessDenied"), Verdict: fail(revertRule)},
			wantStatus: StatusSkipped, wantReason: "could not be read"},
		{name: "passing verdict", sw: SwitchOn, req: Request{Resource: sg, Verdict: policy.Verdict{Rule: revertRule, RuleID: revertRule.ID, Result: policy.Pass}},
			wantStatus: StatusSkipped, wantReason: "verdict is pass"},
		{name: "deleted resource", sw: SwitchOn, req: Request{Resource: resource.Resource{Ref: sg.Ref}, Verdict: fail(revertRule)},
			wantStatus: StatusSkipped, wantReason: "no longer exists"},
		{name: "alert mode", sw: SwitchOn, req: Request{Resource: sg, Verdict: fail(alertRule)},
			wantStatus: StatusSkipped, wantReason: "alert mode"},
		{name: "a person's request overrides the mode", sw: SwitchOn, req: Request{Resource: sg, Verdict: fail(alertRule), Requester: "U123"},
			wantStatus: StatusReverted, wantPlans: 1, wantExecs: 1, wantCalls: 1},
		{name: "a person's request overrides dry-run", sw: SwitchDryRun, req: Request{Resource: sg, Verdict: fail(revertRule), Requester: "U123"},
			wantStatus: StatusReverted, wantPlans: 1, wantExecs: 1, wantCalls: 1},
		{name: "manual remediation", sw: SwitchOn, req: Request{Resource: sg, Verdict: fail(manualRule)},
			wantStatus: StatusSkipped, wantReason: "is manual"},
		{name: "no remediation", sw: SwitchOn, req: Request{Resource: sg, Verdict: fail(bareRule)},
			wantStatus: StatusSkipped, wantReason: "names no remediation"},
		{name: "allowlisted role session", sw: SwitchOn, req: Request{Resource: sg, Verdict: fail(revertRule), Change: byPipeline},
			wantStatus: StatusSkipped, wantReason: "allowlisted principal"},
		{name: "plan fails", sw: SwitchOn, req: Request{Resource: sg, Verdict: fail(revertRule)}, planErr: errors.New("throttled"),
			wantStatus: StatusFailed, wantReason: "throttled", wantPlans: 1, wantErr: true},
		{name: "preview under an off switch", sw: SwitchOff, preview: true, req: Request{Resource: sg, Verdict: fail(alertRule)},
			wantStatus: StatusDryRun, wantReason: "would revert", wantPlans: 1, wantCalls: 1},
		{name: "preview still refuses an error verdict", sw: SwitchOn, preview: true,
			req:        Request{Resource: sg, Verdict: policy.Verdict{Rule: revertRule, RuleID: revertRule.ID, Result: policy.Error}},
			wantStatus: StatusSkipped, wantReason: "verdict is an error"},
		{name: "remediation of another type", sw: SwitchOn, req: Request{Resource: sg, Verdict: fail(revertRule)},
			planErr:    fmt.Errorf("plan: it applies to AWS::S3::Bucket: %w", ErrNotApplicable),
			wantStatus: StatusSkipped, wantReason: "applies to AWS::S3::Bucket", wantPlans: 1},
		{name: "budget store down", sw: SwitchOn, req: Request{Resource: sg, Verdict: fail(revertRule)}, budget: failingBudget{},
			wantStatus: StatusFailed, wantReason: "revert budget", wantPlans: 1, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exec := &fakeExecutor{planErr: tc.planErr}
			g, err := NewReverter(exec, Config{Switch: tc.sw, Allowlisted: allowlisted, Budget: tc.budget})
			if err != nil {
				t.Fatal(err)
			}
			revert := g.Revert
			if tc.preview {
				revert = g.Preview
			}
			res, err := revert(context.Background(), tc.req)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if res.Status != tc.wantStatus || !strings.Contains(res.Reason, tc.wantReason) {
				t.Errorf("status %s (%q), want %s (%q)", res.Status, res.Reason, tc.wantStatus, tc.wantReason)
			}
			if exec.plans != tc.wantPlans || exec.executions != tc.wantExecs || len(res.Calls) != tc.wantCalls {
				t.Errorf("plans %d, executions %d, calls %d; want %d, %d, %d", exec.plans, exec.executions, len(res.Calls), tc.wantPlans, tc.wantExecs, tc.wantCalls)
			}
			if res.Requester != tc.req.Requester {
				t.Errorf("requester %q, want %q", res.Requester, tc.req.Requester)
			}
		})
	}
}

func TestReverterFlapping(t *testing.T) {
	sg := resource.Resource{Ref: resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1", Account: "123456789012"}, Exists: true}
	rule := &policy.Rule{ID: "aws-ec2-security-group-admin-ports-open-ipv4", Mode: policy.ModeRevert, Remediation: "ec2-revoke-world-ingress"}
	req := Request{Resource: sg, Verdict: policy.Verdict{Rule: rule, RuleID: rule.ID, Resource: sg.Ref, Result: policy.Fail}}
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	budget := NewMemoryBudget(3, time.Hour)
	budget.now = func() time.Time { return now }
	exec := &fakeExecutor{}
	g, err := NewReverter(exec, Config{Switch: SwitchOn, Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		res, err := g.Revert(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i <= 3 && res.Status != StatusReverted:
			t.Fatalf("revert %d: %s (%s), want reverted", i, res.Status, res.Reason)
		case i == 4 && (res.Status != StatusSkipped || !res.Flapping || res.AlertSeverity != policy.SeverityHigh ||
			!strings.HasPrefix(res.Reason, "flapping — revert paused")):
			t.Fatalf("revert 4: %s flapping %v severity %q (%s), want a paused, flapping, high-severity result", res.Status, res.Flapping, res.AlertSeverity, res.Reason)
		}
		now = now.Add(10 * time.Minute)
	}
	if exec.executions != 3 {
		t.Fatalf("%d executions, want 3", exec.executions)
	}
	// Another resource has its own budget.
	other := req
	other.Resource.Ref.ID = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-2"
	if res, _ := g.Revert(context.Background(), other); res.Status != StatusReverted {
		t.Errorf("other resource: %s (%s), want reverted", res.Status, res.Reason)
	}
	// An hour after the first revert, one slot is free again.
	now = time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)
	if res, _ := g.Revert(context.Background(), req); res.Status != StatusReverted {
		t.Errorf("an hour later: %s (%s), want reverted", res.Status, res.Reason)
	}
}

// TestBudgets checks both budgets: n reverts per window and key, in any
// window.
func TestBudgets(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, now *time.Time) (Budget, Budget) // two handles on one budget
	}{
		{"memory", func(t *testing.T, now *time.Time) (Budget, Budget) {
			b := NewMemoryBudget(2, time.Hour)
			b.now = func() time.Time { return *now }
			return b, b
		}},
		{"store", func(t *testing.T, now *time.Time) (Budget, Budget) {
			store, err := sqlite.Open(context.Background(), sqlite.Memory, sqlite.Options{Now: func() time.Time { return *now }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			a, err := NewStoreBudget(store, 2, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewStoreBudget(store, 2, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return a, b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
			worker1, worker2 := tc.make(t, &now)
			steps := []struct {
				at   time.Duration // since the start
				b    Budget
				key  string
				want bool
			}{
				{0, worker1, "sg-1", true},
				{20 * time.Minute, worker2, "sg-1", true},
				{30 * time.Minute, worker1, "sg-1", false}, // two in the last hour
				{30 * time.Minute, worker2, "sg-2", true},  // another key
				{59 * time.Minute, worker2, "sg-1", false},
				{60 * time.Minute, worker1, "sg-1", true}, // the first left the window
				{70 * time.Minute, worker1, "sg-1", false},
				{80 * time.Minute, worker2, "sg-1", true}, // the second left it
			}
			start := now
			for i, s := range steps {
				now = start.Add(s.at)
				got, err := s.b.Take(ctx, s.key)
				if err != nil {
					t.Fatal(err)
				}
				if got != s.want {
					t.Fatalf("step %d (%s, +%s): Take = %v, want %v", i, s.key, s.at, got, s.want)
				}
			}
		})
	}
}

// TestStoreBudgetConcurrent checks that workers racing for the last slots
// get exactly the limit.
func TestStoreBudgetConcurrent(t *testing.T) {
	store, err := sqlite.Open(context.Background(), sqlite.Memory, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b, err := NewStoreBudget(store, 3, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			ok, err := b.Take(context.Background(), "sg-1")
			if err != nil {
				t.Error(fmt.Errorf("worker %d: %w", i, err))
			}
			if ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != 3 {
		t.Errorf("%d reverts granted, want 3", granted)
	}
}

func TestParseSwitch(t *testing.T) {
	for in, want := range map[string]Switch{"": SwitchDryRun, "off": SwitchOff, "dry-run": SwitchDryRun, "on": SwitchOn} {
		if got, err := ParseSwitch(in); err != nil || got != want {
			t.Errorf("ParseSwitch(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseSwitch("yes"); err == nil {
		t.Error(`ParseSwitch("yes") accepted`)
	}
	if _, err := NewReverter(&fakeExecutor{}, Config{Switch: "maybe"}); err == nil {
		t.Error("NewReverter accepted an unknown switch")
	}
}
