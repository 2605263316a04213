package finding_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
)

func TestMuted(t *testing.T) {
	now := t0
	tests := []struct {
		name string
		f    finding.Finding
		kind finding.Kind
		want bool
	}{
		{"plain finding, repeat", finding.Finding{}, finding.Repeated, false},
		{"acknowledged, repeat", finding.Finding{AcknowledgedBy: "slack:U1"}, finding.Repeated, true},
		{"acknowledged, new principal", finding.Finding{AcknowledgedBy: "slack:U1"}, finding.RepeatedNewPrincipal, true},
		{"acknowledged, opened", finding.Finding{AcknowledgedBy: "slack:U1"}, finding.Opened, false},
		{"acknowledged, resolved", finding.Finding{AcknowledgedBy: "slack:U1"}, finding.Resolved, false},
		{"snoozed, opened", finding.Finding{SnoozedUntil: now.Add(time.Hour)}, finding.Opened, true},
		{"snoozed, repeat", finding.Finding{SnoozedUntil: now.Add(time.Hour)}, finding.Repeated, true},
		{"snoozed, resolved", finding.Finding{SnoozedUntil: now.Add(time.Hour)}, finding.Resolved, false},
		{"snooze over", finding.Finding{SnoozedUntil: now}, finding.Repeated, false},
		{"acknowledged, note", finding.Finding{AcknowledgedBy: "slack:U1"}, finding.Noted, false},
		{"snoozed, note", finding.Finding{SnoozedUntil: now.Add(time.Hour)}, finding.Noted, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Muted(tt.kind, now); got != tt.want {
				t.Errorf("Muted(%s) = %v, want %v", tt.kind, got, tt.want)
			}
		})
	}
}

// edit changes the stored finding as the Slack actions do.
func (e *env) edit(t *testing.T, fn func(f *finding.Finding)) {
	t.Helper()
	ctx := context.Background()
	f, err := e.store.Get(ctx, key(t))
	if err != nil {
		t.Fatal(err)
	}
	next := f.Clone()
	fn(next)
	if err := e.store.Update(ctx, next); err != nil {
		t.Fatal(err)
	}
}

func key(t *testing.T) finding.Key {
	t.Helper()
	k, err := finding.KeyFor(policy.Verdict{RuleID: rule, Resource: bucket}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAcknowledgeAndSnoozeMuteAlerts(t *testing.T) {
	fail := func(id string, sec int) ev { return ev{id: id, sec: sec, who: alice, result: policy.Fail} }
	fix := func(id string, sec int) ev { return ev{id: id, sec: sec, who: alice, result: policy.Pass} }
	ack := func(f *finding.Finding) { f.Acknowledge("slack:U1", t0) }
	snooze := func(d time.Duration) func(f *finding.Finding) {
		return func(f *finding.Finding) { f.SnoozedUntil = t0.Add(d) }
	}
	type step struct {
		edit    func(f *finding.Finding)
		ev      ev
		advance time.Duration
	}
	tests := []struct {
		name      string
		steps     []step
		wantSlack []string
		check     func(t *testing.T, f *finding.Finding)
	}{
		{
			name: "acknowledged: repeats are quiet, the fix is told, a new occurrence alerts again",
			steps: []step{
				{ev: fail("e1", 1)},
				{edit: ack, ev: fail("e2", 2)},
				{ev: ev{id: "e3", sec: 3, who: bob, result: policy.Fail}},
				{ev: fix("e4", 4)},
				{ev: fail("e5", 5)},
				{ev: fail("e6", 6)},
			},
			wantSlack: []string{"slack opened e1", "slack resolved e4", "slack opened e5", "slack repeated e6"},
			check: func(t *testing.T, f *finding.Finding) {
				if f.AcknowledgedBy != "" || !f.AcknowledgedAt.IsZero() {
					t.Errorf("the new occurrence kept the acknowledgement: %q %v", f.AcknowledgedBy, f.AcknowledgedAt)
				}
				if f.Count != 2 || f.Occurrence != 2 {
					t.Errorf("count %d occurrence %d, want 2 2: muted repeats still count", f.Count, f.Occurrence)
				}
			},
		},
		{
			name: "snoozed: quiet until the snooze ends, across occurrences; resolutions are told",
			steps: []step{
				{ev: fail("e1", 1)},
				{edit: snooze(24 * time.Hour), ev: fail("e2", 2)},
				{ev: fix("e3", 3)},
				{ev: fail("e4", 4)},
				{ev: fail("e5", 5), advance: 25 * time.Hour},
			},
			wantSlack: []string{"slack opened e1", "slack resolved e3", "slack repeated e5"},
			check: func(t *testing.T, f *finding.Finding) {
				if f.Status != finding.StatusOpen || f.Occurrence != 2 {
					t.Errorf("status %s occurrence %d, want open 2: a snoozed finding still opens", f.Status, f.Occurrence)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			for _, s := range tt.steps {
				if s.edit != nil {
					e.edit(t, s.edit)
				}
				e.clock.Advance(s.advance)
				e.apply(t, s.ev)
			}
			if got := e.slack.log(); !slices.Equal(got, tt.wantSlack) {
				t.Errorf("slack calls:\n got %q\nwant %q", got, tt.wantSlack)
			}
			f, err := e.store.Get(context.Background(), key(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Outbox) != 0 {
				t.Errorf("muted notices were queued: %+v", f.Outbox)
			}
			tt.check(t, f)
		})
	}
}

func TestRecordKeepsTheNewestActions(t *testing.T) {
	var f finding.Finding
	for i := range finding.MaxActions + 3 {
		f.Record(finding.Action{Kind: finding.ActionSnooze, By: fmt.Sprintf("slack:U%d", i), At: t0})
	}
	if len(f.Actions) != finding.MaxActions {
		t.Fatalf("%d actions kept, want %d", len(f.Actions), finding.MaxActions)
	}
	if f.Actions[0].By != "slack:U3" || f.Actions[finding.MaxActions-1].By != fmt.Sprintf("slack:U%d", finding.MaxActions+2) {
		t.Errorf("kept %s … %s, want the newest", f.Actions[0].By, f.Actions[finding.MaxActions-1].By)
	}
	c := f.Clone()
	c.Actions[0].By = "changed"
	if f.Actions[0].By == "changed" {
		t.Error("Clone shares the actions")
	}
}
