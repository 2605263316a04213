// Package demo walks through driftwatch on a local AWS emulator (moto): it
// creates compliant resources, makes the risky changes people make, feeds
// the CloudTrail record of each change to the real pipeline and prints what
// driftwatch says, in a form meant for people.
package demo

import (
	"bytes"
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
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/pipeline"
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
	// Fix undoes it and returns the CloudTrail call of the fix.
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

// Demo plays scenarios through the whole pipeline: detection, the finding
// lifecycle and its notifiers.
type Demo struct {
	W        io.Writer
	Clients  *Clients
	Pipeline *pipeline.Pipeline
	// baseline holds the failures each resource had when created: not the
	// risky change's doing, so counted but not announced.
	baseline map[string]bool
	// announced collects what the console notifier prints while a change
	// is handled, shown after the change's verdicts.
	announced bytes.Buffer
}

// New returns a Demo whose pipeline announces through console, skipping
// the findings a resource already had when it was created.
func New(w io.Writer, c *Clients, p *pipeline.Pipeline, console *pipeline.Console) *Demo {
	d := &Demo{W: w, Clients: c, Pipeline: p, baseline: map[string]bool{}}
	console.W = &d.announced
	p.Lifecycle.Notifiers = append(p.Lifecycle.Notifiers, quiet{console, d})
	return d
}

// quiet is a notifier that stays silent about baseline findings.
type quiet struct {
	finding.Notifier
	d *Demo
}

func (q quiet) skip(f *finding.Finding) bool { return q.d.baseline[f.RuleID+" "+f.Resource.ID] }

func (q quiet) Opened(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	if q.skip(f) {
		return finding.Refs{}, nil
	}
	return q.Notifier.Opened(ctx, f, n)
}

func (q quiet) Repeated(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	if q.skip(f) {
		return finding.Refs{}, nil
	}
	return q.Notifier.Repeated(ctx, f, n)
}

func (q quiet) Resolved(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	if q.skip(f) {
		return finding.Refs{}, nil
	}
	return q.Notifier.Resolved(ctx, f, n)
}

// Run plays every scenario and writes the story. For each: the resource is
// created and checked silently (its failures then are the baseline); the
// risky change opens findings (the Slack alert is shown); someone else
// touches the resource again (a repeat: one thread reply, no new alert);
// the same event is delivered twice (skipped); the fix resolves the
// findings. It returns an error when the story does not go that way.
func (d *Demo) Run(ctx context.Context, scenarios []Scenario) error {
	for i, s := range scenarios {
		if err := d.play(ctx, i+1, s); err != nil {
			return fmt.Errorf("scenario %q: %w", s.Title, err)
		}
	}
	fmt.Fprintf(d.W, "\n%s\n", rule)
	return nil
}

func (d *Demo) play(ctx context.Context, n int, s Scenario) error {
	w, c := d.W, d.Clients
	fmt.Fprintf(w, "\n%s\n %d. %s\n%s\n %s\n", rule, n, s.Title, rule, s.Story)
	created, err := s.Setup(ctx, c)
	if err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	created.Caller = s.Caller
	baseline, err := d.detect(ctx, created)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	for _, v := range baseline.Verdicts() {
		if v.Result != policy.Pass {
			d.baseline[key(v)] = true
		}
	}

	call, err := s.Break(ctx, c)
	if err != nil {
		return fmt.Errorf("make the change: %w", err)
	}
	call.Caller = s.Caller
	rec := ctrecord.Build(call)
	res, err := d.handle(ctx, rec, "the change")
	if err != nil {
		return err
	}
	caused := map[string]bool{}
	for _, t := range res.Transitions {
		if t.Kind == finding.Opened && !d.baseline[key(t.Verdict)] {
			caused[key(t.Verdict)] = true
		}
	}
	if len(caused) == 0 {
		return fmt.Errorf("the risky change opened no finding")
	}

	again := call
	again.Caller = ctrecord.Caller{Account: s.Caller.Account, UserName: "ops-automation", SourceIP: "198.51.100.200", UserAgent: "terraform/1.9.5"}
	res, err = d.handle(ctx, ctrecord.Build(again), "someone else changes it again")
	if err != nil {
		return err
	}
	for _, t := range res.Transitions {
		if caused[key(t.Verdict)] && t.Kind != finding.RepeatedNewPrincipal {
			return fmt.Errorf("repeat of %s was %s, want a repeat by a new principal", t.Verdict.RuleID, t.Kind)
		}
	}

	res, err = d.handle(ctx, rec, "the first event delivered again")
	if err != nil {
		return err
	}
	if !res.Duplicate {
		return fmt.Errorf("a second delivery of event %s was processed again", res.Outcome.Change.EventID)
	}

	fix, err := s.Fix(ctx, c)
	if err != nil {
		return fmt.Errorf("fix: %w", err)
	}
	fix.Caller = s.Caller
	if res, err = d.handle(ctx, ctrecord.Build(*fix), "the fix"); err != nil {
		return err
	}
	resolved := 0
	for _, t := range res.Transitions {
		if caused[key(t.Verdict)] {
			if t.Kind != finding.Resolved {
				return fmt.Errorf("rule %s was %s after the fix, want resolved", t.Verdict.RuleID, t.Kind)
			}
			resolved++
		}
	}
	if resolved != len(caused) {
		return fmt.Errorf("%d of %d findings resolved by the fix", resolved, len(caused))
	}
	return nil
}

func key(v policy.Verdict) string { return v.RuleID + " " + v.Resource.ID }

// detect runs detection only (no findings) on the record of call.
func (d *Demo) detect(ctx context.Context, call ctrecord.Call) (detect.Outcome, error) {
	chs, errs := change.Decode("demo", ctrecord.Build(call))
	if len(errs) > 0 || len(chs) != 1 {
		return detect.Outcome{}, fmt.Errorf("decode %s: %v", call.Operation, errs)
	}
	out := d.Pipeline.Detector.Process(ctx, &chs[0])
	if out.Ignored != "" || out.Failed() {
		return out, fmt.Errorf("check %s: ignored %q, %v", call.Operation, out.Ignored, firstErr(out))
	}
	return out, nil
}

// handle runs the whole pipeline on a record and prints the change and its
// verdicts; the console notifier prints what the findings announce.
func (d *Demo) handle(ctx context.Context, rec []byte, label string) (pipeline.Result, error) {
	chs, errs := change.Decode("demo", rec)
	if len(errs) > 0 || len(chs) != 1 {
		return pipeline.Result{}, fmt.Errorf("decode %s: %v", label, errs)
	}
	ch := &chs[0]
	w := d.W
	fmt.Fprintf(w, "\n ▸ %s: %s:%s  (event %s)\n", label, strings.TrimSuffix(ch.Service, ".amazonaws.com"), ch.Operation, ch.EventID)
	d.announced.Reset()
	defer func() { _, _ = d.announced.WriteTo(w) }()
	res, err := d.Pipeline.Handle(ctx, ch)
	if err != nil {
		return res, fmt.Errorf("%s: %w", label, err)
	}
	if res.Duplicate {
		fmt.Fprintln(w, "   already processed: skipped before any cloud call, no second alert")
		return res, nil
	}
	if res.Incomplete() {
		return res, fmt.Errorf("check %s: %v", label, firstErr(res.Outcome))
	}
	fmt.Fprintf(w, "   who    %s (%s)\n", ch.Principal.ARN, ch.Principal.Type)
	fmt.Fprintf(w, "   from   %s via %s\n", ch.SourceIP, ch.UserAgent)
	for _, r := range ch.Resources {
		fmt.Fprintf(w, "   what   %s %s\n", r.Type, r.ID)
	}
	vs := res.Outcome.Verdicts()
	sort.SliceStable(vs, func(i, j int) bool { return order(vs[i]) < order(vs[j]) })
	passed, already := 0, 0
	fmt.Fprintf(w, "   verdict on the live state (%d rules):\n", len(vs))
	for _, v := range vs {
		switch {
		case v.Result == policy.Pass:
			passed++
		case d.baseline[key(v)]:
			already++
		default:
			mark := "✗ FAIL "
			if v.Result == policy.Error {
				mark = "! ERROR"
			}
			fmt.Fprintf(w, "     %s  %-8s %s\n              %s\n", mark, v.Severity, v.RuleID, v.Message)
		}
	}
	fmt.Fprintf(w, "     ✓ %d pass", passed)
	if already > 0 {
		fmt.Fprintf(w, "; %d already failed when the resource was created (not shown)", already)
	}
	fmt.Fprintln(w)
	return res, nil
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

const rule = "────────────────────────────────────────────────────────────────────────"
