// Command benchreport runs driftwatch's benchmarks and writes
// docs/benchmarks.md: the machine, the Go version, the date, every figure
// with how it was measured and its target, and whether the target was met.
// `make bench` runs it. All figures come from one run:
//
//  1. cold start of the detector binary to "ready", side by side with
//     Cloud Custodian validating an equivalent policy set (c7n/);
//  2. per-event latency of each stage and of the whole pipeline against
//     moto and a fake Slack;
//  3. throughput: noise filtered per core, full pipeline events/s;
//  4. cloud API calls per change, per operation family, against a full
//     scan of an account;
//  5. peak RSS of the detector's handler through a 10,000-event burst, in a
//     child process (this program run with -burst-child);
//  6. the deployed zip size of each function.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// figure is one number the report shows.
type figure struct {
	What    string
	Pkg     string
	Bench   string // benchmark name as printed, without the -N suffix
	Metric  string // unit to read: ns/op, p50-ns, events/s, ...
	Target  string // human-readable target, "" for none
	Meets   func(v float64) bool
	Display func(v float64) string
}

func us(v float64) string  { return fmt.Sprintf("%.1f µs", v/1e3) }
func ms(v float64) string  { return fmt.Sprintf("%.1f ms", v) }
func per(v float64) string { return fmt.Sprintf("%.0f /s", v) }
func ns(v float64) string {
	switch {
	case v >= 1e6:
		return msNS(v)
	case v >= 1e3:
		return us(v)
	}
	return fmt.Sprintf("%.0f ns", v)
}
func msNS(v float64) string { return ms(v / 1e6) }
func count(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Packages and benchmarks of the figures.
const (
	changePkg   = "./shared/change"
	pipelinePkg = "./shared/pipeline"
	latency     = "BenchmarkPipelineMoto/latency"
	throughput  = "BenchmarkPipelineMoto/throughput"
)

// figures is the summary table, in order.
var figures = []figure{
	{What: "decode + filter of read-only noise, one core (wall)", Pkg: changePkg, Bench: "BenchmarkDecodeFilterReadOnly", Metric: "events/s",
		Target: "≥ 200,000 events/s", Meets: func(v float64) bool { return v >= 200000 }, Display: per},
	{What: "decode + filter of read-only noise, per CPU-second", Pkg: changePkg, Bench: "BenchmarkDecodeFilterReadOnly", Metric: "events/cpu-s",
		Target: "≥ 200,000 events/s", Meets: func(v float64) bool { return v >= 200000 }, Display: per},
	{What: "decode + filter, 1,000-record log file", Pkg: changePkg, Bench: "BenchmarkDecodeSeqLogFile", Metric: "events/s", Display: per},
	{What: "evaluate one S3 bucket against 6 rules, p50", Pkg: "./shared/policy", Bench: "BenchmarkEvaluate", Metric: "p50-ns",
		Target: "p50 < 20 µs", Meets: func(v float64) bool { return v < 20000 }, Display: us},
	{What: "evaluate one S3 bucket against 6 rules, p99", Pkg: "./shared/policy", Bench: "BenchmarkEvaluate", Metric: "p99-ns", Display: us},
	{What: "evaluate, every rule failing (messages rendered), p50", Pkg: "./shared/policy", Bench: "BenchmarkEvaluateFailing", Metric: "p50-ns", Display: us},
	{What: "start-up to ready in process: all built-in rules compiled, catalog, filter", Pkg: "./internal/cli", Bench: "BenchmarkStartup", Metric: "ns/op",
		Target: "< 25 ms", Meets: func(v float64) bool { return v < 25e6 }, Display: msNS},
	{What: "finding-store round trip per event (SQLite)", Pkg: "./shared/state/sqlite", Bench: "BenchmarkSQLiteRoundTrip", Metric: "ns/op",
		Display: us},
	{What: "whole pipeline per failing change against moto + Slack, p50", Pkg: pipelinePkg, Bench: latency, Metric: "p50-ns", Display: msNS},
	{What: "whole pipeline, events/s at concurrency GOMAXPROCS", Pkg: pipelinePkg, Bench: throughput, Metric: "events/s", Display: func(v float64) string { return fmt.Sprintf("%.1f /s", v) }},
}

// stage is one row of the per-event table: p50 and p99 of a benchmark.
type stage struct {
	What, Pkg, Bench, Method string
	P50, P99                 string // metric names
	Target                   string
	Meets                    func(p50 float64) bool
}

var stages = []stage{
	{What: "decode", Pkg: changePkg, Bench: "BenchmarkDecodeWatched", P50: "p50-ns", P99: "p99-ns",
		Method: "`change.Decode` of a watched write (AuthorizeSecurityGroupIngress, real record) in its EventBridge envelope, 1.5 KB; per event",
		Target: "≥ 200,000 events/s (p50 ≤ 5 µs)", Meets: func(v float64) bool { return v <= 5000 }},
	{What: "filter", Pkg: "./shared/filter", Bench: "BenchmarkFilterWatched", P50: "p50-ns", P99: "p99-ns",
		Method: "`filter.Check` of that change (own-principal pattern, catalog lookup), kept; each sample the mean of 16 checks"},
	{What: "catalog", Pkg: "./shared/catalog", Bench: "BenchmarkResolve", P50: "p50-ns", P99: "p99-ns",
		Method: "`catalog.Resolve`: lookup, ID from requestParameters, ARN; each sample the mean of 16"},
	{What: "evaluate", Pkg: "./shared/policy", Bench: "BenchmarkEvaluate", P50: "p50-ns", P99: "p99-ns",
		Method: "a realistic S3 bucket document against 6 rules (per type below); per evaluation",
		Target: "p50 < 20 µs", Meets: func(v float64) bool { return v < 20000 }},
	{What: "whole pipeline, added latency", Pkg: pipelinePkg, Bench: latency, P50: "p50-ns", P99: "p99-ns",
		Method: "`Pipeline.Handle` start → return for a failing change: filter, catalog, live re-read in moto, rules, DynamoDB store in moto, Slack post to the fake"},
	{What: "whole pipeline less the wait for moto", Pkg: pipelinePkg, Bench: latency, P50: "no-aws-p50-ns", P99: "no-aws-p99-ns",
		Method: "the same, minus the time the SDK spent waiting for moto's answers: driftwatch's own work plus the Slack post"},
}

// builtinTypes adds one figure per resource type of the built-in pack.
const builtinPkg, builtinBench = "./shared/policy/pack", "BenchmarkEvaluateBuiltin"

// options are the command line.
type options struct {
	out, c7nVenv, c7nPolicies          string
	count, probeRuns, c7nRuns          int
	pipelineEvents                     int
	burst, burstWatched, scanN         int
	skipGo, skipCold, skipZip, skipAPI bool
	skipBurst                          bool
}

func main() {
	var o options
	flag.StringVar(&o.out, "o", "docs/benchmarks.md", "report file")
	flag.IntVar(&o.count, "count", 5, "runs per micro-benchmark (the median is reported)")
	flag.StringVar(&o.c7nVenv, "c7n-venv", ".venv/c7n", "virtualenv holding Cloud Custodian (make bench creates it)")
	flag.StringVar(&o.c7nPolicies, "c7n-policies", "internal/benchreport/c7n/policies.yml", "c7n policies equivalent to the built-in rules")
	flag.IntVar(&o.probeRuns, "probe-runs", 30, "cold starts of the detector to time")
	flag.IntVar(&o.c7nRuns, "c7n-runs", 5, "runs of custodian validate to time")
	flag.IntVar(&o.pipelineEvents, "pipeline-events", 100, "events per pipeline benchmark against moto")
	flag.IntVar(&o.burst, "burst", 10000, "events in the memory burst")
	flag.IntVar(&o.burstWatched, "burst-watched", 200, "of which real watched changes (the rest is noise)")
	flag.IntVar(&o.scanN, "scan-n", 200, "resources in the account of the full-scan comparison")
	flag.BoolVar(&o.skipGo, "skip-go", false, "skip the go test benchmarks (development)")
	flag.BoolVar(&o.skipCold, "skip-cold", false, "skip the cold-start comparison (development)")
	flag.BoolVar(&o.skipZip, "skip-zip", false, "skip the zip sizes (development)")
	flag.BoolVar(&o.skipAPI, "skip-api", false, "skip the API call counts (development)")
	flag.BoolVar(&o.skipBurst, "skip-burst", false, "skip the memory burst (development)")
	child := flag.Bool("burst-child", false, "internal: be the burst's child process")
	flag.Parse()
	if *child {
		if err := burstChild(); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport burst child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// results maps "pkg bench" to metric → values.
type results map[string]map[string][]float64

// report is everything one run measured.
type report struct {
	opts         options
	res          results
	cold         *coldReport
	initMS       float64 // package initialisation of the detector (inittrace)
	initTop      []string
	startup      *startupReport
	zips         []zipSize
	api          *apiReport
	burst        *burstReport
	started      time.Time
	took         time.Duration
	load0, load1 string
	builtinRules int
}

func phase(name string) func() {
	start := time.Now()
	fmt.Fprintf(os.Stderr, "benchreport: %s...\n", name)
	return func() {
		fmt.Fprintf(os.Stderr, "benchreport: %s took %s\n", name, time.Since(start).Round(time.Second))
	}
}

func run(o options) error {
	ctx := context.Background()
	rep := &report{opts: o, res: results{}, started: time.Now(), load0: loadAvg()}
	tmp, err := os.MkdirTemp("", "driftwatch-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if !o.skipGo {
		done := phase("in-process start-up, wall and CPU time")
		if rep.startup, err = measureStartup(20); err != nil {
			return err
		}
		done()
		done = phase("go test benchmarks")
		if err := goBenchmarks(o, rep.res); err != nil {
			return err
		}
		done()
	}
	if !o.skipCold {
		done := phase("cold start: detector and Cloud Custodian")
		if rep.cold, err = measureColdStart(ctx, tmp, o.c7nVenv, o.c7nPolicies, o.probeRuns, o.c7nRuns); err != nil {
			return err
		}
		rep.initMS, rep.initTop = initTrace(ctx, tmp)
		done()
	}
	if !o.skipZip {
		done := phase("deployed zip sizes")
		if rep.zips, err = measureZips(ctx, tmp); err != nil {
			return err
		}
		done()
	}
	if !o.skipAPI {
		done := phase("cloud API calls per change and full scan (moto)")
		if rep.api, err = measureAPICalls(ctx, o.scanN); err != nil {
			return err
		}
		done()
	}
	if !o.skipBurst {
		done := phase("peak RSS through the burst (child process, moto)")
		if rep.burst, err = measureBurst(ctx, self, o.burst, o.burstWatched); err != nil {
			return err
		}
		done()
	}
	rep.took = time.Since(rep.started)
	rep.load1 = loadAvg()
	return os.WriteFile(o.out, render(rep), 0o644)
}

// goBenchmarks runs the go test benchmarks of every figure, one package
// at a time. Micro-benchmarks run on one CPU, count times; the pipeline
// against moto runs once, a fixed number of events, on every CPU.
func goBenchmarks(o options, res results) error {
	pkgs := map[string][]string{}
	add := func(pkg, bench string) {
		top, _, _ := strings.Cut(bench, "/")
		if !slices.Contains(pkgs[pkg], top) {
			pkgs[pkg] = append(pkgs[pkg], top)
		}
	}
	for _, f := range figures {
		add(f.Pkg, f.Bench)
	}
	for _, s := range stages {
		add(s.Pkg, s.Bench)
	}
	add(builtinPkg, builtinBench)
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		re := "^(" + strings.Join(pkgs[p], "|") + ")$"
		args := []string{"test", "-run", "^$", "-bench", re, "-benchmem"}
		if p == pipelinePkg {
			args = append(args, "-cpu", strconv.Itoa(runtime.NumCPU()), "-count", "1", "-benchtime", fmt.Sprintf("%dx", o.pipelineEvents), "-timeout", "20m")
		} else {
			args = append(args, "-cpu", "1", "-count", strconv.Itoa(o.count))
		}
		args = append(args, p)
		fmt.Fprintf(os.Stderr, "bench %s %s\n", p, re)
		cmd := exec.Command("go", args...)
		cmd.Stderr = os.Stderr
		b, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("go test -bench %s: %w\n%s", p, err, b)
		}
		parse(p, b, res)
	}
	return nil
}

// parse reads benchmark lines: name-N iterations value unit value unit ...
func parse(pkg string, b []byte, res results) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		k := pkg + " " + name
		if res[k] == nil {
			res[k] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res[k][f[i+1]] = append(res[k][f[i+1]], v)
		}
	}
}

func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2], true
}

// get returns the median of a benchmark's metric.
func (r results) get(pkg, bench, metric string) (float64, bool) {
	return median(r[pkg+" "+bench][metric])
}

// initTrace runs the detector once with GODEBUG=inittrace=1 and returns
// the wall-clock milliseconds its package initialisers took and the
// largest of them, "pkg (x ms)" (zero and nil if it cannot tell).
func initTrace(ctx context.Context, tmp string) (float64, []string) {
	cmd := exec.CommandContext(ctx, tmp+"/aws-detector-host/bootstrap")
	cmd.Dir = tmp + "/probe"
	cmd.Env = append(probeEnv(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, nil
	}
	type pkgInit struct {
		pkg string
		ms  float64
	}
	var inits []pkgInit
	total := 0.0
	for _, l := range strings.Split(stderr.String(), "\n") {
		// init internal/bytealg @0.008 ms, 0.004 ms clock, 0 bytes, 0 allocs
		f := strings.Fields(l)
		if len(f) >= 7 && f[0] == "init" && f[6] == "clock," {
			if v, err := strconv.ParseFloat(f[4], 64); err == nil {
				total += v
				inits = append(inits, pkgInit{f[1], v})
			}
		}
	}
	sort.Slice(inits, func(i, j int) bool { return inits[i].ms > inits[j].ms })
	var top []string
	for _, in := range inits[:min(5, len(inits))] {
		top = append(top, fmt.Sprintf("%s (%.1f ms)", in.pkg, in.ms))
	}
	return total, top
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return fmt.Sprintf("%.0f GiB", kb/(1<<20))
		}
	}
	return "unknown"
}
