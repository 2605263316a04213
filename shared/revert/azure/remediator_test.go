package azure

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	fetchazure "github.com/driftwatch/driftwatch/shared/fetch/azure"
	"github.com/driftwatch/driftwatch/shared/fetch/azure/armtest"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
)

const (
	storageID = "/subscriptions/{subscription-id}/resourceGroups/res9407/providers/Microsoft.Storage/storageAccounts/sto8596"
	nsgID     = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/testnsg"
	fwID      = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/firewallrulecrudtest-12/providers/Microsoft.Sql/servers/firewallrulecrudtest-6285/firewallRules/firewallrulecrudtest-2304"
	raID      = "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/providers/Microsoft.Authorization/roleAssignments/b0f43c54-e787-4862-89b1-a653fa9cf747"
	siteID    = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/testrg123/providers/Microsoft.Web/sites/sitef6141"
	principal = "ce2ce14e-85d7-4629-bdbc-454d0519d987"
)

// optInRule is a deployment's own rule that opts in to deleting role
// assignments: no built-in rule does.
var optInRule = policy.Rule{
	ID:            "acme-no-owner-at-subscription",
	Title:         "No Owner at subscription scope",
	Severity:      policy.SeverityCritical,
	ResourceTypes: []string{typeRoleAssignment},
	Condition:     "!(resource.properties.roleName == 'Owner' && resource.properties.scopeKind == 'subscription')",
	Message:       "Owner at subscription scope",
	Mode:          policy.ModeRevert,
	Remediation:   DeleteRoleAssignment,
}

// env is a fake ARM with the real reader, the built-in Azure rules (plus
// optInRule) and a Remediator.
type env struct {
	srv    *armtest.Server
	reader *fetchazure.Reader
	rules  *policy.Engine
	rem    *Remediator
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	srv := armtest.Start(t)
	reader, err := fetchazure.New(&armtest.Credential{}, fetchazure.Options{ClientOptions: srv.ClientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := pack.Azure()
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.Compile(append(rules, optInRule))
	if err != nil {
		t.Fatal(err)
	}
	if opts.Sleep == nil {
		opts.Sleep = func(context.Context, time.Duration) error { return nil }
	}
	if opts.PollFrequency == 0 {
		opts.PollFrequency = time.Second
	}
	rem, err := New(&armtest.Credential{}, srv.ClientOptions(), reader, engine, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, reader: reader, rules: engine, rem: rem}
}

// check reads the resource and returns its verdict for rule.
func (e *env) check(t *testing.T, ref resource.Ref, rule string) (resource.Resource, policy.Verdict) {
	t.Helper()
	res, err := e.reader.Read(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := verdictOf(e.rules.Evaluate(context.Background(), policy.Input{Resource: res}), rule)
	if !ok {
		t.Fatalf("no verdict of %s for %s", rule, ref)
	}
	return res, v
}

func example(t *testing.T, name string) map[string]any {
	return armtest.Example(t, "testdata/"+name)
}

// secRule is an NSG security rule as ARM returns it.
func secRule(name, proto, src, port string, prio int) map[string]any {
	return map[string]any{"name": name, "id": nsgID + "/securityRules/" + name, "properties": map[string]any{
		"protocol": proto, "sourcePortRange": "*", "sourceAddressPrefix": src, "destinationPortRange": port,
		"destinationAddressPrefix": "*", "access": "Allow", "priority": prio, "direction": "Inbound"}}
}

// write is a write the server must have received.
type write struct {
	method, path, apiVersion string
	body                     string // JSON, "" for none
}

func TestRemediations(t *testing.T) {
	cases := []struct {
		name   string
		async  bool
		store  func(t *testing.T, s *armtest.Server)
		ref    resource.Ref
		rule   string
		rem    string
		writes []write
		after  func(t *testing.T, s *armtest.Server)
		backup map[string]any
	}{
		{
			name: "public blob access off (allowBlobPublicAccess never set)",
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(storageID, example(t, "storage-account-get-networkacls-default-allow.json"))
			},
			ref:  resource.Ref{Type: typeStorageAccount, ID: storageID},
			rule: "azure-storage-blob-public-access", rem: DisableBlobPublicAccess,
			writes: []write{{"PATCH", storageID, "2023-05-01", `{"properties":{"allowBlobPublicAccess":false}}`}},
			after: func(t *testing.T, s *armtest.Server) {
				if got := s.Get(storageID)["properties"].(map[string]any)["allowBlobPublicAccess"]; got != false {
					t.Errorf("stored allowBlobPublicAccess = %v", got)
				}
			},
		},
		{
			name: "minimum TLS 1.2",
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(storageID, example(t, "storage-account-get-networkacls-default-allow.json"))
			},
			ref:  resource.Ref{Type: typeStorageAccount, ID: storageID},
			rule: "azure-storage-min-tls", rem: StorageMinTLS12,
			writes: []write{{"PATCH", storageID, "2023-05-01", `{"properties":{"minimumTlsVersion":"TLS1_2"}}`}},
		},
		{
			name: "HTTPS only on a storage account",
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(storageID, example(t, "storage-account-get-networkacls-default-allow.json"))
			},
			ref:  resource.Ref{Type: typeStorageAccount, ID: storageID},
			rule: "azure-storage-secure-transfer", rem: StorageHTTPSOnly,
			writes: []write{{"PATCH", storageID, "2023-05-01", `{"properties":{"supportsHttpsTrafficOnly":true}}`}},
		},
		{
			name: "HTTPS only on an App Service site",
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(siteID, example(t, "web-site-create-response-https-only-off.json"))
				s.Put(siteID+"/config/web", example(t, "web-site-config-get-ftps-all-allowed.json"))
			},
			ref:  resource.Ref{Type: typeWebSite, ID: siteID},
			rule: "azure-appservice-https-only", rem: AppServiceHTTPSOnly,
			writes: []write{{"PATCH", siteID, "2023-12-01", `{"properties":{"httpsOnly":true}}`}},
		},
		{
			name:  "NSG: only the RDP rule is deleted, as a long-running operation",
			async: true,
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(nsgID, armtest.With(example(t, "network-security-group-get-port80-from-any-source.json"), map[string]any{
					"properties": map[string]any{"securityRules": append(
						example(t, "network-security-group-get-port80-from-any-source.json")["properties"].(map[string]any)["securityRules"].([]any),
						secRule("rdp-anywhere", "Tcp", "Internet", "3389", 200),
						secRule("ssh-from-vnet", "Tcp", "VirtualNetwork", "22", 210))}}))
			},
			ref:  resource.Ref{Type: typeNSG, ID: nsgID},
			rule: "azure-nsg-rdp-from-internet", rem: DeleteOffendingNSGRules,
			writes: []write{{"DELETE", nsgID + "/securityRules/rdp-anywhere", "2023-09-01", ""}},
			after: func(t *testing.T, s *armtest.Server) {
				var names []string
				for _, r := range s.Get(nsgID)["properties"].(map[string]any)["securityRules"].([]any) {
					names = append(names, r.(map[string]any)["name"].(string))
				}
				if !slices.Equal(names, []string{"rule1", "ssh-from-vnet"}) {
					t.Errorf("rules left = %v, want rule1 and ssh-from-vnet", names)
				}
			},
			backup: map[string]any{"rule": "rdp-anywhere"},
		},
		{
			name: "SQL firewall rule 0.0.0.0-255.255.255.255 deleted",
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(fwID, armtest.With(example(t, "sql-server-firewall-rule-get-allow-azure-services-0.0.0.0.json"),
					map[string]any{"properties": map[string]any{"endIpAddress": "255.255.255.255"}}))
			},
			ref:  resource.Ref{Type: typeSQLFirewallRule, ID: fwID},
			rule: "azure-sql-firewall-allows-all-internet", rem: DeleteOpenFirewallRule,
			writes: []write{{"DELETE", fwID, "2021-11-01", ""}},
			after: func(t *testing.T, s *armtest.Server) {
				if s.Get(fwID) != nil {
					t.Error("firewall rule still stored")
				}
			},
		},
		{
			name: "Owner assignment deleted by an opting-in rule",
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(raID, armtest.With(example(t, "role-assignment-get-subscription-scope.json"), map[string]any{"properties": map[string]any{
					"roleDefinitionId": "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"}}))
			},
			ref:  resource.Ref{Type: typeRoleAssignment, ID: raID},
			rule: optInRule.ID, rem: DeleteRoleAssignment,
			writes: []write{{"DELETE", raID, "2022-04-01", ""}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			tc.store(t, e.srv)
			e.srv.SetAsync(tc.async)
			ctx := context.Background()
			res, v := e.check(t, tc.ref, tc.rule)
			if v.Result != policy.Fail {
				t.Fatalf("before: %s = %s, want fail", tc.rule, v.Result)
			}
			plan, err := e.rem.Plan(ctx, tc.rem, res, v, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(e.srv.Writes()) != 0 {
				t.Fatalf("Plan wrote: %v", e.srv.Writes())
			}
			if len(plan.Calls) != len(tc.writes) {
				t.Fatalf("plan calls = %v, want %d", plan.Calls, len(tc.writes))
			}
			for i, c := range plan.Calls {
				if c.Params["resourceId"] != tc.writes[i].path || c.Params["apiVersion"] != tc.writes[i].apiVersion || c.Params["method"] != tc.writes[i].method {
					t.Errorf("planned call %d = %s, want %s %s", i, c, tc.writes[i].method, tc.writes[i].path)
				}
				if c.IAMAction == "" {
					t.Errorf("planned call %d names no RBAC action", i)
				}
			}
			if tc.backup != nil {
				b, _ := json.Marshal(plan.Backup)
				if !strings.Contains(string(b), tc.backup["rule"].(string)) {
					t.Errorf("backup %s lacks %v", b, tc.backup)
				}
			}
			got, err := e.rem.Execute(ctx, plan)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != revert.StatusReverted {
				t.Fatalf("status = %s (%s), want reverted", got.Status, got.Reason)
			}
			writes := e.srv.Writes()
			if len(writes) != len(tc.writes) {
				t.Fatalf("writes = %v, want %d", writes, len(tc.writes))
			}
			for i, w := range writes {
				want := tc.writes[i]
				if w.Method != want.method || !strings.EqualFold(w.Path, want.path) || w.APIVersion != want.apiVersion {
					t.Errorf("write %d = %s, want %s %s?api-version=%s", i, w, want.method, want.path, want.apiVersion)
				}
				if w.Authorization != "Bearer "+armtest.Token {
					t.Errorf("write %d Authorization = %q", i, w.Authorization)
				}
				if want.body != "" && !jsonEqual(t, w.Body, want.body) {
					t.Errorf("write %d body = %s, want %s", i, w.Body, want.body)
				}
			}
			// The verification is a second read, after the writes.
			reqs := e.srv.Requests()
			last := reqs[len(reqs)-1]
			if last.Method != http.MethodGet {
				t.Errorf("last request %s is not the verifying read", last)
			}
			if got.After == nil {
				t.Error("result has no re-read resource")
			}
			if tc.async && !slices.ContainsFunc(reqs, func(r armtest.Request) bool { return strings.HasPrefix(r.Path, "/armtest/operations/") }) {
				t.Errorf("the long-running write was not polled: %v", reqs)
			}
			if tc.after != nil {
				tc.after(t, e.srv)
			}
		})
	}
}

func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(g, w)
}

func TestPlanRefusals(t *testing.T) {
	cases := []struct {
		name   string
		opts   Options
		store  func(t *testing.T, s *armtest.Server)
		ref    resource.Ref
		rule   string
		rem    string
		reason string // plan without calls, with this reason
		err    error  // or this error
	}{
		{
			name: "firewall rule that is wide but not the whole internet",
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(fwID, armtest.With(example(t, "sql-server-firewall-rule-get-allow-azure-services-0.0.0.0.json"),
					map[string]any{"properties": map[string]any{"startIpAddress": "1.0.0.0", "endIpAddress": "255.255.255.255"}}))
			},
			ref: resource.Ref{Type: typeSQLFirewallRule, ID: fwID}, rule: "azure-sql-firewall-wide-range", rem: DeleteOpenFirewallRule,
			reason: "only a firewall rule spanning 0.0.0.0-255.255.255.255",
		},
		{
			name: "protected principal's assignment",
			opts: Options{ProtectedPrincipals: []string{strings.ToUpper(principal)}},
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(raID, armtest.With(example(t, "role-assignment-get-subscription-scope.json"), map[string]any{"properties": map[string]any{
					"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"}}))
			},
			ref: resource.Ref{Type: typeRoleAssignment, ID: raID}, rule: optInRule.ID, rem: DeleteRoleAssignment,
			reason: "is protected",
		},
		{
			name: "remediation of another type",
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(storageID, example(t, "storage-account-get-networkacls-default-allow.json"))
			},
			ref: resource.Ref{Type: typeStorageAccount, ID: storageID}, rule: "azure-storage-blob-public-access", rem: DeleteOffendingNSGRules,
			err: revert.ErrNotApplicable,
		},
		{
			name: "unknown remediation",
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(storageID, example(t, "storage-account-get-networkacls-default-allow.json"))
			},
			ref: resource.Ref{Type: typeStorageAccount, ID: storageID}, rule: "azure-storage-blob-public-access", rem: "azure-make-it-safe",
			err: revert.ErrUnknownRemediation,
		},
		{
			name: "a verdict that passes",
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(fwID, example(t, "sql-server-firewall-rule-get-allow-azure-services-0.0.0.0.json"))
			},
			ref: resource.Ref{Type: typeSQLFirewallRule, ID: fwID}, rule: "azure-sql-firewall-allows-all-internet", rem: DeleteOpenFirewallRule,
			err: revert.ErrNotApplicable,
		},
		{
			name: "a rule the patch would not fix",
			store: func(t *testing.T, s *armtest.Server) {
				s.Put(storageID, example(t, "storage-account-get-networkacls-default-allow.json"))
			},
			// secure transfer fails; disabling blob public access does not fix it.
			ref: resource.Ref{Type: typeStorageAccount, ID: storageID}, rule: "azure-storage-secure-transfer", rem: DisableBlobPublicAccess,
			err: errAny,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			tc.store(t, e.srv)
			res, v := e.check(t, tc.ref, tc.rule)
			plan, err := e.rem.Plan(context.Background(), tc.rem, res, v, nil)
			switch {
			case tc.err == errAny:
				if err == nil {
					t.Fatalf("plan = %+v, want an error", plan)
				}
			case tc.err != nil:
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if len(plan.Calls) != 0 || !strings.Contains(plan.Reason, tc.reason) {
					t.Errorf("plan = %v %q, want no calls and %q", plan.Calls, plan.Reason, tc.reason)
				}
			}
			if w := e.srv.Writes(); len(w) != 0 {
				t.Errorf("writes: %v", w)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestExecuteFailures(t *testing.T) {
	t.Run("ARM refuses the PATCH", func(t *testing.T) {
		e := newEnv(t, Options{})
		e.srv.Put(storageID, example(t, "storage-account-get-networkacls-default-allow.json"))
		res, v := e.check(t, resource.Ref{Type: typeStorageAccount, ID: storageID}, "azure-storage-blob-public-access")
		plan, err := e.rem.Plan(context.Background(), DisableBlobPublicAccess, res, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.srv.Fail(http.MethodPatch, storageID, armtest.Failure{Status: http.StatusForbidden, Code: "AuthorizationFailed"})
		got, err := e.rem.Execute(context.Background(), plan)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.ErrorCode != "AuthorizationFailed" || got.Status != revert.StatusFailed || len(got.Calls) != 1 {
			t.Fatalf("Execute = %+v, %v; want failed with the ARM error", got, err)
		}
	})
	t.Run("re-read fails after the write", func(t *testing.T) {
		e := newEnv(t, Options{VerifyAttempts: 2})
		e.srv.Put(storageID, example(t, "storage-account-get-networkacls-default-allow.json"))
		res, v := e.check(t, resource.Ref{Type: typeStorageAccount, ID: storageID}, "azure-storage-min-tls")
		plan, err := e.rem.Plan(context.Background(), StorageMinTLS12, res, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			e.srv.Fail(http.MethodGet, storageID, armtest.Failure{Status: http.StatusInternalServerError, Code: "InternalServerError"})
		}
		got, err := e.rem.Execute(context.Background(), plan)
		if err != nil || got.Status != revert.StatusVerificationFailed || !strings.Contains(got.Reason, "after 2 re-reads") {
			t.Fatalf("Execute = %s %q, %v; want verification-failed after 2 re-reads", got.Status, got.Reason, err)
		}
	})
	t.Run("a call this package did not plan", func(t *testing.T) {
		e := newEnv(t, Options{})
		plan := revert.Plan{Action: revert.Action{Name: DisableBlobPublicAccess, Calls: []revert.Call{{
			Service: armService, Operation: "BeginCreateOrUpdateByID",
			Params: map[string]any{"method": "PUT", "resourceId": storageID, "apiVersion": "2023-05-01"},
		}}}}
		got, err := e.rem.Execute(context.Background(), plan)
		if err == nil || got.Status != revert.StatusFailed || len(e.srv.Requests()) != 0 {
			t.Fatalf("Execute = %+v, %v; want failed without a request", got, err)
		}
	})
}

// TestRegistryCoversRulePack checks that every remediation an Azure
// built-in rule names exists and applies to the rule's types, that every
// remediation but the opt-in role-assignment deletion is used, and that no
// built-in rule deletes role assignments.
func TestRegistryCoversRulePack(t *testing.T) {
	rules, err := pack.Azure()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, r := range rules {
		if r.Remediation == "" {
			continue
		}
		used[r.Remediation] = true
		if !Known(r.Remediation) {
			t.Errorf("rule %s names remediation %s, which is not registered", r.ID, r.Remediation)
			continue
		}
		for _, typ := range r.ResourceTypes {
			if !slices.Contains(Types(r.Remediation), typ) {
				t.Errorf("rule %s (%s) names remediation %s, which applies to %v", r.ID, typ, r.Remediation, Types(r.Remediation))
			}
		}
	}
	if used[DeleteRoleAssignment] {
		t.Errorf("a built-in rule names %s: deleting role assignments must stay opt-in", DeleteRoleAssignment)
	}
	for _, n := range Names() {
		if !used[n] && n != DeleteRoleAssignment {
			t.Errorf("remediation %s is registered but no built-in rule names it", n)
		}
	}
}
