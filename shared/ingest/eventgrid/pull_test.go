package eventgrid_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/aznamespaces"

	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
)

const (
	nsTopic = "changes"
	nsSub   = "driftwatch"
	nsKey   = "namespace-access-key"
)

// nsRequest is one request the fake namespace received.
type nsRequest struct {
	op         string // receive, acknowledge, release, reject
	query      map[string]string
	lockTokens []string
	auth       string
}

// namespace fakes the Event Grid namespace data plane (API 2024-06-01):
// POST /topics/{topic}/eventsubscriptions/{sub}:{op}.
type namespace struct {
	t        *testing.T
	mu       sync.Mutex
	requests []nsRequest
	// receives answers successive receives: a status and a body; once
	// exhausted, receives return no events.
	receives []nsAnswer
	// refuse lists lock tokens every settle reports as failed.
	refuse map[string]bool
}

type nsAnswer struct {
	status int
	body   string
}

func (n *namespace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/topics/" + nsTopic + "/eventsubscriptions/" + nsSub + ":"
	op, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || r.Method != http.MethodPost {
		n.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	req := nsRequest{op: op, query: map[string]string{}, auth: r.Header.Get("Authorization")}
	for k, v := range r.URL.Query() {
		req.query[k] = v[0]
	}
	if op != "receive" {
		var body struct {
			LockTokens []string `json:"lockTokens"`
		}
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil || r.Header.Get("Content-Type") != "application/json" {
			n.t.Errorf("%s body %q (%v)", op, raw, err)
		}
		req.lockTokens = body.LockTokens
	}
	n.mu.Lock()
	n.requests = append(n.requests, req)
	var ans nsAnswer
	if op == "receive" {
		ans = nsAnswer{200, `{"value":[]}`}
		if len(n.receives) > 0 {
			ans, n.receives = n.receives[0], n.receives[1:]
		}
	} else {
		res := map[string]any{"succeededLockTokens": []string{}, "failedLockTokens": []any{}}
		var ok []string
		var failed []any
		for _, tok := range req.lockTokens {
			if n.refuse[tok] {
				failed = append(failed, map[string]any{"lockToken": tok, "error": map[string]any{"code": "TokenLost", "message": "lock expired"}})
			} else {
				ok = append(ok, tok)
			}
		}
		if ok != nil {
			res["succeededLockTokens"] = ok
		}
		if failed != nil {
			res["failedLockTokens"] = failed
		}
		b, _ := json.Marshal(res)
		ans = nsAnswer{200, string(b)}
	}
	n.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ans.status)
	_, _ = io.WriteString(w, ans.body)
}

func (n *namespace) got() []nsRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.requests)
}

// detail is one received event: its broker properties and the event.
func detail(token string, count int, event map[string]any) map[string]any {
	return map[string]any{"brokerProperties": map[string]any{"lockToken": token, "deliveryCount": count}, "event": event}
}

func receiveBody(t *testing.T, details ...map[string]any) string {
	return string(mustJSON(t, map[string]any{"value": details}))
}

func newPuller(t *testing.T, ns *namespace, proc *fakeProcessor) *eventgrid.Puller {
	t.Helper()
	srv := httptest.NewTLSServer(ns)
	t.Cleanup(srv.Close)
	client, err := aznamespaces.NewReceiverClientWithSharedKeyCredential(srv.URL, nsTopic, nsSub, azcore.NewKeyCredential(nsKey),
		&aznamespaces.ReceiverClientOptions{ClientOptions: azcore.ClientOptions{
			Transport: srv.Client(),
			Retry:     policy.RetryOptions{MaxRetries: -1},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return eventgrid.NewPuller(client, &eventgrid.Handler{Processor: proc}, eventgrid.PullOptions{MaxEvents: 20, MaxWait: 30 * time.Second})
}

func TestPullSettlesEachEvent(t *testing.T) {
	ns := &namespace{t: t, refuse: map[string]bool{"lost-tok": true}}
	ns.receives = []nsAnswer{{200, receiveBody(t,
		detail("ok-tok", 1, cloudEvent("a")),
		detail("ign-tok", 1, cloudEvent("ignored-1")),
		detail("retry1-tok", 1, cloudEvent("readerr-1")),
		detail("retry3-tok", 3, cloudEvent("readerr-2")),
		detail("retry9-tok", 9, cloudEvent("readerr-3")),
		detail("bad-tok", 1, cloudEvent("noid-1")),
		detail("blob-tok", 1, map[string]any{"specversion": "1.0", "id": "blob-1", "source": "/x", "type": "Microsoft.Storage.BlobCreated", "data": map[string]any{}}),
		detail("lost-tok", 1, cloudEvent("b")),
	)}}
	proc := &fakeProcessor{outcome: byID}
	p := newPuller(t, ns, proc)
	s, err := p.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (eventgrid.Settled{Acknowledged: 2, Released: 3, Rejected: 2, LockLost: 1}); s != want {
		t.Errorf("settled %+v, want %+v", s, want)
	}
	if got, want := proc.saw(), []string{"a", "ignored-1", "readerr-1", "readerr-2", "readerr-3", "noid-1", "b"}; !slices.Equal(got, want) {
		t.Errorf("processed %v, want %v (the blob event must not reach the pipeline)", got, want)
	}

	reqs := ns.got()
	var ops []string
	for _, r := range reqs {
		ops = append(ops, r.op)
		if r.auth != "SharedAccessKey "+nsKey {
			t.Errorf("%s: Authorization %q", r.op, r.auth)
		}
		if r.query["api-version"] != "2024-06-01" {
			t.Errorf("%s: api-version %q", r.op, r.query["api-version"])
		}
	}
	if want := []string{"receive", "acknowledge", "reject", "release", "release", "release"}; !slices.Equal(ops, want) {
		t.Fatalf("requests %v, want %v", ops, want)
	}
	if r := reqs[0]; r.query["maxEvents"] != "20" || r.query["maxWaitTime"] != "30" {
		t.Errorf("receive query %v", r.query)
	}
	if r := reqs[1]; !slices.Equal(r.lockTokens, []string{"ok-tok", "ign-tok", "lost-tok"}) {
		t.Errorf("acknowledged %v", r.lockTokens)
	}
	if r := reqs[2]; !slices.Equal(r.lockTokens, []string{"bad-tok", "blob-tok"}) {
		t.Errorf("rejected %v", r.lockTokens)
	}
	released := map[string][]string{}
	for _, r := range reqs[3:] {
		released[r.query["releaseDelayInSeconds"]] = r.lockTokens
	}
	want := map[string][]string{"10": {"retry1-tok"}, "600": {"retry3-tok"}, "3600": {"retry9-tok"}}
	if len(released) != len(want) {
		t.Fatalf("released %v, want %v", released, want)
	}
	for delay, toks := range want {
		if !slices.Equal(released[delay], toks) {
			t.Errorf("released after %ss: %v, want %v", delay, released[delay], toks)
		}
	}
}

func TestPullEmptyBatch(t *testing.T) {
	ns := &namespace{t: t}
	proc := &fakeProcessor{outcome: byID}
	s, err := newPuller(t, ns, proc).Once(context.Background())
	if err != nil || s != (eventgrid.Settled{}) {
		t.Fatalf("settled %+v, %v", s, err)
	}
	if reqs := ns.got(); len(reqs) != 1 || reqs[0].op != "receive" {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestPullRunStopsOnFatalReceive(t *testing.T) {
	ns := &namespace{t: t, receives: []nsAnswer{
		{200, receiveBody(t, detail("ok-tok", 1, cloudEvent("a")))},
		{500, `{"error":{"code":"InternalServerError","message":"try again"}}`},
		{403, `{"error":{"code":"Unauthorized","message":"no role"}}`},
	}}
	proc := &fakeProcessor{outcome: byID}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := newPuller(t, ns, proc).Run(ctx)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 403 {
		t.Fatalf("Run returned %v, want the 403", err)
	}
	var ops []string
	for _, r := range ns.got() {
		ops = append(ops, r.op)
	}
	// The 500 is retried (after a 1 s backoff); the 403 ends the run.
	if want := []string{"receive", "acknowledge", "receive", "receive"}; !slices.Equal(ops, want) {
		t.Fatalf("requests %v, want %v", ops, want)
	}
	if got := proc.saw(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("processed %v", got)
	}
}

func TestPullRunStopsWithContext(t *testing.T) {
	ns := &namespace{t: t}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newPuller(t, ns, &fakeProcessor{outcome: byID}).Run(ctx); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestPullSettleFailureIsReported(t *testing.T) {
	ns := &namespace{t: t, receives: []nsAnswer{{200, receiveBody(t, detail("ok-tok", 1, cloudEvent("a")))}}}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ":acknowledge") {
			http.Error(w, `{"error":{"code":"ServiceUnavailable","message":"later"}}`, http.StatusServiceUnavailable)
			return
		}
		ns.ServeHTTP(w, r)
	}))
	defer srv.Close()
	client, err := aznamespaces.NewReceiverClientWithSharedKeyCredential(srv.URL, nsTopic, nsSub, azcore.NewKeyCredential(nsKey),
		&aznamespaces.ReceiverClientOptions{ClientOptions: azcore.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	p := eventgrid.NewPuller(client, &eventgrid.Handler{Processor: &fakeProcessor{outcome: byID}}, eventgrid.PullOptions{})
	s, err := p.Once(context.Background())
	if err == nil || !strings.Contains(err.Error(), "acknowledge 1 event(s)") || s.Acknowledged != 0 {
		t.Fatalf("settled %+v, error %v", s, err)
	}
	// Defaults: 10 events, 60 s.
	if r := ns.got()[0]; r.query["maxEvents"] != "10" || r.query["maxWaitTime"] != "60" {
		t.Fatalf("receive query %v", r.query)
	}
}
