package reliability

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/internal/cli"
	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/faultproxy"
	"github.com/driftwatch/driftwatch/shared/finding"
)

// The scale of TestFaultsLoseNothingAndDuplicateNothing: 20 groups, 10
// changes each, 5 before the first drain and 5 before the second.
const (
	faultGroups = 20
	faultRate   = 0.3
)

// stormGroups are the groups whose every EC2 read fails during the fault
// phases, so that their events exhaust the queue's receives whatever the
// SDK's retries do, and the dead-letter path is taken for sure.
var stormGroups = map[int]bool{18: true, 19: true}

// TestFaultsLoseNothingAndDuplicateNothing runs 200 real changes to 20
// security groups through the detector function with 30% of the calls to
// moto, Slack and Jira failing (500, 503, throttling in each service's
// dialect, dropped connections) plus latency, and every EC2 read of two
// "storm" groups failing. While faults last, every event either completes
// (marked seen in the store) or lands in the dead-letter queue with the
// reason it was parked for. `driftwatch dlq redrive` then replays the
// dead-letter queue with the faults off. In the end no event is lost (all
// 200 marked seen), the only messages left in the dead-letter queue are the
// two that can never be processed, and every finding has exactly one Slack
// alert and one Jira issue, resolved findings closed exactly once.
func TestFaultsLoseNothingAndDuplicateNothing(t *testing.T) {
	start := time.Now()
	h := newHarness(t, options{maxReceives: 3, visibility: 5, timeout: 4 * time.Second, reserve: 1500 * time.Millisecond, batchSize: 3, workers: 6})
	suffix := ctrecord.UUID()[:6]

	// Round one: create the groups, open HTTPS, SSH and a private
	// PostgreSQL to each, and RDP over IPv6 to every third; a private
	// port to the others.
	var (
		groups [faultGroups]*group
		round1 []event
	)
	for i := range groups {
		g, ev := h.createGroup(fmt.Sprintf("rel-%02d-%s", i, suffix))
		groups[i] = g
		round1 = append(round1, ev,
			h.authorize(g, perm{"tcp", 443, "0.0.0.0/0"}),
			h.authorize(g, perm{"tcp", 22, "0.0.0.0/0"}),
			h.authorize(g, perm{"tcp", 5432, "10.0.0.0/8"}))
		if i%3 == 0 {
			round1 = append(round1, h.authorize(g, perm{"tcp", 3389, "::/0"}))
		} else {
			round1 = append(round1, h.authorize(g, perm{"tcp", 8080, "10.0.0.0/8"}))
		}
	}
	// Two messages no retry can fix: not an event, and a watched change
	// that does not name its group.
	permanent := []string{"this is not an event",
		h.newEvent("AuthorizeSecurityGroupIngress", map[string]any{"ipPermissions": items(perm{"tcp", 22, "0.0.0.0/0"}.record())},
			map[string]any{"_return": true}).body}

	stormIDs := []string{}
	for i := range stormGroups {
		stormIDs = append(stormIDs, groups[i].id)
	}
	storm := faultproxy.Rule{Name: "storm",
		Match: func(r *http.Request, body []byte) bool {
			return faultproxy.AWSService(r) == "ec2" && slices.ContainsFunc(stormIDs, func(id string) bool { return bytes.Contains(body, []byte(id)) })
		},
		Faults: faultproxy.Faults{Rate: 1, Kinds: []faultproxy.Kind{faultproxy.Throttle, faultproxy.Unavailable}}}
	h.faults(faultproxy.Faults{Rate: faultRate, Latency: 10 * time.Millisecond}, storm)

	bodies := append(bodiesOf(round1), permanent...)
	h.rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	h.send(bodies)
	st := h.drain(3 * time.Minute)
	t.Logf("round 1 (%d events, 2 unprocessable) under faults in %s: %s", len(round1), time.Since(start).Round(time.Millisecond), st)
	dlq := h.checkCompleteOrParked(round1, permanent)
	// Every event of the storm groups went the dead-letter way: the SDK's
	// retries did not save them.
	ofStorm := func(body string) bool {
		return slices.ContainsFunc(stormIDs, func(g string) bool { return strings.Contains(body, g) })
	}
	stormEvents, stormParked := 0, 0
	for _, e := range round1 {
		if ofStorm(e.body) {
			stormEvents++
		}
	}
	// Distinct events: a message parked with its reason whose delete from
	// the source queue then failed is moved there again by SQS's redrive
	// (at least once); the redrive's deduplication makes that harmless.
	parked := map[string]bool{}
	for _, p := range dlq {
		if ofStorm(p.body) && !parked[p.body] {
			parked[p.body] = true
			stormParked++
		}
	}
	if stormEvents == 0 || stormParked != stormEvents {
		t.Errorf("%d of the %d events of the storm groups reached the dead-letter queue (%d messages there), want all",
			stormParked, stormEvents, len(dlq))
	}
	t.Logf("round 1: %d messages in the dead-letter queue (%d of the storm groups), %d parks failed", len(dlq), stormParked, h.parks.failed.Load())

	// Round two: more changes; even groups close SSH, odd ones open MySQL
	// to the world; RDP over IPv6 is closed again.
	r2 := time.Now()
	var round2 []event
	for i, g := range groups {
		round2 = append(round2, h.authorize(g, perm{"tcp", 8443, "0.0.0.0/0"}), h.revoke(g, perm{"tcp", 443, "0.0.0.0/0"}))
		if i%2 == 0 {
			round2 = append(round2, h.revoke(g, perm{"tcp", 22, "0.0.0.0/0"}))
		} else {
			round2 = append(round2, h.authorize(g, perm{"tcp", 3306, "0.0.0.0/0"}))
		}
		if i%3 == 0 {
			round2 = append(round2, h.revoke(g, perm{"tcp", 3389, "::/0"}))
		} else {
			round2 = append(round2, h.authorize(g, perm{"tcp", 9000, "10.0.0.0/8"}))
		}
		round2 = append(round2, h.authorize(g, perm{"udp", 53, "10.0.0.0/8"}))
	}
	all := append(slices.Clone(round1), round2...)
	if len(all) != 10*faultGroups {
		t.Fatalf("%d changes made, want %d", len(all), 10*faultGroups)
	}
	bodies = bodiesOf(round2)
	h.rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	h.send(bodies)
	st = h.drain(3 * time.Minute)
	t.Logf("round 2 (%d events) under faults in %s: %s", len(round2), time.Since(r2).Round(time.Millisecond), st)
	dlq = h.checkCompleteOrParked(all, permanent)
	t.Logf("after round 2: %d messages in the dead-letter queue, %d parks failed; proxies: %s", len(dlq), h.parks.failed.Load(), h.proxyStats())
	if t.Failed() {
		t.FailNow()
	}

	// Faults off: the operator replays the dead-letter queue.
	rd := time.Now()
	h.faults(faultproxy.Faults{})
	var out bytes.Buffer
	res, err := cli.Redrive{Queue: h.queueURL, DLQ: h.dlqURL}.Run(context.Background(), h.sqs, &out)
	if err != nil {
		t.Fatalf("redrive: %v\n%s", err, out.String())
	}
	if res.Moved != len(dlq) || res.Failed != 0 {
		t.Errorf("redrive moved %d (failed %d), want the %d parked messages", res.Moved, res.Failed, len(dlq))
	}
	h.checkRedriveOutput(out.String(), dlq)
	st = h.drain(3 * time.Minute)
	swept := h.sweep()
	t.Logf("redrive of %d messages and drain without faults in %s: %s; %d findings swept after a cut-off delivery",
		res.Moved, time.Since(rd).Round(time.Millisecond), st, swept)

	// Nothing lost: every event seen; only the unprocessable messages
	// left, parked again with their reasons.
	if missing := h.unseen(all); len(missing) > 0 {
		t.Errorf("%d of %d events lost (not marked seen), e.g. %s", len(missing), len(all), missing[0])
	}
	left := h.peekDLQ()
	var leftBodies []string
	for _, p := range left {
		leftBodies = append(leftBodies, p.body)
		if p.reason == "" {
			t.Errorf("message %s left in the dead-letter queue without a reason", p.id)
		}
	}
	slices.Sort(leftBodies)
	wantLeft := slices.Sorted(slices.Values(permanent))
	if !slices.Equal(leftBodies, wantLeft) {
		t.Errorf("dead-letter queue holds %d messages at the end, want only the %d unprocessable ones:\n%q", len(left), len(permanent), leftBodies)
	}

	// Nothing duplicated, and the findings are the ones the final state
	// and the history allow.
	fs := h.findings()
	h.checkModel(groups[:], fs)
	h.checkAnnounced(fs)
	t.Logf("%d findings, %d Slack requests, %d Jira requests; total %s", len(fs), len(h.slack.Requests()), len(h.jira.Requests()),
		time.Since(start).Round(time.Millisecond))
}

func bodiesOf(evs []event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.body
	}
	return out
}

// checkCompleteOrParked asserts, once the queue is drained, that every
// event is either marked seen or parked in the dead-letter queue, and that
// every parked message carries its reason, except those the queue's
// redrive policy moved because their park itself failed; the unprocessable
// messages must be parked. It returns the dead-letter queue's messages.
func (h *harness) checkCompleteOrParked(evs []event, permanent []string) []parked {
	t := h.t
	t.Helper()
	dlq := h.peekDLQ()
	inDLQ := map[string]bool{}
	bodies := map[string]bool{}
	noReason := 0
	for _, p := range dlq {
		bodies[p.body] = true
		if id := eventIDOf(p.body); id != "" {
			inDLQ[id] = true
		}
		if p.reason == "" {
			noReason++
		}
	}
	if n := int(h.parks.failed.Load()); noReason > n {
		t.Errorf("%d messages in the dead-letter queue without a reason, but only %d parks failed", noReason, n)
	}
	for _, b := range permanent {
		if !bodies[b] {
			t.Errorf("unprocessable message %.60q is not in the dead-letter queue", b)
		}
	}
	var lost []string
	for _, id := range h.unseen(evs) {
		if !inDLQ[id] {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d events neither completed nor parked, e.g. %s", len(lost), lost[0])
	}
	return dlq
}

// checkRedriveOutput asserts that the redrive printed every moved message
// with its reason.
func (h *harness) checkRedriveOutput(out string, dlq []parked) {
	t := h.t
	t.Helper()
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		id, reason, ok := strings.Cut(l, "\t")
		if !ok {
			t.Errorf("redrive line %q is not id<TAB>reason", l)
			continue
		}
		lines[id] = reason
	}
	for _, p := range dlq {
		got, ok := lines[p.id]
		switch {
		case !ok:
			t.Errorf("redrive did not list message %s", p.id)
		case p.reason != "" && got != strings.ReplaceAll(p.reason, "\n", "; "):
			t.Errorf("redrive printed %q for message %s, parked for %q", got, p.id, p.reason)
		case p.reason == "" && !strings.Contains(got, "redrive policy"):
			t.Errorf("redrive printed %q for message %s, which has no reason", got, p.id)
		}
	}
}

// checkModel asserts that the findings are what the groups' history
// allows: odd groups end with SSH and MySQL open to the world, so those two
// findings are open; even groups closed SSH and every third group closed
// RDP over IPv6, so those findings are resolved if an event was processed
// while they were open, or absent; nothing else.
func (h *harness) checkModel(groups []*group, fs []*finding.Finding) {
	t := h.t
	t.Helper()
	open, mayResolve := map[string]bool{}, map[string]bool{}
	for i, g := range groups {
		if i%2 == 1 {
			open[g.arn+" "+ruleAdminV4], open[g.arn+" "+ruleDB] = true, true
		} else {
			mayResolve[g.arn+" "+ruleAdminV4] = true
		}
		if i%3 == 0 {
			mayResolve[g.arn+" "+ruleAdminV6] = true
		}
	}
	gotOpen, resolved := 0, 0
	for _, f := range fs {
		k := f.Key.ResourceID + " " + f.Key.RuleID
		switch {
		case f.Status == finding.StatusOpen && open[k]:
			gotOpen++
		case f.Status == finding.StatusResolved && mayResolve[k]:
			resolved++
		default:
			t.Errorf("unexpected %s finding %s", f.Status, f.Key)
		}
	}
	if gotOpen != len(open) {
		t.Errorf("%d of the %d findings the final state fails are open", gotOpen, len(open))
	}
	if resolved == 0 {
		t.Error("no finding was resolved: the faults kept every event of round one from being processed in time")
	}
	t.Logf("findings: %d open (all expected), %d resolved of %d that could have opened and closed", gotOpen, resolved, len(mayResolve))
}
