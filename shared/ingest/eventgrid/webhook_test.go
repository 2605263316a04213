package eventgrid_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
)

const secret = "s3cr3t-value-for-tests"

// validationEvent is Event Grid's subscription validation event, in the
// documented shape (webhook-event-delivery.md).
const validationEvent = `[{
  "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
  "topic": "/subscriptions/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
  "subject": "",
  "data": {
    "validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
    "validationUrl": "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/myeventsub/validate?id=0000000000-0000-0000-0000-00000000000000&t=2022-10-28T04:23:35.1981776Z&apiVersion=2018-05-01-preview&token=1A1A1A1A"
  },
  "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
  "eventTime": "2022-10-28T04:23:35.1981776Z",
  "metadataVersion": "1",
  "dataVersion": "1"
}]`

func webhookServer(t *testing.T, proc *fakeProcessor) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(&eventgrid.Webhook{Handler: &eventgrid.Handler{Processor: proc}, Secret: secret})
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, srv *httptest.Server, method, path string, header http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestWebhookValidationHandshake(t *testing.T) {
	for name, h := range map[string]http.Header{
		"with aeg-event-type":    {"Aeg-Event-Type": {"SubscriptionValidation"}},
		"without aeg-event-type": {},
	} {
		t.Run(name, func(t *testing.T) {
			proc := &fakeProcessor{outcome: byID}
			resp, body := do(t, webhookServer(t, proc), "POST", "/eventgrid?key="+secret, h, validationEvent)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d (%s)", resp.StatusCode, body)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(body), &got); err != nil || got["validationResponse"] != "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" || len(got) != 1 {
				t.Fatalf("body %q (%v)", body, err)
			}
			if len(proc.saw()) != 0 {
				t.Fatal("the validation event reached the pipeline")
			}
		})
	}
	t.Run("validation header without a code", func(t *testing.T) {
		resp, _ := do(t, webhookServer(t, &fakeProcessor{outcome: byID}), "POST", "/?key="+secret,
			http.Header{"Aeg-Event-Type": {"SubscriptionValidation"}}, `[{"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","data":{}}]`)
		if resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestWebhookCloudEventsAbuseProtection(t *testing.T) {
	srv := webhookServer(t, &fakeProcessor{outcome: byID})
	resp, _ := do(t, srv, "OPTIONS", "/eventgrid?key="+secret, http.Header{"Webhook-Request-Origin": {"eventgrid.azure.net"}}, "")
	if resp.StatusCode != 200 || resp.Header.Get("WebHook-Allowed-Origin") != "eventgrid.azure.net" || resp.Header.Get("WebHook-Allowed-Rate") == "" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, srv, "OPTIONS", "/eventgrid?key="+secret, nil, "")
	if resp.StatusCode != 400 || resp.Header.Get("WebHook-Allowed-Origin") != "" {
		t.Fatalf("preflight without an origin: status %d, headers %v", resp.StatusCode, resp.Header)
	}
}

func TestWebhookSecret(t *testing.T) {
	delivery := string(mustJSON(t, []any{resourceEvent("a")}))
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		body   string
		want   int
	}{
		{"missing", "POST", "/eventgrid", nil, delivery, 401},
		{"wrong query key", "POST", "/eventgrid?key=nope", nil, delivery, 401},
		{"wrong header", "POST", "/eventgrid", http.Header{"X-Driftwatch-Key": {secret + "x"}}, delivery, 401},
		{"prefix of the secret", "POST", "/eventgrid?key=" + secret[:5], nil, delivery, 401},
		{"validation without the secret", "POST", "/eventgrid", http.Header{"Aeg-Event-Type": {"SubscriptionValidation"}}, validationEvent, 401},
		{"preflight without the secret", "OPTIONS", "/eventgrid", http.Header{"Webhook-Request-Origin": {"eventgrid.azure.net"}}, "", 401},
		{"query key", "POST", "/eventgrid?key=" + secret, nil, delivery, 200},
		{"header", "POST", "/eventgrid", http.Header{"X-Driftwatch-Key": {secret}}, delivery, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := &fakeProcessor{outcome: byID}
			resp, body := do(t, webhookServer(t, proc), tt.method, tt.path, tt.header, tt.body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.want, body)
			}
			processed := len(proc.saw()) > 0
			if processed != (tt.want == 200 && tt.method == "POST") {
				t.Fatalf("processed %v", proc.saw())
			}
			if tt.want == 401 && (strings.Contains(body, "validationResponse") || resp.Header.Get("WebHook-Allowed-Origin") != "") {
				t.Fatalf("handshake answered without the secret: %q %v", body, resp.Header)
			}
		})
	}
	t.Run("no secret configured rejects everything", func(t *testing.T) {
		proc := &fakeProcessor{outcome: byID}
		srv := httptest.NewServer(&eventgrid.Webhook{Handler: &eventgrid.Handler{Processor: proc}})
		defer srv.Close()
		resp, _ := do(t, srv, "POST", "/eventgrid?key=", nil, delivery)
		if resp.StatusCode != 401 || len(proc.saw()) != 0 {
			t.Fatalf("status %d, processed %v", resp.StatusCode, proc.saw())
		}
	})
}

func TestWebhookDelivery(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int
	}{
		{"Event Grid batch", string(mustJSON(t, []any{resourceEvent("a"), resourceEvent("b")})), 200},
		{"CloudEvents single", string(mustJSON(t, cloudEvent("a"))), 200},
		{"CloudEvents batch", string(mustJSON(t, []any{cloudEvent("a"), cloudEvent("ignored-2")})), 200},
		{"cannot be processed", string(mustJSON(t, []any{resourceEvent("noid-1")})), 400},
		{"not JSON", "{", 400},
		{"retry", string(mustJSON(t, []any{resourceEvent("readerr-1")})), 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, webhookServer(t, &fakeProcessor{outcome: byID}), "POST", "/eventgrid?key="+secret,
				http.Header{"Aeg-Event-Type": {"Notification"}, "Content-Type": {"application/cloudevents-batch+json"}}, tt.body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.want, body)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		proc := &fakeProcessor{outcome: byID}
		big := `[` + strings.Repeat(" ", 5<<20) + `]`
		resp, _ := do(t, webhookServer(t, proc), "POST", "/?key="+secret, nil, big)
		if resp.StatusCode != 413 || len(proc.saw()) != 0 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("GET", func(t *testing.T) {
		resp, _ := do(t, webhookServer(t, &fakeProcessor{outcome: byID}), "GET", "/?key="+secret, nil, "")
		if resp.StatusCode != 405 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestWebhookKeepsSecretOutOfLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	wh := &eventgrid.Webhook{Secret: secret}
	log.Info("webhook", "config", wh)
	if strings.Contains(buf.String(), secret) {
		t.Fatalf("secret logged: %s", buf.String())
	}
}
