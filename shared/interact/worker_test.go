package interact

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/baseline"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
	"github.com/driftwatch/driftwatch/shared/slack"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"
)

// answer is one answer sent through a response_url.
type answer struct {
	kind string // "replace" or "ephemeral"
	url  string
	text string // the ephemeral text, or the replacing message's JSON
}

// fakeResponder records the answers.
type fakeResponder struct {
	mu      sync.Mutex
	answers []answer
}

var _ Responder = (*fakeResponder)(nil)

func (r *fakeResponder) Replace(_ context.Context, u string, msg slack.Message) error {
	b, err := msg.MarshalIndent()
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Blocks marshal themselves with HTML escaping; undo it to read them.
	text := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
	r.answers = append(r.answers, answer{"replace", u, text})
	return nil
}

func (r *fakeResponder) Ephemeral(_ context.Context, u, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers = append(r.answers, answer{"ephemeral", u, text})
	return nil
}

// fakeReader returns the document it holds.
type fakeReader struct {
	res resource.Resource
	err error
}

var _ Reader = (*fakeReader)(nil)

func (r *fakeReader) Read(_ context.Context, ref resource.Ref) (resource.Resource, error) {
	if r.err != nil {
		return resource.Resource{}, r.err
	}
	res := r.res
	res.Ref = ref
	res.Doc = maps.Clone(r.res.Doc)
	return res, nil
}

var sshRule = &policy.Rule{ID: findingKey.RuleID, Title: "SSH open to the world", Severity: policy.SeverityHigh,
	Mode: policy.ModeAlert, Remediation: "ec2-revoke-world-ingress"}

// fakeRules fails the SSH rule when the document says SSH is open.
type fakeRules struct{}

var _ Evaluator = fakeRules{}

func (fakeRules) Evaluate(_ context.Context, in policy.Input) []policy.Verdict {
	v := policy.Verdict{Rule: sshRule, RuleID: sshRule.ID, Severity: sshRule.Severity, Resource: in.Resource.Ref, Result: policy.Pass, Message: "closed"}
	if in.Resource.Doc["SSH"] == "open" {
		v.Result, v.Message = policy.Fail, "port 22 is open to 0.0.0.0/0"
	}
	return []policy.Verdict{v}
}

// fakeReverter records requests and closes SSH on the reader it was given.
type fakeReverter struct {
	reader *fakeReader
	reqs   []revert.Request
	result func(req revert.Request) (revert.Result, error)
}

var _ Reverter = (*fakeReverter)(nil)

func (r *fakeReverter) Revert(ctx context.Context, req revert.Request) (revert.Result, error) {
	r.reqs = append(r.reqs, req)
	if r.result != nil {
		return r.result(req)
	}
	r.reader.res.Doc["SSH"] = "closed"
	after, _ := r.reader.Read(ctx, req.Resource.Ref)
	return revert.Result{Status: revert.StatusReverted, Remediation: "ec2-revoke-world-ingress", Resource: after.Ref, RuleID: req.Verdict.RuleID,
		Requester: req.Requester, After: &after, Verdicts: fakeRules{}.Evaluate(ctx, policy.Input{Resource: after}),
		Calls: []revert.Call{{Service: "ec2", Operation: "RevokeSecurityGroupIngress", Params: map[string]any{"GroupId": "sg-1"}}}}, nil
}

// fakeNotifier records the notices the lifecycle delivers.
type fakeNotifier struct {
	mu      sync.Mutex
	notices []finding.Notice
}

var _ finding.Notifier = (*fakeNotifier)(nil)

func (n *fakeNotifier) Name() string { return "fake" }

func (n *fakeNotifier) add(no finding.Notice) (finding.Refs, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notices = append(n.notices, no)
	return finding.Refs{}, nil
}

func (n *fakeNotifier) Opened(_ context.Context, _ *finding.Finding, no finding.Notice) (finding.Refs, error) {
	return n.add(no)
}

func (n *fakeNotifier) Repeated(_ context.Context, _ *finding.Finding, no finding.Notice) (finding.Refs, error) {
	return n.add(no)
}

func (n *fakeNotifier) Resolved(_ context.Context, _ *finding.Finding, no finding.Notice) (finding.Refs, error) {
	return n.add(no)
}

// notes returns the notes delivered.
func (n *fakeNotifier) notes() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, no := range n.notices {
		if no.Kind == finding.Noted {
			out = append(out, no.Note)
		}
	}
	return out
}

type workerEnv struct {
	notifier  *fakeNotifier
	store     *sqlite.Store
	baselines *baseline.SQLiteStore
	reader    *fakeReader
	reverter  *fakeReverter
	resp      *fakeResponder
	members   map[string][]string
	groupErr  error
	w         *Worker
}

const (
	alice   = "U0ALICE" // named in the config
	bob     = "U0BOB"   // in the ops group
	mallory = "U0MALLORY"
	hookURL = "https://hooks.slack.com/actions/T0001/1/x"
)

var sgRef = resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: findingKey.ResourceID, Account: findingKey.Account, Region: "us-east-1"}

func newWorkerEnv(t *testing.T) *workerEnv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Memory, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	bs, err := baseline.OpenSQLite(ctx, baseline.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	e := &workerEnv{store: store, baselines: bs, resp: &fakeResponder{}, notifier: &fakeNotifier{},
		reader:  &fakeReader{res: resource.Resource{Ref: sgRef, Exists: true, Doc: map[string]any{"GroupId": "sg-1", "SSH": "open"}}},
		members: map[string][]string{"S0OPS": {bob}}}
	e.reverter = &fakeReverter{reader: e.reader}
	lc := &finding.Lifecycle{Store: store, Notifiers: []finding.Notifier{e.notifier}, Now: func() time.Time { return t0 }}
	e.w = &Worker{
		Findings: store, Reader: e.reader, Rules: fakeRules{}, Reverter: e.reverter, Baselines: bs, Lifecycle: lc, Respond: e.resp,
		Access: Access{Users: []string{alice}, Groups: []string{"S0OPS"}, Members: func(_ context.Context, g string) ([]string, error) {
			if e.groupErr != nil {
				return nil, e.groupErr
			}
			return e.members[g], nil
		}},
		Now: func() time.Time { return t0.Add(time.Hour) },
	}
	// The finding: someone opened SSH to the world.
	res, _ := e.reader.Read(ctx, sgRef)
	ch := &change.Change{Cloud: "aws", EventID: "ev-1", Time: t0, Account: findingKey.Account, Region: "us-east-1",
		Service: "ec2.amazonaws.com", Operation: "AuthorizeSecurityGroupIngress",
		Principal:   change.Principal{ARN: "arn:aws:iam::123456789012:user/dev", Type: "IAMUser"},
		RequestJSON: json.RawMessage(`{"groupId":"sg-1"}`)}
	trs, err := lc.Apply(ctx, finding.Input{Change: ch, ObservedAt: t0, Checks: []finding.Check{{Resource: res, Verdicts: fakeRules{}.Evaluate(ctx, policy.Input{Resource: res})}}})
	if err != nil || len(trs) != 1 || trs[0].Kind != finding.Opened {
		t.Fatalf("open the finding: %+v %v", trs, err)
	}
	return e
}

// snapshot is the stored finding as JSON, to compare before and after.
func (e *workerEnv) snapshot(t *testing.T) string {
	t.Helper()
	f, err := e.store.Get(context.Background(), findingKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *workerEnv) finding(t *testing.T) *finding.Finding {
	t.Helper()
	f, err := e.store.Get(context.Background(), findingKey)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func job(id, action, user string) Job {
	return Job{ID: id, Action: action, Key: findingKey.String(), UserID: user, UserName: strings.ToLower(user[2:]), ResponseURL: hookURL, At: t0}
}

func TestWorkerRefusesAndChangesNothing(t *testing.T) {
	tests := []struct {
		name     string
		job      Job
		setup    func(e *workerEnv)
		wantText string
		wantErr  bool
	}{
		{name: "unauthorised revert", job: job("j1", finding.ActionRevert, mallory), wantText: "Only the people named"},
		{name: "unauthorised accept", job: job("j1", finding.ActionAcceptBaseline, mallory), wantText: "Only the people named"},
		{name: "group membership unreadable", job: job("j1", finding.ActionRevert, mallory),
			setup: func(e *workerEnv) { e.groupErr = errors.New("missing_scope") }, wantText: "could not check", wantErr: true},
		{name: "groups without a way to read them", job: job("j1", finding.ActionRevert, bob),
			setup: func(e *workerEnv) { e.w.Access.Members = nil }, wantText: "Only the people named"},
		{name: "unknown finding", job: Job{ID: "j1", Action: finding.ActionAcknowledge, UserID: alice, ResponseURL: hookURL,
			Key: "aws/123456789012/arn:aws:s3:::other/aws-s3-bucket-public-acl"}, wantText: "no longer has this finding"},
		{name: "not a key", job: Job{ID: "j1", Action: finding.ActionAcknowledge, UserID: alice, ResponseURL: hookURL, Key: "nope"},
			wantText: "names no finding"},
		{name: "reverts not set up", job: job("j1", finding.ActionRevert, alice),
			setup: func(e *workerEnv) { e.w.Reverter = nil }, wantText: "Reverts are not set up"},
		{name: "baselines not set up", job: job("j1", finding.ActionAcceptBaseline, alice),
			setup: func(e *workerEnv) { e.w.Baselines = nil }, wantText: "Baselines are not set up"},
		{name: "unknown action", job: job("j1", "delete", alice), wantText: "does not know this button"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWorkerEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			before := e.snapshot(t)
			out, err := e.w.Do(context.Background(), tt.job)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Do error = %v, want error %v", err, tt.wantErr)
			}
			if out.Status == StatusDone {
				t.Errorf("status %s", out.Status)
			}
			if after := e.snapshot(t); after != before {
				t.Errorf("the finding changed:\nbefore %s\nafter  %s", before, after)
			}
			if len(e.reverter.reqs) != 0 {
				t.Errorf("reverter called: %+v", e.reverter.reqs)
			}
			if _, err := e.baselines.Get(context.Background(), sgRef.ID); !errors.Is(err, baseline.ErrNotFound) {
				t.Errorf("a baseline was stored: %v", err)
			}
			if e.reader.res.Doc["SSH"] != "open" {
				t.Error("the resource changed")
			}
			if notes := e.notifier.notes(); len(notes) != 0 {
				t.Errorf("notes delivered: %q", notes)
			}
			if len(e.resp.answers) != 1 || e.resp.answers[0].kind != "ephemeral" || e.resp.answers[0].url != hookURL ||
				!strings.Contains(e.resp.answers[0].text, tt.wantText) {
				t.Errorf("answers %+v, want one ephemeral containing %q", e.resp.answers, tt.wantText)
			}
		})
	}
}

func TestWorkerActions(t *testing.T) {
	later := t0.Add(time.Hour)
	tests := []struct {
		name  string
		job   Job
		setup func(e *workerEnv)
		// check inspects the finding and the environment after the job.
		check       func(t *testing.T, e *workerEnv, f *finding.Finding)
		wantStatus  string
		wantAlert   string // in the replacing message
		wantText    string // in the ephemeral answer ("" for none)
		wantNote    string // in the note delivered to the notifiers
		wantReverts int
	}{
		{
			name: "acknowledge, by anyone",
			job:  job("j1", finding.ActionAcknowledge, mallory),
			check: func(t *testing.T, e *workerEnv, f *finding.Finding) {
				if f.AcknowledgedBy != "slack:U0MALLORY (mallory)" || !f.AcknowledgedAt.Equal(later) || f.Status != finding.StatusOpen {
					t.Errorf("finding %s acknowledged by %q at %v", f.Status, f.AcknowledgedBy, f.AcknowledgedAt)
				}
			},
			wantStatus: StatusDone, wantAlert: "✋ Acknowledged by <@U0MALLORY>",
			wantNote: "slack:U0MALLORY (mallory) acknowledged the finding: no further alerts",
		},
		{
			name: "snooze, by anyone",
			job:  job("j1", finding.ActionSnooze, mallory),
			check: func(t *testing.T, e *workerEnv, f *finding.Finding) {
				if !f.SnoozedUntil.Equal(later.Add(24 * time.Hour)) {
					t.Errorf("snoozed until %v", f.SnoozedUntil)
				}
			},
			wantStatus: StatusDone, wantAlert: "💤 Snoozed by <@U0MALLORY>",
			wantNote: "snoozed the finding's alerts until ",
		},
		{
			name: "revert by a named user resolves the finding",
			job:  job("j1", finding.ActionRevert, alice),
			check: func(t *testing.T, e *workerEnv, f *finding.Finding) {
				req := e.reverter.reqs[0]
				if req.Requester != "slack:U0ALICE (alice)" || req.Verdict.Result != policy.Fail || req.ReadErr != nil ||
					req.Change == nil || req.Change.Principal.ARN != "arn:aws:iam::123456789012:user/dev" || string(req.Change.RequestJSON) != `{"groupId":"sg-1"}` {
					t.Errorf("revert request %+v", req)
				}
				if f.Status != finding.StatusResolved {
					t.Errorf("status %s, want resolved by the re-read", f.Status)
				}
			},
			wantStatus: StatusDone, wantAlert: "↩️ Revert requested by <@U0ALICE>", wantText: "reverted aws-ec2-security-group-admin-ports-open-ipv4", wantReverts: 1,
			wantNote: "slack:U0ALICE (alice) pressed Revert now: reverted aws-ec2-security-group-admin-ports-open-ipv4",
		},
		{
			name:       "revert by a group member",
			job:        job("j1", finding.ActionRevert, bob),
			wantStatus: StatusDone, wantAlert: "RESOLVED", wantText: "reverted", wantReverts: 1,
			wantNote: "slack:U0BOB (bob) pressed Revert now: reverted",
		},
		{
			name:  "revert when the rule passes already",
			job:   job("j1", finding.ActionRevert, alice),
			setup: func(e *workerEnv) { e.reader.res.Doc["SSH"] = "closed" },
			check: func(t *testing.T, e *workerEnv, f *finding.Finding) {
				if f.Status != finding.StatusResolved {
					t.Errorf("status %s, want resolved", f.Status)
				}
			},
			wantStatus: StatusDone, wantAlert: "nothing to revert", wantText: "Nothing to revert",
			wantNote: "pressed Revert now: nothing to revert: the rule passes",
		},
		{
			name: "revert held back by a gate",
			job:  job("j1", finding.ActionRevert, alice),
			setup: func(e *workerEnv) {
				e.reverter.result = func(req revert.Request) (revert.Result, error) {
					return revert.Result{Status: revert.StatusSkipped, Reason: "the revert switch is off", Resource: sgRef, RuleID: req.Verdict.RuleID}, nil
				}
			},
			check: func(t *testing.T, e *workerEnv, f *finding.Finding) {
				if f.Status != finding.StatusOpen {
					t.Errorf("status %s, want open", f.Status)
				}
			},
			wantStatus: StatusDone, wantAlert: "the revert switch is off", wantText: "Not reverted.", wantReverts: 1,
			wantNote: "pressed Revert now: skipped: aws-ec2-security-group-admin-ports-open-ipv4 on " + sgRef.ID + ": the revert switch is off",
		},
		{
			name: "accept as baseline",
			job:  job("j1", finding.ActionAcceptBaseline, alice),
			check: func(t *testing.T, e *workerEnv, f *finding.Finding) {
				b, err := e.baselines.Get(context.Background(), sgRef.ID)
				if err != nil {
					t.Fatal(err)
				}
				if b.Doc["SSH"] != "open" || b.ApprovedBy != "slack:U0ALICE (alice)" || !strings.Contains(b.Note, findingKey.Label()) {
					t.Errorf("baseline %+v", b)
				}
				if f.AcknowledgedBy != "slack:U0ALICE (alice)" {
					t.Errorf("acknowledged by %q", f.AcknowledgedBy)
				}
			},
			wantStatus: StatusDone, wantAlert: "📌 Accepted as baseline by <@U0ALICE>", wantText: "approved baseline (version 1)",
			wantNote: "slack:U0ALICE (alice) accepted the current configuration of " + sgRef.ID + " as its approved baseline (version 1)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWorkerEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			out, err := e.w.Do(context.Background(), tt.job)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if out.Status != tt.wantStatus {
				t.Errorf("status %s (%s), want %s", out.Status, out.Text, tt.wantStatus)
			}
			if len(e.reverter.reqs) != tt.wantReverts {
				t.Errorf("%d reverts, want %d", len(e.reverter.reqs), tt.wantReverts)
			}
			f := e.finding(t)
			if n := len(f.Actions); n != 1 || f.Actions[0].At != later || f.Actions[0].By != tt.job.By() {
				t.Errorf("actions %+v, want one by %s", f.Actions, tt.job.By())
			}
			wantAnswers := 1
			if tt.wantText != "" {
				wantAnswers = 2
			}
			if len(e.resp.answers) != wantAnswers {
				t.Fatalf("answers %+v, want %d", e.resp.answers, wantAnswers)
			}
			if a := e.resp.answers[0]; a.kind != "replace" || !strings.Contains(a.text, tt.wantAlert) {
				t.Errorf("first answer %s: %s\nwant the alert replaced, with %q", a.kind, a.text, tt.wantAlert)
			}
			if tt.wantText != "" {
				if a := e.resp.answers[1]; a.kind != "ephemeral" || !strings.Contains(a.text, tt.wantText) {
					t.Errorf("second answer %s %q, want ephemeral with %q", a.kind, a.text, tt.wantText)
				}
			}
			// The action's result reached the notifiers (Slack thread,
			// ticket) as one note, and nothing is left to deliver.
			if notes := e.notifier.notes(); len(notes) != 1 || !strings.Contains(notes[0], tt.wantNote) || notes[0] != f.Actions[0].Result {
				t.Errorf("notes %q, want one containing %q", notes, tt.wantNote)
			}
			if len(f.Outbox) != 0 {
				t.Errorf("undelivered notices %+v", f.Outbox)
			}
			if tt.check != nil {
				tt.check(t, e, f)
			}
		})
	}
}

func TestWorkerDoesAJobOnce(t *testing.T) {
	e := newWorkerEnv(t)
	ctx := context.Background()
	j := job("same", finding.ActionRevert, alice)
	if out, err := e.w.Do(ctx, j); err != nil || out.Status != StatusDone {
		t.Fatalf("first: %+v %v", out, err)
	}
	before := e.snapshot(t)
	answers := len(e.resp.answers)
	out, err := e.w.Do(ctx, j)
	if err != nil || out.Status != StatusDuplicate {
		t.Fatalf("second delivery: %+v %v", out, err)
	}
	if len(e.reverter.reqs) != 1 || e.snapshot(t) != before || len(e.resp.answers) != answers {
		t.Errorf("the second delivery did something: %d reverts, %d answers", len(e.reverter.reqs), len(e.resp.answers)-answers)
	}
}

func TestAccess(t *testing.T) {
	a := Access{Users: []string{alice}, Groups: []string{"S1", "S2"}, Members: func(_ context.Context, g string) ([]string, error) {
		if g == "S2" {
			return []string{bob}, nil
		}
		return nil, nil
	}}
	for _, tt := range []struct {
		user string
		want bool
	}{{alice, true}, {bob, true}, {mallory, false}, {"", false}} {
		if got, err := a.Allowed(context.Background(), tt.user); got != tt.want || err != nil {
			t.Errorf("Allowed(%q) = %v, %v; want %v", tt.user, got, err, tt.want)
		}
	}
}
