package interact

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/slack"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"
)

const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"

var findingKey = finding.Key{Cloud: "aws", Account: "123456789012",
	ResourceID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1", RuleID: "aws-ec2-security-group-admin-ports-open-ipv4"}

// press is one button press as Slack sends it.
type press struct {
	actionID, blockID, value string
	user, userName           string
	responseURL              string
	typ                      string // interaction type (default block_actions)
}

func (p press) payload() string {
	if p.typ == "" {
		p.typ = "block_actions"
	}
	if p.blockID == "" {
		p.blockID = slack.ActionsBlockID
	}
	if p.responseURL == "" {
		p.responseURL = "https://hooks.slack.com/actions/T0001/1234/abcd"
	}
	b, _ := json.Marshal(map[string]any{
		"type":         p.typ,
		"user":         map[string]any{"id": p.user, "username": p.userName, "name": p.userName, "team_id": "T0001"},
		"api_app_id":   "A0001",
		"team":         map[string]any{"id": "T0001", "domain": "acme"},
		"container":    map[string]any{"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0001", "is_ephemeral": false},
		"channel":      map[string]any{"id": "C0001", "name": "cloud-security"},
		"response_url": p.responseURL,
		"trigger_id":   "123.456.abc",
		"actions": []any{map[string]any{
			"type": "button", "action_id": p.actionID, "block_id": p.blockID, "value": p.value,
			"text": map[string]any{"type": "plain_text", "text": "Revert now"}, "action_ts": "1700000001.000200",
		}},
	})
	return url.Values{"payload": {string(b)}}.Encode()
}

// signed returns a request for body signed with secret at ts, as Slack
// signs it.
func signed(secret string, ts time.Time, body string) *http.Request {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", stamp)
	r.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return r
}

// fakeQueue records the jobs it is given.
type fakeQueue struct {
	mu   sync.Mutex
	jobs []Job
	err  error
}

var _ Queue = (*fakeQueue)(nil)

func (q *fakeQueue) Enqueue(_ context.Context, j Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.jobs = append(q.jobs, j)
	return nil
}

// fakeMarker is a Marker in memory that may fail.
type fakeMarker struct {
	mu    sync.Mutex
	marks map[string]time.Duration
	err   error
}

var _ Marker = (*fakeMarker)(nil)

func (m *fakeMarker) MarkSeen(_ context.Context, id string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	if m.marks == nil {
		m.marks = map[string]time.Duration{}
	}
	if _, ok := m.marks[id]; ok {
		return false, nil
	}
	m.marks[id] = ttl
	return true, nil
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newHandler(t *testing.T, marks Marker, q Queue) *Handler {
	t.Helper()
	h, err := NewHandler(HandlerConfig{SigningSecret: secret.New(signingSecret), Marks: marks, Queue: q, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHandler(t *testing.T) {
	revertPress := press{actionID: slack.ActionRevert, value: findingKey.String(), user: "U0ALICE", userName: "alice"}
	body := revertPress.payload()
	now := time.Now()
	tests := []struct {
		name string
		// requests are sent in order; the status of each is checked.
		requests   []*http.Request
		statuses   []int
		marker     *fakeMarker
		queueErr   error
		wantJobs   int
		wantMarked int
	}{
		{
			name:     "valid press is queued",
			requests: []*http.Request{signed(signingSecret, now, body)},
			statuses: []int{http.StatusOK}, wantJobs: 1, wantMarked: 1,
		},
		{
			name:     "bad signature",
			requests: []*http.Request{signed("another-secret", now, body)},
			statuses: []int{http.StatusUnauthorized},
		},
		{
			name: "body changed after signing",
			requests: []*http.Request{func() *http.Request {
				r := signed(signingSecret, now, body)
				r.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Replace(body, "U0ALICE", "U0MALLORY", 1))).Body
				return r
			}()},
			statuses: []int{http.StatusUnauthorized},
		},
		{
			name:     "stale timestamp",
			requests: []*http.Request{signed(signingSecret, now.Add(-6*time.Minute), body)},
			statuses: []int{http.StatusUnauthorized},
		},
		{
			name:     "timestamp from the future",
			requests: []*http.Request{signed(signingSecret, now.Add(6*time.Minute), body)},
			statuses: []int{http.StatusUnauthorized},
		},
		{
			name: "no signature headers",
			requests: []*http.Request{func() *http.Request {
				r := signed(signingSecret, now, body)
				r.Header.Del("X-Slack-Signature")
				return r
			}()},
			statuses: []int{http.StatusUnauthorized},
		},
		{
			name:     "replayed body",
			requests: []*http.Request{signed(signingSecret, now, body), signed(signingSecret, now, body)},
			statuses: []int{http.StatusOK, http.StatusUnauthorized}, wantJobs: 1, wantMarked: 1,
		},
		{
			name:     "the same press signed again later is a new request",
			requests: []*http.Request{signed(signingSecret, now, body), signed(signingSecret, now.Add(-time.Second), body)},
			statuses: []int{http.StatusOK, http.StatusOK}, wantJobs: 2, wantMarked: 2,
		},
		{
			name:     "store down: refused, not queued",
			requests: []*http.Request{signed(signingSecret, now, body)},
			statuses: []int{http.StatusInternalServerError}, marker: &fakeMarker{err: errors.New("throttled")},
		},
		{
			name:     "queue down",
			requests: []*http.Request{signed(signingSecret, now, body)},
			statuses: []int{http.StatusInternalServerError}, queueErr: errors.New("invoke failed"), wantMarked: 1,
		},
		{
			name:     "GET",
			requests: []*http.Request{httptest.NewRequest(http.MethodGet, "/", nil)},
			statuses: []int{http.StatusMethodNotAllowed},
		},
		{
			name:     "another interaction type is ignored",
			requests: []*http.Request{signed(signingSecret, now, press{typ: "view_submission", user: "U0ALICE"}.payload())},
			statuses: []int{http.StatusOK}, wantMarked: 1,
		},
		{
			name:     "another button is ignored",
			requests: []*http.Request{signed(signingSecret, now, press{actionID: "other_button", value: findingKey.String(), user: "U0ALICE"}.payload())},
			statuses: []int{http.StatusOK}, wantMarked: 1,
		},
		{
			name:     "a button outside the alert's block is ignored",
			requests: []*http.Request{signed(signingSecret, now, press{actionID: slack.ActionRevert, blockID: "other", value: findingKey.String(), user: "U0ALICE"}.payload())},
			statuses: []int{http.StatusOK}, wantMarked: 1,
		},
		{
			name:     "a value that is no finding key",
			requests: []*http.Request{signed(signingSecret, now, press{actionID: slack.ActionRevert, value: "rm -rf", user: "U0ALICE"}.payload())},
			statuses: []int{http.StatusBadRequest}, wantMarked: 1,
		},
		{
			name:     "no payload",
			requests: []*http.Request{signed(signingSecret, now, "token=x")},
			statuses: []int{http.StatusBadRequest}, wantMarked: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marker := tt.marker
			if marker == nil {
				marker = &fakeMarker{}
			}
			q := &fakeQueue{err: tt.queueErr}
			h := newHandler(t, marker, q)
			for i, r := range tt.requests {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != tt.statuses[i] {
					t.Errorf("request %d: status %d (%s), want %d", i, w.Code, w.Body, tt.statuses[i])
				}
				if w.Code == http.StatusOK && w.Body.Len() != 0 {
					t.Errorf("request %d: body %q, want empty (Slack shows a body as a message)", i, w.Body)
				}
			}
			if len(q.jobs) != tt.wantJobs {
				t.Errorf("%d jobs queued, want %d", len(q.jobs), tt.wantJobs)
			}
			if len(marker.marks) != tt.wantMarked {
				t.Errorf("%d requests remembered, want %d", len(marker.marks), tt.wantMarked)
			}
			for id, ttl := range marker.marks {
				if !strings.HasPrefix(id, "slack-request/") || ttl < 2*Window {
					t.Errorf("mark %q for %s: want slack-request/… for more than twice the window", id, ttl)
				}
			}
		})
	}
}

func TestHandlerJob(t *testing.T) {
	q := &fakeQueue{}
	h := newHandler(t, &fakeMarker{}, q)
	for _, p := range []press{
		{actionID: slack.ActionRevert, value: findingKey.String(), user: "U0ALICE", userName: "alice"},
		{actionID: slack.ActionAcknowledge, value: findingKey.String(), user: "U0BOB"},
		{actionID: slack.ActionSnooze, value: findingKey.String(), user: "U0BOB"},
		{actionID: slack.ActionAcceptBaseline, value: findingKey.String(), user: "W0CAROL", userName: "carol"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, signed(signingSecret, time.Now(), p.payload()))
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", p.actionID, w.Code)
		}
	}
	want := []struct{ action, user, by string }{
		{finding.ActionRevert, "U0ALICE", "slack:U0ALICE (alice)"},
		{finding.ActionAcknowledge, "U0BOB", "slack:U0BOB"},
		{finding.ActionSnooze, "U0BOB", "slack:U0BOB"},
		{finding.ActionAcceptBaseline, "W0CAROL", "slack:W0CAROL (carol)"},
	}
	if len(q.jobs) != len(want) {
		t.Fatalf("%d jobs, want %d", len(q.jobs), len(want))
	}
	for i, j := range q.jobs {
		w := want[i]
		if j.Action != w.action || j.UserID != w.user || j.By() != w.by || j.Key != findingKey.String() ||
			j.ResponseURL != "https://hooks.slack.com/actions/T0001/1234/abcd" || j.Channel != "C0001" ||
			j.MessageTS != "1700000000.000001" || j.TeamID != "T0001" || !j.At.Equal(t0) || len(j.ID) != 64 {
			t.Errorf("job %d = %+v", i, j)
		}
	}
	// A job survives its trip through the queue's JSON.
	b, err := json.Marshal(q.jobs[0])
	if err != nil {
		t.Fatal(err)
	}
	var back Job
	if err := json.Unmarshal(b, &back); err != nil || back != q.jobs[0] {
		t.Errorf("job round trip = %+v, %v", back, err)
	}
}

// TestReplayRefusedByAnotherInstance sends a press to one instance and
// its replay to another; they share only the finding store, as two Lambda
// instances do.
func TestReplayRefusedByAnotherInstance(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "findings.db")
	var handlers []*Handler
	q := &fakeQueue{}
	for range 2 {
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		handlers = append(handlers, newHandler(t, s, q))
	}
	body := press{actionID: slack.ActionRevert, value: findingKey.String(), user: "U0ALICE"}.payload()
	now := time.Now()
	for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
		w := httptest.NewRecorder()
		handlers[i].ServeHTTP(w, signed(signingSecret, now, body))
		if w.Code != want {
			t.Errorf("instance %d: status %d, want %d", i, w.Code, want)
		}
	}
	if len(q.jobs) != 1 {
		t.Errorf("%d jobs, want 1", len(q.jobs))
	}
}

func TestNewHandlerNeedsItsParts(t *testing.T) {
	for _, cfg := range []HandlerConfig{
		{Marks: &fakeMarker{}, Queue: &fakeQueue{}},
		{SigningSecret: secret.New("s"), Queue: &fakeQueue{}},
		{SigningSecret: secret.New("s"), Marks: &fakeMarker{}},
	} {
		if _, err := NewHandler(cfg); err == nil {
			t.Errorf("NewHandler(%+v) accepted", cfg)
		}
	}
}
