package revert

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Default revert budget: at most DefaultBudgetLimit reverts of one resource
// per DefaultBudgetWindow.
const (
	DefaultBudgetLimit  = 3
	DefaultBudgetWindow = time.Hour
)

// Budget limits how often one resource is reverted. A resource reverted
// Limit times within Window is flapping (something keeps undoing the
// revert: a deployment pipeline, a person, an attacker), and reverting it
// again would only fight it: its reverts pause until the oldest leaves the
// window.
type Budget interface {
	// Take spends one revert of the resource key and reports true, or
	// reports false when the key's reverts in the window are at the limit
	// (spending nothing).
	Take(ctx context.Context, key string) (bool, error)
	// Limit returns the number of reverts allowed per window.
	Limit() (n int, window time.Duration)
}

// MemoryBudget is a Budget kept in memory, for one process (the CLI, a
// test, a single long-running worker). It is safe for concurrent use.
type MemoryBudget struct {
	n      int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	spent map[string][]time.Time
}

// NewMemoryBudget returns a budget of n reverts per window for each key (n
// and window below 1 take the defaults).
func NewMemoryBudget(n int, window time.Duration) *MemoryBudget {
	if n < 1 {
		n = DefaultBudgetLimit
	}
	if window <= 0 {
		window = DefaultBudgetWindow
	}
	return &MemoryBudget{n: n, window: window, now: time.Now, spent: map[string][]time.Time{}}
}

// Take implements Budget.
func (b *MemoryBudget) Take(_ context.Context, key string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	recent := b.spent[key][:0]
	for _, at := range b.spent[key] {
		if now.Sub(at) < b.window {
			recent = append(recent, at)
		}
	}
	if len(recent) >= b.n {
		b.spent[key] = recent
		return false, nil
	}
	b.spent[key] = append(recent, now)
	return true, nil
}

// Limit implements Budget.
func (b *MemoryBudget) Limit() (int, time.Duration) { return b.n, b.window }

// Marker is the part of finding.Store a StoreBudget uses: a conditional,
// expiring mark (what marks processed event IDs).
type Marker interface {
	// MarkSeen marks id for ttl if it is not marked (an expired mark
	// counts as absent) and reports whether this call made the mark.
	MarkSeen(ctx context.Context, id string, ttl time.Duration) (first bool, err error)
}

// StoreBudget is a Budget kept in a shared store (finding.Store: SQLite or
// DynamoDB), so that every worker of a deployment spends from the same
// budget.
//
// A key has n slots, marks named "revert-budget/<key>/<i>" that expire
// after the window. Take claims the first free slot with a conditional
// mark; with every slot held, the key is at its limit. A slot is held for
// exactly one window from the revert that claimed it, so no window ever
// holds more than n reverts of a key, and concurrent workers cannot claim
// the same slot.
type StoreBudget struct {
	marks  Marker
	n      int
	window time.Duration
}

// NewStoreBudget returns a budget of n reverts per window for each key,
// kept in marks (n and window below 1 take the defaults).
func NewStoreBudget(marks Marker, n int, window time.Duration) (*StoreBudget, error) {
	if marks == nil {
		return nil, errors.New("new store budget: no store")
	}
	if n < 1 {
		n = DefaultBudgetLimit
	}
	if window <= 0 {
		window = DefaultBudgetWindow
	}
	return &StoreBudget{marks: marks, n: n, window: window}, nil
}

// Take implements Budget.
func (b *StoreBudget) Take(ctx context.Context, key string) (bool, error) {
	for i := range b.n {
		first, err := b.marks.MarkSeen(ctx, "revert-budget/"+key+"/"+strconv.Itoa(i), b.window)
		if err != nil {
			return false, fmt.Errorf("claim revert budget slot %d of %s: %w", i, key, err)
		}
		if first {
			return true, nil
		}
	}
	return false, nil
}

// Limit implements Budget.
func (b *StoreBudget) Limit() (int, time.Duration) { return b.n, b.window }
