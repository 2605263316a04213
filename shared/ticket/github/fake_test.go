package github_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const (
	testOwner = "acme"
	testRepo  = "security"
	testToken = "ghp_test7f3a91c2d4e5"
)

// fakeGitHub is an httptest server speaking the part of the GitHub REST
// API (Enterprise Server layout, under /api/v3) the notifier uses. It
// checks every request's method, path, authentication, headers and body,
// and keeps issues and labels in memory.
type fakeGitHub struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	issues []*fakeIssue
	labels map[string]bool
	calls  []string
	// dropLabels makes creation ignore the labels, as GitHub does for a
	// caller without push access.
	dropLabels bool
	// createHook runs after an issue is stored; it returns true when it
	// answered (or dropped the connection) itself.
	createHook func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool
	// listLag hides an issue from listings until that many listings ran
	// after its creation.
	listLag int
	lists   int
	// fail answers the next requests to "METHOD /path" with these statuses.
	fail map[string][]failure
}

type failure struct {
	status int
	header map[string]string
}

type fakeIssue struct {
	Number      int
	Title, Body string
	Labels      []string
	State       string
	StateReason string
	Comments    []string
	PR          bool
	seenAt      int
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	fg := &fakeGitHub{t: t, labels: map[string]bool{}}
	fg.srv = httptest.NewServer(fg)
	t.Cleanup(fg.srv.Close)
	return fg
}

func (fg *fakeGitHub) addIssue(labels []string, state string) *fakeIssue {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	for _, l := range labels {
		fg.labels[l] = true
	}
	return fg.newIssueLocked("earlier", "", labels, state, -1000)
}

func (fg *fakeGitHub) newIssueLocked(title, body string, labels []string, state string, seenAt int) *fakeIssue {
	is := &fakeIssue{Number: len(fg.issues) + 1, Title: title, Body: body, Labels: labels, State: state, seenAt: seenAt}
	fg.issues = append(fg.issues, is)
	return is
}

func (fg *fakeGitHub) issue(n int) *fakeIssue {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	if n < 1 || n > len(fg.issues) {
		return nil
	}
	return fg.issues[n-1]
}

func (fg *fakeGitHub) issueCount() int {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	return len(fg.issues)
}

func (fg *fakeGitHub) count(call string) int {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	n := 0
	for _, c := range fg.calls {
		if c == call {
			n++
		}
	}
	return n
}

func (fg *fakeGitHub) callLog() []string {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	return slices.Clone(fg.calls)
}

func ghError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (fg *fakeGitHub) issueJSON(is *fakeIssue) map[string]any {
	var labels []map[string]any
	for _, l := range is.Labels {
		labels = append(labels, map[string]any{"name": l})
	}
	out := map[string]any{"number": is.Number, "title": is.Title, "body": is.Body, "state": is.State, "labels": labels,
		"html_url": fmt.Sprintf("https://github.example.com/%s/%s/issues/%d", testOwner, testRepo, is.Number)}
	if is.PR {
		out["pull_request"] = map[string]any{"url": "x"}
	}
	return out
}

var (
	repoPath  = "/api/v3/repos/" + testOwner + "/" + testRepo
	issueRe   = regexp.MustCompile(`^` + regexp.QuoteMeta(repoPath) + `/issues/([0-9]+)(/comments|/labels)?$`)
	labelRe   = regexp.MustCompile(`^` + regexp.QuoteMeta(repoPath) + `/labels/([^/]+)$`)
	findLabel = regexp.MustCompile(`^dw-[0-9a-f]{16}$`)
)

func (fg *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := fg.t
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		ghError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if got := r.Header.Get("Accept"); !strings.HasPrefix(got, "application/vnd.github") {
		t.Errorf("%s %s: Accept %q", r.Method, r.URL.Path, got)
	}
	if got := r.Header.Get("X-GitHub-Api-Version"); got == "" {
		t.Errorf("%s %s: no X-GitHub-Api-Version", r.Method, r.URL.Path)
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, got)
		}
		b, _ := io.ReadAll(r.Body)
		if strings.HasSuffix(r.URL.Path, "/labels") && strings.HasPrefix(string(b), "[") {
			// Add labels takes a bare array too.
			b = append(append([]byte(`{"labels":`), b...), '}')
		}
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("%s %s: body is not a JSON object: %v\n%s", r.Method, r.URL.Path, err, b)
			ghError(w, 400, "Problems parsing JSON")
			return
		}
	}
	call := r.Method + " " + r.URL.Path
	fg.mu.Lock()
	fg.calls = append(fg.calls, call)
	if fs := fg.fail[call]; len(fs) > 0 {
		fg.fail[call] = fs[1:]
		fg.mu.Unlock()
		for k, v := range fs[0].header {
			w.Header().Set(k, v)
		}
		ghError(w, fs[0].status, "injected failure")
		return
	}
	fg.mu.Unlock()

	switch {
	case call == "GET "+repoPath+"/issues":
		fg.list(w, r)
	case call == "POST "+repoPath+"/issues":
		fg.create(w, r, body)
	case call == "POST "+repoPath+"/labels":
		name, _ := body["name"].(string)
		if !findLabel.MatchString(name) {
			t.Errorf("creates label %q, want a finding label", name)
		}
		if c, _ := body["color"].(string); !regexp.MustCompile(`^[0-9a-f]{6}$`).MatchString(c) {
			t.Errorf("label colour %q", c)
		}
		fg.mu.Lock()
		defer fg.mu.Unlock()
		if fg.labels[name] {
			ghError(w, http.StatusUnprocessableEntity, "Validation Failed")
			return
		}
		fg.labels[name] = true
		writeJSON(w, 201, map[string]any{"name": name})
	case r.Method == http.MethodGet && labelRe.MatchString(r.URL.Path):
		name := labelRe.FindStringSubmatch(r.URL.Path)[1]
		fg.mu.Lock()
		ok := fg.labels[name]
		fg.mu.Unlock()
		if !ok {
			ghError(w, 404, "Not Found")
			return
		}
		writeJSON(w, 200, map[string]any{"name": name})
	default:
		m := issueRe.FindStringSubmatch(r.URL.Path)
		if m == nil {
			t.Errorf("unexpected request %s", call)
			ghError(w, 404, "Not Found")
			return
		}
		num, _ := strconv.Atoi(m[1])
		is := fg.issue(num)
		if is == nil {
			ghError(w, 404, "Not Found")
			return
		}
		fg.mu.Lock()
		defer fg.mu.Unlock()
		switch r.Method + " " + m[2] {
		case "GET ":
			writeJSON(w, 200, fg.issueJSON(is))
		case "PATCH ":
			for k, v := range body {
				switch k {
				case "state":
					is.State = v.(string)
				case "state_reason":
					is.StateReason = v.(string)
				default:
					t.Errorf("PATCH issue sets %s", k)
				}
			}
			writeJSON(w, 200, fg.issueJSON(is))
		case "GET /comments":
			var page []map[string]any
			for i, c := range is.Comments {
				page = append(page, map[string]any{"id": i + 1, "body": c})
			}
			writeJSON(w, 200, page)
		case "POST /comments":
			c, _ := body["body"].(string)
			if c == "" {
				t.Error("empty comment")
			}
			is.Comments = append(is.Comments, c)
			writeJSON(w, 201, map[string]any{"id": 1, "body": c})
		case "POST /labels":
			for _, l := range body["labels"].([]any) {
				is.Labels = append(is.Labels, l.(string))
			}
			writeJSON(w, 200, []any{})
		default:
			t.Errorf("unexpected request %s", call)
			ghError(w, 404, "Not Found")
		}
	}
}

func (fg *fakeGitHub) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	label := q.Get("labels")
	if !findLabel.MatchString(label) {
		fg.t.Errorf("lists issues with labels=%q, want one finding label", label)
	}
	if q.Get("state") != "open" {
		fg.t.Errorf("lists issues in state %q, want open", q.Get("state"))
	}
	fg.mu.Lock()
	defer fg.mu.Unlock()
	fg.lists++
	var out []map[string]any
	for _, is := range fg.issues {
		if is.State == "open" && slices.Contains(is.Labels, label) && fg.lists-is.seenAt > fg.listLag {
			out = append(out, fg.issueJSON(is))
		}
	}
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, 200, out)
}

func (fg *fakeGitHub) create(w http.ResponseWriter, r *http.Request, body map[string]any) {
	t := fg.t
	title, _ := body["title"].(string)
	text, _ := body["body"].(string)
	if title == "" || text == "" {
		t.Errorf("create with title %q and body %q", title, text)
	}
	var labels []string
	for _, l := range body["labels"].([]any) {
		labels = append(labels, l.(string))
	}
	fg.mu.Lock()
	for _, l := range labels {
		if findLabel.MatchString(l) && !fg.labels[l] {
			t.Errorf("creates an issue with label %s before creating the label", l)
		}
		fg.labels[l] = true
	}
	if fg.dropLabels {
		labels = nil
	}
	is := fg.newIssueLocked(title, text, labels, "open", fg.lists)
	hook := fg.createHook
	js := fg.issueJSON(is)
	fg.mu.Unlock()
	if hook != nil && hook(w, r, is) {
		return
	}
	writeJSON(w, 201, js)
}
