package aws

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeS3 is an s3API whose answers are set per test; a nil func answers as
// S3 does for a bucket with nothing configured.
type fakeS3 struct {
	location    func(*s3.GetBucketLocationInput) (*s3.GetBucketLocationOutput, error)
	acl         func(*s3.GetBucketAclInput) (*s3.GetBucketAclOutput, error)
	policy      func(*s3.GetBucketPolicyInput) (*s3.GetBucketPolicyOutput, error)
	pab         func(*s3.GetPublicAccessBlockInput) (*s3.GetPublicAccessBlockOutput, error)
	encryption  func(*s3.GetBucketEncryptionInput) (*s3.GetBucketEncryptionOutput, error)
	versioning  func(*s3.GetBucketVersioningInput) (*s3.GetBucketVersioningOutput, error)
	logging     func(*s3.GetBucketLoggingInput) (*s3.GetBucketLoggingOutput, error)
	ownership   func(*s3.GetBucketOwnershipControlsInput) (*s3.GetBucketOwnershipControlsOutput, error)
	tagging     func(*s3.GetBucketTaggingInput) (*s3.GetBucketTaggingOutput, error)
	accountPAB  func(*s3control.GetPublicAccessBlockInput) (*s3control.GetPublicAccessBlockOutput, error)
	calledFor   []string // buckets and accounts asked about, in order
	regionsUsed []string // regions clients were asked for
}

var (
	_ s3API        = (*fakeS3)(nil)
	_ s3ControlAPI = (*fakeS3Control)(nil)
)

func s3APIError(code string) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "Get", Err: &smithy.GenericAPIError{Code: code, Message: code}}
}

// s3RedirectError is the error S3 answers a bucket request sent to the
// wrong region with, as the SDK returns it.
func s3RedirectError(region string) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "GetBucketLocation", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusMovedPermanently,
				Header: http.Header{"X-Amz-Bucket-Region": []string{region}}}},
			Err: &smithy.GenericAPIError{Code: "PermanentRedirect", Message: "The bucket you are attempting to access must be addressed using the specified endpoint."},
		},
	}}
}

func (f *fakeS3) note(bucket *string) { f.calledFor = append(f.calledFor, aws.ToString(bucket)) }

func (f *fakeS3) GetBucketLocation(_ context.Context, in *s3.GetBucketLocationInput, _ ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error) {
	f.note(in.Bucket)
	if f.location == nil {
		return &s3.GetBucketLocationOutput{}, nil
	}
	return f.location(in)
}

func (f *fakeS3) GetBucketAcl(_ context.Context, in *s3.GetBucketAclInput, _ ...func(*s3.Options)) (*s3.GetBucketAclOutput, error) {
	f.note(in.Bucket)
	if f.acl == nil {
		return &s3.GetBucketAclOutput{Owner: &s3types.Owner{ID: aws.String("owner-id")}, Grants: []s3types.Grant{{
			Grantee:    &s3types.Grantee{Type: s3types.TypeCanonicalUser, ID: aws.String("owner-id")},
			Permission: s3types.PermissionFullControl,
		}}}, nil
	}
	return f.acl(in)
}

func (f *fakeS3) GetBucketPolicy(_ context.Context, in *s3.GetBucketPolicyInput, _ ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error) {
	f.note(in.Bucket)
	if f.policy == nil {
		return nil, s3APIError("NoSuchBucketPolicy")
	}
	return f.policy(in)
}

func (f *fakeS3) GetPublicAccessBlock(_ context.Context, in *s3.GetPublicAccessBlockInput, _ ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error) {
	f.note(in.Bucket)
	if f.pab == nil {
		return nil, s3APIError("NoSuchPublicAccessBlockConfiguration")
	}
	return f.pab(in)
}

func (f *fakeS3) GetBucketEncryption(_ context.Context, in *s3.GetBucketEncryptionInput, _ ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error) {
	f.note(in.Bucket)
	if f.encryption == nil {
		return nil, s3APIError("ServerSideEncryptionConfigurationNotFoundError")
	}
	return f.encryption(in)
}

func (f *fakeS3) GetBucketVersioning(_ context.Context, in *s3.GetBucketVersioningInput, _ ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error) {
	f.note(in.Bucket)
	if f.versioning == nil {
		return &s3.GetBucketVersioningOutput{}, nil
	}
	return f.versioning(in)
}

func (f *fakeS3) GetBucketLogging(_ context.Context, in *s3.GetBucketLoggingInput, _ ...func(*s3.Options)) (*s3.GetBucketLoggingOutput, error) {
	f.note(in.Bucket)
	if f.logging == nil {
		return &s3.GetBucketLoggingOutput{}, nil
	}
	return f.logging(in)
}

func (f *fakeS3) GetBucketOwnershipControls(_ context.Context, in *s3.GetBucketOwnershipControlsInput, _ ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error) {
	f.note(in.Bucket)
	if f.ownership == nil {
		return nil, s3APIError("OwnershipControlsNotFoundError")
	}
	return f.ownership(in)
}

func (f *fakeS3) GetBucketTagging(_ context.Context, in *s3.GetBucketTaggingInput, _ ...func(*s3.Options)) (*s3.GetBucketTaggingOutput, error) {
	f.note(in.Bucket)
	if f.tagging == nil {
		return nil, s3APIError("NoSuchTagSet")
	}
	return f.tagging(in)
}

// fakeS3Control answers account-level calls from its fakeS3's accountPAB.
type fakeS3Control struct{ f *fakeS3 }

func (c fakeS3Control) GetPublicAccessBlock(_ context.Context, in *s3control.GetPublicAccessBlockInput, _ ...func(*s3control.Options)) (*s3control.GetPublicAccessBlockOutput, error) {
	c.f.calledFor = append(c.f.calledFor, "account:"+aws.ToString(in.AccountId))
	if c.f.accountPAB == nil {
		return nil, s3APIError("NoSuchPublicAccessBlockConfiguration")
	}
	return c.f.accountPAB(in)
}

// clients returns the s3Clients of a bucket read that answers from f.
func (f *fakeS3) clients(home string) s3Clients {
	return s3Clients{
		home:    home,
		region:  func(r string) s3API { f.regionsUsed = append(f.regionsUsed, r); return f },
		control: fakeS3Control{f},
	}
}

// notConfigured is the document of a bucket with nothing configured beyond
// the owner's ACL grant, as fakeS3's defaults answer.
func notConfigured(name, region string) map[string]any {
	off := map[string]any{"Configured": false, "BlockPublicAcls": false, "IgnorePublicAcls": false,
		"BlockPublicPolicy": false, "RestrictPublicBuckets": false}
	return map[string]any{
		"Name":   name,
		"Region": region,
		"Acl": map[string]any{
			"Owner": map[string]any{"ID": "owner-id", "DisplayName": ""},
			"Grants": []any{map[string]any{
				"Grantee":    map[string]any{"Type": "CanonicalUser", "ID": "owner-id", "URI": "", "DisplayName": "", "EmailAddress": ""},
				"Permission": "FULL_CONTROL",
			}},
		},
		"Policy":                   map[string]any{"Configured": false, "Document": map[string]any{}},
		"PublicAccessBlock":        off,
		"AccountPublicAccessBlock": off,
		"Encryption":               map[string]any{"Configured": false, "Rules": []any{}},
		"Versioning":               map[string]any{"Status": "", "MFADelete": ""},
		"Logging":                  map[string]any{"Enabled": false, "TargetBucket": "", "TargetPrefix": ""},
		"OwnershipControls":        map[string]any{"ObjectOwnership": ""},
	}
}

func TestReadS3Bucket(t *testing.T) {
	const policy = `{"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Allow","Principal":"*",` +
		`"Action":"s3:GetObject","Resource":"arn:aws:s3:::shop-assets/*"},` +
		`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:*","Resource":["arn:aws:s3:::shop-assets","arn:aws:s3:::shop-assets/*"],` +
		`"Condition":{"Bool":{"aws:SecureTransport":false}}}]}`
	all := &fakeS3{
		location: func(*s3.GetBucketLocationInput) (*s3.GetBucketLocationOutput, error) {
			return &s3.GetBucketLocationOutput{LocationConstraint: s3types.BucketLocationConstraintEu}, nil
		},
		acl: func(*s3.GetBucketAclInput) (*s3.GetBucketAclOutput, error) {
			return &s3.GetBucketAclOutput{
				Owner: &s3types.Owner{ID: aws.String("owner-id"), DisplayName: aws.String("ops")},
				Grants: []s3types.Grant{
					{Grantee: &s3types.Grantee{Type: s3types.TypeGroup, URI: aws.String("http://acs.amazonaws.com/groups/global/AllUsers")},
						Permission: s3types.PermissionRead},
					{Grantee: &s3types.Grantee{Type: s3types.TypeAmazonCustomerByEmail, EmailAddress: aws.String("a@example.com")},
						Permission: s3types.PermissionWriteAcp},
				},
			}, nil
		},
		policy: func(*s3.GetBucketPolicyInput) (*s3.GetBucketPolicyOutput, error) {
			return &s3.GetBucketPolicyOutput{Policy: aws.String(policy)}, nil
		},
		pab: func(*s3.GetPublicAccessBlockInput) (*s3.GetPublicAccessBlockOutput, error) {
			return &s3.GetPublicAccessBlockOutput{PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
				BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true)}}, nil
		},
		accountPAB: func(*s3control.GetPublicAccessBlockInput) (*s3control.GetPublicAccessBlockOutput, error) {
			return &s3control.GetPublicAccessBlockOutput{PublicAccessBlockConfiguration: &s3ctltypes.PublicAccessBlockConfiguration{
				BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}, nil
		},
		encryption: func(*s3.GetBucketEncryptionInput) (*s3.GetBucketEncryptionOutput, error) {
			return &s3.GetBucketEncryptionOutput{ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
				Rules: []s3types.ServerSideEncryptionRule{{
					ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
						SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("arn:aws:kms:eu-west-1:123456789012:key/k")},
					BucketKeyEnabled: aws.Bool(true),
				}},
			}}, nil
		},
		versioning: func(*s3.GetBucketVersioningInput) (*s3.GetBucketVersioningOutput, error) {
			return &s3.GetBucketVersioningOutput{Status: s3types.BucketVersioningStatusEnabled, MFADelete: s3types.MFADeleteStatusDisabled}, nil
		},
		logging: func(*s3.GetBucketLoggingInput) (*s3.GetBucketLoggingOutput, error) {
			return &s3.GetBucketLoggingOutput{LoggingEnabled: &s3types.LoggingEnabled{
				TargetBucket: aws.String("access-logs"), TargetPrefix: aws.String("shop-assets/")}}, nil
		},
		ownership: func(*s3.GetBucketOwnershipControlsInput) (*s3.GetBucketOwnershipControlsOutput, error) {
			return &s3.GetBucketOwnershipControlsOutput{OwnershipControls: &s3types.OwnershipControls{
				Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerPreferred}}}}, nil
		},
		tagging: func(*s3.GetBucketTaggingInput) (*s3.GetBucketTaggingOutput, error) {
			return &s3.GetBucketTaggingOutput{TagSet: []s3types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}}, nil
		},
	}
	allDoc := map[string]any{
		"Name":   "shop-assets",
		"Region": "eu-west-1",
		"Acl": map[string]any{
			"Owner": map[string]any{"ID": "owner-id", "DisplayName": "ops"},
			"Grants": []any{
				map[string]any{
					"Grantee": map[string]any{"Type": "Group", "ID": "", "URI": "http://acs.amazonaws.com/groups/global/AllUsers",
						"DisplayName": "", "EmailAddress": ""},
					"Permission": "READ",
				},
				map[string]any{
					"Grantee": map[string]any{"Type": "AmazonCustomerByEmail", "ID": "", "URI": "",
						"DisplayName": "", "EmailAddress": "a@example.com"},
					"Permission": "WRITE_ACP",
				},
			},
		},
		"Policy": map[string]any{"Configured": true, "Document": map[string]any{
			"Version": "2012-10-17", "Id": "",
			"Statement": []any{
				map[string]any{
					"Sid": "Public", "Effect": "Allow",
					"Principal":    map[string]any{"AWS": []any{"*"}, "Service": []any{}, "Federated": []any{}, "CanonicalUser": []any{}},
					"NotPrincipal": map[string]any{"AWS": []any{}, "Service": []any{}, "Federated": []any{}, "CanonicalUser": []any{}},
					"Action":       []any{"s3:GetObject"}, "NotAction": []any{},
					"Resource": []any{"arn:aws:s3:::shop-assets/*"}, "NotResource": []any{},
					"Condition": map[string]any{},
				},
				map[string]any{
					"Sid": "", "Effect": "Deny",
					"Principal":    map[string]any{"AWS": []any{"*"}, "Service": []any{}, "Federated": []any{}, "CanonicalUser": []any{}},
					"NotPrincipal": map[string]any{"AWS": []any{}, "Service": []any{}, "Federated": []any{}, "CanonicalUser": []any{}},
					"Action":       []any{"s3:*"}, "NotAction": []any{},
					"Resource":    []any{"arn:aws:s3:::shop-assets", "arn:aws:s3:::shop-assets/*"},
					"NotResource": []any{},
					"Condition":   map[string]any{"Bool": map[string]any{"aws:SecureTransport": []any{"false"}}},
				},
			},
		}},
		"PublicAccessBlock": map[string]any{"Configured": true, "BlockPublicAcls": true, "IgnorePublicAcls": true,
			"BlockPublicPolicy": false, "RestrictPublicBuckets": false},
		"AccountPublicAccessBlock": map[string]any{"Configured": true, "BlockPublicAcls": false, "IgnorePublicAcls": false,
			"BlockPublicPolicy": true, "RestrictPublicBuckets": true},
		"Encryption": map[string]any{"Configured": true, "Rules": []any{map[string]any{
			"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:eu-west-1:123456789012:key/k", "BucketKeyEnabled": true}}},
		"Versioning":        map[string]any{"Status": "Enabled", "MFADelete": "Disabled"},
		"Logging":           map[string]any{"Enabled": true, "TargetBucket": "access-logs", "TargetPrefix": "shop-assets/"},
		"OwnershipControls": map[string]any{"ObjectOwnership": "BucketOwnerPreferred"},
	}

	tests := []struct {
		name        string
		fake        *fakeS3
		bucket      string
		account     string
		wantDoc     map[string]any
		wantTags    map[string]string
		wantExists  bool
		wantErr     string // substring of the error; "" for none
		wantRegions []string
	}{
		{
			name: "every property configured", fake: all, bucket: "shop-assets", account: "123456789012",
			wantDoc: allDoc, wantTags: map[string]string{"team": "web"}, wantExists: true,
			wantRegions: []string{"us-west-2", "eu-west-1"},
		},
		{
			name: "nothing configured: explicit not-configured values, no tags", fake: &fakeS3{},
			bucket: "plain", account: "123456789012",
			wantDoc: notConfigured("plain", "us-east-1"), wantExists: true,
			wantRegions: []string{"us-west-2", "us-east-1"},
		},
		{
			name: "bucket does not exist",
			fake: &fakeS3{location: func(*s3.GetBucketLocationInput) (*s3.GetBucketLocationOutput, error) {
				return nil, s3APIError("NoSuchBucket")
			}},
			bucket: "gone", account: "123456789012", wantExists: false,
		},
		{
			name: "bucket deleted between two reads",
			fake: &fakeS3{versioning: func(*s3.GetBucketVersioningInput) (*s3.GetBucketVersioningOutput, error) {
				return nil, s3APIError("NoSuchBucket")
			}},
			bucket: "racing", account: "123456789012", wantExists: false,
		},
		{
			name: "empty policy text is no policy",
			fake: &fakeS3{policy: func(*s3.GetBucketPolicyInput) (*s3.GetBucketPolicyOutput, error) {
				return &s3.GetBucketPolicyOutput{Policy: aws.String("")}, nil
			}},
			bucket: "plain", account: "123456789012", wantDoc: notConfigured("plain", "us-east-1"), wantExists: true,
		},
		{
			name: "access denied on the policy is an error",
			fake: &fakeS3{policy: func(*s3.GetBucketPolicyInput) (*s3.GetBucketPolicyOutput, error) {
				return nil, s3APIError("AccessDenied")
			}},
			bucket: "locked", account: "123456789012", wantErr: `get policy of bucket "locked"`,
		},
		{
			name: "malformed policy is an error",
			fake: &fakeS3{policy: func(*s3.GetBucketPolicyInput) (*s3.GetBucketPolicyOutput, error) {
				return &s3.GetBucketPolicyOutput{Policy: aws.String(`["not","an","object"]`)}, nil
			}},
			bucket: "odd", account: "123456789012", wantErr: `get policy of bucket "odd"`,
		},
		{
			name: "access denied on the account setting is an error",
			fake: &fakeS3{accountPAB: func(*s3control.GetPublicAccessBlockInput) (*s3control.GetPublicAccessBlockOutput, error) {
				return nil, s3APIError("AccessDenied")
			}},
			bucket: "plain", account: "123456789012",
			wantErr: `get account public access block of bucket "plain": get public access block of account 123456789012`,
		},
		{
			name: "unknown account is an error", fake: &fakeS3{}, bucket: "plain", account: "",
			wantErr: "account is not known",
		},
		{
			name: "throttled location read is an error, not a missing bucket",
			fake: &fakeS3{location: func(*s3.GetBucketLocationInput) (*s3.GetBucketLocationOutput, error) {
				return nil, s3APIError("SlowDown")
			}},
			bucket: "busy", account: "123456789012", wantErr: `get location of bucket "busy"`,
		},
		{
			name: "asked in the wrong region: the region comes from the error's x-amz-bucket-region",
			fake: &fakeS3{location: func(*s3.GetBucketLocationInput) (*s3.GetBucketLocationOutput, error) {
				return nil, s3RedirectError("eu-central-1")
			}},
			bucket: "fra", account: "123456789012", wantDoc: notConfigured("fra", "eu-central-1"), wantExists: true,
			wantRegions: []string{"us-west-2", "eu-central-1"},
		},
		{
			name: "region from a location constraint",
			fake: &fakeS3{location: func(*s3.GetBucketLocationInput) (*s3.GetBucketLocationOutput, error) {
				return &s3.GetBucketLocationOutput{LocationConstraint: s3types.BucketLocationConstraintApSoutheast2}, nil
			}},
			bucket: "syd", account: "123456789012", wantDoc: notConfigured("syd", "ap-southeast-2"), wantExists: true,
			wantRegions: []string{"us-west-2", "ap-southeast-2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, tags, exists, err := readS3Bucket(context.Background(), tt.fake.clients("us-west-2"), tt.bucket, tt.account)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readS3Bucket: %v", err)
			}
			if exists != tt.wantExists {
				t.Fatalf("exists = %v, want %v", exists, tt.wantExists)
			}
			if !exists {
				if doc != nil {
					t.Errorf("doc of a missing bucket = %v, want nil", doc)
				}
				return
			}
			if !reflect.DeepEqual(doc, tt.wantDoc) {
				t.Errorf("doc =\n%#v\nwant\n%#v", doc, tt.wantDoc)
			}
			if !reflect.DeepEqual(tags, tt.wantTags) {
				t.Errorf("tags = %v, want %v", tags, tt.wantTags)
			}
			if tt.wantRegions != nil && !slices.Equal(tt.fake.regionsUsed[:2], tt.wantRegions) {
				t.Errorf("regions asked = %v, want %v first", tt.fake.regionsUsed, tt.wantRegions)
			}
			for _, who := range tt.fake.calledFor {
				if who != tt.bucket && who != "account:"+tt.account {
					t.Errorf("asked about %q while reading bucket %q of %s", who, tt.bucket, tt.account)
				}
			}
		})
	}
}

func TestReadS3BucketKeepsAPIError(t *testing.T) {
	f := &fakeS3{acl: func(*s3.GetBucketAclInput) (*s3.GetBucketAclOutput, error) { return nil, s3APIError("AccessDenied") }}
	_, _, _, err := readS3Bucket(context.Background(), f.clients("us-east-1"), "b", "123456789012")
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Fatalf("error %v does not unwrap to the AccessDenied API error", err)
	}
}

func TestReadS3AccountPublicAccessBlock(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(*s3control.GetPublicAccessBlockInput) (*s3control.GetPublicAccessBlockOutput, error)
		want    map[string]any
		wantErr bool
	}{
		{
			name: "all four on",
			answer: func(*s3control.GetPublicAccessBlockInput) (*s3control.GetPublicAccessBlockOutput, error) {
				t := aws.Bool(true)
				return &s3control.GetPublicAccessBlockOutput{PublicAccessBlockConfiguration: &s3ctltypes.PublicAccessBlockConfiguration{
					BlockPublicAcls: t, IgnorePublicAcls: t, BlockPublicPolicy: t, RestrictPublicBuckets: t}}, nil
			},
			want: map[string]any{"Configured": true, "BlockPublicAcls": true, "IgnorePublicAcls": true,
				"BlockPublicPolicy": true, "RestrictPublicBuckets": true},
		},
		{
			name: "never configured",
			want: map[string]any{"Configured": false, "BlockPublicAcls": false, "IgnorePublicAcls": false,
				"BlockPublicPolicy": false, "RestrictPublicBuckets": false},
		},
		{
			name: "access denied",
			answer: func(*s3control.GetPublicAccessBlockInput) (*s3control.GetPublicAccessBlockOutput, error) {
				return nil, s3APIError("AccessDenied")
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeS3{accountPAB: tt.answer}
			got, err := readS3AccountPublicAccessBlock(context.Background(), fakeS3Control{f}, "210987654321")
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !slices.Equal(f.calledFor, []string{"account:210987654321"}) {
				t.Errorf("asked about %v, want account 210987654321", f.calledFor)
			}
		})
	}
}

func TestS3BucketName(t *testing.T) {
	tests := []struct {
		arn, want string
		ok        bool
	}{
		{"arn:aws:s3:::my-bucket", "my-bucket", true},
		{"arn:aws-cn:s3:::my.dotted.bucket", "my.dotted.bucket", true},
		{"arn:aws:s3:::my-bucket/key", "", false},
		{"arn:aws:s3:::", "", false},
		{"arn:aws:s3::123456789012:account-public-access-block", "", false},
		{"arn:aws:iam::123456789012:user/x", "", false},
		{"my-bucket", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			got, err := s3BucketName(tt.arn)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("s3BucketName(%q) = %q, %v; want %q, ok %v", tt.arn, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestS3Region(t *testing.T) {
	tests := map[s3types.BucketLocationConstraint]string{
		"":          "us-east-1",
		"EU":        "eu-west-1",
		"eu-west-1": "eu-west-1",
		"us-west-2": "us-west-2",
	}
	for in, want := range tests {
		if got := s3Region(in); got != want {
			t.Errorf("s3Region(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithoutAccountLabel(t *testing.T) {
	for in, want := range map[string]string{
		"123456789012.127.0.0.1:4566":                         "127.0.0.1:4566",
		"123456789012.localhost:5000":                         "localhost:5000",
		"123456789012.s3-control.us-east-1.amazonaws.com:443": "123456789012.s3-control.us-east-1.amazonaws.com:443",
		"127.0.0.1:4566":                                      "127.0.0.1:4566",
		"abc.127.0.0.1:80":                                    "abc.127.0.0.1:80",
	} {
		if got := withoutAccountLabel(in); got != want {
			t.Errorf("withoutAccountLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
