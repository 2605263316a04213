package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/slack/slackfake"
	"github.com/driftwatch/driftwatch/shared/ticket/jira/jirafake"
)

// The scale of TestThousandChangesThreeDeliveries.
const (
	sgCount        = 100 // security groups
	changesPerSG   = 10  // changes made to each
	deliveryCopies = 3   // times each record is delivered
	workers        = 4   // concurrent consumers calling Pipeline.Handle
	maxReceives    = 5   // deliveries of one copy before it counts as lost (an SQS maxReceiveCount)
	changeWorkers  = 4   // goroutines making the changes in moto
)

const (
	itEC2Source = "ec2.amazonaws.com"
	slackToken  = "xoxb-integration-7d1e"
	jiraEmail   = "driftwatch-bot@example.com"
	jiraToken   = "jira-integration-5c2b"
	jiraLabel   = "driftwatch"
)

// The security group rules of the built-in pack.
const (
	ruleAdminV4 = "aws-ec2-security-group-admin-ports-open-ipv4"
	ruleAdminV6 = "aws-ec2-security-group-admin-ports-open-ipv6"
	ruleAll     = "aws-ec2-security-group-all-traffic-open"
	ruleDB      = "aws-ec2-security-group-database-ports-open"
)

// perm is one ingress permission: a protocol, a port range and one CIDR.
type perm struct {
	proto    string // tcp, udp or -1
	from, to int32
	cidr     string
	// fails are the rules a group with this permission fails (the test's
	// own model, checked against the detector).
	fails []string
}

func (p perm) String() string { return fmt.Sprintf("%s %d-%d %s", p.proto, p.from, p.to, p.cidr) }

func (p perm) v6() bool    { return strings.Contains(p.cidr, ":") }
func (p perm) world() bool { return p.cidr == "0.0.0.0/0" || p.cidr == "::/0" }

// sdk is the permission as the EC2 API takes it.
func (p perm) sdk() ec2types.IpPermission {
	ip := ec2types.IpPermission{IpProtocol: aws.String(p.proto)}
	if p.proto != "-1" {
		ip.FromPort, ip.ToPort = aws.Int32(p.from), aws.Int32(p.to)
	}
	if p.v6() {
		ip.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(p.cidr)}}
	} else {
		ip.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(p.cidr)}}
	}
	return ip
}

// ctItems is an EC2 list as CloudTrail records it.
func ctItems(xs ...any) map[string]any {
	if len(xs) == 0 {
		return map[string]any{}
	}
	return map[string]any{"items": xs}
}

// request is requestParameters of an Authorize/Revoke call for the group,
// in the XML-derived list form, or (flat) the top-level form some callers
// produce for a single IPv4 range.
func (p perm) request(groupID string, flat bool) map[string]any {
	if flat && !p.v6() && p.proto != "-1" {
		return map[string]any{"groupId": groupID, "ipProtocol": p.proto, "fromPort": p.from, "toPort": p.to,
			"cidrIp": p.cidr, "ipPermissions": map[string]any{}}
	}
	ip := map[string]any{"ipProtocol": p.proto, "groups": ctItems(), "prefixListIds": ctItems(),
		"ipRanges": ctItems(), "ipv6Ranges": ctItems()}
	if p.proto != "-1" {
		ip["fromPort"], ip["toPort"] = p.from, p.to
	}
	if p.v6() {
		ip["ipv6Ranges"] = ctItems(map[string]any{"cidrIpv6": p.cidr})
	} else {
		ip["ipRanges"] = ctItems(map[string]any{"cidrIp": p.cidr})
	}
	return map[string]any{"groupId": groupID, "ipPermissions": ctItems(ip)}
}

// failingPerms are world-open permissions that fail rules; harmlessPerms pass
// every rule (some are open to the world on a harmless port, some open an
// admin or database port to a private range).
var (
	failingPerms = []perm{
		{proto: "tcp", from: 22, to: 22, cidr: "0.0.0.0/0", fails: []string{ruleAdminV4}},
		{proto: "tcp", from: 3389, to: 3389, cidr: "0.0.0.0/0", fails: []string{ruleAdminV4}},
		{proto: "tcp", from: 22, to: 22, cidr: "::/0", fails: []string{ruleAdminV6}},
		{proto: "tcp", from: 3389, to: 3389, cidr: "::/0", fails: []string{ruleAdminV6}},
		{proto: "tcp", from: 5432, to: 5432, cidr: "0.0.0.0/0", fails: []string{ruleDB}},
		{proto: "tcp", from: 3306, to: 3306, cidr: "::/0", fails: []string{ruleDB}},
		{proto: "tcp", from: 6379, to: 6379, cidr: "0.0.0.0/0", fails: []string{ruleDB}},
		{proto: "-1", cidr: "0.0.0.0/0", fails: []string{ruleAdminV4, ruleAll, ruleDB}},
		{proto: "tcp", from: 0, to: 65535, cidr: "::/0", fails: []string{ruleAdminV6, ruleAll, ruleDB}},
		{proto: "udp", from: 0, to: 65535, cidr: "0.0.0.0/0", fails: []string{ruleAll}},
	}
	harmlessPerms = []perm{
		{proto: "tcp", from: 443, to: 443, cidr: "0.0.0.0/0"},
		{proto: "tcp", from: 80, to: 80, cidr: "::/0"},
		{proto: "udp", from: 53, to: 53, cidr: "0.0.0.0/0"},
		{proto: "tcp", from: 22, to: 22, cidr: "192.168.0.0/16"},
		{proto: "tcp", from: 3389, to: 3389, cidr: "172.16.0.0/12"},
		{proto: "tcp", from: 5432, to: 5432, cidr: "10.0.0.0/8"},
		{proto: "-1", cidr: "10.20.0.0/16"},
	}
	itUsers  = []string{"alice", "bob", "carol", "terraform-ci"}
	itAgents = []string{
		"aws-cli/2.17.0 Python/3.11.9 Linux/6.1 exe/x86_64",
		"AWS Internal",
		"APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.64.0",
		"console.ec2.amazonaws.com",
	}
)

// op is one planned change to a group.
type op struct {
	revoke bool
	p      perm
	flat   bool // record the flat request form
	// at and caller are the change's time and principal in its record.
	at     time.Time
	caller ctrecord.Caller
}

// planGroup returns n changes to one group. A clean group ends with no failing
// permission: every failing one it opens is revoked again.
func planGroup(rng *rand.Rand, n int, clean bool) []op {
	var ops []op
	var active []perm
	isActive := func(p perm) bool {
		return slices.ContainsFunc(active, func(a perm) bool { return a.String() == p.String() })
	}
	failingActive := func() []perm {
		var out []perm
		for _, a := range active {
			if len(a.fails) > 0 {
				out = append(out, a)
			}
		}
		return out
	}
	revoke := func(p perm) {
		ops = append(ops, op{revoke: true, p: p, flat: rng.IntN(3) == 0})
		active = slices.DeleteFunc(active, func(a perm) bool { return a.String() == p.String() })
	}
	authorize := func(p perm) {
		ops = append(ops, op{p: p, flat: rng.IntN(3) == 0})
		active = append(active, p)
	}
	private := 1000
	for len(ops) < n {
		left := n - len(ops)
		fa := failingActive()
		if clean && len(fa) > 0 && len(fa) >= left {
			revoke(fa[rng.IntN(len(fa))])
			continue
		}
		r := rng.Float64()
		switch {
		case len(active) > 0 && r < 0.2:
			revoke(active[rng.IntN(len(active))])
			continue
		case r < 0.5 && (!clean || len(fa)+1 < left):
			p := failingPerms[rng.IntN(len(failingPerms))]
			if !isActive(p) {
				authorize(p)
				continue
			}
		}
		p := harmlessPerms[rng.IntN(len(harmlessPerms))]
		if isActive(p) {
			private++
			p = perm{proto: "tcp", from: int32(private), to: int32(private), cidr: "10.0.0.0/8"}
		}
		authorize(p)
	}
	return ops
}

// group is one security group of the test, with its records.
type group struct {
	id, arn string
	// ops are the planned changes, fixes the revocations that fix the
	// group in the end.
	ops, fixes []op
	active     []perm // permissions in place after the changes made so far
	records    [][]byte
}

// ec2API is what the test calls to change a group.
type ec2API interface {
	AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
}

// apply makes the change o to g through the SDK and appends its
// CloudTrail record to g.records.
//
// moto closes every connection after its answer, and on a loaded machine
// an answer is now and then lost: the SDK then repeats the call, which
// finds its own first attempt applied (InvalidPermission.Duplicate or
// .NotFound). The change was made once, so that is success; the record
// then lacks the response's rule set, as older CloudTrail records do.
func (g *group) apply(ctx context.Context, api ec2API, o op) error {
	resp := map[string]any{"_return": true}
	operation := "AuthorizeSecurityGroupIngress"
	if o.revoke {
		operation = "RevokeSecurityGroupIngress"
		_, err := api.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(g.id), IpPermissions: []ec2types.IpPermission{o.p.sdk()}})
		if err != nil && apiErrorCode(err) != "InvalidPermission.NotFound" {
			return fmt.Errorf("revoke %s on %s: %w", o.p, g.id, err)
		}
		g.active = slices.DeleteFunc(g.active, func(a perm) bool { return a.String() == o.p.String() })
	} else {
		out, err := api.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(g.id), IpPermissions: []ec2types.IpPermission{o.p.sdk()}})
		if err != nil && apiErrorCode(err) != "InvalidPermission.Duplicate" {
			return fmt.Errorf("authorize %s on %s: %w", o.p, g.id, err)
		}
		if err == nil {
			var rules []any
			for _, r := range out.SecurityGroupRules {
				it := map[string]any{"groupId": aws.ToString(r.GroupId), "groupOwnerId": aws.ToString(r.GroupOwnerId),
					"securityGroupRuleId": aws.ToString(r.SecurityGroupRuleId), "isEgress": aws.ToBool(r.IsEgress),
					"ipProtocol": aws.ToString(r.IpProtocol), "fromPort": aws.ToInt32(r.FromPort), "toPort": aws.ToInt32(r.ToPort)}
				if r.CidrIpv4 != nil {
					it["cidrIpv4"] = *r.CidrIpv4
				}
				if r.CidrIpv6 != nil {
					it["cidrIpv6"] = *r.CidrIpv6
				}
				rules = append(rules, it)
			}
			resp["securityGroupRuleSet"] = ctItems(rules...)
		}
		g.active = append(g.active, o.p)
	}
	g.records = append(g.records, ctrecord.Build(ctrecord.Call{
		Service: itEC2Source, Operation: operation, Region: mototest.Region, Caller: o.caller,
		Request: o.p.request(g.id, o.flat), Response: resp, Time: o.at,
	}))
	return nil
}

// apiErrorCode returns the AWS error code in err ("" when none).
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// eachGroup runs fn on every group, on a few goroutines, fails the test on the
// first error, and returns the groups in order.
func eachGroup(t *testing.T, groups []*group, fn func(*group) error) []*group {
	t.Helper()
	next := make(chan *group)
	errs := make(chan error, len(groups))
	var wg sync.WaitGroup
	for range changeWorkers {
		wg.Go(func() {
			for g := range next {
				if err := fn(g); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, g := range groups {
		next <- g
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	return groups
}

// delivery is one copy of a record on its way to a consumer.
type delivery struct {
	record   []byte
	receives int
}

// stats counts what the consumers saw.
type stats struct {
	handled, duplicates, redelivered, lost atomic.Int64
	mu                                     sync.Mutex
	errs                                   []string
}

// concurrent returns how many copies were handled in full although their
// event was already being handled (they passed the seen check before the
// first copy marked it).
func (s *stats) concurrent(records [][]byte) int64 {
	return s.handled.Load() - s.duplicates.Load() - int64(len(records))
}

func (s *stats) summary(records [][]byte) string {
	return fmt.Sprintf("%d deliveries of %d records by %d workers: %d handled (%d skipped as seen, %d handled concurrently with another copy), %d redelivered, %d lost",
		len(records)*deliveryCopies, len(records), workers, s.handled.Load(), s.duplicates.Load(), s.concurrent(records),
		s.redelivered.Load(), s.lost.Load())
}

func (s *stats) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) < 20 {
		s.errs = append(s.errs, fmt.Sprintf(format, args...))
	}
}

// deliverAll hands every record to `workers` concurrent consumers
// deliveryCopies times, in a random order, as an at-least-once queue would:
// a tenth of the records have their copies delivered back to back (a
// burst, as after a consumer crash), so that they are handled at the same
// time; the others' copies are spread at random. A copy whose handling
// returned an error, or could not read every touched resource, goes back
// to the end of the queue, until it was received maxReceives times.
func deliverAll(ctx context.Context, t *testing.T, p *pipeline.Pipeline, rng *rand.Rand, records [][]byte) *stats {
	t.Helper()
	var order []int
	for range deliveryCopies {
		for i := range records {
			order = append(order, i)
		}
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	burst := make([]bool, len(records))
	for i := range burst {
		burst[i] = rng.IntN(10) == 0
	}
	var copies []*delivery
	sent := make([]bool, len(records))
	for _, i := range order {
		switch {
		case !burst[i]:
			copies = append(copies, &delivery{record: records[i]})
		case !sent[i]:
			for range deliveryCopies {
				copies = append(copies, &delivery{record: records[i]})
			}
			sent[i] = true
		}
	}
	queue := make(chan *delivery, len(copies)*maxReceives)
	var pending sync.WaitGroup
	pending.Add(len(copies))
	for _, d := range copies {
		queue <- d
	}
	go func() { pending.Wait(); close(queue) }()
	st := &stats{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for d := range queue {
				d.receives++
				chs, errs := change.Decode("integration", d.record)
				if len(errs) > 0 || len(chs) != 1 {
					st.fail("decode record: %d changes, %v", len(chs), errs)
					st.lost.Add(1)
					pending.Done()
					continue
				}
				ch := &chs[0]
				res, err := p.Handle(ctx, ch)
				if err == nil && res.Incomplete() {
					err = fmt.Errorf("incomplete: %v", res.Outcome.Err)
					for _, c := range res.Outcome.Checked {
						err = errors.Join(err, c.Err)
					}
				}
				switch {
				case err == nil:
					st.handled.Add(1)
					if res.Duplicate {
						st.duplicates.Add(1)
					}
					if res.Outcome.Ignored != "" {
						st.fail("event %s %s ignored: %s", ch.EventID, ch.Operation, res.Outcome.Ignored)
					}
					pending.Done()
				case d.receives < maxReceives && !errors.Is(err, pipeline.ErrUnresolvable):
					st.redelivered.Add(1)
					st.fail("event %s (receive %d, redelivered): %v", ch.EventID, d.receives, err)
					queue <- d
				default:
					st.lost.Add(1)
					st.fail("event %s LOST after %d receives: %v", ch.EventID, d.receives, err)
					pending.Done()
				}
			}
		})
	}
	wg.Wait()
	return st
}

// TestThousandChangesThreeDeliveries is the findings' end-to-end guarantee:
// 1,000 real changes to 100 security groups in moto, each CloudTrail record
// delivered three times in random order to concurrent consumers of one
// pipeline built from a config (SQLite store, Slack bot, Jira), give
// exactly one Slack alert and one Jira issue per failing (group, rule) and
// none for the rest, and lose no event; fixing the groups then resolves
// every finding once: each alert updated in place with one thread reply,
// each issue commented and transitioned to done once.
func TestThousandChangesThreeDeliveries(t *testing.T) {
	start := time.Now()
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("DRIFTWATCH_TEST_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("DRIFTWATCH_TEST_SEED: %v", err)
		}
	}
	t.Logf("seed %d (set DRIFTWATCH_TEST_SEED to repeat the plan and the delivery order)", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))

	moto := mototest.Start(t)
	awsCfg, err := moto.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sl := slackfake.Start(t, slackToken)
	jf := jirafake.Start(t, jirafake.Options{Email: jiraEmail, Token: jiraToken, Projects: []string{"SEC"}})
	t.Setenv("DW_IT_SLACK_TOKEN", slackToken)
	t.Setenv("DW_IT_JIRA_TOKEN", jiraToken)
	cfg, err := config.Parse("driftwatch.yaml", fmt.Appendf(nil, `
store:
  kind: sqlite
  path: %s
slack:
  mode: bot
  token: env:DW_IT_SLACK_TOKEN
  routing:
    default: "#drift"
    routes:
      - min_severity: critical
        channel: "#drift-critical"
jira:
  base_url: %s
  email: %s
  api_token: env:DW_IT_JIRA_TOKEN
  project: SEC
  labels: [%s]
`, filepath.Join(t.TempDir(), "findings.db"), jf.URL(), jiraEmail, jiraLabel))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	built, err := pipeline.Build(ctx, pipeline.Options{
		Config: cfg, AWS: awsCfg, S3PathStyle: true,
		Sinks:       pipeline.Sinks{Slack: true, Jira: true},
		SlackAPIURL: sl.APIURL(),
	})
	if err != nil {
		t.Fatalf("build pipeline: %v", err)
	}
	t.Cleanup(func() {
		if err := built.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	store := built.Lifecycle.Store
	api := ec2.NewFromConfig(awsCfg)

	// The groups, and the changes made to them for real.
	vpc, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	if err != nil {
		t.Fatalf("create vpc: %v", err)
	}
	groups := make([]*group, sgCount)
	for i := range groups {
		out, err := api.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: vpc.Vpc.VpcId,
			GroupName: aws.String(fmt.Sprintf("it-%03d", i)), Description: aws.String("integration test group")})
		if err != nil {
			t.Fatalf("create security group %d: %v", i, err)
		}
		id := aws.ToString(out.GroupId)
		groups[i] = &group{id: id, ops: planGroup(rng, changesPerSG, i%4 == 0),
			arn: fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", mototest.Region, mototest.Account, id)}
	}
	// Stamp the changes a second apart, interleaved (step 0 of every
	// group, then step 1...), each by one of several principals, and make
	// them: one group's changes in order, groups concurrently.
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	stamp := func(o *op, n int) {
		o.at = base.Add(time.Duration(n) * time.Second)
		o.caller = ctrecord.Caller{Account: mototest.Account, UserName: itUsers[rng.IntN(len(itUsers))],
			SourceIP: fmt.Sprintf("198.51.100.%d", 1+rng.IntN(200)), UserAgent: itAgents[rng.IntN(len(itAgents))]}
	}
	for step := range changesPerSG {
		for i, g := range groups {
			stamp(&g.ops[step], 1+step*sgCount+i)
		}
	}
	var records [][]byte
	for step := range changesPerSG {
		for _, g := range eachGroup(t, groups, func(g *group) error { return g.apply(ctx, api, g.ops[step]) }) {
			records = append(records, g.records[step])
		}
	}
	made := time.Now()
	t.Logf("made %d changes to %d security groups in %s", len(records), len(groups), made.Sub(start).Round(time.Millisecond))

	// What should fail: the detector run once per group on the final live
	// state, which must agree with the test's own model of the groups.
	want := expectedFailures(ctx, t, built.Pipeline, groups)
	failingGroups := map[string]bool{}
	for k := range want {
		failingGroups[k.ResourceID] = true
	}
	if n := len(failingGroups); n < sgCount/4 || n > sgCount-sgCount/4 {
		t.Fatalf("%d of %d groups fail: the plan keeps a quarter of them clean and makes most others fail", n, sgCount)
	}
	t.Logf("%d failing (group, rule) pairs on %d of %d groups", len(want), len(failingGroups), len(groups))

	// Transient faults, so that some deliveries fail and are delivered
	// again: Slack rate limits longer than the notifier waits, Jira
	// creations refused for now, one creation whose answer is lost after
	// the issue was made, one failed search.
	var slackFaults, jiraFaults int
	slow := slackfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: "30"}
	sl.Fail("/api/chat.postMessage", slow, slow)
	sl.Fail("/api/chat.update", slow, slow, slow)
	slackFaults += 5
	busy := jirafake.Failure{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "120"}}
	jf.Fail("POST /rest/api/3/issue", busy, jirafake.Failure{Status: http.StatusBadGateway, Applied: true}, busy)
	jf.Fail("POST /rest/api/3/search/jql", jirafake.Failure{Status: http.StatusServiceUnavailable})
	jiraFaults += 4

	st := deliverAll(ctx, t, built.Pipeline, rng, records)
	t.Logf("phase 1: %s in %s", st.summary(records), time.Since(made).Round(time.Millisecond))
	checkDelivery(ctx, t, store, st, records)
	if st.concurrent(records) == 0 {
		t.Error("no copy of an event was handled while another was: the test did not exercise concurrent duplicates")
	}
	if st.redelivered.Load() == 0 {
		t.Error("no delivery failed: the faults did not reach the consumers")
	}

	// Exactly one finding, one alert and one issue per failing pair.
	open := listFindings(ctx, t, store, finding.StatusOpen)
	if got := findingKeys(open); !sameKeys(got, want) {
		t.Errorf("open findings differ from the failing pairs:\n%s", keyDiff(got, want))
	}
	if s := listFindings(ctx, t, store, finding.StatusSuppressed); len(s) > 0 {
		t.Errorf("%d suppressed findings, want none", len(s))
	}
	top := sl.TopLevel()
	if len(top) != len(want) {
		t.Errorf("%d top-level Slack posts, want one per failing pair: %d", len(top), len(want))
	}
	if n := len(jf.Issues()); n != len(want) {
		t.Errorf("%d Jira issues created, want one per failing pair: %d", n, len(want))
	}
	extra := 0                    // Slack updates beyond one per repeat
	posts := map[string]string{}  // channel/ts → finding key
	issues := map[string]string{} // issue key → finding key
	for _, f := range open {
		switch {
		case len(f.Outbox) > 0:
			t.Errorf("finding %s still owes %d notices", f.Key, len(f.Outbox))
		case f.SlackTS == "":
			t.Errorf("finding %s has no Slack alert", f.Key)
		case f.Tickets["jira"] == "":
			t.Errorf("finding %s has no Jira issue", f.Key)
		}
		if prev, dup := posts[f.SlackChannel+"/"+f.SlackTS]; dup {
			t.Errorf("findings %s and %s share Slack alert %s", prev, f.Key, f.SlackTS)
		}
		posts[f.SlackChannel+"/"+f.SlackTS] = f.Key.String()
		if prev, dup := issues[f.Tickets["jira"]]; dup {
			t.Errorf("findings %s and %s share Jira issue %s", prev, f.Key, f.Tickets["jira"])
		}
		issues[f.Tickets["jira"]] = f.Key.String()
		wantChannel := "#drift"
		if f.Severity == policy.SeverityCritical {
			wantChannel = "#drift-critical"
		}
		if f.SlackChannel != slackfake.ChannelID(wantChannel) {
			t.Errorf("finding %s (%s) posted to %s, want %s", f.Key, f.Severity, f.SlackChannel, wantChannel)
		}
		if is := jf.WithLabel(f.Key.Label()); len(is) != 1 || is[0].Key != f.Tickets["jira"] || !slices.Contains(is[0].Labels, jiraLabel) || is[0].Category != jirafake.CategoryNew {
			t.Errorf("finding %s: Jira issues labelled %s: %+v, want only %s, open, labelled %s too", f.Key, f.Key.Label(), is, f.Tickets["jira"], jiraLabel)
		}
		// Every failing change after the first was told to both: a Jira
		// comment each, and a chat.update of the alert each (one more
		// when the thread reply of a repeat by another principal failed
		// after the update and the notice was delivered again).
		n, c := slackUpdates(sl, f), len(jiraIssue(jf, f).Comments)
		if n < f.Count-1 || c != f.Count-1 {
			t.Errorf("finding %s counted %d failing changes: %d Slack updates and %d Jira comments, want %d of each",
				f.Key, f.Count, n, c, f.Count-1)
		}
		extra += n - (f.Count - 1)
	}
	if extra > 2 {
		t.Errorf("%d Slack updates more than one per repeat; only the 2 failed posts may cause one each", extra)
	}
	for _, m := range top {
		if _, ok := posts[m.Channel+"/"+m.TS]; !ok {
			t.Errorf("Slack post %s/%s (%q) belongs to no open finding", m.Channel, m.TS, m.Text)
		}
	}
	checkRequests(t, sl, jf, slackFaults, jiraFaults)
	if t.Failed() {
		t.FailNow()
	}

	// The fix: revoke every world-open permission, and deliver those
	// records the same way.
	var fixes [][]byte
	n := 1 + changesPerSG*sgCount
	for _, g := range groups {
		for _, p := range g.active {
			if p.world() {
				o := op{revoke: true, p: p}
				stamp(&o, n)
				n++
				g.fixes = append(g.fixes, o)
			}
		}
	}
	for _, g := range eachGroup(t, groups, func(g *group) error {
		for _, o := range g.fixes {
			if err := g.apply(ctx, api, o); err != nil {
				return err
			}
		}
		return nil
	}) {
		fixes = append(fixes, g.records[changesPerSG:]...)
	}
	for _, g := range groups {
		if slices.ContainsFunc(g.active, func(p perm) bool { return len(p.fails) > 0 }) {
			t.Fatalf("group %s still has failing permissions after the fix: %v", g.id, g.active)
		}
	}
	// Faults again: rate limits on updates and replies, and on two
	// issues' transition to done.
	sl.Fail("/api/chat.update", slow, slow)
	sl.Fail("/api/chat.postMessage", slow)
	slackFaults += 3
	refused := map[string]bool{} // issues whose first transition is refused
	for _, f := range open[:2] {
		jf.Fail("POST /rest/api/3/issue/"+f.Tickets["jira"]+"/transitions", busy)
		refused[f.Tickets["jira"]] = true
		jiraFaults++
	}
	fixed := time.Now()
	posted, created := len(sl.TopLevel()), len(jf.Issues())
	st = deliverAll(ctx, t, built.Pipeline, rng, fixes)
	t.Logf("phase 2 (fix): %s in %s", st.summary(fixes), time.Since(fixed).Round(time.Millisecond))
	checkDelivery(ctx, t, store, st, fixes)

	if o := listFindings(ctx, t, store, finding.StatusOpen); len(o) > 0 {
		t.Errorf("%d findings still open after the fix, e.g. %s", len(o), o[0].Key)
	}
	resolved := listFindings(ctx, t, store, finding.StatusResolved)
	if got := findingKeys(resolved); !sameKeys(got, want) {
		t.Errorf("resolved findings differ from the pairs that failed:\n%s", keyDiff(got, want))
	}
	if n := len(sl.TopLevel()); n != posted {
		t.Errorf("%d top-level Slack posts after the fix, want still %d", n, posted)
	}
	if n := len(jf.Issues()); n != created {
		t.Errorf("%d Jira issues created after the fix, want still %d", n, created)
	}
	for _, f := range resolved {
		if f.ResolveReason != finding.ReasonFixed || len(f.Outbox) > 0 {
			t.Errorf("finding %s: resolved (%s) with %d notices owed, want fixed and none", f.Key, f.ResolveReason, len(f.Outbox))
		}
		alert := slackMessage(sl, f.SlackChannel, f.SlackTS)
		if alert == nil || !strings.HasPrefix(alert.Text, "✅ Resolved (fixed)") {
			t.Errorf("finding %s: alert %s is %+v, want it updated to resolved", f.Key, f.SlackTS, alert)
		}
		if n := slackResolvedUpdates(sl, f); n < 1 || n > 2 {
			t.Errorf("finding %s: %d chat.update calls marking alert %s resolved, want 1 (2 if its reply failed once)", f.Key, n, f.SlackTS)
		}
		var replies int
		for _, m := range sl.Thread(f.SlackChannel, f.SlackTS) {
			if strings.HasPrefix(m.Text, "✅ Resolved") {
				replies++
			}
		}
		if replies != 1 {
			t.Errorf("finding %s: %d resolution replies in the alert's thread, want 1", f.Key, replies)
		}
		is := jiraIssue(jf, f)
		var closing int
		for _, c := range is.Comments {
			if strings.HasPrefix(c.Text, "Resolved:") {
				closing++
			}
		}
		// Exactly one, also where the transition was refused once: the
		// redelivery finds its resolution comment (it carries the notice's
		// reference) and only retries the transition.
		if is.Category != jirafake.CategoryDone || !slices.Equal(is.Transitions, []string{"31"}) || closing != 1 {
			t.Errorf("finding %s: issue %s is %s after transitions %v with %d resolution comments, want done once with one",
				f.Key, is.Key, is.Status, is.Transitions, closing)
		}
	}
	checkRequests(t, sl, jf, slackFaults, jiraFaults)
	t.Logf("total %s (Slack: %d requests, Jira: %d requests)", time.Since(start).Round(time.Millisecond), len(sl.Requests()), len(jf.Requests()))
}

// expectedFailures runs the pipeline's detector once per group, on a record of its
// first change (the live read shows the group as it is now), and returns
// the failing (group, rule) pairs. It fails the test where the detector and
// the test's model of the groups disagree.
func expectedFailures(ctx context.Context, t *testing.T, p *pipeline.Pipeline, groups []*group) map[finding.Key]bool {
	t.Helper()
	out := map[finding.Key]bool{}
	for _, g := range groups {
		chs, errs := change.Decode("expected", g.records[0])
		if len(errs) > 0 || len(chs) != 1 {
			t.Fatalf("decode record: %v", errs)
		}
		o := p.Detector.Process(ctx, &chs[0])
		if o.Failed() || o.Ignored != "" || len(o.Checked) != 1 {
			t.Fatalf("detect on %s: ignored %q, failed %v, %d resources checked", g.id, o.Ignored, o.Failed(), len(o.Checked))
		}
		model := map[string]bool{}
		for _, a := range g.active {
			for _, r := range a.fails {
				model[r] = true
			}
		}
		for _, v := range o.Verdicts() {
			switch v.Result {
			case policy.Fail:
				k, err := finding.KeyFor(v, &chs[0])
				if err != nil {
					t.Fatal(err)
				}
				out[k] = true
			case policy.Error:
				t.Fatalf("rule %s on %s: error %s", v.RuleID, g.id, v.Message)
			}
			if (v.Result == policy.Fail) != model[v.RuleID] {
				t.Errorf("rule %s on %s (%v): detector says %s, the test's model fail=%v", v.RuleID, g.id, g.active, v.Result, model[v.RuleID])
			}
		}
	}
	return out
}

// checkDelivery asserts that no record was lost and every event is marked
// seen.
func checkDelivery(ctx context.Context, t *testing.T, store finding.Store, st *stats, records [][]byte) {
	t.Helper()
	for _, e := range st.errs {
		t.Log(e)
	}
	if n := st.lost.Load(); n > 0 {
		t.Errorf("%d deliveries lost", n)
	}
	if n := st.handled.Load(); n != int64(len(records)*deliveryCopies)-st.lost.Load() {
		t.Errorf("%d deliveries handled, want %d", n, len(records)*deliveryCopies)
	}
	unseen := 0
	for _, r := range records {
		chs, _ := change.Decode("check", r)
		seen, err := store.Seen(ctx, chs[0].EventID)
		if err != nil {
			t.Fatal(err)
		}
		if !seen {
			unseen++
		}
	}
	if unseen > 0 {
		t.Errorf("%d of %d events not marked seen", unseen, len(records))
	}
}

// checkRequests asserts that every request to the fakes carried the right
// credentials and that every one but the scripted faults succeeded, and
// that every fault was met.
func checkRequests(t *testing.T, sl *slackfake.Server, jf *jirafake.Server, slackFaults, jiraFaults int) {
	t.Helper()
	failed := 0
	for _, r := range sl.Requests() {
		if r.Token != slackToken || r.Method != http.MethodPost {
			t.Errorf("Slack request %s %s: token ok %v", r.Method, r.Path, r.Token == slackToken)
		}
		if r.Status != http.StatusOK {
			failed++
		}
	}
	if failed != slackFaults {
		t.Errorf("%d Slack requests failed, want the %d scripted faults", failed, slackFaults)
	}
	failed = 0
	for _, r := range jf.Requests() {
		if r.Status/100 != 2 {
			failed++
		}
	}
	if failed != jiraFaults {
		t.Errorf("%d Jira requests failed, want the %d scripted faults", failed, jiraFaults)
	}
	for _, p := range jf.Problems() {
		t.Errorf("Jira: %s", p)
	}
}

func listFindings(ctx context.Context, t *testing.T, store finding.Store, status finding.Status) []*finding.Finding {
	t.Helper()
	var out []*finding.Finding
	for f, err := range store.List(ctx, status) {
		if err != nil {
			t.Fatalf("list %s findings: %v", status, err)
		}
		out = append(out, f)
	}
	return out
}

func findingKeys(fs []*finding.Finding) map[finding.Key]bool {
	out := map[finding.Key]bool{}
	for _, f := range fs {
		out[f.Key] = true
	}
	return out
}

func sameKeys(a, b map[finding.Key]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keyDiff(got, want map[finding.Key]bool) string {
	var b strings.Builder
	n := 0
	for k := range got {
		if !want[k] && n < 10 {
			fmt.Fprintf(&b, "  unexpected %s\n", k)
			n++
		}
	}
	for k := range want {
		if !got[k] && n < 20 {
			fmt.Fprintf(&b, "  missing %s\n", k)
			n++
		}
	}
	return b.String()
}

// slackMessage returns the Slack message ts of channel.
func slackMessage(sl *slackfake.Server, channel, ts string) *slackfake.Message {
	for _, m := range sl.Messages() {
		if m.Channel == channel && m.TS == ts {
			return &m
		}
	}
	return nil
}

// slackUpdates counts the chat.update calls of f's alert.
func slackUpdates(sl *slackfake.Server, f *finding.Finding) int {
	n := 0
	for _, r := range sl.RequestsTo("/api/chat.update") {
		if r.Status == http.StatusOK && slackfake.ChannelID(r.Channel) == f.SlackChannel && r.TS == f.SlackTS {
			n++
		}
	}
	return n
}

// slackResolvedUpdates counts the chat.update calls that marked f's alert
// resolved.
func slackResolvedUpdates(sl *slackfake.Server, f *finding.Finding) int {
	n := 0
	for _, r := range sl.RequestsTo("/api/chat.update") {
		if r.Status == http.StatusOK && slackfake.ChannelID(r.Channel) == f.SlackChannel && r.TS == f.SlackTS && strings.HasPrefix(r.Text, "✅ Resolved") {
			n++
		}
	}
	return n
}

// jiraIssue returns f's Jira issue.
func jiraIssue(jf *jirafake.Server, f *finding.Finding) jirafake.Issue {
	is, _ := jf.Issue(f.Tickets["jira"])
	return is
}
