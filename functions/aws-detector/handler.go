package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/pipeline"
)

// processor is the whole pipeline for one change: detection and findings.
type processor interface {
	Handle(ctx context.Context, ch *change.Change) (pipeline.Result, error)
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
	pipe processor
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
// decode, or a watched change whose resource the event does not name, is
// permanent; a failed read or a store or notifier failure is transient.
func (h *handler) message(ctx context.Context, src string, body []byte) error {
	changes, errs := change.Decode(src, body)
	var perm, trans []error
	perm = append(perm, errs...)
	for i := range changes {
		ch := &changes[i]
		res, err := h.pipe.Handle(ctx, ch)
		switch {
		case errors.Is(err, pipeline.ErrUnresolvable):
			perm = append(perm, err)
			continue
		case err != nil:
			trans = append(trans, err)
			continue
		case res.Duplicate:
			h.log.DebugContext(ctx, "duplicate delivery skipped", "event_id", ch.EventID)
			continue
		case res.Outcome.Ignored != "":
			h.log.DebugContext(ctx, "change ignored", "event_id", ch.EventID, "operation", ch.Operation, "reason", string(res.Outcome.Ignored))
			continue
		}
		for _, c := range res.Outcome.Checked {
			if c.Err != nil {
				trans = append(trans, c.Err)
			}
		}
		h.logResult(ctx, res)
	}
	switch {
	case len(trans) > 0:
		return errors.Join(trans...)
	case len(perm) > 0:
		return fmt.Errorf("%w: %w", errPermanent, errors.Join(perm...))
	}
	return nil
}

// logResult writes one line per finding transition.
func (h *handler) logResult(ctx context.Context, res pipeline.Result) {
	for _, t := range res.Transitions {
		if t.Kind == finding.Unchanged {
			continue
		}
		h.log.InfoContext(ctx, "finding", "action", string(t.Kind), "event_id", res.Outcome.Change.EventID,
			"rule", t.Verdict.RuleID, "severity", t.Verdict.Severity, "resource_id", t.Verdict.Resource.ID,
			"result", string(t.Verdict.Result), "principal", res.Outcome.Change.Principal.ARN)
	}
}
