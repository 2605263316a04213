package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/aznamespaces"

	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/resource"
)

const azSub = "00000000-1111-2222-3333-444444444444"

// TestExplainAzure explains every Azure sample: the same JSON contract as
// for AWS, with cloud azure, the subscription as account, the provider as
// service, operationName as operation and ARM types and IDs.
func TestExplainAzure(t *testing.T) {
	stdout, stderr, code := run(t, "", "explain", "--format", "json", "../../events/azure")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := jsonLines(t, stdout)
	files, _ := filepath.Glob("../../events/azure/*.json")
	if len(lines) != len(files) || len(lines) == 0 {
		t.Fatalf("%d lines for %d files", len(lines), len(files))
	}
	byID := map[string]map[string]any{}
	for _, l := range lines {
		if l["cloud"] != "azure" || l["region"] != "" {
			t.Errorf("line %v", l)
		}
		byID[l["event_id"].(string)] = l
	}
	rg := "/subscriptions/" + azSub + "/resourceGroups/"
	tests := []struct {
		eventID, service, operation, ignored, principal string
		resource                                        explainedRe
	}{
		{"0b6d8e7a-5a1f-4c8e-9c41-7d2f3f1e9a01", "Microsoft.Network", "Microsoft.Network/networkSecurityGroups/securityRules/write", "",
			"6a3f2c1e-0d9b-4a8f-7e6d-5c4b3a291807",
			explainedRe{"Microsoft.Network/networkSecurityGroups", rg + "app-rg/providers/Microsoft.Network/networkSecurityGroups/web-nsg"}},
		{"7e1d2c3b-4a59-4867-9a5b-4c3d2e1f0a9b", "Microsoft.Authorization", "Microsoft.Authorization/roleAssignments/write", "",
			"c0ffee00-1234-4abc-8def-0123456789ab",
			explainedRe{"Microsoft.Authorization/roleAssignments", "/subscriptions/" + azSub + "/providers/Microsoft.Authorization/roleAssignments/3f2b1a09-8c7d-4e6f-9a8b-7c6d5e4f3a2b"}},
		{"9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "Microsoft.KeyVault", "Microsoft.KeyVault/vaults/write", "failed",
			"6a3f2c1e-0d9b-4a8f-7e6d-5c4b3a291807",
			explainedRe{"Microsoft.KeyVault/vaults", rg + "sec-rg/providers/Microsoft.KeyVault/vaults/team-kv"}},
		{"3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "Microsoft.Web", "Microsoft.Web/sites/config/write", "",
			"6a3f2c1e-0d9b-4a8f-7e6d-5c4b3a291807",
			explainedRe{"Microsoft.Web/sites", rg + "web-rg/providers/Microsoft.Web/sites/shop-app"}},
		{"{ID}", "Microsoft.EventHub", "Microsoft.EventHub/namespaces/AuthorizationRules/listKeys/action", "unwatched", "{ID}", explainedRe{}},
	}
	for _, tt := range tests {
		t.Run(tt.operation, func(t *testing.T) {
			l, ok := byID[tt.eventID]
			if !ok {
				t.Fatalf("no line for event %s", tt.eventID)
			}
			if l["account"] != azSub && tt.eventID != "{ID}" {
				t.Errorf("account %v", l["account"])
			}
			if l["service"] != tt.service || l["operation"] != tt.operation || l["ignored"] != tt.ignored || l["principal"] != tt.principal {
				t.Errorf("line %v", l)
			}
			res := l["resources"].([]any)
			if tt.resource.Type == "" {
				if len(res) != 0 {
					t.Errorf("resources %v for an unwatched action", res)
				}
				return
			}
			if len(res) != 1 {
				t.Fatalf("resources %v", res)
			}
			if r := res[0].(map[string]any); r["type"] != tt.resource.Type || r["id"] != tt.resource.ID {
				t.Errorf("resource %v, want %+v", r, tt.resource)
			}
		})
	}
}

func TestExplainAzureOwnPrincipalAndTable(t *testing.T) {
	const file = "../../events/azure/constructed-sql-firewall-rule-delete-success-managed-identity.json"
	for _, pattern := range []string{
		"D1D1D1D1-2222-4333-8444-555555555555", // object ID, other case
		"f00dcafe-*",                           // client ID glob
		"/subscriptions/*/resourcegroups/driftwatch-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/*",
	} {
		t.Run(pattern, func(t *testing.T) {
			stdout, stderr, code := run(t, "", "explain", "--format", "json", "--own-principal", pattern, file)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := jsonLines(t, stdout)[0]["ignored"]; got != "own-principal" {
				t.Errorf("ignored = %v", got)
			}
		})
	}
	stdout, _, code := run(t, "", "explain", file)
	if code != 0 || !strings.Contains(stdout, "Microsoft.Sql/servers/firewallRules/delete") ||
		!strings.Contains(stdout, "Microsoft.Sql/servers/firewallRules /subscriptions/"+azSub) || !strings.Contains(stdout, "check") {
		t.Errorf("exit %d, table:\n%s", code, stdout)
	}
}

// fakeReader answers every read with doc, and records the refs.
type fakeReader struct {
	mu   sync.Mutex
	refs []resource.Ref
	doc  map[string]any
}

var _ detect.Reader = (*fakeReader)(nil)

func (f *fakeReader) Read(_ context.Context, ref resource.Ref) (resource.Resource, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs = append(f.refs, ref)
	return resource.Resource{Ref: ref, Exists: true, Doc: f.doc}, nil
}

// namespaceFake answers receive with one batch, then nothing, and records
// the settle calls as "op:token,token".
type namespaceFake struct {
	mu      sync.Mutex
	batch   string
	settled []string
}

func (n *namespaceFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, op, _ := strings.Cut(r.URL.Path, ":")
	if !strings.HasPrefix(r.URL.Path, "/topics/changes/eventsubscriptions/dw:") || r.Header.Get("Authorization") != "SharedAccessKey k" {
		http.Error(w, "bad request "+r.URL.Path, http.StatusBadRequest)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if op == "receive" {
		body := n.batch
		n.batch = `{"value":[]}`
		_, _ = io.WriteString(w, body)
		return
	}
	var req struct {
		LockTokens []string `json:"lockTokens"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	n.settled = append(n.settled, op+":"+strings.Join(req.LockTokens, ","))
	b, _ := json.Marshal(map[string]any{"succeededLockTokens": req.LockTokens, "failedLockTokens": []any{}})
	_, _ = w.Write(b)
}

func TestWatchOnce(t *testing.T) {
	nsg, err := os.ReadFile("../../events/azure/constructed-nsg-security-rule-write-success-eventgrid.json")
	if err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	if err := json.Unmarshal(nsg, &events); err != nil {
		t.Fatal(err)
	}
	eg := events[0]
	good := map[string]any{"specversion": "1.0", "id": eg["id"], "type": eg["eventType"], "source": eg["topic"],
		"subject": eg["subject"], "time": eg["eventTime"], "data": eg["data"]}
	blob := map[string]any{"specversion": "1.0", "id": "blob-1", "type": "Microsoft.Storage.BlobCreated", "source": "/x", "data": map[string]any{}}
	batch, _ := json.Marshal(map[string]any{"value": []any{
		map[string]any{"brokerProperties": map[string]any{"lockToken": "t-good", "deliveryCount": 1}, "event": good},
		map[string]any{"brokerProperties": map[string]any{"lockToken": "t-blob", "deliveryCount": 1}, "event": blob},
	}})
	ns := &namespaceFake{batch: string(batch)}
	srv := httptest.NewTLSServer(ns)
	defer srv.Close()

	rules := t.TempDir()
	if err := os.WriteFile(filepath.Join(rules, "nsg.rules.yaml"), []byte(`rules:
  - id: test-nsg-no-custom-rules
    title: NSG has custom rules
    severity: low
    resource_types: [Microsoft.Network/networkSecurityGroups]
    condition: "size(resource.properties.securityRules) == 0"
    message: "NSG {{ resource.name }} has custom rules"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	reader := &fakeReader{doc: map[string]any{"name": "web-nsg", "properties": map[string]any{
		"securityRules": []any{map[string]any{"name": "allow-ssh"}}, "defaultSecurityRules": []any{}}}}
	deps := watchDeps{
		receiver: func(o watchOptions, env Env) (*aznamespaces.ReceiverClient, error) {
			return aznamespaces.NewReceiverClientWithSharedKeyCredential(o.endpoint, o.topic, o.subscription, azcore.NewKeyCredential(env.Getenv(eventGridKeyEnv)),
				&aznamespaces.ReceiverClientOptions{ClientOptions: azcore.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}}})
		},
		reader: func(Env) (detect.Reader, error) { return reader, nil },
	}
	var out, errb bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return map[string]string{eventGridKeyEnv: "k"}[k] }}
	o := watchOptions{endpoint: srv.URL, topic: "changes", subscription: "dw", maxEvents: 5, maxWait: 10 * time.Second, once: true, rulesDir: rules}
	if code := runWatch(context.Background(), o, deps, env); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	wantRef := resource.Ref{Type: "Microsoft.Network/networkSecurityGroups",
		ID: "/subscriptions/" + azSub + "/resourceGroups/app-rg/providers/Microsoft.Network/networkSecurityGroups/web-nsg", Account: azSub}
	if !slices.Equal(reader.refs, []resource.Ref{wantRef}) {
		t.Errorf("read %v, want %v", reader.refs, wantRef)
	}
	if want := []string{"acknowledge:t-good", "reject:t-blob"}; !slices.Equal(ns.settled, want) {
		t.Errorf("settled %v, want %v", ns.settled, want)
	}
	lines := jsonLines(t, out.String())
	if len(lines) != 1 {
		t.Fatalf("output %q", out.String())
	}
	l := lines[0]
	if l["cloud"] != "azure" || l["operation"] != "Microsoft.Network/networkSecurityGroups/securityRules/write" || l["ignored"] != "" {
		t.Errorf("line %v", l)
	}
	var found bool
	for _, v := range l["verdicts"].([]any) {
		v := v.(map[string]any)
		if v["rule"] == "test-nsg-no-custom-rules" {
			found = true
			if v["result"] != "fail" || v["resource"].(map[string]any)["id"] != wantRef.ID {
				t.Errorf("verdict %v", v)
			}
		}
	}
	if !found {
		t.Errorf("no verdict of the test rule in %v", l["verdicts"])
	}
	if !strings.Contains(errb.String(), "1 acknowledged, 0 released, 1 rejected") {
		t.Errorf("stderr %q", errb.String())
	}
}

func TestWatchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"watch"},
		{"watch", "--azure-namespace", "https://ns"},
		{"watch", "--azure-namespace", "https://ns", "--topic", "t", "--subscription", "s", "--max-events", "0"},
		{"watch", "--azure-namespace", "https://ns", "--topic", "t", "--subscription", "s", "--max-wait", "5s"},
		{"watch", "--azure-namespace", "https://ns", "--topic", "t", "--subscription", "s", "extra"},
	} {
		if _, stderr, code := run(t, "", args...); code != 2 || !strings.Contains(stderr, "driftwatch watch") && !strings.Contains(stderr, "flag") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
