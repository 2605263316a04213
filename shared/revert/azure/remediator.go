// Package azure undoes the risky part of an Azure change, the Azure twin of
// package revert: one remediation per remediation name of the Azure rule
// pack (azure-storage-disable-blob-public-access,
// azure-nsg-delete-offending-rules, ...), each making the fewest ARM writes
// that make the failing rule pass again and leaving every other setting of
// the resource as it is.
//
// It reuses package revert's types (Plan, Call, Result, Switch, Config,
// Request, Budget) and mirrors its gates, so that a deployment's switch
// (off, dry-run, on), allowlist and revert budget mean the same on both
// clouds. Writes go through the generic ARM client
// (armresources.Client.BeginUpdateByID, a PATCH, and BeginDeleteByID, a
// DELETE) at the api-version the reader uses for the type (pinned, see
// fetch/azure), and every revert is verified by a second read.
//
// A Call describes its write exactly: Service "armresources", Operation
// "BeginUpdateByID" or "BeginDeleteByID", IAMAction the Azure RBAC
// operation it needs (Microsoft.Storage/storageAccounts/write...), and
// Params {method, resourceId, apiVersion, parameters (the PATCH body)}. A
// dry run reports these; Execute sends exactly these.
//
// Remediations:
//
//   - azure-storage-disable-blob-public-access: PATCH the storage account
//     {"properties": {"allowBlobPublicAccess": false}};
//   - azure-storage-min-tls-1-2: PATCH {"properties": {"minimumTlsVersion": "TLS1_2"}};
//   - azure-storage-enable-https-only: PATCH {"properties": {"supportsHttpsTrafficOnly": true}};
//   - azure-appservice-enable-https-only: PATCH the site {"properties": {"httpsOnly": true}};
//   - azure-nsg-delete-offending-rules: DELETE each custom security rule of
//     the NSG that makes the failing rule fail on its own (judged by the
//     rule itself), never a default rule, and only when the NSG passes
//     without them;
//   - azure-delete-open-firewall-rule: DELETE a SQL or PostgreSQL flexible
//     server firewall rule, only when it spans 0.0.0.0–255.255.255.255;
//   - azure-delete-role-assignment: DELETE a role assignment. No built-in
//     rule names it: a deployment opts in by naming it in its own rule.
//     Assignments of protected principals (Options.ProtectedPrincipals,
//     such as driftwatch's own identity or break-glass accounts) are never
//     deleted.
//
// Writes that delete something keep what they delete in the Plan's Backup
// (the security rule, the firewall range, the assignment) so that a person
// can put it back.
package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// armWriter is the part of armresources.Client the remediations call.
type armWriter interface {
	BeginUpdateByID(ctx context.Context, resourceID, apiVersion string, parameters armresources.GenericResource, options *armresources.ClientBeginUpdateByIDOptions) (*runtime.Poller[armresources.ClientUpdateByIDResponse], error)
	BeginDeleteByID(ctx context.Context, resourceID, apiVersion string, options *armresources.ClientBeginDeleteByIDOptions) (*runtime.Poller[armresources.ClientDeleteByIDResponse], error)
}

var _ armWriter = (*armresources.Client)(nil)

// Reader re-reads one resource live and names the api-version of a type
// (fetch/azure.Reader).
type Reader interface {
	Read(ctx context.Context, ref resource.Ref) (resource.Resource, error)
	APIVersion(ctx context.Context, armType, subscriptionID string) (string, error)
}

// Evaluator evaluates a resource against the rules of its type
// (policy.Engine).
type Evaluator interface {
	Evaluate(ctx context.Context, in policy.Input) []policy.Verdict
}

// Defaults of Options.
const (
	DefaultVerifyAttempts = revert.DefaultVerifyAttempts
	DefaultVerifyDelay    = revert.DefaultVerifyDelay
	DefaultPollFrequency  = 5 * time.Second
)

// Options tune a Remediator.
type Options struct {
	// VerifyAttempts is how many times the resource is re-read until the
	// rule passes (default DefaultVerifyAttempts).
	VerifyAttempts int
	// VerifyDelay is the wait before the second re-read, doubled before
	// each further one (default DefaultVerifyDelay).
	VerifyDelay time.Duration
	// Sleep waits between re-reads (default: a timer that stops when ctx
	// is done).
	Sleep func(ctx context.Context, d time.Duration) error
	// PollFrequency is how often a long-running write is polled when ARM
	// gives no Retry-After (default DefaultPollFrequency; at least 1s).
	PollFrequency time.Duration
	// ProtectedPrincipals are object IDs whose role assignments
	// azure-delete-role-assignment never deletes: driftwatch's own managed
	// identity, break-glass accounts.
	ProtectedPrincipals []string
}

// Remediator plans and executes Azure remediations. It implements
// revert.Executor and is safe for concurrent use.
type Remediator struct {
	arm    armWriter
	reader Reader
	rules  Evaluator
	opts   Options
}

var _ revert.Executor = (*Remediator)(nil)

// New returns a Remediator that writes through ARM with cred and
// clientOpts (nil: public cloud defaults), and verifies with reader and
// rules.
func New(cred azcore.TokenCredential, clientOpts *arm.ClientOptions, reader Reader, rules Evaluator, opts Options) (*Remediator, error) {
	f, err := armresources.NewClientFactory("", cred, clientOpts)
	if err != nil {
		return nil, fmt.Errorf("create ARM resources client: %w", err)
	}
	return newRemediator(f.NewClient(), reader, rules, opts), nil
}

func newRemediator(w armWriter, reader Reader, rules Evaluator, opts Options) *Remediator {
	if opts.VerifyAttempts <= 0 {
		opts.VerifyAttempts = DefaultVerifyAttempts
	}
	if opts.VerifyDelay <= 0 {
		opts.VerifyDelay = DefaultVerifyDelay
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.PollFrequency < time.Second {
		opts.PollFrequency = DefaultPollFrequency
	}
	return &Remediator{arm: w, reader: reader, rules: rules, opts: opts}
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

// Plan computes the calls remediation rem makes to revert the failing
// verdict v on res, the resource as read when v was computed. It makes no
// write. A remediation with nothing to undo gives a plan without calls and
// with a Reason.
func (r *Remediator) Plan(ctx context.Context, rem string, res resource.Resource, v policy.Verdict, ch *change.Change) (revert.Plan, error) {
	p := revert.Plan{Action: revert.Action{Name: rem}, Resource: res.Ref, RuleID: v.RuleID}
	spec, ok := registry()[rem]
	switch {
	case !ok:
		return p, fmt.Errorf("plan %q for %s: %w", rem, res.Ref.ID, revert.ErrUnknownRemediation)
	case !slices.ContainsFunc(spec.types, func(t string) bool { return strings.EqualFold(t, res.Ref.Type) }):
		return p, fmt.Errorf("plan %q for %s: it applies to %s, not %s: %w", rem, res.Ref.ID, strings.Join(spec.types, ", "), res.Ref.Type, revert.ErrNotApplicable)
	case v.Result != policy.Fail:
		return p, fmt.Errorf("plan %q for %s: verdict of %s is %s, not fail: %w", rem, res.Ref.ID, v.RuleID, v.Result, revert.ErrNotApplicable)
	case !res.Exists:
		return p, fmt.Errorf("plan %q for %s: the resource does not exist: %w", rem, res.Ref.ID, revert.ErrNotApplicable)
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
// The error is non-nil exactly when the status is failed.
func (r *Remediator) Execute(ctx context.Context, p revert.Plan) (revert.Result, error) {
	res := revert.Result{Remediation: p.Name, Resource: p.Resource, RuleID: p.RuleID, Backup: p.Backup}
	if len(p.Calls) == 0 {
		res.Status, res.Reason = revert.StatusSkipped, p.Reason
		if res.Reason == "" {
			res.Reason = "nothing to revert"
		}
		return res, nil
	}
	ops := make([]func(context.Context) error, len(p.Calls))
	for i, c := range p.Calls {
		op, err := r.operation(c)
		if err != nil {
			res.Status, res.Reason = revert.StatusFailed, fmt.Sprintf("call %d: %v", i+1, err)
			return res, fmt.Errorf("execute %s on %s: %s", p.Name, p.Resource.ID, res.Reason)
		}
		ops[i] = op
	}
	for i, c := range p.Calls {
		res.Calls = p.Calls[:i+1]
		if err := ops[i](ctx); err != nil {
			res.Status, res.Reason = revert.StatusFailed, fmt.Sprintf("%s %s failed: %v", c.Params["method"], c.Params["resourceId"], err)
			return res, fmt.Errorf("execute %s on %s: %s %s: %w", p.Name, p.Resource.ID, c.Params["method"], c.Params["resourceId"], err)
		}
	}
	r.verify(ctx, p, &res)
	return res, nil
}

// operation binds a planned call to the ARM client. It accepts only the
// two shapes Plan produces.
func (r *Remediator) operation(c revert.Call) (func(context.Context) error, error) {
	id, _ := c.Params["resourceId"].(string)
	version, _ := c.Params["apiVersion"].(string)
	if c.Service != armService || id == "" || version == "" {
		return nil, fmt.Errorf("%s is not an ARM call planned by this package", c)
	}
	switch c.Operation {
	case opUpdate:
		body, _ := c.Params["parameters"].(map[string]any)
		props, ok := body["properties"].(map[string]any)
		if !ok || len(body) != 1 || len(props) == 0 {
			return nil, fmt.Errorf("%s: a PATCH body must be {\"properties\": {...}}", c)
		}
		return func(ctx context.Context) error {
			poller, err := r.arm.BeginUpdateByID(ctx, id, version, armresources.GenericResource{Properties: props}, nil)
			if err != nil {
				return err
			}
			_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: r.opts.PollFrequency})
			return err
		}, nil
	case opDelete:
		return func(ctx context.Context) error {
			poller, err := r.arm.BeginDeleteByID(ctx, id, version, nil)
			if isGone(err) {
				return nil // already deleted: the goal is met
			}
			if err != nil {
				return err
			}
			_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: r.opts.PollFrequency})
			return err
		}, nil
	}
	return nil, fmt.Errorf("%s: unknown operation %q", c, c.Operation)
}

// isGone reports whether an ARM error says the resource does not exist.
func isGone(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// verify re-reads the resource until the plan's rule passes or the
// attempts run out, and sets the result's status.
func (r *Remediator) verify(ctx context.Context, p revert.Plan, res *revert.Result) {
	delay := r.opts.VerifyDelay
	for attempt := 1; ; attempt++ {
		after, err := r.reader.Read(ctx, p.Resource)
		if err == nil {
			vs := r.rules.Evaluate(ctx, policy.Input{Resource: after})
			res.After, res.Verdicts = &after, vs
			v, ok := verdictOf(vs, p.RuleID)
			switch {
			case !ok:
				res.Status, res.Reason = revert.StatusVerificationFailed, fmt.Sprintf("re-read: no verdict for rule %s", p.RuleID)
				return
			case v.Result == policy.Pass:
				res.Status, res.Reason = revert.StatusReverted, ""
				return
			}
			res.Status = revert.StatusVerificationFailed
			res.Reason = fmt.Sprintf("the calls succeeded but the re-read resource still gives %s %s: %s", p.RuleID, v.Result, v.Message)
		} else {
			res.Status, res.Reason = revert.StatusVerificationFailed, fmt.Sprintf("the calls succeeded but the re-read failed: %v", err)
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
