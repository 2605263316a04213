package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
	"github.com/driftwatch/driftwatch/shared/state/dynamo"
	"github.com/driftwatch/driftwatch/shared/sweep/sweeptest"
)

const (
	account = mototest.Account
	region  = mototest.Region
)

// env is moto behind a sweeptest CloudTrail (LookupEvents served from
// records, every other CloudTrail call passed to moto), a DynamoDB finding
// store and the detection pipeline.
type env struct {
	cfg   aws.Config
	trail *sweeptest.Server
	store *dynamo.Store
	lc    *finding.Lifecycle
	det   *detect.Detector
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	srv := moto(t)
	ct := sweeptest.Start(t, srv.URL)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", ct.URL)
	cfg, err := sweeptest.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	if err := dynamo.CreateTable(ctx, db, "findings"); err != nil {
		t.Fatal(err)
	}
	rules, err := pack.AWS()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	flt, err := filter.New(nil, cat.Watched)
	if err != nil {
		t.Fatal(err)
	}
	store := dynamo.New(db, "findings", dynamo.Options{})
	return &env{
		cfg:   cfg,
		trail: ct,
		store: store,
		lc:    &finding.Lifecycle{Store: store},
		det:   &detect.Detector{Filter: flt, Catalog: cat, Rules: eng, Reader: fetchaws.New(cfg, fetchaws.Options{S3PathStyle: true})},
	}
}

func (e *env) sweeper(opts Options) *Sweeper {
	opts.Account = account
	opts.Pipeline = &pipeline.Pipeline{Detector: e.det, Lifecycle: e.lc}
	if opts.Checkpoints == nil {
		opts.Checkpoints = NewDynamoCheckpoints(dynamodb.NewFromConfig(e.cfg), "findings")
	}
	return New(e.cfg, opts)
}

func (e *env) finding(t *testing.T, resourceID, rule string) *finding.Finding {
	t.Helper()
	f, err := e.store.Get(context.Background(), finding.Key{Cloud: change.AWS, Account: account, ResourceID: resourceID, RuleID: rule})
	if err != nil {
		t.Fatalf("finding %s on %s: %v", rule, resourceID, err)
	}
	return f
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestSweepAgainstMoto catches up on events the detector never saw, then
// resolves the findings when the resources are fixed without any event,
// then checks for tampering.
func TestSweepAgainstMoto(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ec2c, iamc := ec2.NewFromConfig(e.cfg), iam.NewFromConfig(e.cfg)

	sg, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("sweep-sg"), Description: aws.String("sweep")})
	must(t, "create security group", err)
	sgID := aws.ToString(sg.GroupId)
	ssh := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	_, err = ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: ssh})
	must(t, "open SSH", err)
	_, err = iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("sweep-user")})
	must(t, "create user", err)
	const admin = "arn:aws:iam::aws:policy/AdministratorAccess"
	_, err = iamc.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("sweep-user"), PolicyArn: aws.String(admin)})
	must(t, "attach AdministratorAccess", err)
	sgARN := "arn:aws:ec2:" + region + ":" + account + ":security-group/" + sgID
	userARN := "arn:aws:iam::" + account + ":user/sweep-user"

	now := time.Now().UTC().Truncate(time.Second)
	ours := map[string]any{"recipientAccountId": account, "userIdentity.accountId": account, "awsRegion": region}
	rec := func(sample, id string, age time.Duration, set map[string]any) []byte {
		m := map[string]any{"eventID": id, "eventTime": now.Add(-age).Format(time.RFC3339)}
		for k, v := range ours {
			m[k] = v
		}
		for k, v := range set {
			m[k] = v
		}
		return sweeptest.Record(t, sweeptest.Sample(t, sample), m)
	}
	const ingress = "ec2-authorize-security-group-ingress-ssh-world-anonymized-cidr.json"
	e.trail.Add(t,
		rec(ingress, "sg-40m", 40*time.Minute, map[string]any{"requestParameters.groupId": sgID}),
		rec("iam-attach-user-policy-administratoraccess.json", "user-20m", 20*time.Minute, map[string]any{"requestParameters.userName": "sweep-user"}),
		rec(ingress, "sg-5m", 5*time.Minute, map[string]any{"requestParameters.groupId": sgID}),
		rec("ec2-describe-instances-readonly.json", "read-30m", 30*time.Minute, nil),
		rec(ingress, "sg-30h", 30*time.Hour, map[string]any{"requestParameters.groupId": sgID}),
	)
	sw := e.sweeper(Options{Now: func() time.Time { return now }})

	t.Run("first catch-up applies the missed changes", func(t *testing.T) {
		rep, err := sw.CatchUp(ctx, region)
		if err != nil {
			t.Fatalf("CatchUp: %v", err)
		}
		if rep.Events != 3 || rep.Applied != 3 || !rep.Complete {
			t.Fatalf("report %+v: want the 3 write events of the last 24h applied", rep)
		}
		if want := now.Add(-DefaultLag); !rep.Checkpoint.Equal(want) {
			t.Errorf("checkpoint %v, want now minus the lag %v", rep.Checkpoint, want)
		}
		if !rep.From.Equal(now.Add(-DefaultInitialWindow)) {
			t.Errorf("first window starts %v, want %v", rep.From, now.Add(-DefaultInitialWindow))
		}
		for _, r := range e.trail.Requests() {
			if r.Attribute != "ReadOnly=false" {
				t.Errorf("LookupEvents request without ReadOnly=false: %+v", r)
			}
		}
		for _, f := range []*finding.Finding{
			e.finding(t, sgARN, "aws-ec2-security-group-admin-ports-open-ipv4"),
			e.finding(t, userARN, "aws-iam-user-admin-managed-policy"),
		} {
			if f.Status != finding.StatusOpen {
				t.Errorf("finding %s is %s, want open", f.Key, f.Status)
			}
		}
	})

	t.Run("second catch-up reads from the checkpoint and skips what it did", func(t *testing.T) {
		rep, err := sw.CatchUp(ctx, region)
		if err != nil {
			t.Fatalf("CatchUp: %v", err)
		}
		if !rep.From.Equal(now.Add(-DefaultLag)) || rep.Events != 1 || rep.Duplicates != 1 || rep.Applied != 0 {
			t.Fatalf("report %+v: want the window from the checkpoint, with the one event inside the lag a duplicate", rep)
		}
	})

	t.Run("re-check keeps failing findings open", func(t *testing.T) {
		rep, err := sw.Recheck(ctx)
		if err != nil {
			t.Fatalf("Recheck: %v", err)
		}
		if rep.Resolved != 0 || rep.StillFailing < 2 || rep.Resources != 2 {
			t.Fatalf("report %+v: want 2 resources still failing", rep)
		}
	})

	t.Run("re-check resolves findings fixed out of band", func(t *testing.T) {
		_, err := ec2c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(sgID), IpPermissions: ssh})
		must(t, "close SSH", err)
		_, err = iamc.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("sweep-user"), PolicyArn: aws.String(admin)})
		must(t, "detach AdministratorAccess", err)
		rep, err := sw.Recheck(ctx)
		if err != nil {
			t.Fatalf("Recheck: %v", err)
		}
		if rep.Resolved < 2 || rep.StillFailing != 0 {
			t.Fatalf("report %+v: want both findings resolved", rep)
		}
		for _, f := range []*finding.Finding{
			e.finding(t, sgARN, "aws-ec2-security-group-admin-ports-open-ipv4"),
			e.finding(t, userARN, "aws-iam-user-admin-managed-policy"),
		} {
			if f.Status != finding.StatusResolved || f.ResolveReason != finding.ReasonFixed {
				t.Errorf("finding %s is %s (%s), want resolved as fixed", f.Key, f.Status, f.ResolveReason)
			}
		}
	})
}

func TestTamperAgainstMoto(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ct, eb := cloudtrail.NewFromConfig(e.cfg), eventbridge.NewFromConfig(e.cfg)

	_, err := s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail-logs")})
	must(t, "create trail bucket", err)
	tr, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org"), S3BucketName: aws.String("trail-logs"), IsMultiRegionTrail: aws.Bool(true)})
	must(t, "create trail", err)
	_, err = ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("local"), S3BucketName: aws.String("trail-logs")})
	must(t, "create single-region trail", err)
	_, err = ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("org")})
	must(t, "start logging", err)
	_, err = ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("local")})
	must(t, "start logging", err)
	for name, state := range map[string]ebtypes.RuleState{"watch-a": ebtypes.RuleStateEnabled, "watch-b": ebtypes.RuleStateDisabled} {
		_, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), State: state, EventPattern: aws.String(`{"source":["aws.s3"]}`)})
		must(t, "put rule "+name, err)
	}
	sw := e.sweeper(Options{WatchRules: []string{"watch-a", "default|watch-b", "watch-gone"}})
	ruleARN := func(name string) string { return "arn:aws:events:" + region + ":" + account + ":rule/" + name }
	anyTrail := "arn:aws:cloudtrail:" + region + ":" + account + ":trail/*"

	results := func(t *testing.T) map[string]TamperResult {
		t.Helper()
		rep, err := sw.Tamper(ctx)
		if err != nil {
			t.Fatalf("Tamper: %v", err)
		}
		out := map[string]TamperResult{}
		for _, r := range rep.Results {
			out[r.Resource] = r
		}
		if len(out) != 4 {
			t.Fatalf("results %+v: want the trail and three rules", rep.Results)
		}
		return out
	}
	status := func(t *testing.T, id, rule string) finding.Status {
		t.Helper()
		f, err := e.store.Get(ctx, finding.Key{Cloud: change.AWS, Account: account, ResourceID: id, RuleID: rule})
		if errors.Is(err, finding.ErrNotFound) {
			return ""
		}
		must(t, "get finding", err)
		if f.Status == finding.StatusOpen && f.Severity != "high" {
			t.Errorf("tamper finding %s has severity %q, want high", f.Key, f.Severity)
		}
		return f.Status
	}

	t.Run("disabled and deleted rules open findings", func(t *testing.T) {
		got := results(t)
		for id, want := range map[string]policy.Result{
			anyTrail: policy.Pass, ruleARN("watch-a"): policy.Pass, ruleARN("watch-b"): policy.Fail, ruleARN("watch-gone"): policy.Fail,
		} {
			if got[id].Result != string(want) {
				t.Errorf("%s: %+v, want %s", id, got[id], want)
			}
		}
		if s := status(t, ruleARN("watch-b"), WatchRuleTamperRule.ID); s != finding.StatusOpen {
			t.Errorf("finding on watch-b is %q, want open", s)
		}
		if s := status(t, ruleARN("watch-gone"), WatchRuleTamperRule.ID); s != finding.StatusOpen {
			t.Errorf("finding on watch-gone is %q, want open", s)
		}
		if s := status(t, anyTrail, TrailTamperRule.ID); s != "" {
			t.Errorf("a passing trail check stored a finding (%s)", s)
		}
	})

	t.Run("a stopped trail fails, a re-enabled rule resolves", func(t *testing.T) {
		_, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: tr.TrailARN})
		must(t, "stop logging", err)
		_, err = eb.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String("watch-b")})
		must(t, "enable rule", err)
		got := results(t)
		if r := got[anyTrail]; r.Result != string(policy.Fail) {
			t.Errorf("trail check %+v, want fail: the only multi-region trail stopped (the logging one is single-region)", r)
		}
		if s := status(t, anyTrail, TrailTamperRule.ID); s != finding.StatusOpen {
			t.Errorf("trail finding is %q, want open", s)
		}
		if s := status(t, ruleARN("watch-b"), WatchRuleTamperRule.ID); s != finding.StatusResolved {
			t.Errorf("finding on watch-b is %q, want resolved", s)
		}
	})

	t.Run("a named trail is checked by name", func(t *testing.T) {
		named := e.sweeper(Options{Trail: "local"})
		rep, err := named.Tamper(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Results) != 1 || rep.Results[0].Result != string(policy.Fail) || rep.Results[0].Resource == anyTrail {
			t.Fatalf("results %+v: want one failure on trail local (single-region)", rep.Results)
		}
	})

	t.Run("re-check leaves tamper findings to the tamper check", func(t *testing.T) {
		rep, err := sw.Recheck(ctx)
		if err != nil {
			t.Fatalf("Recheck: %v", err)
		}
		if rep.Findings != 0 {
			t.Errorf("re-checked %d findings, want none (only tamper findings are open)", rep.Findings)
		}
	})

	t.Run("a whole run reports as JSON", func(t *testing.T) {
		rep, err := sw.Run(ctx)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil || back["catch_up"] == nil || back["tamper"] == nil {
			t.Fatalf("report JSON %s", b)
		}
	})
}
