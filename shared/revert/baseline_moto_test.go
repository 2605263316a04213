package revert

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// memBaselines is a policy.BaselineSource in memory.
type memBaselines struct {
	mu   sync.Mutex
	docs map[string]map[string]any
}

var _ policy.BaselineSource = (*memBaselines)(nil)

func (m *memBaselines) Approved(_ context.Context, ref resource.Ref) (map[string]any, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	doc, ok := m.docs[ref.ID]
	return doc, ok, nil
}

func (m *memBaselines) approve(res resource.Resource) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs == nil {
		m.docs = map[string]map[string]any{}
	}
	m.docs[res.Ref.ID] = res.Doc
}

// baselineRules are one baseline rule per type restore-baseline handles.
var baselineRules = []policy.Rule{
	{ID: "test-sg-baseline", Title: "rules differ", Severity: policy.SeverityMedium, Kind: policy.KindBaseline, Mode: policy.ModeRevert,
		Remediation: RestoreBaseline, ResourceTypes: []string{securityGroupType}, Watch: []string{"SecurityGroupIngress", "SecurityGroupEgress"}},
	{ID: "test-bucket-baseline", Title: "bucket differs", Severity: policy.SeverityMedium, Kind: policy.KindBaseline, Mode: policy.ModeRevert,
		Remediation: RestoreBaseline, ResourceTypes: []string{s3BucketType}, Watch: []string{"PublicAccessBlock", "Encryption", "Policy"}},
	{ID: "test-key-baseline", Title: "key differs", Severity: policy.SeverityMedium, Kind: policy.KindBaseline, Mode: policy.ModeRevert,
		Remediation: RestoreBaseline, ResourceTypes: []string{kmsKeyType}, Watch: []string{"RotationEnabled", "RotationPeriodInDays"}},
	{ID: "test-trail-baseline", Title: "trail differs", Severity: policy.SeverityMedium, Kind: policy.KindBaseline, Mode: policy.ModeRevert,
		Remediation: RestoreBaseline, ResourceTypes: []string{trailType}, Watch: []string{"IsLogging", "LogFileValidationEnabled", "IsMultiRegionTrail"}},
}

// baselineEnv is an env whose rules are the baseline rules, judged against
// an in-memory baseline source the Remediator also reads.
type baselineEnv struct {
	*env
	approved *memBaselines
}

// withBaselines points e's rules and Remediator at a new baseline source.
func withBaselines(t *testing.T, e *env) *baselineEnv {
	t.Helper()
	src := &memBaselines{}
	eng, err := policy.Compile(baselineRules, policy.WithBaselines(src))
	must(t, "compile baseline rules", err)
	reader := fetchaws.New(e.cfg, fetchaws.Options{S3PathStyle: true})
	e.rules = eng
	e.rem = New(e.cfg, reader, eng, Options{S3PathStyle: true, VerifyAttempts: 1, Baselines: src,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	return &baselineEnv{env: e, approved: src}
}

// restore approves the resource as it is, drifts it, restores the
// baseline and checks that the re-read equals the approved document on
// every property (rule IDs aside: a rule authorized again gets a new one).
func (e *baselineEnv) restore(t *testing.T, rule string, r resource.Ref, drift func(t *testing.T), ops []string) (approved, after resource.Resource) {
	t.Helper()
	ctx := context.Background()
	approved = e.read(t, r)
	e.approved.approve(approved)
	if v := e.verdict(t, approved, rule, nil); v.Result != policy.Pass {
		t.Fatalf("approved: %s is %s (%s)", rule, v.Result, v.Message)
	}
	drift(t)
	drifted := e.read(t, r)
	v := e.verdict(t, drifted, rule, nil)
	if v.Result != policy.Fail {
		t.Fatalf("drifted: %s is %s (%s), want fail", rule, v.Result, v.Message)
	}
	plan, err := e.rem.Plan(ctx, RestoreBaseline, drifted, v, nil)
	must(t, "plan", err)
	if got := operations(plan.Calls); !slices.Equal(got, ops) {
		t.Fatalf("plan calls %v (%s), want %v", got, plan.Reason, ops)
	}
	res, err := e.rem.Execute(ctx, plan)
	must(t, "execute", err)
	if res.Status != StatusReverted {
		t.Fatalf("execute: %s (%s), want reverted", res.Status, res.Reason)
	}
	after = e.read(t, r)
	if diffs := policy.DiffAll(approved.Doc, after.Doc); len(diffs) > 0 {
		t.Errorf("the restored document differs from the baseline: %s", policy.DiffMessage(diffs))
	}
	return approved, after
}

func TestRestoreBaselineSecurityGroup(t *testing.T) {
	e := withBaselines(t, newEnv(t))
	ec := &ec2Env{env: e.env, ec2: ec2.NewFromConfig(e.cfg)}
	id, r := ec.securityGroup(t)
	ctx := context.Background()
	var office string
	approved, after := e.restore(t, "test-sg-baseline", r, func(t *testing.T) {
		ec.authorize(t, id, "tcp", 8080, 8080, "0.0.0.0/0", "")
		for _, rule := range docList(e.read(t, r).Doc, "SecurityGroupIngress") {
			if m := rule.(map[string]any); m["FromPort"] == int64(22) {
				office = m["RuleId"].(string)
			}
		}
		_, err := ec.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: []string{office}})
		must(t, "revoke office ssh", err)
		_, err = ec.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{
			{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
		must(t, "revoke default egress", err)
		_, err = ec.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{
			{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(25), ToPort: aws.Int32(25), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("smtp")}}}}})
		must(t, "authorize smtp egress", err)
	}, []string{"RevokeSecurityGroupIngress", "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupEgress", "AuthorizeSecurityGroupEgress"})
	// The HTTPS rule, in both, was not touched: it keeps its rule ID.
	https := func(res resource.Resource) string {
		for _, rule := range docList(res.Doc, "SecurityGroupIngress") {
			if m := rule.(map[string]any); m["FromPort"] == int64(443) {
				return m["RuleId"].(string)
			}
		}
		return ""
	}
	if https(approved) == "" || https(approved) != https(after) {
		t.Errorf("the HTTPS rule was replaced: %q → %q", https(approved), https(after))
	}
	assertSameDocument(t, approved.Doc, after.Doc, "SecurityGroupIngress", "SecurityGroupEgress")
}

func TestRestoreBaselineBucket(t *testing.T) {
	s := newS3Env(t)
	e := withBaselines(t, s.env)
	ctx := context.Background()
	secure := `{"Version":"2012-10-17","Statement":[{"Sid":"TLSOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%s","arn:aws:s3:::%s/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	public := `{"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`

	t.Run("put back", func(t *testing.T) {
		name, r := s.bucket(t, "rv-bl")
		_, err := s.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(name), PublicAccessBlockConfiguration: allFourOn})
		must(t, "put public access block", err)
		_, err = s.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(name), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
			Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms,
				KMSMasterKeyID: aws.String("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")}, BucketKeyEnabled: aws.Bool(true)}}}})
		must(t, "put encryption", err)
		_, err = s.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(fmt.Sprintf(secure, name, name))})
		must(t, "put policy", err)
		_, after := e.restore(t, "test-bucket-baseline", r, func(t *testing.T) {
			_, err := s.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(name), PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
				BlockPublicAcls: aws.Bool(false), IgnorePublicAcls: aws.Bool(false), BlockPublicPolicy: aws.Bool(false), RestrictPublicBuckets: aws.Bool(false)}})
			must(t, "weaken public access block", err)
			_, err = s.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(name), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
				Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}}}})
			must(t, "change encryption", err)
			_, err = s.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(fmt.Sprintf(public, name))})
			must(t, "make public", err)
		}, []string{"PutPublicAccessBlock", "PutBucketEncryption", "PutBucketPolicy"})
		if !docBool(after.Doc, "PublicAccessBlock.BlockPublicPolicy") || docString(after.Doc, "Policy.Document.Statement.0.Sid") != "TLSOnly" {
			t.Errorf("after: %v", after.Doc)
		}
	})
	t.Run("delete what the baseline had not", func(t *testing.T) {
		name, r := s.bucket(t, "rv-bl")
		e.restore(t, "test-bucket-baseline", r, func(t *testing.T) {
			_, err := s.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(name), PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
				BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(false), BlockPublicPolicy: aws.Bool(false), RestrictPublicBuckets: aws.Bool(false)}})
			must(t, "put public access block", err)
			_, err = s.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(fmt.Sprintf(public, name))})
			must(t, "add policy", err)
		}, []string{"DeletePublicAccessBlock", "DeleteBucketPolicy"})
	})
}

func TestRestoreBaselineKeyRotation(t *testing.T) {
	e := withBaselines(t, newEnv(t))
	api := kms.NewFromConfig(e.cfg)
	ctx := context.Background()
	t.Run("on", func(t *testing.T) {
		id, arn := newKey(t, api)
		e.restore(t, "test-key-baseline", ref(kmsKeyType, arn), func(t *testing.T) {
			_, err := api.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(id)})
			must(t, "disable rotation", err)
		}, []string{"EnableKeyRotation"})
	})
	t.Run("off", func(t *testing.T) {
		id, arn := newKey(t, api)
		_, err := api.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(id)})
		must(t, "disable rotation", err)
		e.restore(t, "test-key-baseline", ref(kmsKeyType, arn), func(t *testing.T) {
			_, err := api.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(id)})
			must(t, "enable rotation", err)
		}, []string{"DisableKeyRotation"})
	})
}

func TestRestoreBaselineTrail(t *testing.T) {
	e := withBaselines(t, newEnv(t))
	api := cloudtrail.NewFromConfig(e.cfg)
	ctx := context.Background()
	t.Run("logging, validated, multi-Region", func(t *testing.T) {
		name, arn := newTrail(t, e.env, api)
		e.restore(t, "test-trail-baseline", ref(trailType, arn), func(t *testing.T) {
			_, err := api.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(name)})
			must(t, "stop logging", err)
			_, err = api.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(name), EnableLogFileValidation: aws.Bool(false), IsMultiRegionTrail: aws.Bool(false)})
			must(t, "update trail", err)
		}, []string{"UpdateTrail", "StartLogging"})
	})
	t.Run("stopped on purpose", func(t *testing.T) {
		name, arn := newTrail(t, e.env, api)
		_, err := api.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(name)})
		must(t, "stop logging", err)
		e.restore(t, "test-trail-baseline", ref(trailType, arn), func(t *testing.T) {
			_, err := api.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(name)})
			must(t, "start logging", err)
		}, []string{"StopLogging"})
	})
}
