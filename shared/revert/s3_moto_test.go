package revert

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// s3Env adds S3 clients to env and keeps the account's Block Public Access
// setting deleted (moto's initial state) around each test, since every
// bucket read includes it.
type s3Env struct {
	*env
	s3  *s3.Client
	ctl *s3control.Client
}

func newS3Env(t *testing.T) *s3Env {
	t.Helper()
	e := newEnv(t)
	s := &s3Env{env: e, s3: s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.UsePathStyle = true }), ctl: s3control.NewFromConfig(e.cfg)}
	s.deleteAccountPublicAccessBlock(t)
	t.Cleanup(func() { s.deleteAccountPublicAccessBlock(t) })
	return s
}

func (s *s3Env) deleteAccountPublicAccessBlock(t *testing.T) {
	t.Helper()
	_, err := s.ctl.DeletePublicAccessBlock(context.Background(), &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(mototest.Account)})
	must(t, "delete account public access block", err)
}

// bucket creates a bucket and returns its name and reference.
func (s *s3Env) bucket(t *testing.T, prefix string) (string, resource.Ref) {
	t.Helper()
	name := unique(prefix)
	_, err := s.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	must(t, "create bucket "+name, err)
	return name, ref("AWS::S3::Bucket", "arn:aws:s3:::"+name)
}

var allFourOn = &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
	BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}

func TestS3BucketPublicAccessBlock(t *testing.T) {
	s := newS3Env(t)
	ctx := context.Background()
	name, r := s.bucket(t, "rv-pab")
	_, err := s.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(name), PublicAccessBlockConfiguration: allFourOn})
	must(t, "put public access block", err)
	plan, _ := s.run(t, scenario{
		rule: "aws-s3-bucket-public-access-block", remediation: "s3-enable-public-access-block", ref: r,
		breakIt: func(t *testing.T) {
			_, err := s.s3.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(name)})
			must(t, "delete public access block", err)
		},
		ops: []string{"PutPublicAccessBlock"},
	})
	if got := plan.Calls[0].IAMAction; got != "s3:PutBucketPublicAccessBlock" {
		t.Errorf("IAM action %q, want s3:PutBucketPublicAccessBlock", got)
	}
}

// TestS3BucketPublicAccessBlockKeepsAccountCoverage checks that the flags
// the account already turns on are not written on the bucket.
func TestS3BucketPublicAccessBlockKeepsAccountCoverage(t *testing.T) {
	s := newS3Env(t)
	ctx := context.Background()
	_, r := s.bucket(t, "rv-pab-acct")
	_, err := s.ctl.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(mototest.Account),
		PublicAccessBlockConfiguration: &s3ctltypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true)}})
	must(t, "put account public access block", err)
	res := s.read(t, r)
	v := s.verdict(t, res, "aws-s3-bucket-public-access-block", nil)
	plan, err := s.rem.Plan(ctx, "s3-enable-public-access-block", res, v, nil)
	must(t, "plan", err)
	if len(plan.Calls) != 1 {
		t.Fatalf("plan: %d calls (%s), want 1", len(plan.Calls), plan.Reason)
	}
	cfg, _ := plan.Calls[0].Params["PublicAccessBlockConfiguration"].(map[string]any)
	want := map[string]any{"BlockPublicAcls": false, "IgnorePublicAcls": false, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}
	for k, w := range want {
		if cfg[k] != w {
			t.Errorf("%s = %v, want %v (params %v)", k, cfg[k], w, plan.Calls[0].Params)
		}
	}
}

func TestS3AccountPublicAccessBlock(t *testing.T) {
	s := newS3Env(t)
	ctx := context.Background()
	_, err := s.ctl.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(mototest.Account),
		PublicAccessBlockConfiguration: &s3ctltypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
			BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
	must(t, "put account public access block", err)
	s.run(t, scenario{
		rule: "aws-s3-account-public-access-block", remediation: "s3-enable-account-public-access-block",
		ref:     ref("AWS::S3::AccountPublicAccessBlock", "arn:aws:s3::"+mototest.Account+":account-public-access-block"),
		breakIt: func(t *testing.T) { s.deleteAccountPublicAccessBlock(t) },
		ops:     []string{"PutPublicAccessBlock"},
	})
}

const (
	allUsers    = "http://acs.amazonaws.com/groups/global/AllUsers"
	authUsers   = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	logDelivery = "http://acs.amazonaws.com/groups/s3/LogDelivery"
)

func groupGrant(uri string, p s3types.Permission) s3types.Grant {
	return s3types.Grant{Grantee: &s3types.Grantee{Type: s3types.TypeGroup, URI: aws.String(uri)}, Permission: p}
}

func TestS3RemovePublicACLGrants(t *testing.T) {
	s := newS3Env(t)
	ctx := context.Background()
	name, r := s.bucket(t, "rv-acl")
	acl, err := s.s3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(name)})
	must(t, "get acl", err)
	owner := aws.ToString(acl.Owner.ID)
	ownerGrant := s3types.Grant{Grantee: &s3types.Grantee{Type: s3types.TypeCanonicalUser, ID: aws.String(owner)}, Permission: s3types.PermissionFullControl}
	putACL := func(grants ...s3types.Grant) {
		t.Helper()
		_, err := s.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(name), AccessControlPolicy: &s3types.AccessControlPolicy{
			Owner: &s3types.Owner{ID: aws.String(owner)}, Grants: grants}})
		must(t, "put acl", err)
	}
	// Compliant: the owner, and the log-delivery group writing access logs.
	compliant := []s3types.Grant{ownerGrant, groupGrant(logDelivery, s3types.PermissionWrite), groupGrant(logDelivery, s3types.PermissionReadAcp)}
	putACL(compliant...)
	plan, _ := s.run(t, scenario{
		rule: "aws-s3-bucket-public-acl", remediation: "s3-remove-public-acl-grants", ref: r,
		breakIt: func(t *testing.T) {
			putACL(append(compliant, groupGrant(allUsers, s3types.PermissionRead), groupGrant(authUsers, s3types.PermissionWrite))...)
		},
		ops: []string{"PutBucketAcl"},
	})
	grants, _ := plan.Calls[0].Params["AccessControlPolicy"].(map[string]any)["Grants"].([]any)
	if len(grants) != 3 {
		t.Errorf("PutBucketAcl writes %d grants, want the owner's and the two log-delivery grants: %v", len(grants), grants)
	}
}

func TestS3RemovePublicPolicyStatements(t *testing.T) {
	const private = `{"Version":"2012-10-17","Id":"keep-me","Statement":[` +
		`{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"],` +
		`"Condition":{"Bool":{"aws:SecureTransport":"false"}}},` +
		`{"Sid":"CloudFront","Effect":"Allow","Principal":{"Service":"cloudfront.amazonaws.com"},"Action":"s3:GetObject",` +
		`"Resource":"arn:aws:s3:::%[1]s/*","Condition":{"StringEquals":{"AWS:SourceArn":"arn:aws:cloudfront::123456789012:distribution/E1"}}}]}`
	const public = `{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%[1]s/*"}`
	put := func(t *testing.T, s *s3Env, name, policy string) {
		t.Helper()
		_, err := s.s3.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(policy)})
		must(t, "put bucket policy", err)
	}
	t.Run("other statements kept", func(t *testing.T) {
		s := newS3Env(t)
		name, r := s.bucket(t, "rv-policy")
		put(t, s, name, fmt.Sprintf(private, name))
		plan, _ := s.run(t, scenario{
			rule: "aws-s3-bucket-public-policy", remediation: "s3-remove-public-policy-statements", ref: r,
			breakIt: func(t *testing.T) {
				p := fmt.Sprintf(private, name)
				put(t, s, name, p[:len(p)-2]+","+fmt.Sprintf(public, name)+"]}")
			},
			ops: []string{"PutBucketPolicy"},
		})
		if plan.Backup["Policy"] == nil {
			t.Error("the plan keeps no backup of the policy it rewrites")
		}
	})
	t.Run("policy deleted when only public statements", func(t *testing.T) {
		s := newS3Env(t)
		name, r := s.bucket(t, "rv-policy-only")
		s.run(t, scenario{
			rule: "aws-s3-bucket-public-policy", remediation: "s3-remove-public-policy-statements", ref: r,
			breakIt: func(t *testing.T) {
				put(t, s, name, `{"Version":"2012-10-17","Statement":[`+fmt.Sprintf(public, name)+`]}`)
			},
			ops: []string{"DeleteBucketPolicy"},
		})
	})
}

func TestS3RestoreDefaultEncryption(t *testing.T) {
	s := newS3Env(t)
	ctx := context.Background()
	name, r := s.bucket(t, "rv-sse")
	_, err := s.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(name), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}},
	}})
	must(t, "put bucket encryption", err)
	s.run(t, scenario{
		rule: "aws-s3-bucket-default-encryption", remediation: "s3-restore-default-encryption", ref: r,
		breakIt: func(t *testing.T) {
			_, err := s.s3.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(name)})
			must(t, "delete bucket encryption", err)
		},
		ops: []string{"PutBucketEncryption"},
	})
}
