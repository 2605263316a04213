package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
)

// procStatusKB reads a "kB" field of /proc/self/status (VmHWM, VmRSS), 0
// when it cannot.
func procStatusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// slackCounter answers Slack's chat.postMessage and chat.update as the Web
// API does and counts the posts; the burst child's notifier talks to it.
type slackCounter struct {
	mu sync.Mutex
	n  int
}

func newSlackCounter() *slackCounter { return &slackCounter{} }

func (s *slackCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if r.Header.Get("Authorization") != "Bearer "+slackToken && r.Form.Get("token") != slackToken {
		writeSlack(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	channel := r.Form.Get("channel")
	if channel == "" {
		var body struct {
			Channel string `json:"channel"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		channel = body.Channel
	}
	s.mu.Lock()
	if strings.HasSuffix(r.URL.Path, "/chat.postMessage") {
		s.n++
	}
	n := s.n
	s.mu.Unlock()
	writeSlack(w, map[string]any{"ok": true, "channel": channel, "ts": fmt.Sprintf("1700000000.%06d", n)})
}

func (s *slackCounter) posts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func writeSlack(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
