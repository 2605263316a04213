// Package demo walks through driftwatch on a local AWS emulator (moto): it
// creates compliant resources, makes the risky changes people make, feeds
// the CloudTrail record of each change to the real pipeline and prints what
// driftwatch says, in a form meant for people.
package demo

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// Account and Region are moto's defaults.
const (
	Account = "123456789012"
	Region  = "us-east-1"
)

// Scenario is one risky change, told as a story.
type Scenario struct {
	Title string
	// Story says what happens, in a sentence.
	Story string
	// Caller is who makes the change.
	Caller ctrecord.Caller
	// Setup creates the resource and returns the CloudTrail call that
	// records its creation; its verdicts are the baseline the risky change
	// is compared with.
	Setup func(ctx context.Context, c *Clients) (ctrecord.Call, error)
	// Break makes the risky change through the API and returns the
	// CloudTrail call that records it.
	Break func(ctx context.Context, c *Clients) (ctrecord.Call, error)
	// Fix undoes it and returns the CloudTrail call of the fix (nil: none).
	Fix func(ctx context.Context, c *Clients) (*ctrecord.Call, error)
}

// Clients are the SDK clients the scenarios use to act as a user would.
type Clients struct {
	S3  *s3.Client
	EC2 *ec2.Client
	IAM *iam.Client
	// names shared between a scenario's steps
	vars map[string]string
}

// NewClients builds clients from cfg (S3 path-style, for the emulator).
func NewClients(cfg aws.Config) *Clients {
	return &Clients{
		S3:   s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		EC2:  ec2.NewFromConfig(cfg),
		IAM:  iam.NewFromConfig(cfg),
		vars: map[string]string{},
	}
}

// Scenarios are the demo's stories: a bucket made public, SSH opened to
// the world, AdministratorAccess attached to a user.
func Scenarios() []Scenario {
	bucket := "acme-payroll-exports-" + ctrecord.UUID()[:6]
	user := "contractor-dana"
	return []Scenario{
		{
			Title:  "A bucket made public",
			Story:  "An engineer shares a report by setting the bucket ACL to public-read.",
			Caller: ctrecord.Caller{Account: Account, UserName: "alice", SourceIP: "198.51.100.23", UserAgent: "aws-cli/2.17.0 Python/3.11.9 Darwin/23.4.0 source/arm64"},
			Setup: func(ctx context.Context, c *Clients) (ctrecord.Call, error) {
				if _, err := c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
					return ctrecord.Call{}, fmt.Errorf("create bucket: %w", err)
				}
				if _, err := c.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: &bucket, PublicAccessBlockConfiguration: allBlocked()}); err != nil {
					return ctrecord.Call{}, fmt.Errorf("block public access: %w", err)
				}
				return ctrecord.Call{Service: "s3.amazonaws.com", Operation: "CreateBucket", Region: Region,
					Request: map[string]any{"bucketName": bucket, "Host": bucket + ".s3.amazonaws.com"}}, nil
			},
			Break: func(ctx context.Context, c *Clients) (ctrecord.Call, error) {
				if _, err := c.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: &bucket, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
					BlockPublicAcls: aws.Bool(false), IgnorePublicAcls: aws.Bool(false), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
					return ctrecord.Call{}, fmt.Errorf("relax public access block: %w", err)
				}
				if _, err := c.S3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: &bucket, ACL: s3types.BucketCannedACLPublicRead}); err != nil {
					return ctrecord.Call{}, fmt.Errorf("put bucket acl: %w", err)
				}
				return ctrecord.Call{Service: "s3.amazonaws.com", Operation: "PutBucketAcl", Region: Region,
					Request: map[string]any{"bucketName": bucket, "acl": []any{""}, "x-amz-acl": []any{"public-read"}, "Host": bucket + ".s3.amazonaws.com"}}, nil
			},
			Fix: func(ctx context.Context, c *Clients) (*ctrecord.Call, error) {
				if _, err := c.S3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: &bucket, ACL: s3types.BucketCannedACLPrivate}); err != nil {
					return nil, fmt.Errorf("put bucket acl: %w", err)
				}
				if _, err := c.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: &bucket, PublicAccessBlockConfiguration: allBlocked()}); err != nil {
					return nil, fmt.Errorf("put public access block: %w", err)
				}
				return &ctrecord.Call{Service: "s3.amazonaws.com", Operation: "PutBucketPublicAccessBlock", Region: Region,
					Request: map[string]any{"bucketName": bucket, "publicAccessBlock": "", "Host": bucket + ".s3.amazonaws.com",
						"PublicAccessBlockConfiguration": map[string]any{"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
							"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}}}, nil
			},
		},
		{
			Title:  "SSH opened to the world",
			Story:  "Someone debugging a deploy opens port 22 on a security group to 0.0.0.0/0.",
			Caller: ctrecord.Caller{Account: Account, UserName: "bob", SourceIP: "203.0.113.77", UserAgent: "console.ec2.amazonaws.com"},
			Setup: func(ctx context.Context, c *Clients) (ctrecord.Call, error) {
				name := "web-" + ctrecord.UUID()[:6]
				out, err := c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: &name, Description: aws.String("web tier")})
				if err != nil {
					return ctrecord.Call{}, fmt.Errorf("create security group: %w", err)
				}
				c.vars["sg"] = aws.ToString(out.GroupId)
				return ctrecord.Call{Service: "ec2.amazonaws.com", Operation: "CreateSecurityGroup", Region: Region,
					Request:  map[string]any{"groupName": name, "groupDescription": "web tier"},
					Response: map[string]any{"_return": true, "groupId": c.vars["sg"]}}, nil
			},
			Break: func(ctx context.Context, c *Clients) (ctrecord.Call, error) {
				sg := c.vars["sg"]
				if _, err := c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &sg, IpPermissions: []ec2types.IpPermission{sshWorld()}}); err != nil {
					return ctrecord.Call{}, fmt.Errorf("authorize ingress: %w", err)
				}
				return ctrecord.Call{Service: "ec2.amazonaws.com", Operation: "AuthorizeSecurityGroupIngress", Region: Region,
					Request: map[string]any{"groupId": sg, "ipPermissions": map[string]any{"items": []any{map[string]any{
						"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
						"ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}}}}}},
					Response: map[string]any{"_return": true}}, nil
			},
			Fix: func(ctx context.Context, c *Clients) (*ctrecord.Call, error) {
				sg := c.vars["sg"]
				if _, err := c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &sg, IpPermissions: []ec2types.IpPermission{sshWorld()}}); err != nil {
					return nil, fmt.Errorf("revoke ingress: %w", err)
				}
				return &ctrecord.Call{Service: "ec2.amazonaws.com", Operation: "RevokeSecurityGroupIngress", Region: Region,
					Request: map[string]any{"groupId": sg, "ipPermissions": map[string]any{"items": []any{map[string]any{
						"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
						"ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}}}}}},
					Response: map[string]any{"_return": true}}, nil
			},
		},
		{
			Title:  "AdministratorAccess attached to a user",
			Story:  "A contractor's user is given AdministratorAccess \"just for today\".",
			Caller: ctrecord.Caller{Account: Account, UserName: "carol", SourceIP: "192.0.2.45", UserAgent: "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux"},
			Setup: func(ctx context.Context, c *Clients) (ctrecord.Call, error) {
				if _, err := c.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: &user}); err != nil {
					return ctrecord.Call{}, fmt.Errorf("create user: %w", err)
				}
				return ctrecord.Call{Service: "iam.amazonaws.com", Operation: "CreateUser", Region: Region,
					Request: map[string]any{"userName": user}}, nil
			},
			Break: func(ctx context.Context, c *Clients) (ctrecord.Call, error) {
				arn := "arn:aws:iam::aws:policy/AdministratorAccess"
				if _, err := c.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &user, PolicyArn: &arn}); err != nil {
					return ctrecord.Call{}, fmt.Errorf("attach user policy: %w", err)
				}
				return ctrecord.Call{Service: "iam.amazonaws.com", Operation: "AttachUserPolicy", Region: Region,
					Request: map[string]any{"userName": user, "policyArn": arn}}, nil
			},
			Fix: func(ctx context.Context, c *Clients) (*ctrecord.Call, error) {
				arn := "arn:aws:iam::aws:policy/AdministratorAccess"
				if _, err := c.IAM.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: &user, PolicyArn: &arn}); err != nil {
					return nil, fmt.Errorf("detach user policy: %w", err)
				}
				return &ctrecord.Call{Service: "iam.amazonaws.com", Operation: "DetachUserPolicy", Region: Region,
					Request: map[string]any{"userName": user, "policyArn": arn}}, nil
			},
		},
	}
}

func allBlocked() *s3types.PublicAccessBlockConfiguration {
	return &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
		BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}
}

func sshWorld() ec2types.IpPermission {
	return ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}
}

// Run plays every scenario against the pipeline and writes the story to w.
// The creation of each resource is checked first, silently: rules failing
// then are the baseline, counted but not shown with the change. Run returns
// an error when a scenario could not be played, when the risky change made
// no rule fail, or when a rule it made fail still fails after the fix.
func Run(ctx context.Context, w io.Writer, c *Clients, det *detect.Detector, scenarios []Scenario) error {
	for i, s := range scenarios {
		fmt.Fprintf(w, "\n%s\n %d. %s\n%s\n %s\n", rule, i+1, s.Title, rule, s.Story)
		created, err := s.Setup(ctx, c)
		if err != nil {
			return fmt.Errorf("scenario %q: set up: %w", s.Title, err)
		}
		created.Caller = s.Caller
		baseline, err := check(ctx, det, created)
		if err != nil {
			return fmt.Errorf("scenario %q: baseline: %w", s.Title, err)
		}
		before := failing(baseline.Verdicts())
		call, err := s.Break(ctx, c)
		if err != nil {
			return fmt.Errorf("scenario %q: make the change: %w", s.Title, err)
		}
		call.Caller = s.Caller
		out, err := check(ctx, det, call)
		if err != nil {
			return fmt.Errorf("scenario %q: %w", s.Title, err)
		}
		caused := show(w, out, "the change", before)
		if len(caused) == 0 {
			return fmt.Errorf("scenario %q: the risky change made no rule fail", s.Title)
		}
		if s.Fix == nil {
			continue
		}
		fix, err := s.Fix(ctx, c)
		if err != nil {
			return fmt.Errorf("scenario %q: fix: %w", s.Title, err)
		}
		fix.Caller = s.Caller
		if out, err = check(ctx, det, *fix); err != nil {
			return fmt.Errorf("scenario %q: %w", s.Title, err)
		}
		show(w, out, "the fix", before)
		for _, v := range out.Verdicts() {
			if caused[key(v)] && v.Result != policy.Pass {
				return fmt.Errorf("scenario %q: rule %s still %s after the fix", s.Title, v.RuleID, v.Result)
			}
		}
	}
	fmt.Fprintf(w, "\n%s\n", rule)
	return nil
}

func key(v policy.Verdict) string { return v.RuleID + " " + v.Resource.ID }

// failing returns the keys of the verdicts that are not a pass.
func failing(vs []policy.Verdict) map[string]bool {
	out := map[string]bool{}
	for _, v := range vs {
		if v.Result != policy.Pass {
			out[key(v)] = true
		}
	}
	return out
}

const rule = "────────────────────────────────────────────────────────────────────────"

// check feeds the CloudTrail record of call to the pipeline.
func check(ctx context.Context, det *detect.Detector, call ctrecord.Call) (detect.Outcome, error) {
	chs, errs := change.Decode("demo", ctrecord.Build(call))
	if len(errs) > 0 || len(chs) != 1 {
		return detect.Outcome{}, fmt.Errorf("decode %s: %v", call.Operation, errs)
	}
	out := det.Process(ctx, &chs[0])
	if out.Ignored != "" {
		return out, fmt.Errorf("%s was ignored (%s)", call.Operation, out.Ignored)
	}
	if out.Failed() {
		return out, fmt.Errorf("check %s: %v", call.Operation, firstErr(out))
	}
	return out, nil
}

// show prints a change and its verdicts: the failures it caused in full,
// the rest counted. It returns the keys of the failures not in before.
func show(w io.Writer, out detect.Outcome, label string, before map[string]bool) map[string]bool {
	ch := out.Change
	fmt.Fprintf(w, "\n ▸ %s: %s:%s\n", label, strings.TrimSuffix(ch.Service, ".amazonaws.com"), ch.Operation)
	fmt.Fprintf(w, "   who    %s (%s)\n", ch.Principal.ARN, ch.Principal.Type)
	fmt.Fprintf(w, "   from   %s via %s\n", ch.SourceIP, ch.UserAgent)
	fmt.Fprintf(w, "   when   %s\n", ch.Time.UTC().Format("2006-01-02 15:04:05 MST"))
	for _, r := range ch.Resources {
		fmt.Fprintf(w, "   what   %s %s\n", r.Type, r.ID)
	}
	vs := out.Verdicts()
	sort.SliceStable(vs, func(i, j int) bool { return order(vs[i]) < order(vs[j]) })
	caused := map[string]bool{}
	passed, already := 0, 0
	fmt.Fprintf(w, "   verdict on the live state (%d rules):\n", len(vs))
	for _, v := range vs {
		switch {
		case v.Result == policy.Pass:
			passed++
		case before[key(v)]:
			already++
		default:
			caused[key(v)] = true
			mark := "✗ FAIL "
			if v.Result == policy.Error {
				mark = "! ERROR"
			}
			fmt.Fprintf(w, "     %s  %-8s %s\n              %s\n", mark, v.Severity, v.RuleID, v.Message)
		}
	}
	fmt.Fprintf(w, "     ✓ %d pass", passed)
	if already > 0 {
		fmt.Fprintf(w, "; %d already failed when the resource was created (not this change's doing)", already)
	}
	fmt.Fprintln(w)
	return caused
}

func order(v policy.Verdict) int {
	switch v.Result {
	case policy.Error:
		return 0
	case policy.Fail:
		return 1
	}
	return 2
}

func firstErr(out detect.Outcome) error {
	if out.Err != nil {
		return out.Err
	}
	for _, c := range out.Checked {
		if c.Err != nil {
			return c.Err
		}
	}
	return nil
}
