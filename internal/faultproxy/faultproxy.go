// Package faultproxy is a reverse proxy for tests that stands between a
// client and the server it calls (moto, a fake Slack, a fake Jira) and
// injects faults: a share of the requests answered with a 500, a 503 or a
// throttling answer in the server's own dialect, or dropped (the connection
// is closed with a reset and no answer), and latency added to every
// request. A faulted request never reaches the server, so it had no effect
// there; the client cannot tell a dropped connection from a lost answer.
//
//	p := faultproxy.Start(t, faultproxy.Config{Target: moto.URL, Dialect: faultproxy.AWS, Seed: seed,
//		Faults: faultproxy.Faults{Rate: 0.3, Latency: 20 * time.Millisecond}})
//	cfg.BaseEndpoint = aws.String(p.URL())
//
// Throttling answers are what the real service sends, so that clients
// classify them as they would in production: for AWS, per protocol (a JSON
// protocol's 400 ThrottlingException, EC2's 503 RequestLimitExceeded XML,
// the query protocol's 400 <Error><Code>Throttling</Code> XML, S3's 503
// SlowDown, a REST-JSON 429 with X-Amzn-ErrorType); for Slack a 429 with
// Retry-After; for Jira a 429 with Retry-After and Jira's error body.
//
// Decisions are seeded and deterministic: whether a request is faulted,
// with which fault and how much latency it gets are drawn from a generator
// seeded with the seed, the request's content (method, URI, operation
// header, body) and how many identical requests came before it. The same
// seed and the same requests give the same faults whatever the order in
// which concurrent clients send them. Rules apply other faults to the
// requests they match (a storm on one resource), and Set changes the faults
// while the proxy runs.
package faultproxy

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kind is a kind of fault.
type Kind string

// Kinds of fault.
const (
	// ServerError answers 500 with the dialect's internal-error body.
	ServerError Kind = "500"
	// Unavailable answers 503 with the dialect's unavailable body.
	Unavailable Kind = "503"
	// Throttle answers the dialect's throttling response.
	Throttle Kind = "throttle"
	// Drop reads the request and closes the connection with a reset,
	// without an answer.
	Drop Kind = "drop"
)

// AllKinds are the kinds a Faults without Kinds draws from.
var AllKinds = []Kind{ServerError, Unavailable, Throttle, Drop}

// Dialect is how the proxied server phrases its errors.
type Dialect string

// Dialects.
const (
	// AWS: the error shape of the request's protocol (see the package
	// documentation).
	AWS Dialect = "aws"
	// Slack: the Web API's {"ok": false, "error": ...} and a 429 with
	// Retry-After when rate limited.
	Slack Dialect = "slack"
	// Jira: Jira Cloud's error collection and a 429 with Retry-After.
	Jira Dialect = "jira"
	// Plain: text bodies and a 429 with Retry-After.
	Plain Dialect = "plain"
)

// Faults say what happens to the requests they apply to.
type Faults struct {
	// Rate is the share of requests answered with a fault, from 0 to 1.
	Rate float64
	// Kinds are the faults drawn from, with equal weight (default
	// AllKinds).
	Kinds []Kind
	// Latency is the most latency added before a request is answered or
	// forwarded, faulted or not: each request gets a uniform draw from 0
	// to Latency.
	Latency time.Duration
}

// Rule applies its own Faults to the requests it matches.
type Rule struct {
	// Name identifies the rule in Events.
	Name string
	// Match selects the requests (body is the request's body); nil
	// matches every request.
	Match func(r *http.Request, body []byte) bool
	Faults
}

// Config configures a Proxy.
type Config struct {
	// Target is the base URL requests are forwarded to.
	Target string
	// Dialect says how faults are phrased (default Plain).
	Dialect Dialect
	// Seed seeds every decision.
	Seed uint64
	// Faults apply to the requests no rule matches.
	Faults Faults
	// Rules are tried in order; the first that matches a request applies.
	Rules []Rule
	// RetryAfter is the Retry-After of throttling answers that carry one
	// (default 1s; rounded up to whole seconds).
	RetryAfter time.Duration
}

// Event is what the proxy did with one request.
type Event struct {
	Method, Path string
	// Service is the AWS service named in the request's signature, and
	// Operation its operation when the request names it (X-Amz-Target or
	// Action); "" otherwise.
	Service, Operation string
	// Occurrence counts the identical requests that came before this one.
	Occurrence int
	// Rule is the name of the rule that applied ("" for the default
	// faults).
	Rule string
	// Fault is the fault injected ("" when the request was forwarded).
	Fault Kind
	// Status is the status the proxy answered a fault with (0 for a drop
	// or a forwarded request).
	Status int
	// Latency is the latency added.
	Latency time.Duration
}

// Proxy is a fault-injecting reverse proxy. It is safe for concurrent use.
type Proxy struct {
	srv     *httptest.Server
	target  *url.URL
	dialect Dialect
	seed    uint64
	after   string
	rp      *httputil.ReverseProxy

	mu     sync.Mutex
	faults Faults
	rules  []Rule
	seen   map[string]int
	events []Event
}

// Start starts a proxy to cfg.Target on a loopback port and stops it when
// the test ends.
func Start(t testing.TB, cfg Config) *Proxy {
	t.Helper()
	p, err := newProxy(cfg)
	if err != nil {
		t.Fatalf("faultproxy: %v", err)
	}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

func newProxy(cfg Config) (*Proxy, error) {
	target, err := url.Parse(cfg.Target)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("target %q is not a URL", cfg.Target)
	}
	for _, f := range append([]Faults{cfg.Faults}, rulesFaults(cfg.Rules)...) {
		if err := f.check(); err != nil {
			return nil, err
		}
	}
	after := cfg.RetryAfter
	if after <= 0 {
		after = time.Second
	}
	dialect := cfg.Dialect
	if dialect == "" {
		dialect = Plain
	}
	p := &Proxy{
		target: target, dialect: dialect, seed: cfg.Seed,
		after:  strconv.Itoa(int((after + time.Second - 1) / time.Second)),
		faults: cfg.Faults, rules: slices.Clone(cfg.Rules), seen: map[string]int{},
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the client signed its own Host
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "faultproxy: forward: "+err.Error(), http.StatusBadGateway)
		},
	}
	return p, nil
}

func rulesFaults(rules []Rule) []Faults {
	out := make([]Faults, len(rules))
	for i, r := range rules {
		out[i] = r.Faults
	}
	return out
}

func (f Faults) check() error {
	if f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("fault rate %v is not between 0 and 1", f.Rate)
	}
	for _, k := range f.Kinds {
		if !slices.Contains(AllKinds, k) {
			return fmt.Errorf("unknown fault kind %q", k)
		}
	}
	return nil
}

// URL is the proxy's base URL, to give the client instead of the target's.
func (p *Proxy) URL() string { return p.srv.URL }

// Set replaces the default faults and the rules, for the requests that
// arrive from now on. It panics on a rate outside [0, 1] or an unknown
// kind, which are mistakes in the test.
func (p *Proxy) Set(f Faults, rules ...Rule) {
	for _, ff := range append([]Faults{f}, rulesFaults(rules)...) {
		if err := ff.check(); err != nil {
			panic("faultproxy: " + err.Error())
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults, p.rules = f, slices.Clone(rules)
}

// Events returns what happened to every request so far, in order of
// arrival.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// Stats counts the requests, those forwarded and the faults by kind.
type Stats struct {
	Requests, Forwarded int
	Faults              map[Kind]int
}

// Stats counts what happened so far.
func (p *Proxy) Stats() Stats {
	s := Stats{Faults: map[Kind]int{}}
	for _, e := range p.Events() {
		s.Requests++
		if e.Fault == "" {
			s.Forwarded++
		} else {
			s.Faults[e.Fault]++
		}
	}
	return s
}

// String summarises s: "120 requests, 84 forwarded, faults: 500=9 503=8 drop=10 throttle=9".
func (s Stats) String() string {
	kinds := make([]string, 0, len(s.Faults))
	for k, n := range s.Faults {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(kinds)
	return fmt.Sprintf("%d requests, %d forwarded, faults: %s", s.Requests, s.Forwarded, strings.Join(kinds, " "))
}

// decision is what happens to one request.
type decision struct {
	rule       string
	fault      Kind
	latency    time.Duration
	occurrence int
}

// decide draws the request's fate from the seed, its content and its
// occurrence.
func (p *Proxy) decide(r *http.Request, body []byte) decision {
	sum := sha256.Sum256(body)
	key := r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("X-Amz-Target") + " " + string(sum[:])
	h := fnv.New64a()
	_, _ = io.WriteString(h, key)

	p.mu.Lock()
	n := p.seen[key]
	p.seen[key] = n + 1
	f, name := p.faults, ""
	for _, rule := range p.rules {
		if rule.Match == nil || rule.Match(r, body) {
			f, name = rule.Faults, rule.Name
			break
		}
	}
	p.mu.Unlock()

	rng := rand.New(rand.NewPCG(p.seed, h.Sum64()^(uint64(n)+1)*0x9e3779b97f4a7c15))
	faulted := rng.Float64() < f.Rate
	kinds := f.Kinds
	if len(kinds) == 0 {
		kinds = AllKinds
	}
	kind := kinds[rng.IntN(len(kinds))]
	d := decision{rule: name, occurrence: n}
	if f.Latency > 0 {
		d.latency = time.Duration(rng.Int64N(int64(f.Latency) + 1))
	}
	if faulted {
		d.fault = kind
	}
	return d
}

// ServeHTTP answers a fault or forwards the request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "faultproxy: read request: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	d := p.decide(r, body)
	ev := Event{Method: r.Method, Path: r.URL.Path, Occurrence: d.occurrence, Rule: d.rule, Fault: d.fault, Latency: d.latency}
	if p.dialect == AWS {
		ev.Service, ev.Operation = AWSService(r), awsOperation(r, body)
	}
	defer func() {
		p.mu.Lock()
		p.events = append(p.events, ev)
		p.mu.Unlock()
	}()
	if d.latency > 0 {
		t := time.NewTimer(d.latency)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	switch d.fault {
	case "":
		p.rp.ServeHTTP(w, r)
	case Drop:
		drop(w)
	default:
		ev.Status = p.answer(w, r, body, d.fault)
	}
}

// drop closes the client's connection with a reset.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: the server does not support hijacking")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return // the connection is gone already
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close with RST, not FIN
	}
	_ = conn.Close()
}

// answer writes the dialect's answer for kind and returns its status.
func (p *Proxy) answer(w http.ResponseWriter, r *http.Request, body []byte, kind Kind) int {
	var a reply
	switch p.dialect {
	case AWS:
		a = awsReply(r, body, kind)
	case Slack:
		a = slackReply(kind)
	case Jira:
		a = jiraReply(kind)
	default:
		a = plainReply(kind)
	}
	if a.retryAfter {
		w.Header().Set("Retry-After", p.after)
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if a.contentType != "" {
		w.Header().Set("Content-Type", a.contentType)
	}
	w.WriteHeader(a.status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, a.body)
	}
	return a.status
}

// reply is a fault's answer.
type reply struct {
	status      int
	contentType string
	header      map[string]string
	body        string
	retryAfter  bool
}

func slackReply(kind Kind) reply {
	switch kind {
	case Throttle:
		return reply{status: http.StatusTooManyRequests, contentType: "application/json", retryAfter: true,
			body: `{"ok":false,"error":"ratelimited"}`}
	case Unavailable:
		return reply{status: http.StatusServiceUnavailable, contentType: "text/plain", body: "Service Unavailable"}
	}
	return reply{status: http.StatusInternalServerError, contentType: "text/plain", body: "Internal Server Error"}
}

func jiraReply(kind Kind) reply {
	const ct = "application/json;charset=UTF-8"
	switch kind {
	case Throttle:
		return reply{status: http.StatusTooManyRequests, contentType: ct, retryAfter: true,
			body: `{"errorMessages":["Rate limit exceeded."],"errors":{}}`}
	case Unavailable:
		return reply{status: http.StatusServiceUnavailable, contentType: ct, retryAfter: true,
			body: `{"errorMessages":["Service unavailable; try again later."],"errors":{}}`}
	}
	return reply{status: http.StatusInternalServerError, contentType: ct,
		body: `{"errorMessages":["Internal server error."],"errors":{}}`}
}

func plainReply(kind Kind) reply {
	switch kind {
	case Throttle:
		return reply{status: http.StatusTooManyRequests, contentType: "text/plain", retryAfter: true, body: "Too Many Requests"}
	case Unavailable:
		return reply{status: http.StatusServiceUnavailable, contentType: "text/plain", body: "Service Unavailable"}
	}
	return reply{status: http.StatusInternalServerError, contentType: "text/plain", body: "Internal Server Error"}
}
