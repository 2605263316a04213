package lambdahandler_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/lambdahandler"
	"github.com/driftwatch/driftwatch/shared/pipeline"
)

// ignoringPipeline ignores every change, and counts them.
type ignoringPipeline struct {
	mu sync.Mutex
	n  int
}

var _ lambdahandler.Processor = (*ignoringPipeline)(nil)

func (p *ignoringPipeline) Handle(_ context.Context, ch *change.Change) (pipeline.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	return pipeline.Result{Outcome: detect.Outcome{Change: ch, Ignored: filter.Unwatched}}, nil
}

// keepingParker keeps the bodies it parks.
type keepingParker struct{ bodies []string }

var _ lambdahandler.Parker = (*keepingParker)(nil)

func (p *keepingParker) Park(_ context.Context, body, _ string) error {
	p.bodies = append(p.bodies, body)
	return nil
}

// FuzzSQSMessage hands the detector's handler an SQS batch of one fuzzed
// message body (an EventBridge event or a record, as the queue delivers
// them). A body that does not decode is never acknowledged silently: it is
// parked in the dead-letter queue with its reason, or, without one,
// returned to the queue; a body that decodes is acknowledged and each of
// its changes handled once. Invoked directly with the body, the handler
// returns an error exactly when the body does not decode.
func FuzzSQSMessage(f *testing.F) {
	for _, s := range []string{
		`{"version":"0","id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"123456789012","region":"us-east-1","detail":{"eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","eventID":"e1"}}`,
		`{"eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","eventID":"e1"}`,
		`{"detail-type":"EC2 Instance State-change Notification","detail":{}}`,
		`{"Records":[{"eventName":"A","eventSource":"s"},{}]}`,
		`[]`, `{}`, `not json`, ``, `{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}`,
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, body string, withDLQ bool) {
		changes, errs := change.Decode("m-1", []byte(body))
		p := &ignoringPipeline{}
		parker := &keepingParker{}
		h := &lambdahandler.Handler{Pipeline: p}
		if withDLQ {
			h.DeadLetter = parker
		}
		resp := h.Batch(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-1", Body: body, EventSource: "aws:sqs"}}})
		returned := len(resp.BatchItemFailures) == 1 && resp.BatchItemFailures[0].ItemIdentifier == "m-1"
		parked := len(parker.bodies) == 1 && parker.bodies[0] == body
		switch {
		case len(resp.BatchItemFailures) > 1 || len(parker.bodies) > 1:
			t.Fatalf("one message: %d failures reported, %d parked", len(resp.BatchItemFailures), len(parker.bodies))
		case len(errs) > 0 && withDLQ && (!parked || len(resp.BatchItemFailures) != 0):
			t.Fatalf("body %q does not decode (%v): parked %v, failures %v; want it parked and acknowledged", body, errs, parker.bodies, resp.BatchItemFailures)
		case len(errs) > 0 && !withDLQ && !returned:
			t.Fatalf("body %q does not decode (%v) and there is no dead-letter queue: failures %v; want it returned", body, errs, resp.BatchItemFailures)
		case len(errs) == 0 && (len(resp.BatchItemFailures) != 0 || len(parker.bodies) != 0 || p.n != len(changes)):
			t.Fatalf("body %q decodes to %d changes: failures %v, parked %d, %d handled", body, len(changes), resp.BatchItemFailures, len(parker.bodies), p.n)
		}

		// Invoked directly (EventBridge as the Lambda's target). A body that
		// looks like an SQS batch is dispatched as one: left out.
		var probe struct {
			Records []struct {
				EventSource string `json:"eventSource"`
			} `json:"Records"`
		}
		if json.Unmarshal([]byte(body), &probe) == nil && len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs" {
			return
		}
		if !json.Valid([]byte(body)) {
			return // the Lambda runtime only ever passes JSON
		}
		_, err := h.Invoke(context.Background(), json.RawMessage(body))
		if (err != nil) != (len(errs) > 0) {
			t.Fatalf("direct invocation with %q: error %v; decode errors %v", body, err, errs)
		}
	})
}
