package catalog_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/change"
)

// batch is how many resolutions one timing covers, so that reading the
// clock does not dominate a sample.
const batch = 16

// BenchmarkResolve finds the touched resource of a watched write (a
// security group from AuthorizeSecurityGroupIngress, a real record from
// events/aws) in the built-in catalog: lookup of the operation, the ID
// from requestParameters, the ARN. p50-ns and p99-ns are per resolution,
// each sample the mean of a batch of 16.
func BenchmarkResolve(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("../../events/aws", "ec2-authorize-security-group-ingress-ssh-world-anonymized-cidr.json"))
	if err != nil {
		b.Fatal(err)
	}
	c, err := change.DecodeRecord("bench", data)
	if err != nil {
		b.Fatal(err)
	}
	cat := catalog.Default()
	if ok, err := cat.Resolve(&c); !ok || err != nil || len(c.Resources) != 1 {
		b.Fatalf("resolve: %v %v %v", ok, err, c.Resources)
	}
	b.ReportAllocs()
	var samples []time.Duration
	for b.Loop() {
		start := time.Now()
		for range batch {
			if _, err := cat.Resolve(&c); err != nil {
				b.Fatal(err)
			}
		}
		samples = append(samples, time.Since(start)/batch)
	}
	b.StopTimer()
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
}
