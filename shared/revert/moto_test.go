package revert

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/change"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// The integration tests run every remediation against one moto server:
// a compliant resource is made, the risky change is made through the SDK,
// the rule fails on the re-read, the remediation is planned and executed,
// and the resource read after the revert must pass the rule and equal the
// resource read before the risky change (see assertSameDocument).
//
// Tests that change account-wide settings (S3 and IAM account settings,
// EBS encryption by default, the Region's Config recorder) do not run in
// parallel with anything; no test here does.

var moto *mototest.Server

func TestMain(m *testing.M) {
	s, err := mototest.Launch()
	if err != nil {
		fmt.Fprintln(os.Stderr, "revert tests need moto:", err)
		os.Exit(1)
	}
	moto = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

var (
	packEngine *policy.Engine
	packErr    error
)

// engine returns the built-in rules, compiled once.
func engine(t testing.TB) *policy.Engine {
	t.Helper()
	if packEngine == nil && packErr == nil {
		rules, err := pack.AWS()
		if err == nil {
			packEngine, err = policy.Compile(rules)
		}
		packErr = err
	}
	if packErr != nil {
		t.Fatalf("compile built-in rules: %v", packErr)
	}
	return packEngine
}

// env is a Remediator, a Reader and the built-in rules pointed at moto.
type env struct {
	cfg    aws.Config
	reader *fetchaws.Reader
	rules  *policy.Engine
	rem    *Remediator
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cfg, err := moto.Config(context.Background())
	if err != nil {
		t.Fatalf("aws config for moto: %v", err)
	}
	reader := fetchaws.New(cfg, fetchaws.Options{S3PathStyle: true})
	rules := engine(t)
	return &env{cfg: cfg, reader: reader, rules: rules, rem: New(cfg, reader, rules, Options{
		S3PathStyle: true, VerifyAttempts: 1,
		Sleep: func(context.Context, time.Duration) error { return nil },
	})}
}

// read re-reads a resource; it must exist.
func (e *env) read(t *testing.T, ref resource.Ref) resource.Resource {
	t.Helper()
	res, err := e.reader.Read(context.Background(), ref)
	if err != nil {
		t.Fatalf("read %s: %v", ref.ID, err)
	}
	if !res.Exists {
		t.Fatalf("read %s: the resource does not exist", ref.ID)
	}
	return res
}

// verdict evaluates res and returns the verdict of rule.
func (e *env) verdict(t *testing.T, res resource.Resource, rule string, ch *change.Change) policy.Verdict {
	t.Helper()
	v, ok := verdictOf(e.rules.Evaluate(context.Background(), policy.Input{Resource: res, Change: ch}), rule)
	if !ok {
		t.Fatalf("no verdict of rule %s for %s", rule, res.Ref.ID)
	}
	return v
}

// must fails the test on err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// unique returns prefix plus a random suffix.
func unique(prefix string) string { return prefix + "-" + ctrecord.UUID()[:8] }

// ref builds a reference in moto's account and region.
func ref(typ, id string) resource.Ref {
	return resource.Ref{Type: typ, ID: id, Account: mototest.Account, Region: mototest.Region}
}

// scenario is one remediation exercised end to end.
type scenario struct {
	rule, remediation string
	ref               resource.Ref
	// breakIt makes the risky change; change is its decoded record, where
	// the remediation reads it (nil otherwise).
	breakIt func(t *testing.T)
	change  *change.Change
	// ops are the operations the plan must make, in order.
	ops []string
	// ignore are the document paths allowed to differ between the reads
	// before the risky change and after the revert.
	ignore []string
}

// run plays a scenario and returns the plan and the result of the revert.
func (e *env) run(t *testing.T, sc scenario) (Plan, Result) {
	t.Helper()
	ctx := context.Background()
	before := e.read(t, sc.ref)
	if v := e.verdict(t, before, sc.rule, nil); v.Result != policy.Pass {
		t.Fatalf("before the risky change: %s is %s (%s), want pass", sc.rule, v.Result, v.Message)
	}
	sc.breakIt(t)
	broken := e.read(t, sc.ref)
	v := e.verdict(t, broken, sc.rule, sc.change)
	if v.Result != policy.Fail {
		t.Fatalf("after the risky change: %s is %s (%s), want fail", sc.rule, v.Result, v.Message)
	}
	plan, err := e.rem.Plan(ctx, sc.remediation, broken, v, sc.change)
	must(t, "plan "+sc.remediation, err)
	if got := operations(plan.Calls); !slices.Equal(got, sc.ops) {
		t.Fatalf("plan calls %v (%s), want %v", got, plan.Reason, sc.ops)
	}
	res, err := e.rem.Execute(ctx, plan)
	must(t, "execute "+sc.remediation, err)
	if res.Status != StatusReverted {
		t.Fatalf("execute: status %s (%s), want reverted", res.Status, res.Reason)
	}
	after := e.read(t, sc.ref)
	if v := e.verdict(t, after, sc.rule, nil); v.Result != policy.Pass {
		t.Fatalf("after the revert: %s is %s (%s), want pass", sc.rule, v.Result, v.Message)
	}
	assertSameDocument(t, before.Doc, after.Doc, sc.ignore...)
	if !reflect.DeepEqual(before.Tags, after.Tags) {
		t.Errorf("tags changed: before %v, after %v", before.Tags, after.Tags)
	}
	return plan, res
}

// operations lists the operations of calls.
func operations(calls []Call) []string {
	out := []string{}
	for _, c := range calls {
		out = append(out, c.Operation)
	}
	return out
}

// assertSameDocument fails the test when two documents of one resource
// differ anywhere but under the ignored paths (dotted paths; a path covers
// everything below it). It reports every differing leaf.
func assertSameDocument(t *testing.T, before, after map[string]any, ignore ...string) {
	t.Helper()
	if diffs := documentDiff(before, after, ignore...); len(diffs) > 0 {
		t.Errorf("the revert changed more than the risky part:\n  %s", strings.Join(diffs, "\n  "))
	}
}

// documentDiff returns the leaves (path: before → after) where two
// documents differ, outside the ignored paths, sorted.
func documentDiff(before, after map[string]any, ignore ...string) []string {
	a, b := map[string]any{}, map[string]any{}
	flatten("", before, a)
	flatten("", after, b)
	ignored := func(p string) bool {
		return slices.ContainsFunc(ignore, func(i string) bool { return p == i || strings.HasPrefix(p, i+".") })
	}
	var diffs []string
	for p, av := range a {
		if ignored(p) {
			continue
		}
		if bv, ok := b[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: %v → (absent)", p, av))
		} else if !reflect.DeepEqual(av, bv) {
			diffs = append(diffs, fmt.Sprintf("%s: %v → %v", p, av, bv))
		}
	}
	for p, bv := range b {
		if _, ok := a[p]; !ok && !ignored(p) {
			diffs = append(diffs, fmt.Sprintf("%s: (absent) → %v", p, bv))
		}
	}
	sort.Strings(diffs)
	return diffs
}

// flatten writes the leaves of a document tree under prefix into out; an
// empty list or map is a leaf.
func flatten(prefix string, v any, out map[string]any) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			out[prefix] = map[string]any{}
		}
		for k, e := range t {
			flatten(join(k), e, out)
		}
	case []any:
		if len(t) == 0 {
			out[prefix] = []any{}
		}
		for i, e := range t {
			flatten(join(strconv.Itoa(i)), e, out)
		}
	default:
		out[prefix] = v
	}
}

// decodeChange decodes one CloudTrail record built with ctrecord.
func decodeChange(t *testing.T, call ctrecord.Call) *change.Change {
	t.Helper()
	if call.Region == "" {
		call.Region = mototest.Region
	}
	if call.Caller.Account == "" {
		call.Caller = ctrecord.Caller{Account: mototest.Account, UserName: "risky-engineer"}
	}
	chs, errs := change.Decode("test", ctrecord.Build(call))
	if len(errs) > 0 || len(chs) != 1 {
		t.Fatalf("decode record: %d changes, errors %v", len(chs), errs)
	}
	return &chs[0]
}
