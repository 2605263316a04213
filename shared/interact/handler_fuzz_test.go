package interact_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/interact"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/slack"
)

// fuzzSigningSecret is the Slack app's signing secret in the fuzz targets.
const fuzzSigningSecret = "3f1c9a7e5d2b4c6a8e0f1d3b5a7c9e21"

// fuzzMarks is an in-memory interact.Marker.
type fuzzMarks struct {
	mu    sync.Mutex
	marks map[string]bool
}

var _ interact.Marker = (*fuzzMarks)(nil)

func (m *fuzzMarks) MarkSeen(_ context.Context, id string, _ time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.marks == nil {
		m.marks = map[string]bool{}
	}
	if m.marks[id] {
		return false, nil
	}
	m.marks[id] = true
	return true, nil
}

func (m *fuzzMarks) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.marks)
}

// fuzzQueue keeps the jobs it is given.
type fuzzQueue struct {
	mu   sync.Mutex
	jobs []interact.Job
}

var _ interact.Queue = (*fuzzQueue)(nil)

func (q *fuzzQueue) Enqueue(_ context.Context, j interact.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, j)
	return nil
}

func (q *fuzzQueue) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs)
}

// slackRequest returns a request for body signed as Slack signs it (v0,
// HMAC-SHA256 of "v0:<timestamp>:<body>"), with its hex signature.
func slackRequest(signingSecret string, at time.Time, body []byte) (*http.Request, string) {
	stamp := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(signingSecret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	sig := hex.EncodeToString(mac.Sum(nil))
	r := httptest.NewRequest(http.MethodPost, "/slack/actions", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", stamp)
	r.Header.Set("X-Slack-Signature", "v0="+sig)
	return r, sig
}

// interactionBody is a block_actions press of button actionID with value,
// form-encoded as Slack posts it.
func interactionBody(actionID, value string) []byte {
	payload, _ := json.Marshal(map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": "U0123ABCD", "username": "alice", "name": "alice", "team_id": "T0001"},
		"team":         map[string]any{"id": "T0001", "domain": "acme"},
		"container":    map[string]any{"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0001"},
		"channel":      map[string]any{"id": "C0001", "name": "cloud-security"},
		"response_url": "https://hooks.slack.com/actions/T0001/1234/abcd",
		"trigger_id":   "123.456.abc",
		"actions": []any{map[string]any{
			"type": "button", "action_id": actionID, "block_id": slack.ActionsBlockID, "value": value,
			"text": map[string]any{"type": "plain_text", "text": "Revert now"}, "action_ts": "1700000001.000200",
		}},
	})
	return []byte(url.Values{"payload": {string(payload)}}.Encode())
}

// pressed is what a test reads from a payload on its own, to check the Job.
type pressed struct {
	Type        string `json:"type"`
	ResponseURL string `json:"response_url"`
	User        struct {
		ID string `json:"id"`
	} `json:"user"`
	Actions []struct {
		ActionID string `json:"action_id"`
		BlockID  string `json:"block_id"`
		Value    string `json:"value"`
	} `json:"actions"`
}

// buttons maps the alert's action IDs to the actions they ask for.
var buttons = map[string]string{
	slack.ActionRevert:         finding.ActionRevert,
	slack.ActionAcknowledge:    finding.ActionAcknowledge,
	slack.ActionSnooze:         finding.ActionSnooze,
	slack.ActionAcceptBaseline: finding.ActionAcceptBaseline,
}

// checkJob fails unless j is the first driftwatch button press of body, as
// read independently.
func checkJob(t *testing.T, body []byte, sig string, j interact.Job) {
	t.Helper()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatalf("queued a job for a body that is not a form (%v): %q", err, body)
	}
	var p pressed
	if err := json.Unmarshal([]byte(form.Get("payload")), &p); err != nil {
		t.Fatalf("queued a job for a payload that does not decode (%v): %q", err, form.Get("payload"))
	}
	if p.Type != "block_actions" {
		t.Fatalf("queued a job for a %q interaction", p.Type)
	}
	for _, a := range p.Actions {
		action, ok := buttons[a.ActionID]
		if !ok || a.BlockID != slack.ActionsBlockID {
			continue
		}
		if j.Action != action || j.Key != a.Value {
			t.Fatalf("job %s of %q, but the first button is %s (%s) of %q", j.Action, j.Key, a.ActionID, action, a.Value)
		}
		break
	}
	if _, err := finding.ParseKey(j.Key); err != nil {
		t.Fatalf("job for key %q: %v", j.Key, err)
	}
	if j.UserID == "" || j.UserID != p.User.ID || j.ResponseURL == "" || j.ResponseURL != p.ResponseURL {
		t.Fatalf("job by %q answering %q; payload by %q answering %q", j.UserID, j.ResponseURL, p.User.ID, p.ResponseURL)
	}
	if j.ID != sig {
		t.Fatalf("job ID %q, want the signature %q", j.ID, sig)
	}
}

// isPress reports whether body is, read independently, a block_actions
// payload (that slack-go decodes) whose first driftwatch button carries a
// finding key, pressed by a user, with a response_url.
func isPress(body []byte) bool {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return false
	}
	payload := []byte(form.Get("payload"))
	var p pressed
	var ic slackapi.InteractionCallback
	if json.Unmarshal(payload, &p) != nil || json.Unmarshal(payload, &ic) != nil || p.Type != "block_actions" {
		return false
	}
	for _, a := range p.Actions {
		if _, ok := buttons[a.ActionID]; !ok || a.BlockID != slack.ActionsBlockID {
			continue
		}
		_, err := finding.ParseKey(a.Value)
		return err == nil && p.User.ID != "" && p.ResponseURL != ""
	}
	return false
}

// mutate returns body with one bit flipped (or a byte added to an empty
// body): a body the signature was not computed for.
func mutate(body []byte, n uint16) []byte {
	if len(body) == 0 {
		return []byte{byte(n)}
	}
	out := bytes.Clone(body)
	out[int(n/8)%len(out)] ^= 1 << (n % 8)
	return out
}

// FuzzSlackInteraction posts fuzzed interaction requests (form-encoded
// payload=JSON) to the Slack actions handler. Signed and fresh, a request
// is queued only as the button press its payload holds, else answered 200
// (another interaction) or 400, never 401 or 5xx. The same request with a
// bit of its body flipped, a stale or future timestamp, another secret's
// signature, or sent a second time is refused with 401: nothing is queued
// or marked.
func FuzzSlackInteraction(f *testing.F) {
	key := finding.Key{Cloud: "aws", Account: "123456789012",
		ResourceID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1", RuleID: "aws-ec2-security-group-admin-ports-open-ipv4"}.String()
	for action := range buttons {
		f.Add(interactionBody(action, key), uint16(7))
	}
	for _, s := range [][]byte{
		interactionBody(slack.ActionRevert, "not-a-key"),
		interactionBody("someone_elses_button", key),
		[]byte(url.Values{"payload": {`{"type":"view_submission","user":{"id":"U1"}}`}}.Encode()),
		[]byte(url.Values{"payload": {`{"type":"block_actions","actions":[{"action_id":"driftwatch_revert","block_id":"driftwatch_actions","value":"aws/1/r/x"}]}`}}.Encode()),
		[]byte(`payload=%7B`), []byte(`payload=`), []byte(`%zz`), []byte(`a=1&payload=null`), {},
	} {
		f.Add(s, uint16(100))
	}
	f.Fuzz(func(t *testing.T, body []byte, flip uint16) {
		marks, queue := &fuzzMarks{}, &fuzzQueue{}
		h, err := interact.NewHandler(interact.HandlerConfig{SigningSecret: secret.New(fuzzSigningSecret), Marks: marks, Queue: queue})
		if err != nil {
			t.Fatal(err)
		}
		serve := func(r *http.Request) int {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w.Code
		}
		refused := func(what string, r *http.Request) {
			t.Helper()
			jobs, marked := queue.count(), marks.count()
			if code := serve(r); code != http.StatusUnauthorized || queue.count() != jobs || marks.count() != marked {
				t.Fatalf("%s: status %d, %d jobs queued (was %d), %d marks (was %d)", what, code, queue.count(), jobs, marks.count(), marked)
			}
		}
		now := time.Now()

		// Refused before anything is marked or queued.
		if len(body) > 0 {
			mut := mutate(body, flip)
			r, _ := slackRequest(fuzzSigningSecret, now, body)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(mut)), int64(len(mut))
			refused("body with a bit flipped", r)
		}
		stale, _ := slackRequest(fuzzSigningSecret, now.Add(-interact.Window-time.Minute), body)
		refused("stale timestamp", stale)
		future, _ := slackRequest(fuzzSigningSecret, now.Add(interact.Window+time.Minute), body)
		refused("future timestamp", future)
		other, _ := slackRequest(fuzzSigningSecret+"x", now, body)
		refused("another secret's signature", other)
		moved, _ := slackRequest(fuzzSigningSecret, now, body)
		moved.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix()+1, 10))
		refused("signature of another timestamp", moved)
		unsigned, _ := slackRequest(fuzzSigningSecret, now, body)
		unsigned.Header.Del("X-Slack-Signature")
		refused("unsigned", unsigned)

		// The request as Slack sends it.
		good, sig := slackRequest(fuzzSigningSecret, now, body)
		code := serve(good)
		if want := isPress(body); want && (code != http.StatusOK || queue.count() != 1) {
			t.Fatalf("a press of a driftwatch button: status %d, %d jobs queued", code, queue.count())
		}
		switch code {
		case http.StatusOK:
			switch queue.count() {
			case 0:
			case 1:
				checkJob(t, body, sig, queue.jobs[0])
			default:
				t.Fatalf("one request queued %d jobs", queue.count())
			}
		case http.StatusBadRequest:
			if queue.count() != 0 {
				t.Fatalf("400, yet %d jobs queued", queue.count())
			}
		default:
			t.Fatalf("signed request %q: status %d", body, code)
		}
		again, _ := slackRequest(fuzzSigningSecret, now, body)
		refused("replay", again)
	})
}
