package change_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
)

// watchedEnvelope is a real watched write (AuthorizeSecurityGroupIngress
// opening SSH, a Stratus Red Team record from events/aws) compacted and
// wrapped in the EventBridge envelope the detector receives as an SQS
// message body: 1.5 KB.
func watchedEnvelope(b *testing.B) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, "ec2-authorize-security-group-ingress-ssh-world-anonymized-cidr.json"))
	if err != nil {
		b.Fatal(err)
	}
	var rec bytes.Buffer
	if err := json.Compact(&rec, raw); err != nil {
		b.Fatal(err)
	}
	var env bytes.Buffer
	env.WriteString(`{"version":"0","id":"7f1c2b8e-2a44-4c6e-9d5b-0c7f3a1e9b21","detail-type":"AWS API Call via CloudTrail",` +
		`"source":"aws.ec2","account":"032092706103","time":"2024-08-01T12:23:55Z","region":"us-east-1","resources":[],"detail":`)
	env.Write(rec.Bytes())
	env.WriteString("}")
	return env.Bytes()
}

// BenchmarkDecodeWatched decodes one watched write as the detector gets
// it (an EventBridge event in an SQS message body) with change.Decode, as
// shared/lambdahandler does. p50-ns and p99-ns are per-event timings.
func BenchmarkDecodeWatched(b *testing.B) {
	data := watchedEnvelope(b)
	if chs, errs := change.Decode("bench", data); len(errs) > 0 || len(chs) != 1 || chs[0].Operation != "AuthorizeSecurityGroupIngress" {
		b.Fatalf("decode: %d changes, %v", len(chs), errs)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	durations := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		chs, errs := change.Decode("bench", data)
		durations = append(durations, time.Since(start))
		if len(errs) > 0 || len(chs) != 1 {
			b.Fatal("decode failed")
		}
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(durations[len(durations)*99/100].Nanoseconds()), "p99-ns")
}
