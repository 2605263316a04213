package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/slack/slackfake"
	"github.com/driftwatch/driftwatch/shared/state/dynamo"
)

// countingClient counts the HTTP requests the SDK sends, by service, and
// the time spent waiting for their answers.
type countingClient struct {
	next aws.HTTPClient
	wait atomic.Int64 // nanoseconds
	mu   sync.Mutex
	n    map[string]int64
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	svc := awsmiddleware.GetServiceID(r.Context())
	c.mu.Lock()
	c.n[svc]++
	c.mu.Unlock()
	start := time.Now()
	resp, err := c.next.Do(r)
	c.wait.Add(int64(time.Since(start)))
	return resp, err
}

// reset returns the counts so far and starts again from zero.
func (c *countingClient) reset() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int64{}
	return n
}

// benchEnv is the detector's pipeline as the Lambda builds it (DynamoDB
// store, Slack bot), against moto and a fake Slack on loopback.
type benchEnv struct {
	pipe  *pipeline.Pipeline
	ec2   *ec2.Client
	vpc   string
	calls *countingClient
	slack *slackfake.Server
	seq   atomic.Int64
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	moto := mototest.Start(b)
	cfg, err := moto.Config(ctx)
	if err != nil {
		b.Fatal(err)
	}
	const table, token = "driftwatch-bench", "xoxb-bench-4c1e"
	if err := dynamo.CreateTable(ctx, dynamodb.NewFromConfig(cfg), table); err != nil {
		b.Fatal(err)
	}
	sl := slackfake.Start(b, token)
	b.Setenv("DW_BENCH_SLACK_TOKEN", token)
	dwCfg, err := config.Parse(filepath.Join(b.TempDir(), "driftwatch.yaml"), fmt.Appendf(nil, `
store:
  kind: dynamodb
  table: %s
slack:
  mode: bot
  token: env:DW_BENCH_SLACK_TOKEN
  routing:
    default: "#drift"
`, table))
	if err != nil {
		b.Fatal(err)
	}
	counted := cfg.Copy()
	calls := &countingClient{next: cfg.HTTPClient, n: map[string]int64{}}
	counted.HTTPClient = calls
	built, err := pipeline.Build(ctx, pipeline.Options{
		Config: dwCfg, AWS: counted, S3PathStyle: true,
		Sinks: pipeline.Sinks{Slack: true}, SlackAPIURL: sl.APIURL(),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = built.Close() })
	api := ec2.NewFromConfig(cfg)
	vpc, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.30.0.0/16")})
	if err != nil {
		b.Fatal(err)
	}
	return &benchEnv{pipe: built.Pipeline, ec2: api, vpc: aws.ToString(vpc.Vpc.VpcId), calls: calls, slack: sl}
}

// sshOpened creates n security groups, opens SSH to the world on each
// (for real, in moto) and returns the CloudTrail records of those changes.
func (e *benchEnv) sshOpened(b *testing.B, n int) [][]byte {
	b.Helper()
	ctx := context.Background()
	recs := make([][]byte, n)
	for i := range recs {
		name := fmt.Sprintf("bench-%06d", e.seq.Add(1))
		out, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &e.vpc, GroupName: &name, Description: aws.String("bench")})
		if err != nil {
			b.Fatal(err)
		}
		id := aws.ToString(out.GroupId)
		perm := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}
		if _, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &id, IpPermissions: []ec2types.IpPermission{perm}}); err != nil {
			b.Fatal(err)
		}
		recs[i] = ctrecord.Build(ctrecord.Call{
			Service: "ec2.amazonaws.com", Operation: "AuthorizeSecurityGroupIngress", Region: mototest.Region,
			Caller: ctrecord.Caller{Account: mototest.Account, UserName: "bench-engineer"},
			Request: map[string]any{"groupId": id, "ipPermissions": map[string]any{"items": []any{map[string]any{
				"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
				"ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}}}}}},
			Response: map[string]any{"_return": true},
		})
	}
	return recs
}

// handle decodes one record and runs the whole pipeline on it, checking
// that it opened a finding; it returns the time Handle took.
func (e *benchEnv) handle(ctx context.Context, rec []byte) (time.Duration, error) {
	chs, errs := change.Decode("bench", rec)
	if len(errs) > 0 || len(chs) != 1 {
		return 0, fmt.Errorf("decode: %d changes, %v", len(chs), errs)
	}
	start := time.Now()
	res, err := e.pipe.Handle(ctx, &chs[0])
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	if res.Incomplete() {
		return d, fmt.Errorf("incomplete: %v", res.Outcome)
	}
	if !slices.ContainsFunc(res.Transitions, func(t finding.Transition) bool { return t.Kind == finding.Opened }) {
		return d, fmt.Errorf("no finding opened: %+v", res.Transitions)
	}
	return d, nil
}

// BenchmarkPipelineMoto is the whole pipeline per event against moto and a
// fake Slack on loopback, as the detector Lambda runs it: decode, filter,
// catalog, live re-read of the security group (EC2 DescribeSecurityGroups
// in moto), the built-in rules, the DynamoDB finding store (in moto) and
// the Slack alert (chat.postMessage to the fake). Every event is a real
// change — SSH opened to the world on a fresh group — so every one opens
// a finding and posts one alert.
//
//   - latency: one event at a time; p50-ns and p99-ns are the added
//     latency per event, from Handle's start to its return (decoding is
//     timed separately in shared/change); no-aws-p50-ns and no-aws-p99-ns
//     are the same less the time spent waiting for moto's answers (what
//     is left: driftwatch's own work and the Slack post). ec2-calls/op and
//     dynamodb-calls/op count the HTTP requests the SDK sent.
//   - throughput: GOMAXPROCS goroutines (run it with -cpu N) handle
//     events concurrently; events/s is the wall-clock rate, cpu-ns/event
//     the CPU this process spent per event (moto's own CPU excluded).
//
// moto is a single Python process on the same machine: it, not the
// pipeline, bounds both figures; see docs/benchmarks.md.
func BenchmarkPipelineMoto(b *testing.B) {
	env := newBenchEnv(b)
	ctx := context.Background()
	b.Run("latency", func(b *testing.B) {
		recs := env.sshOpened(b, b.N)
		posts0 := len(env.slack.RequestsTo("/api/chat.postMessage"))
		env.calls.reset()
		durations := make([]time.Duration, 0, b.N)
		own := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			w0 := env.calls.wait.Load()
			d, err := env.handle(ctx, recs[i])
			if err != nil {
				b.Fatal(err)
			}
			durations = append(durations, d)
			own = append(own, d-time.Duration(env.calls.wait.Load()-w0))
		}
		b.StopTimer()
		calls := env.calls.reset()
		if posts := len(env.slack.RequestsTo("/api/chat.postMessage")) - posts0; posts != b.N {
			b.Fatalf("%d Slack posts for %d events, want one each", posts, b.N)
		}
		slices.Sort(durations)
		b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(durations[len(durations)*99/100].Nanoseconds()), "p99-ns")
		slices.Sort(own)
		b.ReportMetric(float64(own[len(own)/2].Nanoseconds()), "no-aws-p50-ns")
		b.ReportMetric(float64(own[len(own)*99/100].Nanoseconds()), "no-aws-p99-ns")
		b.ReportMetric(float64(calls["EC2"])/float64(b.N), "ec2-calls/op")
		b.ReportMetric(float64(calls["DynamoDB"])/float64(b.N), "dynamodb-calls/op")
	})
	b.Run("throughput", func(b *testing.B) {
		recs := env.sshOpened(b, b.N)
		var next atomic.Int64
		var failed atomic.Value
		cpu0 := cpuTime()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) - 1
				if _, err := env.handle(ctx, recs[i]); err != nil {
					failed.CompareAndSwap(nil, err)
				}
			}
		})
		b.StopTimer()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		if cpu := cpuTime() - cpu0; cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/event")
		}
	})
}

// cpuTime is the user+system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
