package eventgrid_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
)

type fakeParker struct {
	err     error
	bodies  []string
	reasons []string
}

var _ eventgrid.Parker = (*fakeParker)(nil)

func (f *fakeParker) Park(_ context.Context, body []byte, reason string) error {
	if f.err != nil {
		return f.err
	}
	f.bodies = append(f.bodies, string(body))
	f.reasons = append(f.reasons, reason)
	return nil
}

// invocation is the body the Functions host POSTs for an eventGridTrigger
// binding named "event".
func invocation(t *testing.T, event any) string {
	t.Helper()
	return string(mustJSON(t, map[string]any{
		"Data": map[string]any{"event": event},
		"Metadata": map[string]any{"sys": map[string]any{
			"MethodName": "DriftOnResourceEvent", "UtcNow": "2026-11-28T10:00:01.5Z", "RandGuid": "0f0e0d0c-0b0a-4909-8807-060504030201"}},
	}))
}

// hostResponse is the custom-handler response.
type hostResponse struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

func TestFunctionsInvocation(t *testing.T) {
	event := resourceEvent("a")
	tests := []struct {
		name       string
		method     string
		path, body string
		park       *fakeParker
		wantStatus int
		wantSeen   []string
		wantParked int
		wantLog    string
	}{
		{"event object", "POST", "/DriftOnResourceEvent", invocation(t, event), nil, 200, []string{"a"}, 0, "1 checked"},
		{"event as a JSON string", "POST", "/DriftOnResourceEvent", invocation(t, string(mustJSON(t, event))), nil, 200, []string{"a"}, 0, "1 checked"},
		{"CloudEvents event", "POST", "/DriftOnResourceEvent", invocation(t, cloudEvent("b")), nil, 200, []string{"b"}, 0, "1 checked"},
		{"route in another case", "POST", "/driftonresourceevent", invocation(t, event), nil, 200, []string{"a"}, 0, ""},
		{"ignored change", "POST", "/DriftOnResourceEvent", invocation(t, resourceEvent("ignored-1")), nil, 200, []string{"ignored-1"}, 0, "1 ignored"},
		{"transient failure fails the invocation", "POST", "/DriftOnResourceEvent", invocation(t, resourceEvent("readerr-1")), nil, 500,
			[]string{"readerr-1"}, 0, "will be retried"},
		{"permanent failure without a parker fails too", "POST", "/DriftOnResourceEvent", invocation(t, resourceEvent("noid-1")), nil, 500,
			[]string{"noid-1"}, 0, "dead-letter"},
		{"permanent failure parked", "POST", "/DriftOnResourceEvent", invocation(t, resourceEvent("noid-1")), &fakeParker{}, 200,
			[]string{"noid-1"}, 1, "parked"},
		{"parking fails", "POST", "/DriftOnResourceEvent", invocation(t, resourceEvent("noid-1")), &fakeParker{err: errors.New("blob down")}, 500,
			[]string{"noid-1"}, 0, "blob down"},
		{"not a custom-handler request", "POST", "/DriftOnResourceEvent", `[1,2]`, nil, 400, nil, 0, "not a custom-handler request"},
		{"no event binding", "POST", "/DriftOnResourceEvent", `{"Data":{},"Metadata":{}}`, nil, 400, nil, 0, "no Data.event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := &fakeProcessor{outcome: byID}
			fn := &eventgrid.Functions{Handler: &eventgrid.Handler{Processor: proc}}
			if tt.park != nil {
				fn.Park = tt.park
			}
			srv := httptest.NewServer(fn)
			defer srv.Close()
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Azure-Functions-InvocationId", "inv-1")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			raw, _ := io.ReadAll(resp.Body)
			var got hostResponse
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("response %q is not the custom-handler shape: %v", raw, err)
			}
			var keys map[string]json.RawMessage
			_ = json.Unmarshal(raw, &keys)
			for _, k := range []string{"Outputs", "Logs", "ReturnValue"} {
				if _, ok := keys[k]; !ok {
					t.Errorf("response lacks %s: %s", k, raw)
				}
			}
			if got.Outputs == nil || got.ReturnValue != nil || len(got.Logs) == 0 {
				t.Errorf("response %s", raw)
			}
			if tt.wantLog != "" && !strings.Contains(strings.Join(got.Logs, "\n"), tt.wantLog) {
				t.Errorf("logs %q lack %q", got.Logs, tt.wantLog)
			}
			if seen := proc.saw(); strings.Join(seen, ",") != strings.Join(tt.wantSeen, ",") {
				t.Errorf("processed %v, want %v", seen, tt.wantSeen)
			}
			if tt.park != nil && len(tt.park.bodies) != tt.wantParked {
				t.Errorf("parked %d, want %d", len(tt.park.bodies), tt.wantParked)
			}
			if tt.wantParked > 0 && !strings.Contains(tt.park.bodies[0], `"noid-1"`) {
				t.Errorf("parked body %q is not the event", tt.park.bodies[0])
			}
		})
	}
}

func TestFunctionsRoutes(t *testing.T) {
	proc := &fakeProcessor{outcome: byID}
	srv := httptest.NewServer(&eventgrid.Functions{Handler: &eventgrid.Handler{Processor: proc}, Function: "Custom"})
	defer srv.Close()
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/", 200}, // readiness
		{"HEAD", "/", 200},
		{"GET", "/Custom", 405},
		{"POST", "/DriftOnResourceEvent", 404}, // another function's name
		{"POST", "/other", 404},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(invocation(t, resourceEvent("a"))))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if seen := proc.saw(); len(seen) != 0 {
		t.Fatalf("processed %v through a wrong route", seen)
	}
}
