// Package statetest checks that a finding.Store keeps the contract the
// finding lifecycle relies on: conditional inserts and updates, listing by
// status, expiring event marks, and exactly one Opened transition when many
// goroutines apply the same failing verdict at once.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Clock is a settable clock for the store under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to a fixed instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Factory returns a new, empty store that reads the time from now. It is
// called once per subtest; the store must not share data with the stores
// of other calls.
type Factory func(t *testing.T, now func() time.Time) finding.Store

// Run runs the conformance suite against the stores that newStore makes.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		run  func(t *testing.T, s finding.Store, clock *Clock)
	}{
		{"GetMissing", testGetMissing},
		{"InsertGetRoundTrip", testRoundTrip},
		{"InsertExisting", testInsertExisting},
		{"UpdateVersion", testUpdateVersion},
		{"UpdateMissing", testUpdateMissing},
		{"List", testList},
		{"MarkSeen", testMarkSeen},
		{"SeenExpires", testSeenExpires},
		{"ConcurrentInsert", testConcurrentInsert},
		{"ConcurrentUpdate", testConcurrentUpdate},
		{"ConcurrentOpen", testConcurrentOpen},
		{"Lifecycle", testLifecycle},
		{"ShuffledDeliveries", testShuffledDeliveries},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock()
			tc.run(t, newStore(t, clock.Now), clock)
		})
	}
}

// Sample returns a fully populated open finding for key k.
func Sample(k finding.Key) *finding.Finding {
	at := time.Date(2025, 2, 27, 9, 30, 0, 0, time.UTC)
	ch := finding.Change{
		EventID: "ev-1", Time: at, PrincipalARN: "arn:aws:sts::123456789012:assumed-role/Admin/alice",
		PrincipalType: "AssumedRole", IssuerARN: "arn:aws:iam::123456789012:role/Admin",
		SourceIP: "198.51.100.7", UserAgent: "aws-cli/2.15.0 <script>", Service: "s3.amazonaws.com", Operation: "PutBucketAcl",
	}
	return &finding.Finding{
		Key: k, Cloud: k.Cloud, Account: k.Account, Region: "eu-west-1",
		Resource: resource.Ref{Type: "AWS::S3::Bucket", ID: k.ResourceID, Account: k.Account, Region: "eu-west-1"},
		RuleID:   k.RuleID, Severity: policy.SeverityHigh, Title: "Bucket is public", Status: finding.StatusOpen,
		Message: "bucket grants READ to AllUsers", FirstSeen: at, LastSeen: at.Add(time.Minute), CheckedAt: at.Add(2 * time.Minute),
		Count: 3, Occurrence: 2, Change: ch, OpenedBy: ch, SlackChannel: "C123", SlackTS: "1700000000.000100",
		Tickets: map[string]string{"jira": "SEC-42"}, Events: []string{"ev-0", "ev-1"},
		Outbox:    []finding.Notice{{Seq: 4, Kind: finding.Opened, Occurrence: 2, Change: ch, Message: "m", At: at, Done: []string{"slack"}}},
		NoticeSeq: 4, LeaseOwner: "owner", LeaseUntil: at.Add(time.Hour),
	}
}

// key returns a key whose resource ID has the characters real IDs have.
func key(n int) finding.Key {
	return finding.Key{
		Cloud: change.AWS, Account: "123456789012",
		ResourceID: fmt.Sprintf("arn:aws:iam::123456789012:role/path/with spaces & 'quotes'/r%03d", n),
		RuleID:     "aws-iam-role-trusts-everyone",
	}
}

func testGetMissing(t *testing.T, s finding.Store, _ *Clock) {
	_, err := s.Get(context.Background(), key(1))
	if !errors.Is(err, finding.ErrNotFound) {
		t.Fatalf("Get(missing) error = %v, want ErrNotFound", err)
	}
}

func testRoundTrip(t *testing.T, s finding.Store, _ *Clock) {
	ctx := context.Background()
	f := Sample(key(1))
	if err := s.Insert(ctx, f); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if f.Version != 1 {
		t.Errorf("Insert set Version = %d, want 1", f.Version)
	}
	got, err := s.Get(ctx, f.Key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !reflect.DeepEqual(normalise(got), normalise(f)) {
		t.Errorf("Get after Insert:\n got %+v\nwant %+v", got, f)
	}
}

func testInsertExisting(t *testing.T, s finding.Store, _ *Clock) {
	ctx := context.Background()
	first := Sample(key(1))
	if err := s.Insert(ctx, first); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	second := Sample(key(1))
	second.Message = "second"
	if err := s.Insert(ctx, second); !errors.Is(err, finding.ErrExists) {
		t.Fatalf("second Insert error = %v, want ErrExists", err)
	}
	got, err := s.Get(ctx, first.Key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Message != first.Message || got.Version != 1 {
		t.Errorf("after a refused Insert: message %q version %d, want %q 1", got.Message, got.Version, first.Message)
	}
}

func testUpdateVersion(t *testing.T, s finding.Store, _ *Clock) {
	ctx := context.Background()
	f := Sample(key(1))
	if err := s.Insert(ctx, f); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	stale := f.Clone()
	f.Status, f.Count = finding.StatusResolved, 9
	if err := s.Update(ctx, f); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if f.Version != 2 {
		t.Errorf("Update set Version = %d, want 2", f.Version)
	}
	stale.Message = "stale"
	if err := s.Update(ctx, stale); !errors.Is(err, finding.ErrConflict) {
		t.Fatalf("Update with version 1 after version 2 error = %v, want ErrConflict", err)
	}
	if stale.Version != 1 {
		t.Errorf("refused Update changed Version to %d", stale.Version)
	}
	got, err := s.Get(ctx, f.Key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Version != 2 || got.Status != finding.StatusResolved || got.Count != 9 || got.Message == "stale" {
		t.Errorf("Get = version %d status %s count %d message %q, want the first update", got.Version, got.Status, got.Count, got.Message)
	}
}

func testUpdateMissing(t *testing.T, s finding.Store, _ *Clock) {
	f := Sample(key(1))
	f.Version = 1
	if err := s.Update(context.Background(), f); !errors.Is(err, finding.ErrConflict) {
		t.Fatalf("Update(missing) error = %v, want ErrConflict", err)
	}
	if _, err := s.Get(context.Background(), f.Key); !errors.Is(err, finding.ErrNotFound) {
		t.Errorf("Update(missing) created the finding (Get error %v)", err)
	}
}

func testList(t *testing.T, s finding.Store, _ *Clock) {
	ctx := context.Background()
	const n = 130 // more than one page in every store
	want := map[finding.Status][]string{}
	for i := range n {
		f := Sample(key(i))
		switch i % 3 {
		case 0:
			f.Status = finding.StatusOpen
		case 1:
			f.Status = finding.StatusResolved
		case 2:
			f.Status = finding.StatusSuppressed
		}
		if err := s.Insert(ctx, f); err != nil {
			t.Fatalf("Insert %d: %v", i, err)
		}
		want[f.Status] = append(want[f.Status], f.Key.String())
	}
	// A finding that changes status moves lists.
	moved := Sample(key(0))
	moved.Version = 1
	moved.Status = finding.StatusResolved
	if err := s.Update(ctx, moved); err != nil {
		t.Fatalf("Update: %v", err)
	}
	want[finding.StatusOpen] = want[finding.StatusOpen][1:]
	want[finding.StatusResolved] = append([]string{moved.Key.String()}, want[finding.StatusResolved]...)
	for _, status := range []finding.Status{finding.StatusOpen, finding.StatusResolved, finding.StatusSuppressed} {
		var got []string
		for f, err := range s.List(ctx, status) {
			if err != nil {
				t.Fatalf("List(%s): %v", status, err)
			}
			if f.Status != status {
				t.Errorf("List(%s) yielded %s with status %s", status, f.Key, f.Status)
			}
			got = append(got, f.Key.String())
		}
		if !reflect.DeepEqual(got, want[status]) {
			t.Errorf("List(%s) = %d keys %v\nwant %d keys %v", status, len(got), got, len(want[status]), want[status])
		}
	}
	// Stopping early is allowed.
	count := 0
	for range s.List(ctx, finding.StatusOpen) {
		count++
		break
	}
	if count != 1 {
		t.Errorf("List with break yielded %d, want 1", count)
	}
}

func testMarkSeen(t *testing.T, s finding.Store, _ *Clock) {
	ctx := context.Background()
	for _, id := range []string{"11111111-2222-3333-4444-555555555555", "with spaces/and#hash?"} {
		if seen, err := s.Seen(ctx, id); err != nil || seen {
			t.Fatalf("Seen(%q) before MarkSeen = %v, %v; want false", id, seen, err)
		}
		first, err := s.MarkSeen(ctx, id, time.Hour)
		if err != nil || !first {
			t.Fatalf("first MarkSeen(%q) = %v, %v; want true", id, first, err)
		}
		first, err = s.MarkSeen(ctx, id, time.Hour)
		if err != nil || first {
			t.Fatalf("second MarkSeen(%q) = %v, %v; want false", id, first, err)
		}
		if seen, err := s.Seen(ctx, id); err != nil || !seen {
			t.Fatalf("Seen(%q) after MarkSeen = %v, %v; want true", id, seen, err)
		}
	}
}

func testSeenExpires(t *testing.T, s finding.Store, clock *Clock) {
	ctx := context.Background()
	if _, err := s.MarkSeen(ctx, "ev", time.Hour); err != nil {
		t.Fatalf("MarkSeen: %v", err)
	}
	clock.Advance(59 * time.Minute)
	if seen, err := s.Seen(ctx, "ev"); err != nil || !seen {
		t.Fatalf("Seen before the TTL = %v, %v; want true", seen, err)
	}
	clock.Advance(2 * time.Minute)
	if seen, err := s.Seen(ctx, "ev"); err != nil || seen {
		t.Fatalf("Seen after the TTL = %v, %v; want false", seen, err)
	}
	first, err := s.MarkSeen(ctx, "ev", time.Hour)
	if err != nil || !first {
		t.Fatalf("MarkSeen after the TTL = %v, %v; want true", first, err)
	}
	if seen, err := s.Seen(ctx, "ev"); err != nil || !seen {
		t.Fatalf("Seen after marking again = %v, %v; want true", seen, err)
	}
}

// workers is how many goroutines the concurrency tests start.
const workers = 12

// race runs fn in workers goroutines released at once and returns their
// errors.
func race(fn func(i int) error) []error {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, workers)
	)
	for i := range workers {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func testConcurrentInsert(t *testing.T, s finding.Store, _ *Clock) {
	ctx := context.Background()
	errs := race(func(i int) error {
		f := Sample(key(1))
		f.Message = fmt.Sprint(i)
		return s.Insert(ctx, f)
	})
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, finding.ErrExists):
			t.Errorf("concurrent Insert: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent Inserts succeeded, want 1", won, workers)
	}
}

func testConcurrentUpdate(t *testing.T, s finding.Store, _ *Clock) {
	ctx := context.Background()
	base := Sample(key(1))
	if err := s.Insert(ctx, base); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	errs := race(func(i int) error {
		f := base.Clone()
		f.Count = 100 + i
		return s.Update(ctx, f)
	})
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, finding.ErrConflict):
			t.Errorf("concurrent Update: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent Updates of version 1 succeeded, want 1", won, workers)
	}
	got, err := s.Get(ctx, base.Key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Version != 2 {
		t.Errorf("Version after the race = %d, want 2", got.Version)
	}
}

// countingNotifier counts the calls of each kind.
type countingNotifier struct {
	mu    sync.Mutex
	calls map[finding.Kind]int
}

var _ finding.Notifier = (*countingNotifier)(nil)

func (n *countingNotifier) Name() string { return "counter" }

func (n *countingNotifier) count(k finding.Kind) (finding.Refs, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.calls == nil {
		n.calls = map[finding.Kind]int{}
	}
	n.calls[k]++
	if k != finding.Opened {
		return finding.Refs{}, nil
	}
	return finding.Refs{SlackChannel: "C1", SlackTS: fmt.Sprintf("%s-%d", k, n.calls[k])}, nil
}

func (n *countingNotifier) Opened(context.Context, *finding.Finding, finding.Notice) (finding.Refs, error) {
	return n.count(finding.Opened)
}

func (n *countingNotifier) Repeated(_ context.Context, _ *finding.Finding, no finding.Notice) (finding.Refs, error) {
	return n.count(no.Kind)
}

func (n *countingNotifier) Resolved(context.Context, *finding.Finding, finding.Notice) (finding.Refs, error) {
	return n.count(finding.Resolved)
}

// input is one change on a bucket with one verdict of the rule.
func input(eventID string, at time.Time, result policy.Result, exists bool) finding.Input {
	ref := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::logs", Account: "123456789012", Region: "us-east-1"}
	ch := &change.Change{
		Cloud: change.AWS, EventID: eventID, Time: at, Account: "123456789012", Region: "us-east-1",
		Service: "s3.amazonaws.com", Operation: "PutBucketAcl",
		Principal: change.Principal{ARN: "arn:aws:iam::123456789012:user/alice", Type: "IAMUser"},
	}
	return finding.Input{Change: ch, Checks: []finding.Check{{
		Resource: resource.Resource{Ref: ref, Exists: exists},
		Verdicts: []policy.Verdict{{EventID: eventID, RuleID: "aws-s3-bucket-public-acl", Severity: policy.SeverityHigh, Resource: ref, Result: result, Message: "public"}},
	}}}
}

func testConcurrentOpen(t *testing.T, s finding.Store, clock *Clock) {
	ctx := context.Background()
	n := &countingNotifier{}
	lc := &finding.Lifecycle{Store: s, Notifiers: []finding.Notifier{n}, Now: clock.Now}
	kinds := make([]finding.Kind, workers)
	errs := race(func(i int) error {
		// Half the goroutines deliver the same change, half other changes
		// on the same key: still one opening.
		id := "ev-same"
		if i%2 == 1 {
			id = fmt.Sprintf("ev-%d", i)
		}
		trs, err := lc.Apply(ctx, input(id, clock.Now(), policy.Fail, true))
		if len(trs) == 1 {
			kinds[i] = trs[0].Kind
		}
		return err
	})
	opened := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("Apply %d: %v", i, err)
		}
		if kinds[i] == finding.Opened {
			opened++
		}
	}
	if opened != 1 {
		t.Errorf("%d Opened transitions among %v, want 1", opened, kinds)
	}
	if got := n.calls[finding.Opened]; got != 1 {
		t.Errorf("notifier Opened called %d times, want 1", got)
	}
	trs, err := lc.Apply(ctx, input("ev-after", clock.Now(), policy.Pass, true))
	if err != nil || len(trs) != 1 {
		t.Fatalf("Apply pass = %v, %v", trs, err)
	}
	f := trs[0].Finding
	if f.Status != finding.StatusResolved || f.Count != workers/2+1 {
		t.Errorf("after the race and a pass: status %s count %d, want resolved %d (one per distinct change)", f.Status, f.Count, workers/2+1)
	}
	if len(f.Outbox) != 0 || f.LeaseOwner != "" {
		t.Errorf("outbox %v lease %q left after delivery", f.Outbox, f.LeaseOwner)
	}
	if got := n.calls[finding.Resolved]; got != 1 {
		t.Errorf("notifier Resolved called %d times, want 1", got)
	}
}

func testLifecycle(t *testing.T, s finding.Store, clock *Clock) {
	ctx := context.Background()
	n := &countingNotifier{}
	lc := &finding.Lifecycle{Store: s, Notifiers: []finding.Notifier{n}, Now: clock.Now, SeenTTL: time.Hour}
	steps := []struct {
		in   finding.Input
		want finding.Kind
	}{
		{input("e1", clock.Now(), policy.Fail, true), finding.Opened},
		{input("e1", clock.Now(), policy.Fail, true), finding.Unchanged},
		{input("e2", clock.Now().Add(time.Second), policy.Fail, true), finding.Repeated},
		{input("e3", clock.Now().Add(2*time.Second), policy.Pass, false), finding.Resolved},
		{input("e4", clock.Now().Add(3*time.Second), policy.Pass, true), finding.Unchanged},
	}
	var last *finding.Finding
	for i, st := range steps {
		clock.Advance(time.Second)
		trs, err := lc.Apply(ctx, st.in)
		if err != nil {
			t.Fatalf("step %d: Apply: %v", i, err)
		}
		if len(trs) != 1 || trs[0].Kind != st.want {
			t.Fatalf("step %d: transitions %+v, want one %s", i, trs, st.want)
		}
		if seen, err := lc.Seen(ctx, st.in.Change.EventID); err != nil || !seen {
			t.Errorf("step %d: event not marked seen (%v, %v)", i, seen, err)
		}
		last = trs[0].Finding
	}
	if last == nil || last.ResolveReason != finding.ReasonDeleted || last.SlackTS != "opened-1" {
		t.Errorf("final finding %+v, want resolved as deleted with the Slack ts of the opening", last)
	}
	got, err := s.Get(ctx, last.Key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !reflect.DeepEqual(normalise(got), normalise(last)) {
		t.Errorf("stored finding differs from the last transition's:\n got %+v\nwant %+v", got, last)
	}
}

// normalise makes a finding comparable across stores: times in UTC without
// monotonic readings.
func normalise(f *finding.Finding) *finding.Finding {
	c := f.Clone()
	for _, p := range []*time.Time{&c.FirstSeen, &c.LastSeen, &c.CheckedAt, &c.ResolvedAt, &c.LeaseUntil, &c.Change.Time, &c.OpenedBy.Time} {
		*p = p.UTC().Round(0)
	}
	if len(c.Outbox) == 0 {
		c.Outbox = nil
	}
	if len(c.Events) == 0 {
		c.Events = nil
	}
	if len(c.Tickets) == 0 {
		c.Tickets = nil
	}
	for i := range c.Outbox {
		c.Outbox[i].At = c.Outbox[i].At.UTC().Round(0)
		c.Outbox[i].Change.Time = c.Outbox[i].Change.Time.UTC().Round(0)
	}
	return c
}

// testShuffledDeliveries breaks a set of buckets with several changes each,
// delivers every change three times in random order from concurrent
// workers, then fixes half of the buckets the same way. Whatever the
// interleaving: one opening per bucket, one resolution per fixed bucket,
// one repeat notice per further change, every change counted once.
func testShuffledDeliveries(t *testing.T, s finding.Store, clock *Clock) {
	const (
		buckets    = 20
		changes    = 4 // failing changes per bucket
		deliveries = 3
		workersN   = 4
	)
	ctx := context.Background()
	n := &countingNotifier{}
	lc := &finding.Lifecycle{Store: s, Notifiers: []finding.Notifier{n}, Now: clock.Now}
	rng := rand.New(rand.NewPCG(1, 2))
	deliver := func(ins []finding.Input) {
		var all []finding.Input
		for range deliveries {
			all = append(all, ins...)
		}
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		queue := make(chan finding.Input)
		var wg sync.WaitGroup
		for range workersN {
			wg.Go(func() {
				for in := range queue {
					seen, err := lc.Seen(ctx, in.Change.EventID)
					if err != nil {
						t.Errorf("Seen: %v", err)
						continue
					}
					if seen {
						continue
					}
					if _, err := lc.Apply(ctx, in); err != nil {
						t.Errorf("Apply %s: %v", in.Change.EventID, err)
					}
				}
			})
		}
		for _, in := range all {
			queue <- in
		}
		close(queue)
		wg.Wait()
	}
	event := func(b, c int, result policy.Result) finding.Input {
		in := input(fmt.Sprintf("b%02d-c%d", b, c), clock.Now().Add(time.Duration(c)*time.Second), result, true)
		ref := &in.Checks[0].Resource.Ref
		ref.ID = fmt.Sprintf("arn:aws:s3:::bucket-%02d", b)
		in.Checks[0].Verdicts[0].Resource = *ref
		return in
	}
	var broken, fixed []finding.Input
	for b := range buckets {
		for c := range changes {
			broken = append(broken, event(b, c, policy.Fail))
		}
		if b%2 == 0 {
			fixed = append(fixed, event(b, changes, policy.Pass))
		}
	}
	deliver(broken)
	clock.Advance(time.Minute)
	deliver(fixed)

	want := map[finding.Kind]int{finding.Opened: buckets, finding.Repeated: buckets * (changes - 1), finding.Resolved: buckets / 2}
	if !reflect.DeepEqual(n.calls, want) {
		t.Errorf("notifier calls %v, want %v", n.calls, want)
	}
	counts := map[finding.Status]int{}
	for _, status := range []finding.Status{finding.StatusOpen, finding.StatusResolved} {
		for f, err := range s.List(ctx, status) {
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			counts[status]++
			if f.Count != changes || len(f.Outbox) != 0 || f.LeaseOwner != "" || f.Occurrence != 1 {
				t.Errorf("%s: count %d outbox %d lease %q occurrence %d; want %d changes counted, all delivered",
					f.Key.ResourceID, f.Count, len(f.Outbox), f.LeaseOwner, f.Occurrence, changes)
			}
		}
	}
	if counts[finding.StatusOpen] != buckets/2 || counts[finding.StatusResolved] != buckets/2 {
		t.Errorf("findings by status %v, want %d open and %d resolved", counts, buckets/2, buckets/2)
	}
}
