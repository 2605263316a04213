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
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// fakeProcessor answers with outcome and records the event IDs it saw.
type fakeProcessor struct {
	outcome func(ch *change.Change) detect.Outcome
	mu      sync.Mutex
	seen    []string
}

var _ eventgrid.Processor = (*fakeProcessor)(nil)

func (f *fakeProcessor) Process(_ context.Context, ch *change.Change) detect.Outcome {
	f.mu.Lock()
	f.seen = append(f.seen, ch.EventID)
	f.mu.Unlock()
	return f.outcome(ch)
}

func (f *fakeProcessor) saw() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

type fakeSink struct {
	err error
	got []detect.Outcome
}

var _ eventgrid.Sink = (*fakeSink)(nil)

func (f *fakeSink) Handle(_ context.Context, out detect.Outcome) error {
	f.got = append(f.got, out)
	return f.err
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
		sinkErr   error
		wantErr   string // "" none, "permanent", "transient"
		wantSeen  []string
		wantSunk  int
		wantCount eventgrid.Report
	}{
		{"one Event Grid event", func(t *testing.T) []byte { return mustJSON(t, resourceEvent("a")) }, nil, "", []string{"a"}, 1,
			eventgrid.Report{Changes: 1, Checked: 1, Failing: 1}},
		{"array of CloudEvents", func(t *testing.T) []byte { return mustJSON(t, []any{cloudEvent("a"), cloudEvent("b")}) }, nil, "",
			[]string{"a", "b"}, 2, eventgrid.Report{Changes: 2, Checked: 2, Failing: 2}},
		{"ignored change", func(t *testing.T) []byte { return mustJSON(t, []any{resourceEvent("ignored-1")}) }, nil, "",
			[]string{"ignored-1"}, 0, eventgrid.Report{Changes: 1, Ignored: 1}},
		{"not JSON", func(t *testing.T) []byte { return []byte("{not json") }, nil, "permanent", nil, 0, eventgrid.Report{}},
		{"not a resource event", func(t *testing.T) []byte {
			return []byte(`[{"id":"x","eventType":"Microsoft.Storage.BlobCreated","subject":"/blobServices/default","data":{}}]`)
		}, nil, "permanent", nil, 0, eventgrid.Report{}},
		{"watched change without a resource", func(t *testing.T) []byte { return mustJSON(t, resourceEvent("noid-1")) }, nil, "permanent",
			[]string{"noid-1"}, 0, eventgrid.Report{Changes: 1}},
		{"failed read", func(t *testing.T) []byte { return mustJSON(t, resourceEvent("readerr-1")) }, nil, "transient",
			[]string{"readerr-1"}, 1, eventgrid.Report{Changes: 1, Checked: 1, Failing: 1}},
		{"sink fails", func(t *testing.T) []byte { return mustJSON(t, resourceEvent("a")) }, errors.New("store down"), "transient",
			[]string{"a"}, 1, eventgrid.Report{Changes: 1, Checked: 1, Failing: 1}},
		{"transient wins over permanent, good changes still processed", func(t *testing.T) []byte {
			return mustJSON(t, []any{resourceEvent("noid-1"), resourceEvent("readerr-1"), resourceEvent("c")})
		}, nil, "transient", []string{"noid-1", "readerr-1", "c"}, 2, eventgrid.Report{Changes: 3, Checked: 2, Failing: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := &fakeProcessor{outcome: byID}
			sink := &fakeSink{err: tt.sinkErr}
			h := &eventgrid.Handler{Processor: proc, Sink: sink}
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
			if len(sink.got) != tt.wantSunk {
				t.Errorf("%d outcomes sunk, want %d", len(sink.got), tt.wantSunk)
			}
			if rep != tt.wantCount {
				t.Errorf("report %+v, want %+v", rep, tt.wantCount)
			}
		})
	}
}
