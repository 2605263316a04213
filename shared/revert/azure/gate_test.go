package azure

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/fetch/azure/armtest"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// openNSG stores an NSG whose only custom rule allows every port from Any:
// it fails the RDP, SSH and all-ports rules (revert mode) and the UDP rule
// (alert mode).
func openNSG(t *testing.T, s *armtest.Server) {
	s.Put(nsgID, armtest.With(example(t, "network-security-group-get-port80-from-any-source.json"), map[string]any{
		"properties": map[string]any{"securityRules": []any{secRule("any-any", "*", "Any", "*", 100)}}}))
}

func TestReverterGates(t *testing.T) {
	errRead := errors.New("read failed")
	ref := resource.Ref{Type: typeNSG, ID: nsgID, Account: "subid"}
	cases := []struct {
		name   string
		sw     revert.Switch
		rule   string
		mutate func(*revert.Request)
		allow  string
		status revert.Status
		reason string
		writes int
	}{
		{name: "switch on, revert-mode rule", sw: revert.SwitchOn, rule: "azure-nsg-rdp-from-internet", status: revert.StatusReverted, writes: 1},
		{name: "dry-run reports the exact call", sw: revert.SwitchDryRun, rule: "azure-nsg-rdp-from-internet", status: revert.StatusDryRun, reason: "would revert: delete security rule(s) any-any"},
		{name: "dry-run, a person asks", sw: revert.SwitchDryRun, rule: "azure-nsg-rdp-from-internet", mutate: func(r *revert.Request) { r.Requester = "U123" }, status: revert.StatusReverted, writes: 1},
		{name: "switch off", sw: revert.SwitchOff, rule: "azure-nsg-rdp-from-internet", mutate: func(r *revert.Request) { r.Requester = "U123" }, status: revert.StatusSkipped, reason: "switch is off"},
		{name: "alert-mode rule", sw: revert.SwitchOn, rule: "azure-nsg-udp-from-internet", status: revert.StatusSkipped, reason: "alert mode"},
		{name: "alert-mode rule, a person asks", sw: revert.SwitchOn, rule: "azure-nsg-udp-from-internet", mutate: func(r *revert.Request) { r.Requester = "U123" }, status: revert.StatusReverted, writes: 1},
		{name: "rule without remediation", sw: revert.SwitchOn, rule: "azure-nsg-http-from-internet", status: revert.StatusSkipped, reason: "names no remediation"},
		{name: "error verdict", sw: revert.SwitchOn, rule: "azure-nsg-rdp-from-internet", mutate: func(r *revert.Request) { r.Verdict.Result = policy.Error; r.Verdict.Message = "no such key" }, status: revert.StatusSkipped, reason: "verdict is an error"},
		{name: "failed read", sw: revert.SwitchOn, rule: "azure-nsg-rdp-from-internet", mutate: func(r *revert.Request) { r.ReadErr = errRead }, status: revert.StatusSkipped, reason: "could not be read"},
		{name: "allowlisted principal", sw: revert.SwitchOn, rule: "azure-nsg-rdp-from-internet", allow: "11111111-aaaa-bbbb-cccc-222222222222",
			mutate: func(r *revert.Request) {
				r.Change = &change.Change{Cloud: "azure", Principal: change.Principal{ARN: "11111111-aaaa-bbbb-cccc-222222222222"}}
			}, status: revert.StatusSkipped, reason: "allowlisted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			openNSG(t, e.srv)
			res, v := e.check(t, ref, tc.rule)
			cfg := revert.Config{Switch: tc.sw}
			if tc.allow != "" {
				cfg.Allowlisted = func(p string) bool { return p == tc.allow }
			}
			g, err := NewReverter(e.rem, cfg)
			if err != nil {
				t.Fatal(err)
			}
			req := revert.Request{Resource: res, Verdict: v}
			if tc.mutate != nil {
				tc.mutate(&req)
			}
			got, err := g.Revert(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.status || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("Revert = %s %q, want %s %q", got.Status, got.Reason, tc.status, tc.reason)
			}
			if n := len(e.srv.Writes()); n != tc.writes {
				t.Errorf("%d writes, want %d: %v", n, tc.writes, e.srv.Writes())
			}
			if tc.status == revert.StatusDryRun {
				if len(got.Calls) != 1 || !strings.Contains(got.Text(), "armresources:BeginDeleteByID") ||
					!strings.Contains(got.Text(), `"resourceId":"`+nsgID+`/securityRules/any-any"`) ||
					!strings.Contains(got.Text(), `"apiVersion":"2023-09-01"`) || !strings.Contains(got.Text(), `"method":"DELETE"`) {
					t.Errorf("dry run does not report the exact call:\n%s", got.Text())
				}
			}
		})
	}
}

func TestReverterBudget(t *testing.T) {
	e := newEnv(t, Options{})
	g, err := NewReverter(e.rem, revert.Config{Switch: revert.SwitchOn, Budget: revert.NewMemoryBudget(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	ref := resource.Ref{Type: typeStorageAccount, ID: storageID, Account: "sub"}
	var statuses []revert.Status
	for range 2 {
		e.srv.Put(storageID, example(t, "storage-account-get-networkacls-default-allow.json")) // someone re-opens it
		res, v := e.check(t, ref, "azure-storage-blob-public-access")
		got, err := g.Revert(context.Background(), revert.Request{Resource: res, Verdict: v})
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, got.Status)
		if len(statuses) == 2 && (!got.Flapping || got.AlertSeverity != policy.SeverityHigh) {
			t.Errorf("second revert = %+v, want flapping with a high alert", got)
		}
	}
	if statuses[0] != revert.StatusReverted || statuses[1] != revert.StatusSkipped {
		t.Errorf("statuses = %v, want reverted then skipped", statuses)
	}
	if n := len(e.srv.Writes()); n != 1 {
		t.Errorf("%d writes, want 1", n)
	}
}

// TestRevertFailingDeletesOnce: the RDP, SSH and all-ports rules of an NSG
// share one remediation; the first revert deletes the rule and the others
// see the re-read NSG, so the rule is deleted once.
func TestRevertFailingDeletesOnce(t *testing.T) {
	e := newEnv(t, Options{})
	openNSG(t, e.srv)
	g, err := NewReverter(e.rem, revert.Config{Switch: revert.SwitchOn})
	if err != nil {
		t.Fatal(err)
	}
	ref := resource.Ref{Type: typeNSG, ID: nsgID}
	res, err := e.reader.Read(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	vs := e.rules.Evaluate(context.Background(), policy.Input{Resource: res})
	results := g.RevertFailing(context.Background(), res, nil, vs, nil)
	var reverted int
	for _, r := range results {
		if r.Status == revert.StatusReverted {
			reverted++
		}
	}
	deletes := 0
	for _, w := range e.srv.Writes() {
		if w.Method == http.MethodDelete {
			deletes++
		}
	}
	if reverted != 1 || deletes != 1 {
		t.Errorf("reverted %d, deletes %d; want 1 and 1: %v", reverted, deletes, results)
	}
}
