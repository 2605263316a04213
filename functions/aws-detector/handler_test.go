package main

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

	"github.com/aws/aws-lambda-go/events"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// fakePipeline answers per change.
type fakePipeline struct {
	result func(ch *change.Change) (pipeline.Result, error)
	seen   []string
}

var _ processor = (*fakePipeline)(nil)

func (f *fakePipeline) Handle(_ context.Context, ch *change.Change) (pipeline.Result, error) {
	f.seen = append(f.seen, ch.EventID)
	return f.result(ch)
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

func newHandler(p processor, park parker) *handler {
	return &handler{pipe: p, park: park, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
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
