// Package revert undoes the risky part of a change: one remediation per
// remediation name of the rule pack (s3-enable-public-access-block,
// ec2-revoke-world-ingress, ...), each making the fewest write calls that
// make the failing rule pass again and leaving every other setting of the
// resource as it is.
//
// It is the only package of driftwatch that declares write methods of the
// AWS SDK. Each remediation takes a small unexported interface of exactly
// the write (and read) methods it calls.
//
// A revert has three steps:
//
//   - Remediator.Plan computes the exact calls from the document the
//     verdict was computed from (and, where the document does not hold
//     what a write needs verbatim, from one more read); a plan can be shown
//     without doing anything (a dry run);
//   - Remediator.Execute makes the calls, then re-reads the resource with
//     the Reader and evaluates the rule again: the Result is reverted only
//     when the rule passes on the re-read document;
//   - Reverter, in front of both, decides whether to revert at all: the
//     rule's mode, the deployment's switch (off, dry-run, on), principal
//     allowlists, verdict and read errors, and a per-resource budget that
//     pauses the reverts of a flapping resource.
//
// Some remediation names are registered as manual: undoing them safely
// needs a person (restoring a trust policy, deleting a root access key).
// Their plans have no calls and say why. docs/remediation.md lists every
// remediation, its calls, the IAM actions it needs and what it leaves
// alone.
package revert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Status is the outcome of a revert.
type Status string

// Statuses of a Result.
const (
	// StatusReverted: every call succeeded and the re-read resource passes
	// the rule.
	StatusReverted Status = "reverted"
	// StatusFailed: a call (or the plan) failed; Reason says which and why.
	StatusFailed Status = "failed"
	// StatusVerificationFailed: every call succeeded but the re-read
	// resource still fails the rule (or could not be re-read).
	StatusVerificationFailed Status = "verification-failed"
	// StatusDryRun: the deployment's switch is dry-run; Calls are the calls
	// that would have been made, and nothing was changed.
	StatusDryRun Status = "dry-run"
	// StatusSkipped: a gate held the revert back (mode, switch, allowlist,
	// verdict, budget, manual remediation) or there was nothing to undo.
	StatusSkipped Status = "skipped"
)

// Errors Plan returns (wrapped).
var (
	// ErrUnknownRemediation: no remediation has the name.
	ErrUnknownRemediation = errors.New("unknown remediation")
	// ErrNotApplicable: the remediation does not apply to the resource's
	// type, the resource does not exist, or the verdict is not a failure.
	ErrNotApplicable = errors.New("remediation not applicable")
)

// Call is one API call a remediation makes, described exactly: the service
// and operation of the AWS SDK, the IAM action it needs and its parameters
// as the SDK sends them (field names of the SDK's input type; unset fields
// left out).
type Call struct {
	// Service is the SDK service package: s3, s3control, ec2, iam, kms,
	// lambda, rds, cloudtrail, configservice, guardduty.
	Service   string `json:"service"`
	Operation string `json:"operation"`
	// IAMAction is the permission the call needs, e.g.
	// s3:PutBucketPublicAccessBlock.
	IAMAction string         `json:"iam_action"`
	Region    string         `json:"region,omitempty"`
	Params    map[string]any `json:"params"`

	do func(context.Context) error
}

// String returns "service:Operation {params}".
func (c Call) String() string {
	b, err := json.Marshal(c.Params)
	if err != nil {
		b = []byte(fmt.Sprintf("%v", c.Params))
	}
	return c.Service + ":" + c.Operation + " " + string(b)
}

// Action is what one remediation does: its name and the calls it makes, in
// order.
type Action struct {
	Name  string `json:"name"`
	Calls []Call `json:"calls"`
}

// Plan is a remediation computed for one failing verdict: the calls that
// would undo it, or why there are none.
type Plan struct {
	Action
	// Resource and RuleID are what the plan reverts; the rule is evaluated
	// again after the calls.
	Resource resource.Ref `json:"resource"`
	RuleID   string       `json:"rule"`
	// Manual is set for a remediation that driftwatch does not automate.
	Manual bool `json:"manual,omitempty"`
	// Reason says why the plan has no calls: nothing to undo, a manual
	// remediation, or a part the remediation refuses to touch. It may also
	// qualify a plan with calls.
	Reason string `json:"reason,omitempty"`
	// Backup holds what the calls remove for good (the document of a
	// deleted inline policy), so that a person can put it back.
	Backup map[string]any `json:"backup,omitempty"`
}

// Result is what a revert did.
type Result struct {
	Status      Status       `json:"status"`
	Remediation string       `json:"remediation,omitempty"`
	Resource    resource.Ref `json:"resource"`
	RuleID      string       `json:"rule"`
	// Reason explains the status: the gate that held the revert back, the
	// error of the call that failed, the verdict that still fails.
	Reason string `json:"reason,omitempty"`
	// Calls are the calls made (up to and including a failed one), or the
	// calls that would be made for a dry run.
	Calls  []Call         `json:"calls,omitempty"`
	Backup map[string]any `json:"backup,omitempty"`
	// Flapping is set when the resource's revert budget is spent and its
	// reverts are paused; AlertSeverity is then high: the caller alerts.
	Flapping      bool   `json:"flapping,omitempty"`
	AlertSeverity string `json:"alert_severity,omitempty"`
	// Requester is the person who asked for the revert ("" for an
	// automatic one).
	Requester string `json:"requester,omitempty"`
	// After is the resource as re-read to verify the revert, and Verdicts
	// every rule's verdict on it; both are empty unless calls were made.
	After    *resource.Resource `json:"-"`
	Verdicts []policy.Verdict   `json:"-"`
}

// Text returns the result for people, one line of summary and one line per
// call.
func (r Result) Text() string {
	var b strings.Builder
	switch r.Status {
	case StatusDryRun:
		fmt.Fprintf(&b, "would revert %s on %s with %s", r.RuleID, r.Resource.ID, r.Remediation)
	case StatusReverted:
		fmt.Fprintf(&b, "reverted %s on %s with %s (verified by a re-read)", r.RuleID, r.Resource.ID, r.Remediation)
	default:
		fmt.Fprintf(&b, "%s: %s on %s", r.Status, r.RuleID, r.Resource.ID)
		if r.Remediation != "" {
			fmt.Fprintf(&b, " (%s)", r.Remediation)
		}
	}
	if reason := strings.TrimPrefix(r.Reason, "would revert: "); reason != "" {
		b.WriteString(": " + reason)
	}
	for _, c := range r.Calls {
		b.WriteString("\n  " + c.String())
	}
	return b.String()
}

// Reader re-reads one resource live (fetch/aws.Reader).
type Reader interface {
	Read(ctx context.Context, ref resource.Ref) (resource.Resource, error)
}

// Evaluator evaluates a resource against the rules of its type
// (policy.Engine).
type Evaluator interface {
	Evaluate(ctx context.Context, in policy.Input) []policy.Verdict
}

// Defaults of Options.
const (
	DefaultVerifyAttempts = 4
	DefaultVerifyDelay    = 2 * time.Second
)

// Options tune a Remediator.
type Options struct {
	// S3PathStyle makes S3 clients use path-style addressing (for moto and
	// other emulators).
	S3PathStyle bool
	// VerifyAttempts is how many times the resource is re-read until the
	// rule passes (default DefaultVerifyAttempts): some services apply a
	// write a moment after they acknowledge it.
	VerifyAttempts int
	// VerifyDelay is the wait before the second re-read, doubled before
	// each further one (default DefaultVerifyDelay).
	VerifyDelay time.Duration
	// Sleep waits between re-reads (default: a timer that stops when ctx
	// is done).
	Sleep func(ctx context.Context, d time.Duration) error
	// Baselines looks up approved documents (baseline.Source) for
	// restore-baseline, which fails to plan without it.
	Baselines policy.BaselineSource
}

// Remediator plans and executes remediations. It is safe for concurrent
// use.
type Remediator struct {
	cfg     aws.Config
	opts    Options
	reader  Reader
	rules   Evaluator
	clients sync.Map // clientKey → client
}

// New returns a Remediator that makes its calls with cfg (credentials,
// retryer, endpoint), and verifies them with reader and rules.
func New(cfg aws.Config, reader Reader, rules Evaluator, opts Options) *Remediator {
	if opts.VerifyAttempts <= 0 {
		opts.VerifyAttempts = DefaultVerifyAttempts
	}
	if opts.VerifyDelay <= 0 {
		opts.VerifyDelay = DefaultVerifyDelay
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	return &Remediator{cfg: cfg, opts: opts, reader: reader, rules: rules}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// remediation is one entry of the registry.
type remediation struct {
	// types are the resource types it applies to.
	types []string
	// manual, when set, says why it is not automated.
	manual string
	// plan computes the calls.
	plan func(ctx context.Context, r *Remediator, t *target) (planned, error)
}

// target is what a plan is computed for.
type target struct {
	res resource.Resource
	v   policy.Verdict
	ch  *change.Change
}

// doc returns the resource's document.
func (t *target) doc() map[string]any { return t.res.Doc }

// planned is what a plan function returns: the calls, or why there are
// none, and what the calls destroy.
type planned struct {
	calls  []Call
	reason string
	backup map[string]any
}

// nothing is a plan without calls.
func nothing(format string, args ...any) (planned, error) {
	return planned{reason: fmt.Sprintf(format, args...)}, nil
}

// registry is every remediation by name.
var registry = sync.OnceValue(func() map[string]remediation {
	all := map[string]remediation{}
	for _, family := range []map[string]remediation{
		s3Remediations(), ec2Remediations(), iamRemediations(), kmsRemediations(), lambdaRemediations(),
		rdsRemediations(), auditRemediations(), baselineRemediations(),
	} {
		for name, rem := range family {
			all[name] = rem
		}
	}
	return all
})

// Names returns the name of every remediation, automated or manual, sorted.
func Names() []string {
	names := make([]string, 0, len(registry()))
	for n := range registry() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Known reports whether a remediation has the name.
func Known(name string) bool {
	_, ok := registry()[name]
	return ok
}

// Manual returns why the remediation is not automated, and whether it is
// manual.
func Manual(name string) (reason string, manual bool) {
	rem, ok := registry()[name]
	if !ok || rem.manual == "" {
		return "", false
	}
	return rem.manual, true
}

// Plan computes the calls remediation rem makes to revert the failing
// verdict v on res, the resource as read when v was computed, after change
// ch (nil for a scan). It makes no write; it may read where the document
// does not hold what a write needs verbatim. A manual remediation, or one
// with nothing to undo, gives a plan without calls and with a Reason.
func (r *Remediator) Plan(ctx context.Context, rem string, res resource.Resource, v policy.Verdict, ch *change.Change) (Plan, error) {
	p := Plan{Action: Action{Name: rem}, Resource: res.Ref, RuleID: v.RuleID}
	spec, ok := registry()[rem]
	switch {
	case !ok:
		return p, fmt.Errorf("plan %q for %s: %w", rem, res.Ref.ID, ErrUnknownRemediation)
	case !slices.Contains(spec.types, res.Ref.Type):
		return p, fmt.Errorf("plan %q for %s: it applies to %s, not %s: %w", rem, res.Ref.ID, strings.Join(spec.types, ", "), res.Ref.Type, ErrNotApplicable)
	case v.Result != policy.Fail:
		return p, fmt.Errorf("plan %q for %s: verdict of %s is %s, not fail: %w", rem, res.Ref.ID, v.RuleID, v.Result, ErrNotApplicable)
	case spec.manual != "":
		p.Manual, p.Reason = true, "manual remediation: "+spec.manual
		return p, nil
	case !res.Exists:
		return p, fmt.Errorf("plan %q for %s: the resource does not exist: %w", rem, res.Ref.ID, ErrNotApplicable)
	}
	out, err := spec.plan(ctx, r, &target{res: res, v: v, ch: ch})
	if err != nil {
		return p, fmt.Errorf("plan %q for %s: %w", rem, res.Ref.ID, err)
	}
	p.Calls, p.Reason, p.Backup = out.calls, out.reason, out.backup
	return p, nil
}

// Execute makes the plan's calls in order, stopping at the first that
// fails, then re-reads the resource and evaluates the plan's rule again.
// The error is non-nil exactly when the status is failed; it wraps the
// error of the call that failed.
func (r *Remediator) Execute(ctx context.Context, p Plan) (Result, error) {
	res := Result{Remediation: p.Name, Resource: p.Resource, RuleID: p.RuleID, Backup: p.Backup}
	if len(p.Calls) == 0 {
		res.Status, res.Reason = StatusSkipped, p.Reason
		if res.Reason == "" {
			res.Reason = "nothing to revert"
		}
		return res, nil
	}
	for i, c := range p.Calls {
		if c.do == nil {
			res.Status, res.Reason = StatusFailed, fmt.Sprintf("call %d (%s) was not planned by Plan", i+1, c.Operation)
			return res, fmt.Errorf("execute %s on %s: %s", p.Name, p.Resource.ID, res.Reason)
		}
	}
	for i, c := range p.Calls {
		res.Calls = p.Calls[:i+1]
		if err := c.do(ctx); err != nil {
			res.Status, res.Reason = StatusFailed, fmt.Sprintf("%s:%s failed: %v", c.Service, c.Operation, err)
			return res, fmt.Errorf("execute %s on %s: %s:%s: %w", p.Name, p.Resource.ID, c.Service, c.Operation, err)
		}
	}
	r.verify(ctx, p, &res)
	return res, nil
}

// verify re-reads the resource until the plan's rule passes or the attempts
// run out, and sets the result's status.
func (r *Remediator) verify(ctx context.Context, p Plan, res *Result) {
	delay := r.opts.VerifyDelay
	for attempt := 1; ; attempt++ {
		after, err := r.reader.Read(ctx, p.Resource)
		if err == nil && !after.Exists {
			// Deleted meanwhile: the exposure is gone, but not by the
			// revert, which cannot be verified.
			res.After, res.Status, res.Reason = &after, StatusVerificationFailed, "the calls succeeded but the resource no longer exists: nothing to verify"
			return
		}
		if err == nil {
			vs := r.rules.Evaluate(ctx, policy.Input{Resource: after})
			res.After, res.Verdicts = &after, vs
			v, ok := verdictOf(vs, p.RuleID)
			switch {
			case !ok:
				res.Status, res.Reason = StatusVerificationFailed, fmt.Sprintf("re-read: no verdict for rule %s", p.RuleID)
				return
			case v.Result == policy.Pass:
				res.Status, res.Reason = StatusReverted, ""
				return
			}
			res.Status = StatusVerificationFailed
			res.Reason = fmt.Sprintf("the calls succeeded but the re-read resource still gives %s %s: %s", p.RuleID, v.Result, v.Message)
		} else {
			res.Status, res.Reason = StatusVerificationFailed, fmt.Sprintf("the calls succeeded but the re-read failed: %v", err)
		}
		if attempt >= r.opts.VerifyAttempts {
			res.Reason += fmt.Sprintf(" (after %d re-reads)", attempt)
			return
		}
		if err := r.opts.Sleep(ctx, delay); err != nil {
			res.Reason += fmt.Sprintf(" (verification stopped: %v)", err)
			return
		}
		delay *= 2
	}
}

// verdictOf returns the verdict of rule id among vs.
func verdictOf(vs []policy.Verdict, id string) (policy.Verdict, bool) {
	for _, v := range vs {
		if v.RuleID == id {
			return v, true
		}
	}
	return policy.Verdict{}, false
}

type clientKey struct{ service, region string }

// client returns the cached client of a service for a region, creating it
// with mk on first use. An empty region uses the config's region.
func client[T any](r *Remediator, service, region string, mk func(aws.Config) T) T {
	if region == "" {
		region = r.cfg.Region
	}
	k := clientKey{service, region}
	if c, ok := r.clients.Load(k); ok {
		return c.(T)
	}
	cfg := r.cfg.Copy()
	cfg.Region = region
	c, _ := r.clients.LoadOrStore(k, mk(cfg))
	return c.(T)
}

// newCall describes the call fn(ctx, in) and binds it for Execute. The
// parameters are in as the SDK would send it.
func newCall[I, O, F any](service, operation, iamAction, region string, fn func(context.Context, *I, ...F) (*O, error), in *I) Call {
	return Call{
		Service: service, Operation: operation, IAMAction: iamAction, Region: region,
		Params: params(in),
		do: func(ctx context.Context) error {
			_, err := fn(ctx, in)
			return err
		},
	}
}

// params returns an SDK input as a plain map: its exported fields by name,
// without the unset ones (nil, "", empty lists and maps), numbers as int64
// when whole.
func params(in any) map[string]any {
	b, err := json.Marshal(in)
	if err != nil {
		return map[string]any{"error": fmt.Sprintf("describe parameters: %v", err)}
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return map[string]any{"error": fmt.Sprintf("describe parameters: %v", err)}
	}
	m, _ := prune(v).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// prune drops unset values from a decoded JSON tree; it returns nil for an
// unset value.
func prune(v any) any {
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		if t == "" {
			return nil
		}
		return t
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			if p := prune(e); p != nil {
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if p := prune(e); p != nil {
				out[k] = p
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return v
}
