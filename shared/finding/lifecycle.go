package finding

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Kind says what a verdict did to its finding.
type Kind string

// Kinds of transition.
const (
	// Opened: a failing verdict opened the finding (new key, or a resolved
	// or suppressed finding opened again). Announced once.
	Opened Kind = "opened"
	// Repeated: another failing change on an open (or suppressed) finding.
	Repeated Kind = "repeated"
	// RepeatedNewPrincipal: like Repeated, by another principal than the
	// newest change recorded.
	RepeatedNewPrincipal Kind = "repeated_new_principal"
	// Resolved: a passing verdict on an open or suppressed finding; the
	// reason is fixed, or deleted when the resource no longer exists.
	Resolved Kind = "resolved"
	// Suppressed: a failing verdict the Waiver covers, on a new or open
	// finding. Recorded, not announced.
	Suppressed Kind = "suppressed"
	// Unchanged: nothing to do (a pass on an unknown or resolved key, a
	// change already applied, a stale read).
	Unchanged Kind = "unchanged"
	// Errored: the rule could not be evaluated. An error never opens nor
	// resolves a finding; the caller reports it.
	Errored Kind = "errored"
	// Noted: not a transition but a note about the finding (Lifecycle.Note,
	// Lifecycle.Record): the result of a revert, a pause of the reverts of
	// a flapping resource. Its text is Notice.Note. Announced through
	// Notifier.Repeated, never muted.
	Noted Kind = "noted"
)

// ErrContention: a finding kept changing under the lifecycle's conditional
// writes and it gave up; the caller retries the event later.
var ErrContention = errors.New("finding changed concurrently too many times")

const (
	maxAttempts   = 16
	maxEvents     = 32
	maxOutbox     = 32
	defaultTTL    = 7 * 24 * time.Hour
	defaultLease  = 2 * time.Minute
	leaseTokenLen = 8
)

// Notifier announces findings: Slack, a ticket system, an event bus. The
// lifecycle calls it once per notice and notifier, from the one process that
// holds the finding's delivery lease, and stores the refs it returns before
// the next call.
//
// Each method gets a copy of the finding as stored (with the refs of earlier
// notices) and the notice, which carries what is specific to the transition
// (its change, its resolve reason, its occurrence). A notice whose delivery
// failed or whose deliverer crashed before storing the refs is delivered
// again, so a notifier should make a repeat harmless where it can (a ticket
// system searches for an open ticket with Key.Label before creating one).
type Notifier interface {
	// Name identifies the notifier in Notice.Done ("slack", "jira").
	Name() string
	// Opened announces a new occurrence: a new message or ticket, whose
	// refs replace the finding's.
	Opened(ctx context.Context, f *Finding, n Notice) (Refs, error)
	// Repeated tells that another change kept the finding failing
	// (n.Kind is Repeated or RepeatedNewPrincipal): a thread reply, a
	// comment. It also delivers notes (n.Kind Noted, the text in n.Note,
	// an alert severity in n.Severity): a thread reply, a comment, an
	// event; a note does not replace the alert.
	Repeated(ctx context.Context, f *Finding, n Notice) (Refs, error)
	// Resolved tells that the finding was resolved (n.Reason): update the
	// message, close the ticket.
	Resolved(ctx context.Context, f *Finding, n Notice) (Refs, error)
}

// Waiver decides whether an exception covers a failing finding. It sees the
// finding as it is about to be stored (f.Change is the newest change, so a
// principal allowlist can read f.Change.PrincipalARN) and is asked on every
// failing verdict, so an expired exception opens the finding again on the
// next check.
type Waiver interface {
	// Waive reports whether an exception covers f, and why. An error fails
	// the verdict's application (the change is retried), never waives.
	Waive(ctx context.Context, f *Finding) (reason string, waived bool, err error)
}

// Input is what the pipeline learned from one change: detect.Outcome reduced
// to what the lifecycle reads.
//
//	in := finding.Input{Change: o.Change, ObservedAt: readStart, Incomplete: o.Failed()}
//	for _, c := range o.Checked {
//		if c.Err == nil {
//			in.Checks = append(in.Checks, finding.Check{Resource: c.Resource, Verdicts: c.Verdicts})
//		}
//	}
type Input struct {
	// Change is the change that led to the checks; nil for a scan.
	Change *change.Change
	Checks []Check
	// ObservedAt is when the resources were read (before the reads
	// started); zero means now. A verdict read before the finding's
	// CheckedAt is stale and changes nothing.
	ObservedAt time.Time
	// Incomplete says some touched resource could not be resolved or read
	// (detect.Outcome.Failed): the change will be retried, so Apply does not
	// mark it seen.
	Incomplete bool
}

// Check is one resource as read, with its verdicts.
type Check struct {
	// Resource is the resource as read; Exists false makes a pass resolve
	// with ReasonDeleted.
	Resource resource.Resource
	Verdicts []policy.Verdict
}

// Transition is what one verdict did.
type Transition struct {
	Kind Kind
	Key  Key
	// Finding is the finding after the transition and any announcement, as
	// stored; nil when nothing is stored for the key, and for Errored,
	// which reads nothing.
	Finding *Finding
	Verdict policy.Verdict
}

// Lifecycle applies verdicts to findings in a Store and announces the
// transitions through its Notifiers. It is safe for concurrent use, also by
// several processes sharing one store.
type Lifecycle struct {
	Store Store
	// Notifiers announce transitions; none means findings are only stored.
	Notifiers []Notifier
	// Waiver, if set, suppresses failing findings that an exception covers.
	Waiver Waiver
	// SeenTTL is how long a processed event ID is remembered (default 7
	// days). It should exceed the longest redelivery delay of the source.
	SeenTTL time.Duration
	// Lease is how long a process may take to deliver a finding's notices
	// before another may take over (default 2 minutes). It should exceed the
	// slowest notifier call, retries included.
	Lease time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Seen reports whether the change with the event ID was already processed
// completely. Callers check it before running the pipeline, to spare the
// live reads of a duplicate delivery; Apply marks the ID once it is done.
func (l *Lifecycle) Seen(ctx context.Context, eventID string) (bool, error) {
	if eventID == "" {
		return false, nil
	}
	seen, err := l.Store.Seen(ctx, eventID)
	if err != nil {
		return false, fmt.Errorf("check whether event %s was seen: %w", eventID, err)
	}
	return seen, nil
}

// Apply applies every verdict of in to its finding and returns one
// Transition per verdict, in order, along with the errors of the verdicts
// that could not be applied or announced. When every verdict was applied
// and announced and in is complete, it marks the change's event ID seen
// last: a crash before that point makes the source deliver the change
// again, and applying it again is harmless (the finding remembers the
// events it counted, and undelivered notices are delivered by whoever
// touches the finding next).
func (l *Lifecycle) Apply(ctx context.Context, in Input) ([]Transition, error) {
	if l.Store == nil {
		return nil, errors.New("apply verdicts: finding lifecycle has no store")
	}
	obs := in.ObservedAt
	if obs.IsZero() {
		obs = l.now()
	}
	var (
		out  []Transition
		errs []error
	)
	for _, c := range in.Checks {
		for _, v := range c.Verdicts {
			tr, err := l.apply(ctx, in.Change, c.Resource, v, obs)
			out = append(out, tr)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	if in.Change != nil && in.Change.EventID != "" && !in.Incomplete {
		if _, err := l.Store.MarkSeen(ctx, in.Change.EventID, l.seenTTL()); err != nil {
			return out, fmt.Errorf("mark event %s seen: %w", in.Change.EventID, err)
		}
	}
	return out, nil
}

// Flush delivers the notices the finding still owes, unless another process
// holds its delivery lease. The sweeper calls it for findings whose
// deliverer crashed and that no change touches again.
func (l *Lifecycle) Flush(ctx context.Context, key Key) (*Finding, error) {
	for range maxAttempts {
		f, err := l.Store.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("get finding %s: %w", key, err)
		}
		if len(l.Notifiers) == 0 || len(f.Outbox) == 0 || l.leased(f) {
			return f, nil
		}
		next := f.Clone()
		owner := l.takeLease(next)
		if err := l.Store.Update(ctx, next); errors.Is(err, ErrConflict) {
			continue
		} else if err != nil {
			return f, fmt.Errorf("take delivery lease of finding %s: %w", key, err)
		}
		return l.deliver(ctx, next, owner)
	}
	return nil, fmt.Errorf("flush finding %s: %w", key, ErrContention)
}

// KeyFor returns the key of the finding a verdict is about. The cloud is
// the change's, or guessed from the resource ID (an ARN is AWS, an ID under
// /subscriptions/ Azure); the account is the resource's, else the change's.
func KeyFor(v policy.Verdict, ch *change.Change) (Key, error) {
	k := Key{ResourceID: v.Resource.ID, RuleID: v.RuleID, Account: v.Resource.Account}
	if ch != nil {
		k.Cloud = ch.Cloud
		if k.Account == "" {
			k.Account = ch.Account
		}
	}
	if k.Cloud == "" {
		switch {
		case strings.HasPrefix(k.ResourceID, "arn:"):
			k.Cloud = change.AWS
		case strings.HasPrefix(strings.ToLower(k.ResourceID), "/subscriptions/"):
			k.Cloud = change.Azure
		}
	}
	if err := k.Validate(); err != nil {
		return k, fmt.Errorf("key of verdict %s on %s: %w", v.RuleID, v.Resource.ID, err)
	}
	return k, nil
}

// apply applies one verdict: read, decide, conditional write, retry on
// conflict, then deliver what the write queued if this call took the lease.
func (l *Lifecycle) apply(ctx context.Context, ch *change.Change, res resource.Resource, v policy.Verdict, obs time.Time) (Transition, error) {
	if v.Resource.ID == "" {
		v.Resource = res.Ref
	}
	key, kerr := KeyFor(v, ch)
	tr := Transition{Kind: Unchanged, Key: key, Verdict: v}
	if v.Result != policy.Pass && v.Result != policy.Fail {
		tr.Kind = Errored
		return tr, nil
	}
	if kerr != nil {
		return tr, kerr
	}
	var lastOwner string // lease token of the previous attempt's write
	for range maxAttempts {
		cur, err := l.Store.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			cur, err = nil, nil
		}
		if err != nil {
			return tr, fmt.Errorf("get finding %s: %w", key, err)
		}
		if cur != nil && lastOwner != "" && cur.LeaseOwner == lastOwner {
			// The previous attempt's write landed although the store
			// reported a conflict (an SDK retry of a write whose first try
			// succeeded fails its own condition): it was ours.
			tr.Finding, err = l.deliver(ctx, cur, lastOwner)
			return tr, err
		}
		if cur == nil && v.Result == policy.Pass {
			return tr, nil
		}
		next, kind, err := l.decide(ctx, cur, key, ch, res, v, obs)
		if err != nil {
			return tr, err
		}
		tr.Kind = kind
		// Whoever writes a finding that owes notices while nobody holds its
		// lease takes the lease in the same conditional write, and delivers.
		owner, pending := "", next
		if pending == nil {
			pending = cur // never nil: a pass on an unknown key returned above
		}
		if len(l.Notifiers) > 0 && len(pending.Outbox) > 0 && !l.leased(pending) {
			if next == nil {
				next = cur.Clone()
			}
			owner = l.takeLease(next)
		}
		if next == nil {
			tr.Finding = cur
			return tr, nil
		}
		if cur == nil {
			err = l.Store.Insert(ctx, next)
		} else {
			err = l.Store.Update(ctx, next)
		}
		if errors.Is(err, ErrExists) || errors.Is(err, ErrConflict) {
			lastOwner = owner
			continue
		}
		if err != nil {
			return tr, fmt.Errorf("store %s finding %s: %w", kind, key, err)
		}
		tr.Finding = next
		if owner != "" {
			tr.Finding, err = l.deliver(ctx, next, owner)
		}
		return tr, err
	}
	return tr, fmt.Errorf("apply %s verdict to finding %s: %w", v.Result, key, ErrContention)
}

// decide computes the finding after verdict v, from the stored finding cur
// (nil when there is none). It returns nil when nothing is to be written.
func (l *Lifecycle) decide(ctx context.Context, cur *Finding, key Key, ch *change.Change, res resource.Resource, v policy.Verdict, obs time.Time) (*Finding, Kind, error) {
	sum := Summarize(ch)
	at := sum.Time
	if at.IsZero() {
		at = obs
	}
	if cur == nil { // a failing verdict on a new key
		f := &Finding{
			Key:       key,
			Cloud:     key.Cloud,
			Account:   key.Account,
			Region:    v.Resource.Region,
			Resource:  v.Resource,
			RuleID:    v.RuleID,
			CheckedAt: obs,
		}
		if f.Region == "" && ch != nil {
			f.Region = ch.Region
		}
		f.remember(sum.EventID)
		l.refresh(f, res, v)
		l.reopen(f, sum, at)
		kind, err := l.openOrSuppress(ctx, f, sum)
		return f, kind, err
	}
	if obs.Before(cur.CheckedAt) || (sum.EventID != "" && slices.Contains(cur.Events, sum.EventID)) {
		return nil, Unchanged, nil
	}
	f := cur.Clone()
	f.CheckedAt = obs
	f.remember(sum.EventID)
	if v.Result == policy.Pass {
		if f.Status == StatusResolved {
			return nil, Unchanged, nil
		}
		wasOpen := f.Status == StatusOpen
		f.Status, f.SuppressReason = StatusResolved, ""
		f.ResolveReason = ReasonFixed
		if !res.Exists && res.Ref.ID != "" {
			f.ResolveReason = ReasonDeleted
		}
		f.ResolvedAt = at
		if at.Before(f.LastSeen) {
			f.ResolvedAt = obs
		}
		if wasOpen {
			l.queue(f, Resolved, sum, f.ResolveReason, v.Message)
		}
		return f, Resolved, nil
	}
	l.refresh(f, res, v)
	if f.Status == StatusResolved {
		l.reopen(f, sum, at)
		kind, err := l.openOrSuppress(ctx, f, sum)
		return f, kind, err
	}
	newer := !at.Before(f.Change.Time)
	newPrincipal := newer && sum.PrincipalARN != "" && f.Change.PrincipalARN != "" && sum.PrincipalARN != f.Change.PrincipalARN
	f.Count++
	if at.After(f.LastSeen) {
		f.LastSeen = at
	}
	if newer && sum.EventID != "" {
		f.Change = sum
	}
	reason, waived, err := l.waive(ctx, f)
	if err != nil {
		return nil, "", err
	}
	switch {
	case waived && f.Status == StatusOpen:
		f.Status, f.SuppressReason = StatusSuppressed, reason
		return f, Suppressed, nil
	case waived:
		f.SuppressReason = reason
		return f, Repeated, nil
	case f.Status == StatusSuppressed: // the exception no longer applies
		l.reopen(f, sum, at)
		kind, err := l.openOrSuppress(ctx, f, sum)
		return f, kind, err
	}
	kind := Repeated
	if newPrincipal {
		kind = RepeatedNewPrincipal
	}
	if sum.EventID != "" {
		l.queue(f, kind, sum, "", v.Message)
	}
	return f, kind, nil
}

// refresh copies what the latest failing verdict says about the rule, and
// the resource's tags as read.
func (l *Lifecycle) refresh(f *Finding, res resource.Resource, v policy.Verdict) {
	f.Severity, f.Message = v.Severity, v.Message
	if res.Exists {
		f.Tags = maps.Clone(res.Tags)
	}
	if v.Rule != nil {
		f.Title = v.Rule.Title
		if f.Severity == "" {
			f.Severity = v.Rule.Severity
		}
	}
}

// reopen starts a new occurrence of f.
func (l *Lifecycle) reopen(f *Finding, sum Change, at time.Time) {
	f.Occurrence++
	f.FirstSeen, f.LastSeen, f.Count = at, at, 1
	f.Change, f.OpenedBy = sum, sum
	f.ResolvedAt, f.ResolveReason, f.SuppressReason = time.Time{}, "", ""
	f.AcknowledgedBy, f.AcknowledgedAt = "", time.Time{}
}

// openOrSuppress sets the status of a new occurrence and queues its
// announcement unless an exception covers it.
func (l *Lifecycle) openOrSuppress(ctx context.Context, f *Finding, sum Change) (Kind, error) {
	reason, waived, err := l.waive(ctx, f)
	if err != nil {
		return "", err
	}
	if waived {
		f.Status, f.SuppressReason = StatusSuppressed, reason
		return Suppressed, nil
	}
	f.Status = StatusOpen
	l.queue(f, Opened, sum, "", f.Message)
	return Opened, nil
}

func (l *Lifecycle) waive(ctx context.Context, f *Finding) (string, bool, error) {
	if l.Waiver == nil {
		return "", false, nil
	}
	reason, waived, err := l.Waiver.Waive(ctx, f.Clone())
	if err != nil {
		return "", false, fmt.Errorf("check exceptions for finding %s: %w", f.Key, err)
	}
	return reason, waived, nil
}

// remember records an applied event ID, keeping the newest maxEvents.
func (f *Finding) remember(eventID string) {
	if eventID == "" {
		return
	}
	f.Events = append(f.Events, eventID)
	if n := len(f.Events) - maxEvents; n > 0 {
		f.Events = slices.Delete(f.Events, 0, n)
	}
}

// queue appends a notice to the outbox when there is anyone to tell and
// the finding is not muted (acknowledged, snoozed).
func (l *Lifecycle) queue(f *Finding, kind Kind, sum Change, reason, message string) {
	if len(l.Notifiers) == 0 || f.Muted(kind, l.now()) {
		return
	}
	l.push(f, Notice{Kind: kind, Occurrence: f.Occurrence, Change: sum, Reason: reason, Message: message})
}

// push numbers n, stamps it and appends it to the outbox. A full outbox
// drops its oldest repeat notice, else its oldest note, never an opening
// or a resolution.
func (l *Lifecycle) push(f *Finding, n Notice) {
	f.NoticeSeq++
	n.Seq, n.At = f.NoticeSeq, l.now()
	f.Outbox = append(f.Outbox, n)
	if len(f.Outbox) <= maxOutbox {
		return
	}
	i := slices.IndexFunc(f.Outbox, func(n Notice) bool { return n.Kind == Repeated || n.Kind == RepeatedNewPrincipal })
	if i < 0 {
		i = slices.IndexFunc(f.Outbox, func(n Notice) bool { return n.Kind == Noted })
	}
	if i >= 0 {
		f.Outbox = slices.Delete(f.Outbox, i, i+1)
	}
}

// leased reports whether someone holds f's delivery lease.
func (l *Lifecycle) leased(f *Finding) bool {
	return f.LeaseOwner != "" && l.now().Before(f.LeaseUntil)
}

// takeLease makes a new owner token the holder of f's lease (to be written
// conditionally by the caller) and returns it.
func (l *Lifecycle) takeLease(f *Finding) string {
	b := make([]byte, leaseTokenLen)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	f.LeaseOwner = hex.EncodeToString(b)
	f.LeaseUntil = l.now().Add(l.lease())
	return f.LeaseOwner
}

// deliver sends f's notices, oldest first, to every notifier that has not
// delivered them, storing each delivery before the next, for as long as
// owner holds the lease. On a notifier error it releases the lease, so that
// the retry of the change need not wait for it to expire.
func (l *Lifecycle) deliver(ctx context.Context, f *Finding, owner string) (*Finding, error) {
	for len(f.Outbox) > 0 && f.LeaseOwner == owner && l.now().Before(f.LeaseUntil) {
		n := f.Outbox[0]
		var nt Notifier
		for _, c := range l.Notifiers {
			if !slices.Contains(n.Done, c.Name()) {
				nt = c
				break
			}
		}
		var (
			refs Refs
			name string
		)
		if nt != nil {
			var err error
			name = nt.Name()
			refs, err = l.notify(ctx, nt, f.Clone(), n)
			if err != nil {
				err = fmt.Errorf("announce %s finding %s (notice %d) through %s: %w", n.Kind, f.Key, n.Seq, name, err)
				cctx, cancel := commitContext(ctx)
				g, rerr := l.record(cctx, f, owner, n.Seq, "", Refs{}, true)
				cancel()
				if g != nil {
					f = g
				}
				return f, errors.Join(err, rerr)
			}
		}
		// The delivery cannot be undone: record it even if ctx ended
		// meanwhile, or the notice is delivered again.
		cctx, cancel := commitContext(ctx)
		g, err := l.record(cctx, f, owner, n.Seq, name, refs, false)
		cancel()
		if err != nil {
			return f, err
		}
		f = g
	}
	return f, nil
}

func (l *Lifecycle) notify(ctx context.Context, nt Notifier, f *Finding, n Notice) (Refs, error) {
	switch n.Kind {
	case Opened:
		return nt.Opened(ctx, f, n)
	case Resolved:
		return nt.Resolved(ctx, f, n)
	default:
		return nt.Repeated(ctx, f, n)
	}
}

// record stores that notifier name delivered notice seq with refs (name ""
// records nothing but still drops a notice every current notifier has
// delivered), removes the notice once all have, and, while owner holds the
// lease, renews it, or gives it back when the outbox is empty or release is
// set. It retries on conflict, on the finding as re-read.
func (l *Lifecycle) record(ctx context.Context, f *Finding, owner string, seq int64, name string, refs Refs, release bool) (*Finding, error) {
	for range maxAttempts {
		next := f.Clone()
		if i := slices.IndexFunc(next.Outbox, func(n Notice) bool { return n.Seq == seq }); i >= 0 {
			n := &next.Outbox[i]
			if name != "" && !slices.Contains(n.Done, name) {
				n.Done = append(n.Done, name)
			}
			if name != "" {
				next.setRefs(refs)
			}
			if l.delivered(*n) {
				next.Outbox = slices.Delete(next.Outbox, i, i+1)
			}
		}
		if next.LeaseOwner == owner {
			if release || len(next.Outbox) == 0 {
				next.LeaseOwner, next.LeaseUntil = "", time.Time{}
			} else {
				next.LeaseUntil = l.now().Add(l.lease()) // renew for the next notice
			}
		}
		err := l.Store.Update(ctx, next)
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, ErrConflict) {
			// A transient store error: wait and try again on the finding as
			// re-read (the write may have landed), until ctx ends.
			if werr := sleepCtx(ctx, commitBackoff); werr != nil {
				return f, fmt.Errorf("record delivery of notice %d of finding %s: %w", seq, f.Key, err)
			}
			if g, gerr := l.Store.Get(ctx, f.Key); gerr == nil {
				f = g
			}
			continue
		}
		if f, err = l.Store.Get(ctx, f.Key); err != nil {
			return nil, fmt.Errorf("get finding %s: %w", next.Key, err)
		}
	}
	return f, fmt.Errorf("record delivery of notice %d of finding %s: %w", seq, f.Key, ErrContention)
}

// delivered reports whether every current notifier delivered n.
func (l *Lifecycle) delivered(n Notice) bool {
	for _, nt := range l.Notifiers {
		if !slices.Contains(n.Done, nt.Name()) {
			return false
		}
	}
	return true
}

func (l *Lifecycle) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Lifecycle) seenTTL() time.Duration {
	if l.SeenTTL > 0 {
		return l.SeenTTL
	}
	return defaultTTL
}

func (l *Lifecycle) lease() time.Duration {
	if l.Lease > 0 {
		return l.Lease
	}
	return defaultLease
}

// commitTimeout bounds the recording of a delivery after the notifier call
// returned; it runs even when the caller's context has ended.
const (
	commitTimeout = 3 * time.Second
	commitBackoff = 100 * time.Millisecond
)

// commitContext returns a context for recording a delivery: ctx's values,
// not its cancellation, for at most commitTimeout.
func commitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
