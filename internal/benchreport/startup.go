package main

import (
	"fmt"
	"syscall"
	"time"

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
)

// startupReport is the in-process start-up measured by this program:
// the steps of internal/cli's BenchmarkStartup, timed per start in wall
// and in CPU time, which the machine's load does not inflate.
type startupReport struct {
	Runs int
	Wall []time.Duration
	CPU  time.Duration // mean CPU time of the process per start
}

// measureStartup loads and compiles every built-in rule, indexes the
// catalog and builds the filter, runs times, after one start that builds
// the process-wide CEL environment (as BenchmarkStartup does).
func measureStartup(runs int) (*startupReport, error) {
	start := func() error {
		rules, err := pack.All()
		if err != nil {
			return err
		}
		eng, err := policy.Compile(rules)
		if err != nil {
			return err
		}
		cat := catalog.New(catalog.Default().Entries())
		if _, err := filter.New([]string{"arn:aws:iam::*:role/driftwatch-*"}, cat.Watched); err != nil {
			return err
		}
		if len(eng.Rules()) == 0 {
			return fmt.Errorf("no rules compiled")
		}
		return nil
	}
	if err := start(); err != nil {
		return nil, err
	}
	rep := &startupReport{Runs: runs}
	cpu0 := cpuTime()
	for range runs {
		t := time.Now()
		if err := start(); err != nil {
			return nil, err
		}
		rep.Wall = append(rep.Wall, time.Since(t))
	}
	rep.CPU = (cpuTime() - cpu0) / time.Duration(runs)
	return rep, nil
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
