package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"
	"github.com/driftwatch/driftwatch/shared/state/statetest"
)

func open(t testing.TB, path string, now func() time.Time) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{Now: now})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformanceFile(t *testing.T) {
	statetest.Run(t, func(t *testing.T, now func() time.Time) finding.Store {
		return open(t, filepath.Join(t.TempDir(), "findings.db"), now)
	})
}

func TestConformanceMemory(t *testing.T) {
	statetest.Run(t, func(t *testing.T, now func() time.Time) finding.Store {
		return open(t, sqlite.Memory, now)
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	// A path with characters that mean something in a file: URI.
	path := filepath.Join(t.TempDir(), "odd dir #1?", "f%20.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	k := finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: "arn:aws:s3:::b", RuleID: "r"}
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Insert(ctx, statetest.Sample(k)); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if _, err := s.MarkSeen(ctx, "ev", time.Hour); err != nil {
		t.Fatalf("MarkSeen: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the path given: %v", err)
	}

	s = open(t, path, nil) // migrates nothing, keeps the data
	if f, err := s.Get(ctx, k); err != nil || f.Version != 1 {
		t.Errorf("Get after reopening = %+v, %v", f, err)
	}
	if seen, err := s.Seen(ctx, "ev"); err != nil || !seen {
		t.Errorf("Seen after reopening = %v, %v", seen, err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), "", sqlite.Options{}); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	dir := t.TempDir()
	if _, err := sqlite.Open(context.Background(), filepath.Join(dir, "missing", "sub", "x.db"), sqlite.Options{}); err == nil || !strings.Contains(err.Error(), "open finding store") {
		t.Errorf("Open in a missing directory: %v", err)
	}
}

func TestPurgeExpired(t *testing.T) {
	ctx := context.Background()
	clock := statetest.NewClock()
	s := open(t, sqlite.Memory, clock.Now)
	for i := range 5 {
		if _, err := s.MarkSeen(ctx, fmt.Sprint("short", i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.MarkSeen(ctx, "long", time.Hour); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	n, err := s.PurgeExpired(ctx)
	if err != nil || n != 5 {
		t.Errorf("PurgeExpired = %d, %v; want 5", n, err)
	}
	if seen, _ := s.Seen(ctx, "long"); !seen {
		t.Error("unexpired mark purged")
	}
}

func TestInsertInvalidKey(t *testing.T) {
	s := open(t, sqlite.Memory, nil)
	f := statetest.Sample(finding.Key{Cloud: "aws", Account: "1", RuleID: "r"})
	if err := s.Insert(context.Background(), f); err == nil || errors.Is(err, finding.ErrExists) {
		t.Errorf("Insert with an empty resource ID: %v", err)
	}
}

// BenchmarkSQLiteRoundTrip measures the store work of one event on an open
// finding, on a file database: MarkSeen, Get, then the conditional Update.
func BenchmarkSQLiteRoundTrip(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "bench.db"), nil)
	const keys = 100
	fs := make([]finding.Key, keys)
	for i := range keys {
		fs[i] = finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: fmt.Sprintf("arn:aws:s3:::bucket-%03d", i), RuleID: "aws-s3-bucket-public-acl"}
		if err := s.Insert(ctx, statetest.Sample(fs[i])); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		first, err := s.MarkSeen(ctx, fmt.Sprintf("event-%d", i), time.Hour)
		if err != nil || !first {
			b.Fatalf("MarkSeen = %v, %v", first, err)
		}
		f, err := s.Get(ctx, fs[i%keys])
		if err != nil {
			b.Fatal(err)
		}
		f.Count++
		if err := s.Update(ctx, f); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSQLiteApply measures Lifecycle.Apply for one change that repeats
// an open finding (one verdict), on a file database, without notifiers.
func BenchmarkSQLiteApply(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "bench.db"), nil)
	lc := &finding.Lifecycle{Store: s}
	ref := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::logs", Account: "123456789012"}
	in := func(i int) finding.Input {
		return finding.Input{
			Change: &change.Change{Cloud: change.AWS, EventID: fmt.Sprintf("event-%d", i), Time: time.Now(), Account: "123456789012",
				Principal: change.Principal{ARN: "arn:aws:iam::123456789012:user/alice"}},
			Checks: []finding.Check{{Resource: resource.Resource{Ref: ref, Exists: true},
				Verdicts: []policy.Verdict{{RuleID: "aws-s3-bucket-public-acl", Resource: ref, Result: policy.Fail, Message: "public"}}}},
		}
	}
	if _, err := lc.Apply(ctx, in(-1)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		trs, err := lc.Apply(ctx, in(i))
		if err != nil || trs[0].Kind != finding.Repeated {
			b.Fatalf("Apply = %+v, %v", trs, err)
		}
		i++
	}
}
