package security

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/driftwatch/driftwatch/internal/mototest"
)

// moto is the package's moto server (TestMain).
var moto *mototest.Server

func TestMain(m *testing.M) {
	srv, err := mototest.Launch()
	if err != nil {
		fmt.Fprintln(os.Stderr, "security tests: start moto:", err)
		os.Exit(1)
	}
	moto = srv
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

// unique returns prefix followed by 24 random hex digits: a value that
// cannot turn up by chance in a log.
func unique(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// logBuffer collects log output from concurrent writers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// debugLogger returns a JSON logger at debug level writing to w.
func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// captureDefault makes the process's default slog logger (and the log
// package, which writes through it) write to w for the test.
func captureDefault(t *testing.T, w io.Writer) {
	prev := slog.Default()
	slog.SetDefault(debugLogger(w))
	t.Cleanup(func() { slog.SetDefault(prev) })
}

// sqsBatch wraps each EventBridge event in an SQS message of a Lambda
// batch.
func sqsBatch(bodies ...[]byte) events.SQSEvent {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: fmt.Sprintf("msg-%d", i+1), Body: string(b), EventSource: "aws:sqs",
			Attributes: map[string]string{"ApproximateReceiveCount": "1"},
		})
	}
	return ev
}

// eventBridge wraps a CloudTrail record in the EventBridge event the
// detector's rule delivers.
func eventBridge(record []byte) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"%s","detail-type":"AWS API Call via CloudTrail","source":"aws.s3",`+
		`"account":"%s","time":"2026-11-28T10:00:00Z","region":"%s","resources":[],"detail":%s}`,
		unique("eb-"), mototest.Account, mototest.Region, record)
}

// fakeGitHub is the part of the GitHub REST API (GitHub Enterprise Server
// layout, under /api/v3) the issue notifier calls, in memory. It answers
// 401 to any token but its own, and keeps every issue and comment as it
// arrived.
type fakeGitHub struct {
	token string
	srv   *httptest.Server

	mu       sync.Mutex
	issues   []*ghIssue
	labels   map[string]bool
	requests []string // "METHOD /path status"
	failures map[string][]int
}

// ghIssue is an issue as the fake keeps it.
type ghIssue struct {
	Number   int
	Title    string
	Body     string
	Labels   []string
	State    string
	Comments []string
}

var ghIssuePath = regexp.MustCompile(`^/api/v3/repos/[^/]+/[^/]+/issues/(\d+)(/comments)?$`)

func startGitHub(t *testing.T, token string) *fakeGitHub {
	g := &fakeGitHub{token: token, labels: map[string]bool{}, failures: map[string][]int{}}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

// BaseURL is the REST API root, for github.Config.BaseURL.
func (g *fakeGitHub) BaseURL() string { return g.srv.URL + "/api/v3/" }

// Fail answers the next calls of "METHOD /path-prefix" with the statuses.
func (g *fakeGitHub) Fail(call string, statuses ...int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failures[call] = append(g.failures[call], statuses...)
}

// Issues returns a copy of the issues.
func (g *fakeGitHub) Issues() []ghIssue {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]ghIssue, 0, len(g.issues))
	for _, is := range g.issues {
		c := *is
		c.Comments = append([]string(nil), is.Comments...)
		out = append(out, c)
	}
	return out
}

// Requests returns "METHOD /path status" for every request.
func (g *fakeGitHub) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}

func (g *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	status := http.StatusOK
	var out any
	defer func() {
		g.mu.Lock()
		g.requests = append(g.requests, r.Method+" "+r.URL.Path+" "+strconv.Itoa(status))
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(out)
	}()
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		status, out = http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for call, statuses := range g.failures {
		method, prefix, _ := strings.Cut(call, " ")
		if len(statuses) > 0 && r.Method == method && strings.HasPrefix(r.URL.Path, prefix) {
			g.failures[call] = statuses[1:]
			status, out = statuses[0], map[string]string{"message": "Server Error"}
			return
		}
	}
	repo := "/api/v3/repos/acme/security"
	issueJSON := func(is *ghIssue) map[string]any {
		labels := make([]map[string]string, 0, len(is.Labels))
		for _, l := range is.Labels {
			labels = append(labels, map[string]string{"name": l})
		}
		return map[string]any{"number": is.Number, "title": is.Title, "body": is.Body, "state": is.State, "labels": labels}
	}
	var in struct {
		Title, Body, State, Name string
		Labels                   []string
	}
	if len(body) > 0 {
		_ = json.Unmarshal(body, &in)
	}
	m := ghIssuePath.FindStringSubmatch(r.URL.Path)
	switch {
	case r.Method == http.MethodGet && r.URL.Path == repo+"/issues":
		label, list := r.URL.Query().Get("labels"), []any{}
		for _, is := range g.issues {
			if is.State == "open" && (label == "" || contains(is.Labels, label)) {
				list = append(list, issueJSON(is))
			}
		}
		out = list
	case r.Method == http.MethodPost && r.URL.Path == repo+"/issues":
		is := &ghIssue{Number: len(g.issues) + 1, Title: in.Title, Body: in.Body, Labels: in.Labels, State: "open"}
		g.issues = append(g.issues, is)
		status, out = http.StatusCreated, issueJSON(is)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, repo+"/labels/"):
		name := strings.TrimPrefix(r.URL.Path, repo+"/labels/")
		if !g.labels[name] {
			status, out = http.StatusNotFound, map[string]string{"message": "Not Found"}
			return
		}
		out = map[string]string{"name": name}
	case r.Method == http.MethodPost && r.URL.Path == repo+"/labels":
		g.labels[in.Name] = true
		status, out = http.StatusCreated, map[string]string{"name": in.Name}
	case m != nil:
		n, _ := strconv.Atoi(m[1])
		if n < 1 || n > len(g.issues) {
			status, out = http.StatusNotFound, map[string]string{"message": "Not Found"}
			return
		}
		is := g.issues[n-1]
		switch {
		case m[2] != "" && r.Method == http.MethodGet:
			list := []any{}
			for i, c := range is.Comments {
				list = append(list, map[string]any{"id": i + 1, "body": c})
			}
			out = list
		case m[2] != "" && r.Method == http.MethodPost:
			is.Comments = append(is.Comments, in.Body)
			status, out = http.StatusCreated, map[string]any{"id": len(is.Comments), "body": in.Body}
		case m[2] == "" && r.Method == http.MethodGet:
			out = issueJSON(is)
		case m[2] == "" && r.Method == http.MethodPatch:
			if in.State != "" {
				is.State = in.State
			}
			out = issueJSON(is)
		default:
			status, out = http.StatusMethodNotAllowed, map[string]string{"message": "Method Not Allowed"}
		}
	default:
		status, out = http.StatusNotFound, map[string]string{"message": "Not Found"}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// fixedClock returns a clock that reads at.
func fixedClock(at time.Time) func() time.Time { return func() time.Time { return at } }

// background is the context of the tests' calls.
func background(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
