package finding_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/state/statetest"
)

// fakeNotifier records its calls as "name kind event" and returns what its
// func fields return (nothing when unset).
type fakeNotifier struct {
	name     string
	mu       sync.Mutex
	calls    []string
	opened   func(f *finding.Finding, n finding.Notice) (finding.Refs, error)
	repeated func(f *finding.Finding, n finding.Notice) (finding.Refs, error)
	resolved func(f *finding.Finding, n finding.Notice) (finding.Refs, error)
}

var _ finding.Notifier = (*fakeNotifier)(nil)

func (n *fakeNotifier) Name() string { return n.name }

func (n *fakeNotifier) record(no finding.Notice, fn func(*finding.Finding, finding.Notice) (finding.Refs, error), f *finding.Finding) (finding.Refs, error) {
	n.mu.Lock()
	n.calls = append(n.calls, fmt.Sprintf("%s %s %s", n.name, no.Kind, no.Change.EventID))
	n.mu.Unlock()
	if fn == nil {
		return finding.Refs{}, nil
	}
	return fn(f, no)
}

func (n *fakeNotifier) Opened(_ context.Context, f *finding.Finding, no finding.Notice) (finding.Refs, error) {
	return n.record(no, n.opened, f)
}

func (n *fakeNotifier) Repeated(_ context.Context, f *finding.Finding, no finding.Notice) (finding.Refs, error) {
	return n.record(no, n.repeated, f)
}

func (n *fakeNotifier) Resolved(_ context.Context, f *finding.Finding, no finding.Notice) (finding.Refs, error) {
	return n.record(no, n.resolved, f)
}

func (n *fakeNotifier) log() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.calls)
}

// fakeWaiver waives findings whose latest principal is in its set.
type fakeWaiver struct {
	principals map[string]bool
	err        error
}

var _ finding.Waiver = (*fakeWaiver)(nil)

func (w *fakeWaiver) Waive(_ context.Context, f *finding.Finding) (string, bool, error) {
	if w.err != nil {
		return "", false, w.err
	}
	if w.principals[f.Change.PrincipalARN] {
		return "allowlisted principal", true, nil
	}
	return "", false, nil
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	alice = "arn:aws:iam::123456789012:user/alice"
	bob   = "arn:aws:sts::123456789012:assumed-role/Deploy/bob"
	rule  = "aws-s3-bucket-public-acl"
)

var bucket = resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::logs", Account: "123456789012", Region: "us-east-1"}

// ev describes one delivery: a change at t0+sec by who, and the verdict of
// the rule on the bucket as re-read.
type ev struct {
	id     string
	sec    int
	who    string
	result policy.Result
	gone   bool // the re-read found no bucket
	// observed is when the bucket was read, in seconds after t0 (default:
	// the test clock).
	observed int
}

func (e ev) input() finding.Input {
	ch := &change.Change{
		Cloud: change.AWS, EventID: e.id, Time: t0.Add(time.Duration(e.sec) * time.Second),
		Account: "123456789012", Region: "us-east-1", Service: "s3.amazonaws.com", Operation: "PutBucketAcl",
		Principal: change.Principal{ARN: e.who, Type: "IAMUser"}, SourceIP: "198.51.100.7", UserAgent: "aws-cli/2",
	}
	if e.id == "" {
		ch = nil // a scan
	}
	in := finding.Input{Change: ch, Checks: []finding.Check{{
		Resource: resource.Resource{Ref: bucket, Exists: !e.gone},
		Verdicts: []policy.Verdict{{
			EventID: e.id, RuleID: rule, Severity: policy.SeverityHigh, Resource: bucket, Result: e.result,
			Message: "grants READ to AllUsers", Rule: &policy.Rule{ID: rule, Title: "S3 bucket ACL is public"},
		}},
	}}}
	if e.observed != 0 {
		in.ObservedAt = t0.Add(time.Duration(e.observed) * time.Second)
	}
	return in
}

// env is a lifecycle over a memory store with one notifier and a clock the
// test moves.
type env struct {
	store  *memStore
	clock  *statetest.Clock
	slack  *fakeNotifier
	lc     *finding.Lifecycle
	opened int // Slack posts so far, for the ts the fake returns
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{clock: statetest.NewClock()}
	e.store = newMemStore(e.clock.Now)
	e.slack = &fakeNotifier{name: "slack"}
	e.slack.opened = func(*finding.Finding, finding.Notice) (finding.Refs, error) {
		e.opened++
		return finding.Refs{SlackChannel: "C1", SlackTS: fmt.Sprintf("ts-%d", e.opened)}, nil
	}
	e.lc = &finding.Lifecycle{Store: e.store, Notifiers: []finding.Notifier{e.slack}, Now: e.clock.Now, SeenTTL: time.Hour}
	return e
}

// apply applies one delivery, one second after the previous one.
func (e *env) apply(t *testing.T, d ev) finding.Transition {
	t.Helper()
	e.clock.Advance(time.Second)
	trs, err := e.lc.Apply(context.Background(), d.input())
	if err != nil {
		t.Fatalf("Apply(%+v): %v", d, err)
	}
	if len(trs) != 1 {
		t.Fatalf("Apply(%+v) = %d transitions, want 1", d, len(trs))
	}
	return trs[0]
}

func TestLifecycle(t *testing.T) {
	type step struct {
		ev    ev
		want  finding.Kind
		check func(t *testing.T, f *finding.Finding)
	}
	tests := []struct {
		name      string
		steps     []step
		wantSlack []string
	}{
		{
			name: "open, repeat, new principal, fix",
			steps: []step{
				{ev{id: "e1", sec: 1, who: alice, result: policy.Fail}, finding.Opened, func(t *testing.T, f *finding.Finding) {
					want := finding.Change{EventID: "e1", Time: t0.Add(time.Second), PrincipalARN: alice, PrincipalType: "IAMUser",
						SourceIP: "198.51.100.7", UserAgent: "aws-cli/2", Service: "s3.amazonaws.com", Operation: "PutBucketAcl"}
					if f.Status != finding.StatusOpen || f.Count != 1 || f.Occurrence != 1 || f.OpenedBy != want || f.Change != want {
						t.Errorf("opened finding = %+v", f)
					}
					if f.Title != "S3 bucket ACL is public" || f.Severity != "high" || f.Region != "us-east-1" || f.Resource != bucket {
						t.Errorf("opened finding lacks the rule or resource: %+v", f)
					}
					if f.SlackTS != "ts-1" || f.SlackChannel != "C1" || len(f.Outbox) != 0 || f.LeaseOwner != "" {
						t.Errorf("after the announcement: ts %q channel %q outbox %v lease %q", f.SlackTS, f.SlackChannel, f.Outbox, f.LeaseOwner)
					}
				}},
				{ev{id: "e2", sec: 2, who: alice, result: policy.Fail}, finding.Repeated, func(t *testing.T, f *finding.Finding) {
					if f.Count != 2 || f.Change.EventID != "e2" || f.OpenedBy.EventID != "e1" || !f.LastSeen.Equal(t0.Add(2*time.Second)) {
						t.Errorf("repeated finding = count %d change %s opened by %s last seen %v", f.Count, f.Change.EventID, f.OpenedBy.EventID, f.LastSeen)
					}
				}},
				{ev{id: "e3", sec: 3, who: bob, result: policy.Fail}, finding.RepeatedNewPrincipal, func(t *testing.T, f *finding.Finding) {
					if f.Change.PrincipalARN != bob || f.Count != 3 {
						t.Errorf("change principal %s count %d, want bob 3", f.Change.PrincipalARN, f.Count)
					}
				}},
				{ev{id: "e4", sec: 4, who: bob, result: policy.Pass}, finding.Resolved, func(t *testing.T, f *finding.Finding) {
					if f.Status != finding.StatusResolved || f.ResolveReason != finding.ReasonFixed || !f.ResolvedAt.Equal(t0.Add(4*time.Second)) {
						t.Errorf("resolved finding = status %s reason %s at %v", f.Status, f.ResolveReason, f.ResolvedAt)
					}
					if f.SlackTS != "ts-1" {
						t.Errorf("Slack ts %q, want the opening's ts-1 kept", f.SlackTS)
					}
				}},
				{ev{id: "e5", sec: 5, who: bob, result: policy.Pass}, finding.Unchanged, nil},
			},
			wantSlack: []string{"slack opened e1", "slack repeated e2", "slack repeated_new_principal e3", "slack resolved e4"},
		},
		{
			name: "duplicate deliveries count once",
			steps: []step{
				{ev{id: "e1", sec: 1, who: alice, result: policy.Fail}, finding.Opened, nil},
				{ev{id: "e1", sec: 1, who: alice, result: policy.Fail}, finding.Unchanged, nil},
				{ev{id: "e2", sec: 2, who: alice, result: policy.Fail}, finding.Repeated, nil},
				{ev{id: "e2", sec: 2, who: alice, result: policy.Fail}, finding.Unchanged, func(t *testing.T, f *finding.Finding) {
					if f.Count != 2 {
						t.Errorf("count %d after 2 changes delivered twice each, want 2", f.Count)
					}
				}},
			},
			wantSlack: []string{"slack opened e1", "slack repeated e2"},
		},
		{
			name: "a late older change does not replace the newer one",
			steps: []step{
				{ev{id: "e5", sec: 5, who: alice, result: policy.Fail}, finding.Opened, nil},
				{ev{id: "e3", sec: 3, who: bob, result: policy.Fail}, finding.Repeated, func(t *testing.T, f *finding.Finding) {
					if f.Change.EventID != "e5" || f.Change.PrincipalARN != alice || !f.LastSeen.Equal(t0.Add(5*time.Second)) || f.Count != 2 {
						t.Errorf("after a late change: latest %s by %s, last seen %v, count %d; want e5 by alice at 5s, 2", f.Change.EventID, f.Change.PrincipalARN, f.LastSeen, f.Count)
					}
				}},
			},
			wantSlack: []string{"slack opened e5", "slack repeated e3"},
		},
		{
			name: "a stale read changes nothing",
			steps: []step{
				{ev{id: "e1", sec: 1, who: alice, result: policy.Fail, observed: 100}, finding.Opened, nil},
				// Read before the opening's read, applied after it.
				{ev{id: "e0", sec: 0, who: alice, result: policy.Pass, observed: 50}, finding.Unchanged, func(t *testing.T, f *finding.Finding) {
					if f.Status != finding.StatusOpen || slices.Contains(f.Events, "e0") {
						t.Errorf("stale pass applied: status %s events %v", f.Status, f.Events)
					}
				}},
			},
			wantSlack: []string{"slack opened e1"},
		},
		{
			name: "deleted resource resolves as deleted, then re-opens",
			steps: []step{
				{ev{id: "e1", sec: 1, who: alice, result: policy.Fail}, finding.Opened, nil},
				{ev{id: "e2", sec: 2, who: alice, result: policy.Pass, gone: true}, finding.Resolved, func(t *testing.T, f *finding.Finding) {
					if f.ResolveReason != finding.ReasonDeleted {
						t.Errorf("reason %q, want deleted", f.ResolveReason)
					}
				}},
				{ev{id: "e3", sec: 3, who: bob, result: policy.Fail}, finding.Opened, func(t *testing.T, f *finding.Finding) {
					if f.Occurrence != 2 || f.Count != 1 || f.OpenedBy.EventID != "e3" || f.Status != finding.StatusOpen ||
						!f.ResolvedAt.IsZero() || f.ResolveReason != "" || !f.FirstSeen.Equal(t0.Add(3*time.Second)) {
						t.Errorf("re-opened finding = %+v", f)
					}
					if f.SlackTS != "ts-2" {
						t.Errorf("Slack ts %q, want the new post ts-2", f.SlackTS)
					}
				}},
			},
			wantSlack: []string{"slack opened e1", "slack resolved e2", "slack opened e3"},
		},
		{
			name: "pass on an unknown key stores nothing",
			steps: []step{
				{ev{id: "e1", sec: 1, who: alice, result: policy.Pass}, finding.Unchanged, func(t *testing.T, f *finding.Finding) {
					if f != nil {
						t.Errorf("finding %+v stored for a pass", f)
					}
				}},
			},
		},
		{
			name: "errors neither open nor resolve",
			steps: []step{
				{ev{id: "e1", sec: 1, who: alice, result: policy.Error}, finding.Errored, func(t *testing.T, f *finding.Finding) {
					if f != nil {
						t.Errorf("finding %+v stored for an error", f)
					}
				}},
				{ev{id: "e2", sec: 2, who: alice, result: policy.Fail}, finding.Opened, nil},
				{ev{id: "e3", sec: 3, who: alice, result: policy.Error}, finding.Errored, nil},
				{ev{id: "e4", sec: 4, who: alice, result: policy.Pass}, finding.Resolved, nil},
			},
			wantSlack: []string{"slack opened e2", "slack resolved e4"},
		},
		{
			name: "scans count but announce only openings and resolutions",
			steps: []step{
				{ev{result: policy.Fail}, finding.Opened, nil},
				{ev{result: policy.Fail}, finding.Repeated, func(t *testing.T, f *finding.Finding) {
					if f.Count != 2 || f.Change.EventID != "" {
						t.Errorf("after two scans: count %d change %+v", f.Count, f.Change)
					}
				}},
				{ev{result: policy.Pass}, finding.Resolved, nil},
			},
			wantSlack: []string{"slack opened ", "slack resolved "},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for i, st := range tc.steps {
				tr := e.apply(t, st.ev)
				if tr.Kind != st.want {
					t.Fatalf("step %d (%+v): %s, want %s", i, st.ev, tr.Kind, st.want)
				}
				if tr.Verdict.Result != st.ev.result {
					t.Errorf("step %d: transition carries verdict %s", i, tr.Verdict.Result)
				}
				if tr.Finding != nil {
					stored, err := e.store.Get(context.Background(), tr.Key)
					if err != nil || stored.Version != tr.Finding.Version {
						t.Errorf("step %d: transition finding version %d, stored %v (%v)", i, tr.Finding.Version, stored, err)
					}
				}
				if st.check != nil {
					st.check(t, tr.Finding)
				}
			}
			if got := e.slack.log(); !reflect.DeepEqual(got, tc.wantSlack) && (len(got) > 0 || len(tc.wantSlack) > 0) {
				t.Errorf("notifier calls:\n got %q\nwant %q", got, tc.wantSlack)
			}
		})
	}
}

func TestResolvedNoticeSeesOpeningRefs(t *testing.T) {
	e := newEnv(t)
	var got finding.Refs
	e.slack.resolved = func(f *finding.Finding, n finding.Notice) (finding.Refs, error) {
		got = f.Refs()
		if n.Reason != finding.ReasonFixed || n.Change.EventID != "e2" {
			t.Errorf("resolved notice = %+v", n)
		}
		return finding.Refs{}, nil
	}
	e.apply(t, ev{id: "e1", sec: 1, who: alice, result: policy.Fail})
	e.apply(t, ev{id: "e2", sec: 2, who: alice, result: policy.Pass})
	if got.SlackTS != "ts-1" || got.SlackChannel != "C1" {
		t.Errorf("Resolved saw refs %+v, want the opening's", got)
	}
}

func TestNotifierFailureIsRetried(t *testing.T) {
	e := newEnv(t)
	jira := &fakeNotifier{name: "jira"}
	fail := true
	jira.opened = func(*finding.Finding, finding.Notice) (finding.Refs, error) {
		if fail {
			return finding.Refs{}, errors.New("jira: 503")
		}
		return finding.Refs{Tickets: map[string]string{"jira": "SEC-1"}}, nil
	}
	e.lc.Notifiers = append(e.lc.Notifiers, jira)
	ctx := context.Background()
	in := ev{id: "e1", sec: 1, who: alice, result: policy.Fail}.input()

	trs, err := e.lc.Apply(ctx, in)
	if err == nil || !strings.Contains(err.Error(), "jira: 503") {
		t.Fatalf("Apply with a failing notifier: err = %v", err)
	}
	if len(trs) != 1 || trs[0].Kind != finding.Opened {
		t.Fatalf("transitions %+v, want one Opened", trs)
	}
	f := trs[0].Finding
	if f.SlackTS != "ts-1" || len(f.Outbox) != 1 || !slices.Equal(f.Outbox[0].Done, []string{"slack"}) || f.LeaseOwner != "" {
		t.Errorf("after the failure: ts %q outbox %+v lease %q; want Slack recorded, Jira owed, lease released", f.SlackTS, f.Outbox, f.LeaseOwner)
	}
	if seen, _ := e.lc.Seen(ctx, "e1"); seen {
		t.Error("event marked seen although its announcement failed")
	}

	// The source delivers the change again.
	fail = false
	trs, err = e.lc.Apply(ctx, in)
	if err != nil {
		t.Fatalf("Apply again: %v", err)
	}
	f = trs[0].Finding
	if trs[0].Kind != finding.Unchanged || f.Tickets["jira"] != "SEC-1" || f.SlackTS != "ts-1" || len(f.Outbox) != 0 || f.Count != 1 {
		t.Errorf("after the retry: kind %s finding %+v", trs[0].Kind, f)
	}
	if got, want := e.slack.log(), []string{"slack opened e1"}; !slices.Equal(got, want) {
		t.Errorf("Slack calls %q, want %q (no second post)", got, want)
	}
	if got, want := jira.log(), []string{"jira opened e1", "jira opened e1"}; !slices.Equal(got, want) {
		t.Errorf("Jira calls %q, want %q", got, want)
	}
	if seen, _ := e.lc.Seen(ctx, "e1"); !seen {
		t.Error("event not marked seen after the retry succeeded")
	}
}

func TestCrashedDelivery(t *testing.T) {
	tests := []struct {
		name      string
		leaseLeft time.Duration
		wantSlack []string
	}{
		{"lease expired: the next delivery announces", -time.Second, []string{"slack opened e1"}},
		{"lease held: the holder announces, not us", time.Minute, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			// A first process opened the finding and died before announcing.
			crashed := &finding.Lifecycle{Store: e.store, Notifiers: []finding.Notifier{&fakeNotifier{name: "slack",
				opened: func(*finding.Finding, finding.Notice) (finding.Refs, error) { panic("crash") }}}, Now: e.clock.Now}
			func() {
				defer func() { _ = recover() }()
				_, _ = crashed.Apply(ctx, ev{id: "e1", sec: 1, who: alice, result: policy.Fail}.input())
			}()
			k, _ := finding.KeyFor(policy.Verdict{RuleID: rule, Resource: bucket}, nil)
			f, err := e.store.Get(ctx, k)
			if err != nil || len(f.Outbox) != 1 || f.LeaseOwner == "" {
				t.Fatalf("after the crash: %+v, %v; want an owed notice under lease", f, err)
			}
			e.clock.Advance(2*time.Minute - tc.leaseLeft)
			tr := e.apply(t, ev{id: "e1", sec: 1, who: alice, result: policy.Fail})
			if tr.Kind != finding.Unchanged {
				t.Errorf("redelivery: %s, want unchanged", tr.Kind)
			}
			if got := e.slack.log(); !slices.Equal(got, tc.wantSlack) {
				t.Errorf("Slack calls %q, want %q", got, tc.wantSlack)
			}
			if tc.wantSlack != nil && (len(tr.Finding.Outbox) != 0 || tr.Finding.SlackTS != "ts-1") {
				t.Errorf("after the redelivery: %+v", tr.Finding)
			}
			if tc.wantSlack == nil {
				// Flush, once the lease expired, delivers without a change.
				e.clock.Advance(3 * time.Minute)
				g, err := e.lc.Flush(ctx, k)
				if err != nil || len(g.Outbox) != 0 || !slices.Equal(e.slack.log(), []string{"slack opened e1"}) {
					t.Errorf("Flush = %+v, %v; calls %q", g, err, e.slack.log())
				}
			}
		})
	}
}

func TestNoticeQueuedWhileAnotherDelivers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// While the opening is being announced, another change repeats the
	// finding: the holder of the lease delivers that notice too.
	inner := true
	e.slack.opened = func(*finding.Finding, finding.Notice) (finding.Refs, error) {
		if inner {
			inner = false
			other := &finding.Lifecycle{Store: e.store, Notifiers: e.lc.Notifiers, Now: e.clock.Now}
			trs, err := other.Apply(ctx, ev{id: "e2", sec: 2, who: bob, result: policy.Fail}.input())
			if err != nil || trs[0].Kind != finding.RepeatedNewPrincipal {
				t.Errorf("concurrent repeat: %+v, %v", trs, err)
			}
		}
		return finding.Refs{SlackTS: "ts-1"}, nil
	}
	tr := e.apply(t, ev{id: "e1", sec: 1, who: alice, result: policy.Fail})
	if got, want := e.slack.log(), []string{"slack opened e1", "slack repeated_new_principal e2"}; !slices.Equal(got, want) {
		t.Errorf("Slack calls %q, want %q", got, want)
	}
	if f := tr.Finding; len(f.Outbox) != 0 || f.LeaseOwner != "" || f.Count != 2 || f.SlackTS != "ts-1" {
		t.Errorf("finding after both: %+v", f)
	}
}

func TestWaiver(t *testing.T) {
	e := newEnv(t)
	w := &fakeWaiver{principals: map[string]bool{bob: true}}
	e.lc.Waiver = w
	steps := []struct {
		ev     ev
		want   finding.Kind
		status finding.Status
	}{
		{ev{id: "e1", sec: 1, who: bob, result: policy.Fail}, finding.Suppressed, finding.StatusSuppressed},
		{ev{id: "e2", sec: 2, who: bob, result: policy.Fail}, finding.Repeated, finding.StatusSuppressed},
		{ev{id: "e3", sec: 3, who: alice, result: policy.Fail}, finding.Opened, finding.StatusOpen},
		{ev{id: "e4", sec: 4, who: bob, result: policy.Fail}, finding.Suppressed, finding.StatusSuppressed},
		{ev{id: "e5", sec: 5, who: bob, result: policy.Pass}, finding.Resolved, finding.StatusResolved},
	}
	for i, st := range steps {
		tr := e.apply(t, st.ev)
		if tr.Kind != st.want || tr.Finding.Status != st.status {
			t.Fatalf("step %d: %s %s, want %s %s", i, tr.Kind, tr.Finding.Status, st.want, st.status)
		}
		if st.status == finding.StatusSuppressed && tr.Finding.SuppressReason != "allowlisted principal" {
			t.Errorf("step %d: suppress reason %q", i, tr.Finding.SuppressReason)
		}
	}
	if got, want := e.slack.log(), []string{"slack opened e3"}; !slices.Equal(got, want) {
		t.Errorf("Slack calls %q, want %q", got, want)
	}

	w.err = errors.New("exceptions file unreadable")
	if _, err := e.lc.Apply(context.Background(), ev{id: "e6", sec: 6, who: alice, result: policy.Fail}.input()); err == nil || !strings.Contains(err.Error(), "exceptions file unreadable") {
		t.Errorf("Apply with a failing waiver: %v", err)
	}
}

func TestApplyMarksSeen(t *testing.T) {
	tests := []struct {
		name       string
		incomplete bool
		storeErr   error
		wantSeen   bool
		wantErr    bool
	}{
		{"complete", false, nil, true, false},
		{"a resource could not be read", true, nil, false, false},
		{"the store failed", false, errors.New("disk full"), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.store.beforeGet = func(finding.Key) error { return tc.storeErr }
			in := ev{id: "e1", sec: 1, who: alice, result: policy.Fail}.input()
			in.Incomplete = tc.incomplete
			_, err := e.lc.Apply(context.Background(), in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Apply error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && (!errors.Is(err, tc.storeErr) || !strings.Contains(err.Error(), "get finding aws/123456789012/arn:aws:s3:::logs/"+rule)) {
				t.Errorf("error %q does not wrap the store error with the key", err)
			}
			seen, _ := e.store.Seen(context.Background(), "e1")
			if seen != tc.wantSeen {
				t.Errorf("seen = %v, want %v", seen, tc.wantSeen)
			}
		})
	}
}

func TestApplyMarkSeenError(t *testing.T) {
	e := newEnv(t)
	e.store.beforeMark = func(string) error { return errors.New("throttled") }
	trs, err := e.lc.Apply(context.Background(), ev{id: "e1", sec: 1, who: alice, result: policy.Fail}.input())
	if err == nil || !strings.Contains(err.Error(), "mark event e1 seen") {
		t.Fatalf("Apply error = %v, want the mark failure", err)
	}
	if len(trs) != 1 || trs[0].Kind != finding.Opened {
		t.Errorf("transitions %+v, want the opening reported anyway", trs)
	}
}

func TestApplyGivesUpUnderContention(t *testing.T) {
	e := newEnv(t)
	e.apply(t, ev{id: "e1", sec: 1, who: alice, result: policy.Fail})
	e.store.beforeUpdate = func(f *finding.Finding) error { return fmt.Errorf("update: %w", finding.ErrConflict) }
	_, err := e.lc.Apply(context.Background(), ev{id: "e2", sec: 2, who: alice, result: policy.Fail}.input())
	if !errors.Is(err, finding.ErrContention) {
		t.Errorf("Apply under endless conflicts: %v, want ErrContention", err)
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	e := newEnv(t)
	const n = 16
	var wg sync.WaitGroup
	kinds := make([]finding.Kind, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			trs, err := e.lc.Apply(context.Background(), ev{id: "e1", sec: 1, who: alice, result: policy.Fail}.input())
			if err != nil {
				t.Errorf("Apply: %v", err)
				return
			}
			kinds[i] = trs[0].Kind
		})
	}
	close(start)
	wg.Wait()
	opened := 0
	for _, k := range kinds {
		if k == finding.Opened {
			opened++
		} else if k != finding.Unchanged {
			t.Errorf("a duplicate delivery gave %s", k)
		}
	}
	if opened != 1 || len(e.slack.log()) != 1 {
		t.Errorf("%d Opened, Slack calls %q; want exactly one of each", opened, e.slack.log())
	}
}

func TestLostWriteReply(t *testing.T) {
	tests := []struct {
		name  string
		setup []ev
		ev    ev
		want  finding.Kind
		slack []string
	}{
		{"insert", nil, ev{id: "e1", sec: 1, who: alice, result: policy.Fail}, finding.Opened, []string{"slack opened e1"}},
		{"update", []ev{{id: "e1", sec: 1, who: alice, result: policy.Fail}}, ev{id: "e2", sec: 2, who: alice, result: policy.Pass}, finding.Resolved,
			[]string{"slack opened e1", "slack resolved e2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for _, d := range tc.setup {
				e.apply(t, d)
			}
			e.store.loseReplies = 1
			tr := e.apply(t, tc.ev)
			if tr.Kind != tc.want {
				t.Errorf("kind %s, want %s: a write that landed is ours", tr.Kind, tc.want)
			}
			if got := e.slack.log(); !slices.Equal(got, tc.slack) {
				t.Errorf("Slack calls %q, want %q", got, tc.slack)
			}
			if len(tr.Finding.Outbox) != 0 || tr.Finding.LeaseOwner != "" {
				t.Errorf("outbox %v lease %q left", tr.Finding.Outbox, tr.Finding.LeaseOwner)
			}
		})
	}
}
