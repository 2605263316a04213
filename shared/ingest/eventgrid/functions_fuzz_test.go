package eventgrid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
	"github.com/driftwatch/driftwatch/shared/pipeline"
)

// fuzzProcessor ignores every change it is given, and counts them.
type fuzzProcessor struct {
	mu  sync.Mutex
	ids []string
}

var _ eventgrid.Processor = (*fuzzProcessor)(nil)

func (p *fuzzProcessor) Handle(_ context.Context, ch *change.Change) (pipeline.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids = append(p.ids, ch.EventID)
	return pipeline.Result{Outcome: detect.Outcome{Change: ch, Ignored: filter.Unwatched}}, nil
}

func (p *fuzzProcessor) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ids)
}

// fuzzParker keeps what it is given.
type fuzzParker struct{ bodies [][]byte }

var _ eventgrid.Parker = (*fuzzParker)(nil)

func (p *fuzzParker) Park(_ context.Context, body []byte, _ string) error {
	p.bodies = append(p.bodies, bytes.Clone(body))
	return nil
}

// Invocation forms FuzzFunctionsInvocation wraps the fuzzed event in.
const (
	formObject = iota // {"Data": {"event": <event>}}
	formString        // {"Data": {"event": "<event as a JSON string>"}}
	formCase          // {"Data": {"EVENT": <event>}}
	formOnly          // {"Data": {"trigger": <event>}}: the only entry
	formRaw           // the body is the fuzzed bytes themselves
	formCount
)

// invocationBody wraps event as the Functions host would in form.
func invocationBody(event []byte, form int) []byte {
	key := map[int]string{formObject: "event", formString: "event", formCase: "EVENT", formOnly: "trigger"}[form]
	value := event
	switch form {
	case formRaw:
		return event
	case formString:
		value, _ = json.Marshal(string(event))
	}
	var b bytes.Buffer
	b.WriteString(`{"Data":{"`)
	b.WriteString(key)
	b.WriteString(`":`)
	b.Write(value)
	b.WriteString(`},"Metadata":{"sys":{"MethodName":"DriftOnResourceEvent","UtcNow":"2026-11-28T10:00:01.5Z"}}}`)
	return b.Bytes()
}

// hostEvent is the event the handler must take out of an invocation of
// form (ok false when the invocation is malformed): the JSON value itself,
// or the contents of a JSON string.
func hostEvent(event []byte, form int) ([]byte, bool) {
	if form == formString {
		var s string
		enc, _ := json.Marshal(string(event))
		if json.Unmarshal(enc, &s) != nil {
			return nil, false
		}
		return []byte(s), true
	}
	v := bytes.TrimSpace(event)
	if !json.Valid(v) || string(v) == "null" {
		return nil, false
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false
		}
		return []byte(s), true
	}
	return v, true
}

// FuzzFunctionsInvocation posts custom-handler invocations built around a
// fuzzed event (or a fuzzed body) to Functions. It never answers 200 to an
// event that does not decode unless it parked it; a malformed invocation
// gets 400 and reaches neither the pipeline nor Park; every answer is the
// custom-handler response.
func FuzzFunctionsInvocation(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a","data":{"operationName":"Microsoft.Storage/storageAccounts/write"}}`,
		`{"specversion":"1.0","id":"b","type":"Microsoft.Resources.ResourceDeleteSuccess","source":"/subscriptions/s","data":{}}`,
		`{"id":"v","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","data":{"validationCode":"c"},"dataVersion":"2"}`,
		`[]`, `null`, `""`, `"{}"`, `{}`, `[1]`, `{"Data":null}`, `{"Data":{"a":1,"b":2}}`,
	} {
		for form := range formCount {
			f.Add([]byte(s), uint8(form), form%2 == 0)
		}
	}
	f.Fuzz(func(t *testing.T, event []byte, form uint8, park bool) {
		fm := int(form % formCount)
		body := invocationBody(event, fm)
		proc := &fuzzProcessor{}
		parker := &fuzzParker{}
		fn := &eventgrid.Functions{Handler: &eventgrid.Handler{Processor: proc}}
		if park {
			fn.Park = parker
		}
		w := httptest.NewRecorder()
		fn.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/"+eventgrid.DefaultFunction, bytes.NewReader(body)))

		var resp struct {
			Outputs     map[string]any `json:"Outputs"`
			Logs        []string       `json:"Logs"`
			ReturnValue any            `json:"ReturnValue"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Outputs == nil || resp.Logs == nil {
			t.Fatalf("status %d, response %q is not a custom-handler response (%v)", w.Code, w.Body, err)
		}
		parked := len(parker.bodies) > 0
		if fm == formRaw {
			if w.Code == http.StatusOK && !parked {
				var req struct{ Data map[string]json.RawMessage }
				if json.Unmarshal(body, &req) != nil || req.Data == nil {
					t.Fatalf("200 to %q, which is no invocation", body)
				}
			}
			return
		}
		ev, ok := hostEvent(event, fm)
		if !ok {
			if w.Code != http.StatusBadRequest || proc.count() != 0 || parked {
				t.Fatalf("malformed invocation %q: status %d, %d changes processed, parked %v", body, w.Code, proc.count(), parked)
			}
			return
		}
		changes, errs := change.Decode("invocation", ev)
		switch {
		case len(errs) == 0 && (w.Code != http.StatusOK || parked || proc.count() != len(changes)):
			t.Fatalf("event %q decodes cleanly to %d changes: status %d, %d processed, parked %v, logs %q",
				ev, len(changes), w.Code, proc.count(), parked, resp.Logs)
		case len(errs) > 0 && park && (w.Code != http.StatusOK || len(parker.bodies) != 1 || !bytes.Equal(parker.bodies[0], ev)):
			t.Fatalf("event %q does not decode (%v): status %d, parked %q", ev, errs, w.Code, parker.bodies)
		case len(errs) > 0 && !park && w.Code != http.StatusInternalServerError:
			t.Fatalf("event %q does not decode (%v) and cannot be parked: status %d, want 500 (Event Grid retries, then dead-letters)",
				ev, errs, w.Code)
		}
	})
}
