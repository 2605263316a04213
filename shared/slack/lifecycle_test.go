package slack

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/slack/slackfake"
)

// memStore is an in-memory finding.Store with conditional writes.
type memStore struct {
	mu       sync.Mutex
	findings map[finding.Key]*finding.Finding
	seen     map[string]time.Time
}

var _ finding.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{findings: map[finding.Key]*finding.Finding{}, seen: map[string]time.Time{}}
}

func (s *memStore) Get(_ context.Context, k finding.Key) (*finding.Finding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.findings[k]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", k, finding.ErrNotFound)
	}
	return f.Clone(), nil
}

func (s *memStore) Insert(_ context.Context, f *finding.Finding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.findings[f.Key]; ok {
		return fmt.Errorf("insert %s: %w", f.Key, finding.ErrExists)
	}
	f.Version = 1
	s.findings[f.Key] = f.Clone()
	return nil
}

func (s *memStore) Update(_ context.Context, f *finding.Finding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.findings[f.Key]
	if !ok || cur.Version != f.Version {
		return fmt.Errorf("update %s: %w", f.Key, finding.ErrConflict)
	}
	f.Version++
	s.findings[f.Key] = f.Clone()
	return nil
}

func (s *memStore) List(_ context.Context, status finding.Status) iter.Seq2[*finding.Finding, error] {
	s.mu.Lock()
	var out []*finding.Finding
	for _, k := range slices.SortedFunc(maps.Keys(s.findings), func(a, b finding.Key) int {
		return compareStrings(a.String(), b.String())
	}) {
		if f := s.findings[k]; f.Status == status {
			out = append(out, f.Clone())
		}
	}
	s.mu.Unlock()
	return func(yield func(*finding.Finding, error) bool) {
		for _, f := range out {
			if !yield(f, nil) {
				return
			}
		}
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *memStore) Seen(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.seen[id]
	return ok && time.Now().Before(until), nil
}

func (s *memStore) MarkSeen(_ context.Context, id string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until, ok := s.seen[id]; ok && time.Now().Before(until) {
		return false, nil
	}
	s.seen[id] = time.Now().Add(ttl)
	return true, nil
}

// TestThroughLifecycle drives the Notifier through finding.Lifecycle:
// duplicate deliveries, a repeat by another principal and the fix give one
// alert, updated in place, with its thread.
func TestThroughLifecycle(t *testing.T) {
	ctx := context.Background()
	srv := slackfake.Start(t, testToken)
	n := botNotifier(t, srv)
	lc := &finding.Lifecycle{Store: newMemStore(), Notifiers: []finding.Notifier{n}}

	bucket := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::acme-logs", Account: "123456789012", Region: "us-east-1"}
	rule := &policy.Rule{ID: "aws-s3-bucket-policy-public", Title: "S3 bucket policy allows public access", Severity: "high"}
	in := func(eventID, who string, at time.Time, result policy.Result) finding.Input {
		return finding.Input{
			Change: &change.Change{Cloud: change.AWS, EventID: eventID, Time: at, Account: bucket.Account, Region: bucket.Region,
				Service: "s3.amazonaws.com", Operation: "PutBucketPolicy", Principal: change.Principal{ARN: who, Type: "IAMUser"},
				SourceIP: "203.0.113.10", UserAgent: "aws-cli/2"},
			ObservedAt: at,
			Checks: []finding.Check{{
				Resource: resource.Resource{Ref: bucket, Exists: true},
				Verdicts: []policy.Verdict{{Rule: rule, RuleID: rule.ID, Severity: rule.Severity, Resource: bucket, Result: result,
					Message: "policy allows s3:GetObject to *"}},
			}},
		}
	}
	alice, bob := "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"
	for i, step := range []finding.Input{
		in("e1", alice, t0, policy.Fail),
		in("e1", alice, t0, policy.Fail), // delivered twice
		in("e2", alice, t0.Add(time.Minute), policy.Fail),
		in("e3", bob, t0.Add(2*time.Minute), policy.Fail),
		in("e4", bob, t0.Add(3*time.Minute), policy.Pass),
	} {
		if _, err := lc.Apply(ctx, step); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	top := srv.TopLevel()
	if len(top) != 1 {
		t.Fatalf("%d top-level posts, want 1", len(top))
	}
	// e2 (same principal) and e3 (bob) updated the alert, e4 resolved it.
	if top[0].Updates != 3 {
		t.Errorf("alert updated %d times, want 3", top[0].Updates)
	}
	replies := srv.Thread(top[0].Channel, top[0].TS)
	if len(replies) != 2 {
		t.Fatalf("%d thread replies, want 2 (bob's change, the resolution)", len(replies))
	}
	stored, err := lc.Store.Get(ctx, finding.Key{Cloud: "aws", Account: bucket.Account, ResourceID: bucket.ID, RuleID: rule.ID})
	if err != nil {
		t.Fatal(err)
	}
	if stored.SlackChannel != top[0].Channel || stored.SlackTS != top[0].TS || stored.Status != finding.StatusResolved || len(stored.Outbox) != 0 {
		t.Errorf("stored finding: channel %q ts %q status %s outbox %d; want the alert's refs, resolved, nothing owed",
			stored.SlackChannel, stored.SlackTS, stored.Status, len(stored.Outbox))
	}
}
