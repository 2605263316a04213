// Package eventgrid takes Azure Resource Manager change events in from
// Event Grid, three ways, through one Handler:
//
//   - Functions: the Azure Functions custom-handler protocol, for a
//     function with an eventGridTrigger (the host POSTs
//     {"Data": {"event": ...}, "Metadata": {...}} to /{function} and
//     expects {"Outputs", "Logs", "ReturnValue"});
//   - Webhook: a plain HTTPS endpoint for an Event Grid webhook
//     subscription, with both subscription-validation handshakes and a
//     shared-secret check;
//   - Puller: pull delivery from an Event Grid namespace topic
//     subscription (receive, then acknowledge, release with a delay, or
//     reject to the dead-letter destination).
//
// The Handler decodes a delivery (change.Decode reads both the Event Grid
// and the CloudEvents 1.0 schema, one event or an array), runs every change
// through a Processor (the detection pipeline) and hands each checked
// outcome to a Sink. It classifies what went wrong so that each way in can
// ask for the right retry: ErrPermanent for input no retry can fix, any
// other error for a transient failure. Event Grid delivers at least once
// and out of order: the pipeline deduplicates on the event ID and always
// re-reads the current state.
package eventgrid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// Processor checks one change: the detection pipeline (a *detect.Detector,
// or an adapter over the findings pipeline).
type Processor interface {
	Handle(ctx context.Context, ch *change.Change) (pipeline.Result, error)
}

// ErrPermanent marks a delivery that no retry can process: it does not
// decode as Azure resource events, or a watched change does not name its
// resource. Test for it with errors.Is.
var ErrPermanent = errors.New("permanent")

// Handler processes the changes of one delivery. It is safe for concurrent
// use when its Processor and Sink are.
type Handler struct {
	// Processor is the whole pipeline for one change: detection and
	// findings (a *pipeline.Pipeline).
	Processor Processor
	// Log receives debug lines for ignored changes; nil discards them.
	Log *slog.Logger
}

// Report counts what one delivery held.
type Report struct {
	// Changes is how many changes the delivery decoded to.
	Changes int
	// Ignored is how many the filter dropped (failed, own, unwatched...).
	Ignored int
	// Checked is how many were checked; Failing how many verdicts were not
	// a pass.
	Checked, Failing int
}

// String reads like "2 changes: 1 ignored, 1 checked, 1 verdict not passing".
func (r Report) String() string {
	return fmt.Sprintf("%d change(s): %d ignored, %d checked, %d verdict(s) not passing", r.Changes, r.Ignored, r.Checked, r.Failing)
}

// Handle decodes body (src names it in errors and logs) and processes every
// change in it. It returns nil when every change was handled or ignored; an
// error wrapping ErrPermanent when part of the delivery can never be
// processed and nothing needs a retry; any other error when a retry may
// help (a failed read, a failed sink). A delivery mixing both is transient:
// the retry reprocesses the good changes too, which the pipeline's
// deduplication makes harmless.
func (h *Handler) Handle(ctx context.Context, src string, body []byte) (Report, error) {
	var rep Report
	changes, errs := change.Decode(src, body)
	perm := errs
	var trans []error
	rep.Changes = len(changes)
	for i := range changes {
		ch := &changes[i]
		res, err := h.Processor.Handle(ctx, ch)
		switch {
		case errors.Is(err, pipeline.ErrUnresolvable):
			perm = append(perm, fmt.Errorf("event %s (%s): %w", ch.EventID, ch.Operation, err))
			continue
		case err != nil:
			trans = append(trans, fmt.Errorf("event %s (%s): %w", ch.EventID, ch.Operation, err))
		case res.Duplicate:
			rep.Ignored++
			h.logger().DebugContext(ctx, "duplicate delivery skipped", "event_id", ch.EventID)
			continue
		case res.Outcome.Ignored != "":
			rep.Ignored++
			h.logger().DebugContext(ctx, "change ignored", "event_id", ch.EventID, "operation", ch.Operation, "reason", string(res.Outcome.Ignored))
			continue
		}
		out := res.Outcome
		if len(out.Checked) == 0 {
			continue
		}
		rep.Checked++
		for _, c := range out.Checked {
			if c.Err != nil {
				trans = append(trans, c.Err)
			}
		}
		for _, v := range out.Verdicts() {
			if v.Result != policy.Pass {
				rep.Failing++
			}
		}
		for _, t := range res.Transitions {
			if t.Kind != finding.Unchanged {
				h.logger().InfoContext(ctx, "finding", "action", string(t.Kind), "event_id", ch.EventID, "rule", t.Verdict.RuleID,
					"severity", t.Verdict.Severity, "resource_id", t.Verdict.Resource.ID, "result", string(t.Verdict.Result))
			}
		}
	}
	switch {
	case len(trans) > 0:
		return rep, errors.Join(trans...)
	case len(perm) > 0:
		return rep, fmt.Errorf("%w: %w", ErrPermanent, errors.Join(perm...))
	}
	return rep, nil
}

func (h *Handler) logger() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}
