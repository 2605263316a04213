package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/slack/slackfake"
)

const testToken = "xoxb-0000-test-token"

// botNotifier returns a bot-token Notifier talking to a fake Slack.
func botNotifier(t *testing.T, srv *slackfake.Server, mod ...func(*Config)) *Notifier {
	t.Helper()
	cfg := Config{
		BotToken: secret.New(testToken),
		APIURL:   srv.APIURL(),
		Routing: Routing{Default: "#drift", Routes: []Route{
			{MinSeverity: "critical", Channel: "#oncall"},
			{Accounts: []string{"999999999999"}, Channel: "#sandbox"},
		}},
		RuleInfo: func(string) (string, []string) { return "", []string{"2.1.4"} },
		Request:  func(finding.Change) any { return sampleRequest() },
		Retry:    Retry{Backoff: time.Millisecond},
	}
	for _, m := range mod {
		m(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

// blockTypes returns the block types of a blocks argument.
func blockTypes(t *testing.T, blocks json.RawMessage) []string {
	t.Helper()
	var bs []struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		t.Fatalf("blocks are not a JSON array of blocks: %v: %s", err, blocks)
	}
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Type
	}
	return out
}

// newRequests returns the requests after the first n.
func newRequests(srv *slackfake.Server, n int) []slackfake.Request {
	return srv.Requests()[n:]
}

func TestBotModeLifecycle(t *testing.T) {
	ctx := context.Background()
	srv := slackfake.Start(t, testToken)
	n := botNotifier(t, srv)
	f := sampleFinding()

	// Opened: one post to the routed channel, not in a thread.
	refs, err := n.Opened(ctx, f, finding.Notice{Seq: 1, Kind: finding.Opened, Occurrence: 1, Change: f.OpenedBy, Message: f.Message, At: t0})
	if err != nil {
		t.Fatalf("Opened: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("Opened sent %d requests, want 1", len(reqs))
	}
	post := reqs[0]
	if post.Method != http.MethodPost || post.Path != "/api/chat.postMessage" {
		t.Errorf("Opened sent %s %s, want POST /api/chat.postMessage", post.Method, post.Path)
	}
	if post.Token != testToken {
		t.Errorf("token %q arrived, want the bot token", post.Token)
	}
	if post.Channel != "#drift" || post.ThreadTS != "" {
		t.Errorf("posted to channel %q thread %q, want #drift and no thread", post.Channel, post.ThreadTS)
	}
	if got := blockTypes(t, post.Blocks); strings.Join(got, ",") != "header,section,section,section,section,context,actions" {
		t.Errorf("alert blocks %v", got)
	}
	if !strings.Contains(post.Text, "S3 bucket policy allows public access") {
		t.Errorf("notification text %q lacks the title", post.Text)
	}
	if post.Form.Get("unfurl_links") != "false" || post.Form.Get("unfurl_media") != "false" || post.Form.Get("link_names") != "false" {
		t.Errorf("unfurling or name linking not turned off: %v", post.Form)
	}
	wantRefs := finding.Refs{SlackChannel: slackfake.ChannelID("#drift"), SlackTS: srv.TopLevel()[0].TS}
	if refs.SlackChannel != wantRefs.SlackChannel || refs.SlackTS != wantRefs.SlackTS || refs.SlackTS == "" {
		t.Fatalf("Opened returned %+v, want %+v", refs, wantRefs)
	}
	f.SlackChannel, f.SlackTS = refs.SlackChannel, refs.SlackTS

	// Repeated by the same principal: the alert is updated, no reply.
	f.Count, f.LastSeen = 2, t0.Add(time.Minute)
	before := len(srv.Requests())
	if _, err := n.Repeated(ctx, f, finding.Notice{Seq: 2, Kind: finding.Repeated, Occurrence: 1, Change: f.OpenedBy, At: f.LastSeen}); err != nil {
		t.Fatalf("Repeated: %v", err)
	}
	got := newRequests(srv, before)
	if len(got) != 1 || got[0].Path != "/api/chat.update" {
		t.Fatalf("Repeated sent %+v, want one chat.update", got)
	}
	if got[0].Channel != refs.SlackChannel || got[0].TS != refs.SlackTS || got[0].Token != testToken {
		t.Errorf("update of channel %q ts %q (token ok: %v), want %q %q", got[0].Channel, got[0].TS, got[0].Token == testToken, refs.SlackChannel, refs.SlackTS)
	}
	if !bytes.Contains(got[0].Blocks, []byte("Seen 2 times")) {
		t.Errorf("updated alert does not show the count: %s", got[0].Blocks)
	}

	// Repeated by a different principal: update, then a thread reply.
	bob := sampleChange()
	bob.EventID, bob.PrincipalARN, bob.Time = "e-bob", "arn:aws:iam::123456789012:user/bob", t0.Add(2*time.Minute)
	f.Count, f.Change, f.LastSeen = 3, bob, bob.Time
	before = len(srv.Requests())
	r2, err := n.Repeated(ctx, f, finding.Notice{Seq: 3, Kind: finding.RepeatedNewPrincipal, Occurrence: 1, Change: bob, Message: f.Message, At: bob.Time})
	if err != nil {
		t.Fatalf("Repeated (new principal): %v", err)
	}
	if r2.SlackTS != refs.SlackTS {
		t.Errorf("Repeated returned refs %+v, want the alert's", r2)
	}
	got = newRequests(srv, before)
	if len(got) != 2 || got[0].Path != "/api/chat.update" || got[1].Path != "/api/chat.postMessage" {
		t.Fatalf("Repeated (new principal) sent %d requests %+v, want update then post", len(got), got)
	}
	if got[1].ThreadTS != refs.SlackTS || got[1].Channel != refs.SlackChannel {
		t.Errorf("reply went to channel %q thread %q, want %q %q", got[1].Channel, got[1].ThreadTS, refs.SlackChannel, refs.SlackTS)
	}
	if !bytes.Contains(got[1].Blocks, []byte("user/bob")) || !bytes.Contains(got[1].Blocks, []byte("different principal")) {
		t.Errorf("reply does not name the new principal: %s", got[1].Blocks)
	}

	// Resolved: the alert is replaced without buttons, and a reply.
	before = len(srv.Requests())
	if _, err := n.Resolved(ctx, f, finding.Notice{Seq: 4, Kind: finding.Resolved, Occurrence: 1, Reason: finding.ReasonFixed, Change: bob, At: t0.Add(time.Hour)}); err != nil {
		t.Fatalf("Resolved: %v", err)
	}
	got = newRequests(srv, before)
	if len(got) != 2 || got[0].Path != "/api/chat.update" || got[1].Path != "/api/chat.postMessage" {
		t.Fatalf("Resolved sent %+v, want update then post", got)
	}
	if types := blockTypes(t, got[0].Blocks); strings.Contains(strings.Join(types, ","), "actions") {
		t.Errorf("resolved alert keeps its buttons: %v", types)
	}
	if !bytes.Contains(got[0].Blocks, []byte("RESOLVED (fixed)")) {
		t.Errorf("resolved alert does not say so: %s", got[0].Blocks)
	}
	if got[1].ThreadTS != refs.SlackTS {
		t.Errorf("resolution reply in thread %q, want %q", got[1].ThreadTS, refs.SlackTS)
	}

	// The channel holds one alert, updated three times, with two replies.
	top := srv.TopLevel()
	if len(top) != 1 || top[0].Updates != 3 {
		t.Fatalf("top-level messages %+v, want one updated 3 times", top)
	}
	if replies := srv.Thread(refs.SlackChannel, refs.SlackTS); len(replies) != 2 {
		t.Errorf("thread has %d replies, want 2", len(replies))
	}
}

func TestBotModeRouting(t *testing.T) {
	tests := []struct {
		name     string
		severity string
		account  string
		want     string
	}{
		{"critical goes to oncall", "critical", "123456789012", "#oncall"},
		{"sandbox account", "high", "999999999999", "#sandbox"},
		{"default", "high", "123456789012", "#drift"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slackfake.Start(t, testToken)
			n := botNotifier(t, srv)
			f := sampleFinding()
			f.Severity, f.Account = tt.severity, tt.account
			if _, err := n.Opened(context.Background(), f, finding.Notice{Kind: finding.Opened, Occurrence: 1, Change: f.OpenedBy, At: t0}); err != nil {
				t.Fatal(err)
			}
			if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].Channel != tt.want {
				t.Errorf("posted %+v, want one post to %s", reqs, tt.want)
			}
		})
	}
}

func TestBotModeAlertGone(t *testing.T) {
	ctx := context.Background()
	srv := slackfake.Start(t, testToken)
	n := botNotifier(t, srv)
	f := sampleFinding()
	f.SlackChannel, f.SlackTS = slackfake.ChannelID("#drift"), "1600000000.000001" // deleted by someone
	refs, err := n.Resolved(ctx, f, finding.Notice{Kind: finding.Resolved, Occurrence: 1, Reason: finding.ReasonFixed, At: t0})
	if err != nil {
		t.Fatalf("Resolved: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/api/chat.update" || reqs[1].Path != "/api/chat.postMessage" || reqs[1].ThreadTS != "" {
		t.Fatalf("requests %+v, want a failed update then a new top-level post", reqs)
	}
	if refs.SlackTS == "" || refs.SlackTS == f.SlackTS {
		t.Errorf("refs %+v, want the new post's", refs)
	}
}

func TestBotModeNeverPosted(t *testing.T) {
	// A finding opened before Slack was configured gets its alert on the
	// first repeat.
	srv := slackfake.Start(t, testToken)
	n := botNotifier(t, srv)
	f := sampleFinding()
	refs, err := n.Repeated(context.Background(), f, finding.Notice{Kind: finding.Repeated, Occurrence: 1, Change: f.OpenedBy, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/api/chat.postMessage" || reqs[0].ThreadTS != "" || refs.SlackTS == "" {
		t.Errorf("requests %+v refs %+v, want one new alert", reqs, refs)
	}
}

// TestBotModeNote: a note is a reply in the alert's thread, broadcast when
// it asks for a high alert, and never an update of the alert.
func TestBotModeNote(t *testing.T) {
	const note = "would revert aws-s3-bucket-policy-public on arn:aws:s3:::acme-logs with s3-remove-public-policy-statements\n  s3:PutBucketPolicy {\"Bucket\":\"acme-logs\"}"
	tests := []struct {
		name      string
		severity  string
		ts        string // the alert's ts: "" never posted, "gone" deleted
		thread    bool
		broadcast bool
	}{
		{"plain note", "", "alert", true, false},
		{"flapping: high", "high", "alert", true, true},
		{"medium severity is not broadcast", "medium", "alert", true, false},
		{"no alert in Slack", "", "", false, false},
		{"alert deleted", "high", "gone", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			srv := slackfake.Start(t, testToken)
			n := botNotifier(t, srv)
			f := sampleFinding()
			switch tc.ts {
			case "alert":
				refs, err := n.Opened(ctx, f, finding.Notice{Kind: finding.Opened, Occurrence: 1, Change: f.OpenedBy, At: t0})
				if err != nil {
					t.Fatal(err)
				}
				f.SlackChannel, f.SlackTS = refs.SlackChannel, refs.SlackTS
			case "gone":
				f.SlackChannel, f.SlackTS = slackfake.ChannelID("#drift"), "1600000000.000001"
			}
			before, kept := len(srv.Requests()), len(srv.Messages())
			refs, err := n.Repeated(ctx, f, finding.Notice{Kind: finding.Noted, Occurrence: 1, Note: note, Severity: tc.severity, At: t0})
			if err != nil {
				t.Fatalf("note: %v", err)
			}
			var last slackfake.Request
			for _, r := range newRequests(srv, before) {
				if r.Path == "/api/chat.update" {
					t.Errorf("a note updated the alert")
				}
				last = r
			}
			posted := srv.Messages()[kept:]
			if len(posted) != 1 || last.Path != "/api/chat.postMessage" {
				t.Fatalf("%d messages posted, last call %s; want 1 post", len(posted), last.Path)
			}
			p := posted[0]
			if got := p.ThreadTS != ""; got != tc.thread || (tc.thread && p.ThreadTS != f.SlackTS) {
				t.Errorf("thread_ts %q, want a thread reply: %v", p.ThreadTS, tc.thread)
			}
			if got := last.Form.Get("reply_broadcast") == "true"; got != tc.broadcast {
				t.Errorf("reply_broadcast %q, want broadcast %v", last.Form.Get("reply_broadcast"), tc.broadcast)
			}
			if !bytes.Contains(p.Blocks, []byte("s3:PutBucketPolicy")) || !strings.Contains(p.Text, "would revert") {
				t.Errorf("the post lacks the note: %q %s", p.Text, p.Blocks)
			}
			if refs.SlackTS != f.SlackTS || refs.SlackChannel != f.SlackChannel {
				t.Errorf("refs %+v: a note must not become the finding's alert (%q)", refs, f.SlackTS)
			}
		})
	}
}

func TestWebhookMode(t *testing.T) {
	ctx := context.Background()
	srv := slackfake.Start(t, "")
	n, err := New(Config{WebhookURL: secret.New(srv.WebhookURL())})
	if err != nil {
		t.Fatal(err)
	}
	if n.Mode() != ModeWebhook {
		t.Fatalf("mode %s", n.Mode())
	}
	f := sampleFinding()
	bob := sampleChange()
	bob.PrincipalARN = "arn:aws:iam::123456789012:user/bob"
	steps := []struct {
		name  string
		call  func() (finding.Refs, error)
		posts int
		want  string
	}{
		{"opened", func() (finding.Refs, error) {
			return n.Opened(ctx, f, finding.Notice{Kind: finding.Opened, Occurrence: 1, Change: f.OpenedBy, At: t0})
		}, 1, "driftwatch_revert"},
		{"repeated by the same principal", func() (finding.Refs, error) {
			return n.Repeated(ctx, f, finding.Notice{Kind: finding.Repeated, Occurrence: 1, Change: f.OpenedBy, At: t0})
		}, 0, ""},
		{"repeated by another principal", func() (finding.Refs, error) {
			return n.Repeated(ctx, f, finding.Notice{Kind: finding.RepeatedNewPrincipal, Occurrence: 1, Change: bob, At: t0})
		}, 1, "user/bob"},
		{"resolved", func() (finding.Refs, error) {
			return n.Resolved(ctx, f, finding.Notice{Kind: finding.Resolved, Occurrence: 1, Reason: finding.ReasonDeleted, At: t0})
		}, 1, "RESOLVED (deleted)"},
		{"noted", func() (finding.Refs, error) {
			return n.Repeated(ctx, f, finding.Notice{Kind: finding.Noted, Occurrence: 1, Note: "reverted it", At: t0})
		}, 1, "reverted it"},
	}
	for _, st := range steps {
		before := len(srv.Requests())
		refs, err := st.call()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if refs.SlackTS != "" || refs.SlackChannel != "" {
			t.Errorf("%s: refs %+v, want none in webhook mode", st.name, refs)
		}
		got := newRequests(srv, before)
		if len(got) != st.posts {
			t.Fatalf("%s: %d requests, want %d", st.name, len(got), st.posts)
		}
		for _, r := range got {
			if r.Method != http.MethodPost || r.Path != "/webhook" || !strings.HasPrefix(r.ContentType, "application/json") {
				t.Errorf("%s: %s %s (%s), want a JSON POST to the webhook", st.name, r.Method, r.Path, r.ContentType)
			}
			if r.Authorization != "" {
				t.Errorf("%s: webhook post carries an Authorization header", st.name)
			}
			if len(r.Blocks) == 0 || !bytes.Contains(r.Blocks, []byte(st.want)) {
				t.Errorf("%s: blocks lack %q: %s", st.name, st.want, r.Blocks)
			}
			if !bytes.Contains(r.Body, []byte(`"unfurl_links":false`)) {
				t.Errorf("%s: link unfurling not turned off: %s", st.name, r.Body)
			}
		}
	}
}

func TestRateLimited(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		webhook bool
	}{
		{"web API", "/api/chat.postMessage", false},
		{"webhook", "/webhook", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slackfake.Start(t, testToken)
			srv.Fail(tt.path, slackfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: "1"})
			var n *Notifier
			if tt.webhook {
				var err error
				if n, err = New(Config{WebhookURL: secret.New(srv.WebhookURL())}); err != nil {
					t.Fatal(err)
				}
			} else {
				n = botNotifier(t, srv)
			}
			f := sampleFinding()
			if _, err := n.Opened(context.Background(), f, finding.Notice{Kind: finding.Opened, Occurrence: 1, Change: f.OpenedBy, At: t0}); err != nil {
				t.Fatalf("Opened: %v", err)
			}
			reqs := srv.RequestsTo(tt.path)
			if len(reqs) != 2 || reqs[0].Status != http.StatusTooManyRequests || reqs[1].Status != http.StatusOK {
				t.Errorf("requests %+v, want a 429 then a success", reqs)
			}
			if msgs := srv.Messages(); len(msgs) != 1 {
				t.Errorf("%d messages delivered, want exactly 1", len(msgs))
			}
		})
	}
}

func TestRetries(t *testing.T) {
	s500 := slackfake.Failure{Status: http.StatusInternalServerError}
	tests := []struct {
		name     string
		failures []slackfake.Failure
		retry    Retry
		requests int
		ok       bool
		errAs    func(error) bool
	}{
		{"5xx then success", []slackfake.Failure{s500, {Status: http.StatusServiceUnavailable}}, Retry{Backoff: time.Millisecond}, 3, true, nil},
		{"internal_error answer then success", []slackfake.Failure{{Error: "internal_error"}}, Retry{Backoff: time.Millisecond}, 2, true, nil},
		{"bounded retries", []slackfake.Failure{s500, s500, s500, s500, s500}, Retry{MaxRetries: 2, Backoff: time.Millisecond}, 3, false,
			func(err error) bool { var sc slackapi.StatusCodeError; return errors.As(err, &sc) && sc.Code == 500 }},
		{"no retries", []slackfake.Failure{s500}, Retry{MaxRetries: -1}, 1, false, nil},
		{"API error is not retried", []slackfake.Failure{{Error: "channel_not_found"}}, Retry{Backoff: time.Millisecond}, 1, false,
			func(err error) bool { return slackError(err) == "channel_not_found" }},
		{"4xx is not retried", []slackfake.Failure{{Status: http.StatusBadRequest}}, Retry{Backoff: time.Millisecond}, 1, false, nil},
		{"Retry-After beyond MaxWait fails at once", []slackfake.Failure{{Status: http.StatusTooManyRequests, RetryAfter: "3600"}}, Retry{}, 1, false,
			func(err error) bool {
				var rl *slackapi.RateLimitedError
				return errors.As(err, &rl) && rl.RetryAfter == time.Hour
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slackfake.Start(t, testToken)
			srv.Fail("/api/chat.postMessage", tt.failures...)
			n := botNotifier(t, srv, func(c *Config) { c.Retry = tt.retry })
			f := sampleFinding()
			_, err := n.Opened(context.Background(), f, finding.Notice{Kind: finding.Opened, Occurrence: 1, Change: f.OpenedBy, At: t0})
			if (err == nil) != tt.ok {
				t.Fatalf("Opened: err %v, want ok %v", err, tt.ok)
			}
			if err != nil && tt.errAs != nil && !tt.errAs(err) {
				t.Errorf("error %v does not wrap the expected cause", err)
			}
			if got := len(srv.Requests()); got != tt.requests {
				t.Errorf("%d requests, want %d", got, tt.requests)
			}
			wantMsgs := 0
			if tt.ok {
				wantMsgs = 1
			}
			if got := len(srv.Messages()); got != wantMsgs {
				t.Errorf("%d messages, want %d", got, wantMsgs)
			}
		})
	}
}

func TestRetryHonoursContext(t *testing.T) {
	f := sampleFinding()
	notice := finding.Notice{Kind: finding.Opened, Occurrence: 1, Change: f.OpenedBy, At: t0}
	t.Run("deadline before Retry-After", func(t *testing.T) {
		srv := slackfake.Start(t, testToken)
		srv.Fail("/api/chat.postMessage", slackfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: "10"})
		n := botNotifier(t, srv)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := n.Opened(ctx, f, notice)
		var rl *slackapi.RateLimitedError
		if !errors.As(err, &rl) {
			t.Fatalf("err %v, want the rate limit", err)
		}
		if got := len(srv.Requests()); got != 1 {
			t.Errorf("%d requests, want 1", got)
		}
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		srv := slackfake.Start(t, testToken)
		srv.Fail("/api/chat.postMessage", slackfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: "10"})
		n := botNotifier(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		stop := time.AfterFunc(100*time.Millisecond, cancel)
		defer stop.Stop()
		_, err := n.Opened(ctx, f, notice)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		if got := len(srv.Requests()); got != 1 {
			t.Errorf("%d requests, want 1 (no retry after cancellation)", got)
		}
	})
}

func TestSecretsStayHidden(t *testing.T) {
	const webhookSecret = "T0000/B0000/XXXXsecretXXXX"
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL + "/services/" + webhookSecret
	closed.Close() // every post fails to connect

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	cfg := Config{WebhookURL: secret.New(url), Retry: Retry{MaxRetries: -1}}
	log.Info("config", "slack", cfg, "token", secret.New(testToken), "url", cfg.WebhookURL)
	if strings.Contains(logs.String(), "secret") || strings.Contains(logs.String(), testToken) {
		t.Errorf("log shows a secret: %s", logs.String())
	}

	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := sampleFinding()
	_, err = n.Opened(context.Background(), f, finding.Notice{Kind: finding.Opened, Occurrence: 1, Change: f.OpenedBy, At: t0})
	if err == nil {
		t.Fatal("post to a closed server succeeded")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the webhook URL: %v", err)
	}

	for _, bad := range []Config{
		{BotToken: secret.New("not-a-token-secret")},
		{WebhookURL: secret.New("http://hooks.example.com/services/secret")},
		{WebhookURL: secret.New("::secret")},
	} {
		_, err := New(bad)
		if err == nil {
			t.Errorf("New accepted %v", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("config error shows a secret: %v", err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"bot", Config{BotToken: secret.New(testToken), Routing: Routing{Default: "#drift"}}, ""},
		{"webhook", Config{WebhookURL: secret.New("https://hooks.slack.com/services/T/B/X")}, ""},
		{"local webhook", Config{WebhookURL: secret.New("http://127.0.0.1:8080/hook")}, ""},
		{"nothing", Config{}, "neither"},
		{"both", Config{BotToken: secret.New(testToken), WebhookURL: secret.New("https://hooks.slack.com/x")}, "both"},
		{"bot without default channel", Config{BotToken: secret.New(testToken)}, "default: missing channel"},
		{"plain http webhook", Config{WebhookURL: secret.New("http://hooks.slack.com/services/T/B/X")}, "https"},
		{"bad API URL", Config{BotToken: secret.New(testToken), Routing: Routing{Default: "#d"}, APIURL: "slack.com"}, "API URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate: %v, want an error with %q", err, tt.want)
			}
		})
	}
}
