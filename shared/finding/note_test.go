package finding_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// notes makes the env's Slack fake remember the notes it is given, as
// "text|severity", and returns a function listing them.
func (e *env) notes() func() []string {
	var (
		mu  sync.Mutex
		got []string
	)
	e.slack.repeated = func(_ *finding.Finding, n finding.Notice) (finding.Refs, error) {
		if n.Kind == finding.Noted {
			mu.Lock()
			got = append(got, n.Note+"|"+n.Severity)
			mu.Unlock()
		}
		return finding.Refs{}, nil
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

func TestNote(t *testing.T) {
	fail := ev{id: "e1", sec: 1, who: alice, result: policy.Fail}
	tests := []struct {
		name     string
		edit     func(f *finding.Finding)
		severity string
	}{
		{"open finding", nil, ""},
		{"flapping, high severity", nil, policy.SeverityHigh},
		{"acknowledged finding: a note is never muted", func(f *finding.Finding) { f.Acknowledge("slack:U1", t0) }, ""},
		{"snoozed finding: a note is never muted", func(f *finding.Finding) { f.SnoozedUntil = t0.Add(48 * time.Hour) }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			got := e.notes()
			e.apply(t, fail)
			if tc.edit != nil {
				e.edit(t, tc.edit)
			}
			f, err := e.lc.Note(context.Background(), key(t), "reverted it\n  ec2:RevokeSecurityGroupIngress {}", tc.severity)
			if err != nil {
				t.Fatalf("Note: %v", err)
			}
			if want := []string{"reverted it\n  ec2:RevokeSecurityGroupIngress {}|" + tc.severity}; !slices.Equal(got(), want) {
				t.Errorf("notes delivered %q, want %q", got(), want)
			}
			if want := []string{"slack opened e1", "slack noted "}; !slices.Equal(e.slack.log(), want) {
				t.Errorf("Slack calls %q, want %q", e.slack.log(), want)
			}
			if len(f.Outbox) != 0 || f.LeaseOwner != "" || f.Status != finding.StatusOpen || f.SlackTS != "ts-1" {
				t.Errorf("finding after the note: outbox %v lease %q status %s ts %q", f.Outbox, f.LeaseOwner, f.Status, f.SlackTS)
			}
		})
	}
}

func TestNoteErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.lc.Note(ctx, key(t), "reverted", ""); !errors.Is(err, finding.ErrNotFound) {
		t.Errorf("note on an unknown finding: %v, want ErrNotFound", err)
	}
	e.apply(t, ev{id: "e1", sec: 1, who: alice, result: policy.Fail})
	if _, err := e.lc.Note(ctx, key(t), " \n", ""); !errors.Is(err, finding.ErrEmptyNote) {
		t.Errorf("empty note: %v, want ErrEmptyNote", err)
	}
	if got := e.slack.log(); !slices.Equal(got, []string{"slack opened e1"}) {
		t.Errorf("Slack calls %q: a refused note was delivered", got)
	}
}

// TestNoteNotifierFailure: a note whose delivery failed stays owed and is
// delivered once, to the notifier that missed it only, by the next
// process that touches the finding.
func TestNoteNotifierFailure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got := e.notes()
	jira := &fakeNotifier{name: "jira"}
	down := true
	jira.repeated = func(*finding.Finding, finding.Notice) (finding.Refs, error) {
		if down {
			return finding.Refs{}, errors.New("jira is down")
		}
		return finding.Refs{}, nil
	}
	e.lc.Notifiers = append(e.lc.Notifiers, jira)
	e.apply(t, ev{id: "e1", sec: 1, who: alice, result: policy.Fail})
	f, err := e.lc.Note(ctx, key(t), "would revert", "")
	if err == nil {
		t.Fatal("Note with Jira down: no error")
	}
	if f == nil || len(f.Outbox) != 1 || !slices.Equal(f.Outbox[0].Done, []string{"slack"}) || f.LeaseOwner != "" {
		t.Fatalf("after the failure: %+v; want the note owed to jira only, lease given back", f)
	}
	down = false
	g, err := e.lc.Flush(ctx, key(t))
	if err != nil || len(g.Outbox) != 0 {
		t.Fatalf("Flush = %+v, %v", g, err)
	}
	if !slices.Equal(got(), []string{"would revert|"}) {
		t.Errorf("Slack got the note %q times, want once", got())
	}
	if want := []string{"jira opened e1", "jira noted ", "jira noted "}; !slices.Equal(jira.log(), want) {
		t.Errorf("Jira calls %q, want %q (one failed, one delivered)", jira.log(), want)
	}
}

// TestConcurrentNotes: notes recorded at once by many processes are each
// delivered exactly once.
func TestConcurrentNotes(t *testing.T) {
	e := newEnv(t)
	got := e.notes()
	e.apply(t, ev{id: "e1", sec: 1, who: alice, result: policy.Fail})
	const n = 12
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			lc := &finding.Lifecycle{Store: e.store, Notifiers: e.lc.Notifiers, Now: e.clock.Now}
			if _, err := lc.Note(context.Background(), key(t), fmt.Sprintf("note %02d", i), ""); err != nil {
				t.Errorf("Note %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	// A note queued while another process held the lease is delivered by
	// that process, or by the next one to touch the finding.
	if _, err := e.lc.Flush(context.Background(), key(t)); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("note %02d|", i))
	}
	have := got()
	sort.Strings(have)
	if !slices.Equal(have, want) {
		t.Errorf("notes delivered %q, want each of %q once", have, want)
	}
}

// TestNoteLostWriteReply: a note write that landed but reported a
// conflict is not queued again.
func TestNoteLostWriteReply(t *testing.T) {
	for _, leased := range []bool{false, true} {
		t.Run(fmt.Sprintf("another holds the lease: %v", leased), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			got := e.notes()
			e.apply(t, ev{id: "e1", sec: 1, who: alice, result: policy.Fail})
			if leased {
				e.edit(t, func(f *finding.Finding) { f.LeaseOwner, f.LeaseUntil = "other", e.clock.Now().Add(time.Minute) })
			}
			e.store.loseReplies = 1
			f, err := e.lc.Note(ctx, key(t), "reverted", "")
			if err != nil {
				t.Fatalf("Note: %v", err)
			}
			if leased {
				if len(f.Outbox) != 1 || len(got()) != 0 {
					t.Fatalf("outbox %v, delivered %q; want the note queued once for the lease holder", f.Outbox, got())
				}
				e.clock.Advance(2 * time.Minute)
				if _, err := e.lc.Flush(ctx, key(t)); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(got(), []string{"reverted|"}) {
				t.Errorf("notes delivered %q, want once", got())
			}
		})
	}
}

func TestRecord(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got := e.notes()
	e.apply(t, ev{id: "e1", sec: 1, who: alice, result: policy.Fail})
	a := finding.Action{Kind: finding.ActionRevert, By: "driftwatch (automatic)", Result: "flapping — revert paused"}
	f, err := e.lc.Record(ctx, key(t), a, policy.SeverityHigh)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Actions) != 1 || f.Actions[0].Kind != a.Kind || f.Actions[0].By != a.By || f.Actions[0].Result != a.Result || f.Actions[0].At.IsZero() {
		t.Errorf("actions %+v, want the revert recorded with a time", f.Actions)
	}
	if !slices.Equal(got(), []string{"flapping — revert paused|high"}) {
		t.Errorf("notes %q", got())
	}
	// An action without a result is recorded and not noted.
	e.store.loseReplies = 1 // and a lost reply does not record it twice
	f, err = e.lc.Record(ctx, key(t), finding.Action{Kind: finding.ActionAcknowledge, By: "slack:U1"}, "")
	if err != nil || len(f.Actions) != 2 || len(got()) != 1 {
		t.Errorf("Record without a result: %v, actions %+v, notes %q", err, f.Actions, got())
	}
	stored, _ := e.store.Get(ctx, key(t))
	if len(stored.Actions) != 2 {
		t.Errorf("stored actions %+v, want 2", stored.Actions)
	}
}

// TestNotesNeverCrowdOutTransitions: a full outbox drops the oldest repeat,
// then the oldest note, never the opening.
func TestNotesNeverCrowdOutTransitions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.slack.opened = func(*finding.Finding, finding.Notice) (finding.Refs, error) {
		return finding.Refs{}, errors.New("slack is down")
	}
	e.slack.repeated = e.slack.opened
	if _, err := e.lc.Apply(ctx, ev{id: "e1", sec: 1, who: alice, result: policy.Fail}.input()); err == nil {
		t.Fatal("Apply with Slack down: no error")
	}
	for i := range 40 {
		if _, err := e.lc.Note(ctx, key(t), fmt.Sprintf("note %02d", i), ""); err == nil {
			t.Fatal("Note with Slack down: no error")
		}
	}
	f, _ := e.store.Get(ctx, key(t))
	if len(f.Outbox) != 32 || f.Outbox[0].Kind != finding.Opened || f.Outbox[1].Note != "note 09" || f.Outbox[31].Note != "note 39" {
		t.Errorf("outbox of %d: first %s, then %q … %q; want the opening and the newest 31 notes",
			len(f.Outbox), f.Outbox[0].Kind, f.Outbox[1].Note, f.Outbox[len(f.Outbox)-1].Note)
	}
}
