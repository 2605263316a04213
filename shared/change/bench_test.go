package change_test

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/filter"
)

// benchRecord is a 1.6 KB compact DescribeInstances record made by an
// assumed role, the most common kind of noise in a trail.
func benchRecord(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile("testdata/bench-describe-instances.json")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecodeFilterReadOnly decodes one read-only record and filters it
// out. Run it with -cpu 1: events/s = 1e9 / ns/op.
func BenchmarkDecodeFilterReadOnly(b *testing.B) {
	data := benchRecord(b)
	f, err := filter.New([]string{"arn:aws:iam::123456789012:role/driftwatch-*"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		c, err := change.DecodeRecord("bench", data)
		if err != nil {
			b.Fatal(err)
		}
		if f.Check(&c) != filter.ReadOnly {
			b.Fatal("not filtered as read-only")
		}
	}
	reportRates(b, cpu0, 1)
}

// reportRates reports events per wall-clock second and per second of CPU
// the process used: on a loaded machine the second is the honest one.
// perOp is the number of events one op decodes.
func reportRates(b *testing.B, cpu0 time.Duration, perOp int) {
	events := float64(b.N * perOp)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(events/cpu.Seconds(), "events/cpu-s")
	}
}

// cpuTime is the user+system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecodeSeqLogFile decodes and filters a CloudTrail log file of
// 1000 such records through DecodeSeq, as the log-file reader does. One op
// is the whole file.
func BenchmarkDecodeSeqLogFile(b *testing.B) {
	rec := benchRecord(b)
	rec = rec[:len(rec)-1] // the trailing newline
	const n = 1000
	data := []byte(`{"Records":[`)
	for i := range n {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, rec...)
	}
	data = append(data, "]}"...)
	f, err := filter.New(nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		got := 0
		for c, err := range change.DecodeSeq("bench", data) {
			if err != nil {
				b.Fatal(err)
			}
			if f.Check(c) == filter.ReadOnly {
				got++
			}
		}
		if got != n {
			b.Fatalf("%d read-only changes, want %d", got, n)
		}
	}
	reportRates(b, cpu0, n)
}
