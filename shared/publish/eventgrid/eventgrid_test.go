package eventgrid

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"github.com/driftwatch/driftwatch/shared/finding"
	dwpolicy "github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/publish"
	"github.com/driftwatch/driftwatch/shared/resource"
)

const topicKey = "dGVzdC10b3BpYy1rZXk="

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

var account = resource.Ref{
	Type:    "Microsoft.Storage/storageAccounts",
	ID:      "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1",
	Account: "00000000-0000-0000-0000-000000000001", Region: "westeurope",
}

func sampleFinding() *finding.Finding {
	key := finding.Key{Cloud: "azure", Account: account.Account, ResourceID: account.ID, RuleID: "azure-storage-public-blob-access"}
	ch := finding.Change{
		EventID: "5b8f0d6e-0000-4000-8000-000000000001", Time: t0, PrincipalARN: "alice@example.com", PrincipalType: "User",
		SourceIP: "198.51.100.7", Service: "Microsoft.Storage", Operation: "Microsoft.Storage/storageAccounts/write",
	}
	return &finding.Finding{
		Key: key, Cloud: "azure", Account: key.Account, Region: "westeurope", Resource: account, RuleID: key.RuleID,
		Severity: "high", Title: "Storage account allows public blob access", Status: finding.StatusOpen,
		Message: "allowBlobPublicAccess is true <script>", FirstSeen: t0, LastSeen: t0, CheckedAt: t0, Count: 1, Occurrence: 1,
		Change: ch, OpenedBy: ch, Tickets: map[string]string{"jira": "SEC-7"},
	}
}

func notice(kind finding.Kind, seq int64) finding.Notice {
	return finding.Notice{Seq: seq, Kind: kind, Occurrence: 1, Change: sampleFinding().Change, Message: "public", At: t0.Add(3 * time.Second)}
}

// topic is an Event Grid topic endpoint: it checks what the Event Grid
// documentation requires of a CloudEvents publish (POST, api-version, the
// key header, the batch content type, a JSON array of CloudEvents 1.0) and
// records the events.
type topic struct {
	t      *testing.T
	mu     sync.Mutex
	auth   func(r *http.Request) bool
	status int // answer (default 200)
	bodies [][]byte
	events []map[string]json.RawMessage
}

func (tp *topic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		tp.t.Errorf("read body: %v", err)
	}
	problems := []string{}
	if r.Method != http.MethodPost {
		problems = append(problems, "method "+r.Method)
	}
	if r.URL.Path != "/api/events" {
		problems = append(problems, "path "+r.URL.Path)
	}
	if v := r.URL.Query().Get("api-version"); v != "2018-01-01" {
		problems = append(problems, "api-version "+v)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/cloudevents-batch+json; charset=utf-8" {
		problems = append(problems, "content type "+ct)
	}
	if !tp.auth(r) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"code":"Unauthorized","message":"The request authorization key is not authorized"}}`)
		return
	}
	var events []map[string]json.RawMessage
	if err := json.Unmarshal(body, &events); err != nil {
		problems = append(problems, "body is not a JSON array of objects: "+err.Error())
	}
	if len(problems) > 0 {
		tp.t.Errorf("bad publish request: %s", strings.Join(problems, "; "))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	tp.mu.Lock()
	tp.bodies = append(tp.bodies, body)
	tp.events = append(tp.events, events...)
	status := tp.status
	tp.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	if status != http.StatusOK {
		_, _ = io.WriteString(w, `{"error":{"code":"PayloadTooLarge","message":"too large"}}`)
	}
}

func keyAuth(r *http.Request) bool { return r.Header.Get("aeg-sas-key") == topicKey }

// start serves tp over TLS (the key and bearer policies refuse plain HTTP)
// and returns client options that trust it and do not retry.
func start(t *testing.T, tp *topic) (string, *azcore.ClientOptions) {
	t.Helper()
	tp.t = t
	srv := httptest.NewTLSServer(tp)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/events", &azcore.ClientOptions{
		Transport: srv.Client(),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

func TestOpenedSendsCloudEvent(t *testing.T) {
	tp := &topic{auth: keyAuth}
	endpoint, co := start(t, tp)
	rules := func(id string) *dwpolicy.Rule {
		r := &dwpolicy.Rule{ID: id}
		r.References.CIS = []string{"3.7"}
		return r
	}
	p, err := NewWithKey(endpoint, topicKey, co, Options{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	f := sampleFinding()
	refs, err := p.Opened(context.Background(), f, notice(finding.Opened, 4))
	if err != nil {
		t.Fatalf("Opened: %v", err)
	}
	if refs.SlackTS != "" || len(refs.Tickets) != 0 {
		t.Errorf("refs = %+v, want none", refs)
	}
	if len(tp.events) != 1 {
		t.Fatalf("%d events received, want 1", len(tp.events))
	}
	ev := tp.events[0]
	str := func(k string) string {
		var s string
		if err := json.Unmarshal(ev[k], &s); err != nil {
			t.Errorf("attribute %s = %s: %v", k, ev[k], err)
		}
		return s
	}
	want := map[string]string{
		"specversion": "1.0", "type": "driftwatch.finding", "source": "driftwatch", "subject": account.ID,
		"id": f.Key.Label() + "-4", "datacontenttype": "application/json", "time": "2025-03-01T12:00:03Z",
	}
	for k, v := range want {
		if got := str(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if _, ok := ev["data_base64"]; ok {
		t.Error("data sent as data_base64, want a JSON object in data")
	}
	var data publish.FindingEvent
	if err := json.Unmarshal(ev["data"], &data); err != nil {
		t.Fatalf("data: %v", err)
	}
	wantData := publish.NewEvent(f, notice(finding.Opened, 4), rules(f.RuleID))
	if !equalJSON(t, data, wantData) {
		t.Errorf("data = %+v\nwant %+v", data, wantData)
	}
	if data.Transition != publish.TransitionOpened || data.Tickets["jira"] != "SEC-7" || len(data.CIS) != 1 {
		t.Errorf("data transition %q tickets %v cis %v", data.Transition, data.Tickets, data.CIS)
	}
	// The SDK's own parser reads the event back.
	var ce []messaging.CloudEvent
	if err := json.Unmarshal(tp.bodies[0], &ce); err != nil || len(ce) != 1 || ce[0].Type != EventType {
		t.Errorf("messaging.CloudEvent parse = %+v, %v", ce, err)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return string(ja) == string(jb)
}

func TestTransitions(t *testing.T) {
	tests := []struct {
		name       string
		call       func(p *Publisher, f *finding.Finding) error
		transition string
		status     string
	}{
		{"repeated", func(p *Publisher, f *finding.Finding) error {
			_, err := p.Repeated(context.Background(), f, notice(finding.RepeatedNewPrincipal, 5))
			return err
		}, publish.TransitionRepeated, "open"},
		{"resolved", func(p *Publisher, f *finding.Finding) error {
			n := notice(finding.Resolved, 6)
			n.Reason = finding.ReasonDeleted
			_, err := p.Resolved(context.Background(), f, n)
			return err
		}, publish.TransitionResolved, "resolved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp := &topic{auth: keyAuth}
			endpoint, co := start(t, tp)
			p, err := NewWithKey(endpoint, topicKey, co, Options{Source: "driftwatch-prod"})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.call(p, sampleFinding()); err != nil {
				t.Fatal(err)
			}
			if len(tp.events) != 1 {
				t.Fatalf("%d events, want 1", len(tp.events))
			}
			var data publish.FindingEvent
			if err := json.Unmarshal(tp.events[0]["data"], &data); err != nil {
				t.Fatal(err)
			}
			if data.Transition != tc.transition || data.Status != tc.status {
				t.Errorf("transition %q status %q, want %q %q", data.Transition, data.Status, tc.transition, tc.status)
			}
			if string(tp.events[0]["source"]) != `"driftwatch-prod"` {
				t.Errorf("source = %s", tp.events[0]["source"])
			}
		})
	}
}

func TestWrongKeyFails(t *testing.T) {
	tp := &topic{auth: keyAuth}
	endpoint, co := start(t, tp)
	p, err := NewWithKey(endpoint, "wrong", co, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Opened(context.Background(), sampleFinding(), notice(finding.Opened, 1))
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Opened with a wrong key = %v, want a 401 response error", err)
	}
	if !strings.Contains(err.Error(), sampleFinding().Key.String()) {
		t.Errorf("error %q does not name the finding", err)
	}
}

func TestEntraToken(t *testing.T) {
	tp := &topic{auth: func(r *http.Request) bool {
		return strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") && r.Header.Get("aeg-sas-key") == ""
	}}
	endpoint, co := start(t, tp)
	p, err := NewWithCredential(endpoint, &azfake.TokenCredential{}, co, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Opened(context.Background(), sampleFinding(), notice(finding.Opened, 1)); err != nil {
		t.Fatalf("Opened with a token: %v", err)
	}
	if len(tp.events) != 1 {
		t.Errorf("%d events, want 1", len(tp.events))
	}
}

func TestBatchesAndTruncation(t *testing.T) {
	tp := &topic{auth: keyAuth}
	endpoint, co := start(t, tp)
	p, err := NewWithKey(endpoint, topicKey, co, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var events []publish.FindingEvent
	for i := range 5 {
		f := sampleFinding()
		f.Key.ResourceID += string(rune('a' + i))
		n := notice(finding.Opened, 1)
		n.Message = strings.Repeat("é<", 50_000) // 400 KB of JSON (2 bytes for é, 6 for \u003c): two fit a request
		events = append(events, p.Event(f, n))
	}
	huge := p.Event(sampleFinding(), notice(finding.Opened, 2))
	huge.Message = strings.Repeat("x", 3_000_000)
	events = append(events, huge)
	if err := p.Publish(context.Background(), events...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if len(tp.events) != 6 {
		t.Fatalf("%d events received, want 6", len(tp.events))
	}
	if len(tp.bodies) < 3 {
		t.Errorf("%d requests for 6 events of up to 1 MB, want at least 3", len(tp.bodies))
	}
	for i, b := range tp.bodies {
		if len(b) > maxBatchSize {
			t.Errorf("request %d is %d bytes, over %d", i, len(b), maxBatchSize)
		}
	}
	var last publish.FindingEvent
	if err := json.Unmarshal(tp.events[5]["data"], &last); err != nil {
		t.Fatal(err)
	}
	if !last.MessageTruncated || !strings.HasSuffix(last.Message, truncMark) || len(last.Message) > maxEventSize {
		t.Errorf("huge message: truncated %v, %d bytes", last.MessageTruncated, len(last.Message))
	}
	var first publish.FindingEvent
	if err := json.Unmarshal(tp.events[0]["data"], &first); err != nil {
		t.Fatal(err)
	}
	if first.MessageTruncated || first.Message != events[0].Message {
		t.Error("a message that fits was changed")
	}
}

func TestRefusedRequest(t *testing.T) {
	tp := &topic{auth: keyAuth, status: http.StatusRequestEntityTooLarge}
	endpoint, co := start(t, tp)
	p, err := NewWithKey(endpoint, topicKey, co, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Publish(context.Background(), p.Event(sampleFinding(), notice(finding.Opened, 1)))
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("Publish answered 413 = %v", err)
	}
}

// fakePublisher records calls, for the batching arithmetic without HTTP.
type fakePublisher struct {
	calls [][]messaging.CloudEvent
	err   error
}

var _ publishAPI = (*fakePublisher)(nil)

func (f *fakePublisher) PublishCloudEvents(_ context.Context, evs []messaging.CloudEvent, _ *azeventgrid.PublishCloudEventsOptions) (azeventgrid.PublishCloudEventsResponse, error) {
	f.calls = append(f.calls, evs)
	return azeventgrid.PublishCloudEventsResponse{}, f.err
}

func TestPublishManySmallEventsInOneRequest(t *testing.T) {
	fp := &fakePublisher{}
	p := New(fp, Options{})
	var events []publish.FindingEvent
	for i := range 50 {
		events = append(events, p.Event(sampleFinding(), notice(finding.Opened, int64(i))))
	}
	if err := p.Publish(context.Background(), events...); err != nil {
		t.Fatal(err)
	}
	if len(fp.calls) != 1 || len(fp.calls[0]) != 50 {
		t.Errorf("calls = %d (first with %d events), want one with 50", len(fp.calls), len(fp.calls[0]))
	}
	if p.Name() != "eventgrid" {
		t.Errorf("Name = %q", p.Name())
	}
}
