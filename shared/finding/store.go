package finding

import (
	"context"
	"errors"
	"iter"
	"time"
)

// Errors a Store returns (wrapped) for the outcomes the lifecycle branches on.
var (
	// ErrNotFound: no finding has the key.
	ErrNotFound = errors.New("finding not found")
	// ErrExists: Insert found a finding with the key already there.
	ErrExists = errors.New("finding already exists")
	// ErrConflict: Update found another version than the one it was given
	// (someone else wrote in between), or no finding at all.
	ErrConflict = errors.New("finding version conflict")
)

// Store keeps findings and the set of processed event IDs. Every write is
// conditional, so that concurrent writers never overwrite each other. It is
// declared here, where it is used; shared/state/sqlite and
// shared/state/dynamo implement it, and shared/state/statetest checks an
// implementation against this contract.
type Store interface {
	// Get returns the finding with the key, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, key Key) (*Finding, error)
	// Insert stores f if no finding has its key, and sets f.Version to 1;
	// otherwise it returns an error wrapping ErrExists and stores nothing.
	Insert(ctx context.Context, f *Finding) error
	// Update replaces the stored finding if its version is f.Version, and
	// increments f.Version; otherwise it returns an error wrapping
	// ErrConflict and stores nothing.
	Update(ctx context.Context, f *Finding) error
	// List yields the findings with the status, in key order. Findings
	// written during the iteration may or may not be yielded.
	List(ctx context.Context, status Status) iter.Seq2[*Finding, error]
	// Seen reports whether the event ID was marked and has not expired.
	Seen(ctx context.Context, eventID string) (bool, error)
	// MarkSeen marks the event ID as processed for ttl, if it is not marked
	// already (an expired mark counts as absent), and reports whether this
	// call made the mark.
	MarkSeen(ctx context.Context, eventID string, ttl time.Duration) (first bool, err error)
}
