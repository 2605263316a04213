package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/interact"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/slack"
)

// fakeWorker records the jobs it is given.
type fakeWorker struct {
	jobs []interact.Job
	err  error
}

var _ worker = (*fakeWorker)(nil)

func (w *fakeWorker) Do(_ context.Context, j interact.Job) (interact.Outcome, error) {
	w.jobs = append(w.jobs, j)
	return interact.Outcome{Status: interact.StatusDone}, w.err
}

// fakeInvoker records the invocations and answers status (202 unless set).
type fakeInvoker struct {
	calls  []*lambda.InvokeInput
	status int32
	err    error
}

var _ invoker = (*fakeInvoker)(nil)

func (f *fakeInvoker) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	st := f.status
	if st == 0 {
		st = http.StatusAccepted
	}
	return &lambda.InvokeOutput{StatusCode: st}, nil
}

// recordingHandler answers 201 with a header and a body, and keeps the
// request it got.
type recordingHandler struct {
	method, target, body string
	header               http.Header
}

func (h *recordingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.method, h.target, h.body, h.header = r.Method, r.URL.RequestURI(), string(b), r.Header
	w.Header().Set("X-Test", "yes")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, "done")
}

func urlEvent(t *testing.T, body string, b64 bool) json.RawMessage {
	t.Helper()
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: "/slack", RawQueryString: "a=1",
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "x-slack-signature": "v0=abc", "x-slack-request-timestamp": "123"},
		Body:    body,
	}
	if b64 {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
	}
	ev.RequestContext.HTTP.Method = http.MethodPost
	ev.RequestContext.HTTP.SourceIP = "192.0.2.1"
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInvokeFunctionURL(t *testing.T) {
	for _, b64 := range []bool{false, true} {
		t.Run(fmt.Sprintf("base64=%v", b64), func(t *testing.T) {
			h := &recordingHandler{}
			a := &app{http: h, worker: &fakeWorker{}}
			out, err := a.Invoke(context.Background(), urlEvent(t, "payload=%7B%7D", b64))
			if err != nil {
				t.Fatal(err)
			}
			resp, ok := out.(events.LambdaFunctionURLResponse)
			if !ok || resp.StatusCode != http.StatusCreated || resp.Body != "done" || resp.Headers["X-Test"] != "yes" {
				t.Errorf("response %#v", out)
			}
			if h.method != http.MethodPost || h.target != "/slack?a=1" || h.body != "payload=%7B%7D" ||
				h.header.Get("X-Slack-Signature") != "v0=abc" || h.header.Get("X-Slack-Request-Timestamp") != "123" {
				t.Errorf("request %s %s %q %v", h.method, h.target, h.body, h.header)
			}
		})
	}
}

func TestInvokeJob(t *testing.T) {
	w := &fakeWorker{err: errors.New("store down")}
	a := &app{http: http.NotFoundHandler(), worker: w}
	j := interact.Job{ID: "sig", Action: finding.ActionSnooze, Key: "aws/1/arn:aws:s3:::b/r", UserID: "U1", ResponseURL: "https://hooks.slack.com/x"}
	payload, _ := json.Marshal(envelope{Job: &j})
	if _, err := a.Invoke(context.Background(), payload); err == nil || !strings.Contains(err.Error(), "store down") {
		t.Errorf("Invoke error = %v, want the worker's", err)
	}
	if len(w.jobs) != 1 || w.jobs[0] != j {
		t.Errorf("jobs %+v", w.jobs)
	}
	for _, bad := range []string{`{}`, `[1]`, `{"driftwatch_slack_job": null}`, `{"driftwatch_slack_job": 5}`} {
		if _, err := a.Invoke(context.Background(), json.RawMessage(bad)); err == nil {
			t.Errorf("Invoke(%s) accepted", bad)
		}
	}
}

func TestSelfQueue(t *testing.T) {
	j := interact.Job{ID: "sig", Action: finding.ActionRevert, Key: "aws/1/arn:aws:s3:::b/r", UserID: "U1", ResponseURL: "https://hooks.slack.com/x"}
	inv := &fakeInvoker{}
	q := &selfQueue{api: inv, function: "driftwatch-slack-actions"}
	if err := q.Enqueue(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	in := inv.calls[0]
	var env envelope
	if aws.ToString(in.FunctionName) != "driftwatch-slack-actions" || in.InvocationType != lambdatypes.InvocationTypeEvent ||
		json.Unmarshal(in.Payload, &env) != nil || env.Job == nil || *env.Job != j {
		t.Errorf("invocation %+v payload %s", in, in.Payload)
	}
	for _, f := range []*fakeInvoker{{status: 200}, {err: errors.New("throttled")}} {
		if err := (&selfQueue{api: f, function: "f"}).Enqueue(context.Background(), j); err == nil {
			t.Errorf("Enqueue with %+v: no error", f)
		}
	}
}

// TestRoundTrip sends a signed press through the function URL, then the
// asynchronous invocation it queued back into the function.
func TestRoundTrip(t *testing.T) {
	const signingSecret = "test-signing-secret"
	key := finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: "arn:aws:s3:::logs", RuleID: "aws-s3-bucket-public-acl"}
	inv := &fakeInvoker{}
	w := &fakeWorker{}
	h, err := interact.NewHandler(interact.HandlerConfig{SigningSecret: secret.New(signingSecret), Marks: &memMarks{}, Queue: &selfQueue{api: inv, function: "self"}})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{http: h, worker: w}
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "U0ALICE", "username": "alice"}, "team": map[string]any{"id": "T1"},
		"response_url": "https://hooks.slack.com/actions/T1/2/3", "container": map[string]any{"channel_id": "C1", "message_ts": "1.2"},
		"actions": []any{map[string]any{"action_id": slack.ActionAcknowledge, "block_id": slack.ActionsBlockID, "value": key.String(), "type": "button"}},
	})
	body := url.Values{"payload": {string(payload)}}.Encode()
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(signingSecret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	ev := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/", Body: body, Headers: map[string]string{
		"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": stamp,
		"x-slack-signature": "v0=" + hex.EncodeToString(mac.Sum(nil)),
	}}
	ev.RequestContext.HTTP.Method = http.MethodPost
	raw, _ := json.Marshal(ev)

	out, err := a.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if resp := out.(events.LambdaFunctionURLResponse); resp.StatusCode != http.StatusOK || resp.Body != "" {
		t.Fatalf("response %+v, want 200 with an empty body", resp)
	}
	if len(inv.calls) != 1 || len(w.jobs) != 0 {
		t.Fatalf("%d invocations, %d jobs done: want the job queued, not done", len(inv.calls), len(w.jobs))
	}
	if _, err := a.Invoke(context.Background(), inv.calls[0].Payload); err != nil {
		t.Fatal(err)
	}
	if len(w.jobs) != 1 || w.jobs[0].Action != finding.ActionAcknowledge || w.jobs[0].UserID != "U0ALICE" || w.jobs[0].Key != key.String() {
		t.Errorf("jobs %+v", w.jobs)
	}
	// The same request again is a replay.
	out, _ = a.Invoke(context.Background(), raw)
	if resp := out.(events.LambdaFunctionURLResponse); resp.StatusCode != http.StatusUnauthorized || len(inv.calls) != 1 {
		t.Errorf("replay: status %d, %d invocations", resp.StatusCode, len(inv.calls))
	}
}

// memMarks is an interact.Marker in memory.
type memMarks struct{ ids map[string]bool }

func (m *memMarks) MarkSeen(_ context.Context, id string, _ time.Duration) (bool, error) {
	if m.ids == nil {
		m.ids = map[string]bool{}
	}
	if m.ids[id] {
		return false, nil
	}
	m.ids[id] = true
	return true, nil
}
