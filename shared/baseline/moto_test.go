package baseline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

func liveSG(name string) resource.Resource {
	return resource.Resource{Ref: sg, Exists: true, Doc: map[string]any{"GroupName": name}}
}

// TestCaptureAndDiffOnMoto captures the baseline of a live security group
// and a bucket, changes them through the API, and checks what Compare and
// a baseline rule say about the live state read again.
func TestCaptureAndDiffOnMoto(t *testing.T) {
	ctx := context.Background()
	cfg, err := moto.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reader := fetchaws.New(cfg, fetchaws.Options{S3PathStyle: true})
	ec2c := ec2.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })

	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			group, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("baseline-web-" + name), Description: aws.String("web")})
			if err != nil {
				t.Fatal(err)
			}
			https := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
				IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}
			ssh := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
				IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}
			if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: group.GroupId, IpPermissions: []ec2types.IpPermission{https}}); err != nil {
				t.Fatal(err)
			}
			sgRef, err := RefOf("arn:aws:ec2:us-east-1:123456789012:security-group/"+aws.ToString(group.GroupId), "", "us-east-1")
			if err != nil {
				t.Fatal(err)
			}
			bucket := "baseline-bucket-" + name
			if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Fatal(err)
			}
			allOn := &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
				BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}
			if _, err := s3c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(bucket), PublicAccessBlockConfiguration: allOn}); err != nil {
				t.Fatal(err)
			}
			bucketRef, err := RefOf("arn:aws:s3:::"+bucket, "123456789012", "us-east-1")
			if err != nil {
				t.Fatal(err)
			}

			eng, err := policy.Compile([]policy.Rule{
				{ID: "acme-sg-ingress-baseline", Title: "Ingress differs from the approved rules", Severity: policy.SeverityMedium,
					ResourceTypes: []string{"AWS::EC2::SecurityGroup"}, Kind: policy.KindBaseline, Watch: []string{"SecurityGroupIngress"}},
				{ID: "acme-bucket-pab-baseline", Title: "Public access block differs from the approved one", Severity: policy.SeverityHigh,
					ResourceTypes: []string{"AWS::S3::Bucket"}, Kind: policy.KindBaseline, Watch: []string{"PublicAccessBlock"}},
			}, policy.WithBaselines(Source{Store: s}))
			if err != nil {
				t.Fatal(err)
			}
			verdict := func(ref resource.Ref) (resource.Resource, policy.Verdict) {
				t.Helper()
				res, err := reader.Read(ctx, ref)
				if err != nil {
					t.Fatal(err)
				}
				vs := eng.Evaluate(ctx, policy.Input{Resource: res})
				if len(vs) != 1 {
					t.Fatalf("%d verdicts", len(vs))
				}
				return res, vs[0]
			}

			if _, v := verdict(sgRef); v.Result != policy.Pass || !strings.Contains(v.Message, "no approved baseline") {
				t.Fatalf("before any capture: %s %s", v.Result, v.Message)
			}
			b, err := Capture(ctx, reader, s, sgRef, "cli:alice", "test", at)
			if err != nil {
				t.Fatal(err)
			}
			if b.Version < 1 || len(b.Doc) == 0 {
				t.Fatalf("captured %+v", b)
			}
			if _, err := Capture(ctx, reader, s, bucketRef, "cli:alice", "test", at); err != nil {
				t.Fatal(err)
			}
			if _, v := verdict(sgRef); v.Result != policy.Pass {
				t.Fatalf("right after capture: %s %s", v.Result, v.Message)
			}

			// Open SSH to the world: the diff names exactly the added rule.
			if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: group.GroupId, IpPermissions: []ec2types.IpPermission{ssh}}); err != nil {
				t.Fatal(err)
			}
			res, v := verdict(sgRef)
			if v.Result != policy.Fail {
				t.Fatalf("after opening SSH: %s %s", v.Result, v.Message)
			}
			stored, err := s.Get(ctx, sgRef.ID)
			if err != nil {
				t.Fatal(err)
			}
			diffs := Compare(stored, res, []string{"SecurityGroupIngress"})
			if len(diffs) != 1 || !diffs[0].List || len(diffs[0].Added) != 1 || len(diffs[0].Removed) != 0 {
				t.Fatalf("diff %+v, want one added rule", diffs)
			}
			added, _ := json.Marshal(diffs[0].Added[0])
			if !strings.Contains(string(added), `"FromPort":22`) || !strings.Contains(v.Message, `"FromPort":22`) {
				t.Errorf("added rule %s, message %s: want port 22", added, v.Message)
			}
			if all := Compare(stored, res, nil); len(all) != 1 {
				t.Errorf("whole-document diff %+v: only the ingress changed", all)
			}
			if _, err := ec2c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: group.GroupId, IpPermissions: []ec2types.IpPermission{ssh}}); err != nil {
				t.Fatal(err)
			}
			if _, v := verdict(sgRef); v.Result != policy.Pass {
				t.Fatalf("after revoking SSH again: %s %s", v.Result, v.Message)
			}

			// Relax the bucket's public access block: the diff names the two flags.
			relaxed := *allOn
			relaxed.BlockPublicAcls, relaxed.IgnorePublicAcls = aws.Bool(false), aws.Bool(false)
			if _, err := s3c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(bucket), PublicAccessBlockConfiguration: &relaxed}); err != nil {
				t.Fatal(err)
			}
			_, v = verdict(bucketRef)
			if v.Result != policy.Fail || !strings.Contains(v.Message, `"path":"PublicAccessBlock.BlockPublicAcls","approved":true,"live":false`) ||
				!strings.Contains(v.Message, `"path":"PublicAccessBlock.IgnorePublicAcls"`) || strings.Contains(v.Message, "BlockPublicPolicy") {
				t.Errorf("bucket verdict %s: %s", v.Result, v.Message)
			}
		})
	}
}
