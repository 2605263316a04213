package eventgrid_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// fakeProcessor answers with outcome (and err, when set) and records the
// event IDs it saw.
type fakeProcessor struct {
	outcome func(ch *change.Change) detect.Outcome
	err     error
	mu      sync.Mutex
	seen    []string
}

var _ eventgrid.Processor = (*fakeProcessor)(nil)

func (f *fakeProcessor) Handle(_ context.Context, ch *change.Change) (pipeline.Result, error) {
	f.mu.Lock()
	f.seen = append(f.seen, ch.EventID)
	f.mu.Unlock()
	out := f.outcome(ch)
	if out.Err != nil {
		return pipeline.Result{Outcome: out}, fmt.Errorf("%w: %w", pipeline.ErrUnresolvable, out.Err)
	}
	if f.err != nil {
		return pipeline.Result{Outcome: out}, f.err
	}
	return pipeline.Result{Outcome: out}, nil
}

func (f *fakeProcessor) saw() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

const testSub = "00000000-1111-2222-3333-444444444444"

// resourceEvent is an Event Grid schema storage-account write whose id is
// id; the outcome helpers below key on it.
func resourceEvent(id string) map[string]any {
	uri := "/subscriptions/" + testSub + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/" + id
	return map[string]any{
		"id": id, "eventType": "Microsoft.Resources.ResourceWriteSuccess", "eventTime": "2026-11-28T10:00:00Z",
		"topic": "/subscriptions/" + testSub, "subject": uri, "dataVersion": "2", "metadataVersion": "1",
		"data": map[string]any{
			"operationName": "Microsoft.Storage/storageAccounts/write", "resourceProvider": "Microsoft.Storage",
			"resourceUri": uri, "status": "Succeeded", "subscriptionId": testSub,
			"claims": map[string]any{"http://schemas.microsoft.com/identity/claims/objectidentifier": "oid-" + id},
		},
	}
}

// cloudEvent is the same write in CloudEvents 1.0 form.
func cloudEvent(id string) map[string]any {
	eg := resourceEvent(id)
	return map[string]any{"specversion": "1.0", "id": id, "type": eg["eventType"], "source": eg["topic"],
		"subject": eg["subject"], "time": eg["eventTime"], "data": eg["data"]}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// byID gives each event ID's outcome: "ignored-*" ignored, "noid-*" a
// watched change without a resource, "readerr-*" a failed read, anything
// else one failing verdict.
func byID(ch *change.Change) detect.Outcome {
	ref := resource.Ref{Type: "Microsoft.Storage/storageAccounts", ID: ch.EventID, Account: ch.Account}
	switch {
	case strings.HasPrefix(ch.EventID, "ignored"):
		return detect.Outcome{Change: ch, Ignored: filter.Unwatched}
	case strings.HasPrefix(ch.EventID, "noid"):
		return detect.Outcome{Change: ch, Err: errors.New("no resource id in event")}
	case strings.HasPrefix(ch.EventID, "readerr"):
		err := errors.New("ARM said 503")
		return detect.Outcome{Change: ch, Checked: []detect.Checked{{Resource: resource.Resource{Ref: ref}, Err: err,
			Verdicts: []policy.Verdict{{EventID: ch.EventID, Resource: ref, Result: policy.Error}}}}}
	}
	return detect.Outcome{Change: ch, Checked: []detect.Checked{{Resource: resource.Resource{Ref: ref, Exists: true},
		Verdicts: []policy.Verdict{{EventID: ch.EventID, RuleID: "azure-storage-public-blob", Resource: ref, Result: policy.Fail}}}}}
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name      string
		body      func(t *testing.T) []byte
		procErr   error
		wantErr   string // "" none, "permanent", "transient"
		wantSeen  []string
		wantCount eventgrid.Report
	}{
		{"one Event Grid event", func(t *testing.T) []byte { return mustJSON(t, resourceEvent("a")) }, nil, "", []string{"a"},
			eventgrid.Report{Changes: 1, Checked: 1, Failing: 1}},
		{"array of CloudEvents", func(t *testing.T) []byte { return mustJSON(t, []any{cloudEvent("a"), cloudEvent("b")}) }, nil, "",
			[]string{"a", "b"}, eventgrid.Report{Changes: 2, Checked: 2, Failing: 2}},
		{"ignored change", func(t *testing.T) []byte { return mustJSON(t, []any{resourceEvent("ignored-1")}) }, nil, "",
			[]string{"ignored-1"}, eventgrid.Report{Changes: 1, Ignored: 1}},
		{"not JSON", func(t *testing.T) []byte { return []byte("{not json") }, nil, "permanent", nil, eventgrid.Report{}},
		{"not a resource event", func(t *testing.T) []byte {
			return []byte(`[{"id":"x","eventType":"Microsoft.Storage.BlobCreated","subject":"/blobServices/default","data":{}}]`)
		}, nil, "permanent", nil, eventgrid.Report{}},
		{"watched change without a resource", func(t *testing.T) []byte { return mustJSON(t, resourceEvent("noid-1")) }, nil, "permanent",
			[]string{"noid-1"}, eventgrid.Report{Changes: 1}},
		{"failed read", func(t *testing.T) []byte { return mustJSON(t, resourceEvent("readerr-1")) }, nil, "transient",
			[]string{"readerr-1"}, eventgrid.Report{Changes: 1, Checked: 1, Failing: 1}},
		{"findings store fails", func(t *testing.T) []byte { return mustJSON(t, resourceEvent("a")) }, errors.New("store down"), "transient",
			[]string{"a"}, eventgrid.Report{Changes: 1, Checked: 1, Failing: 1}},
		{"transient wins over permanent, good changes still processed", func(t *testing.T) []byte {
			return mustJSON(t, []any{resourceEvent("noid-1"), resourceEvent("readerr-1"), resourceEvent("c")})
		}, nil, "transient", []string{"noid-1", "readerr-1", "c"}, eventgrid.Report{Changes: 3, Checked: 2, Failing: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := &fakeProcessor{outcome: byID, err: tt.procErr}
			h := &eventgrid.Handler{Processor: proc}
			rep, err := h.Handle(context.Background(), "test", tt.body(t))
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Fatalf("error %v", err)
				}
			case "permanent":
				if !errors.Is(err, eventgrid.ErrPermanent) {
					t.Fatalf("error %v, want permanent", err)
				}
			case "transient":
				if err == nil || errors.Is(err, eventgrid.ErrPermanent) {
					t.Fatalf("error %v, want transient", err)
				}
			}
			if got := proc.saw(); fmt.Sprint(got) != fmt.Sprint(tt.wantSeen) {
				t.Errorf("processed %v, want %v", got, tt.wantSeen)
			}
			if rep != tt.wantCount {
				t.Errorf("report %+v, want %+v", rep, tt.wantCount)
			}
		})
	}
}
