// Command benchreport runs driftwatch's benchmarks and writes
// docs/benchmarks.md: the machine, the Go version, the date, every figure
// with its target, and whether the target was met. `make bench` runs it.
package main

import (
	"bufio"
	"bytes"
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

var figures = []figure{
	{What: "decode + filter of read-only noise, one core (wall)", Pkg: "./shared/change", Bench: "BenchmarkDecodeFilterReadOnly", Metric: "events/s",
		Target: "≥ 200,000 events/s", Meets: func(v float64) bool { return v >= 200000 }, Display: per},
	{What: "decode + filter of read-only noise, per CPU-second", Pkg: "./shared/change", Bench: "BenchmarkDecodeFilterReadOnly", Metric: "events/cpu-s",
		Target: "≥ 200,000 events/s", Meets: func(v float64) bool { return v >= 200000 }, Display: per},
	{What: "decode + filter, 1,000-record log file", Pkg: "./shared/change", Bench: "BenchmarkDecodeSeqLogFile", Metric: "events/s", Display: per},
	{What: "evaluate one S3 bucket against 6 rules, p50", Pkg: "./shared/policy", Bench: "BenchmarkEvaluate", Metric: "p50-ns",
		Target: "p50 < 20 µs", Meets: func(v float64) bool { return v < 20000 }, Display: us},
	{What: "evaluate one S3 bucket against 6 rules, p99", Pkg: "./shared/policy", Bench: "BenchmarkEvaluate", Metric: "p99-ns", Display: us},
	{What: "evaluate, every rule failing (messages rendered), p50", Pkg: "./shared/policy", Bench: "BenchmarkEvaluateFailing", Metric: "p50-ns", Display: us},
	{What: "start-up to ready: all built-in rules compiled, catalog, filter", Pkg: "./internal/cli", Bench: "BenchmarkStartup", Metric: "ns/op",
		Target: "< 25 ms", Meets: func(v float64) bool { return v < 25e6 }, Display: func(v float64) string { return ms(v / 1e6) }},
	{What: "finding-store round trip per event (SQLite)", Pkg: "./shared/state/sqlite", Bench: "BenchmarkSQLiteRoundTrip", Metric: "ns/op",
		Display: us},
}

// builtinTypes adds one figure per resource type of the built-in pack.
const builtinPkg, builtinBench = "./shared/policy/pack", "BenchmarkEvaluateBuiltin"

func main() {
	out := flag.String("o", "docs/benchmarks.md", "report file")
	count := flag.Int("count", 5, "runs per benchmark (the median is reported)")
	flag.Parse()
	if err := run(*out, *count); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// results maps "pkg bench" to metric → values.
type results map[string]map[string][]float64

func run(out string, count int) error {
	pkgs := map[string][]string{}
	for _, f := range figures {
		if !slices.Contains(pkgs[f.Pkg], f.Bench) {
			pkgs[f.Pkg] = append(pkgs[f.Pkg], f.Bench)
		}
	}
	pkgs[builtinPkg] = append(pkgs[builtinPkg], builtinBench)
	res := results{}
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		re := "^(" + strings.Join(pkgs[p], "|") + ")$"
		fmt.Fprintf(os.Stderr, "bench %s %s\n", p, re)
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", re, "-benchmem", "-cpu", "1", "-count", strconv.Itoa(count), p)
		cmd.Stderr = os.Stderr
		b, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("go test -bench %s: %w\n%s", p, err, b)
		}
		parse(p, b, res)
	}
	return os.WriteFile(out, render(res, count), 0o644)
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

func render(res results, count int) []byte {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench` (`go run ./internal/benchreport`); do not edit by hand.\n\n")
	fmt.Fprintf(&b, "- date: %s\n- go: %s %s/%s\n- machine: %s, %d logical CPUs\n- method: `go test -bench -cpu 1 -count %d`, median of the runs; percentiles are per-iteration timings inside a run.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.Version(), runtime.GOOS, runtime.GOARCH, cpuModel(), runtime.NumCPU(), count)
	b.WriteString("| figure | measured | target | met |\n|---|---|---|---|\n")
	for _, f := range figures {
		v, ok := median(res[f.Pkg+" "+f.Bench][f.Metric])
		if !ok {
			fmt.Fprintf(&b, "| %s | not measured | %s | – |\n", f.What, dash(f.Target))
			continue
		}
		met := "–"
		if f.Meets != nil {
			met = "yes"
			if !f.Meets(v) {
				met = "**no**"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", f.What, f.Display(v), dash(f.Target), met)
	}
	b.WriteString("\n## Evaluation per resource type (built-in pack)\n\n")
	b.WriteString("A passing document of each type against every built-in rule of that type. Target: p50 < 20 µs.\n\n")
	b.WriteString("| resource type | p50 | p99 | met |\n|---|---|---|---|\n")
	var keys []string
	for k := range res {
		if strings.HasPrefix(k, builtinPkg+" "+builtinBench+"/") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		p50, _ := median(res[k]["p50-ns"])
		p99 := "–"
		if v, ok := median(res[k]["p99-ns"]); ok {
			p99 = us(v)
		}
		met := "yes"
		if p50 >= 20000 {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", strings.TrimPrefix(k, builtinPkg+" "+builtinBench+"/"), us(p50), p99, met)
	}
	b.WriteString(notes)
	return []byte(b.String())
}

const notes = `
## Notes

- The machine is shared: wall-clock figures move with its load. The decode benchmark also reports
  events per CPU-second of the process, which load does not inflate.
- Start-up excludes creating AWS SDK clients, which the detector does lazily on first use per
  service and region.
- How each figure is measured is in the benchmark's doc comment.
`

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
