package finding_test

import (
	"context"
	"fmt"
	"iter"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/state/statetest"
)

// memStore is an in-memory finding.Store. The func fields, when set, run
// before the operation and can fail it.
type memStore struct {
	mu       sync.Mutex
	now      func() time.Time
	findings map[string]*finding.Finding
	seen     map[string]time.Time

	beforeGet    func(k finding.Key) error
	beforeUpdate func(f *finding.Finding) error
	beforeMark   func(id string) error
	// loseReplies is how many of the next writes succeed but report a
	// lost condition, like an SDK retry of a write that had landed.
	loseReplies int
}

var _ finding.Store = (*memStore)(nil)

func newMemStore(now func() time.Time) *memStore {
	return &memStore{now: now, findings: map[string]*finding.Finding{}, seen: map[string]time.Time{}}
}

func (s *memStore) Get(_ context.Context, k finding.Key) (*finding.Finding, error) {
	if s.beforeGet != nil {
		if err := s.beforeGet(k); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.findings[k.String()]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", k, finding.ErrNotFound)
	}
	return f.Clone(), nil
}

func (s *memStore) Insert(_ context.Context, f *finding.Finding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.findings[f.Key.String()]; ok {
		return fmt.Errorf("insert %s: %w", f.Key, finding.ErrExists)
	}
	stored := f.Clone()
	stored.Version = 1
	s.findings[f.Key.String()] = stored
	if s.loseReplies > 0 {
		s.loseReplies--
		return fmt.Errorf("insert %s: %w", f.Key, finding.ErrExists)
	}
	f.Version = 1
	return nil
}

func (s *memStore) Update(_ context.Context, f *finding.Finding) error {
	if s.beforeUpdate != nil {
		if err := s.beforeUpdate(f); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.findings[f.Key.String()]
	if !ok || cur.Version != f.Version {
		return fmt.Errorf("update %s: %w", f.Key, finding.ErrConflict)
	}
	stored := f.Clone()
	stored.Version++
	s.findings[f.Key.String()] = stored
	if s.loseReplies > 0 {
		s.loseReplies--
		return fmt.Errorf("update %s: %w", f.Key, finding.ErrConflict)
	}
	f.Version++
	return nil
}

func (s *memStore) List(_ context.Context, status finding.Status) iter.Seq2[*finding.Finding, error] {
	s.mu.Lock()
	var out []*finding.Finding
	for _, f := range s.findings {
		if f.Status == status {
			out = append(out, f.Clone())
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return func(yield func(*finding.Finding, error) bool) {
		for _, f := range out {
			if !yield(f, nil) {
				return
			}
		}
	}
}

func (s *memStore) Seen(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.seen[id]
	return ok && s.now().Before(exp), nil
}

func (s *memStore) MarkSeen(_ context.Context, id string, ttl time.Duration) (bool, error) {
	if s.beforeMark != nil {
		if err := s.beforeMark(id); err != nil {
			return false, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.seen[id]; ok && s.now().Before(exp) {
		return false, nil
	}
	s.seen[id] = s.now().Add(ttl)
	return true, nil
}

// TestMemStoreConformance checks the fake against the store contract, so
// that the lifecycle tests below run against a faithful store.
func TestMemStoreConformance(t *testing.T) {
	statetest.Run(t, func(_ *testing.T, now func() time.Time) finding.Store { return newMemStore(now) })
}
