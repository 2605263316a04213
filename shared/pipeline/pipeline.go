// Package pipeline assembles driftwatch from one config: the detector
// (filter, catalog, live reader, rules), the finding lifecycle with its
// store, waivers and notifiers (Slack, Jira, GitHub, EventBridge), the
// automatic revert (shared/revert behind its safety gates), and handles
// one change end to end. The functions and the CLI build it in
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
	"github.com/driftwatch/driftwatch/shared/revert"
)

// Pipeline handles changes end to end.
type Pipeline struct {
	Detector  *detect.Detector
	Lifecycle *finding.Lifecycle
	// Revert, if set, is the automatic revert stage: after the verdicts
	// are applied, the failing verdicts of rules whose mode is revert go
	// to it (see Handle). Nil reverts nothing.
	Revert Reverter
	// RevertAccount, if set, is the account Revert acts in: resources of
	// other accounts (read through a member role) are not reverted.
	RevertAccount string
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
	// Reverts are the results of the automatic revert, one per failing
	// verdict of a rule in revert mode: reverted, dry-run (the calls that
	// would be made), failed, verification-failed, or skipped with the
	// reason (a gate, a suppressed finding, a flapping resource).
	Reverts []revert.Result
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
//
// With a Revert stage, the failing verdicts of rules whose mode is revert
// are then reverted through its gates, for the findings the verdicts left
// open (not for a suppressed one). Each result but a plain skip is recorded
// on its finding as an action of AutoRevertActor and noted (a thread reply
// in Slack, a comment on the ticket, a noted event): a dry run with the
// exact calls, a verified revert, a failure, a failed verification, or a
// flapping resource whose reverts are paused (noted at high severity). A
// verified revert applies the verdicts of its re-read, which resolve the
// finding (the alert is replaced, the ticket closed). The change is marked
// seen only after its reverts, so a crash in between retries them.
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
	reverting := p.Revert != nil && out.Ignored == "" && wantsRevert(out)
	if out.Ignored != "" || p.Lifecycle == nil {
		if reverting {
			res.Reverts, _ = p.revert(ctx, out, observed, nil)
		}
		return res, nil
	}
	if out.Err != nil {
		return res, fmt.Errorf("%w: %w", ErrUnresolvable, out.Err)
	}
	in := Input(out, observed)
	if reverting {
		in.Incomplete = true // marked seen below, once reverted
	}
	trs, err := p.Lifecycle.Apply(ctx, in)
	res.Transitions = trs
	if err != nil {
		err = fmt.Errorf("apply verdicts of event %s: %w", ch.EventID, err)
	}
	if !reverting {
		return res, err
	}
	reverts, rerr := p.revert(ctx, out, observed, trs)
	res.Reverts = reverts
	if rerr != nil {
		rerr = fmt.Errorf("record the reverts of event %s: %w", ch.EventID, rerr)
	}
	if err == nil && rerr == nil && !out.Failed() {
		rerr = p.Lifecycle.MarkSeen(ctx, ch.EventID)
	}
	return res, errors.Join(err, rerr)
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
