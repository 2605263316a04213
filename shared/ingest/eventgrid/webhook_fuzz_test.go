package eventgrid_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
)

// fuzzSecret is the webhook's shared secret in the fuzz targets.
const fuzzSecret = "wh-6d0c1f5e2b8a4c7d9e3f"

// validationCodes returns every data.validationCode string in body, a JSON
// value of any shape.
func validationCodes(body []byte) []string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var codes []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if d, ok := x["data"].(map[string]any); ok {
				if c, ok := d["validationCode"].(string); ok {
					codes = append(codes, c)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return codes
}

// FuzzWebhookDelivery posts fuzzed deliveries, with the secret, to the
// Event Grid webhook. A validation handshake is answered with a code the
// delivery holds and processes nothing; anything else is answered 200 only
// when every event in it decodes, and each is processed once; garbage gets
// 400, which Event Grid dead-letters.
func FuzzWebhookDelivery(f *testing.F) {
	for _, s := range []string{
		`[{"id":"a","eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a","data":{"operationName":"Microsoft.Storage/storageAccounts/write"},"dataVersion":"2"}]`,
		`{"specversion":"1.0","id":"b","type":"Microsoft.Resources.ResourceDeleteSuccess","source":"/subscriptions/s","data":{}}`,
		`[{"id":"v","topic":"/subscriptions/s","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6","validationUrl":"https://rp-eastus2.eventgrid.azure.net/x"},"dataVersion":"2"}]`,
		`{"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","data":{}}`,
		`[{"id":"a","eventType":"Microsoft.Storage.BlobCreated","data":{}},{"type":"Microsoft.EventGrid.SubscriptionValidationEvent","data":{"validationCode":"x"}}]`,
		`[]`, `[1,{}]`, `x`, ``,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, handshake bool) {
		proc := &fuzzProcessor{}
		wh := &eventgrid.Webhook{Handler: &eventgrid.Handler{Processor: proc}, Secret: fuzzSecret}
		r := httptest.NewRequest(http.MethodPost, "/api/eventgrid", bytes.NewReader(body))
		r.Header.Set(eventgrid.SecretHeader, fuzzSecret)
		if handshake {
			r.Header.Set("aeg-event-type", "SubscriptionValidation")
		}
		w := httptest.NewRecorder()
		wh.ServeHTTP(w, r)

		var answer struct {
			ValidationResponse *string `json:"validationResponse"`
		}
		if w.Code == http.StatusOK && json.Unmarshal(w.Body.Bytes(), &answer) == nil && answer.ValidationResponse != nil {
			codes := validationCodes(body)
			found := false
			for _, c := range codes {
				found = found || c == *answer.ValidationResponse
			}
			if !found || proc.count() != 0 {
				t.Fatalf("validation answer %q to %q (codes %q); %d changes processed", *answer.ValidationResponse, body, codes, proc.count())
			}
			return
		}
		if handshake {
			if w.Code != http.StatusBadRequest || proc.count() != 0 {
				t.Fatalf("handshake %q without a code: status %d, %d changes processed", body, w.Code, proc.count())
			}
			return
		}
		changes, errs := change.Decode("webhook", body)
		switch {
		case len(errs) == 0 && (w.Code != http.StatusOK || proc.count() != len(changes)):
			t.Fatalf("delivery %q decodes cleanly to %d changes: status %d, %d processed", body, len(changes), w.Code, proc.count())
		case len(errs) > 0 && w.Code != http.StatusBadRequest:
			t.Fatalf("delivery %q does not decode (%v): status %d, want 400", body, errs, w.Code)
		}
	})
}

// FuzzWebhookSecret sends requests carrying a fuzzed key, in the header or
// the query, to a webhook whose secret is fuzzSecret: only the secret
// itself is let in; any other key gets 401, with no handshake answered and
// nothing processed.
func FuzzWebhookSecret(f *testing.F) {
	for _, k := range []string{
		fuzzSecret, "", strings.ToUpper(fuzzSecret), fuzzSecret[:len(fuzzSecret)-1], fuzzSecret + "x",
		" " + fuzzSecret, fuzzSecret + "\x00", "wh-6d0c1f5e2b8a4c7d9e3F", "Bearer " + fuzzSecret,
	} {
		for method := range uint8(3) {
			f.Add(k, false, method)
			f.Add(k, true, method)
		}
	}
	event := `[{"id":"a","eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a","data":{}},` +
		`{"id":"v","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","data":{"validationCode":"code-1"}}]`
	f.Fuzz(func(t *testing.T, key string, inQuery bool, method uint8) {
		proc := &fuzzProcessor{}
		wh := &eventgrid.Webhook{Handler: &eventgrid.Handler{Processor: proc}, Secret: fuzzSecret}
		target := "/api/eventgrid"
		if inQuery {
			target += "?" + url.Values{eventgrid.SecretQuery: {key}}.Encode()
		}
		var r *http.Request
		switch method % 3 {
		case 0:
			r = httptest.NewRequest(http.MethodPost, target, strings.NewReader(event))
		case 1:
			r = httptest.NewRequest(http.MethodPost, target, strings.NewReader(event))
			r.Header.Set("aeg-event-type", "SubscriptionValidation")
		default:
			r = httptest.NewRequest(http.MethodOptions, target, nil)
			r.Header.Set("WebHook-Request-Origin", "eventgrid.azure.net")
		}
		if !inQuery {
			r.Header.Set(eventgrid.SecretHeader, key)
		}
		w := httptest.NewRecorder()
		wh.ServeHTTP(w, r)
		accepted := w.Code != http.StatusUnauthorized
		if accepted != (key == fuzzSecret) {
			t.Fatalf("key %q (query %v): status %d", key, inQuery, w.Code)
		}
		if !accepted && (proc.count() != 0 || w.Header().Get("WebHook-Allowed-Origin") != "" || strings.Contains(w.Body.String(), "code-1")) {
			t.Fatalf("refused key %q, yet %d changes processed, allowed origin %q, body %q",
				key, proc.count(), w.Header().Get("WebHook-Allowed-Origin"), w.Body)
		}
	})
}
