package aws

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// s3MotoConfig returns an SDK configuration for srv (whose HTTP client
// reaches moto for S3 Control too).
func s3MotoConfig(t *testing.T, srv *mototest.Server) aws.Config {
	t.Helper()
	cfg, err := srv.Config(context.Background())
	if err != nil {
		t.Fatalf("aws config for moto: %v", err)
	}
	return cfg
}

func TestS3BucketAgainstMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg := s3MotoConfig(t, srv)
	api := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ctl := s3control.NewFromConfig(cfg)
	reader := New(cfg, Options{S3PathStyle: true})
	account := mototest.Account

	mustS3 := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	read := func(t *testing.T, bucket string) resource.Resource {
		t.Helper()
		res, err := reader.Read(ctx, resource.Ref{Type: s3BucketType, ID: "arn:aws:s3:::" + bucket, Account: account, Region: mototest.Region})
		if err != nil {
			t.Fatalf("read bucket %s: %v", bucket, err)
		}
		return res
	}
	get := func(doc map[string]any, key string) map[string]any {
		m, _ := doc[key].(map[string]any)
		return m
	}

	t.Run("new bucket reads as not configured", func(t *testing.T) {
		mustS3("create bucket", func() error {
			_, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("plain-bucket")})
			return err
		}())
		res := read(t, "plain-bucket")
		if !res.Exists {
			t.Fatal("bucket reads as missing")
		}
		want := notConfigured("plain-bucket", "us-east-1")
		// moto's owner: take it from the answer, check the shape.
		acl := get(res.Doc, "Acl")
		owner := get(acl, "Owner")
		if owner["ID"] == "" {
			t.Errorf("owner ID empty in %v", acl)
		}
		wantACL := get(want, "Acl")
		wantACL["Owner"] = owner
		grant := wantACL["Grants"].([]any)[0].(map[string]any)
		grant["Grantee"].(map[string]any)["ID"] = owner["ID"]
		if !reflect.DeepEqual(res.Doc, want) {
			t.Errorf("doc =\n%#v\nwant\n%#v", res.Doc, want)
		}
		if len(res.Tags) != 0 {
			t.Errorf("tags = %v, want none", res.Tags)
		}
	})

	t.Run("every property configured", func(t *testing.T) {
		const b = "configured-bucket"
		mustS3("create log bucket", func() error {
			_, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("access-log-bucket"),
				ACL: s3types.BucketCannedACL("log-delivery-write")})
			return err
		}())
		mustS3("create bucket", func() error {
			_, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
			return err
		}())
		mustS3("put ACL", func() error {
			_, err := api.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: s3types.BucketCannedACLPublicRead})
			return err
		}())
		mustS3("put policy", func() error {
			_, err := api.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(
				`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}]}`)})
			return err
		}())
		mustS3("put public access block", func() error {
			_, err := api.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(b),
				PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
			return err
		}())
		mustS3("put account public access block", func() error {
			_, err := ctl.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(account),
				PublicAccessBlockConfiguration: &s3ctltypes.PublicAccessBlockConfiguration{IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true)}})
			return err
		}())
		t.Cleanup(func() {
			_, _ = ctl.DeletePublicAccessBlock(ctx, &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(account)})
		})
		mustS3("put encryption", func() error {
			_, err := api.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(b),
				ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
					ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
						SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("alias/data")},
					BucketKeyEnabled: aws.Bool(true)}}}})
			return err
		}())
		mustS3("put versioning", func() error {
			_, err := api.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
			return err
		}())
		mustS3("put logging", func() error {
			_, err := api.PutBucketLogging(ctx, &s3.PutBucketLoggingInput{Bucket: aws.String(b),
				BucketLoggingStatus: &s3types.BucketLoggingStatus{LoggingEnabled: &s3types.LoggingEnabled{
					TargetBucket: aws.String("access-log-bucket"), TargetPrefix: aws.String(b + "/")}}})
			return err
		}())
		mustS3("put ownership controls", func() error {
			_, err := api.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String(b),
				OwnershipControls: &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipObjectWriter}}}})
			return err
		}())
		mustS3("put tags", func() error {
			_, err := api.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(b),
				Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("owner"), Value: aws.String("data-team")}}}})
			return err
		}())

		res := read(t, b)
		if !res.Exists {
			t.Fatal("bucket reads as missing")
		}
		var allUsersRead bool
		for _, g := range get(res.Doc, "Acl")["Grants"].([]any) {
			g := g.(map[string]any)
			grantee := g["Grantee"].(map[string]any)
			if grantee["URI"] == "http://acs.amazonaws.com/groups/global/AllUsers" && g["Permission"] == "READ" && grantee["Type"] == "Group" {
				allUsersRead = true
			}
		}
		if !allUsersRead {
			t.Errorf("no AllUsers READ grant in %v", res.Doc["Acl"])
		}
		pol := get(res.Doc, "Policy")
		stmts, _ := get(pol, "Document")["Statement"].([]any)
		if pol["Configured"] != true || len(stmts) != 1 ||
			!reflect.DeepEqual(stmts[0].(map[string]any)["Principal"].(map[string]any)["AWS"], []any{"*"}) {
			t.Errorf("policy = %v, want the normalised public statement", pol)
		}
		checks := map[string]map[string]any{
			"PublicAccessBlock": {"Configured": true, "BlockPublicAcls": true, "IgnorePublicAcls": false,
				"BlockPublicPolicy": false, "RestrictPublicBuckets": true},
			"AccountPublicAccessBlock": {"Configured": true, "BlockPublicAcls": false, "IgnorePublicAcls": true,
				"BlockPublicPolicy": true, "RestrictPublicBuckets": false},
			"Encryption": {"Configured": true, "Rules": []any{map[string]any{
				"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/data", "BucketKeyEnabled": true}}},
			"Versioning":        {"Status": "Enabled", "MFADelete": ""},
			"Logging":           {"Enabled": true, "TargetBucket": "access-log-bucket", "TargetPrefix": b + "/"},
			"OwnershipControls": {"ObjectOwnership": "ObjectWriter"},
		}
		for key, want := range checks {
			if got := get(res.Doc, key); !reflect.DeepEqual(got, want) {
				t.Errorf("%s = %v, want %v", key, got, want)
			}
		}
		if !reflect.DeepEqual(res.Tags, map[string]string{"owner": "data-team"}) {
			t.Errorf("tags = %v", res.Tags)
		}
	})

	t.Run("bucket in another region", func(t *testing.T) {
		euAPI := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true; o.Region = "eu-west-1" })
		mustS3("create bucket in eu-west-1", func() error {
			_, err := euAPI.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("eu-bucket"),
				CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}})
			return err
		}())
		res := read(t, "eu-bucket")
		if !res.Exists || res.Doc["Region"] != "eu-west-1" {
			t.Errorf("exists %v, region %v; want an eu-west-1 bucket", res.Exists, res.Doc["Region"])
		}
	})

	t.Run("deleted bucket reads as missing", func(t *testing.T) {
		mustS3("create bucket", func() error {
			_, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("short-lived")})
			return err
		}())
		mustS3("delete bucket", func() error {
			_, err := api.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("short-lived")})
			return err
		}())
		if res := read(t, "short-lived"); res.Exists || res.Doc != nil {
			t.Errorf("deleted bucket read as %+v", res)
		}
	})
}

func TestS3AccountPublicAccessBlockAgainstMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg := s3MotoConfig(t, srv)
	ctl := s3control.NewFromConfig(cfg)
	reader := New(cfg, Options{S3PathStyle: true})
	ref := resource.Ref{Type: s3AccountPublicAccessBlockType,
		ID: "arn:aws:s3::" + mototest.Account + ":account-public-access-block", Account: mototest.Account, Region: mototest.Region}
	off := map[string]any{"AccountId": mototest.Account, "Configured": false, "BlockPublicAcls": false,
		"IgnorePublicAcls": false, "BlockPublicPolicy": false, "RestrictPublicBuckets": false}
	on := map[string]any{"AccountId": mototest.Account, "Configured": true, "BlockPublicAcls": true,
		"IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}

	steps := []struct {
		name   string
		change func() error
		want   map[string]any
	}{
		{"never configured", func() error { return nil }, off},
		{"all four on", func() error {
			_, err := ctl.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(mototest.Account),
				PublicAccessBlockConfiguration: &s3ctltypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true),
					IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
			return err
		}, on},
		{"deleted", func() error {
			_, err := ctl.DeletePublicAccessBlock(ctx, &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(mototest.Account)})
			return err
		}, off},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.change(); err != nil {
				t.Fatalf("change: %v", err)
			}
			res, err := reader.Read(ctx, ref)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !res.Exists || !reflect.DeepEqual(res.Doc, s.want) {
				t.Errorf("read exists %v doc %v, want %v", res.Exists, res.Doc, s.want)
			}
		})
	}
}
