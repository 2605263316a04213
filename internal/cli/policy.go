package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
)

func policyCmd(_ context.Context, args []string, env Env) int {
	if len(args) == 0 || (args[0] != "validate" && args[0] != "test") {
		fmt.Fprintln(env.Stderr, "driftwatch policy: want `policy validate [DIR]` or `policy test [DIR]`")
		return exitUsage
	}
	dir := ""
	if len(args) > 1 {
		dir = args[1]
	}
	eng, err := loadEngine(dir)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch policy:", err)
		return exitFail
	}
	if args[0] == "validate" {
		fmt.Fprintf(env.Stdout, "%d rules compiled for %d resource types\n", len(eng.Rules()), len(eng.Types()))
		return exitOK
	}

	var files []policy.TestFile
	if dir == "" {
		files, err = pack.AllTests()
	} else {
		files, err = loadTestDir(dir)
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch policy test:", err)
		return exitFail
	}
	results := policy.RunTests(eng, files...)
	failed := 0
	for _, r := range results {
		if !r.Passed {
			failed++
			fmt.Fprintf(env.Stdout, "FAIL %s\n", r)
		}
	}
	fmt.Fprintf(env.Stdout, "%d cases, %d failed\n", len(results), failed)
	if dir == "" {
		for _, id := range policy.Coverage(eng, files...) {
			failed++
			fmt.Fprintf(env.Stdout, "MISSING rule %s lacks a passing and a failing case\n", id)
		}
	}
	if failed > 0 {
		return exitFail
	}
	return exitOK
}

func loadTestDir(dir string) ([]policy.TestFile, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tests.yaml"))
	if err != nil {
		return nil, err
	}
	var out []policy.TestFile
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		tf, err := policy.ParseTests(p, b)
		if err != nil {
			return nil, err
		}
		out = append(out, tf)
	}
	return out, nil
}
