package jira_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"
	"github.com/driftwatch/driftwatch/shared/ticket"
	"github.com/driftwatch/driftwatch/shared/ticket/tickettest"
)

// TestLifecycle runs the notifier under the real finding lifecycle: open,
// a duplicate delivery, a repeat by another principal, a delivery whose
// creation answer is lost, and the fix. The Jira server ends with one
// ticket, commented once and closed.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Memory, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	fj := newFakeJira(t)
	drop := true
	fj.createHook = func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool {
		if drop { // the first creation's answer is lost
			drop = false
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return true
		}
		return false
	}
	fj.searchLag = 10 // longer than the notifier waits: the redelivery must find it
	n, _ := newNotifier(t, fj, nil)
	lc := &finding.Lifecycle{Store: store, Notifiers: []finding.Notifier{n}, Lease: time.Minute}

	bucket := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::logs-prod", Account: "123456789012", Region: "us-east-1"}
	rule := tickettest.SampleRules()["aws-s3-bucket-public-acl"]
	at := tickettest.Now
	input := func(eventID, who string, result policy.Result) finding.Input {
		at = at.Add(time.Minute)
		return finding.Input{
			Change: &change.Change{Cloud: change.AWS, EventID: eventID, Time: at, Account: "123456789012", Region: "us-east-1",
				Service: "s3.amazonaws.com", Operation: "PutBucketAcl", Principal: change.Principal{ARN: who}},
			ObservedAt: at,
			Checks: []finding.Check{{
				Resource: resource.Resource{Ref: bucket, Exists: true},
				Verdicts: []policy.Verdict{{Rule: rule, RuleID: rule.ID, Severity: rule.Severity, Resource: bucket, Result: result,
					Message: "Bucket logs-prod grants READ to AllUsers"}},
			}},
		}
	}
	apply := func(in finding.Input) error {
		_, err := lc.Apply(ctx, in)
		return err
	}

	// 1. The creation's answer is lost and search lags: the delivery fails.
	e1 := input("e1", "arn:aws:iam::123456789012:user/alice", policy.Fail)
	if err := apply(e1); !errors.Is(err, ticket.ErrOutcomeUnknown) {
		t.Fatalf("first delivery: %v, want ErrOutcomeUnknown", err)
	}
	// 2. The source delivers e1 again once search has caught up.
	fj.mu.Lock()
	fj.searchLag = 0
	fj.mu.Unlock()
	if err := apply(e1); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	// 3. A duplicate delivery changes nothing; a repeat by bob comments.
	if err := apply(e1); err != nil {
		t.Fatal(err)
	}
	if err := apply(input("e2", "arn:aws:iam::123456789012:user/bob", policy.Fail)); err != nil {
		t.Fatal(err)
	}
	// 4. The fix resolves and closes.
	if err := apply(input("e3", "arn:aws:iam::123456789012:user/bob", policy.Pass)); err != nil {
		t.Fatal(err)
	}

	if c := fj.issueCount(); c != 1 {
		t.Fatalf("%d issues, want 1", c)
	}
	is := fj.issue("SEC-1")
	if is.Category != "done" {
		t.Errorf("ticket status %s, want done", is.Status)
	}
	if len(is.Comments) != 2 {
		t.Fatalf("%d comments, want the repeat and the resolution", len(is.Comments))
	}
	if txt := adfText(is.Comments[0]["body"]); !strings.Contains(txt, "Another principal") || !strings.Contains(txt, "user/bob") {
		t.Errorf("first comment %q, want the new principal", txt)
	}
	if txt := adfText(is.Comments[1]["body"]); !strings.Contains(txt, "passes the rule again") {
		t.Errorf("second comment %q, want the resolution", txt)
	}
	key := finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: bucket.ID, RuleID: rule.ID}
	f, err := store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if f.Tickets["jira"] != "SEC-1" || len(f.Outbox) != 0 {
		t.Errorf("stored tickets %v, outbox %v: want SEC-1 and nothing owed", f.Tickets, f.Outbox)
	}
}
