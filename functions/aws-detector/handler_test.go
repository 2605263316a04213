package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// fakeDetector answers per event ID.
type fakeDetector struct {
	outcome func(ch *change.Change) detect.Outcome
	seen    []string
}

var _ processor = (*fakeDetector)(nil)

func (f *fakeDetector) Process(_ context.Context, ch *change.Change) detect.Outcome {
	f.seen = append(f.seen, ch.EventID)
	return f.outcome(ch)
}

type fakeSink struct{ got []detect.Outcome }

func (f *fakeSink) Handle(_ context.Context, out detect.Outcome) error {
	f.got = append(f.got, out)
	return nil
}

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

func checked(ch *change.Change) detect.Outcome {
	ref := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::b"}
	return detect.Outcome{Change: ch, Checked: []detect.Checked{{
		Resource: resource.Resource{Ref: ref, Exists: true},
		Verdicts: []policy.Verdict{{EventID: ch.EventID, RuleID: "r", Resource: ref, Result: policy.Fail}},
	}}}
}

func newHandler(det processor, park parker) (*handler, *fakeSink) {
	s := &fakeSink{}
	return &handler{det: det, sink: s, park: park, log: slog.New(slog.NewTextHandler(io.Discard, nil))}, s
}

func TestBatchReportsOnlyFailedItems(t *testing.T) {
	det := &fakeDetector{outcome: func(ch *change.Change) detect.Outcome {
		out := checked(ch)
		if ch.EventID == "read-fails" {
			out.Checked[0].Err = errors.New("throttled")
		}
		return out
	}}
	park := &fakeParker{}
	h, sink := newHandler(det, park)
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
	if len(sink.got) != 3 {
		t.Errorf("sink got %d outcomes, want 3 (ok-1, read-fails, ok-2)", len(sink.got))
	}
}

func TestPermanentFailureWithoutParkerIsRetried(t *testing.T) {
	det := &fakeDetector{outcome: checked}
	h, _ := newHandler(det, nil)
	resp, err := h.Invoke(context.Background(), sqsBatch(`{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.(events.SQSEventResponse).BatchItemFailures; len(got) != 1 {
		t.Fatalf("want the item returned to the queue (SQS redrive parks it), got %+v", got)
	}
}

func TestParkFailureFallsBackToRetry(t *testing.T) {
	h, _ := newHandler(&fakeDetector{outcome: checked}, &fakeParker{err: errors.New("sqs down")})
	resp, _ := h.Invoke(context.Background(), sqsBatch("[1,2"))
	if got := resp.(events.SQSEventResponse).BatchItemFailures; len(got) != 1 {
		t.Fatalf("an unparkable message must stay on the queue, got %+v", got)
	}
}

func TestUnresolvableWatchedChangeIsParked(t *testing.T) {
	det := &fakeDetector{outcome: func(ch *change.Change) detect.Outcome {
		return detect.Outcome{Change: ch, Err: errors.New("no resource id in event")}
	}}
	park := &fakeParker{}
	h, _ := newHandler(det, park)
	resp, _ := h.Invoke(context.Background(), sqsBatch(envelope("e1")))
	if got := resp.(events.SQSEventResponse).BatchItemFailures; len(got) != 0 {
		t.Fatalf("failures %+v, want none (parked)", got)
	}
	if len(park.reasons) != 1 || !strings.Contains(park.reasons[0], "no resource id") {
		t.Fatalf("reasons %q", park.reasons)
	}
}

func TestDirectEventBridgeInvocation(t *testing.T) {
	det := &fakeDetector{outcome: checked}
	h, sink := newHandler(det, nil)
	if _, err := h.Invoke(context.Background(), json.RawMessage(envelope("direct-1"))); err != nil {
		t.Fatal(err)
	}
	if len(det.seen) != 1 || det.seen[0] != "direct-1" || len(sink.got) != 1 {
		t.Fatalf("seen %v, sink %d", det.seen, len(sink.got))
	}
	det.outcome = func(ch *change.Change) detect.Outcome {
		out := checked(ch)
		out.Checked[0].Err = errors.New("throttled")
		return out
	}
	if _, err := h.Invoke(context.Background(), json.RawMessage(envelope("direct-2"))); err == nil {
		t.Fatal("a failed read on direct invocation must return an error so Lambda retries")
	}
}

func TestIgnoredChangesReachNoSink(t *testing.T) {
	det := &fakeDetector{outcome: func(ch *change.Change) detect.Outcome {
		return detect.Outcome{Change: ch, Ignored: "read-only"}
	}}
	h, sink := newHandler(det, nil)
	resp, _ := h.Invoke(context.Background(), sqsBatch(envelope("r1")))
	if len(resp.(events.SQSEventResponse).BatchItemFailures) != 0 || len(sink.got) != 0 {
		t.Fatal("ignored change must be acknowledged without reaching the sink")
	}
}

func TestLoadEnv(t *testing.T) {
	env := map[string]string{"DRIFTWATCH_OWN_PRINCIPALS": " arn:aws:iam::1:role/dw-* ,,arn:aws:iam::1:role/x ", "LOG_LEVEL": "debug"}
	e, err := loadEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(e.OwnPrincipals) != 2 || e.OwnPrincipals[0] != "arn:aws:iam::1:role/dw-*" || e.LogLevel != slog.LevelDebug {
		t.Fatalf("%+v", e)
	}
	env["LOG_LEVEL"] = "loud"
	if _, err := loadEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Fatalf("bad LOG_LEVEL: err = %v", err)
	}
}
