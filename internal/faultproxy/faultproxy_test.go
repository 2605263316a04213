package faultproxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	slackapi "github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/internal/faultproxy"
)

// upstream is a server that answers 200 and counts what reaches it.
type upstream struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func startUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		w.Header().Set("X-Upstream", "yes")
		_, _ = io.WriteString(w, "upstream:"+r.URL.Path)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// awsConfig reaches the proxy without retries, so that each call shows
// the one answer the proxy gave.
func awsConfig(p *faultproxy.Proxy) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(p.URL()),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
}

func TestAWSThrottlingPerProtocol(t *testing.T) {
	ctx := context.Background()
	up := startUpstream(t)
	tests := []struct {
		name     string
		call     func(cfg aws.Config) error
		wantCode string
	}{
		{"EC2 query", func(cfg aws.Config) error {
			_, err := ec2.NewFromConfig(cfg).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-1"}})
			return err
		}, "RequestLimitExceeded"},
		{"IAM query", func(cfg aws.Config) error {
			_, err := iam.NewFromConfig(cfg).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
			return err
		}, "Throttling"},
		{"DynamoDB JSON 1.0", func(cfg aws.Config) error {
			_, err := dynamodb.NewFromConfig(cfg).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"),
				Key: map[string]dynamotypes.AttributeValue{"pk": &dynamotypes.AttributeValueMemberS{Value: "k"}}})
			return err
		}, "ThrottlingException"},
		{"SQS JSON", func(cfg aws.Config) error {
			_, err := sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(aws.ToString(cfg.BaseEndpoint) + "/123456789012/q"), MessageBody: aws.String("b")})
			return err
		}, "RequestThrottled"},
		{"S3 REST-XML", func(cfg aws.Config) error {
			_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("b")})
			return err
		}, "SlowDown"},
		{"Lambda REST-JSON", func(cfg aws.Config) error {
			_, err := lambda.NewFromConfig(cfg).GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("f")})
			return err
		}, "TooManyRequestsException"},
	}
	p := faultproxy.Start(t, faultproxy.Config{Target: up.srv.URL, Dialect: faultproxy.AWS, Seed: 1,
		Faults: faultproxy.Faults{Rate: 1, Kinds: []faultproxy.Kind{faultproxy.Throttle}}})
	throttles := retry.IsErrorThrottles(retry.DefaultThrottles)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(awsConfig(p))
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("want an API error, got %v", err)
			}
			if ae.ErrorCode() != tt.wantCode {
				t.Errorf("code %q, want %q (%v)", ae.ErrorCode(), tt.wantCode, err)
			}
			if !throttles.IsErrorThrottle(err).Bool() {
				t.Errorf("the SDK does not classify %v as throttling", err)
			}
			if !retry.NewStandard().IsErrorRetryable(err) {
				t.Errorf("the standard retryer would not retry %v", err)
			}
		})
	}
	if n := up.hits.Load(); n != 0 {
		t.Errorf("%d faulted requests reached the server", n)
	}
}

func TestAWSServerErrorsAndDropsAreRetryable(t *testing.T) {
	ctx := context.Background()
	up := startUpstream(t)
	for _, kind := range []faultproxy.Kind{faultproxy.ServerError, faultproxy.Unavailable, faultproxy.Drop} {
		t.Run(string(kind), func(t *testing.T) {
			p := faultproxy.Start(t, faultproxy.Config{Target: up.srv.URL, Dialect: faultproxy.AWS, Seed: 2,
				Faults: faultproxy.Faults{Rate: 1, Kinds: []faultproxy.Kind{kind}}})
			for _, call := range []func(aws.Config) error{
				func(cfg aws.Config) error {
					_, err := ec2.NewFromConfig(cfg).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
					return err
				},
				func(cfg aws.Config) error {
					_, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("t")})
					return err
				},
			} {
				err := call(awsConfig(p))
				if err == nil {
					t.Fatal("call succeeded through a proxy faulting every request")
				}
				if !retry.NewStandard().IsErrorRetryable(err) {
					t.Errorf("the standard retryer would not retry %v", err)
				}
			}
			want := map[faultproxy.Kind]int{kind: 2}
			if s := p.Stats(); s.Requests != 2 || s.Forwarded != 0 || s.Faults[kind] != 2 || len(s.Faults) != 1 {
				t.Errorf("stats %v, want 2 requests, all %v", s, want)
			}
		})
	}
	if n := up.hits.Load(); n != 0 {
		t.Errorf("%d faulted requests reached the server", n)
	}
}

func TestSlackThrottleCarriesRetryAfter(t *testing.T) {
	up := startUpstream(t)
	p := faultproxy.Start(t, faultproxy.Config{Target: up.srv.URL, Dialect: faultproxy.Slack, Seed: 3, RetryAfter: 2 * time.Second,
		Faults: faultproxy.Faults{Rate: 1, Kinds: []faultproxy.Kind{faultproxy.Throttle}}})
	api := slackapi.New("xoxb-test", slackapi.OptionAPIURL(p.URL()+"/api/"))
	_, _, err := api.PostMessage("#drift", slackapi.MsgOptionText("hi", false))
	var rl *slackapi.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("want a rate-limited error with Retry-After 2s, got %v", err)
	}

	p.Set(faultproxy.Faults{Rate: 1, Kinds: []faultproxy.Kind{faultproxy.ServerError}})
	_, _, err = api.PostMessage("#drift", slackapi.MsgOptionText("hi", false))
	var sc slackapi.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != http.StatusInternalServerError {
		t.Fatalf("want a 500 status error, got %v", err)
	}
}

func TestJiraAnswers(t *testing.T) {
	up := startUpstream(t)
	tests := []struct {
		kind       faultproxy.Kind
		status     int
		retryAfter string
	}{
		{faultproxy.Throttle, http.StatusTooManyRequests, "1"},
		{faultproxy.Unavailable, http.StatusServiceUnavailable, "1"},
		{faultproxy.ServerError, http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			p := faultproxy.Start(t, faultproxy.Config{Target: up.srv.URL, Dialect: faultproxy.Jira, Seed: 4,
				Faults: faultproxy.Faults{Rate: 1, Kinds: []faultproxy.Kind{tt.kind}}})
			resp, err := http.Post(p.URL()+"/rest/api/3/issue", "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("Retry-After") != tt.retryAfter {
				t.Errorf("status %d Retry-After %q, want %d %q", resp.StatusCode, resp.Header.Get("Retry-After"), tt.status, tt.retryAfter)
			}
			if !strings.Contains(string(body), `"errorMessages"`) {
				t.Errorf("body %s is not Jira's error collection", body)
			}
		})
	}
}

// faultsOf sends the requests in order and returns the fault each got,
// keyed by path.
func faultsOf(t *testing.T, target string, seed uint64, paths []string) map[string]faultproxy.Kind {
	t.Helper()
	p := faultproxy.Start(t, faultproxy.Config{Target: target, Seed: seed, Faults: faultproxy.Faults{Rate: 0.3}})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range paths {
		resp, err := client.Post(p.URL()+path, "text/plain", strings.NewReader("body of "+path))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	out := map[string]faultproxy.Kind{}
	for _, e := range p.Events() {
		out[e.Path] = e.Fault
	}
	return out
}

func TestDecisionsAreSeededAndOrderIndependent(t *testing.T) {
	up := startUpstream(t)
	var paths []string
	for i := range 400 {
		paths = append(paths, fmt.Sprintf("/r/%d", i))
	}
	first := faultsOf(t, up.srv.URL, 42, paths)
	reversed := slices.Clone(paths)
	slices.Reverse(reversed)
	again := faultsOf(t, up.srv.URL, 42, reversed)
	other := faultsOf(t, up.srv.URL, 43, paths)

	faulted, kinds, differ := 0, map[faultproxy.Kind]int{}, 0
	for _, path := range paths {
		if first[path] != again[path] {
			t.Errorf("%s: seed 42 gave %q, then %q in reverse order", path, first[path], again[path])
		}
		if first[path] != other[path] {
			differ++
		}
		if first[path] != "" {
			faulted++
			kinds[first[path]]++
		}
	}
	if faulted < 80 || faulted > 160 {
		t.Errorf("%d of 400 requests faulted at rate 0.3", faulted)
	}
	for _, k := range faultproxy.AllKinds {
		if kinds[k] == 0 {
			t.Errorf("no %s fault among %d", k, faulted)
		}
	}
	if differ == 0 {
		t.Error("seeds 42 and 43 gave the same faults")
	}
	if got, want := int(up.hits.Load()), 3*len(paths)-countFaults(first)-countFaults(again)-countFaults(other); got != want {
		t.Errorf("upstream saw %d requests, want the %d forwarded ones", got, want)
	}
}

func countFaults(m map[string]faultproxy.Kind) int {
	n := 0
	for _, k := range m {
		if k != "" {
			n++
		}
	}
	return n
}

func TestRepeatedRequestsDrawAgain(t *testing.T) {
	up := startUpstream(t)
	p := faultproxy.Start(t, faultproxy.Config{Target: up.srv.URL, Seed: 7, Faults: faultproxy.Faults{Rate: 0.5, Kinds: []faultproxy.Kind{faultproxy.ServerError}}})
	ok := 0
	for range 20 {
		resp, err := http.Get(p.URL() + "/same")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			ok++
		}
	}
	if ok == 0 || ok == 20 {
		t.Fatalf("%d of 20 identical requests succeeded: a retry must get a fresh draw", ok)
	}
	for i, e := range p.Events() {
		if e.Occurrence != i {
			t.Fatalf("event %d has occurrence %d", i, e.Occurrence)
		}
	}
}

func TestRulesAndLatency(t *testing.T) {
	up := startUpstream(t)
	const maxLatency = 5 * time.Millisecond
	p := faultproxy.Start(t, faultproxy.Config{Target: up.srv.URL, Seed: 9,
		Faults: faultproxy.Faults{Latency: maxLatency},
		Rules: []faultproxy.Rule{{Name: "storm", Match: func(_ *http.Request, body []byte) bool { return strings.Contains(string(body), "sg-storm") },
			Faults: faultproxy.Faults{Rate: 1, Kinds: []faultproxy.Kind{faultproxy.Unavailable}}}}})
	for i := range 20 {
		body := fmt.Sprintf("GroupId.1=sg-calm&n=%d", i)
		if i%2 == 0 {
			body = fmt.Sprintf("GroupId.1=sg-storm&n=%d", i)
		}
		resp, err := http.Post(p.URL()+"/", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		wantStatus := http.StatusOK
		if i%2 == 0 {
			wantStatus = http.StatusServiceUnavailable
		}
		if resp.StatusCode != wantStatus {
			t.Errorf("request %d: status %d, want %d", i, resp.StatusCode, wantStatus)
		}
	}
	delayed := 0
	for i, e := range p.Events() {
		if (e.Rule == "storm") != (e.Fault == faultproxy.Unavailable) {
			t.Errorf("event %d: rule %q, fault %q", i, e.Rule, e.Fault)
		}
		if e.Rule == "" && (e.Latency < 0 || e.Latency > maxLatency) {
			t.Errorf("event %d: latency %v outside [0, %v]", i, e.Latency, maxLatency)
		}
		if e.Latency > 0 {
			delayed++
		}
		if e.Rule == "storm" && e.Latency != 0 {
			t.Errorf("event %d: the storm rule adds no latency, got %v", i, e.Latency)
		}
	}
	if delayed == 0 {
		t.Error("no request was delayed")
	}
	if up.hits.Load() != 10 {
		t.Errorf("upstream saw %d requests, want the 10 calm ones", up.hits.Load())
	}
}
