package jirafake_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/ticket/jira"
	"github.com/driftwatch/driftwatch/shared/ticket/jira/jirafake"
	"github.com/driftwatch/driftwatch/shared/ticket/tickettest"
)

const (
	email = "bot@example.com"
	token = "tok-fake-1"
)

// TestNotifierLifecycle runs the real Jira notifier against the fake: one
// issue is created, found again by its label, commented on and closed once.
func TestNotifierLifecycle(t *testing.T) {
	ctx := context.Background()
	srv := jirafake.Start(t, jirafake.Options{Email: email, Token: token, Projects: []string{"SEC"}})
	n, err := jira.New(jira.Config{BaseURL: srv.URL(), Email: email, APIToken: secret.New(token), Project: "SEC",
		Labels: []string{"driftwatch"}}, jira.Options{Rules: tickettest.SampleRules()})
	if err != nil {
		t.Fatal(err)
	}
	f, opened := tickettest.Finding(true)
	refs, err := n.Opened(ctx, f, opened)
	if err != nil {
		t.Fatal(err)
	}
	f.Tickets = refs.Tickets
	// A second Opened (a redelivery whose refs were not stored) finds the
	// issue by its label instead of creating another.
	again, err := n.Opened(ctx, &finding.Finding{Key: f.Key, Resource: f.Resource, RuleID: f.RuleID, Occurrence: 1}, opened)
	if err != nil || again.Tickets["jira"] != refs.Tickets["jira"] {
		t.Fatalf("second Opened: %v, %v; want %v", again, err, refs)
	}
	g, repeated := tickettest.Repeat(f, "arn:aws:iam::123456789012:user/mallory")
	if _, err := n.Repeated(ctx, g, repeated); err != nil {
		t.Fatal(err)
	}
	h, resolved := tickettest.Resolve(g, finding.ReasonFixed)
	for range 2 { // the second is a redelivery: the issue is done already
		if _, err := n.Resolved(ctx, h, resolved); err != nil {
			t.Fatal(err)
		}
	}

	issues := srv.Issues()
	if len(issues) != 1 || srv.Count("POST /rest/api/3/issue") != 1 {
		t.Fatalf("%d issues, %d creations; want 1", len(issues), srv.Count("POST /rest/api/3/issue"))
	}
	is := issues[0]
	if is.Key != "SEC-1" || is.Project != "SEC" || is.IssueType != jira.DefaultIssueType ||
		!slices.Equal(is.Labels, []string{f.Key.Label(), "driftwatch"}) || !strings.Contains(is.DescriptionText, tickettest.HostileBucket) {
		t.Errorf("issue %+v", is)
	}
	if is.Category != jirafake.CategoryDone || !slices.Equal(is.Transitions, []string{"31"}) {
		t.Errorf("issue %s is %s after transitions %v, want Done after [31]", is.Key, is.Status, is.Transitions)
	}
	if len(is.Comments) != 2 || !strings.Contains(is.Comments[0].Text, "mallory") || !strings.HasPrefix(is.Comments[1].Text, "Resolved:") {
		t.Errorf("comments %+v, want the repeat and the resolution", is.Comments)
	}
	for _, r := range srv.Requests() {
		if r.Status/100 != 2 {
			t.Errorf("%s answered %d", r.Call(), r.Status)
		}
	}
}

// request sends one request with the fake's credentials (auth "" for
// none) and returns the status and decoded answer.
func request(t *testing.T, srv *jirafake.Server, method, path, auth string, body any) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, srv.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func doc(text string) map[string]any {
	return map[string]any{"type": "doc", "version": 1, "content": []any{
		map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": text}}}}}
}

func createBody(label string) map[string]any {
	return map[string]any{"fields": map[string]any{"project": map[string]any{"key": "SEC"},
		"issuetype": map[string]any{"name": "Task"}, "summary": "one line", "description": doc("why"),
		"labels": []any{label}}}
}

// recorder is a testing.TB that keeps the errors reported to it and runs
// its cleanups when told, so that a test can check what the fake reports.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, format)
}
func (r *recorder) finish() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// TestRequests checks the fake's answers to requests good and bad, and
// that only the bad-shaped ones are reported as problems.
func TestRequests(t *testing.T) {
	good := basic(email, token)
	tests := []struct {
		name         string
		method, path string
		auth         string
		body         any
		status       int
		problem      bool
	}{
		{name: "no credentials", method: "POST", path: "/rest/api/3/issue", body: createBody("dw-1"), status: 401},
		{name: "wrong token", method: "POST", path: "/rest/api/3/issue", auth: basic(email, "nope"), body: createBody("dw-1"), status: 401},
		{name: "create", method: "POST", path: "/rest/api/3/issue", auth: good, body: createBody("dw-1"), status: 201},
		{name: "label with a space", method: "POST", path: "/rest/api/3/issue", auth: good, body: createBody("dw 1"), status: 400, problem: true},
		{name: "unknown project", method: "POST", path: "/rest/api/3/issue", auth: good, status: 400, problem: true,
			body: map[string]any{"fields": map[string]any{"project": map[string]any{"key": "OPS"}, "issuetype": map[string]any{"name": "Task"}, "summary": "x"}}},
		{name: "description not ADF", method: "POST", path: "/rest/api/3/issue", auth: good, status: 400, problem: true,
			body: map[string]any{"fields": map[string]any{"project": map[string]any{"key": "SEC"}, "issuetype": map[string]any{"name": "Task"}, "summary": "x", "description": "plain"}}},
		{name: "search", method: "POST", path: "/rest/api/3/search/jql", auth: good, status: 200,
			body: map[string]any{"jql": `project = "SEC" AND labels = "dw-1" AND statusCategory != Done ORDER BY created ASC`, "fields": []any{"status"}}},
		{name: "JQL injection", method: "POST", path: "/rest/api/3/search/jql", auth: good, status: 400, problem: true,
			body: map[string]any{"jql": `project = SEC OR labels is not EMPTY`}},
		{name: "comment", method: "POST", path: "/rest/api/3/issue/SEC-1/comment", auth: good, body: map[string]any{"body": doc("hi")}, status: 201},
		{name: "comment with empty text", method: "POST", path: "/rest/api/3/issue/SEC-1/comment", auth: good, body: map[string]any{"body": doc("")}, status: 400, problem: true},
		{name: "comment on a missing issue", method: "POST", path: "/rest/api/3/issue/SEC-99/comment", auth: good, body: map[string]any{"body": doc("hi")}, status: 404},
		{name: "get status", method: "GET", path: "/rest/api/3/issue/SEC-1?fields=status", auth: good, status: 200},
		{name: "list transitions", method: "GET", path: "/rest/api/3/issue/SEC-1/transitions", auth: good, status: 200},
		{name: "reopen an open issue", method: "POST", path: "/rest/api/3/issue/SEC-1/transitions", auth: good, body: map[string]any{"transition": map[string]any{"id": "41"}}, status: 400},
		{name: "done with a comment", method: "POST", path: "/rest/api/3/issue/SEC-1/transitions", auth: good, status: 204,
			body: map[string]any{"transition": map[string]any{"id": "31"}, "update": map[string]any{"comment": []any{map[string]any{"add": map[string]any{"body": doc("fixed")}}}}}},
		{name: "newest comment", method: "GET", path: "/rest/api/3/issue/SEC-1/comment?orderBy=-created&maxResults=1", auth: good, status: 200},
		{name: "done again", method: "POST", path: "/rest/api/3/issue/SEC-1/transitions", auth: good, body: map[string]any{"transition": map[string]any{"id": "31"}}, status: 400},
		{name: "unknown endpoint", method: "GET", path: "/rest/api/3/myself", auth: good, status: 404, problem: true},
	}
	rec := &recorder{TB: t}
	srv := jirafake.Start(rec, jirafake.Options{Email: email, Token: token, Projects: []string{"SEC"}})
	problems := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _ := request(t, srv, tt.method, tt.path, tt.auth, tt.body)
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if tt.problem {
				problems++
			}
			if got := len(srv.Problems()); got != problems {
				t.Errorf("%d problems recorded, want %d: %v", got, problems, srv.Problems())
			}
		})
	}
	is, ok := srv.Issue("SEC-1")
	if !ok || is.Category != jirafake.CategoryDone || len(is.Comments) != 2 || is.Comments[1].Text != "fixed" {
		t.Errorf("SEC-1: %+v, want done with the comment and the transition's comment", is)
	}
	if n := len(srv.Requests()); n != len(tests) {
		t.Errorf("%d requests recorded, want %d", n, len(tests))
	}
	_, out := request(t, srv, "GET", "/rest/api/3/issue/SEC-1/comment?orderBy=-created&maxResults=1", good, nil)
	if cs, _ := out["comments"].([]any); len(cs) != 1 || !strings.Contains(fmt.Sprint(cs[0]), "fixed") || out["total"] != float64(2) {
		t.Errorf("newest comment: %v, want the transition's comment of 2", out)
	}
	rec.finish()
	if len(rec.errors) != problems {
		t.Errorf("the fake reported %d errors at the end, want one per problem (%d)", len(rec.errors), problems)
	}
}

// TestSearch checks that search sees an issue as soon as it is created,
// filters by label, project and status category, and pages.
func TestSearch(t *testing.T) {
	srv := jirafake.Start(t, jirafake.Options{Email: email, Token: token})
	auth := basic(email, token)
	for range 3 {
		if status, _ := request(t, srv, "POST", "/rest/api/3/issue", auth, createBody("dw-a")); status != 201 {
			t.Fatalf("create: %d", status)
		}
	}
	request(t, srv, "POST", "/rest/api/3/issue", auth, createBody("dw-b"))
	request(t, srv, "POST", "/rest/api/3/issue/SEC-2/transitions", auth, map[string]any{"transition": map[string]any{"id": "31"}})
	search := func(jql string, limit int, page string) ([]string, string) {
		t.Helper()
		body := map[string]any{"jql": jql, "fields": []any{"status"}, "maxResults": limit}
		if page != "" {
			body["nextPageToken"] = page
		}
		status, out := request(t, srv, "POST", "/rest/api/3/search/jql", auth, body)
		if status != 200 {
			t.Fatalf("search %q: %d %v", jql, status, out)
		}
		var keys []string
		for _, is := range out["issues"].([]any) {
			keys = append(keys, is.(map[string]any)["key"].(string))
		}
		next, _ := out["nextPageToken"].(string)
		return keys, next
	}
	tests := []struct {
		jql  string
		want []string
	}{
		{`project = "SEC" AND labels = "dw-a" AND statusCategory != Done ORDER BY created ASC`, []string{"SEC-1", "SEC-3"}},
		{`project = SEC AND labels = "dw-a" ORDER BY created DESC`, []string{"SEC-3", "SEC-2", "SEC-1"}},
		{`labels = "dw-b"`, []string{"SEC-4"}},
		{`project = "OPS" AND labels = "dw-a"`, nil},
		{`labels = "dw-a" AND statusCategory = Done`, []string{"SEC-2"}},
	}
	for _, tt := range tests {
		if got, _ := search(tt.jql, 50, ""); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.jql, got, tt.want)
		}
	}
	first, next := search(`labels = "dw-a"`, 2, "")
	rest, last := search(`labels = "dw-a"`, 2, next)
	if !slices.Equal(append(first, rest...), []string{"SEC-1", "SEC-2", "SEC-3"}) || next == "" || last != "" {
		t.Errorf("pages %v (next %q), %v (next %q)", first, next, rest, last)
	}
}

// TestFail checks scripted failures: refused before the request is looked
// at, or after it was carried out (Applied).
func TestFail(t *testing.T) {
	srv := jirafake.Start(t, jirafake.Options{Email: email, Token: token})
	auth := basic(email, token)
	srv.Fail("POST /rest/api/3/issue",
		jirafake.Failure{Status: 429, Header: map[string]string{"Retry-After": "5"}},
		jirafake.Failure{Status: 504, Applied: true})
	for i, want := range []int{429, 504, 201} {
		if status, _ := request(t, srv, "POST", "/rest/api/3/issue", auth, createBody("dw-x")); status != want {
			t.Errorf("creation %d: status %d, want %d", i, status, want)
		}
	}
	if n := len(srv.WithLabel("dw-x")); n != 2 {
		t.Errorf("%d issues, want 2 (the applied failure and the success)", n)
	}
	if n := srv.Count("POST /rest/api/3/issue"); n != 1 {
		t.Errorf("Count of successful creations %d, want 1", n)
	}
}
