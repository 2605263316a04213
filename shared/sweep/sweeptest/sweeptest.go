// Package sweeptest serves CloudTrail's LookupEvents from an httptest
// server, for tests of the catch-up and of `driftwatch scan` (moto has no
// LookupEvents). Every other CloudTrail call is passed on to a fallback
// endpoint (moto), so one endpoint serves all of CloudTrail.
//
// The server speaks the AWS JSON 1.1 protocol as the SDK does: it honours
// StartTime and EndTime (inclusive), one LookupAttribute (ReadOnly,
// EventName, EventSource, EventId or Username), MaxResults (at most 50,
// default 50) and NextToken, which is bound to the query it continues as
// CloudTrail's is (a token reused with other parameters is rejected with
// InvalidNextTokenException). Events are returned newest first, each with
// its record as the JSON string CloudTrailEvent.
package sweeptest

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Request is one LookupEvents request the server answered.
type Request struct {
	// Region is the region the request was signed for; only records of
	// that region (awsRegion) are served, as CloudTrail's lookups are
	// regional.
	Region             string
	StartTime, EndTime time.Time
	// Attribute is "Key=Value" of the request's LookupAttribute, or "".
	Attribute  string
	MaxResults int
	NextToken  string
}

// Server is a CloudTrail endpoint whose LookupEvents serves the records it
// was given.
type Server struct {
	// URL is the endpoint, for AWS_ENDPOINT_URL_CLOUDTRAIL or a client's
	// BaseEndpoint.
	URL string

	mu       sync.Mutex
	records  []record
	requests []Request
	fallback *httputil.ReverseProxy
}

type record struct {
	raw  []byte
	time time.Time
	f    map[string]any
}

// Start starts a server that passes calls other than LookupEvents to
// fallback ("" answers them with an error), and stops it when the test
// ends.
func Start(t testing.TB, fallback string) *Server {
	t.Helper()
	s := &Server{}
	if fallback != "" {
		u, err := url.Parse(fallback)
		if err != nil {
			t.Fatalf("fallback endpoint %q: %v", fallback, err)
		}
		s.fallback = httputil.NewSingleHostReverseProxy(u)
	}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Add adds CloudTrail records (each a JSON object with at least eventTime)
// to what LookupEvents serves.
func (s *Server) Add(t testing.TB, records ...[]byte) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, raw := range records {
		var f map[string]any
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("sweeptest: record is not a JSON object: %v", err)
		}
		ts, _ := f["eventTime"].(string)
		tm, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			t.Fatalf("sweeptest: record eventTime %q: %v", ts, err)
		}
		s.records = append(s.records, record{raw: bytes.Clone(raw), time: tm, f: f})
	}
}

// Requests returns the LookupEvents requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// lookupInput is LookupEventsInput as the SDK serialises it.
type lookupInput struct {
	StartTime        *float64 `json:"StartTime"`
	EndTime          *float64 `json:"EndTime"`
	LookupAttributes []struct {
		AttributeKey   string `json:"AttributeKey"`
		AttributeValue string `json:"AttributeValue"`
	} `json:"LookupAttributes"`
	MaxResults *int   `json:"MaxResults"`
	NextToken  string `json:"NextToken"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if !strings.HasSuffix(target, ".LookupEvents") {
		if s.fallback != nil {
			s.fallback.ServeHTTP(w, r)
			return
		}
		awsError(w, http.StatusBadRequest, "UnknownOperationException", "sweeptest serves LookupEvents only, not "+target)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		awsError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	var in lookupInput
	if err := json.Unmarshal(body, &in); err != nil {
		awsError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if len(in.LookupAttributes) > 1 {
		awsError(w, http.StatusBadRequest, "InvalidLookupAttributesException", "only one lookup attribute may be specified")
		return
	}
	req := Request{NextToken: in.NextToken, MaxResults: 50}
	start, end := time.Time{}, time.Unix(math.MaxInt32, 0)
	if in.StartTime != nil {
		start = epoch(*in.StartTime)
		req.StartTime = start
	}
	if in.EndTime != nil {
		end = epoch(*in.EndTime)
		req.EndTime = end
	}
	if start.After(end) {
		awsError(w, http.StatusBadRequest, "InvalidTimeRangeException", "start time is after end time")
		return
	}
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			awsError(w, http.StatusBadRequest, "InvalidMaxResultsException", "MaxResults must be 1 to 50")
			return
		}
		req.MaxResults = *in.MaxResults
	}
	key, val := "", ""
	if len(in.LookupAttributes) == 1 {
		key, val = in.LookupAttributes[0].AttributeKey, in.LookupAttributes[0].AttributeValue
		req.Attribute = key + "=" + val
	}
	query := fmt.Sprintf("%d/%d/%s", start.Unix(), end.Unix(), req.Attribute)
	offset := 0
	if in.NextToken != "" {
		q, n, ok := strings.Cut(in.NextToken, "#")
		off, err := strconv.Atoi(n)
		if !ok || q != query || err != nil {
			awsError(w, http.StatusBadRequest, "InvalidNextTokenException", "the next token does not belong to this query")
			return
		}
		offset = off
	}

	req.Region = signingRegion(r.Header.Get("Authorization"))
	s.mu.Lock()
	s.requests = append(s.requests, req)
	var match []record
	for _, rec := range s.records {
		if rec.time.Before(start) || rec.time.After(end) || !matches(rec.f, key, val) {
			continue
		}
		if reg := str(rec.f, "awsRegion"); reg != "" && req.Region != "" && reg != req.Region {
			continue // LookupEvents is regional
		}
		match = append(match, rec)
	}
	s.mu.Unlock()
	sort.SliceStable(match, func(i, j int) bool { return match[i].time.After(match[j].time) })

	type event struct {
		EventID         string  `json:"EventId"`
		EventName       string  `json:"EventName"`
		EventSource     string  `json:"EventSource"`
		EventTime       float64 `json:"EventTime"`
		ReadOnly        string  `json:"ReadOnly"`
		Username        string  `json:"Username,omitempty"`
		AccessKeyID     string  `json:"AccessKeyId,omitempty"`
		Resources       []any   `json:"Resources"`
		CloudTrailEvent string  `json:"CloudTrailEvent"`
	}
	out := struct {
		Events    []event `json:"Events"`
		NextToken string  `json:"NextToken,omitempty"`
	}{Events: []event{}}
	for i := offset; i < len(match) && i < offset+req.MaxResults; i++ {
		rec := match[i]
		ev := event{
			EventID:         str(rec.f, "eventID"),
			EventName:       str(rec.f, "eventName"),
			EventSource:     str(rec.f, "eventSource"),
			EventTime:       float64(rec.time.Unix()),
			ReadOnly:        strconv.FormatBool(rec.f["readOnly"] == true),
			Username:        str(rec.f, "userIdentity", "userName"),
			AccessKeyID:     str(rec.f, "userIdentity", "accessKeyId"),
			Resources:       []any{},
			CloudTrailEvent: string(rec.raw),
		}
		out.Events = append(out.Events, ev)
	}
	if next := offset + req.MaxResults; next < len(match) {
		out.NextToken = query + "#" + strconv.Itoa(next)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// matches applies one LookupAttribute to a record.
func matches(f map[string]any, key, val string) bool {
	switch key {
	case "":
		return true
	case "ReadOnly":
		return strconv.FormatBool(f["readOnly"] == true) == val
	case "EventName":
		return str(f, "eventName") == val
	case "EventSource":
		return str(f, "eventSource") == val
	case "EventId":
		return str(f, "eventID") == val
	case "Username":
		return str(f, "userIdentity", "userName") == val
	}
	return false
}

func str(f map[string]any, path ...string) string {
	var v any = f
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// signingRegion returns the region of a SigV4 Authorization header's
// credential scope (Credential=KEY/DATE/REGION/SERVICE/aws4_request).
func signingRegion(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[2]
}

func epoch(sec float64) time.Time {
	whole, frac := math.Modf(sec)
	return time.Unix(int64(whole), int64(frac*1e9)).UTC()
}

func awsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// Record returns a copy of the CloudTrail record raw with the fields set:
// each key is a dotted path ("requestParameters.groupId"), each value
// replaces what is there. It is how tests point a real event's shape at the
// resources they created.
func Record(t testing.TB, raw []byte, set map[string]any) []byte {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("sweeptest: record: %v", err)
	}
	for path, v := range set {
		parts := strings.Split(path, ".")
		m := f
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = v
	}
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatalf("sweeptest: record: %v", err)
	}
	return out
}

// Config returns an SDK configuration for tests: static credentials, region
// us-east-1, at most two attempts per call, and an HTTP client that sends a
// request for "{account}.127.0.0.1:port" (S3 Control's account-prefixed
// host on a loopback endpoint) to 127.0.0.1:port. Endpoints come from the
// environment (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_CLOUDTRAIL...), as for a
// user's configuration.
func Config(ctx context.Context) (aws.Config, error) {
	var d net.Dialer
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err == nil {
				if _, rest, ok := strings.Cut(host, "."); ok && net.ParseIP(rest) != nil {
					addr = net.JoinHostPort(rest, port)
				}
			}
			return d.DialContext(ctx, network, addr)
		}
	})
	return config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithHTTPClient(hc),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithRetryer(func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 2) }),
	)
}

//go:embed records/*.json
var records embed.FS

// Sample returns one of the real CloudTrail records in records/ (see its
// README for their provenance): "ec2-authorize-security-group-ingress-ssh-world-anonymized-cidr.json",
// "iam-attach-user-policy-administratoraccess.json" or
// "ec2-describe-instances-readonly.json".
func Sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := records.ReadFile("records/" + name)
	if err != nil {
		t.Fatalf("sweeptest: %v", err)
	}
	return b
}
