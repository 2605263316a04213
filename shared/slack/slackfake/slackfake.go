// Package slackfake is an in-memory Slack for tests: an httptest server
// that speaks the parts of the Web API driftwatch calls (chat.postMessage,
// chat.update) and an incoming webhook, records every request that
// arrives, and keeps the messages so that a test can check the channel's
// final state (one alert per finding, updated in place, with its thread).
//
//	srv := slackfake.Start(t, "xoxb-test")
//	n, _ := slack.New(slack.Config{BotToken: secret.New("xoxb-test"), APIURL: srv.APIURL(), ...})
//	...
//	for _, m := range srv.Messages() { ... }
//
// Failures are scripted with Fail (a 429 with Retry-After, a 500, an API
// error). It is not a full emulator: it checks the token, the channel and
// the message a call updates, not scopes or block validity.
package slackfake

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Request is one request as it arrived.
type Request struct {
	Method string
	// Path is the URL path: "/api/chat.postMessage", "/api/chat.update",
	// "/webhook".
	Path        string
	ContentType string
	// Token is the bearer token of the Authorization header, else the
	// form's token field.
	Token string
	// Authorization is the raw Authorization header.
	Authorization string
	// Channel, TS, ThreadTS and Text are the call's arguments.
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	// Blocks is the blocks argument as JSON (nil when absent).
	Blocks json.RawMessage
	// Form holds every argument of a form-encoded call; Body the raw body.
	Form url.Values
	Body []byte
	// Status is the HTTP status answered.
	Status int
}

// Message is a message as the fake keeps it.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // "" for a top-level message
	Text     string
	Blocks   json.RawMessage
	// Updates counts the chat.update calls that replaced it.
	Updates int
}

// Failure is a scripted answer to the next call of a path.
type Failure struct {
	// Status is the HTTP status (200 with Error for an API error).
	Status int
	// RetryAfter is the Retry-After header ("" for none).
	RetryAfter string
	// Error is the Web API error code of an {"ok": false} answer.
	Error string
}

// Server is a fake Slack. Its methods are safe for concurrent use.
type Server struct {
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	requests []Request
	messages []*Message
	failures map[string][]Failure
	seq      int64
}

// Start starts a fake Slack that accepts the bot token (any token when
// token is ""), and stops it when the test ends.
func Start(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{token: token, failures: map[string][]Failure{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/chat.postMessage", s.postMessage)
	mux.HandleFunc("/api/chat.update", s.update)
	mux.HandleFunc("/webhook", s.webhook)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		req := s.record(r)
		req.Status = http.StatusNotFound
		s.store(req)
		http.NotFound(w, r)
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// APIURL is the Web API's base URL, for slack.Config.APIURL.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// WebhookURL is the incoming webhook's URL.
func (s *Server) WebhookURL() string { return s.srv.URL + "/webhook" }

// Fail scripts the answers to the next calls of path (for example
// "/api/chat.postMessage" or "/webhook"), in order.
func (s *Server) Fail(path string, fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[path] = append(s.failures[path], fs...)
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RequestsTo returns the requests received on path.
func (s *Server) RequestsTo(path string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// Messages returns copies of the messages posted (webhook posts included,
// in channel "webhook"), in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = *m
	}
	return out
}

// TopLevel returns the messages that are not thread replies.
func (s *Server) TopLevel() []Message {
	var out []Message
	for _, m := range s.Messages() {
		if m.ThreadTS == "" {
			out = append(out, m)
		}
	}
	return out
}

// Thread returns the replies to the message ts in channel, in order.
func (s *Server) Thread(channel, ts string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		if m.Channel == channel && m.ThreadTS == ts {
			out = append(out, m)
		}
	}
	return out
}

// ChannelID returns the ID the fake gives a channel name ("#drift" →
// "C…"); an ID is returned as is.
func ChannelID(channel string) string {
	name := strings.TrimPrefix(channel, "#")
	if name != channel || strings.ToLower(name) == name {
		h := fnv.New32a()
		_, _ = h.Write([]byte(name))
		return fmt.Sprintf("C%08X", h.Sum32())
	}
	return channel
}

// record reads a request's arguments.
func (s *Server) record(r *http.Request) Request {
	body, _ := io.ReadAll(r.Body)
	req := Request{
		Method:        r.Method,
		Path:          r.URL.Path,
		ContentType:   r.Header.Get("Content-Type"),
		Authorization: r.Header.Get("Authorization"),
		Body:          body,
	}
	if tok, ok := strings.CutPrefix(req.Authorization, "Bearer "); ok {
		req.Token = tok
	}
	mt, _, _ := mime.ParseMediaType(req.ContentType)
	switch mt {
	case "application/x-www-form-urlencoded":
		form, _ := url.ParseQuery(string(body))
		req.Form = form
		if req.Token == "" {
			req.Token = form.Get("token")
		}
		req.Channel, req.TS, req.ThreadTS, req.Text = form.Get("channel"), form.Get("ts"), form.Get("thread_ts"), form.Get("text")
		if b := form.Get("blocks"); b != "" {
			req.Blocks = json.RawMessage(b)
		}
	case "application/json":
		var j struct {
			Channel  string          `json:"channel"`
			TS       string          `json:"ts"`
			ThreadTS string          `json:"thread_ts"`
			Text     string          `json:"text"`
			Blocks   json.RawMessage `json:"blocks"`
		}
		_ = json.Unmarshal(body, &j)
		req.Channel, req.TS, req.ThreadTS, req.Text, req.Blocks = j.Channel, j.TS, j.ThreadTS, j.Text, j.Blocks
	}
	return req
}

// store appends a recorded request.
func (s *Server) store(req Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
}

// scripted pops the next scripted failure of path.
func (s *Server) scripted(path string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.failures[path]
	if len(fs) == 0 {
		return Failure{}, false
	}
	s.failures[path] = fs[1:]
	return fs[0], true
}

// fail answers a scripted failure; it reports whether there was one.
func (s *Server) fail(w http.ResponseWriter, req *Request) bool {
	f, ok := s.scripted(req.Path)
	if !ok {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	req.Status = status
	if f.Error != "" {
		writeJSON(w, status, map[string]any{"ok": false, "error": f.Error})
	} else {
		w.WriteHeader(status)
	}
	return true
}

// apiError answers {"ok": false, "error": code}.
func (s *Server) apiError(w http.ResponseWriter, req Request, code string) {
	req.Status = http.StatusOK
	s.store(req)
	writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
}

// authorized checks the token.
func (s *Server) authorized(req Request) bool {
	return req.Token != "" && (s.token == "" || req.Token == s.token)
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	req := s.record(r)
	if s.fail(w, &req) {
		s.store(req)
		return
	}
	switch {
	case r.Method != http.MethodPost:
		s.apiError(w, req, "invalid_request")
		return
	case !s.authorized(req):
		s.apiError(w, req, "invalid_auth")
		return
	case req.Channel == "":
		s.apiError(w, req, "channel_not_found")
		return
	case req.Text == "" && len(req.Blocks) == 0:
		s.apiError(w, req, "no_text")
		return
	}
	channel := ChannelID(req.Channel)
	s.mu.Lock()
	if req.ThreadTS != "" && s.find(channel, req.ThreadTS) == nil {
		s.mu.Unlock()
		s.apiError(w, req, "thread_not_found")
		return
	}
	s.seq++
	ts := fmt.Sprintf("1700000000.%06d", s.seq)
	s.messages = append(s.messages, &Message{Channel: channel, TS: ts, ThreadTS: req.ThreadTS, Text: req.Text, Blocks: req.Blocks})
	req.Status = http.StatusOK
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": channel, "ts": ts})
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	req := s.record(r)
	if s.fail(w, &req) {
		s.store(req)
		return
	}
	switch {
	case r.Method != http.MethodPost:
		s.apiError(w, req, "invalid_request")
		return
	case !s.authorized(req):
		s.apiError(w, req, "invalid_auth")
		return
	}
	s.mu.Lock()
	m := s.find(req.Channel, req.TS)
	if m == nil {
		s.mu.Unlock()
		s.apiError(w, req, "message_not_found")
		return
	}
	m.Text, m.Blocks = req.Text, req.Blocks
	m.Updates++
	req.Status = http.StatusOK
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": req.Channel, "ts": req.TS, "text": req.Text})
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	req := s.record(r)
	if s.fail(w, &req) {
		s.store(req)
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(req.ContentType, "application/json") || (req.Text == "" && len(req.Blocks) == 0) {
		req.Status = http.StatusBadRequest
		s.store(req)
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.seq++
	s.messages = append(s.messages, &Message{Channel: "webhook", TS: fmt.Sprintf("1700000000.%06d", s.seq), Text: req.Text, Blocks: req.Blocks})
	req.Status = http.StatusOK
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ok")
}

// find returns the message ts of channel (a name or an ID); s.mu is held.
func (s *Server) find(channel, ts string) *Message {
	channel = ChannelID(channel)
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
