package ticket_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/ticket"
)

// step is one canned answer of the test server.
type step struct {
	status int
	header map[string]string
	drop   bool // close the connection without answering
}

// sequence serves its steps in order (the last one repeats) and records
// the request bodies it received.
type sequence struct {
	mu     sync.Mutex
	steps  []step
	bodies []string
}

func (s *sequence) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := min(len(s.bodies), len(s.steps)-1)
	s.bodies = append(s.bodies, string(b))
	st := s.steps[i]
	s.mu.Unlock()
	if st.drop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range st.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(st.status)
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func (s *sequence) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// sleeps records the waits a Retry asks for instead of taking them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func TestRetryTransport(t *testing.T) {
	ok := step{status: 200}
	for _, tc := range []struct {
		name          string
		steps         []step
		nonIdempotent bool
		throttled     func(*http.Response) (time.Duration, bool)
		wantStatus    int
		wantErr       bool
		wantCalls     int
		// wantSleeps are the exact waits expected; nil means "only check
		// the count and the bounds".
		wantSleeps []time.Duration
	}{
		{name: "success first time", steps: []step{ok}, wantStatus: 200, wantCalls: 1},
		{name: "429 honours Retry-After seconds", steps: []step{{status: 429, header: map[string]string{"Retry-After": "7"}}, ok},
			wantStatus: 200, wantCalls: 2, wantSleeps: []time.Duration{7 * time.Second}},
		{name: "429 without Retry-After backs off", steps: []step{{status: 429}, ok}, wantStatus: 200, wantCalls: 2},
		{name: "5xx retried", steps: []step{{status: 502}, {status: 503}, ok}, wantStatus: 200, wantCalls: 3},
		{name: "5xx gives up after the attempts", steps: []step{{status: 500}}, wantStatus: 500, wantCalls: 4},
		{name: "400 not retried", steps: []step{{status: 400}, ok}, wantStatus: 400, wantCalls: 1},
		{name: "401 not retried", steps: []step{{status: 401}, ok}, wantStatus: 401, wantCalls: 1},
		{name: "404 not retried", steps: []step{{status: 404}, ok}, wantStatus: 404, wantCalls: 1},
		{name: "403 not retried by default", steps: []step{{status: 403, header: map[string]string{"Retry-After": "1"}}, ok}, wantStatus: 403, wantCalls: 1},
		{name: "403 retried when Throttled says so", steps: []step{{status: 403}, ok},
			throttled:  func(r *http.Response) (time.Duration, bool) { return 3 * time.Second, r.StatusCode == 403 },
			wantStatus: 200, wantCalls: 2, wantSleeps: []time.Duration{3 * time.Second}},
		{name: "Retry-After beyond the maximum ends retries", steps: []step{{status: 429, header: map[string]string{"Retry-After": "3600"}}, ok},
			wantStatus: 429, wantCalls: 1, wantSleeps: []time.Duration{}},
		{name: "non-idempotent not retried on 5xx", steps: []step{{status: 502}, ok}, nonIdempotent: true, wantStatus: 502, wantCalls: 1},
		{name: "non-idempotent retried on 429", steps: []step{{status: 429, header: map[string]string{"Retry-After": "2"}}, ok}, nonIdempotent: true,
			wantStatus: 200, wantCalls: 2, wantSleeps: []time.Duration{2 * time.Second}},
		{name: "dropped connection retried", steps: []step{{drop: true}, ok}, wantStatus: 200, wantCalls: 2},
		{name: "non-idempotent dropped connection not retried", steps: []step{{drop: true}, ok}, nonIdempotent: true, wantErr: true, wantCalls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seq := &sequence{steps: tc.steps}
			srv := httptest.NewServer(seq)
			defer srv.Close()
			var sl sleeps
			r := ticket.Retry{Sleep: sl.sleep, Throttled: tc.throttled, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
			client := r.Client(nil)
			ctx := context.Background()
			if tc.nonIdempotent {
				ctx = ticket.NonIdempotent(ctx)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/x", strings.NewReader(`{"n":1}`))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if tc.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatal("no error")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
				}
				if string(body) != `{"ok":true}` {
					t.Errorf("body %q: the final response's body must be readable", body)
				}
			}
			if got := seq.calls(); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
			for i, b := range seq.bodies {
				if b != `{"n":1}` {
					t.Errorf("call %d got body %q: a retry must replay the body", i, b)
				}
			}
			if tc.wantSleeps != nil {
				if len(sl.d) != len(tc.wantSleeps) {
					t.Fatalf("sleeps %v, want %v", sl.d, tc.wantSleeps)
				}
				for i := range sl.d {
					if sl.d[i] != tc.wantSleeps[i] {
						t.Errorf("sleep %d = %v, want %v", i, sl.d[i], tc.wantSleeps[i])
					}
				}
			} else {
				if len(sl.d) != tc.wantCalls-1 && !tc.wantErr {
					t.Errorf("%d sleeps for %d calls", len(sl.d), tc.wantCalls)
				}
				for _, d := range sl.d {
					if d <= 0 || d > time.Second {
						t.Errorf("backoff %v outside (0, MaxDelay]", d)
					}
				}
			}
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	seq := &sequence{steps: []step{{status: 503}}}
	srv := httptest.NewServer(seq)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	r := ticket.Retry{Attempts: 10, Sleep: func(ctx context.Context, d time.Duration) error {
		cancel() // the caller gives up while we wait
		return ctx.Err()
	}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := r.Client(nil).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("no error after the context was cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
	if seq.calls() != 1 {
		t.Errorf("%d calls, want 1", seq.calls())
	}
}

func TestAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			select { // hang until the client gives up on this try
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	var sl sleeps
	r := ticket.Retry{AttemptTimeout: 50 * time.Millisecond, Sleep: sl.sleep}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := r.Client(nil).Do(req)
	if err != nil {
		t.Fatalf("a hung first try must be retried: %v", err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != 204 || calls != 2 {
		t.Errorf("status %d after %d calls, want 204 after 2", resp.StatusCode, calls)
	}
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}
	if got := ticket.RetryAfter(h, now); got != 90*time.Second {
		t.Errorf("RetryAfter(date) = %v, want 1m30s", got)
	}
	for _, v := range []string{"", "soon", "-3"} {
		if got := ticket.RetryAfter(http.Header{"Retry-After": {v}}, now); got != 0 {
			t.Errorf("RetryAfter(%q) = %v, want 0", v, got)
		}
	}
}

func TestHTTPErrorMessage(t *testing.T) {
	err := &ticket.HTTPError{Method: "POST", Path: "/rest/api/3/issue", Status: 400, Message: "summary: required"}
	if got, want := err.Error(), "POST /rest/api/3/issue: 400 Bad Request: summary: required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
