package detect

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// The S3 scenarios share moto's account-wide Block Public Access setting,
// which every bucket read includes; they do not call t.Parallel, so no
// other test runs while they change it, and they leave it deleted (moto's
// initial state).

const s3Source = "s3.amazonaws.com"

// s3Env is the pipeline of newMotoEnv with S3 and S3 Control clients (the
// bucket reader also reads the account's Block Public Access setting; see
// mototest.Server.Config for how S3 Control reaches moto).
type s3Env struct {
	*motoEnv
	s3  *s3.Client
	ctl *s3control.Client
}

func newS3Env(t *testing.T) *s3Env {
	t.Helper()
	env := newMotoEnv(t)
	e := &s3Env{
		motoEnv: env,
		s3:      s3.NewFromConfig(env.cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		ctl:     s3control.NewFromConfig(env.cfg),
	}
	e.deleteAccountPublicAccessBlock(t)
	t.Cleanup(func() { e.deleteAccountPublicAccessBlock(t) })
	return e
}

func (e *s3Env) deleteAccountPublicAccessBlock(t *testing.T) {
	t.Helper()
	_, err := e.ctl.DeletePublicAccessBlock(context.Background(), &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(mototest.Account)})
	s3Must(t, "delete account public access block", err)
}

// bucket creates a bucket with a unique name and returns the name.
func (e *s3Env) bucket(t *testing.T, prefix string) string {
	t.Helper()
	name := unique(prefix)
	_, err := e.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	s3Must(t, "create bucket "+name, err)
	return name
}

// owner returns the canonical ID of the bucket's owner.
func (e *s3Env) owner(t *testing.T, bucket string) string {
	t.Helper()
	out, err := e.s3.GetBucketAcl(context.Background(), &s3.GetBucketAclInput{Bucket: aws.String(bucket)})
	s3Must(t, "get ACL of "+bucket, err)
	return aws.ToString(out.Owner.ID)
}

func s3Must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// s3Request returns requestParameters as CloudTrail records them for a
// bucket call made with virtual-hosted addressing (bucketName and Host),
// plus the given fields.
func s3Request(bucket string, fields map[string]any) map[string]any {
	req := map[string]any{"bucketName": bucket, "Host": bucket + ".s3.us-east-1.amazonaws.com"}
	for k, v := range fields {
		req[k] = v
	}
	return req
}

var s3AllFourOn = &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
	BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}

// s3PABRecord is a PublicAccessBlockConfiguration as CloudTrail records it.
func s3PABRecord(on bool) map[string]any {
	return map[string]any{"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "BlockPublicAcls": on,
		"IgnorePublicAcls": on, "BlockPublicPolicy": on, "RestrictPublicBuckets": on}
}

func TestS3ScenarioPublicACL(t *testing.T) {
	env := newS3Env(t)
	ctx := context.Background()
	const rule = "aws-s3-bucket-public-acl"
	b := env.bucket(t, "scn-acl")
	owner := env.owner(t, b)

	// Created private (moto, like a bucket made before April 2023, has ACLs
	// enabled and no Block Public Access).
	vs := env.feed(t, record(s3Source, "CreateBucket", map[string]any{"bucketName": b, "Host": "s3.us-east-1.amazonaws.com"}, nil))
	expect(t, vs, rule, policy.Pass)

	// Someone grants READ to AllUsers. Record shape: StreamAlert's
	// cloudtrail_put_bucket_acl.json test (Apache-2.0), IDs substituted.
	ownerGrant := s3types.Grant{Grantee: &s3types.Grantee{Type: s3types.TypeCanonicalUser, ID: aws.String(owner)}, Permission: s3types.PermissionFullControl}
	_, err := env.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), AccessControlPolicy: &s3types.AccessControlPolicy{
		Owner: &s3types.Owner{ID: aws.String(owner)},
		Grants: []s3types.Grant{ownerGrant, {
			Grantee:    &s3types.Grantee{Type: s3types.TypeGroup, URI: aws.String("http://acs.amazonaws.com/groups/global/AllUsers")},
			Permission: s3types.PermissionRead,
		}},
	}})
	s3Must(t, "make bucket public", err)
	vs = env.feed(t, record(s3Source, "PutBucketAcl", s3Request(b, map[string]any{
		"acl": "",
		"AccessControlPolicy": map[string]any{
			"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
			"Owner": map[string]any{"ID": owner},
			"AccessControlList": map[string]any{"Grant": []any{
				map[string]any{"Grantee": map[string]any{"xsi:type": "CanonicalUser", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "ID": owner},
					"Permission": "FULL_CONTROL"},
				map[string]any{"Grantee": map[string]any{"xsi:type": "Group", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
					"URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"},
			}},
		},
	}), nil))
	expect(t, vs, rule, policy.Fail)

	// Fixed: owner-only ACL again (Grant recorded as a single object, as in
	// the AWS documentation's sample).
	_, err = env.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), AccessControlPolicy: &s3types.AccessControlPolicy{
		Owner: &s3types.Owner{ID: aws.String(owner)}, Grants: []s3types.Grant{ownerGrant},
	}})
	s3Must(t, "make bucket private", err)
	vs = env.feed(t, record(s3Source, "PutBucketAcl", s3Request(b, map[string]any{
		"acl": "",
		"AccessControlPolicy": map[string]any{
			"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
			"Owner": map[string]any{"ID": owner},
			"AccessControlList": map[string]any{"Grant": map[string]any{
				"Grantee":    map[string]any{"xsi:type": "CanonicalUser", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "ID": owner},
				"Permission": "FULL_CONTROL"}},
		},
	}), nil))
	expect(t, vs, rule, policy.Pass)
}

func TestS3ScenarioPublicPolicy(t *testing.T) {
	env := newS3Env(t)
	ctx := context.Background()
	b := env.bucket(t, "scn-policy")
	arn := "arn:aws:s3:::" + b

	// A public read statement. Record shape: StreamAlert's
	// cloudtrail_public_resources.json test (Apache-2.0): the policy is a
	// JSON object, a "policy" marker and a host list.
	public := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": arn + "/*",
	}}}
	_, err := env.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + arn + `/*"}]}`)})
	s3Must(t, "put public policy", err)
	vs := env.feed(t, record(s3Source, "PutBucketPolicy", map[string]any{
		"bucketName": b, "bucketPolicy": public, "host": []any{"s3.amazonaws.com"}, "policy": []any{""},
	}, nil))
	expect(t, vs, "aws-s3-bucket-public-policy", policy.Fail)
	expect(t, vs, "aws-s3-bucket-deny-insecure-transport", policy.Fail)

	// Fixed: the policy is replaced by one that only denies plain HTTP.
	deny := `{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*",` +
		`"Resource":["` + arn + `","` + arn + `/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	_, err = env.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(deny)})
	s3Must(t, "put deny-HTTP policy", err)
	vs = env.feed(t, record(s3Source, "PutBucketPolicy", s3Request(b, map[string]any{
		"policy": "", "bucketPolicy": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
			"Resource": []any{arn, arn + "/*"}, "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		}}},
	}), nil))
	expect(t, vs, "aws-s3-bucket-public-policy", policy.Pass)
	expect(t, vs, "aws-s3-bucket-deny-insecure-transport", policy.Pass)

	// Deleting the policy keeps the bucket private but loses the HTTP guard.
	_, err = env.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(b)})
	s3Must(t, "delete policy", err)
	vs = env.feed(t, record(s3Source, "DeleteBucketPolicy", s3Request(b, map[string]any{"policy": ""}), nil))
	expect(t, vs, "aws-s3-bucket-public-policy", policy.Pass)
	expect(t, vs, "aws-s3-bucket-deny-insecure-transport", policy.Fail)
}

func TestS3ScenarioBucketPublicAccessBlock(t *testing.T) {
	env := newS3Env(t)
	ctx := context.Background()
	const rule = "aws-s3-bucket-public-access-block"
	b := env.bucket(t, "scn-pab")

	_, err := env.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(b), PublicAccessBlockConfiguration: s3AllFourOn})
	s3Must(t, "block public access", err)
	vs := env.feed(t, record(s3Source, "PutBucketPublicAccessBlock", s3Request(b, map[string]any{
		"publicAccessBlock": "", "PublicAccessBlockConfiguration": s3PABRecord(true),
	}), nil))
	expect(t, vs, rule, policy.Pass)

	// Deleted (record shape: Panther's aws_s3_delete_public_access_block
	// test, Apache-2.0).
	_, err = env.s3.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(b)})
	s3Must(t, "delete public access block", err)
	vs = env.feed(t, record(s3Source, "DeleteBucketPublicAccessBlock", s3Request(b, map[string]any{"publicAccessBlock": ""}), nil))
	expect(t, vs, rule, policy.Fail)

	// The account-wide setting covers the bucket as well.
	_, err = env.ctl.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(mototest.Account),
		PublicAccessBlockConfiguration: &s3ctltypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true),
			IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
	s3Must(t, "block public access account-wide", err)
	vs = env.feed(t, record(s3Source, "DeleteBucketPublicAccessBlock", s3Request(b, map[string]any{"publicAccessBlock": ""}), nil))
	expect(t, vs, rule, policy.Pass)
	env.deleteAccountPublicAccessBlock(t)

	// Fixed on the bucket itself.
	_, err = env.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(b), PublicAccessBlockConfiguration: s3AllFourOn})
	s3Must(t, "block public access again", err)
	vs = env.feed(t, record(s3Source, "PutBucketPublicAccessBlock", s3Request(b, map[string]any{
		"publicAccessBlock": "", "PublicAccessBlockConfiguration": s3PABRecord(true),
	}), nil))
	expect(t, vs, rule, policy.Pass)
}

func TestS3ScenarioAccountPublicAccessBlock(t *testing.T) {
	env := newS3Env(t)
	ctx := context.Background()
	const rule = "aws-s3-account-public-access-block"
	put := func() {
		t.Helper()
		_, err := env.ctl.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(mototest.Account),
			PublicAccessBlockConfiguration: &s3ctltypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true),
				IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
		s3Must(t, "block public access account-wide", err)
	}
	// S3 Control calls are recorded with eventSource s3.amazonaws.com and
	// the account in the host (S3 user guide, CloudTrail logging).
	controlHost := []any{mototest.Account + ".s3-control.us-east-1.amazonaws.com"}
	putRecord := func() []byte {
		return record(s3Source, "PutAccountPublicAccessBlock", map[string]any{
			"PublicAccessBlockConfiguration": s3PABRecord(true), "publicAccessBlock": []any{""}, "host": controlHost,
		}, nil)
	}

	put()
	expect(t, env.feed(t, putRecord()), rule, policy.Pass)

	env.deleteAccountPublicAccessBlock(t)
	vs := env.feed(t, record(s3Source, "DeleteAccountPublicAccessBlock", map[string]any{
		"publicAccessBlock": []any{""}, "host": controlHost,
	}, nil))
	expect(t, vs, rule, policy.Fail)

	put()
	expect(t, env.feed(t, putRecord()), rule, policy.Pass)
}

func TestS3ScenarioDefaultEncryption(t *testing.T) {
	env := newS3Env(t)
	ctx := context.Background()
	const rule = "aws-s3-bucket-default-encryption"
	b := env.bucket(t, "scn-enc")
	sse := func() {
		t.Helper()
		_, err := env.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(b),
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
				ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256},
			}}}})
		s3Must(t, "put encryption", err)
	}
	putRecord := s3Request(b, map[string]any{"encryption": "", "ServerSideEncryptionConfiguration": map[string]any{
		"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
		"Rule":  map[string]any{"ApplyServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
	}})

	sse()
	expect(t, env.feed(t, record(s3Source, "PutBucketEncryption", putRecord, nil)), rule, policy.Pass)

	// moto, unlike AWS since 2023, leaves a bucket unencrypted once its
	// configuration is deleted.
	_, err := env.s3.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(b)})
	s3Must(t, "delete encryption", err)
	expect(t, env.feed(t, record(s3Source, "DeleteBucketEncryption", s3Request(b, map[string]any{"encryption": ""}), nil)), rule, policy.Fail)

	sse()
	expect(t, env.feed(t, record(s3Source, "PutBucketEncryption", putRecord, nil)), rule, policy.Pass)
}

func TestS3ScenarioVersioningAndDeletion(t *testing.T) {
	env := newS3Env(t)
	ctx := context.Background()
	const rule = "aws-s3-bucket-versioning"
	b := env.bucket(t, "scn-ver")
	versioning := func(status s3types.BucketVersioningStatus) {
		t.Helper()
		_, err := env.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: status}})
		s3Must(t, "put versioning "+string(status), err)
	}
	versioningRecord := func(status string) []byte {
		return record(s3Source, "PutBucketVersioning", s3Request(b, map[string]any{"versioning": "",
			"VersioningConfiguration": map[string]any{"Status": status, "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}}), nil)
	}

	versioning(s3types.BucketVersioningStatusEnabled)
	expect(t, env.feed(t, versioningRecord("Enabled")), rule, policy.Pass)

	versioning(s3types.BucketVersioningStatusSuspended)
	expect(t, env.feed(t, versioningRecord("Suspended")), rule, policy.Fail)

	versioning(s3types.BucketVersioningStatusEnabled)
	expect(t, env.feed(t, versioningRecord("Enabled")), rule, policy.Pass)

	// A deleted bucket is gone, not failing: every rule passes.
	_, err := env.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
	s3Must(t, "delete bucket", err)
	vs := env.feed(t, record(s3Source, "DeleteBucket", s3Request(b, nil), nil))
	if len(vs) == 0 {
		t.Fatal("no verdicts for the deleted bucket")
	}
	for _, v := range vs {
		if v.Result != policy.Pass {
			t.Errorf("rule %s on the deleted bucket: %s (%s), want pass", v.RuleID, v.Result, v.Message)
		}
	}
}
