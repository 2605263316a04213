package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/faultproxy"
	"github.com/driftwatch/driftwatch/internal/mototest"
	dwconfig "github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/lambdahandler"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/queue"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/slack/slackfake"
	"github.com/driftwatch/driftwatch/shared/state/dynamo"
	"github.com/driftwatch/driftwatch/shared/ticket/jira/jirafake"
)

const (
	slackToken  = "xoxb-reliability-3f9a"
	jiraEmail   = "driftwatch-bot@example.com"
	jiraToken   = "jira-reliability-81c4"
	jiraProject = "SEC"
	ec2Source   = "ec2.amazonaws.com"
)

// The security group rules of the built-in pack the tests provoke.
const (
	ruleAdminV4 = "aws-ec2-security-group-admin-ports-open-ipv4"
	ruleAdminV6 = "aws-ec2-security-group-admin-ports-open-ipv6"
	ruleDB      = "aws-ec2-security-group-database-ports-open"
)

// moto is the server every test shares; each test has its own queues,
// table and VPC.
var moto *mototest.Server

func TestMain(m *testing.M) {
	s, err := mototest.Launch()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability tests need moto:", err)
		os.Exit(1)
	}
	moto = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// seedOf returns the test's seed, DRIFTWATCH_SEED or the clock, and logs
// it.
func seedOf(t *testing.T) uint64 {
	t.Helper()
	if v := os.Getenv("DRIFTWATCH_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DRIFTWATCH_SEED %q: %v", v, err)
		}
		t.Logf("seed %d (from DRIFTWATCH_SEED)", s)
		return s
	}
	s := uint64(time.Now().UnixNano())
	t.Logf("seed %d (DRIFTWATCH_SEED=%d draws the same faults and orders)", s, s)
	return s
}

// options shape a harness.
type options struct {
	// maxReceives is the queue's redrive policy maxReceiveCount.
	maxReceives int
	// visibility is the queue's visibility timeout in seconds; it exceeds
	// timeout, as Lambda requires.
	visibility int32
	// timeout is the function's timeout: each invocation gets a context
	// that ends then.
	timeout time.Duration
	// reserve is the handler's Reserve: the part of the timeout kept to
	// report failures and park messages.
	reserve time.Duration
	// batchSize is the event source mapping's batch size; workers the
	// concurrent invocations.
	batchSize int32
	workers   int
}

// harness is the detector function wired to moto, Slack and Jira through
// fault proxies, with its queue and dead-letter queue.
type harness struct {
	t    *testing.T
	seed uint64
	rng  *rand.Rand
	opts options

	awsProxy, slackProxy, jiraProxy *faultproxy.Proxy
	slack                           *slackfake.Server
	jira                            *jirafake.Server

	// sqs and ec2 reach moto directly: the queue's service side (Lambda's
	// poller) and the test's own changes.
	sqs *sqs.Client
	ec2 *ec2.Client

	queueURL, queueARN, dlqURL string
	vpc                        string

	built   *pipeline.Built
	store   finding.Store // the findings table, read directly
	handler *lambdahandler.Handler
	parks   *countingParker
	seq     int // changes made, for event times
	base    time.Time
}

// countingParker counts the parks that succeeded and failed.
type countingParker struct {
	dl         *queue.DeadLetter
	ok, failed atomic.Int64
}

var _ lambdahandler.Parker = (*countingParker)(nil)

func (p *countingParker) Park(ctx context.Context, body, reason string) error {
	err := p.dl.Park(ctx, body, reason)
	if err != nil {
		p.failed.Add(1)
	} else {
		p.ok.Add(1)
	}
	return err
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, seed: seedOf(t), opts: o, base: time.Now().Add(-time.Hour).Truncate(time.Second)}
	h.rng = rand.New(rand.NewPCG(h.seed, 0x5eed))

	direct, err := moto.Config(ctx)
	must(t, "aws config for moto", err)
	h.sqs, h.ec2 = sqs.NewFromConfig(direct), ec2.NewFromConfig(direct)
	h.slack = slackfake.Start(t, slackToken)
	h.jira = jirafake.Start(t, jirafake.Options{Email: jiraEmail, Token: jiraToken, Projects: []string{jiraProject}})
	h.awsProxy = faultproxy.Start(t, faultproxy.Config{Target: moto.URL, Dialect: faultproxy.AWS, Seed: h.seed})
	h.slackProxy = faultproxy.Start(t, faultproxy.Config{Target: strings.TrimSuffix(h.slack.APIURL(), "/api/"), Dialect: faultproxy.Slack, Seed: h.seed + 1})
	h.jiraProxy = faultproxy.Start(t, faultproxy.Config{Target: h.jira.URL(), Dialect: faultproxy.Jira, Seed: h.seed + 2})

	// The function's own AWS configuration, as in Lambda: the SDK's
	// defaults (the standard retryer, three attempts, its retry quota),
	// with the fault proxy as endpoint.
	fn, err := config.LoadDefaultConfig(ctx, config.WithRegion(mototest.Region), config.WithBaseEndpoint(h.awsProxy.URL()),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	must(t, "aws config for the function", err)

	name := "reliability-" + ctrecord.UUID()[:8]
	dlq, err := h.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	must(t, "create dead-letter queue", err)
	h.dlqURL = aws.ToString(dlq.QueueUrl)
	dlqARN := h.queueAttribute(h.dlqURL, sqstypes.QueueAttributeNameQueueArn)
	redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlqARN, "maxReceiveCount": strconv.Itoa(o.maxReceives)})
	q, err := h.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		string(sqstypes.QueueAttributeNameVisibilityTimeout): strconv.Itoa(int(o.visibility)),
		string(sqstypes.QueueAttributeNameRedrivePolicy):     string(redrive),
	}})
	must(t, "create queue", err)
	h.queueURL = aws.ToString(q.QueueUrl)
	h.queueARN = h.queueAttribute(h.queueURL, sqstypes.QueueAttributeNameQueueArn)
	must(t, "create findings table", dynamo.CreateTable(ctx, dynamodb.NewFromConfig(direct), name))
	h.store = dynamo.New(dynamodb.NewFromConfig(direct), name, dynamo.Options{})

	cfg, err := dwconfig.Parse("driftwatch.yaml", fmt.Appendf(nil, `
store:
  kind: dynamodb
  table: %s
slack:
  mode: bot
  token: env:DW_RELIABILITY_SLACK_TOKEN
  routing:
    default: "#drift"
jira:
  base_url: %s
  email: %s
  api_token: env:DW_RELIABILITY_JIRA_TOKEN
  project: %s
`, name, h.jiraProxy.URL(), jiraEmail, jiraProject))
	must(t, "config", err)
	secrets := map[dwconfig.SecretRef]string{"env:DW_RELIABILITY_SLACK_TOKEN": slackToken, "env:DW_RELIABILITY_JIRA_TOKEN": jiraToken}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("DRIFTWATCH_HARNESS_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h.built, err = pipeline.Build(ctx, pipeline.Options{
		Config: cfg, AWS: fn, Sinks: pipeline.Sinks{Slack: true, Jira: true},
		SlackAPIURL: h.slackProxy.URL() + "/api/",
		Secrets: func(_ context.Context, ref dwconfig.SecretRef) (secret.Secret, error) {
			v, ok := secrets[ref]
			if !ok {
				return secret.Secret{}, fmt.Errorf("no secret %s", ref)
			}
			return secret.New(v), nil
		},
		Log: log,
	})
	must(t, "build pipeline", err)
	t.Cleanup(func() { _ = h.built.Close() })
	// A delivery cut by the function's timeout leaves its finding leased
	// until the lease ends (2 minutes by default); the harness sweeps
	// sooner, so it uses a lease a little over the slowest notifier call.
	h.built.Lifecycle.Lease = 15 * time.Second

	h.parks = &countingParker{dl: queue.NewDeadLetter(sqs.NewFromConfig(fn), h.dlqURL)}
	h.handler = &lambdahandler.Handler{Pipeline: h.built.Pipeline, DeadLetter: h.parks, MaxReceives: o.maxReceives,
		Reserve: o.reserve, Log: log}

	vpc, err := h.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.30.0.0/16")})
	must(t, "create vpc", err)
	h.vpc = aws.ToString(vpc.Vpc.VpcId)
	return h
}

func (h *harness) queueAttribute(url string, name sqstypes.QueueAttributeName) string {
	h.t.Helper()
	out, err := h.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{name}})
	must(h.t, "get queue attribute "+string(name), err)
	return out.Attributes[string(name)]
}

// faults sets the same faults on all three proxies.
func (h *harness) faults(f faultproxy.Faults, awsRules ...faultproxy.Rule) {
	h.awsProxy.Set(f, awsRules...)
	h.slackProxy.Set(f)
	h.jiraProxy.Set(f)
}

// proxyStats sums what the three proxies did.
func (h *harness) proxyStats() string {
	return fmt.Sprintf("AWS: %v; Slack: %v; Jira: %v", h.awsProxy.Stats(), h.slackProxy.Stats(), h.jiraProxy.Stats())
}

// perm is one ingress permission with one CIDR.
type perm struct {
	proto string
	port  int32
	cidr  string
}

func (p perm) v6() bool { return strings.Contains(p.cidr, ":") }

func (p perm) sdk() ec2types.IpPermission {
	ip := ec2types.IpPermission{IpProtocol: aws.String(p.proto), FromPort: aws.Int32(p.port), ToPort: aws.Int32(p.port)}
	if p.v6() {
		ip.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(p.cidr)}}
	} else {
		ip.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(p.cidr)}}
	}
	return ip
}

// items is an EC2 list as CloudTrail records it.
func items(v ...any) map[string]any {
	if len(v) == 0 {
		return map[string]any{}
	}
	return map[string]any{"items": v}
}

// record is the ipPermissions element CloudTrail records for p.
func (p perm) record() map[string]any {
	var v4, v6 []any
	if p.v6() {
		v6 = append(v6, map[string]any{"cidrIpv6": p.cidr})
	} else {
		v4 = append(v4, map[string]any{"cidrIp": p.cidr})
	}
	return map[string]any{"ipProtocol": p.proto, "fromPort": p.port, "toPort": p.port, "groups": items(),
		"ipRanges": items(v4...), "ipv6Ranges": items(v6...), "prefixListIds": items()}
}

// group is a security group the test changes.
type group struct {
	id, arn string
}

// users are the principals changes are made by.
var users = []string{"alice", "bob", "carol"}

// event is one change's CloudTrail record in its EventBridge envelope, as
// the queue carries it.
type event struct {
	id   string // CloudTrail eventID
	body string
}

// newEvent wraps a CloudTrail record of a call made now in moto.
func (h *harness) newEvent(operation string, request, response map[string]any) event {
	h.seq++
	rec := ctrecord.Build(ctrecord.Call{
		Service: ec2Source, Operation: operation, Region: mototest.Region,
		Caller:  ctrecord.Caller{Account: mototest.Account, UserName: users[h.rng.IntN(len(users))]},
		Request: request, Response: response,
		Time: h.base.Add(time.Duration(h.seq) * time.Second),
	})
	var head struct {
		EventID string `json:"eventID"`
	}
	must(h.t, "read record", json.Unmarshal(rec, &head))
	env, err := json.Marshal(map[string]any{
		"version": "0", "id": ctrecord.UUID(), "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
		"account": mototest.Account, "time": h.base.Add(time.Duration(h.seq) * time.Second).UTC().Format(time.RFC3339),
		"region": mototest.Region, "resources": []string{}, "detail": json.RawMessage(rec),
	})
	must(h.t, "envelope", err)
	return event{id: head.EventID, body: string(env)}
}

// createGroup creates a security group and returns it with its event.
func (h *harness) createGroup(name string) (*group, event) {
	h.t.Helper()
	out, err := h.ec2.CreateSecurityGroup(context.Background(), &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
		Description: aws.String("reliability harness"), VpcId: aws.String(h.vpc)})
	must(h.t, "create security group", err)
	id := aws.ToString(out.GroupId)
	g := &group{id: id, arn: fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", mototest.Region, mototest.Account, id)}
	return g, h.newEvent("CreateSecurityGroup",
		map[string]any{"groupName": name, "groupDescription": "reliability harness", "vpcId": h.vpc},
		map[string]any{"_return": true, "groupId": id})
}

// authorize opens p on g and returns the event.
func (h *harness) authorize(g *group, p perm) event {
	h.t.Helper()
	out, err := h.ec2.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(g.id), IpPermissions: []ec2types.IpPermission{p.sdk()}})
	must(h.t, fmt.Sprintf("authorize %v on %s", p, g.id), err)
	var rules []any
	for _, r := range out.SecurityGroupRules {
		it := map[string]any{"groupId": aws.ToString(r.GroupId), "securityGroupRuleId": aws.ToString(r.SecurityGroupRuleId),
			"isEgress": aws.ToBool(r.IsEgress), "ipProtocol": aws.ToString(r.IpProtocol),
			"fromPort": aws.ToInt32(r.FromPort), "toPort": aws.ToInt32(r.ToPort)}
		if r.CidrIpv4 != nil {
			it["cidrIpv4"] = *r.CidrIpv4
		}
		if r.CidrIpv6 != nil {
			it["cidrIpv6"] = *r.CidrIpv6
		}
		rules = append(rules, it)
	}
	return h.newEvent("AuthorizeSecurityGroupIngress", map[string]any{"groupId": g.id, "ipPermissions": items(p.record())},
		map[string]any{"_return": true, "securityGroupRuleSet": items(rules...)})
}

// revoke closes p on g and returns the event.
func (h *harness) revoke(g *group, p perm) event {
	h.t.Helper()
	_, err := h.ec2.RevokeSecurityGroupIngress(context.Background(), &ec2.RevokeSecurityGroupIngressInput{
		GroupId: aws.String(g.id), IpPermissions: []ec2types.IpPermission{p.sdk()}})
	must(h.t, fmt.Sprintf("revoke %v on %s", p, g.id), err)
	return h.newEvent("RevokeSecurityGroupIngress", map[string]any{"groupId": g.id, "ipPermissions": items(p.record())},
		map[string]any{"_return": true})
}

// send puts bodies on the queue, ten per call, and returns their message
// IDs in order.
func (h *harness) send(bodies []string) []string {
	h.t.Helper()
	var ids []string
	for start := 0; start < len(bodies); start += 10 {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for i, b := range bodies[start:min(start+10, len(bodies))] {
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)})
		}
		out, err := h.sqs.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(h.queueURL), Entries: entries})
		must(h.t, "send messages", err)
		if len(out.Failed) > 0 {
			h.t.Fatalf("send messages: %d failed: %+v", len(out.Failed), out.Failed[0])
		}
		got := make([]string, len(entries))
		for _, s := range out.Successful {
			i, _ := strconv.Atoi(aws.ToString(s.Id))
			got[i] = aws.ToString(s.MessageId)
		}
		ids = append(ids, got...)
	}
	return ids
}

// drainStats counts what the poller did.
type drainStats struct {
	invocations, received, deleted, itemFailures, batchErrors atomic.Int64
	// staleDeletes are deletes refused because the message had been
	// received again meanwhile (it is processed again, a duplicate).
	staleDeletes atomic.Int64
	// longest is the longest invocation, in nanoseconds.
	longest atomic.Int64
}

func (s *drainStats) String() string {
	return fmt.Sprintf("%d invocations (longest %s), %d messages received, %d deleted, %d returned as batch item failures, %d failed invocations, %d stale deletes",
		s.invocations.Load(), time.Duration(s.longest.Load()).Round(time.Millisecond), s.received.Load(), s.deleted.Load(),
		s.itemFailures.Load(), s.batchErrors.Load(), s.staleDeletes.Load())
}

// drain plays Lambda's SQS event source mapping until the queue is empty:
// workers receive batches, invoke the handler with the JSON Lambda sends
// and a context that ends at the function's timeout, and delete the
// messages not named in batchItemFailures; a failed invocation deletes
// nothing. Messages the handler fails come back after the visibility
// timeout, and the queue's redrive policy moves them to the dead-letter
// queue after maxReceives receives.
func (h *harness) drain(limit time.Duration) *drainStats {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	st := &drainStats{}
	var wg sync.WaitGroup
	errs := make(chan error, h.opts.workers)
	for range h.opts.workers {
		wg.Go(func() {
			if err := h.poll(ctx, st); err != nil {
				errs <- err
				cancel()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		h.t.Fatalf("poller: %v (%s)", err, st)
	}
	return st
}

func (h *harness) poll(ctx context.Context, st *drainStats) error {
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("queue not drained in time: %w", err)
		}
		out, err := h.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(h.queueURL), MaxNumberOfMessages: h.opts.batchSize,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		if len(out.Messages) == 0 {
			empty, err := h.queueEmpty(ctx)
			if err != nil {
				return err
			}
			if empty {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if _, err := h.invoke(ctx, out.Messages, st); err != nil {
			return err
		}
	}
}

// queueEmpty reports whether the queue holds no message, visible, in
// flight or delayed.
func (h *harness) queueEmpty(ctx context.Context) (bool, error) {
	names := []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}
	out, err := h.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(h.queueURL), AttributeNames: names})
	if err != nil {
		return false, fmt.Errorf("queue attributes: %w", err)
	}
	for _, n := range names {
		if out.Attributes[string(n)] != "0" {
			return false, nil
		}
	}
	return true, nil
}

// lambdaEvent is the event Lambda builds from received messages.
func (h *harness) lambdaEvent(msgs []sqstypes.Message) events.SQSEvent {
	var ev events.SQSEvent
	for _, m := range msgs {
		rec := events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes,
			EventSource: "aws:sqs", EventSourceARN: h.queueARN, AWSRegion: mototest.Region,
		}
		for k, v := range m.MessageAttributes {
			if rec.MessageAttributes == nil {
				rec.MessageAttributes = map[string]events.SQSMessageAttribute{}
			}
			rec.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: v.StringValue, DataType: aws.ToString(v.DataType)}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// invoke runs the handler on one batch, deletes what succeeded and returns
// the IDs of the messages it reported failed (all of them when the
// invocation failed).
func (h *harness) invoke(ctx context.Context, msgs []sqstypes.Message, st *drainStats) (map[string]bool, error) {
	st.invocations.Add(1)
	st.received.Add(int64(len(msgs)))
	payload, err := json.Marshal(h.lambdaEvent(msgs))
	if err != nil {
		return nil, err
	}
	fnCtx, cancel := context.WithTimeout(ctx, h.opts.timeout)
	began := time.Now()
	out, err := h.handler.Invoke(fnCtx, payload)
	took := time.Since(began)
	cancel()
	for {
		cur := st.longest.Load()
		if int64(took) <= cur || st.longest.CompareAndSwap(cur, int64(took)) {
			break
		}
	}
	failed := map[string]bool{}
	if err != nil {
		st.batchErrors.Add(1)
		for _, m := range msgs { // the whole batch comes back
			failed[aws.ToString(m.MessageId)] = true
		}
		return failed, nil
	}
	resp, ok := out.(events.SQSEventResponse)
	if !ok {
		return nil, fmt.Errorf("handler answered a batch with %T", out)
	}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	st.itemFailures.Add(int64(len(failed)))
	var entries []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range msgs {
		if !failed[aws.ToString(m.MessageId)] {
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if len(entries) == 0 {
		return failed, nil
	}
	del, err := h.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(h.queueURL), Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("delete processed messages: %w", err)
	}
	for _, f := range del.Failed {
		// Lambda logs a failed delete and moves on; the message is
		// delivered again. Only a stale receipt handle is expected.
		if aws.ToString(f.Code) != "ReceiptHandleIsInvalid" {
			return nil, fmt.Errorf("delete processed message: %s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
		}
		st.staleDeletes.Add(1)
	}
	st.deleted.Add(int64(len(del.Successful)))
	return failed, nil
}

// parked is a message in the dead-letter queue.
type parked struct {
	id, body, reason string
}

// peekDLQ returns the dead-letter queue's messages and leaves them there:
// it receives them all, hidden for a minute, then makes them visible again.
func (h *harness) peekDLQ() []parked {
	h.t.Helper()
	ctx := context.Background()
	want, err := strconv.Atoi(h.queueAttribute(h.dlqURL, sqstypes.QueueAttributeNameApproximateNumberOfMessages))
	must(h.t, "count dead-letter messages", err)
	var (
		out      []parked
		receipts []string
	)
	for len(out) < want {
		res, err := h.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(h.dlqURL), MaxNumberOfMessages: 10,
			VisibilityTimeout: 60, MessageAttributeNames: []string{"All"}})
		must(h.t, "receive from the dead-letter queue", err)
		if len(res.Messages) == 0 {
			h.t.Fatalf("the dead-letter queue said it held %d messages, %d received", want, len(out))
		}
		for _, m := range res.Messages {
			p := parked{id: aws.ToString(m.MessageId), body: aws.ToString(m.Body)}
			if v, ok := m.MessageAttributes[queue.ReasonAttribute]; ok {
				p.reason = aws.ToString(v.StringValue)
			}
			out = append(out, p)
			receipts = append(receipts, aws.ToString(m.ReceiptHandle))
		}
	}
	for start := 0; start < len(receipts); start += 10 {
		var entries []sqstypes.ChangeMessageVisibilityBatchRequestEntry
		for i, r := range receipts[start:min(start+10, len(receipts))] {
			entries = append(entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r)})
		}
		res, err := h.sqs.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(h.dlqURL), Entries: entries})
		must(h.t, "make dead-letter messages visible again", err)
		if len(res.Failed) > 0 {
			h.t.Fatalf("make dead-letter messages visible again: %s", aws.ToString(res.Failed[0].Message))
		}
	}
	return out
}

// eventIDOf returns the CloudTrail event ID in a queued body ("" when it
// has none).
func eventIDOf(body string) string {
	var env struct {
		Detail struct {
			EventID string `json:"eventID"`
		} `json:"detail"`
	}
	if json.Unmarshal([]byte(body), &env) != nil {
		return ""
	}
	return env.Detail.EventID
}

// unseen returns the IDs of the events the store does not mark processed.
func (h *harness) unseen(evs []event) []string {
	h.t.Helper()
	var out []string
	for _, e := range evs {
		ok, err := h.store.Seen(context.Background(), e.id)
		must(h.t, "read seen mark", err)
		if !ok {
			out = append(out, e.id)
		}
	}
	return out
}

// findings returns every finding in the store.
func (h *harness) findings() []*finding.Finding {
	h.t.Helper()
	var out []*finding.Finding
	for _, s := range []finding.Status{finding.StatusOpen, finding.StatusResolved, finding.StatusSuppressed} {
		for f, err := range h.store.List(context.Background(), s) {
			must(h.t, "list findings", err)
			out = append(out, f)
		}
	}
	return out
}

// sweep delivers the notices of findings whose deliverer was cut off (the
// function's timeout ended it while it held the finding's delivery lease),
// once their lease has ended, as the sweeper does. It returns how many
// findings needed it.
func (h *harness) sweep() int {
	h.t.Helper()
	ctx := context.Background()
	n := 0
	for _, f := range h.findings() {
		if len(f.Outbox) == 0 {
			continue
		}
		n++
		if wait := time.Until(f.LeaseUntil); wait > 0 {
			time.Sleep(wait + 100*time.Millisecond)
		}
		got, err := h.built.Lifecycle.Flush(ctx, f.Key)
		must(h.t, "flush finding "+f.Key.String(), err)
		if len(got.Outbox) > 0 {
			h.t.Errorf("finding %s still owes %d notices after a flush without faults", f.Key, len(got.Outbox))
		}
	}
	return n
}

// checkAnnounced asserts that every finding was announced exactly once:
// one top-level Slack alert and one Jira issue each, none owed, none for
// anything else; resolved findings have their alert marked resolved with
// one reply and their issue closed once with one comment.
func (h *harness) checkAnnounced(fs []*finding.Finding) {
	t := h.t
	t.Helper()
	top := map[string]slackfake.Message{}
	for _, m := range h.slack.TopLevel() {
		top[m.Channel+"/"+m.TS] = m
	}
	if len(top) != len(fs) {
		t.Errorf("%d top-level Slack alerts for %d findings", len(top), len(fs))
	}
	if n := h.jira.Count("POST /rest/api/3/issue"); n != len(fs) || len(h.jira.Issues()) != len(fs) {
		t.Errorf("%d Jira issues created (%d kept) for %d findings", n, len(h.jira.Issues()), len(fs))
	}
	alerts := map[string]string{}
	for _, f := range fs {
		if len(f.Outbox) > 0 {
			t.Errorf("finding %s still owes %d notices", f.Key, len(f.Outbox))
		}
		if f.Occurrence != 1 {
			t.Errorf("finding %s is at occurrence %d, want 1 (no group fails, passes and fails again)", f.Key, f.Occurrence)
		}
		ref := f.SlackChannel + "/" + f.SlackTS
		alert, ok := top[ref]
		if !ok {
			t.Errorf("finding %s: no top-level Slack alert %s", f.Key, ref)
		}
		if other, dup := alerts[ref]; dup {
			t.Errorf("findings %s and %s share alert %s", other, f.Key, ref)
		}
		alerts[ref] = f.Key.String()
		issues := h.jira.WithLabel(f.Key.Label())
		if len(issues) != 1 || issues[0].Key != f.Tickets["jira"] {
			t.Errorf("finding %s (ticket %q): %d Jira issues labelled %s, want exactly that one", f.Key, f.Tickets["jira"], len(issues), f.Key.Label())
			continue
		}
		is := issues[0]
		var replies, closing int
		for _, m := range h.slack.Thread(f.SlackChannel, f.SlackTS) {
			if strings.HasPrefix(m.Text, "✅ Resolved") {
				replies++
			}
		}
		for _, c := range is.Comments {
			if strings.HasPrefix(c.Text, "Resolved:") {
				closing++
			}
		}
		switch f.Status {
		case finding.StatusResolved:
			if !strings.HasPrefix(alert.Text, "✅ Resolved") || replies != 1 {
				t.Errorf("resolved finding %s: alert %q with %d resolution replies, want it marked resolved with one", f.Key, alert.Text, replies)
			}
			if is.Category != jirafake.CategoryDone || !slices.Equal(is.Transitions, []string{"31"}) || closing != 1 {
				t.Errorf("resolved finding %s: issue %s %s after transitions %v with %d resolution comments, want done once with one",
					f.Key, is.Key, is.Status, is.Transitions, closing)
			}
		case finding.StatusOpen:
			if strings.HasPrefix(alert.Text, "✅") || replies != 0 {
				t.Errorf("open finding %s: alert %q with %d resolution replies", f.Key, alert.Text, replies)
			}
			if is.Category == jirafake.CategoryDone || closing != 0 {
				t.Errorf("open finding %s: issue %s is %s with %d resolution comments", f.Key, is.Key, is.Status, closing)
			}
		default:
			t.Errorf("finding %s is %s", f.Key, f.Status)
		}
	}
	for ref, m := range top {
		if _, ok := alerts[ref]; !ok {
			t.Errorf("Slack alert %s (%q) belongs to no finding: a duplicate", ref, m.Text)
		}
	}
}
