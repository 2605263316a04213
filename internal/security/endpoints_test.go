package security

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
	"github.com/driftwatch/driftwatch/shared/interact"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/slack"
	"github.com/driftwatch/driftwatch/shared/slack/slackfake"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"
)

// jobQueue keeps the Slack presses the handler queues.
type jobQueue struct {
	mu   sync.Mutex
	jobs []interact.Job
}

var _ interact.Queue = (*jobQueue)(nil)

func (q *jobQueue) Enqueue(_ context.Context, j interact.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, j)
	return nil
}

func (q *jobQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs)
}

// slackSigned returns a request for body as Slack signs it with
// signingSecret at ts.
func slackSigned(signingSecret string, ts time.Time, body string) *http.Request {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(signingSecret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	r := httptest.NewRequest(http.MethodPost, "/slack/actions", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", stamp)
	r.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return r
}

// revertPress is a press of an alert's Revert now button, form-encoded as
// Slack posts it.
func revertPress(key string) string {
	payload, _ := json.Marshal(map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": "U0123ABCD", "username": "alice", "team_id": "T0001"},
		"team":         map[string]any{"id": "T0001"},
		"container":    map[string]any{"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0001"},
		"response_url": "https://hooks.slack.com/actions/T0001/1234/abcd",
		"actions": []any{map[string]any{"type": "button", "action_id": slack.ActionRevert,
			"block_id": slack.ActionsBlockID, "value": key}},
	})
	return url.Values{"payload": {string(payload)}}.Encode()
}

// TestSlackActionsRefuseUnsignedStaleReplayed sends the Slack actions
// handler (with the finding store remembering signatures, as deployed)
// requests that are unsigned, signed wrongly, signed for another body or
// timestamp, stale, from the future, or replayed — also to a second
// instance sharing the store. Each is refused with 401, and none is
// queued; a correctly signed press is queued once. The signing secret
// never reaches the log.
func TestSlackActionsRefuseUnsignedStaleReplayed(t *testing.T) {
	ctx := background(t)
	signing := unique("sign-")
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "findings.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	logs := &logBuffer{}
	queue := &jobQueue{}
	newHandler := func() *interact.Handler {
		h, err := interact.NewHandler(interact.HandlerConfig{SigningSecret: secret.New(signing), Marks: store, Queue: queue, Log: debugLogger(logs)})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h, other := newHandler(), newHandler()
	if _, err := interact.NewHandler(interact.HandlerConfig{Marks: store, Queue: queue}); err == nil {
		t.Error("a handler without a signing secret was built")
	}
	key := finding.Key{Cloud: "aws", Account: "123456789012",
		ResourceID: "arn:aws:s3:::dw-sec-bucket", RuleID: "aws-s3-bucket-public-policy"}.String()
	body := revertPress(key)
	now := time.Now()
	serve := func(h http.Handler, r *http.Request) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}

	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"unsigned", func() *http.Request {
			r := slackSigned(signing, now, body)
			r.Header.Del("X-Slack-Signature")
			r.Header.Del("X-Slack-Request-Timestamp")
			return r
		}},
		{"signature without timestamp", func() *http.Request {
			r := slackSigned(signing, now, body)
			r.Header.Del("X-Slack-Request-Timestamp")
			return r
		}},
		{"timestamp without signature", func() *http.Request {
			r := slackSigned(signing, now, body)
			r.Header.Del("X-Slack-Signature")
			return r
		}},
		{"empty signature", func() *http.Request {
			r := slackSigned(signing, now, body)
			r.Header.Set("X-Slack-Signature", "v0=")
			return r
		}},
		{"another version's signature", func() *http.Request {
			r := slackSigned(signing, now, body)
			r.Header.Set("X-Slack-Signature", "v1="+strings.TrimPrefix(r.Header.Get("X-Slack-Signature"), "v0="))
			return r
		}},
		{"signed with another secret", func() *http.Request { return slackSigned(signing+"x", now, body) }},
		{"signed with no secret", func() *http.Request { return slackSigned("", now, body) }},
		{"body changed after signing", func() *http.Request {
			r := slackSigned(signing, now, body)
			r2 := slackSigned(signing, now, body+"&payload=x")
			r2.Header = r.Header
			return r2
		}},
		{"signature of another timestamp", func() *http.Request {
			r := slackSigned(signing, now, body)
			r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix()-1, 10))
			return r
		}},
		{"stale: six minutes old", func() *http.Request { return slackSigned(signing, now.Add(-6*time.Minute), body) }},
		{"stale: a day old", func() *http.Request { return slackSigned(signing, now.Add(-24*time.Hour), body) }},
		{"from the future: six minutes ahead", func() *http.Request { return slackSigned(signing, now.Add(6*time.Minute), body) }},
		{"timestamp not a number", func() *http.Request {
			r := slackSigned(signing, now, body)
			r.Header.Set("X-Slack-Request-Timestamp", "now")
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := serve(h, tt.req()); code != http.StatusUnauthorized || queue.len() != 0 {
				t.Errorf("status %d, %d jobs queued; want 401 and none", code, queue.len())
			}
		})
	}

	// The press as Slack sends it is queued once; sent again, to the same
	// instance or another one, it is refused.
	if code := serve(h, slackSigned(signing, now, body)); code != http.StatusOK || queue.len() != 1 {
		t.Fatalf("a signed press: status %d, %d jobs queued; want 200 and one", code, queue.len())
	}
	for _, replay := range []struct {
		name string
		h    http.Handler
	}{{"replay", h}, {"replay to another instance", other}} {
		if code := serve(replay.h, slackSigned(signing, now, body)); code != http.StatusUnauthorized || queue.len() != 1 {
			t.Errorf("%s: status %d, %d jobs queued; want 401 and still one", replay.name, code, queue.len())
		}
	}
	if strings.Contains(logs.String(), signing) {
		t.Errorf("the log holds the signing secret:\n%s", logs)
	}
}

// countingProcessor counts the changes an Event Grid endpoint hands on,
// and ignores them.
type countingProcessor struct {
	mu sync.Mutex
	n  int
}

var _ eventgrid.Processor = (*countingProcessor)(nil)

func (p *countingProcessor) Handle(_ context.Context, ch *change.Change) (pipeline.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	return pipeline.Result{Outcome: detect.Outcome{Change: ch, Ignored: filter.Unwatched}}, nil
}

func (p *countingProcessor) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// azureEvent is a resource write in the Event Grid schema, and the same
// delivery as Event Grid's subscription handshake.
const (
	azureEvent = `[{"id":"4db48cba-50a2-455a-93b4-de41a3b5b7f6","topic":"/subscriptions/00000000-1111-2222-3333-444444444444",` +
		`"subject":"/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",` +
		`"eventType":"Microsoft.Resources.ResourceWriteSuccess","eventTime":"2026-11-28T10:00:00Z","dataVersion":"2",` +
		`"data":{"operationName":"Microsoft.Storage/storageAccounts/write","status":"Succeeded"}}]`
	validationCode  = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"
	validationEvent = `[{"id":"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66","topic":"/subscriptions/00000000-1111-2222-3333-444444444444",` +
		`"subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-11-28T10:00:00Z",` +
		`"data":{"validationCode":"` + validationCode + `"},"dataVersion":"2","metadataVersion":"1"}]`
)

// TestEventGridWebhookRefusesWithoutSecret sends the Event Grid webhook
// deliveries and both subscription handshakes without its shared secret,
// with a wrong one, or with the secret where it is not looked for: each
// gets 401, no handshake is answered and nothing is processed. Event Grid
// signs nothing and puts no timestamp on a delivery, so the webhook cannot
// tell a stale or replayed delivery from a fresh one; the pipeline's
// deduplication on the event ID is what stops a replay
// (TestReplayedDeliveryNotifiesOnce).
func TestEventGridWebhookRefusesWithoutSecret(t *testing.T) {
	const path = "/api/eventgrid"
	whSecret := unique("wh-")
	logs := &logBuffer{}
	tests := []struct {
		name   string
		secret string // the webhook's; default whSecret
		req    func() *http.Request
	}{
		{"delivery without a key", "", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, path, strings.NewReader(azureEvent))
		}},
		{"delivery with a wrong key", "", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(azureEvent))
			r.Header.Set(eventgrid.SecretHeader, unique("wh-"))
			return r
		}},
		{"delivery with a wrong key in the query", "", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, path+"?"+eventgrid.SecretQuery+"="+unique("wh-"), strings.NewReader(azureEvent))
		}},
		{"delivery with the key in upper case", "", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(azureEvent))
			r.Header.Set(eventgrid.SecretHeader, strings.ToUpper(whSecret))
			return r
		}},
		{"delivery with the key and more", "", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(azureEvent))
			r.Header.Set(eventgrid.SecretHeader, whSecret+"0")
			return r
		}},
		{"delivery with a prefix of the key", "", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(azureEvent))
			r.Header.Set(eventgrid.SecretHeader, whSecret[:len(whSecret)-1])
			return r
		}},
		{"delivery with the key as a bearer token", "", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(azureEvent))
			r.Header.Set("Authorization", "Bearer "+whSecret)
			return r
		}},
		{"delivery to a webhook with no secret set", "-", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, path+"?"+eventgrid.SecretQuery+"=", strings.NewReader(azureEvent))
			r.Header.Set(eventgrid.SecretHeader, "")
			return r
		}},
		{"validation handshake without a key", "", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(validationEvent))
			r.Header.Set("aeg-event-type", "SubscriptionValidation")
			return r
		}},
		{"CloudEvents abuse-protection handshake without a key", "", func() *http.Request {
			r := httptest.NewRequest(http.MethodOptions, path, nil)
			r.Header.Set("WebHook-Request-Origin", "eventgrid.azure.net")
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := &countingProcessor{}
			s := whSecret
			if tt.secret == "-" {
				s = ""
			}
			wh := &eventgrid.Webhook{Handler: &eventgrid.Handler{Processor: proc, Log: debugLogger(logs)}, Secret: s, Log: debugLogger(logs)}
			w := httptest.NewRecorder()
			wh.ServeHTTP(w, tt.req())
			if w.Code != http.StatusUnauthorized || proc.count() != 0 ||
				w.Header().Get("WebHook-Allowed-Origin") != "" || strings.Contains(w.Body.String(), validationCode) {
				t.Errorf("status %d, %d changes processed, allowed origin %q, body %q; want 401 and nothing",
					w.Code, proc.count(), w.Header().Get("WebHook-Allowed-Origin"), w.Body)
			}
		})
	}
	// The same requests with the key pass, so the refusals above are the
	// key's doing.
	for _, tt := range []struct {
		name string
		req  *http.Request
		want func(w *httptest.ResponseRecorder, processed int) bool
	}{
		{"delivery", httptest.NewRequest(http.MethodPost, path, strings.NewReader(azureEvent)),
			func(w *httptest.ResponseRecorder, n int) bool { return w.Code == http.StatusOK && n == 1 }},
		{"validation handshake", httptest.NewRequest(http.MethodPost, path, strings.NewReader(validationEvent)),
			func(w *httptest.ResponseRecorder, n int) bool {
				return w.Code == http.StatusOK && n == 0 && strings.Contains(w.Body.String(), validationCode)
			}},
	} {
		proc := &countingProcessor{}
		wh := &eventgrid.Webhook{Handler: &eventgrid.Handler{Processor: proc}, Secret: whSecret}
		tt.req.Header.Set(eventgrid.SecretHeader, whSecret)
		w := httptest.NewRecorder()
		wh.ServeHTTP(w, tt.req)
		if !tt.want(w, proc.count()) {
			t.Errorf("%s with the key: status %d, %d changes processed, body %q", tt.name, w.Code, proc.count(), w.Body)
		}
	}
	if strings.Contains(logs.String(), whSecret) {
		t.Errorf("the log holds the webhook secret:\n%s", logs)
	}
}

// TestFunctionsHandlerRefusesNonInvocations sends the Azure Functions
// custom handler requests the Functions host never sends: other methods,
// other paths, bodies that are no invocation. None is processed. The
// custom handler has no authentication of its own: the Functions host
// authenticates the eventGridTrigger (its system key) and forwards
// invocations to the handler's port on the worker.
func TestFunctionsHandlerRefusesNonInvocations(t *testing.T) {
	route := "/" + eventgrid.DefaultFunction
	invocation := `{"Data":{"event":` + strings.Trim(azureEvent, "[]") + `},"Metadata":{}}`
	tests := []struct {
		name       string
		method     string
		path, body string
		want       int
	}{
		{"GET of the function", http.MethodGet, route, invocation, http.StatusMethodNotAllowed},
		{"PUT of the function", http.MethodPut, route, invocation, http.StatusMethodNotAllowed},
		{"POST to another path", http.MethodPost, "/admin", invocation, http.StatusNotFound},
		{"POST to a path below the function", http.MethodPost, route + "/x", invocation, http.StatusNotFound},
		{"not JSON", http.MethodPost, route, "event=" + url.QueryEscape(azureEvent), http.StatusBadRequest},
		{"no Data", http.MethodPost, route, `{"Metadata":{}}`, http.StatusBadRequest},
		{"Data without the event", http.MethodPost, route, `{"Data":{"a":1,"b":2}}`, http.StatusBadRequest},
		{"a null event", http.MethodPost, route, `{"Data":{"event":null}}`, http.StatusBadRequest},
		{"the event without the invocation", http.MethodPost, route, azureEvent, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := &countingProcessor{}
			fn := &eventgrid.Functions{Handler: &eventgrid.Handler{Processor: proc}}
			w := httptest.NewRecorder()
			fn.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if w.Code != tt.want || proc.count() != 0 {
				t.Errorf("status %d, %d changes processed; want %d and none", w.Code, proc.count(), tt.want)
			}
		})
	}
	proc := &countingProcessor{}
	fn := &eventgrid.Functions{Handler: &eventgrid.Handler{Processor: proc}}
	w := httptest.NewRecorder()
	fn.ServeHTTP(w, httptest.NewRequest(http.MethodPost, route, strings.NewReader(invocation)))
	if w.Code != http.StatusOK || proc.count() != 1 {
		t.Errorf("the invocation itself: status %d, %d changes processed; want 200 and one", w.Code, proc.count())
	}
}

// TestReplayedDeliveryNotifiesOnce delivers one real change (a CloudTrail
// record: the Event Grid endpoints decode those too, and the deduplication
// does not depend on the cloud) twice through
// the Event Grid webhook and twice through the custom handler, over the
// real pipeline (moto, a SQLite store, fake Slack): the first delivery
// opens a finding and posts one alert; every replay is answered 200 (the
// sender must stop retrying) and notifies nothing. The endpoints cannot
// tell a replay, so this is the defence: the pipeline skips an event ID it
// has processed, and re-reads the live resource for any other, so a stale
// event cannot report a state that is not there.
func TestReplayedDeliveryNotifiesOnce(t *testing.T) {
	ctx := background(t)
	awsCfg, err := moto.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sl := slackfake.Start(t, "xoxb-replay")
	t.Setenv("DW_SEC_REPLAY_SLACK", "xoxb-replay")
	cfg, err := config.Parse("driftwatch.yaml", fmt.Appendf(nil,
		"store:\n  kind: sqlite\n  path: %q\nslack:\n  mode: bot\n  token: env:DW_SEC_REPLAY_SLACK\n  routing:\n    default: \"#drift\"\nrules:\n  disabled: [%s]\n",
		filepath.Join(t.TempDir(), "findings.db"), strings.Join(otherS3Rules, ", ")))
	if err != nil {
		t.Fatal(err)
	}
	built, err := pipeline.Build(ctx, pipeline.Options{Config: cfg, AWS: awsCfg, S3PathStyle: true,
		Sinks: pipeline.Sinks{Slack: true}, SlackAPIURL: sl.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = built.Close() })
	api := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	record := publicBucket(ctx, t, api, unique("dw-sec-replay-"))

	whSecret := unique("wh-")
	h := &eventgrid.Handler{Processor: built.Pipeline}
	wh := &eventgrid.Webhook{Handler: h, Secret: whSecret}
	fn := &eventgrid.Functions{Handler: h}
	deliveries := []struct {
		name string
		req  func() *http.Request
	}{
		{"webhook", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/api/eventgrid", strings.NewReader(string(record)))
			r.Header.Set(eventgrid.SecretHeader, whSecret)
			return r
		}},
		{"custom handler", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/"+eventgrid.DefaultFunction,
				strings.NewReader(`{"Data":{"event":`+string(record)+`},"Metadata":{}}`))
		}},
	}
	for i, d := range append(deliveries, deliveries...) {
		w := httptest.NewRecorder()
		if d.name == "webhook" {
			wh.ServeHTTP(w, d.req())
		} else {
			fn.ServeHTTP(w, d.req())
		}
		if w.Code != http.StatusOK {
			t.Errorf("delivery %d (%s): status %d, body %q", i+1, d.name, w.Code, w.Body)
		}
		if posts := len(sl.RequestsTo("/api/chat.postMessage")); posts != 1 {
			t.Errorf("after delivery %d (%s): %d Slack posts, want 1", i+1, d.name, posts)
		}
	}
}
