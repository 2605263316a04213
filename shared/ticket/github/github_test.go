package github_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/ticket"
	"github.com/driftwatch/driftwatch/shared/ticket/github"
	"github.com/driftwatch/driftwatch/shared/ticket/tickettest"
)

// sleeps records the waits the notifier asks for instead of taking them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

func testConfig(baseURL string) github.Config {
	return github.Config{Owner: testOwner, Repo: testRepo, Token: secret.New(testToken), BaseURL: baseURL, Labels: []string{"driftwatch"}}
}

func newNotifier(t *testing.T, fg *fakeGitHub, mutate func(*github.Config), attempt time.Duration) (*github.Notifier, *sleeps) {
	t.Helper()
	cfg := testConfig(fg.srv.URL) // WithEnterpriseURLs adds /api/v3/
	if mutate != nil {
		mutate(&cfg)
	}
	sl := &sleeps{}
	n, err := github.New(cfg, github.Options{
		HTTPClient: fg.srv.Client(),
		Retry:      ticket.Retry{Sleep: sl.sleep, AttemptTimeout: attempt},
		Rules:      tickettest.SampleRules(),
		Settle:     []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, sl
}

func ticketRef(t *testing.T, r finding.Refs) string {
	t.Helper()
	if len(r.Tickets) != 1 || r.Tickets["github"] == "" {
		t.Fatalf("refs %+v, want one github ticket", r)
	}
	return r.Tickets["github"]
}

var (
	listCall    = "GET " + repoPath + "/issues"
	createCall  = "POST " + repoPath + "/issues"
	getLabel    = func(l string) string { return "GET " + repoPath + "/labels/" + l }
	createLabel = "POST " + repoPath + "/labels"
)

func TestOpenedCreatesIssue(t *testing.T) {
	fg := newFakeGitHub(t)
	n, _ := newNotifier(t, fg, nil, 0)
	f, no := tickettest.Finding(false)
	label := f.Key.Label()

	refs, err := n.Opened(context.Background(), f, no)
	if err != nil {
		t.Fatal(err)
	}
	if ref := ticketRef(t, refs); ref != "acme/security#1" {
		t.Errorf("ref %s, want acme/security#1", ref)
	}
	if got, want := fg.callLog(), []string{listCall, getLabel(label), createLabel, createCall}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	is := fg.issue(1)
	if want := []string{label, "driftwatch"}; !slices.Equal(is.Labels, want) {
		t.Errorf("labels %v, want %v", is.Labels, want)
	}
	if want := "\\[HIGH\\] S3 bucket ACL grants access to everyone on `arn:aws:s3:::logs-prod`"; is.Title != want {
		t.Errorf("title %q, want %q", is.Title, want)
	}
	for _, want := range []string{"aws-s3-bucket-public-acl", "arn:aws:s3:::logs-prod", "assumed-role/Admin/alice", "PutBucketAcl", "2.1.4", f.Key.String(), label, f.Message} {
		if !strings.Contains(is.Body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
}

func TestOpenedReusesOpenIssue(t *testing.T) {
	fg := newFakeGitHub(t)
	n, _ := newNotifier(t, fg, nil, 0)
	f, no := tickettest.Finding(false)
	pr := fg.addIssue([]string{f.Key.Label()}, "open")
	pr.PR = true // a pull request with the label is not the ticket
	fg.addIssue([]string{f.Key.Label()}, "closed")
	open := fg.addIssue([]string{f.Key.Label()}, "open")

	refs, err := n.Opened(context.Background(), f, no)
	if err != nil {
		t.Fatal(err)
	}
	if ref := ticketRef(t, refs); ref != "acme/security#3" {
		t.Errorf("ref %s, want the open issue #%d", ref, open.Number)
	}
	if c := fg.count(createCall); c != 0 {
		t.Errorf("%d creations, want none", c)
	}
}

func TestOpenedAgain(t *testing.T) {
	fg := newFakeGitHub(t)
	n, _ := newNotifier(t, fg, nil, 0)
	f, no := tickettest.Finding(false)
	old := fg.addIssue([]string{f.Key.Label()}, "open")
	f.Occurrence, no.Occurrence = 2, 2
	f.Tickets = map[string]string{"github": "acme/security#1"}
	if _, err := n.Opened(context.Background(), f, no); err != nil {
		t.Fatal(err)
	}
	if len(old.Comments) != 1 || !strings.Contains(old.Comments[0], "opened again \\(occurrence 2\\)") {
		t.Errorf("comments %q, want one saying the finding opened again", old.Comments)
	}

	old.State = "closed"
	refs, err := n.Opened(context.Background(), f, no)
	if err != nil {
		t.Fatal(err)
	}
	if ref := ticketRef(t, refs); ref != "acme/security#2" {
		t.Fatalf("ref %s, want a new issue", ref)
	}
	if body := fg.issue(2).Body; !strings.Contains(body, "**Previous ticket:** `acme/security#1`") {
		t.Errorf("new issue does not name the previous one:\n%s", body)
	}
}

func TestOpenedLabelDropped(t *testing.T) {
	fg := newFakeGitHub(t)
	fg.dropLabels = true
	n, _ := newNotifier(t, fg, nil, 0)
	f, no := tickettest.Finding(false)
	if _, err := n.Opened(context.Background(), f, no); err != nil {
		t.Fatal(err)
	}
	if c := fg.count("POST " + repoPath + "/issues/1/labels"); c != 1 {
		t.Errorf("%d label additions, want 1", c)
	}
	if !slices.Contains(fg.issue(1).Labels, f.Key.Label()) {
		t.Errorf("issue labels %v lack the finding label", fg.issue(1).Labels)
	}
}

func TestRepeated(t *testing.T) {
	fg := newFakeGitHub(t)
	n, _ := newNotifier(t, fg, nil, 0)
	f, _ := tickettest.Finding(false)
	is := fg.addIssue([]string{f.Key.Label()}, "open")
	f.Tickets = map[string]string{"github": "acme/security#1"}
	g, rn := tickettest.Repeat(f, "arn:aws:iam::123456789012:user/mallory")

	refs, err := n.Repeated(context.Background(), g, rn)
	if err != nil {
		t.Fatal(err)
	}
	if ref := ticketRef(t, refs); ref != "acme/security#1" {
		t.Errorf("ref %s", ref)
	}
	// The comments are read first: a retried notice is not posted twice.
	if got, want := fg.callLog(), []string{"GET " + repoPath + "/issues/1/comments", "POST " + repoPath + "/issues/1/comments"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	for _, want := range []string{"Another principal", "`arn:aws:iam::123456789012:user/mallory`", "PutBucketPolicy"} {
		if !strings.Contains(is.Comments[0], want) {
			t.Errorf("comment lacks %q:\n%s", want, is.Comments[0])
		}
	}

	t.Run("issue deleted: a new one", func(t *testing.T) {
		g.Tickets = map[string]string{"github": "acme/security#99"}
		refs, err := n.Repeated(context.Background(), g, rn)
		if err != nil {
			t.Fatal(err)
		}
		// The open issue #1 carries the label, so it is found and used.
		if ref := ticketRef(t, refs); ref != "acme/security#1" {
			t.Errorf("ref %s, want the labelled open issue", ref)
		}
	})
}

func TestResolved(t *testing.T) {
	for _, tc := range []struct {
		name        string
		state       string
		wantComment bool
	}{
		{"open issue: comment and close", "open", true},
		{"closed already: nothing", "closed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fg := newFakeGitHub(t)
			n, _ := newNotifier(t, fg, nil, 0)
			f, _ := tickettest.Finding(false)
			is := fg.addIssue([]string{f.Key.Label()}, tc.state)
			f.Tickets = map[string]string{"github": "acme/security#1"}
			g, rn := tickettest.Resolve(f, finding.ReasonDeleted)
			if _, err := n.Resolved(context.Background(), g, rn); err != nil {
				t.Fatal(err)
			}
			if is.State != "closed" {
				t.Errorf("state %s, want closed", is.State)
			}
			if got := len(is.Comments) == 1; got != tc.wantComment {
				t.Errorf("commented %v, want %v", got, tc.wantComment)
			}
			if tc.wantComment {
				if is.StateReason != "completed" {
					t.Errorf("state reason %q, want completed", is.StateReason)
				}
				if !strings.Contains(is.Comments[0], "was deleted") {
					t.Errorf("comment lacks the reason:\n%s", is.Comments[0])
				}
			}
		})
	}
	t.Run("no issue", func(t *testing.T) {
		fg := newFakeGitHub(t)
		n, _ := newNotifier(t, fg, nil, 0)
		f, _ := tickettest.Finding(false)
		g, rn := tickettest.Resolve(f, finding.ReasonFixed)
		refs, err := n.Resolved(context.Background(), g, rn)
		if err != nil || len(refs.Tickets) != 0 {
			t.Errorf("refs %v, err %v: want nothing to do", refs, err)
		}
	})
}

// TestCreateIsIdempotent: GitHub creates the issue but the client never
// learns it. The notifier must find it by its label rather than create a
// second one, in the same call or in the redelivery.
func TestCreateIsIdempotent(t *testing.T) {
	for _, tc := range []struct {
		name      string
		listLag   int
		hook      func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool
		firstErr  bool
		wantWaits []time.Duration
	}{
		{name: "connection dropped", listLag: 1, hook: func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return true
		}, wantWaits: []time.Duration{time.Second, 2 * time.Second}},
		{name: "answer never comes", hook: func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool {
			<-r.Context().Done()
			return true
		}, wantWaits: []time.Duration{time.Second}},
		{name: "502 after create", hook: func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool {
			ghError(w, http.StatusBadGateway, "Server Error")
			return true
		}, wantWaits: []time.Duration{time.Second}},
		{name: "listing lags past the waits: redelivery finds it", listLag: 3, firstErr: true,
			hook: func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return true
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fg := newFakeGitHub(t)
			fg.listLag = tc.listLag
			first := true
			fg.createHook = func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool {
				if first {
					first = false
					return tc.hook(w, r, is)
				}
				return false
			}
			n, sl := newNotifier(t, fg, nil, 200*time.Millisecond)
			f, no := tickettest.Finding(false)
			refs, err := n.Opened(context.Background(), f, no)
			if tc.firstErr {
				if !errors.Is(err, ticket.ErrOutcomeUnknown) {
					t.Fatalf("first delivery: %v, want ErrOutcomeUnknown", err)
				}
				if strings.Contains(err.Error(), testToken) {
					t.Errorf("error shows the token: %v", err)
				}
				refs, err = n.Opened(context.Background(), f, no)
			}
			if err != nil {
				t.Fatal(err)
			}
			if ref := ticketRef(t, refs); ref != "acme/security#1" {
				t.Errorf("ref %s, want acme/security#1", ref)
			}
			if c := fg.count(createCall); c != 1 || fg.issueCount() != 1 {
				t.Errorf("%d creations, %d issues: want exactly one", c, fg.issueCount())
			}
			if tc.wantWaits != nil && !slices.Equal(sl.all(), tc.wantWaits) {
				t.Errorf("waits %v, want %v", sl.all(), tc.wantWaits)
			}
		})
	}
}

func TestHTTPFailures(t *testing.T) {
	t.Run("bad token: 401, not retried, token not shown", func(t *testing.T) {
		fg := newFakeGitHub(t)
		n, _ := newNotifier(t, fg, func(c *github.Config) { c.Token = secret.New("ghp_wrong_123") }, 0)
		f, no := tickettest.Finding(false)
		_, err := n.Opened(context.Background(), f, no)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("error %v, want a 401", err)
		}
		if strings.Contains(err.Error(), "ghp_wrong_123") {
			t.Errorf("error shows the token: %v", err)
		}
		if !strings.Contains(err.Error(), "list github issues of acme/security") {
			t.Errorf("error %v does not say what was attempted", err)
		}
		if len(fg.callLog()) != 0 { // unauthenticated requests are not recorded
			t.Errorf("calls %v", fg.callLog())
		}
	})
	t.Run("secondary rate limit: 403 with Retry-After retried", func(t *testing.T) {
		fg := newFakeGitHub(t)
		fg.fail = map[string][]failure{listCall: {{status: 403, header: map[string]string{"Retry-After": "9"}}}}
		n, sl := newNotifier(t, fg, nil, 0)
		f, no := tickettest.Finding(false)
		if _, err := n.Opened(context.Background(), f, no); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sl.all(), []time.Duration{9 * time.Second}) {
			t.Errorf("waits %v, want 9s", sl.all())
		}
	})
	t.Run("429 retried", func(t *testing.T) {
		fg := newFakeGitHub(t)
		fg.fail = map[string][]failure{listCall: {{status: 429, header: map[string]string{"Retry-After": "4"}}}}
		n, sl := newNotifier(t, fg, nil, 0)
		f, no := tickettest.Finding(false)
		if _, err := n.Opened(context.Background(), f, no); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sl.all(), []time.Duration{4 * time.Second}) || fg.count(listCall) != 2 {
			t.Errorf("waits %v, %d listings: want one 4s wait and a retry", sl.all(), fg.count(listCall))
		}
	})
	t.Run("plain 403 not retried", func(t *testing.T) {
		fg := newFakeGitHub(t)
		fg.fail = map[string][]failure{listCall: {{status: 403}}}
		n, sl := newNotifier(t, fg, nil, 0)
		f, no := tickettest.Finding(false)
		if _, err := n.Opened(context.Background(), f, no); err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("error %v, want a 403", err)
		}
		if fg.count(listCall) != 1 || len(sl.all()) != 0 {
			t.Errorf("%d listings, waits %v: a 403 without rate-limit headers is final", fg.count(listCall), sl.all())
		}
	})
	t.Run("422 on create: final, no settle", func(t *testing.T) {
		fg := newFakeGitHub(t)
		fg.fail = map[string][]failure{createCall: {{status: 422}}}
		n, sl := newNotifier(t, fg, nil, 0)
		f, no := tickettest.Finding(false)
		_, err := n.Opened(context.Background(), f, no)
		if err == nil || errors.Is(err, ticket.ErrOutcomeUnknown) {
			t.Fatalf("error %v, want a final one", err)
		}
		if fg.count(listCall) != 1 || len(sl.all()) != 0 {
			t.Errorf("%d listings, waits %v", fg.count(listCall), sl.all())
		}
	})
}

func TestGitHubDotCom(t *testing.T) {
	// Without base_url the client talks to api.github.com; New must not
	// need the network to be built.
	n, err := github.New(github.Config{Owner: "acme", Repo: "security", Token: secret.New("x")}, github.Options{})
	if err != nil || n.Name() != "github" {
		t.Fatalf("New: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (&github.Config{Owner: "acme", Repo: "security", Token: secret.New("x")}).Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*github.Config)
		field  string
	}{
		{"no owner", func(c *github.Config) { c.Owner = "" }, "owner"},
		{"bad owner", func(c *github.Config) { c.Owner = "a/b" }, "owner"},
		{"no repo", func(c *github.Config) { c.Repo = "" }, "repo"},
		{"dot-dot repo", func(c *github.Config) { c.Repo = ".." }, "repo"},
		{"no token", func(c *github.Config) { c.Token = secret.New("") }, "token"},
		{"http base URL", func(c *github.Config) { c.BaseURL = "http://github.example.com/api/v3/" }, "base_url"},
		{"label with space", func(c *github.Config) { c.Labels = []string{"a b"} }, "labels[0]"},
		{"unknown repeats", func(c *github.Config) { c.Repeats = "all" }, "repeats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := github.Config{Owner: "acme", Repo: "security", Token: secret.New("x")}
			tc.mutate(&c)
			var fe *ticket.FieldError
			if err := c.Validate(); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Validate() = %v, want a FieldError for %s", err, tc.field)
			}
		})
	}
}

func TestRepeatsNewPrincipalOnly(t *testing.T) {
	fg := newFakeGitHub(t)
	n, _ := newNotifier(t, fg, func(c *github.Config) { c.Repeats = ticket.RepeatsNewPrincipal }, 0)
	f, _ := tickettest.Finding(false)
	is := fg.addIssue([]string{f.Key.Label()}, "open")
	f.Tickets = map[string]string{"github": "acme/security#1"}
	same, sn := tickettest.Repeat(f, f.Change.PrincipalARN)
	if _, err := n.Repeated(context.Background(), same, sn); err != nil {
		t.Fatal(err)
	}
	if len(fg.callLog()) != 0 {
		t.Errorf("calls %v for a same-principal repeat, want none", fg.callLog())
	}
	other, on := tickettest.Repeat(f, "arn:aws:iam::123456789012:user/mallory")
	if _, err := n.Repeated(context.Background(), other, on); err != nil {
		t.Fatal(err)
	}
	if len(is.Comments) != 1 {
		t.Errorf("%d comments, want 1 for the new principal", len(is.Comments))
	}
}

func TestConfigDoesNotLeakToken(t *testing.T) {
	c := testConfig("https://github.example.com/api/v3/")
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", c)
	js, _ := json.Marshal(c)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v", c, &c, c), string(js), logged.String()} {
		if strings.Contains(s, testToken) {
			t.Errorf("config formatting shows the token: %s", s)
		}
	}
}

// TestNoted: a note is a comment on the issue whatever Repeats says; a
// finding that is not open gets no issue for a note.
func TestNoted(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   finding.Status
		ticketed bool
		comments int
	}{
		{"open, ticketed", finding.StatusOpen, true, 1},
		{"open, never ticketed: one is opened", finding.StatusOpen, false, 1},
		{"resolved, ticketed", finding.StatusResolved, true, 1},
		{"resolved, never ticketed: none is opened", finding.StatusResolved, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fg := newFakeGitHub(t)
			n, _ := newNotifier(t, fg, func(c *github.Config) { c.Repeats = ticket.RepeatsNone }, 0)
			f, _ := tickettest.Finding(false)
			f.Status = tc.status
			if tc.ticketed {
				fg.addIssue([]string{f.Key.Label()}, "open")
				f.Tickets = map[string]string{"github": "acme/security#1"}
			}
			nf, nn := tickettest.Note(f, false, "")
			refs, err := n.Repeated(context.Background(), nf, nn)
			if err != nil {
				t.Fatal(err)
			}
			if tc.comments == 0 {
				if len(refs.Tickets) != 0 || len(fg.callLog()) != 0 {
					t.Errorf("refs %+v, calls %v; want nothing", refs, fg.callLog())
				}
				return
			}
			is := fg.issue(1)
			if ref := ticketRef(t, refs); ref != "acme/security#1" || is == nil || len(is.Comments) != tc.comments {
				t.Fatalf("ref %s, issue %+v; want %d comment(s) on #1", ref, is, tc.comments)
			}
			if c := is.Comments[0]; !strings.Contains(c, "would revert aws-s3-bucket-public-acl") || !strings.Contains(c, "s3:PutBucketAcl") {
				t.Errorf("comment lacks the note:\n%s", c)
			}
		})
	}
}
