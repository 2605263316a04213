package filter_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/filter"
)

// batch is how many checks one timing covers: a check takes tens of
// nanoseconds, about what reading the clock costs, so each sample is the
// mean of a batch.
const batch = 16

// BenchmarkFilterWatched runs the noise filter, as the detector builds it
// (an own-principal pattern, the catalog's watched operations), on a
// watched write that it keeps: every test is made. p50-ns and p99-ns are
// per check, each sample the mean of a batch of 16.
func BenchmarkFilterWatched(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("../../events/aws", "ec2-authorize-security-group-ingress-ssh-world-anonymized-cidr.json"))
	if err != nil {
		b.Fatal(err)
	}
	c, err := change.DecodeRecord("bench", data)
	if err != nil {
		b.Fatal(err)
	}
	f, err := filter.New([]string{"arn:aws:iam::*:role/driftwatch-*"}, catalog.Default().Watched)
	if err != nil {
		b.Fatal(err)
	}
	if r := f.Check(&c); r != filter.Keep {
		b.Fatalf("filtered out: %s", r)
	}
	b.ReportAllocs()
	var samples []time.Duration
	for b.Loop() {
		start := time.Now()
		for range batch {
			if f.Check(&c) != filter.Keep {
				b.Fatal("filtered out")
			}
		}
		samples = append(samples, time.Since(start)/batch)
	}
	b.StopTimer()
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
}
