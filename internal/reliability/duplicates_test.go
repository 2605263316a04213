package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/shared/finding"
)

// TestDuplicatedReorderedDeliveriesOneAlertPerFinding queues every
// record of 40 real changes to 8 security groups three times, in a
// shuffled order, and lets four concurrent invocations of the handler
// consume them in batches of ten (a copy may meet another in the same batch
// or race it in another invocation). Every event completes; each failing
// (group, rule) has exactly one finding with one Slack alert and one Jira
// issue; a finding counts each distinct change at most once, and its alert
// was updated and its issue commented exactly once per change it counted.
func TestDuplicatedReorderedDeliveriesOneAlertPerFinding(t *testing.T) {
	start := time.Now()
	h := newHarness(t, options{maxReceives: 5, visibility: 20, timeout: 15 * time.Second, reserve: 2 * time.Second, batchSize: 10, workers: 4})
	suffix := ctrecord.UUID()[:6]

	// Every group ends with SSH open to the world; even ones with MySQL
	// too, every fourth with RDP over IPv6. The changes are all made before
	// any is processed, so every event reads the final state.
	const groups, copies = 8, 3
	var (
		evs  []event
		gs   []*group
		want = map[string]bool{}
	)
	for i := range groups {
		g, ev := h.createGroup(fmt.Sprintf("dup-%02d-%s", i, suffix))
		gs = append(gs, g)
		evs = append(evs, ev, h.authorize(g, perm{"tcp", 22, "0.0.0.0/0"}))
		want[g.arn+" "+ruleAdminV4] = true
		if i%2 == 0 {
			evs = append(evs, h.authorize(g, perm{"tcp", 3306, "0.0.0.0/0"}))
			want[g.arn+" "+ruleDB] = true
		} else {
			evs = append(evs, h.authorize(g, perm{"tcp", 443, "0.0.0.0/0"}))
		}
		if i%4 == 0 {
			evs = append(evs, h.authorize(g, perm{"tcp", 3389, "::/0"}))
			want[g.arn+" "+ruleAdminV6] = true
		} else {
			evs = append(evs, h.authorize(g, perm{"tcp", 8080, "10.0.0.0/8"}))
		}
		evs = append(evs, h.authorize(g, perm{"udp", 53, "10.0.0.0/8"}))
	}
	perGroup := len(evs) / groups

	var bodies []string
	for range copies {
		bodies = append(bodies, bodiesOf(evs)...)
	}
	h.rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	h.send(bodies)
	st := h.drain(2 * time.Minute)
	t.Logf("%d deliveries of %d events in %s: %s", len(bodies), len(evs), time.Since(start).Round(time.Millisecond), st)

	if st.itemFailures.Load() > 0 || st.batchErrors.Load() > 0 {
		t.Errorf("deliveries failed without faults: %s", st)
	}
	if missing := h.unseen(evs); len(missing) > 0 {
		t.Errorf("%d of %d events not marked seen, e.g. %s", len(missing), len(evs), missing[0])
	}
	if left := h.peekDLQ(); len(left) > 0 {
		t.Errorf("%d messages in the dead-letter queue, e.g. %q: %.200s", len(left), left[0].reason, left[0].body)
	}

	fs := h.findings()
	got := map[string]bool{}
	for _, f := range fs {
		k := f.Key.ResourceID + " " + f.Key.RuleID
		if got[k] {
			t.Errorf("two findings for %s", k)
		}
		got[k] = true
		if !want[k] || f.Status != finding.StatusOpen {
			t.Errorf("unexpected %s finding %s", f.Status, f.Key)
		}
		// Each distinct change is counted at most once (a change whose read
		// was overtaken by a newer one is stale and not counted), and each
		// counted repeat was announced once: one update of the alert, one
		// comment on the issue.
		if f.Count < 1 || f.Count > perGroup {
			t.Errorf("finding %s counted %d changes, want 1 to %d: a duplicate was counted", f.Key, f.Count, perGroup)
		}
		if n := h.alertUpdates(f); n != f.Count-1 {
			t.Errorf("finding %s: %d updates of its alert for %d counted changes, want %d", f.Key, n, f.Count, f.Count-1)
		}
		if is := h.jira.WithLabel(f.Key.Label()); len(is) == 1 && len(is[0].Comments) != f.Count-1 {
			t.Errorf("finding %s: %d comments on issue %s for %d counted changes, want %d", f.Key, len(is[0].Comments), is[0].Key, f.Count, f.Count-1)
		}
		if replies := h.slack.Thread(f.SlackChannel, f.SlackTS); len(replies) > f.Count-1 {
			t.Errorf("finding %s: %d thread replies for %d counted changes", f.Key, len(replies), f.Count)
		} else {
			posts := map[string]int{}
			for _, m := range replies {
				posts[m.Text+string(m.Blocks)]++
			}
			for p, n := range posts {
				if n > 1 {
					t.Errorf("finding %s: the same thread reply posted %d times: %.300s", f.Key, n, p)
				}
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d findings, want one per failing (group, rule): %d", len(got), len(want))
	}
	h.checkAnnounced(fs)
	t.Logf("%d findings on %d groups; total %s", len(fs), len(gs), time.Since(start).Round(time.Millisecond))
}

// alertUpdates counts the chat.update calls Slack accepted for the
// finding's alert.
func (h *harness) alertUpdates(f *finding.Finding) int {
	n := 0
	for _, r := range h.slack.RequestsTo("/api/chat.update") {
		if r.Status == 200 && r.TS == f.SlackTS {
			n++
		}
	}
	return n
}
