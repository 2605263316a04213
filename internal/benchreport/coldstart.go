package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rulesLogged finds the rule count in the detector's "pipeline ready" line.
var rulesLogged = regexp.MustCompile(`"rules":(\d+)`)

// lambdaFlags are the Makefile's GOFLAGS_LAMBDA, as go build arguments.
var lambdaFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// goBuild builds pkg for goos/goarch into out with CGO off.
func goBuild(ctx context.Context, goos, goarch, out, pkg string, flags ...string) error {
	args := append([]string{"build"}, flags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for %s/%s: %w\n%s", pkg, goos, goarch, err, b)
	}
	return nil
}

// runStats are the timings of repeated runs of one command.
type runStats struct {
	Wall []time.Duration // process start → ready (or exit)
	CPU  []time.Duration // user+system CPU of the process
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := len(s) * p / 100
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func (r runStats) p50() time.Duration   { return pct(r.Wall, 50) }
func (r runStats) p99() time.Duration   { return pct(r.Wall, 99) }
func (r runStats) cpu50() time.Duration { return pct(r.CPU, 50) }

func (r *runStats) add(wall time.Duration, ps *os.ProcessState) {
	r.Wall = append(r.Wall, wall)
	r.CPU = append(r.CPU, ps.UserTime()+ps.SystemTime())
}

// coldReport is figure 1.
type coldReport struct {
	Detector    runStats
	BinaryBytes int64
	Rules       int // rules the detector compiled (from its "pipeline ready" log line)
	C7N         runStats
	C7NVersion  string
	C7NPolicies int
	// C7NInstall is how long `pip install c7n` took when `make bench`
	// created the venv, and when that was (zero when unknown).
	C7NInstall   time.Duration
	C7NInstalled time.Time
}

// probeEnv is the detector's environment for the readiness probe: what
// template.yaml gives the Lambda (a DynamoDB table, a region, credentials
// from the environment), with no config file.
func probeEnv() []string {
	return append(os.Environ(), "DRIFTWATCH_READY_PROBE=1", "DRIFTWATCH_TABLE=driftwatch-findings",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=bench",
		"AWS_EC2_METADATA_DISABLED=true")
}

// measureColdStart builds the detector for this machine with the Lambda
// flags and times `runs` cold starts to "ready", then `c7nRuns` runs of
// `custodian validate` on the equivalent c7n policies.
func measureColdStart(ctx context.Context, tmp, c7nVenv, policies string, runs, c7nRuns int) (*coldReport, error) {
	rep := &coldReport{}
	bin := filepath.Join(tmp, "aws-detector-host", "bootstrap")
	if err := goBuild(ctx, runtime.GOOS, runtime.GOARCH, bin, "./functions/aws-detector", lambdaFlags...); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(bin); err == nil {
		rep.BinaryBytes = fi.Size()
	}
	work := filepath.Join(tmp, "probe") // no driftwatch.yaml here
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	// One run first, not counted: it pages the binary into the page cache.
	for i := -1; i < runs; i++ {
		wall, ps, out, err := timeToReady(ctx, work, bin)
		if err != nil {
			return nil, err
		}
		if i >= 0 {
			rep.Detector.add(wall, ps)
		}
		if m := rulesLogged.FindStringSubmatch(out); m != nil {
			rep.Rules, _ = strconv.Atoi(m[1])
		}
	}

	custodian := filepath.Join(c7nVenv, "bin", "custodian")
	if v, err := exec.CommandContext(ctx, custodian, "version").Output(); err == nil {
		rep.C7NVersion = strings.TrimSpace(string(v))
	} else {
		return nil, fmt.Errorf("%s version: %w (run `make bench`, which installs c7n into %s)", custodian, err, c7nVenv)
	}
	data, err := os.ReadFile(policies)
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "- name:") {
			rep.C7NPolicies++
		}
	}
	for i := -1; i < c7nRuns; i++ {
		cmd := exec.CommandContext(ctx, custodian, "validate", policies)
		// No credentials lookups that could reach for an instance
		// metadata service: validate makes no AWS call, and this makes
		// sure of it.
		cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=bench")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("custodian validate: %w\n%s", err, out.String())
		}
		wall := time.Since(start)
		if !strings.Contains(out.String(), "Configuration valid") {
			return nil, fmt.Errorf("custodian validate did not say the policies are valid:\n%s", out.String())
		}
		if i >= 0 {
			rep.C7N.add(wall, cmd.ProcessState)
		}
	}
	if b, err := os.ReadFile(filepath.Join(c7nVenv, "install-ms")); err == nil {
		if ms, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			rep.C7NInstall = time.Duration(ms) * time.Millisecond
			if fi, err := os.Stat(filepath.Join(c7nVenv, "install-ms")); err == nil {
				rep.C7NInstalled = fi.ModTime()
			}
		}
	}
	return rep, nil
}

// timeToReady starts the detector with the readiness probe and returns the
// time from process start to its "ready" line, and the process state.
func timeToReady(ctx context.Context, dir, bin string) (time.Duration, *os.ProcessState, string, error) {
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = probeEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, nil, "", err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, nil, "", err
	}
	var wall time.Duration
	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if sc.Text() == "ready" && wall == 0 {
			wall = time.Since(start)
			continue
		}
		lines = append(lines, sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		return 0, nil, "", fmt.Errorf("detector readiness probe: %w\n%s%s", err, strings.Join(lines, "\n"), stderr.String())
	}
	if wall == 0 {
		return 0, nil, "", fmt.Errorf("detector readiness probe never said ready:\n%s%s", strings.Join(lines, "\n"), stderr.String())
	}
	return wall, cmd.ProcessState, strings.Join(lines, "\n"), nil
}
