package jira_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/ticket"
	"github.com/driftwatch/driftwatch/shared/ticket/jira"
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

func testConfig(baseURL string) jira.Config {
	return jira.Config{
		BaseURL: baseURL, Email: testEmail, APIToken: secret.New(testToken),
		Project: "SEC", IssueType: "Bug", DoneTransition: "done",
		Labels:     []string{"driftwatch", "cloud-security"},
		Priorities: map[string]string{"critical": "Highest", "high": "High"},
	}
}

func newNotifier(t *testing.T, fj *fakeJira, mutate func(*jira.Config)) (*jira.Notifier, *sleeps) {
	t.Helper()
	cfg := testConfig(fj.srv.URL)
	if mutate != nil {
		mutate(&cfg)
	}
	sl := &sleeps{}
	n, err := jira.New(cfg, jira.Options{
		HTTPClient: fj.srv.Client(),
		Retry:      ticket.Retry{Sleep: sl.sleep, AttemptTimeout: 2 * time.Second},
		Rules:      tickettest.SampleRules(),
		Settle:     []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, sl
}

func ticketKey(t *testing.T, r finding.Refs) string {
	t.Helper()
	if len(r.Tickets) != 1 || r.Tickets["jira"] == "" {
		t.Fatalf("refs %+v, want one jira ticket", r)
	}
	return r.Tickets["jira"]
}

// adfText concatenates the text of an ADF document.
func adfText(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				b.WriteString(s + " ")
			}
			walk(x["content"])
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return b.String()
}

func TestOpenedCreatesTicket(t *testing.T) {
	fj := newFakeJira(t)
	n, _ := newNotifier(t, fj, nil)
	f, no := tickettest.Finding(false)

	refs, err := n.Opened(context.Background(), f, no)
	if err != nil {
		t.Fatal(err)
	}
	if key := ticketKey(t, refs); key != "SEC-1" {
		t.Errorf("ticket %s, want SEC-1", key)
	}
	if got, want := fj.callLog(), []string{"POST /rest/api/3/search/jql", "POST /rest/api/3/issue"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v (search by label before create)", got, want)
	}
	is := fj.issue("SEC-1")
	fields := is.Fields
	if got := fields["project"].(map[string]any)["key"]; got != "SEC" {
		t.Errorf("project %v", got)
	}
	if got := fields["issuetype"].(map[string]any)["name"]; got != "Bug" {
		t.Errorf("issue type %v", got)
	}
	if got := fields["priority"].(map[string]any)["name"]; got != "High" {
		t.Errorf("priority %v, want High for severity high", got)
	}
	if want := []string{f.Key.Label(), "driftwatch", "cloud-security"}; !slices.Equal(is.Labels, want) {
		t.Errorf("labels %v, want %v", is.Labels, want)
	}
	if got, want := fields["summary"], "[HIGH] S3 bucket ACL grants access to everyone - arn:aws:s3:::logs-prod"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	text := adfText(fields["description"])
	for _, want := range []string{"aws-s3-bucket-public-acl", "arn:aws:s3:::logs-prod", "arn:aws:sts::123456789012:assumed-role/Admin/alice",
		"203.0.113.7", "PutBucketAcl", "2.1.4", f.Key.String(), f.Key.Label(), f.Message} {
		if !strings.Contains(text, want) {
			t.Errorf("description lacks %q", want)
		}
	}
}

func TestOpenedWithoutPriorityMapping(t *testing.T) {
	fj := newFakeJira(t)
	n, _ := newNotifier(t, fj, func(c *jira.Config) { c.Priorities = nil; c.IssueType = "" })
	f, no := tickettest.Finding(false)
	if _, err := n.Opened(context.Background(), f, no); err != nil {
		t.Fatal(err)
	}
	fields := fj.issue("SEC-1").Fields
	if _, ok := fields["priority"]; ok {
		t.Errorf("priority %v sent without a mapping", fields["priority"])
	}
	if got := fields["issuetype"].(map[string]any)["name"]; got != jira.DefaultIssueType {
		t.Errorf("issue type %v, want the default %s", got, jira.DefaultIssueType)
	}
}

func TestOpenedReusesOpenTicket(t *testing.T) {
	fj := newFakeJira(t)
	n, _ := newNotifier(t, fj, nil)
	f, no := tickettest.Finding(false)
	fj.addIssue([]string{"other"}, "new")
	existing := fj.addIssue([]string{"driftwatch", f.Key.Label()}, "indeterminate")

	refs, err := n.Opened(context.Background(), f, no)
	if err != nil {
		t.Fatal(err)
	}
	if key := ticketKey(t, refs); key != existing.Key {
		t.Errorf("ticket %s, want the existing %s", key, existing.Key)
	}
	if c := fj.count("POST /rest/api/3/issue"); c != 0 {
		t.Errorf("%d creations, want none", c)
	}
	if len(existing.Comments) != 0 {
		t.Errorf("a retried opening commented: %v", existing.Comments)
	}
}

func TestOpenedAgainAfterResolution(t *testing.T) {
	t.Run("old ticket done: a new one names it", func(t *testing.T) {
		fj := newFakeJira(t)
		n, _ := newNotifier(t, fj, nil)
		f, no := tickettest.Finding(false)
		old := fj.addIssue([]string{f.Key.Label()}, "done")
		f.Occurrence, no.Occurrence = 2, 2
		f.Tickets = map[string]string{"jira": old.Key}

		refs, err := n.Opened(context.Background(), f, no)
		if err != nil {
			t.Fatal(err)
		}
		key := ticketKey(t, refs)
		if key == old.Key {
			t.Fatalf("reused the done ticket %s", key)
		}
		text := adfText(fj.issue(key).Fields["description"])
		if !strings.Contains(text, "Previous ticket") || !strings.Contains(text, old.Key) {
			t.Errorf("new ticket does not name the previous one: %s", text)
		}
	})
	t.Run("old ticket still open: reused with a comment", func(t *testing.T) {
		fj := newFakeJira(t)
		n, _ := newNotifier(t, fj, nil)
		f, no := tickettest.Finding(false)
		old := fj.addIssue([]string{f.Key.Label()}, "new")
		f.Occurrence, no.Occurrence = 2, 2
		f.Tickets = map[string]string{"jira": old.Key}

		refs, err := n.Opened(context.Background(), f, no)
		if err != nil {
			t.Fatal(err)
		}
		if key := ticketKey(t, refs); key != old.Key {
			t.Errorf("ticket %s, want %s", key, old.Key)
		}
		if len(old.Comments) != 1 || !strings.Contains(adfText(old.Comments[0]["body"]), "opened again (occurrence 2)") {
			t.Errorf("comments %v, want one saying the finding opened again", old.Comments)
		}
	})
}

func TestRepeatedComments(t *testing.T) {
	fj := newFakeJira(t)
	n, _ := newNotifier(t, fj, nil)
	f, _ := tickettest.Finding(false)
	is := fj.addIssue([]string{f.Key.Label()}, "new")
	f.Tickets = map[string]string{"jira": is.Key}
	g, rn := tickettest.Repeat(f, "arn:aws:iam::123456789012:user/mallory")

	refs, err := n.Repeated(context.Background(), g, rn)
	if err != nil {
		t.Fatal(err)
	}
	if key := ticketKey(t, refs); key != is.Key {
		t.Errorf("ticket %s, want %s", key, is.Key)
	}
	// The latest comments are read first: a retried notice is not posted twice.
	if got, want := fj.callLog(), []string{"GET /rest/api/3/issue/" + is.Key + "/comment", "POST /rest/api/3/issue/" + is.Key + "/comment"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	text := adfText(is.Comments[0]["body"])
	for _, want := range []string{"Another principal", "arn:aws:iam::123456789012:user/mallory", "PutBucketPolicy", rn.Change.EventID} {
		if !strings.Contains(text, want) {
			t.Errorf("comment lacks %q: %s", want, text)
		}
	}
}

func TestRepeatedWithoutTicket(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tickets map[string]string
	}{
		{"never ticketed", nil},
		{"ticket deleted", map[string]string{"jira": "SEC-99"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fj := newFakeJira(t)
			n, _ := newNotifier(t, fj, nil)
			f, _ := tickettest.Finding(false)
			f.Tickets = tc.tickets
			g, rn := tickettest.Repeat(f, f.Change.PrincipalARN)
			refs, err := n.Repeated(context.Background(), g, rn)
			if err != nil {
				t.Fatal(err)
			}
			key := ticketKey(t, refs)
			is := fj.issue(key)
			if is == nil || fj.issueCount() != 1 {
				t.Fatalf("ticket %s not created (%d issues)", key, fj.issueCount())
			}
			if len(is.Comments) != 1 || !strings.Contains(adfText(is.Comments[0]["body"]), "changed again") {
				t.Errorf("comments %v, want the repeat", is.Comments)
			}
		})
	}
}

func TestResolved(t *testing.T) {
	for _, tc := range []struct {
		name        string
		done        string
		resolution  string
		transitions []fakeTransition
		category    string
		wantTo      string // status after; "" = unchanged
		wantComment bool
		wantErr     string
	}{
		{name: "transition by name, any case", done: "DONE", category: "new", wantTo: "Done", wantComment: true},
		{name: "transition by target status", done: "closed", category: "indeterminate",
			transitions: []fakeTransition{{ID: "5", Name: "Reopen", To: "Reopened", Category: "new"}, {ID: "2", Name: "Close Issue", To: "Closed", Category: "done"}},
			wantTo:      "Closed", wantComment: true},
		{name: "resolution sent", done: "Done", resolution: "Fixed", category: "new", wantTo: "Done", wantComment: true},
		{name: "already done: nothing", done: "Done", category: "done", wantTo: "", wantComment: false},
		{name: "no such transition", done: "Finish", category: "new", wantComment: true,
			wantErr: `no transition named "Finish"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fj := newFakeJira(t)
			if tc.transitions != nil {
				fj.transitions = tc.transitions
			}
			n, _ := newNotifier(t, fj, func(c *jira.Config) { c.DoneTransition, c.Resolution = tc.done, tc.resolution })
			f, _ := tickettest.Finding(false)
			is := fj.addIssue([]string{f.Key.Label()}, tc.category)
			before := is.Status
			f.Tickets = map[string]string{"jira": is.Key}
			g, rn := tickettest.Resolve(f, finding.ReasonFixed)

			refs, err := n.Resolved(context.Background(), g, rn)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), `"Start Progress"`) {
					t.Errorf("error %v does not list the available transitions", err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if key := ticketKey(t, refs); key != is.Key {
				t.Errorf("ticket %s, want %s", key, is.Key)
			}
			if got := len(is.Comments) == 1; got != tc.wantComment {
				t.Errorf("commented %v, want %v (%d comments)", got, tc.wantComment, len(is.Comments))
			}
			if tc.wantComment && !strings.Contains(adfText(is.Comments[0]["body"]), "passes the rule again") {
				t.Errorf("comment lacks the reason: %s", adfText(is.Comments[0]["body"]))
			}
			want := tc.wantTo
			if want == "" {
				want = before
			}
			if is.Status != want {
				t.Errorf("status %q, want %q", is.Status, want)
			}
			if tc.resolution != "" {
				got, _ := json.Marshal(is.Transitioned[0]["fields"])
				if string(got) != `{"resolution":{"name":"Fixed"}}` {
					t.Errorf("transition fields %s, want the resolution", got)
				}
			}
		})
	}
}

func TestResolvedWithoutTicket(t *testing.T) {
	fj := newFakeJira(t)
	n, _ := newNotifier(t, fj, nil)
	f, _ := tickettest.Finding(false)

	t.Run("none found", func(t *testing.T) {
		g, rn := tickettest.Resolve(f, finding.ReasonDeleted)
		refs, err := n.Resolved(context.Background(), g, rn)
		if err != nil || len(refs.Tickets) != 0 {
			t.Errorf("refs %v, err %v: want nothing to do", refs, err)
		}
	})
	t.Run("deleted ticket", func(t *testing.T) {
		g, rn := tickettest.Resolve(f, finding.ReasonDeleted)
		g.Tickets = map[string]string{"jira": "SEC-404"}
		refs, err := n.Resolved(context.Background(), g, rn)
		if err != nil || len(refs.Tickets) != 0 {
			t.Errorf("refs %v, err %v: want nothing to do", refs, err)
		}
	})
	t.Run("found by label", func(t *testing.T) {
		is := fj.addIssue([]string{f.Key.Label()}, "new")
		g, rn := tickettest.Resolve(f, finding.ReasonDeleted)
		if _, err := n.Resolved(context.Background(), g, rn); err != nil {
			t.Fatal(err)
		}
		if is.Category != "done" || len(is.Comments) != 1 || !strings.Contains(adfText(is.Comments[0]["body"]), "was deleted") {
			t.Errorf("status %s, comments %v: want closed with the deletion reason", is.Status, is.Comments)
		}
	})
}

// TestCreateIsIdempotent: the server creates the issue but the client
// never learns it (the connection drops, the answer never comes, a proxy
// answers 502). The notifier must find the issue by its label instead of
// creating a second one.
func TestCreateIsIdempotent(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool
	}{
		{"connection dropped after create", func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return true
		}},
		{"answer never comes", func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool {
			<-r.Context().Done() // until the client's attempt timeout
			return true
		}},
		{"502 after create", func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool {
			jiraError(w, http.StatusBadGateway, "upstream timed out")
			return true
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fj := newFakeJira(t)
			first := true
			fj.createHook = func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool {
				if first {
					first = false
					return tc.hook(w, r, is)
				}
				return false
			}
			fj.searchLag = 1 // the first search after the creation does not see it yet
			cfg := testConfig(fj.srv.URL)
			sl := &sleeps{}
			n, err := jira.New(cfg, jira.Options{
				HTTPClient: fj.srv.Client(),
				Retry:      ticket.Retry{Sleep: sl.sleep, AttemptTimeout: 200 * time.Millisecond},
				Settle:     []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
			})
			if err != nil {
				t.Fatal(err)
			}
			f, no := tickettest.Finding(false)
			refs, err := n.Opened(context.Background(), f, no)
			if err != nil {
				t.Fatal(err)
			}
			if key := ticketKey(t, refs); key != "SEC-1" {
				t.Errorf("ticket %s, want SEC-1", key)
			}
			if c := fj.count("POST /rest/api/3/issue"); c != 1 || fj.issueCount() != 1 {
				t.Errorf("%d creations, %d issues: want exactly one", c, fj.issueCount())
			}
			if got := sl.all(); !slices.Equal(got, []time.Duration{time.Second, 2 * time.Second}) {
				t.Errorf("waits %v, want 1s then 2s before the searches that found it", got)
			}
		})
	}
}

// TestCreateOutcomeUnknownThenRedelivered: the search lags longer than the
// notifier waits, so the first delivery fails with ErrOutcomeUnknown; the
// redelivery finds the issue and does not create another.
func TestCreateOutcomeUnknownThenRedelivered(t *testing.T) {
	fj := newFakeJira(t)
	dropped := false
	fj.createHook = func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool {
		if dropped {
			return false
		}
		dropped = true
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return true
	}
	fj.searchLag = 3 // as many searches as the notifier makes after the creation
	n, _ := newNotifier(t, fj, nil)
	f, no := tickettest.Finding(false)

	_, err := n.Opened(context.Background(), f, no)
	if !errors.Is(err, ticket.ErrOutcomeUnknown) {
		t.Fatalf("first delivery: error %v, want ErrOutcomeUnknown", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error shows the token: %v", err)
	}
	refs, err := n.Opened(context.Background(), f, no)
	if err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if key := ticketKey(t, refs); key != "SEC-1" {
		t.Errorf("ticket %s, want SEC-1", key)
	}
	if c := fj.count("POST /rest/api/3/issue"); c != 1 || fj.issueCount() != 1 {
		t.Errorf("%d creations, %d issues: want exactly one", c, fj.issueCount())
	}
}

func TestHTTPFailures(t *testing.T) {
	t.Run("bad token: 401, not retried, token not shown", func(t *testing.T) {
		fj := newFakeJira(t)
		n, _ := newNotifier(t, fj, func(c *jira.Config) { c.APIToken = secret.New("wrong-token-123") })
		f, no := tickettest.Finding(false)
		_, err := n.Opened(context.Background(), f, no)
		var he *ticket.HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
			t.Fatalf("error %v, want an HTTPError 401", err)
		}
		if strings.Contains(err.Error(), "wrong-token-123") {
			t.Errorf("error shows the token: %v", err)
		}
		if !strings.Contains(err.Error(), "POST /rest/api/3/search/jql") {
			t.Errorf("error %v does not say what was attempted", err)
		}
	})
	t.Run("400 on create: no retry, no settle", func(t *testing.T) {
		fj := newFakeJira(t)
		fj.fail = map[string][]failure{"POST /rest/api/3/issue": {{status: 400}}}
		n, sl := newNotifier(t, fj, nil)
		f, no := tickettest.Finding(false)
		_, err := n.Opened(context.Background(), f, no)
		if err == nil || errors.Is(err, ticket.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "400") {
			t.Fatalf("error %v, want a definite 400", err)
		}
		if c := fj.count("POST /rest/api/3/search/jql"); c != 1 || len(sl.all()) != 0 {
			t.Errorf("%d searches, waits %v: a 400 must not be retried", c, sl.all())
		}
	})
	t.Run("429 on search: waits Retry-After and retries", func(t *testing.T) {
		fj := newFakeJira(t)
		fj.fail = map[string][]failure{"POST /rest/api/3/search/jql": {{status: 429, header: map[string]string{"Retry-After": "5"}}}}
		n, sl := newNotifier(t, fj, nil)
		f, no := tickettest.Finding(false)
		if _, err := n.Opened(context.Background(), f, no); err != nil {
			t.Fatal(err)
		}
		if got := sl.all(); !slices.Equal(got, []time.Duration{5 * time.Second}) {
			t.Errorf("waits %v, want the 5s of Retry-After", got)
		}
		if c := fj.count("POST /rest/api/3/search/jql"); c != 2 {
			t.Errorf("%d searches, want 2", c)
		}
	})
	t.Run("503 on comment: retried", func(t *testing.T) {
		fj := newFakeJira(t)
		f, _ := tickettest.Finding(false)
		is := fj.addIssue([]string{f.Key.Label()}, "new")
		f.Tickets = map[string]string{"jira": is.Key}
		fj.fail = map[string][]failure{"POST /rest/api/3/issue/" + is.Key + "/comment": {{status: 503}}}
		n, _ := newNotifier(t, fj, nil)
		g, rn := tickettest.Repeat(f, f.Change.PrincipalARN)
		if _, err := n.Repeated(context.Background(), g, rn); err != nil {
			t.Fatal(err)
		}
		if len(is.Comments) != 1 {
			t.Errorf("%d comments, want 1", len(is.Comments))
		}
	})
}

func TestQuoteJQL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"dw-0123456789abcdef", `"dw-0123456789abcdef"`},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{`x" OR project = "OTHER`, `"x\" OR project = \"OTHER"`},
		{"a\nb", `"ab"`},
	} {
		if got := jira.QuoteJQL(tc.in); got != tc.want {
			t.Errorf("QuoteJQL(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got, want := jira.SearchJQL("SEC", "dw-0123456789abcdef"),
		`project = "SEC" AND labels = "dw-0123456789abcdef" AND statusCategory != Done ORDER BY created ASC`; got != want {
		t.Errorf("SearchJQL = %s, want %s", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	valid := testConfig("https://example.atlassian.net")
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*jira.Config)
		field  string
	}{
		{"no base URL", func(c *jira.Config) { c.BaseURL = "" }, "base_url"},
		{"http base URL", func(c *jira.Config) { c.BaseURL = "http://example.atlassian.net" }, "base_url"},
		{"relative base URL", func(c *jira.Config) { c.BaseURL = "example.atlassian.net" }, "base_url"},
		{"credentials in URL", func(c *jira.Config) { c.BaseURL = "https://u:p@example.atlassian.net" }, "base_url"},
		{"no email", func(c *jira.Config) { c.Email = "" }, "email"},
		{"no token", func(c *jira.Config) { c.APIToken = secret.New("") }, "api_token"},
		{"no project", func(c *jira.Config) { c.Project = "" }, "project"},
		{"bad project key", func(c *jira.Config) { c.Project = `SEC" OR 1=1` }, "project"},
		{"label with space", func(c *jira.Config) { c.Labels = []string{"ok", "two words"} }, "labels[1]"},
		{"unknown severity", func(c *jira.Config) { c.Priorities = map[string]string{"urgent": "High"} }, "priorities.urgent"},
		{"empty priority", func(c *jira.Config) { c.Priorities = map[string]string{"low": " "} }, "priorities.low"},
		{"negative timeout", func(c *jira.Config) { c.Timeout = -time.Second }, "timeout"},
		{"unknown repeats", func(c *jira.Config) { c.Repeats = "sometimes" }, "repeats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig("https://example.atlassian.net")
			tc.mutate(&c)
			err := c.Validate()
			var fe *ticket.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Validate() = %v, want a FieldError for %s", err, tc.field)
			}
			if _, nerr := jira.New(c, jira.Options{}); nerr == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
	c := testConfig("http://127.0.0.1:8080")
	if err := c.Validate(); err != nil {
		t.Errorf("http on loopback (tests) rejected: %v", err)
	}
}

func TestConfigDoesNotLeakToken(t *testing.T) {
	c := testConfig("https://example.atlassian.net")
	for _, s := range []string{fmtAll(c), fmtAll(&c)} {
		if strings.Contains(s, testToken) {
			t.Errorf("config formatting shows the token: %s", s)
		}
	}
}

func TestRepeatsPolicy(t *testing.T) {
	f, _ := tickettest.Finding(false)
	same, sn := tickettest.Repeat(f, f.Change.PrincipalARN)
	other, on := tickettest.Repeat(f, "arn:aws:iam::123456789012:user/mallory")
	on.Seq = sn.Seq + 1 // a later notice of the same finding
	for _, tc := range []struct {
		repeats   ticket.Repeats
		same, new bool // commented
	}{
		{"", true, true},
		{ticket.RepeatsEvery, true, true},
		{ticket.RepeatsNewPrincipal, false, true},
		{ticket.RepeatsNone, false, false},
	} {
		t.Run(string(tc.repeats), func(t *testing.T) {
			fj := newFakeJira(t)
			n, _ := newNotifier(t, fj, func(c *jira.Config) { c.Repeats = tc.repeats })
			is := fj.addIssue([]string{f.Key.Label()}, "new")
			for _, r := range []struct {
				f    *finding.Finding
				n    finding.Notice
				want bool
			}{{same, sn, tc.same}, {other, on, tc.new}} {
				r.f.Tickets = map[string]string{"jira": is.Key}
				before := len(is.Comments)
				if _, err := n.Repeated(context.Background(), r.f, r.n); err != nil {
					t.Fatal(err)
				}
				if got := len(is.Comments) > before; got != r.want {
					t.Errorf("%s: commented %v, want %v", r.n.Kind, got, r.want)
				}
			}
		})
	}
}

// TestNoted: a note is a comment on the ticket whatever Repeats says; a
// finding that is not open gets no ticket for a note.
func TestNoted(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   finding.Status
		ticketed bool
		want     int // comments on the finding's ticket
		issues   int
	}{
		{"open, ticketed", finding.StatusOpen, true, 1, 1},
		{"open, never ticketed: one is opened", finding.StatusOpen, false, 1, 1},
		{"resolved, ticketed", finding.StatusResolved, true, 1, 1},
		{"resolved, never ticketed: none is opened", finding.StatusResolved, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fj := newFakeJira(t)
			n, _ := newNotifier(t, fj, func(c *jira.Config) { c.Repeats = ticket.RepeatsNone })
			f, _ := tickettest.Finding(false)
			f.Status = tc.status
			if tc.ticketed {
				is := fj.addIssue([]string{f.Key.Label()}, "new")
				f.Tickets = map[string]string{"jira": is.Key}
			}
			nf, nn := tickettest.Note(f, false, "high")
			refs, err := n.Repeated(context.Background(), nf, nn)
			if err != nil {
				t.Fatal(err)
			}
			if fj.issueCount() != tc.issues {
				t.Fatalf("%d issues, want %d", fj.issueCount(), tc.issues)
			}
			if tc.want == 0 {
				if len(refs.Tickets) != 0 {
					t.Errorf("refs %+v, want none", refs)
				}
				return
			}
			is := fj.issue(ticketKey(t, refs))
			if is == nil || len(is.Comments) != tc.want {
				t.Fatalf("issue %+v, want %d comment(s)", is, tc.want)
			}
			text := adfText(is.Comments[len(is.Comments)-1]["body"])
			for _, want := range []string{"would revert aws-s3-bucket-public-acl", "s3:PutBucketAcl", "Alert severity", "high"} {
				if !strings.Contains(text, want) {
					t.Errorf("comment lacks %q: %s", want, text)
				}
			}
		})
	}
}
