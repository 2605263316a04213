package pack

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

var update = flag.Bool("update", false, "rewrite docs/rules.md from the built-in rules")

// referencePath is docs/rules.md from this package's directory.
var referencePath = filepath.Join("..", "..", "..", "docs", "rules.md")

func builtin(t testing.TB) *policy.Engine {
	t.Helper()
	e, err := Engine()
	if err != nil {
		t.Fatalf("built-in rules: %v", err)
	}
	return e
}

// TestBuiltinRules runs every built-in rule test and checks that every
// rule has at least one passing and one failing case.
func TestBuiltinRules(t *testing.T) {
	e := builtin(t)
	files, err := AllTests()
	if err != nil {
		t.Fatalf("built-in rule tests: %v", err)
	}
	results := policy.RunTests(e, files...)
	for _, r := range results {
		if !r.Passed {
			t.Errorf("%s", r)
		}
	}
	for _, id := range policy.Coverage(e, files...) {
		r := e.Rule(id)
		t.Errorf("%s:%d: rule %s needs tests with at least one passing and one failing case", r.File, r.Line, id)
	}
	t.Logf("%d rules, %d test cases", len(e.Rules()), len(results))
}

// TestBuiltinFilesPaired checks that every rule file has a test file.
func TestBuiltinFilesPaired(t *testing.T) {
	for _, cloud := range clouds {
		entries, err := files.ReadDir(cloud)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, e := range entries {
			names[e.Name()] = true
		}
		for n := range names {
			if family, ok := strings.CutSuffix(n, policy.RuleFileSuffix); ok && !names[family+policy.TestFileSuffix] {
				t.Errorf("%s/%s has no %s%s", cloud, n, family, policy.TestFileSuffix)
			}
		}
	}
}

// TestReference checks that docs/rules.md is Reference of the built-in
// rules; run with -update to rewrite it.
func TestReference(t *testing.T) {
	got := policy.Reference(builtin(t).Rules())
	if *update {
		if err := os.WriteFile(referencePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("%v (run go test ./shared/policy/pack -run TestReference -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date: run go test ./shared/policy/pack -run TestReference -update", referencePath)
	}
}

// BenchmarkCompileBuiltin measures start-up: reading and compiling every
// built-in rule (the shared CEL environment, built once per process, is
// excluded after the first iteration).
func BenchmarkCompileBuiltin(b *testing.B) {
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, err := Engine(); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkEvaluateBuiltin evaluates, for each resource type, the document
// of a passing test case against every built-in rule of that type.
func BenchmarkEvaluateBuiltin(b *testing.B) {
	e := builtin(b)
	tests, err := AllTests()
	if err != nil {
		b.Fatal(err)
	}
	docs := map[string]map[string]any{}
	for _, f := range tests {
		for _, rt := range f.Tests {
			r := e.Rule(rt.Rule)
			if r == nil {
				continue
			}
			for _, c := range rt.Cases {
				if c.Expect == policy.Pass && c.Resource != nil && docs[r.ResourceTypes[0]] == nil {
					docs[r.ResourceTypes[0]] = c.Resource
				}
			}
		}
	}
	ctx := context.Background()
	for _, typ := range e.Types() {
		doc := docs[typ]
		if doc == nil {
			continue
		}
		b.Run(typ, func(b *testing.B) {
			in := policy.Input{Resource: resource.Resource{
				Ref:    resource.Ref{Type: typ, ID: policy.TestID, Account: policy.TestAccount, Region: policy.TestRegion},
				Exists: true,
				Doc:    doc,
			}}
			durations := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				e.Evaluate(ctx, in)
				durations = append(durations, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(durations)
			b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(len(e.RulesFor(typ))), "rules")
		})
	}
}
