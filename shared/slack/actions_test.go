package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/secret"
)

func actionFinding(status finding.Status, actions ...finding.Action) *finding.Finding {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ref := resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1", Account: "123456789012", Region: "us-east-1"}
	return &finding.Finding{
		Key:   finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: ref.ID, RuleID: "aws-ec2-security-group-admin-ports-open-ipv4"},
		Cloud: "aws", Account: "123456789012", Region: "us-east-1", Resource: ref, RuleID: "aws-ec2-security-group-admin-ports-open-ipv4",
		Severity: "high", Title: "SSH open to the world", Status: status, Message: "port 22 open to 0.0.0.0/0",
		FirstSeen: at, LastSeen: at, Count: 1, Occurrence: 1, ResolvedAt: at.Add(time.Hour), ResolveReason: finding.ReasonFixed,
		OpenedBy: finding.Change{EventID: "e1", PrincipalARN: "arn:aws:iam::123456789012:user/dev", Service: "ec2.amazonaws.com", Operation: "AuthorizeSecurityGroupIngress"},
		Actions:  actions,
	}
}

// blockJSON is a message's blocks as JSON without HTML escaping.
func blockJSON(t *testing.T, m Message) string {
	t.Helper()
	b, err := m.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
}

func TestStateMessage(t *testing.T) {
	at := time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)
	ack := finding.Action{Kind: finding.ActionAcknowledge, By: "slack:U0ALICE (alice)", At: at}
	rev := finding.Action{Kind: finding.ActionRevert, By: "slack:U0BOB", At: at, Result: "reverted"}
	tests := []struct {
		name        string
		f           *finding.Finding
		wantButtons bool
		wantLast    string // block type of the last block
		want        []string
		notWant     []string
	}{
		{name: "open, no action", f: actionFinding(finding.StatusOpen), wantButtons: true, wantLast: "actions", notWant: []string{"driftwatch_history"}},
		{name: "open, acknowledged: history above the buttons", f: actionFinding(finding.StatusOpen, ack), wantButtons: true, wantLast: "actions",
			want: []string{"✋ Acknowledged by <@U0ALICE> · 2026-01-02 04:00:00 UTC"}},
		{name: "resolved by a revert: no buttons, history last", f: actionFinding(finding.StatusResolved, ack, rev), wantLast: "context",
			want: []string{"RESOLVED", "↩️ Revert requested by <@U0BOB> · 2026-01-02 04:00:00 UTC · `reverted`"}},
		{name: "hostile names and results stay inert", f: actionFinding(finding.StatusOpen,
			finding.Action{Kind: finding.ActionSnooze, By: "slack:<!channel> (x)", At: at, Result: "until <!here> `x` <http://evil|click>"},
			finding.Action{Kind: "<@U0ADMIN>", By: "cli:<@U0ADMIN>", At: at}),
			wantButtons: true, wantLast: "actions",
			want:    []string{"💤 Snoozed by `slack:&lt;!channel&gt; (x)`", "`until &lt;!here&gt; ˋxˋ &lt;http://evil|click&gt;`", "&lt;@U0ADMIN&gt; by `cli:&lt;@U0ADMIN&gt;`"},
			notWant: []string{"<!channel>", "<!here>", "<@U0ADMIN>", "<http://evil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := StateMessage(tt.f, Details{})
			js := blockJSON(t, msg)
			if got := strings.Contains(js, ActionsBlockID); got != tt.wantButtons {
				t.Errorf("buttons shown: %v, want %v", got, tt.wantButtons)
			}
			if last := msg.Blocks[len(msg.Blocks)-1].BlockType(); string(last) != tt.wantLast {
				t.Errorf("last block %s, want %s", last, tt.wantLast)
			}
			for _, w := range tt.want {
				if !strings.Contains(js, w) {
					t.Errorf("message lacks %q:\n%s", w, js)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(js, w) {
					t.Errorf("message holds %q:\n%s", w, js)
				}
			}
		})
	}
}

func TestStateMessageShowsTheNewestActions(t *testing.T) {
	var actions []finding.Action
	for i := range 12 {
		actions = append(actions, finding.Action{Kind: finding.ActionSnooze, By: "slack:U0USER" + string(rune('A'+i)), At: time.Unix(int64(i), 0)})
	}
	msg := StateMessage(actionFinding(finding.StatusOpen, actions...), Details{})
	ctx, ok := msg.Blocks[len(msg.Blocks)-2].(*slackapi.ContextBlock)
	if !ok || len(ctx.ContextElements.Elements) != 9 {
		t.Fatalf("history block %#v, want 9 elements", msg.Blocks[len(msg.Blocks)-2])
	}
	js := blockJSON(t, msg)
	if strings.Contains(js, "U0USERC>") || !strings.Contains(js, "U0USERD>") || !strings.Contains(js, "U0USERL>") {
		t.Errorf("want the 9 newest actions (D…L):\n%s", js)
	}
}

// hookServer records what is posted to a response_url, answering the
// statuses it is given in turn (then 200).
type hookServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	bodies   []map[string]any
	statuses []int
}

func startHookServer(t *testing.T, statuses ...int) *hookServer {
	h := &hookServer{statuses: statuses}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.statuses) > 0 {
			st := h.statuses[0]
			h.statuses = h.statuses[1:]
			w.WriteHeader(st)
			return
		}
		var m map[string]any
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &m) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.bodies = append(h.bodies, m)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookServer) responder() *Responder {
	u, _ := url.Parse(h.srv.URL)
	return &Responder{AllowURL: func(v *url.URL) bool { return v.Host == u.Host }, Retry: Retry{Backoff: time.Millisecond, MaxWait: 10 * time.Millisecond}}
}

func TestResponder(t *testing.T) {
	ctx := context.Background()
	t.Run("replace", func(t *testing.T) {
		h := startHookServer(t)
		msg := StateMessage(actionFinding(finding.StatusOpen), Details{})
		if err := h.responder().Replace(ctx, h.srv.URL+"/actions/T1/2/3", msg); err != nil {
			t.Fatal(err)
		}
		if len(h.bodies) != 1 || h.bodies[0]["replace_original"] != true || h.bodies[0]["text"] != msg.Text ||
			h.bodies[0]["unfurl_links"] != false || len(h.bodies[0]["blocks"].([]any)) != len(msg.Blocks) {
			t.Errorf("posted %v", h.bodies)
		}
	})
	t.Run("ephemeral, escaped, after a server error", func(t *testing.T) {
		h := startHookServer(t, http.StatusInternalServerError)
		if err := h.responder().Ephemeral(ctx, h.srv.URL+"/x", "Not for <!channel>"); err != nil {
			t.Fatal(err)
		}
		if len(h.bodies) != 1 || h.bodies[0]["response_type"] != "ephemeral" || h.bodies[0]["replace_original"] != false ||
			h.bodies[0]["text"] != "Not for &lt;!channel&gt;" {
			t.Errorf("posted %v", h.bodies)
		}
	})
	t.Run("a client error is not retried", func(t *testing.T) {
		h := startHookServer(t, http.StatusNotFound)
		if err := h.responder().Ephemeral(ctx, h.srv.URL+"/x", "hi"); err == nil {
			t.Fatal("no error for a 404")
		}
		if len(h.bodies) != 0 || len(h.statuses) != 0 {
			t.Errorf("bodies %v, statuses left %v", h.bodies, h.statuses)
		}
	})
	t.Run("only Slack's hooks by default", func(t *testing.T) {
		h := startHookServer(t)
		r := &Responder{}
		for _, u := range []string{h.srv.URL + "/x", "http://hooks.slack.com/actions/1", "https://hooks.slack.com.evil.example/actions/1", "https://u:p@hooks.slack.com/a", "::"} {
			if err := r.Ephemeral(ctx, u, "hi"); err == nil || strings.Contains(err.Error(), u) {
				t.Errorf("Ephemeral(%q) = %v, want a refusal that does not repeat the URL", u, err)
			}
		}
		if len(h.bodies) != 0 {
			t.Errorf("posted %v", h.bodies)
		}
		for _, u := range []string{"https://hooks.slack.com/actions/T1/2/3", "https://hooks.slack-gov.com/actions/T1/2/3"} {
			p, _ := url.Parse(u)
			if !SlackResponseURL(p) {
				t.Errorf("SlackResponseURL(%s) = false", u)
			}
		}
	})
}

func TestUserGroupMembers(t *testing.T) {
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = r.PostForm
		if r.URL.Path != "/api/usergroups.users.list" || r.Header.Get("Authorization") != "Bearer xoxb-test" && got.Get("token") != "xoxb-test" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true, "users": ["U0ALICE", "U0BOB"]}`)
	}))
	defer srv.Close()
	n, err := New(Config{BotToken: secret.New("xoxb-test"), APIURL: srv.URL + "/api/", Routing: Routing{Default: "#drift"}})
	if err != nil {
		t.Fatal(err)
	}
	members, err := n.UserGroupMembers(context.Background(), "S0OPS")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(members, ",") != "U0ALICE,U0BOB" || got.Get("usergroup") != "S0OPS" {
		t.Errorf("members %v, request %v", members, got)
	}
	hook, err := New(Config{WebhookURL: secret.New("https://hooks.slack.com/services/T/B/x")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hook.UserGroupMembers(context.Background(), "S0OPS"); !errors.Is(err, ErrNotBot) {
		t.Errorf("webhook mode: %v, want ErrNotBot", err)
	}
}

func TestPerson(t *testing.T) {
	for in, want := range map[string]string{
		"slack:U0ALICE (alice)": "<@U0ALICE>",
		"slack:W0BOB":           "<@W0BOB>",
		"slack:u0alice":         "`slack:u0alice`",
		"cli:alice":             "`cli:alice`",
		"":                      "—",
	} {
		if got := Person(in); got != want {
			t.Errorf("Person(%q) = %q, want %q", in, got, want)
		}
	}
}
