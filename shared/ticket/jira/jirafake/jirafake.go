// Package jirafake is an in-memory Jira Cloud for tests: an httptest
// server that speaks the part of the REST API v3 the Jira notifier calls,
// checks each request's authentication and shape, records every request
// that arrives, and keeps the issues so that a test can check the final
// state (one issue per finding, commented, closed once).
//
//	srv := jirafake.Start(t, jirafake.Options{Email: "bot@example.com", Token: "tok"})
//	n, _ := jira.New(jira.Config{BaseURL: srv.URL(), Email: "bot@example.com", APIToken: ..., Project: "SEC"}, jira.Options{})
//	...
//	for _, is := range srv.Issues() { ... }
//
// Endpoints:
//
//	POST /rest/api/3/search/jql                   JQL search (see below)
//	POST /rest/api/3/issue                        create an issue
//	GET  /rest/api/3/issue/{key}                  read an issue (?fields=…)
//	GET  /rest/api/3/issue/{key}/comment          list comments (orderBy, startAt, maxResults)
//	POST /rest/api/3/issue/{key}/comment          comment
//	GET  /rest/api/3/issue/{key}/transitions      available transitions
//	POST /rest/api/3/issue/{key}/transitions      apply one (with update.comment)
//
// The search understands clauses joined by AND — project, labels, key and
// statusCategory compared with = or != to a quoted string or a bare word —
// and an optional ORDER BY created ASC|DESC; any other JQL is answered 400.
// Unlike Jira Cloud, whose search is eventually consistent, the fake's
// search sees an issue as soon as its creation was answered, so tests are
// deterministic; scripted failures (Fail) model the rest.
//
// A request that breaks the API's rules (wrong method, bad JSON, a JQL
// clause the fake does not know, an invalid Atlassian Document Format
// body, a missing field) is answered as Jira would and recorded as a
// problem; Start fails the test at its end if there was any. A request
// without the expected basic authentication is answered 401 and recorded,
// but is not a problem: the test decides whether it expected one. The
// Server is safe for concurrent use.
package jirafake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Status categories, as Jira names them in statusCategory.key.
const (
	CategoryNew           = "new"
	CategoryIndeterminate = "indeterminate"
	CategoryDone          = "done"
)

// Transition is a workflow transition the fake offers.
type Transition struct {
	ID, Name string
	// From are the status names it is offered from (none: every status
	// but its target).
	From []string
	// To is the name of the status it leads to; Category is that status's
	// category.
	To, Category string
}

// DefaultTransitions are offered when Options.Transitions is nil: Start
// Progress (11) from To Do, Done (31) from To Do and In Progress, Reopen
// (41) from Done. New issues are in To Do.
var DefaultTransitions = []Transition{
	{ID: "11", Name: "Start Progress", From: []string{"To Do"}, To: "In Progress", Category: CategoryIndeterminate},
	{ID: "31", Name: "Done", From: []string{"To Do", "In Progress"}, To: "Done", Category: CategoryDone},
	{ID: "41", Name: "Reopen", From: []string{"Done"}, To: "To Do", Category: CategoryNew},
}

// Options configure a fake Jira.
type Options struct {
	// Email and Token are the basic-auth credentials accepted; both
	// required.
	Email, Token string
	// Projects are the project keys that exist (default: any key is
	// accepted).
	Projects []string
	// Transitions of the workflow (default DefaultTransitions).
	Transitions []Transition
}

// Request is one request as it arrived.
type Request struct {
	Method string
	// Path is the URL path, e.g. "/rest/api/3/issue/SEC-1/comment".
	Path          string
	Query         url.Values
	Authorization string
	ContentType   string
	Body          []byte
	// Status is the HTTP status answered.
	Status int
	// At is when it arrived.
	At time.Time
}

// Call returns "METHOD /path", the form Count takes.
func (r Request) Call() string { return r.Method + " " + r.Path }

// Comment is a comment as kept.
type Comment struct {
	ID string
	// Body is the ADF document as sent; Text its text nodes joined by
	// spaces.
	Body json.RawMessage
	Text string
}

// Issue is an issue as kept.
type Issue struct {
	ID, Key, Project, IssueType, Summary string
	Labels                               []string
	// Description is the ADF description as sent (nil when none);
	// DescriptionText its text nodes joined by spaces.
	Description     json.RawMessage
	DescriptionText string
	// Fields are every field sent at creation, as JSON.
	Fields map[string]json.RawMessage
	// Status is the status name and Category its status category.
	Status, Category string
	Comments         []Comment
	// Transitions are the IDs of the transitions applied, in order.
	Transitions []string
	Created     time.Time
}

// Failure is a scripted answer to the next request of a call.
type Failure struct {
	// Status is the HTTP status answered (with a Jira error body).
	Status int
	// Header is added to the answer (e.g. Retry-After).
	Header map[string]string
	// Applied carries the request out before answering the failure: the
	// answer of a request that took effect is lost (a gateway timeout
	// after the issue was created).
	Applied bool
}

// Server is a fake Jira Cloud site.
type Server struct {
	srv  *httptest.Server
	opts Options
	auth string

	mu       sync.Mutex
	issues   []*Issue
	seq      map[string]int // next issue number per project
	comments int
	requests []Request
	problems []string
	failures map[string][]Failure
}

// Start starts a fake Jira, stops it when the test ends and then fails the
// test for every problem recorded.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Email == "" || opts.Token == "" {
		t.Fatal("jirafake: Options.Email and Options.Token are required")
	}
	if opts.Transitions == nil {
		opts.Transitions = DefaultTransitions
	}
	s := &Server{
		opts:     opts,
		auth:     "Basic " + base64.StdEncoding.EncodeToString([]byte(opts.Email+":"+opts.Token)),
		seq:      map[string]int{},
		failures: map[string][]Failure{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.srv.Close()
		for _, p := range s.Problems() {
			t.Errorf("jirafake: %s", p)
		}
	})
	return s
}

// URL is the site's base URL, for jira.Config.BaseURL.
func (s *Server) URL() string { return s.srv.URL }

// Fail scripts the answers to the next requests of call ("POST
// /rest/api/3/issue", "POST /rest/api/3/issue/SEC-1/transitions"), in
// order. Authentication is checked first; a scripted failure is answered
// before the request is otherwise looked at, unless it is Applied.
func (s *Server) Fail(call string, fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[call] = append(s.failures[call], fs...)
}

// Requests returns every request received, in order of arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count returns how many requests of call ("METHOD /path") were answered
// with a 2xx status.
func (s *Server) Count(call string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Call() == call && r.Status/100 == 2 {
			n++
		}
	}
	return n
}

// Problems returns the protocol problems seen, in order.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.problems)
}

// Issues returns copies of the issues, in order of creation.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, len(s.issues))
	for i, is := range s.issues {
		out[i] = is.clone()
	}
	return out
}

// Issue returns a copy of the issue with the key.
func (s *Server) Issue(key string) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.find(key); is != nil {
		return is.clone(), true
	}
	return Issue{}, false
}

// WithLabel returns copies of the issues carrying label, in order of
// creation.
func (s *Server) WithLabel(label string) []Issue {
	var out []Issue
	for _, is := range s.Issues() {
		if slices.Contains(is.Labels, label) {
			out = append(out, is)
		}
	}
	return out
}

func (is *Issue) clone() Issue {
	c := *is
	c.Labels = slices.Clone(is.Labels)
	c.Comments = slices.Clone(is.Comments)
	c.Transitions = slices.Clone(is.Transitions)
	c.Fields = make(map[string]json.RawMessage, len(is.Fields))
	for k, v := range is.Fields {
		c.Fields[k] = v
	}
	return c
}

// find returns the issue with the key (or ID); s.mu is held.
func (s *Server) find(key string) *Issue {
	for _, is := range s.issues {
		if is.Key == key || is.ID == key {
			return is
		}
	}
	return nil
}

// exchange is one request being answered.
type exchange struct {
	s   *Server
	w   http.ResponseWriter
	req Request
}

// problem records a protocol problem and answers it with Jira's error
// body.
func (x *exchange) problem(status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	x.s.mu.Lock()
	x.s.problems = append(x.s.problems, x.req.Call()+": "+msg)
	x.s.mu.Unlock()
	x.error(status, msg)
}

// error answers Jira's error collection.
func (x *exchange) error(status int, msg string) {
	x.json(status, map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}})
}

func (x *exchange) json(status int, v any) {
	x.w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	x.w.WriteHeader(status)
	x.req.Status = status
	if v != nil {
		_ = json.NewEncoder(x.w).Encode(v)
	}
}

func (x *exchange) noContent() {
	x.w.WriteHeader(http.StatusNoContent)
	x.req.Status = http.StatusNoContent
}

var issuePath = regexp.MustCompile(`^/rest/api/3/issue/([^/]+)(/comment|/transitions)?$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	x := &exchange{s: s, w: w, req: Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Authorization: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), Body: body, At: time.Now(),
	}}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, x.req)
		s.mu.Unlock()
	}()
	if x.req.Authorization != s.auth {
		x.error(http.StatusUnauthorized, "Client must be authenticated to access this resource.")
		return
	}
	if f, ok := s.scripted(x.req.Call()); ok {
		if f.Applied {
			// Carry the request out with its answer thrown away.
			x.w = httptest.NewRecorder()
			s.dispatch(x, r)
			x.w = w
		}
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		x.error(f.Status, "scripted failure")
		return
	}
	s.dispatch(x, r)
}

// dispatch checks the request's shape and serves it.
func (s *Server) dispatch(x *exchange, r *http.Request) {
	var in map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if ct := strings.ToLower(strings.TrimSpace(strings.Split(x.req.ContentType, ";")[0])); ct != "application/json" {
			x.problem(http.StatusUnsupportedMediaType, "Content-Type %q, want application/json", x.req.ContentType)
			return
		}
		if err := json.Unmarshal(x.req.Body, &in); err != nil || in == nil {
			x.problem(http.StatusBadRequest, "body is not a JSON object: %v", err)
			return
		}
	}
	if r.Method == http.MethodGet && len(x.req.Body) > 0 {
		x.problem(http.StatusBadRequest, "GET with a body")
		return
	}
	switch x.req.Call() {
	case "POST /rest/api/3/search/jql":
		s.search(x, in)
		return
	case "POST /rest/api/3/issue":
		s.create(x, in)
		return
	}
	m := issuePath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		x.problem(http.StatusNotFound, "no such endpoint")
		return
	}
	key := m[1]
	switch r.Method + " " + m[2] {
	case "GET ":
		s.get(x, key)
	case "POST /comment":
		s.comment(x, key, in)
	case "GET /comment":
		s.listComments(x, key)
	case "GET /transitions":
		s.listTransitions(x, key)
	case "POST /transitions":
		s.transition(x, key, in)
	default:
		x.problem(http.StatusMethodNotAllowed, "method not allowed")
	}
}

// scripted pops the next scripted failure of call.
func (s *Server) scripted(call string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.failures[call]
	if len(fs) == 0 {
		return Failure{}, false
	}
	s.failures[call] = fs[1:]
	return fs[0], true
}

const notFound = "Issue does not exist or you do not have permission to see it."

// issueJSON is the API's view of an issue, with the fields asked for
// (nil: all the fake keeps).
func (s *Server) issueJSON(is *Issue, fields []string) map[string]any {
	all := map[string]any{
		"status": map[string]any{"name": is.Status, "statusCategory": map[string]any{"key": is.Category}},
		"labels": is.Labels, "summary": is.Summary,
		"project":   map[string]any{"key": is.Project},
		"issuetype": map[string]any{"name": is.IssueType},
		"created":   is.Created.Format("2006-01-02T15:04:05.000-0700"),
	}
	out := map[string]any{}
	for k, v := range all {
		if fields == nil || slices.Contains(fields, k) || slices.Contains(fields, "*all") {
			out[k] = v
		}
	}
	return map[string]any{"id": is.ID, "key": is.Key, "self": s.srv.URL + "/rest/api/3/issue/" + is.ID, "fields": out}
}

func (s *Server) get(x *exchange, key string) {
	var fields []string
	if f := x.req.Query.Get("fields"); f != "" {
		fields = strings.Split(f, ",")
	}
	s.mu.Lock()
	is := s.find(key)
	var v map[string]any
	if is != nil {
		v = s.issueJSON(is, fields)
	}
	s.mu.Unlock()
	if is == nil {
		x.error(http.StatusNotFound, notFound)
		return
	}
	x.json(http.StatusOK, v)
}

func (s *Server) create(x *exchange, in map[string]any) {
	fields, _ := in["fields"].(map[string]any)
	if fields == nil {
		x.problem(http.StatusBadRequest, "no fields object")
		return
	}
	project := nested(fields, "project", "key")
	issueType := nested(fields, "issuetype", "name")
	summary, _ := fields["summary"].(string)
	switch {
	case project == "":
		x.problem(http.StatusBadRequest, "fields.project.key is required")
		return
	case len(s.opts.Projects) > 0 && !slices.Contains(s.opts.Projects, project):
		x.problem(http.StatusBadRequest, "project %q does not exist", project)
		return
	case issueType == "":
		x.problem(http.StatusBadRequest, "fields.issuetype.name is required")
		return
	case strings.TrimSpace(summary) == "" || strings.ContainsAny(summary, "\r\n") || len([]rune(summary)) > 255:
		x.problem(http.StatusBadRequest, "fields.summary must be one non-empty line of at most 255 characters: %q", summary)
		return
	}
	var labels []string
	if raw, ok := fields["labels"]; ok {
		list, ok := raw.([]any)
		if !ok {
			x.problem(http.StatusBadRequest, "fields.labels is not a list")
			return
		}
		for _, l := range list {
			ls, ok := l.(string)
			if !ok || ls == "" || strings.ContainsAny(ls, " \t\r\n") || len(ls) > 255 {
				x.problem(http.StatusBadRequest, "label %v: labels are non-empty strings without spaces", l)
				return
			}
			labels = append(labels, ls)
		}
	}
	var desc json.RawMessage
	var descText string
	if d, ok := fields["description"]; ok && d != nil {
		text, err := checkADF(d)
		if err != nil {
			x.problem(http.StatusBadRequest, "fields.description: %v", err)
			return
		}
		desc, _ = json.Marshal(d)
		descText = text
	}
	raw := make(map[string]json.RawMessage, len(fields))
	for k, v := range fields {
		raw[k], _ = json.Marshal(v)
	}
	s.mu.Lock()
	s.seq[project]++
	n := len(s.issues) + 1
	is := &Issue{
		ID: strconv.Itoa(10000 + n), Key: fmt.Sprintf("%s-%d", project, s.seq[project]),
		Project: project, IssueType: issueType, Summary: summary, Labels: labels,
		Description: desc, DescriptionText: descText, Fields: raw,
		Status: "To Do", Category: CategoryNew, Created: time.Now(),
	}
	s.issues = append(s.issues, is)
	s.mu.Unlock()
	x.json(http.StatusCreated, map[string]any{"id": is.ID, "key": is.Key, "self": s.srv.URL + "/rest/api/3/issue/" + is.ID})
}

func (s *Server) comment(x *exchange, key string, in map[string]any) {
	text, err := checkADF(in["body"])
	if err != nil {
		x.problem(http.StatusBadRequest, "comment body: %v", err)
		return
	}
	body, _ := json.Marshal(in["body"])
	s.mu.Lock()
	is := s.find(key)
	var id string
	if is != nil {
		s.comments++
		id = strconv.Itoa(20000 + s.comments)
		is.Comments = append(is.Comments, Comment{ID: id, Body: body, Text: text})
	}
	s.mu.Unlock()
	if is == nil {
		x.error(http.StatusNotFound, notFound)
		return
	}
	x.json(http.StatusCreated, map[string]any{"id": id, "self": s.srv.URL + "/rest/api/3/issue/" + key + "/comment/" + id})
}

// listComments answers a page of the issue's comments, oldest first or,
// with orderBy=-created, newest first.
func (s *Server) listComments(x *exchange, key string) {
	q := x.req.Query
	start, _ := strconv.Atoi(q.Get("startAt"))
	limit, err := strconv.Atoi(q.Get("maxResults"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	s.mu.Lock()
	is := s.find(key)
	var cs []Comment
	if is != nil {
		cs = slices.Clone(is.Comments)
	}
	s.mu.Unlock()
	if is == nil {
		x.error(http.StatusNotFound, notFound)
		return
	}
	switch q.Get("orderBy") {
	case "", "created", "+created":
	case "-created":
		slices.Reverse(cs)
	default:
		x.problem(http.StatusBadRequest, "orderBy %q is not supported", q.Get("orderBy"))
		return
	}
	page := []map[string]any{}
	for i := max(start, 0); i < len(cs) && len(page) < limit; i++ {
		page = append(page, map[string]any{"id": cs[i].ID, "body": cs[i].Body})
	}
	x.json(http.StatusOK, map[string]any{"comments": page, "startAt": start, "maxResults": limit, "total": len(cs)})
}

// available returns the transitions offered from the issue's status;
// s.mu is held.
func (s *Server) available(is *Issue) []Transition {
	var out []Transition
	for _, t := range s.opts.Transitions {
		if (len(t.From) == 0 && t.To != is.Status) || slices.Contains(t.From, is.Status) {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) listTransitions(x *exchange, key string) {
	s.mu.Lock()
	is := s.find(key)
	var list []map[string]any
	if is != nil {
		for _, t := range s.available(is) {
			list = append(list, map[string]any{"id": t.ID, "name": t.Name, "hasScreen": false,
				"to": map[string]any{"name": t.To, "statusCategory": map[string]any{"key": t.Category}}})
		}
	}
	s.mu.Unlock()
	if is == nil {
		x.error(http.StatusNotFound, notFound)
		return
	}
	x.json(http.StatusOK, map[string]any{"transitions": list})
}

// transition applies a transition, with the comments its update adds
// ({"update": {"comment": [{"add": {"body": ADF}}]}}) in the same step.
func (s *Server) transition(x *exchange, key string, in map[string]any) {
	id := nested(in, "transition", "id")
	if id == "" {
		x.problem(http.StatusBadRequest, "transition.id is required")
		return
	}
	var adds []Comment
	if upd, ok := in["update"].(map[string]any); ok {
		ops, _ := upd["comment"].([]any)
		for i, o := range ops {
			add, _ := o.(map[string]any)["add"].(map[string]any)
			text, err := checkADF(add["body"])
			if err != nil {
				x.problem(http.StatusBadRequest, "update.comment[%d].add.body: %v", i, err)
				return
			}
			body, _ := json.Marshal(add["body"])
			adds = append(adds, Comment{Body: body, Text: text})
		}
	}
	s.mu.Lock()
	is := s.find(key)
	ok := false
	if is != nil {
		for _, t := range s.available(is) {
			if t.ID == id {
				is.Status, is.Category = t.To, t.Category
				is.Transitions = append(is.Transitions, id)
				for _, c := range adds {
					s.comments++
					c.ID = strconv.Itoa(20000 + s.comments)
					is.Comments = append(is.Comments, c)
				}
				ok = true
				break
			}
		}
	}
	s.mu.Unlock()
	switch {
	case is == nil:
		x.error(http.StatusNotFound, notFound)
	case !ok:
		// Jira answers 400 for a transition not available from the
		// current status: a client that does not check first errs, which
		// is not a protocol problem of the request's shape.
		x.error(http.StatusBadRequest, "Transition id '"+id+"' is not valid for this issue.")
	default:
		x.noContent()
	}
}

func (s *Server) search(x *exchange, in map[string]any) {
	jql, _ := in["jql"].(string)
	q, err := parseJQL(jql)
	if err != nil {
		x.problem(http.StatusBadRequest, "Error in the JQL Query: %v (%q)", err, jql)
		return
	}
	var fields []string
	if raw, ok := in["fields"]; ok {
		list, ok := raw.([]any)
		if !ok {
			x.problem(http.StatusBadRequest, "fields is not a list")
			return
		}
		for _, f := range list {
			fs, _ := f.(string)
			fields = append(fields, fs)
		}
	} else {
		fields = []string{"id"} // the enhanced search returns only IDs by default
	}
	limit := 50
	if v, ok := in["maxResults"].(float64); ok && v > 0 {
		limit = min(int(v), 5000)
	}
	start := 0
	if tok, _ := in["nextPageToken"].(string); tok != "" {
		if start, err = strconv.Atoi(tok); err != nil || start < 0 {
			x.problem(http.StatusBadRequest, "nextPageToken %q was not issued by this server", tok)
			return
		}
	}
	s.mu.Lock()
	var hits []*Issue
	for _, is := range s.issues {
		if q.match(is) {
			hits = append(hits, is)
		}
	}
	if q.desc {
		slices.Reverse(hits)
	}
	out := []map[string]any{}
	for i := start; i < len(hits) && len(out) < limit; i++ {
		out = append(out, s.issueJSON(hits[i], fields))
	}
	s.mu.Unlock()
	resp := map[string]any{"issues": out, "isLast": start+len(out) >= len(hits)}
	if start+len(out) < len(hits) {
		resp["nextPageToken"] = strconv.Itoa(start + len(out))
	}
	x.json(http.StatusOK, resp)
}

// nested returns m[a][b] as a string.
func nested(m map[string]any, a, b string) string {
	inner, _ := m[a].(map[string]any)
	s, _ := inner[b].(string)
	return s
}

// clause is one "field op value" of a JQL query.
type clause struct {
	field, op, value string
}

// query is a parsed JQL query.
type query struct {
	clauses []clause
	desc    bool
}

func (q query) match(is *Issue) bool {
	for _, c := range q.clauses {
		var hit bool
		switch c.field {
		case "project":
			hit = strings.EqualFold(is.Project, c.value)
		case "key", "issuekey":
			hit = strings.EqualFold(is.Key, c.value)
		case "labels":
			hit = slices.Contains(is.Labels, c.value)
		case "statuscategory":
			hit = strings.EqualFold(categoryName(is.Category), c.value) || strings.EqualFold(is.Category, c.value)
		}
		if hit != (c.op == "=") {
			return false
		}
	}
	return true
}

// categoryName is a status category's display name, which JQL compares.
func categoryName(key string) string {
	switch key {
	case CategoryNew:
		return "To Do"
	case CategoryIndeterminate:
		return "In Progress"
	case CategoryDone:
		return "Done"
	}
	return key
}

// bareWord is an unquoted JQL value the fake accepts.
var bareWord = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// parseJQL parses clauses joined by AND and an optional ORDER BY created.
func parseJQL(jql string) (query, error) {
	toks, err := tokenize(jql)
	if err != nil {
		return query{}, err
	}
	var q query
	i := 0
	word := func(w string) bool {
		if i < len(toks) && !toks[i].quoted && strings.EqualFold(toks[i].text, w) {
			i++
			return true
		}
		return false
	}
	for {
		if i+3 > len(toks) {
			return q, fmt.Errorf("expected a clause at token %d", i)
		}
		f, op, v := toks[i], toks[i+1], toks[i+2]
		field := strings.ToLower(f.text)
		if f.quoted || !slices.Contains([]string{"project", "labels", "key", "issuekey", "statuscategory"}, field) {
			return q, fmt.Errorf("field %q is not supported", f.text)
		}
		if op.quoted || (op.text != "=" && op.text != "!=") {
			return q, fmt.Errorf("operator %q is not supported", op.text)
		}
		if !v.quoted && !bareWord.MatchString(v.text) {
			return q, fmt.Errorf("value %q must be quoted", v.text)
		}
		q.clauses = append(q.clauses, clause{field: field, op: op.text, value: v.text})
		i += 3
		if !word("AND") {
			break
		}
	}
	if word("ORDER") {
		if !word("BY") || !word("created") {
			return q, fmt.Errorf("only ORDER BY created is supported")
		}
		switch {
		case word("DESC"):
			q.desc = true
		case word("ASC"):
		}
	}
	if i != len(toks) {
		return q, fmt.Errorf("unexpected %q", toks[i].text)
	}
	return q, nil
}

type token struct {
	text   string
	quoted bool
}

// tokenize splits JQL into words, operators and quoted strings (double or
// single quotes, with backslash escapes).
func tokenize(s string) ([]token, error) {
	var out []token
	r := []rune(s)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(r) && r[j] != c; j++ {
				if r[j] == '\\' {
					j++
					if j == len(r) {
						break
					}
				}
				b.WriteRune(r[j])
			}
			if j >= len(r) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			out = append(out, token{text: b.String(), quoted: true})
			i = j + 1
		case c == '=':
			out = append(out, token{text: "="})
			i++
		case c == '!':
			if i+1 >= len(r) || r[i+1] != '=' {
				return nil, fmt.Errorf("unexpected ! at %d", i)
			}
			out = append(out, token{text: "!="})
			i += 2
		default:
			j := i
			for j < len(r) && !strings.ContainsRune(" \t\r\n=!\"'()", r[j]) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected %q at %d", c, i)
			}
			out = append(out, token{text: string(r[i:j])})
			i = j
		}
	}
	return out, nil
}

// adfBlocks are the ADF block nodes the fake accepts, and inline the
// inline ones; every node must be one of them.
var (
	adfBlocks = []string{"paragraph", "heading", "bulletList", "orderedList", "listItem", "codeBlock",
		"blockquote", "rule", "panel", "table", "tableRow", "tableHeader", "tableCell"}
	adfInline = []string{"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status"}
)

// checkADF checks that v is an Atlassian Document Format document (type
// doc, version 1, non-empty content of known nodes, text only in non-empty
// text nodes, heading levels 1-6) and returns its text nodes joined by
// spaces.
func checkADF(v any) (string, error) {
	doc, ok := v.(map[string]any)
	if !ok {
		return "", fmt.Errorf("not an ADF document (an object)")
	}
	if doc["type"] != "doc" || doc["version"] != float64(1) {
		return "", fmt.Errorf("root has type %v and version %v, want doc and 1", doc["type"], doc["version"])
	}
	content, _ := doc["content"].([]any)
	if len(content) == 0 {
		return "", fmt.Errorf("doc has no content")
	}
	var texts []string
	var walk func(path string, n any, inline bool) error
	walk = func(path string, n any, inline bool) error {
		node, ok := n.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: node is not an object", path)
		}
		typ, _ := node["type"].(string)
		path += "/" + typ
		switch {
		case typ == "text":
			if !inline {
				return fmt.Errorf("%s: text outside an inline container", path)
			}
			s, _ := node["text"].(string)
			if s == "" {
				return fmt.Errorf("%s: empty text", path)
			}
			if marks, ok := node["marks"]; ok {
				list, ok := marks.([]any)
				if !ok {
					return fmt.Errorf("%s: marks is not a list", path)
				}
				for _, m := range list {
					if mt, _ := m.(map[string]any)["type"].(string); mt == "" {
						return fmt.Errorf("%s: mark without a type", path)
					}
				}
			}
			texts = append(texts, s)
			return nil
		case slices.Contains(adfInline, typ):
			if !inline {
				return fmt.Errorf("%s: inline node outside an inline container", path)
			}
			return nil
		case !slices.Contains(adfBlocks, typ):
			return fmt.Errorf("%s: unknown node type", path)
		case inline:
			return fmt.Errorf("%s: block node inside an inline container", path)
		}
		if _, ok := node["text"]; ok {
			return fmt.Errorf("%s: text on a block node", path)
		}
		if typ == "heading" {
			attrs, _ := node["attrs"].(map[string]any)
			if lvl, _ := attrs["level"].(float64); lvl < 1 || lvl > 6 || lvl != float64(int(lvl)) {
				return fmt.Errorf("%s: heading level %v", path, attrs["level"])
			}
		}
		kids, _ := node["content"].([]any)
		if typ != "rule" && typ != "paragraph" && len(kids) == 0 {
			return fmt.Errorf("%s: block without content", path)
		}
		childInline := typ == "paragraph" || typ == "heading" || typ == "codeBlock"
		for i, k := range kids {
			if err := walk(fmt.Sprintf("%s[%d]", path, i), k, childInline); err != nil {
				return err
			}
		}
		return nil
	}
	for i, c := range content {
		if err := walk(fmt.Sprintf("doc[%d]", i), c, false); err != nil {
			return "", err
		}
	}
	return strings.Join(texts, " "), nil
}
