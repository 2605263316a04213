package finding

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrEmptyNote: a note without text (Lifecycle.Note).
var ErrEmptyNote = errors.New("empty note")

// Note records a note about the finding with the key, for people: the
// result of a revert ("reverted … (verified by a re-read)", "would revert
// … with the calls", "flapping — revert paused …"). severity, when set,
// is the severity the note asks to be alerted at (a flapping resource:
// high); "" is a plain note.
//
// The note is queued in the finding's outbox by a conditional write and
// delivered like the notices of transitions (Notifier.Repeated with
// n.Kind Noted), under the finding's delivery lease: once per notifier,
// even when several processes note the same finding at once. A note is
// never muted. Noting a finding that does not exist fails with
// ErrNotFound; with no notifiers the note is not stored.
func (l *Lifecycle) Note(ctx context.Context, key Key, text, severity string) (*Finding, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("note finding %s: %w", key, ErrEmptyNote)
	}
	return l.annotate(ctx, key, nil, text, severity)
}

// Record records action a on the finding with the key (Finding.Record)
// and, when a.Result is set, notes it as Note does, in the same
// conditional write: what driftwatch or a person did to the finding
// reaches the finding's history, the Slack thread and the ticket together.
func (l *Lifecycle) Record(ctx context.Context, key Key, a Action, severity string) (*Finding, error) {
	if a.At.IsZero() {
		a.At = l.now()
	}
	return l.annotate(ctx, key, &a, a.Result, severity)
}

// MarkSeen marks the change with the event ID processed (as Apply does
// when its input is complete). A caller that applies a change in several
// steps (detection, then reverts) applies it as incomplete and marks it
// once every step is done.
func (l *Lifecycle) MarkSeen(ctx context.Context, eventID string) error {
	if eventID == "" {
		return nil
	}
	if _, err := l.Store.MarkSeen(ctx, eventID, l.seenTTL()); err != nil {
		return fmt.Errorf("mark event %s seen: %w", eventID, err)
	}
	return nil
}

// annotate records action (if any) and queues a note with text (if any),
// then delivers what the finding owes if this call took its lease.
func (l *Lifecycle) annotate(ctx context.Context, key Key, action *Action, text, severity string) (*Finding, error) {
	if l.Store == nil {
		return nil, errors.New("note finding: finding lifecycle has no store")
	}
	if action == nil && len(l.Notifiers) == 0 {
		// Nobody to tell, nothing to store.
		f, err := l.Store.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("get finding %s: %w", key, err)
		}
		return f, nil
	}
	id := noteID()
	var lastOwner string // lease token of the previous attempt's write
	for attempt := range maxAttempts {
		cur, err := l.Store.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("get finding %s: %w", key, err)
		}
		if attempt > 0 && landed(cur, id, action) {
			// The previous attempt's write landed although the store
			// reported a conflict: it was ours.
			if lastOwner != "" && cur.LeaseOwner == lastOwner {
				return l.deliver(ctx, cur, lastOwner)
			}
			return cur, nil
		}
		next := cur.Clone()
		if action != nil {
			next.Record(*action)
		}
		if strings.TrimSpace(text) != "" && len(l.Notifiers) > 0 {
			l.push(next, Notice{Kind: Noted, Occurrence: next.Occurrence, Note: text, Severity: severity, ID: id})
		}
		owner := ""
		if len(l.Notifiers) > 0 && len(next.Outbox) > 0 && !l.leased(next) {
			owner = l.takeLease(next)
		}
		err = l.Store.Update(ctx, next)
		if errors.Is(err, ErrConflict) {
			lastOwner = owner
			continue
		}
		if err != nil {
			return cur, fmt.Errorf("store note on finding %s: %w", key, err)
		}
		if owner != "" {
			return l.deliver(ctx, next, owner)
		}
		return next, nil
	}
	return nil, fmt.Errorf("note finding %s: %w", key, ErrContention)
}

// landed reports whether f holds the note with the ID (still undelivered)
// or the action: a write that landed.
func landed(f *Finding, id string, action *Action) bool {
	if slices.ContainsFunc(f.Outbox, func(n Notice) bool { return n.ID == id }) {
		return true
	}
	return action != nil && slices.ContainsFunc(f.Actions, func(a Action) bool {
		return a.Kind == action.Kind && a.By == action.By && a.At.Equal(action.At) && a.Result == action.Result
	})
}

// noteID returns a random ID for a note.
func noteID() string {
	b := make([]byte, leaseTokenLen)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
