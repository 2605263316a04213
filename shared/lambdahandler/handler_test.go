package lambdahandler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// fakePipeline answers per change.
type fakePipeline struct {
	result func(ch *change.Change) (pipeline.Result, error)
	seen   []string
}

var _ Processor = (*fakePipeline)(nil)

func (f *fakePipeline) Handle(_ context.Context, ch *change.Change) (pipeline.Result, error) {
	f.seen = append(f.seen, ch.EventID)
	return f.result(ch)
}

var _ Parker = (*fakeParker)(nil)

type fakeParker struct {
	bodies, reasons []string
	err             error
}

func (f *fakeParker) Park(_ context.Context, body, reason string) error {
	if f.err != nil {
		return f.err
	}
	f.bodies = append(f.bodies, body)
	f.reasons = append(f.reasons, reason)
	return nil
}

func rec(id string) string {
	return `{"eventVersion":"1.09","eventID":"` + id + `","eventTime":"2026-11-28T10:00:00Z","eventSource":"s3.amazonaws.com",` +
		`"eventName":"PutBucketAcl","awsRegion":"us-east-1","recipientAccountId":"123456789012",` +
		`"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/a"},"requestParameters":{"bucketName":"b"}}`
}

func envelope(id string) string {
	return `{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"123456789012","region":"us-east-1","detail":` + rec(id) + `}`
}

func sqsBatch(bodies ...string) json.RawMessage {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: "m" + string(rune('0'+i)), Body: b, EventSource: "aws:sqs"})
	}
	raw, _ := json.Marshal(ev)
	return raw
}

func checked(ch *change.Change) (pipeline.Result, error) {
	ref := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::b"}
	return pipeline.Result{Outcome: detect.Outcome{Change: ch, Checked: []detect.Checked{{
		Resource: resource.Resource{Ref: ref, Exists: true},
		Verdicts: []policy.Verdict{{EventID: ch.EventID, RuleID: "r", Resource: ref, Result: policy.Fail}},
	}}}}, nil
}

func failedRead(ch *change.Change) (pipeline.Result, error) {
	res, _ := checked(ch)
	res.Outcome.Checked[0].Err = errors.New("throttled")
	return res, nil
}

func newHandler(p Processor, park Parker) *Handler {
	return &Handler{Pipeline: p, DeadLetter: park, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestBatchReportsOnlyFailedItems(t *testing.T) {
	p := &fakePipeline{result: func(ch *change.Change) (pipeline.Result, error) {
		if ch.EventID == "read-fails" {
			return failedRead(ch)
		}
		return checked(ch)
	}}
	park := &fakeParker{}
	h := newHandler(p, park)
	resp, err := h.Invoke(context.Background(), sqsBatch(envelope("ok-1"), envelope("read-fails"), "not json at all", envelope("ok-2")))
	if err != nil {
		t.Fatal(err)
	}
	r := resp.(events.SQSEventResponse)
	if len(r.BatchItemFailures) != 1 || r.BatchItemFailures[0].ItemIdentifier != "m1" {
		t.Fatalf("batch item failures = %+v, want only m1 (the failed read)", r.BatchItemFailures)
	}
	if len(park.bodies) != 1 || park.bodies[0] != "not json at all" {
		t.Fatalf("parked %q, want the undecodable body", park.bodies)
	}
	if !strings.Contains(park.reasons[0], "offset") {
		t.Errorf("park reason %q should say where decoding failed", park.reasons[0])
	}
	if want := []string{"ok-1", "read-fails", "ok-2"}; !slices.Equal(p.seen, want) {
		t.Errorf("pipeline saw %v, want %v", p.seen, want)
	}
}

func TestPermanentFailureWithoutParkerIsRetried(t *testing.T) {
	h := newHandler(&fakePipeline{result: checked}, nil)
	resp, err := h.Invoke(context.Background(), sqsBatch(`{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.(events.SQSEventResponse).BatchItemFailures; len(got) != 1 {
		t.Fatalf("want the item returned to the queue (SQS redrive parks it), got %+v", got)
	}
}

func TestParkFailureFallsBackToRetry(t *testing.T) {
	h := newHandler(&fakePipeline{result: checked}, &fakeParker{err: errors.New("sqs down")})
	resp, _ := h.Invoke(context.Background(), sqsBatch("[1,2"))
	if got := resp.(events.SQSEventResponse).BatchItemFailures; len(got) != 1 {
		t.Fatalf("an unparkable message must stay on the queue, got %+v", got)
	}
}

func TestUnresolvableWatchedChangeIsParked(t *testing.T) {
	p := &fakePipeline{result: func(ch *change.Change) (pipeline.Result, error) {
		return pipeline.Result{Outcome: detect.Outcome{Change: ch}}, fmt.Errorf("%w: no resource id in event", pipeline.ErrUnresolvable)
	}}
	park := &fakeParker{}
	h := newHandler(p, park)
	resp, _ := h.Invoke(context.Background(), sqsBatch(envelope("e1")))
	if got := resp.(events.SQSEventResponse).BatchItemFailures; len(got) != 0 {
		t.Fatalf("failures %+v, want none (parked)", got)
	}
	if len(park.reasons) != 1 || !strings.Contains(park.reasons[0], "no resource id") {
		t.Fatalf("reasons %q", park.reasons)
	}
}

func TestDirectEventBridgeInvocation(t *testing.T) {
	p := &fakePipeline{result: checked}
	h := newHandler(p, nil)
	if _, err := h.Invoke(context.Background(), json.RawMessage(envelope("direct-1"))); err != nil {
		t.Fatal(err)
	}
	if len(p.seen) != 1 || p.seen[0] != "direct-1" {
		t.Fatalf("seen %v", p.seen)
	}
	p.result = failedRead
	if _, err := h.Invoke(context.Background(), json.RawMessage(envelope("direct-2"))); err == nil {
		t.Fatal("a failed read on direct invocation must return an error so Lambda retries")
	}
}

func TestStoreFailureIsRetried(t *testing.T) {
	p := &fakePipeline{result: func(ch *change.Change) (pipeline.Result, error) {
		return pipeline.Result{}, errors.New("conditional update: throttled")
	}}
	park := &fakeParker{}
	h := newHandler(p, park)
	resp, _ := h.Invoke(context.Background(), sqsBatch(envelope("s1")))
	if got := resp.(events.SQSEventResponse).BatchItemFailures; len(got) != 1 || len(park.bodies) != 0 {
		t.Fatalf("a store failure must return the item to the queue, not park it: failures %+v, parked %d", got, len(park.bodies))
	}
}

func TestIgnoredAndDuplicateChangesAreAcknowledged(t *testing.T) {
	for _, res := range []pipeline.Result{{Outcome: detect.Outcome{Ignored: "read-only"}}, {Duplicate: true}} {
		p := &fakePipeline{result: func(ch *change.Change) (pipeline.Result, error) {
			res.Outcome.Change = ch
			return res, nil
		}}
		resp, _ := newHandler(p, nil).Invoke(context.Background(), sqsBatch(envelope("r1")))
		if got := resp.(events.SQSEventResponse).BatchItemFailures; len(got) != 0 {
			t.Fatalf("%+v: failures %+v", res, got)
		}
	}
}

func TestLastReceiveParksTransientFailureWithReason(t *testing.T) {
	batch := func(receives string) json.RawMessage {
		ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m0", Body: envelope("read-fails"), EventSource: "aws:sqs",
			Attributes: map[string]string{"ApproximateReceiveCount": receives}}}}
		raw, _ := json.Marshal(ev)
		return raw
	}
	tests := []struct {
		name        string
		maxReceives int
		receives    string
		park        *fakeParker
		wantFailed  bool
		wantParked  bool
	}{
		{name: "earlier receive is retried", maxReceives: 3, receives: "2", park: &fakeParker{}, wantFailed: true},
		{name: "last receive is parked", maxReceives: 3, receives: "3", park: &fakeParker{}, wantParked: true},
		{name: "past the last receive is parked", maxReceives: 3, receives: "4", park: &fakeParker{}, wantParked: true},
		{name: "unknown max receives is retried", maxReceives: 0, receives: "9", park: &fakeParker{}, wantFailed: true},
		{name: "missing receive count is retried", maxReceives: 3, receives: "", park: &fakeParker{}, wantFailed: true},
		{name: "failed park is retried", maxReceives: 3, receives: "3", park: &fakeParker{err: errors.New("sqs down")}, wantFailed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(&fakePipeline{result: failedRead}, tt.park)
			h.MaxReceives = tt.maxReceives
			resp, err := h.Invoke(context.Background(), batch(tt.receives))
			if err != nil {
				t.Fatal(err)
			}
			failed := len(resp.(events.SQSEventResponse).BatchItemFailures) == 1
			if failed != tt.wantFailed {
				t.Errorf("returned to the queue: %v, want %v", failed, tt.wantFailed)
			}
			if parked := len(tt.park.reasons) == 1; parked != tt.wantParked {
				t.Fatalf("parked: %v (%q), want %v", parked, tt.park.reasons, tt.wantParked)
			}
			if tt.wantParked && (!strings.Contains(tt.park.reasons[0], "throttled") || !strings.Contains(tt.park.reasons[0], "receive "+tt.receives+" of 3")) {
				t.Errorf("reason %q should name the error and the receive", tt.park.reasons[0])
			}
		})
	}
}

// ctxPipeline hands each change's context to a function.
type ctxPipeline struct {
	handle func(ctx context.Context, ch *change.Change) (pipeline.Result, error)
	seen   []string
}

var _ Processor = (*ctxPipeline)(nil)

func (p *ctxPipeline) Handle(ctx context.Context, ch *change.Change) (pipeline.Result, error) {
	p.seen = append(p.seen, ch.EventID)
	return p.handle(ctx, ch)
}

// ctxParker records whether the context it parks with is still live.
type ctxParker struct {
	reasons []string
	live    []bool
}

func (p *ctxParker) Park(ctx context.Context, _ string, reason string) error {
	p.reasons = append(p.reasons, reason)
	p.live = append(p.live, ctx.Err() == nil)
	return ctx.Err()
}

func TestBatchStopsBeforeTheDeadlineAndStillParks(t *testing.T) {
	// The first change blocks until the pipeline's context ends; the
	// others must not be started, and all must be reported before the
	// invocation's own deadline, the one on its last receive parked.
	p := &ctxPipeline{handle: func(ctx context.Context, ch *change.Change) (pipeline.Result, error) {
		<-ctx.Done()
		return pipeline.Result{}, fmt.Errorf("conditional update: %w", ctx.Err())
	}}
	park := &ctxParker{}
	h := &Handler{Pipeline: p, DeadLetter: park, MaxReceives: 3, Reserve: 500 * time.Millisecond}
	var ev events.SQSEvent
	for i, receives := range []string{"1", "3", "1"} {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d", i), Body: envelope(fmt.Sprintf("e%d", i)),
			EventSource: "aws:sqs", Attributes: map[string]string{"ApproximateReceiveCount": receives}})
	}
	raw, _ := json.Marshal(ev)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := h.Invoke(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the handler returned after the invocation's deadline")
	}
	var failed []string
	for _, f := range resp.(events.SQSEventResponse).BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if want := []string{"m0", "m2"}; !slices.Equal(failed, want) {
		t.Errorf("failures %v, want %v", failed, want)
	}
	if want := []string{"e0"}; !slices.Equal(p.seen, want) {
		t.Errorf("pipeline started %v, want only %v", p.seen, want)
	}
	if len(park.reasons) != 1 || !park.live[0] || !strings.Contains(park.reasons[0], "not started before the invocation's deadline") {
		t.Errorf("parked %q (context live %v), want m1 parked in time with the reason", park.reasons, park.live)
	}
}

// TestRevertResultsAreLogged: each result of the automatic revert is one
// line, a failed or paused one as a warning, a gate's skip at debug level.
func TestRevertResultsAreLogged(t *testing.T) {
	ref := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::b"}
	p := &fakePipeline{result: func(ch *change.Change) (pipeline.Result, error) {
		res, _ := checked(ch)
		res.Reverts = []revert.Result{
			{Status: revert.StatusReverted, RuleID: "r1", Resource: ref},
			{Status: revert.StatusFailed, RuleID: "r2", Resource: ref, Reason: "AccessDenied"},
			{Status: revert.StatusSkipped, RuleID: "r3", Resource: ref, Flapping: true, Reason: "flapping — revert paused"},
			{Status: revert.StatusSkipped, RuleID: "r4", Resource: ref, Reason: "the revert switch is off"},
		}
		return res, nil
	}}
	var logged strings.Builder
	h := &Handler{Pipeline: p, Log: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if _, err := h.Invoke(context.Background(), json.RawMessage(envelope("e1"))); err != nil {
		t.Fatal(err)
	}
	for rule, level := range map[string]string{"r1": "INFO", "r2": "WARN", "r3": "WARN", "r4": "DEBUG"} {
		found := false
		for _, line := range strings.Split(logged.String(), "\n") {
			if strings.Contains(line, "msg=revert") && strings.Contains(line, "rule="+rule+" ") {
				found = true
				if !strings.Contains(line, "level="+level) {
					t.Errorf("%s logged as %q, want level %s", rule, line, level)
				}
			}
		}
		if !found {
			t.Errorf("no revert line for %s in:\n%s", rule, logged.String())
		}
	}
}
