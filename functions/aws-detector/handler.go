package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
)

// processor is the detection pipeline for one change.
type processor interface {
	Process(ctx context.Context, ch *change.Change) detect.Outcome
}

// sink receives every outcome that was checked.
type sink interface {
	Handle(ctx context.Context, out detect.Outcome) error
}

// parker puts a message that can never be processed in the dead-letter
// queue, with the reason.
type parker interface {
	Park(ctx context.Context, body, reason string) error
}

// handler is the detector's Lambda entry point. It accepts an SQS batch
// (EventBridge rule → SQS → Lambda) and reports per-item failures, or one
// EventBridge event invoked directly.
type handler struct {
	det  processor
	sink sink
	park parker // nil: permanent failures are retried until SQS redrives them
	log  *slog.Logger
}

// errPermanent marks inputs that no retry can fix.
var errPermanent = errors.New("permanent")

// Invoke dispatches on the payload's shape.
func (h *handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	if json.Unmarshal(payload, &probe) == nil && len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs" {
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("decode SQS batch: %w", err)
		}
		return h.batch(ctx, ev), nil
	}
	err := h.message(ctx, "direct", payload)
	if errors.Is(err, errPermanent) {
		// A direct invocation has no queue to redrive from: log the reason
		// with the payload and fail, so Lambda's on-failure destination
		// keeps the event.
		h.log.ErrorContext(ctx, "event cannot be processed", "error", err, "payload", string(payload))
	}
	return nil, err
}

// batch processes an SQS batch; only failed items return to the queue.
func (h *handler) batch(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		err := h.message(ctx, m.MessageId, []byte(m.Body))
		if err == nil {
			continue
		}
		if errors.Is(err, errPermanent) && h.park != nil {
			if perr := h.park.Park(ctx, m.Body, err.Error()); perr == nil {
				h.log.WarnContext(ctx, "message parked in dead-letter queue", "message_id", m.MessageId, "reason", err.Error())
				continue
			} else {
				h.log.ErrorContext(ctx, "park message", "message_id", m.MessageId, "error", perr)
			}
		}
		h.log.WarnContext(ctx, "message will be retried", "message_id", m.MessageId, "error", err)
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
	}
	return resp
}

// message processes every change in one message body. A body that does not
// decode, or a watched change whose resource cannot be named, is
// permanent; a failed read or sink is transient.
func (h *handler) message(ctx context.Context, src string, body []byte) error {
	changes, errs := change.Decode(src, body)
	var perm, trans []error
	for _, e := range errs {
		perm = append(perm, e)
	}
	for i := range changes {
		out := h.det.Process(ctx, &changes[i])
		ch := out.Change
		if out.Ignored != "" {
			h.log.DebugContext(ctx, "change ignored", "event_id", ch.EventID, "operation", ch.Operation, "reason", string(out.Ignored))
			continue
		}
		if out.Err != nil {
			perm = append(perm, out.Err)
			continue
		}
		for _, c := range out.Checked {
			if c.Err != nil {
				trans = append(trans, c.Err)
			}
		}
		if err := h.sink.Handle(ctx, out); err != nil {
			trans = append(trans, fmt.Errorf("handle outcome of event %s: %w", ch.EventID, err))
		}
	}
	switch {
	case len(trans) > 0:
		return errors.Join(trans...)
	case len(perm) > 0:
		return fmt.Errorf("%w: %w", errPermanent, errors.Join(perm...))
	}
	return nil
}

// logSink writes every verdict as a structured log line.
type logSink struct{ log *slog.Logger }

func (s logSink) Handle(ctx context.Context, out detect.Outcome) error {
	for _, v := range out.Verdicts() {
		lvl := slog.LevelInfo
		if v.Result != "pass" {
			lvl = slog.LevelWarn
		}
		s.log.Log(ctx, lvl, "verdict", "event_id", v.EventID, "rule", v.RuleID, "severity", v.Severity,
			"resource_type", v.Resource.Type, "resource_id", v.Resource.ID, "result", string(v.Result),
			"message", v.Message, "principal", out.Change.Principal.ARN)
	}
	return nil
}
