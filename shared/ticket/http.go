package ticket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrOutcomeUnknown says a request that creates something (a ticket) failed
// in a way that leaves unknown whether it took effect: a timeout, a dropped
// connection, a 5xx. Such a request is never simply sent again; the notifier
// searches for what it may have created first, and when the search does not
// find it yet it returns an error wrapping ErrOutcomeUnknown, so that the
// notice is delivered again later, when the search will.
var ErrOutcomeUnknown = errors.New("outcome unknown: the request may have taken effect")

// HTTPError is a response with an unexpected status from a ticket system.
// It carries what was attempted and the server's explanation, never the
// request's credentials.
type HTTPError struct {
	// Method and Path are the request's (the path without the query).
	Method string
	Path   string
	// Status is the HTTP status code.
	Status int
	// Message is the server's explanation, trimmed, if it gave one.
	Message string
}

// Error returns "POST /rest/api/3/issue: 400 Bad Request: message".
func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Retry says how requests to a ticket system are timed out and retried. The
// zero value is usable: every field has a default.
//
// A request is tried again on 429 Too Many Requests, after the Retry-After
// the server asked for (or the backoff when it named none), and, unless the
// request's context was marked NonIdempotent, on a 5xx status, a timeout or
// a network error, after an exponential backoff with jitter. It is never
// tried again on another 4xx. A Retry-After longer than MaxRetryAfter, or
// running out of attempts, ends the retries and returns the last response
// or error as is.
type Retry struct {
	// Attempts is the number of tries per request, the first included
	// (default 4).
	Attempts int
	// AttemptTimeout bounds each try, response headers and body included
	// (default 20s). The request's context bounds them all.
	AttemptTimeout time.Duration
	// BaseDelay is the first backoff (default 500ms); each retry doubles it.
	BaseDelay time.Duration
	// MaxDelay caps one backoff (default 10s).
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After honoured (default 60s).
	MaxRetryAfter time.Duration
	// Throttled, if set, recognises rate-limit responses other than 429
	// (GitHub answers some with 403) and says how long to wait; a zero
	// wait means the backoff.
	Throttled func(*http.Response) (wait time.Duration, ok bool)
	// Sleep waits for d or until ctx is done (default: a timer). Tests
	// replace it to record the waits instead of taking them.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Defaults.
const (
	defaultAttempts       = 4
	defaultAttemptTimeout = 20 * time.Second
	defaultBaseDelay      = 500 * time.Millisecond
	defaultMaxDelay       = 10 * time.Second
	defaultMaxRetryAfter  = 60 * time.Second
)

type nonIdempotentKey struct{}

// NonIdempotent returns a context that marks the requests made with it as
// unsafe to repeat blindly (an issue creation): the transport then retries
// them only on 429, which means the server did not act on the request.
func NonIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, nonIdempotentKey{}, true)
}

func isNonIdempotent(ctx context.Context) bool {
	v, _ := ctx.Value(nonIdempotentKey{}).(bool)
	return v
}

// Transport returns base (http.DefaultTransport if nil) wrapped with r's
// timeouts and retries.
func (r Retry) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, r: r}
}

// Client returns an *http.Client whose transport is r.Transport(base). It
// sets no overall Timeout: each try has AttemptTimeout, and the caller's
// context bounds the whole.
func (r Retry) Client(base http.RoundTripper) *http.Client {
	return &http.Client{Transport: r.Transport(base)}
}

// sleep waits for d, or until ctx is done, with r.Sleep if set.
func (r Retry) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	return SleepContext(ctx, d)
}

// SleepContext waits for d or until ctx is done, and returns ctx's error in
// the latter case.
func SleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff returns the wait before retry number n (0 for the first retry):
// BaseDelay doubled n times, capped at MaxDelay, with jitter in its upper
// half.
func (r Retry) Backoff(n int) time.Duration {
	base, max := r.BaseDelay, r.MaxDelay
	if base <= 0 {
		base = defaultBaseDelay
	}
	if max <= 0 {
		max = defaultMaxDelay
	}
	d := base
	for range n {
		d *= 2
		if d >= max {
			d = max
			break
		}
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + rand.N(half+1)
}

type transport struct {
	base http.RoundTripper
	r    Retry
}

// RoundTrip sends req, retrying as t.r says.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	attempts := t.r.Attempts
	if attempts <= 0 {
		attempts = defaultAttempts
	}
	timeout := t.r.AttemptTimeout
	if timeout <= 0 {
		timeout = defaultAttemptTimeout
	}
	maxAfter := t.r.MaxRetryAfter
	if maxAfter <= 0 {
		maxAfter = defaultMaxRetryAfter
	}
	ctx := req.Context()
	unsafe := isNonIdempotent(ctx)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for try := 0; ; try++ {
		last := try+1 >= attempts || !replayable
		r := req
		if try > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("%s %s: replay request body: %w", req.Method, req.URL.Path, err)
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		resp, err := t.base.RoundTrip(r.WithContext(actx))
		if err != nil {
			cancel()
			if ctx.Err() != nil || unsafe || last {
				return nil, err
			}
			if serr := t.r.sleep(ctx, t.r.Backoff(try)); serr != nil {
				return nil, err
			}
			continue
		}
		wait, retry := t.retryable(resp, unsafe)
		if !retry || last || wait > maxAfter {
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		// Drain a little so the connection can be reused, then wait.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		resp.Body.Close()
		cancel()
		if wait <= 0 {
			wait = t.r.Backoff(try)
		}
		if err := t.r.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s %s: waiting to retry after %d: %w", req.Method, req.URL.Path, resp.StatusCode, err)
		}
	}
}

// retryable says whether resp is worth another try and how long to wait
// first (0: the backoff).
func (t *transport) retryable(resp *http.Response, unsafe bool) (time.Duration, bool) {
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return RetryAfter(resp.Header, time.Now()), true
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		if unsafe {
			return 0, false
		}
		return RetryAfter(resp.Header, time.Now()), true
	case t.r.Throttled != nil:
		return t.r.Throttled(resp)
	}
	return 0, false
}

// RetryAfter parses a Retry-After header (delay seconds or an HTTP date)
// relative to now; 0 when absent or unparseable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// cancelBody cancels a try's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body and ends its try's context.
func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
