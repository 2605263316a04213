// Package pipeline assembles driftwatch from one config: the detector
// (filter, catalog, live reader, rules), the finding lifecycle with its
// store, waivers and notifiers (Slack, Jira, GitHub, EventBridge), and
// handles one change end to end. The functions and the CLI build it in
// their main and feed it changes from their own sources.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/finding"
)

// Pipeline handles changes end to end.
type Pipeline struct {
	Detector  *detect.Detector
	Lifecycle *finding.Lifecycle
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Result is what became of one change.
type Result struct {
	// Duplicate is set when the change was already processed completely;
	// nothing else is set then.
	Duplicate   bool
	Outcome     detect.Outcome
	Transitions []finding.Transition
}

// Incomplete reports whether part of the change could not be checked
// (a resource not named in the event, a failed read): the change should be
// retried or parked.
func (r Result) Incomplete() bool { return !r.Duplicate && r.Outcome.Failed() }

// ErrUnresolvable marks changes of a watched operation whose resource the
// event does not name: no retry helps.
var ErrUnresolvable = errors.New("touched resource not named in the event")

// Handle checks one change and applies its verdicts to the findings. A
// change seen before is skipped before any cloud call. The returned error is
// about the findings (the store, a notifier); a failed read is reported in
// the Result (Incomplete) and its verdicts are errors, which never resolve a
// finding.
func (p *Pipeline) Handle(ctx context.Context, ch *change.Change) (Result, error) {
	if p.Lifecycle != nil && ch.EventID != "" {
		if reason := p.Detector.Filter.Check(ch); reason != filter.Keep {
			return Result{Outcome: detect.Outcome{Change: ch, Ignored: reason}}, nil
		}
		seen, err := p.Lifecycle.Seen(ctx, ch.EventID)
		if err != nil {
			return Result{}, err
		}
		if seen {
			return Result{Duplicate: true, Outcome: detect.Outcome{Change: ch}}, nil
		}
	}
	observed := p.now()
	out := p.Detector.Process(ctx, ch)
	res := Result{Outcome: out}
	if out.Ignored != "" || p.Lifecycle == nil {
		return res, nil
	}
	if out.Err != nil {
		return res, fmt.Errorf("%w: %w", ErrUnresolvable, out.Err)
	}
	trs, err := p.Lifecycle.Apply(ctx, Input(out, observed))
	res.Transitions = trs
	if err != nil {
		return res, fmt.Errorf("apply verdicts of event %s: %w", ch.EventID, err)
	}
	return res, nil
}

// Input is the lifecycle's view of a detection outcome: the resources that
// were read and their verdicts, and whether some could not be.
func Input(out detect.Outcome, observed time.Time) finding.Input {
	in := finding.Input{Change: out.Change, ObservedAt: observed, Incomplete: out.Failed()}
	for _, c := range out.Checked {
		if c.Err != nil {
			continue
		}
		in.Checks = append(in.Checks, finding.Check{Resource: c.Resource, Verdicts: c.Verdicts})
	}
	return in
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}
