// Package lambdahandler is the detector Lambda's request handling: it takes
// an SQS batch (EventBridge rule → SQS → Lambda) and reports per-item
// failures, or one EventBridge event invoked directly; it runs every change
// of a message through the pipeline and parks the messages no retry can fix
// in the dead-letter queue with the reason. functions/aws-detector wires it
// to the Lambda runtime; the reliability tests drive it with a real queue.
package lambdahandler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// Processor is the whole pipeline for one change: detection and findings
// (a *pipeline.Pipeline).
type Processor interface {
	Handle(ctx context.Context, ch *change.Change) (pipeline.Result, error)
}

// Parker puts a message that will not be processed in the dead-letter
// queue, with the reason (a *queue.DeadLetter).
type Parker interface {
	Park(ctx context.Context, body, reason string) error
}

// Handler is the detector's Lambda entry point. It is safe for concurrent
// use.
type Handler struct {
	// Pipeline handles each change.
	Pipeline Processor
	// DeadLetter parks messages no retry can fix. Nil: they are returned
	// to the queue like transient failures, until its redrive policy moves
	// them (without a reason).
	DeadLetter Parker
	// MaxReceives is the source queue's maxReceiveCount (0: unknown). A
	// message that fails transiently on its last receive is parked with the
	// reason, instead of being left for the queue's redrive policy to move
	// without one.
	MaxReceives int
	// Reserve is the time kept before the invocation's deadline to report
	// failures and park messages: no message is started after the
	// deadline minus Reserve, and the pipeline's calls are cut there, so
	// that the handler returns its batch response before Lambda stops it
	// (a timed-out invocation returns its whole batch to the queue).
	// Default 2s, and at most half the time left when the batch starts.
	Reserve time.Duration
	// Log receives one line per finding transition and per failed message
	// (nil: discarded).
	Log *slog.Logger
}

// DefaultReserve is the default of Handler.Reserve.
const DefaultReserve = 2 * time.Second

// work returns the context the pipeline runs in: ctx, ending Reserve
// before ctx's deadline when it has one.
func (h *Handler) work(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := h.Reserve
	if reserve <= 0 {
		reserve = DefaultReserve
	}
	reserve = min(reserve, time.Until(deadline)/2)
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}

// ErrPermanent marks inputs that no retry can fix.
var ErrPermanent = errors.New("permanent")

// Invoke dispatches on the payload's shape: an SQS batch returns an
// events.SQSEventResponse naming the failed items; anything else is taken
// for one EventBridge event, whose failure is returned as the error.
func (h *Handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
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
		return h.Batch(ctx, ev), nil
	}
	work, cancel := h.work(ctx)
	defer cancel()
	err := h.message(work, "direct", payload)
	if errors.Is(err, ErrPermanent) {
		// A direct invocation has no queue to redrive from: log the reason
		// with the payload and fail, so Lambda's on-failure destination
		// keeps the event.
		h.log().ErrorContext(ctx, "event cannot be processed", "error", err, "payload", string(payload))
	}
	return nil, err
}

// Batch processes an SQS batch; only failed items return to the queue.
// Permanent failures, and transient ones on the message's last receive
// (MaxReceives), are parked with the reason when a DeadLetter is set.
// Messages not started before the deadline (see Reserve) fail
// transiently.
func (h *Handler) Batch(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	var resp events.SQSEventResponse
	work, cancel := h.work(ctx)
	defer cancel()
	for _, m := range ev.Records {
		var err error
		if werr := work.Err(); werr != nil {
			err = fmt.Errorf("not started before the invocation's deadline: %w", werr)
		} else {
			err = h.message(work, m.MessageId, []byte(m.Body))
		}
		if err == nil {
			continue
		}
		reason := ""
		switch {
		case errors.Is(err, ErrPermanent):
			reason = err.Error()
		case h.lastReceive(m):
			reason = fmt.Sprintf("transient failure on receive %s of %d: %v", m.Attributes["ApproximateReceiveCount"], h.MaxReceives, err)
		}
		if reason != "" && h.DeadLetter != nil {
			if perr := h.DeadLetter.Park(ctx, m.Body, reason); perr == nil {
				h.log().WarnContext(ctx, "message parked in dead-letter queue", "message_id", m.MessageId, "reason", reason)
				continue
			} else {
				h.log().ErrorContext(ctx, "park message", "message_id", m.MessageId, "error", perr)
			}
		}
		h.log().WarnContext(ctx, "message will be retried", "message_id", m.MessageId, "error", err)
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
	}
	return resp
}

// lastReceive reports whether the queue will not deliver m again.
func (h *Handler) lastReceive(m events.SQSMessage) bool {
	if h.MaxReceives <= 0 {
		return false
	}
	n, err := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	return err == nil && n >= h.MaxReceives
}

// message processes every change in one message body. A body that does not
// decode, or a watched change whose resource the event does not name, is
// permanent; a failed read or a store or notifier failure is transient.
func (h *Handler) message(ctx context.Context, src string, body []byte) error {
	changes, errs := change.Decode(src, body)
	var perm, trans []error
	perm = append(perm, errs...)
	for i := range changes {
		ch := &changes[i]
		res, err := h.Pipeline.Handle(ctx, ch)
		switch {
		case errors.Is(err, pipeline.ErrUnresolvable):
			perm = append(perm, err)
			continue
		case err != nil:
			trans = append(trans, err)
			continue
		case res.Duplicate:
			h.log().DebugContext(ctx, "duplicate delivery skipped", "event_id", ch.EventID)
			continue
		case res.Outcome.Ignored != "":
			h.log().DebugContext(ctx, "change ignored", "event_id", ch.EventID, "operation", ch.Operation, "reason", string(res.Outcome.Ignored))
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
		return fmt.Errorf("%w: %w", ErrPermanent, errors.Join(perm...))
	}
	return nil
}

// logResult writes one line per finding transition and per result of the
// automatic revert (a failed one, a failed verification and a paused
// flapping resource as warnings, a gate's skip at debug level).
func (h *Handler) logResult(ctx context.Context, res pipeline.Result) {
	for _, t := range res.Transitions {
		if t.Kind == finding.Unchanged {
			continue
		}
		h.log().InfoContext(ctx, "finding", "action", string(t.Kind), "event_id", res.Outcome.Change.EventID,
			"rule", t.Verdict.RuleID, "severity", t.Verdict.Severity, "resource_id", t.Verdict.Resource.ID,
			"result", string(t.Verdict.Result), "principal", res.Outcome.Change.Principal.ARN)
	}
	for _, r := range res.Reverts {
		level := slog.LevelInfo
		switch {
		case r.Status == revert.StatusFailed || r.Status == revert.StatusVerificationFailed || r.Flapping:
			level = slog.LevelWarn
		case r.Status == revert.StatusSkipped:
			level = slog.LevelDebug
		}
		h.log().Log(ctx, level, "revert", "status", string(r.Status), "event_id", res.Outcome.Change.EventID,
			"rule", r.RuleID, "resource_id", r.Resource.ID, "remediation", r.Remediation, "calls", len(r.Calls),
			"flapping", r.Flapping, "reason", r.Reason)
	}
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}
