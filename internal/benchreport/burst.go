package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/lambdahandler"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/state/dynamo"
)

// burstEnv names what the burst child reads from its environment.
const (
	envBurstFile  = "DW_BENCH_BURST_FILE"
	envBurstMoto  = "DW_BENCH_MOTO_URL"
	envBurstTable = "DW_BENCH_TABLE"
	envBurstSlack = "DW_BENCH_SLACK_URL"
	envBurstToken = "DW_BENCH_SLACK_TOKEN"
)

// burstResult is what the child reports on stdout, as JSON.
type burstResult struct {
	Batches int     `json:"batches"`
	Failed  int     `json:"failed"`
	Seconds float64 `json:"seconds"`
	SetupKB int64   `json:"setup_hwm_kb"` // VmHWM when ready, before the first batch
	PeakKB  int64   `json:"peak_hwm_kb"`  // VmHWM after the burst
}

// burstReport is figure 5.
type burstReport struct {
	burstResult
	Events  int
	Watched int
	Noise   map[string]int
	Posts   int
}

// slackToken is the fake Slack's bot token.
const slackToken = "xoxb-bench-9a7f"

// measureBurst prepares a burst of n events — mostly noise, `watched`
// real changes made in moto — and runs the detector's handler over them in
// a child process (this program, with -burst-child), which reports its
// peak resident set.
func measureBurst(ctx context.Context, self string, n, watched int) (*burstReport, error) {
	srv, err := mototest.Launch()
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	cfg, err := srv.Config(ctx)
	if err != nil {
		return nil, err
	}
	const table = "driftwatch-burst"
	if err := dynamo.CreateTable(ctx, dynamodb.NewFromConfig(cfg), table); err != nil {
		return nil, err
	}
	slack := newSlackCounter()
	sl := httptest.NewServer(slack)
	defer sl.Close()

	rep := &burstReport{Watched: watched, Noise: map[string]int{}}
	recs, err := watchedChanges(ctx, ec2.NewFromConfig(cfg), watched)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(7, 11))
	bodies := make([][]byte, 0, n)
	for _, r := range recs {
		bodies = append(bodies, r)
	}
	for len(bodies) < n {
		kind, rec := noiseRecord(rng)
		rep.Noise[kind]++
		bodies = append(bodies, rec)
	}
	rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })

	dir, err := os.MkdirTemp("", "driftwatch-burst-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "batches.jsonl")
	if err := writeBatches(file, bodies); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-burst-child")
	cmd.Env = append(os.Environ(), envBurstFile+"="+file, envBurstMoto+"="+srv.URL, envBurstTable+"="+table,
		envBurstSlack+"="+sl.URL+"/api/", envBurstToken+"="+slackToken)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("burst child: %w", err)
	}
	if err := json.Unmarshal(out, &rep.burstResult); err != nil {
		return nil, fmt.Errorf("burst child output %q: %w", out, err)
	}
	rep.Events = len(bodies)
	rep.Posts = slack.posts()
	if rep.Batches != (len(bodies)+9)/10 {
		return nil, fmt.Errorf("burst: the child handled %d batches of %d", rep.Batches, (len(bodies)+9)/10)
	}
	if rep.Failed > 0 {
		return nil, fmt.Errorf("burst: %d SQS items failed", rep.Failed)
	}
	if rep.Posts != watched {
		return nil, fmt.Errorf("burst: %d Slack alerts for %d failing changes", rep.Posts, watched)
	}
	return rep, nil
}

// watchedChanges opens SSH to the world on n new security groups in moto
// and returns the changes' records in EventBridge envelopes.
func watchedChanges(ctx context.Context, api *ec2.Client, n int) ([][]byte, error) {
	vpc, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.60.0.0/16")})
	if err != nil {
		return nil, fmt.Errorf("create vpc: %w", err)
	}
	out := make([][]byte, 0, n)
	for i := range n {
		name := fmt.Sprintf("burst-%04d", i)
		g, err := api.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: vpc.Vpc.VpcId, GroupName: &name, Description: aws.String("burst")})
		if err != nil {
			return nil, fmt.Errorf("create security group: %w", err)
		}
		id := aws.ToString(g.GroupId)
		if _, err := api.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &id, IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
			return nil, fmt.Errorf("authorize ingress: %w", err)
		}
		rec := ctrecord.Build(ctrecord.Call{Service: "ec2.amazonaws.com", Operation: "AuthorizeSecurityGroupIngress", Region: mototest.Region,
			Caller: ctrecord.Caller{Account: mototest.Account, UserName: "burst-engineer"},
			Request: map[string]any{"groupId": id, "ipPermissions": map[string]any{"items": []any{map[string]any{
				"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}}}}}},
			Response: map[string]any{"_return": true}})
		out = append(out, envelope(rec, "aws.ec2"))
	}
	return out, nil
}

// noise operations, by kind, with their weights in a trail: reads are most
// of it.
var noiseKinds = []struct {
	kind    string
	weight  int
	service string
	ops     []string
}{
	{"read-only", 85, "ec2.amazonaws.com", []string{"DescribeInstances", "DescribeVolumes", "DescribeSecurityGroups", "DescribeSubnets"}},
	{"unwatched write", 6, "ec2.amazonaws.com", []string{"CreateTags", "StartInstances", "CreateVolume"}},
	{"failed write", 5, "s3.amazonaws.com", []string{"PutBucketAcl", "PutBucketPolicy"}},
	{"own principal", 4, "ec2.amazonaws.com", []string{"AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"}},
}

// noiseRecord returns one record the filter drops, in an EventBridge
// envelope, and its kind.
func noiseRecord(rng *rand.Rand) (string, []byte) {
	sum := 0
	for _, k := range noiseKinds {
		sum += k.weight
	}
	pick := rng.IntN(sum)
	for _, k := range noiseKinds {
		if pick >= k.weight {
			pick -= k.weight
			continue
		}
		op := k.ops[rng.IntN(len(k.ops))]
		user := fmt.Sprintf("dev-%02d", rng.IntN(40))
		if k.kind == "own principal" {
			user = "driftwatch-remediator"
		}
		req := map[string]any{"filterSet": map[string]any{}, "instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": fmt.Sprintf("i-%017x", rng.Uint64()>>4)}}}}
		if k.kind == "own principal" {
			req = map[string]any{"groupId": fmt.Sprintf("sg-%017x", rng.Uint64()>>4)}
		}
		rec := ctrecord.Build(ctrecord.Call{Service: k.service, Operation: op, Region: mototest.Region,
			Caller: ctrecord.Caller{Account: mototest.Account, UserName: user}, Request: req})
		switch k.kind {
		case "read-only":
			rec = []byte(strings.Replace(string(rec), `"readOnly":false`, `"readOnly":true`, 1))
		case "failed write":
			rec = []byte(strings.Replace(string(rec), `"eventCategory"`, `"errorCode":"AccessDenied","errorMessage":"User is not authorized","eventCategory"`, 1))
		}
		return k.kind, envelope(rec, "aws."+strings.TrimSuffix(k.service, ".amazonaws.com"))
	}
	panic("unreachable")
}

// envelope wraps a record in the EventBridge event the rule delivers.
func envelope(rec []byte, source string) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"%s","detail-type":"AWS API Call via CloudTrail","source":"%s","account":"%s","time":"%s","region":"%s","resources":[],"detail":%s}`,
		ctrecord.UUID(), source, mototest.Account, time.Now().UTC().Format(time.RFC3339), mototest.Region, rec)
}

// writeBatches writes the bodies as SQS events of 10 messages (the
// detector's batch size), one JSON event per line.
func writeBatches(path string, bodies [][]byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := 0; i < len(bodies); i += 10 {
		var ev events.SQSEvent
		for j := i; j < min(i+10, len(bodies)); j++ {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: strconv.Itoa(j), ReceiptHandle: "rh-" + strconv.Itoa(j), Body: string(bodies[j]),
				Attributes: map[string]string{"ApproximateReceiveCount": "1"}, EventSource: "aws:sqs",
				EventSourceARN: "arn:aws:sqs:" + mototest.Region + ":" + mototest.Account + ":driftwatch-events", AWSRegion: mototest.Region})
		}
		if err := enc.Encode(ev); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// burstChild is the child process: the detector's setup (pipeline.Build
// from a config, lambdahandler.Handler) against moto and the fake Slack,
// then every batch of the file through Handler.Invoke, one at a time as
// one Lambda instance receives them. It prints a burstResult.
func burstChild() error {
	ctx := context.Background()
	srv := &mototest.Server{URL: os.Getenv(envBurstMoto)}
	awsCfg, err := srv.Config(ctx)
	if err != nil {
		return err
	}
	cfg, err := config.Parse("driftwatch.yaml", fmt.Appendf(nil, `
own_principals: ["arn:aws:iam::*:user/driftwatch-*"]
store:
  kind: dynamodb
  table: %s
slack:
  mode: bot
  token: env:%s
  routing:
    default: "#drift"
`, os.Getenv(envBurstTable), envBurstToken))
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	p, err := pipeline.Build(ctx, pipeline.Options{Config: cfg, AWS: awsCfg, S3PathStyle: true, Log: log,
		Sinks: pipeline.Sinks{Slack: true}, SlackAPIURL: os.Getenv(envBurstSlack)})
	if err != nil {
		return err
	}
	defer p.Close()
	h := &lambdahandler.Handler{Pipeline: p.Pipeline, Log: log}
	var res burstResult
	res.SetupKB = procStatusKB("VmHWM")
	f, err := os.Open(os.Getenv(envBurstFile))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	start := time.Now()
	for sc.Scan() {
		out, err := h.Invoke(ctx, json.RawMessage(sc.Bytes()))
		if err != nil {
			return err
		}
		resp, ok := out.(events.SQSEventResponse)
		if !ok {
			return fmt.Errorf("handler answered %T to an SQS batch", out)
		}
		res.Failed += len(resp.BatchItemFailures)
		res.Batches++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	res.Seconds = time.Since(start).Seconds()
	res.PeakKB = procStatusKB("VmHWM")
	return json.NewEncoder(os.Stdout).Encode(res)
}
