// Package detect wires the detection stages for one change: filter the noise,
// find the touched resources in the catalog, re-read each one live and
// evaluate it against the rules. It holds no state between changes; the
// functions and the CLI feed it from their own sources and send its outcomes
// to their own sinks.
package detect

import (
	"context"
	"fmt"

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Reader re-reads one resource live.
type Reader interface {
	Read(ctx context.Context, ref resource.Ref) (resource.Resource, error)
}

// Evaluator evaluates one resource against the rules of its type.
type Evaluator interface {
	Evaluate(ctx context.Context, in policy.Input) []policy.Verdict
	RulesFor(resourceType string) []*policy.Rule
}

// Detector runs the pipeline for one change at a time. It is safe for
// concurrent use when its parts are.
type Detector struct {
	Filter  *filter.Filter
	Catalog *catalog.Catalog
	Reader  Reader
	Rules   Evaluator
}

// Checked is one touched resource as read, with its verdicts.
type Checked struct {
	Resource resource.Resource `json:"resource"`
	Verdicts []policy.Verdict  `json:"verdicts"`
	// Err is set when the resource could not be read; every rule of its
	// type then has an error verdict (a failed read never passes).
	Err error `json:"-"`
}

// Outcome is what became of one change.
type Outcome struct {
	Change *change.Change
	// Ignored says why the change was not checked ("" when it was).
	Ignored filter.Reason
	// Checked has one entry per touched resource.
	Checked []Checked
	// Err is set when the touched resources could not be found in the event.
	Err error
}

// Verdicts returns every verdict of the outcome.
func (o Outcome) Verdicts() []policy.Verdict {
	var out []policy.Verdict
	for _, c := range o.Checked {
		out = append(out, c.Verdicts...)
	}
	return out
}

// Failed reports whether any resource could not be resolved or read, which
// makes the change worth retrying.
func (o Outcome) Failed() bool {
	if o.Err != nil {
		return true
	}
	for _, c := range o.Checked {
		if c.Err != nil {
			return true
		}
	}
	return false
}

// Classify resolves the touched resources and says whether the change is
// ignored, without any cloud call.
func (d *Detector) Classify(ch *change.Change) (filter.Reason, error) {
	if r := d.Filter.Check(ch); r != "" {
		return r, nil
	}
	if _, err := d.Catalog.Resolve(ch); err != nil {
		return "", err
	}
	return "", nil
}

// Process runs the whole pipeline for one change.
func (d *Detector) Process(ctx context.Context, ch *change.Change) Outcome {
	out := Outcome{Change: ch}
	reason, err := d.Classify(ch)
	if reason != "" || err != nil {
		out.Ignored, out.Err = reason, err
		return out
	}
	for _, ref := range ch.Resources {
		res, err := d.Reader.Read(ctx, ref)
		if err != nil {
			err = fmt.Errorf("re-read for event %s: %w", ch.EventID, err)
			out.Checked = append(out.Checked, Checked{Resource: resource.Resource{Ref: ref}, Err: err, Verdicts: d.errorVerdicts(ch, ref, err)})
			continue
		}
		vs := d.Rules.Evaluate(ctx, policy.Input{Resource: res, Change: ch})
		for i := range vs {
			vs[i].EventID = ch.EventID
		}
		out.Checked = append(out.Checked, Checked{Resource: res, Verdicts: vs})
	}
	return out
}

// errorVerdicts gives every rule of ref's type an error verdict.
func (d *Detector) errorVerdicts(ch *change.Change, ref resource.Ref, err error) []policy.Verdict {
	rules := d.Rules.RulesFor(ref.Type)
	out := make([]policy.Verdict, 0, len(rules))
	for _, r := range rules {
		out = append(out, policy.Verdict{
			Rule: r, EventID: ch.EventID, RuleID: r.ID, Severity: r.Severity,
			Resource: ref, Result: policy.Error, Message: err.Error(),
		})
	}
	return out
}
