package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/driftwatch/driftwatch/shared/pipeline"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	fetchazure "github.com/driftwatch/driftwatch/shared/fetch/azure"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
	"github.com/driftwatch/driftwatch/shared/revert"
)

func TestLoadEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    environment
		wantErr string
	}{
		{"defaults", nil, environment{Port: "8080", Credential: fetchazure.CredentialDefault, AutoRevert: revert.SwitchDryRun}, ""},
		{"in Azure", map[string]string{
			"FUNCTIONS_CUSTOMHANDLER_PORT": "34567", "IDENTITY_ENDPOINT": "http://localhost:4141/msi/token",
			"AZURE_CLIENT_ID": "f00dcafe-0000-4000-8000-00000000beef", "DRIFTWATCH_WEBHOOK_SECRET": "s",
			"DRIFTWATCH_OWN_PRINCIPALS": " d1d1d1d1-2222-4333-8444-555555555555 , /subscriptions/*/resourceGroups/dw/providers/Microsoft.ManagedIdentity/userAssignedIdentities/dw,",
			"LOG_LEVEL":                 "debug", "DRIFTWATCH_AUTO_REVERT": "on",
		}, environment{Port: "34567", Credential: fetchazure.CredentialManagedIdentity, ClientID: "f00dcafe-0000-4000-8000-00000000beef", AutoRevert: revert.SwitchOn,
			WebhookSecret: "s", LogLevel: -4, OwnPrincipals: []string{"d1d1d1d1-2222-4333-8444-555555555555",
				"/subscriptions/*/resourceGroups/dw/providers/Microsoft.ManagedIdentity/userAssignedIdentities/dw"}}, ""},
		{"explicit default credential ignores AZURE_CLIENT_ID", map[string]string{"DRIFTWATCH_AZURE_CREDENTIAL": "default", "IDENTITY_ENDPOINT": "x", "AZURE_CLIENT_ID": "c"},
			environment{Port: "8080", Credential: fetchazure.CredentialDefault, AutoRevert: revert.SwitchDryRun}, ""},
		{"auto revert off", map[string]string{"DRIFTWATCH_AUTO_REVERT": "off"},
			environment{Port: "8080", Credential: fetchazure.CredentialDefault, AutoRevert: revert.SwitchOff}, ""},
		{"bad auto revert", map[string]string{"DRIFTWATCH_AUTO_REVERT": "yes"}, environment{}, "DRIFTWATCH_AUTO_REVERT"},
		{"bad credential kind", map[string]string{"DRIFTWATCH_AZURE_CREDENTIAL": "cli"}, environment{}, "DRIFTWATCH_AZURE_CREDENTIAL"},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, environment{}, "LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one about %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.OwnPrincipals, "|") != strings.Join(tt.want.OwnPrincipals, "|") {
				t.Errorf("own principals %q", got.OwnPrincipals)
			}
			if _, err := filter.New(got.OwnPrincipals, nil); err != nil {
				t.Errorf("own principals do not compile: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

type fakeProcessor struct {
	mu   sync.Mutex
	seen []string
}

var _ eventgrid.Processor = (*fakeProcessor)(nil)

func (f *fakeProcessor) Handle(_ context.Context, ch *change.Change) (pipeline.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, ch.EventID)
	return pipeline.Result{Outcome: detect.Outcome{Change: ch, Ignored: filter.Unwatched}}, nil
}

// TestRoutes checks that both HTTP ways in reach the same handler.
func TestRoutes(t *testing.T) {
	event, err := os.ReadFile("../../events/azure/constructed-nsg-security-rule-write-success-eventgrid.json")
	if err != nil {
		t.Fatal(err)
	}
	var batch []json.RawMessage
	if err := json.Unmarshal(event, &batch); err != nil {
		t.Fatal(err)
	}
	invocation, _ := json.Marshal(map[string]any{"Data": map[string]json.RawMessage{"event": batch[0]}, "Metadata": map[string]any{}})
	proc := &fakeProcessor{}
	srv := httptest.NewServer(routes(&eventgrid.Handler{Processor: proc}, "secret", nil))
	defer srv.Close()
	for _, tt := range []struct {
		method, path, body string
		want               int
		processed          bool
	}{
		{"GET", "/", "", 200, false},
		{"POST", "/DriftOnResourceEvent", string(invocation), 200, true},
		{"POST", "/api/eventgrid?key=secret", string(event), 200, true},
		{"POST", "/api/eventgrid", string(event), 401, false},
		{"POST", "/api/other", string(event), 404, false},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			proc.seen = nil
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.want, b)
			}
			if got := len(proc.seen) == 1 && proc.seen[0] == "0b6d8e7a-5a1f-4c8e-9c41-7d2f3f1e9a01"; got != tt.processed {
				t.Fatalf("processed %v", proc.seen)
			}
		})
	}
}

// TestFunctionFiles checks host.json and the function.json files against
// what the handler serves.
func TestFunctionFiles(t *testing.T) {
	var host struct {
		Version       string `json:"version"`
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
			EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
		} `json:"customHandler"`
		ExtensionBundle struct {
			ID string `json:"id"`
		} `json:"extensionBundle"`
	}
	readJSON(t, "host.json", &host)
	if host.Version != "2.0" || host.CustomHandler.Description.DefaultExecutablePath != "handler" ||
		!host.CustomHandler.EnableForwardingHTTPRequest || host.ExtensionBundle.ID != "Microsoft.Azure.Functions.ExtensionBundle" {
		t.Errorf("host.json %+v", host)
	}

	type binding struct {
		Type, Direction, Name, Route string
		Methods                      []string
		AuthLevel                    string `json:"authLevel"`
	}
	var trigger struct{ Bindings []binding }
	readJSON(t, eventgrid.DefaultFunction+"/function.json", &trigger)
	if len(trigger.Bindings) != 1 || trigger.Bindings[0].Type != "eventGridTrigger" || trigger.Bindings[0].Direction != "in" ||
		trigger.Bindings[0].Name != eventgrid.DefaultBinding {
		t.Errorf("%s/function.json %+v", eventgrid.DefaultFunction, trigger)
	}
	var hook struct{ Bindings []binding }
	readJSON(t, "EventGridWebhook/function.json", &hook)
	if len(hook.Bindings) != 2 || hook.Bindings[0].Type != "httpTrigger" || "/api/"+hook.Bindings[0].Route != webhookPath ||
		strings.Join(hook.Bindings[0].Methods, ",") != "post,options" || hook.Bindings[1].Type != "http" {
		t.Errorf("EventGridWebhook/function.json %+v", hook)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
