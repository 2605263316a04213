package jira_test

import (
	"encoding/base64"
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
	testEmail = "bot@example.com"
	testToken = "tok-jira-7f3a91c2"
)

// fakeJira is an httptest server speaking the part of the Jira Cloud REST
// API v3 the notifier uses. It checks every request's method, path,
// authentication, headers and body shape, and keeps issues in memory.
type fakeJira struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	issues   []*fakeIssue
	calls    []string // "METHOD /path" of every authenticated request
	searches int
	// transitions are offered by every issue not done.
	transitions []fakeTransition
	// createHook runs after an issue is stored; it returns true when it
	// answered (or dropped the connection) itself.
	createHook func(w http.ResponseWriter, r *http.Request, is *fakeIssue) bool
	// searchLag hides an issue from search until that many searches ran
	// after its creation (Jira's search is eventually consistent).
	searchLag int
	// fail answers the next requests to "METHOD /path" with these statuses.
	fail map[string][]failure
}

type failure struct {
	status int
	header map[string]string
}

type fakeIssue struct {
	ID, Key  string
	Fields   map[string]any
	Labels   []string
	Status   string // status name
	Category string // new | indeterminate | done
	Comments []map[string]any
	// Transitioned are the bodies of the transition requests applied.
	Transitioned []map[string]any
	seenAt       int // searches run when the issue was created
}

type fakeTransition struct {
	ID, Name, To, Category string
}

func newFakeJira(t *testing.T) *fakeJira {
	fj := &fakeJira{t: t, transitions: []fakeTransition{
		{ID: "11", Name: "Start Progress", To: "In Progress", Category: "indeterminate"},
		{ID: "31", Name: "Done", To: "Done", Category: "done"},
	}}
	fj.srv = httptest.NewServer(fj)
	t.Cleanup(fj.srv.Close)
	return fj
}

// addIssue stores an issue as if created earlier and already indexed.
func (fj *fakeJira) addIssue(labels []string, category string) *fakeIssue {
	fj.mu.Lock()
	defer fj.mu.Unlock()
	return fj.newIssueLocked(map[string]any{}, labels, category, -1000)
}

func (fj *fakeJira) newIssueLocked(fields map[string]any, labels []string, category string, seenAt int) *fakeIssue {
	n := len(fj.issues) + 1
	status := map[string]string{"new": "To Do", "indeterminate": "In Progress", "done": "Done"}[category]
	is := &fakeIssue{ID: fmt.Sprint(10000 + n), Key: fmt.Sprintf("SEC-%d", n), Fields: fields, Labels: labels, Status: status, Category: category, seenAt: seenAt}
	fj.issues = append(fj.issues, is)
	return is
}

func (fj *fakeJira) issue(key string) *fakeIssue {
	fj.mu.Lock()
	defer fj.mu.Unlock()
	for _, is := range fj.issues {
		if is.Key == key {
			return is
		}
	}
	return nil
}

func (fj *fakeJira) count(call string) int {
	fj.mu.Lock()
	defer fj.mu.Unlock()
	n := 0
	for _, c := range fj.calls {
		if c == call {
			n++
		}
	}
	return n
}

func (fj *fakeJira) callLog() []string {
	fj.mu.Lock()
	defer fj.mu.Unlock()
	return slices.Clone(fj.calls)
}

func (fj *fakeJira) issueCount() int {
	fj.mu.Lock()
	defer fj.mu.Unlock()
	return len(fj.issues)
}

func jiraError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// wantJQL is the only JQL shape the notifier may send: project and label
// quoted as JQL strings.
var wantJQL = regexp.MustCompile(`^project = "([A-Z][A-Z0-9_]*)" AND labels = "(dw-[0-9a-f]{16})" AND statusCategory != Done ORDER BY created ASC$`)

var issuePath = regexp.MustCompile(`^/rest/api/3/issue/([A-Z][A-Z0-9_]*-[0-9]+)(/comment|/transitions)?$`)

func (fj *fakeJira) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := fj.t
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testEmail+":"+testToken))
	if r.Header.Get("Authorization") != wantAuth {
		jiraError(w, http.StatusUnauthorized, "Client must be authenticated to access this resource.")
		return
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("%s %s: Accept %q, want application/json", r.Method, r.URL.Path, got)
	}
	var body map[string]any
	if r.Method == http.MethodPost {
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, got)
			jiraError(w, http.StatusUnsupportedMediaType, "unsupported media type")
			return
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("%s %s: body is not a JSON object: %v\n%s", r.Method, r.URL.Path, err, b)
			jiraError(w, http.StatusBadRequest, "bad JSON")
			return
		}
	}
	call := r.Method + " " + r.URL.Path
	fj.mu.Lock()
	fj.calls = append(fj.calls, call)
	if fs := fj.fail[call]; len(fs) > 0 {
		fj.fail[call] = fs[1:]
		fj.mu.Unlock()
		for k, v := range fs[0].header {
			w.Header().Set(k, v)
		}
		jiraError(w, fs[0].status, "injected failure")
		return
	}
	fj.mu.Unlock()

	switch {
	case call == "POST /rest/api/3/search/jql":
		fj.search(w, body)
	case call == "POST /rest/api/3/issue":
		fj.create(w, r, body)
	default:
		m := issuePath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			t.Errorf("unexpected request %s", call)
			jiraError(w, http.StatusNotFound, "no such endpoint")
			return
		}
		is := fj.issue(m[1])
		if is == nil {
			jiraError(w, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
			return
		}
		switch r.Method + " " + m[2] {
		case "GET ":
			if got := r.URL.Query().Get("fields"); got != "status" {
				t.Errorf("GET issue with fields=%q, want status", got)
			}
			fj.mu.Lock()
			writeJSON(w, 200, map[string]any{"id": is.ID, "key": is.Key, "fields": map[string]any{
				"status": map[string]any{"name": is.Status, "statusCategory": map[string]any{"key": is.Category}},
			}})
			fj.mu.Unlock()
		case "POST /comment":
			if errs := checkADF(body["body"]); len(errs) > 0 {
				t.Errorf("comment body is not valid ADF: %v", errs)
				jiraError(w, 400, "Comment body is not valid")
				return
			}
			fj.mu.Lock()
			is.Comments = append(is.Comments, body)
			fj.mu.Unlock()
			writeJSON(w, 201, map[string]any{"id": "20001"})
		case "GET /comment":
			if got := r.URL.Query().Get("orderBy"); got != "-created" {
				t.Errorf("list comments with orderBy=%q, want -created (newest first)", got)
			}
			fj.mu.Lock()
			var page []map[string]any
			for i := len(is.Comments) - 1; i >= 0; i-- {
				page = append(page, map[string]any{"id": strconv.Itoa(20001 + i), "body": is.Comments[i]["body"]})
			}
			fj.mu.Unlock()
			writeJSON(w, 200, map[string]any{"comments": page, "total": len(page)})
		case "GET /transitions":
			var list []map[string]any
			fj.mu.Lock()
			if is.Category != "done" {
				for _, tr := range fj.transitions {
					list = append(list, map[string]any{"id": tr.ID, "name": tr.Name, "to": map[string]any{
						"name": tr.To, "statusCategory": map[string]any{"key": tr.Category}}})
				}
			}
			fj.mu.Unlock()
			writeJSON(w, 200, map[string]any{"transitions": list})
		case "POST /transitions":
			tr, _ := body["transition"].(map[string]any)
			id, _ := tr["id"].(string)
			fj.mu.Lock()
			defer fj.mu.Unlock()
			for _, x := range fj.transitions {
				if x.ID == id {
					is.Status, is.Category = x.To, x.Category
					is.Transitioned = append(is.Transitioned, body)
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
			jiraError(w, 400, "Transition id '"+id+"' is not valid for this issue.")
		default:
			t.Errorf("unexpected request %s", call)
			jiraError(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	}
}

func (fj *fakeJira) search(w http.ResponseWriter, body map[string]any) {
	jql, _ := body["jql"].(string)
	m := wantJQL.FindStringSubmatch(jql)
	if m == nil {
		fj.t.Errorf("search JQL %q is not the expected quoted form", jql)
		jiraError(w, 400, "Error in the JQL Query")
		return
	}
	if fields, _ := body["fields"].([]any); !slices.Contains(fields, any("status")) {
		fj.t.Errorf("search asks for fields %v, want status among them", body["fields"])
	}
	fj.mu.Lock()
	defer fj.mu.Unlock()
	fj.searches++
	var out []map[string]any
	for _, is := range fj.issues {
		if is.Category == "done" || !slices.Contains(is.Labels, m[2]) || fj.searches-is.seenAt <= fj.searchLag {
			continue
		}
		if key, _ := is.Fields["project"].(map[string]any); key != nil && key["key"] != m[1] {
			continue
		}
		out = append(out, map[string]any{"id": is.ID, "key": is.Key, "fields": map[string]any{
			"status": map[string]any{"name": is.Status, "statusCategory": map[string]any{"key": is.Category}}}})
	}
	writeJSON(w, 200, map[string]any{"issues": out, "isLast": true})
}

func (fj *fakeJira) create(w http.ResponseWriter, r *http.Request, body map[string]any) {
	t := fj.t
	fields, _ := body["fields"].(map[string]any)
	if fields == nil {
		t.Errorf("create without fields: %v", body)
		jiraError(w, 400, "fields required")
		return
	}
	for _, k := range []string{"project", "issuetype", "summary", "description", "labels"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("create without fields.%s", k)
		}
	}
	if summary, _ := fields["summary"].(string); summary == "" || strings.ContainsAny(summary, "\r\n") || len([]rune(summary)) > 255 {
		t.Errorf("summary %q must be one non-empty line of at most 255 characters", summary)
	}
	if errs := checkADF(fields["description"]); len(errs) > 0 {
		t.Errorf("description is not valid ADF: %v", errs)
		jiraError(w, 400, "description: invalid document")
		return
	}
	var labels []string
	for _, l := range fields["labels"].([]any) {
		labels = append(labels, l.(string))
	}
	fj.mu.Lock()
	is := fj.newIssueLocked(fields, labels, "new", fj.searches)
	hook := fj.createHook
	fj.mu.Unlock()
	if hook != nil && hook(w, r, is) {
		return
	}
	writeJSON(w, 201, map[string]any{"id": is.ID, "key": is.Key, "self": fj.srv.URL + "/rest/api/3/issue/" + is.ID})
}

// checkADF checks that v is an ADF document made only of the nodes and
// marks the notifier may produce (no links, mentions, cards or media), with
// no empty text. It returns the problems found.
func checkADF(v any) []string {
	doc, ok := v.(map[string]any)
	if !ok {
		return []string{"not an object"}
	}
	var errs []string
	if doc["type"] != "doc" || doc["version"] != float64(1) {
		errs = append(errs, fmt.Sprintf("root has type %v and version %v, want doc and 1", doc["type"], doc["version"]))
	}
	content, _ := doc["content"].([]any)
	if len(content) == 0 {
		errs = append(errs, "doc has no content")
	}
	allowedKeys := map[string]bool{"type": true, "content": true, "attrs": true, "text": true, "marks": true}
	var walk func(path string, n any, parent string)
	walk = func(path string, n any, parent string) {
		node, ok := n.(map[string]any)
		if !ok {
			errs = append(errs, path+": not an object")
			return
		}
		for k := range node {
			if !allowedKeys[k] {
				errs = append(errs, fmt.Sprintf("%s: unexpected key %q", path, k))
			}
		}
		typ, _ := node["type"].(string)
		path += "/" + typ
		kids, _ := node["content"].([]any)
		switch typ {
		case "text":
			if s, _ := node["text"].(string); s == "" {
				errs = append(errs, path+": empty text")
			}
			marks, _ := node["marks"].([]any)
			for _, m := range marks {
				mt, _ := m.(map[string]any)["type"].(string)
				if mt != "strong" && mt != "code" {
					errs = append(errs, fmt.Sprintf("%s: mark %q", path, mt))
				}
				if parent == "codeBlock" {
					errs = append(errs, path+": marks inside a code block")
				}
			}
			if len(marks) > 1 {
				errs = append(errs, path+": more than one mark")
			}
		case "paragraph", "codeBlock", "bulletList", "listItem", "heading":
			if len(kids) == 0 {
				errs = append(errs, path+": block without content")
			}
			if typ == "heading" {
				attrs, _ := node["attrs"].(map[string]any)
				lvl, _ := attrs["level"].(float64)
				if lvl < 1 || lvl > 6 {
					errs = append(errs, path+": heading level")
				}
			}
			for _, k := range kids {
				kt, _ := k.(map[string]any)["type"].(string)
				switch {
				case typ == "bulletList" && kt != "listItem",
					typ == "listItem" && kt != "paragraph",
					(typ == "paragraph" || typ == "codeBlock" || typ == "heading") && kt != "text":
					errs = append(errs, fmt.Sprintf("%s: child %q not allowed", path, kt))
				}
			}
		default:
			errs = append(errs, fmt.Sprintf("%s: node type %q not allowed", path, typ))
		}
		for i, k := range kids {
			walk(fmt.Sprintf("%s[%d]", path, i), k, typ)
		}
	}
	for i, c := range content {
		walk(fmt.Sprintf("doc[%d]", i), c, "doc")
	}
	return errs
}
