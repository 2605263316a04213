package catalog

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// s3Record is the part of a CloudTrail record the S3 rows read.
type s3Record struct {
	EventSource        string                 `json:"eventSource"`
	EventName          string                 `json:"eventName"`
	AWSRegion          string                 `json:"awsRegion"`
	RecipientAccountID string                 `json:"recipientAccountId"`
	RequestParameters  json.RawMessage        `json:"requestParameters"`
	ResponseElements   json.RawMessage        `json:"responseElements"`
	Resources          []change.EventResource `json:"resources"`
}

// s3Change builds the change a CloudTrail record decodes to (only the fields
// the catalog reads).
func s3Change(t *testing.T, rec string) *change.Change {
	t.Helper()
	var r s3Record
	if err := json.Unmarshal([]byte(rec), &r); err != nil {
		t.Fatalf("decode test record: %v", err)
	}
	return &change.Change{
		Cloud: change.AWS, Account: r.RecipientAccountID, Region: r.AWSRegion,
		Service: r.EventSource, Operation: r.EventName,
		RequestJSON: r.RequestParameters, ResponseJSON: r.ResponseElements,
		EventResources: r.Resources, Raw: json.RawMessage(rec),
	}
}

func TestS3Entries(t *testing.T) {
	tests := []struct {
		name string
		rec  string
		want []resource.Ref
		noID bool
	}{
		{
			// Shape of StreamAlert's cloudtrail_put_bucket_acl.json test
			// (Apache-2.0): Grant is a list, acl marker [""], no Host.
			name: "PutBucketAcl granting AllUsers, Grant as a list",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"PutBucketAcl","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":{"AccessControlPolicy":{"AccessControlList":{"Grant":[
					{"Grantee":{"ID":"abc","xsi:type":"CanonicalUser"},"Permission":"FULL_CONTROL"},
					{"Grantee":{"URI":"http://acs.amazonaws.com/groups/global/AllUsers","xsi:type":"Group"},"Permission":"READ"}]},
					"Owner":{"ID":"abc"}},"acl":[""],"bucketName":"media-uploads"},
				"responseElements":null}`,
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::media-uploads", Account: "123456789012", Region: "us-east-1"}},
		},
		{
			// The AWS documentation's PutBucketAcl sample (S3 developer
			// guide, cloudtrail-logging.md): bucketName "" and a
			// path-style host, so nothing names the bucket.
			name: "PutBucketAcl with empty bucketName and path-style host has no ID",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"PutBucketAcl","awsRegion":"us-west-2","recipientAccountId":"111122223333",
				"requestParameters":{"bucketName":"","AccessControlPolicy":{"AccessControlList":{"Grant":{
					"Grantee":{"xsi:type":"CanonicalUser","ID":"d25639fbe9c19cd30a4c0f43fbf00e2d3f96400a9aa8dabfbbebe1906Example"},
					"Permission":"FULL_CONTROL"}}},"host":["s3.us-west-2.amazonaws.com"],"acl":[""]},
				"responseElements":null}`,
			noID: true,
		},
		{
			name: "empty bucketName falls back to resources[] of the bucket type",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"PutBucketAcl","awsRegion":"us-west-2","recipientAccountId":"111122223333",
				"requestParameters":{"bucketName":"","host":["s3.us-west-2.amazonaws.com"],"acl":[""]},
				"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::other/key"},
					{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::from-resources"}],
				"responseElements":null}`,
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::from-resources", Account: "111122223333", Region: "us-west-2"}},
		},
		{
			name: "no bucketName: bucket from a virtual-hosted Host string, dotted name",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"DeleteBucketPolicy","awsRegion":"eu-west-1","recipientAccountId":"123456789012",
				"requestParameters":{"Host":"logs.example.com.s3.eu-west-1.amazonaws.com","policy":""},"responseElements":null}`,
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::logs.example.com", Account: "123456789012", Region: "eu-west-1"}},
		},
		{
			name: "no bucketName: bucket from a legacy host list, s3-<region> endpoint",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"DeleteBucketEncryption","awsRegion":"us-west-2","recipientAccountId":"123456789012",
				"requestParameters":{"host":["s3-archive.s3-us-west-2.amazonaws.com"],"encryption":[""]},"responseElements":null}`,
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::s3-archive", Account: "123456789012", Region: "us-west-2"}},
		},
		{
			// Custodian's event-cloud-trail-create-bucket.json (Apache-2.0).
			name: "CreateBucket with a LocationConstraint",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"CreateBucket","awsRegion":"us-west-2","recipientAccountId":"619193117841",
				"requestParameters":{"CreateBucketConfiguration":{"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/","LocationConstraint":"us-west-2"},
					"bucketName":"custodian-create-bucket-v4"},"responseElements":null}`,
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::custodian-create-bucket-v4", Account: "619193117841", Region: "us-west-2"}},
		},
		{
			name: "PutBucketVersioning with Host and resources[]",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"PutBucketVersioning","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":{"Host":"audit-trail-bucket.s3.us-east-1.amazonaws.com",
					"VersioningConfiguration":{"Status":"Enabled","xmlns":"http://s3.amazonaws.com/doc/2006-03-01/"},
					"bucketName":"audit-trail-bucket","versioning":""},
				"resources":[{"ARN":"arn:aws:s3:::audit-trail-bucket","accountId":"123456789012","type":"AWS::S3::Bucket"}],
				"responseElements":null}`,
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::audit-trail-bucket", Account: "123456789012", Region: "us-east-1"}},
		},
		{
			// Shape of StreamAlert's cloudtrail_critical_api_calls.json
			// test 12 (Apache-2.0).
			name: "PutBucketPublicAccessBlock all disabled",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"PutBucketPublicAccessBlock","awsRegion":"us-east-1","recipientAccountId":"123456789123",
				"requestParameters":{"publicAccessBlock":[""],"PublicAccessBlockConfiguration":{"RestrictPublicBuckets":false,
					"BlockPublicPolicy":false,"BlockPublicAcls":false,"IgnorePublicAcls":false},
					"bucketName":"data-lake-raw","host":["s3.amazonaws.com"]},"responseElements":null}`,
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::data-lake-raw", Account: "123456789123", Region: "us-east-1"}},
		},
		{
			name: "China partition",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"cn-north-1","recipientAccountId":"123456789012",
				"requestParameters":{"bucketName":"cn-bucket","bucketPolicy":{"Version":"2012-10-17","Statement":[]},
					"Host":"cn-bucket.s3.cn-north-1.amazonaws.com.cn","policy":""},"responseElements":null}`,
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws-cn:s3:::cn-bucket", Account: "123456789012", Region: "cn-north-1"}},
		},
		{
			name: "access point host names no bucket",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":{"Host":"finance-ap-123456789012.s3-accesspoint.us-east-1.amazonaws.com"},"responseElements":null}`,
			noID: true,
		},
		{
			name: "PutBucketOwnershipControls",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"PutBucketOwnershipControls","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":{"bucketName":"shared-drop","Host":"shared-drop.s3.amazonaws.com","ownershipControls":"",
					"OwnershipControls":{"Rule":{"ObjectOwnership":"ObjectWriter"}}},"responseElements":null}`,
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::shared-drop", Account: "123456789012", Region: "us-east-1"}},
		},
		{
			// The S3 user guide's DeleteAccountPublicAccessBlock: no
			// bucketName, the account in the S3 Control host.
			name: "DeleteAccountPublicAccessBlock keyed by recipientAccountId",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"DeleteAccountPublicAccessBlock","awsRegion":"us-east-1","recipientAccountId":"444455556666",
				"requestParameters":{"publicAccessBlock":[""],"host":["444455556666.s3-control.us-east-1.amazonaws.com"]},"responseElements":null}`,
			want: []resource.Ref{{Type: s3AccountPublicAccessBlock, ID: "arn:aws:s3::444455556666:account-public-access-block",
				Account: "444455556666", Region: "us-east-1"}},
		},
		{
			name: "PutAccountPublicAccessBlock without recipientAccountId: account from the Host",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"PutAccountPublicAccessBlock","awsRegion":"us-gov-west-1",
				"requestParameters":{"PublicAccessBlockConfiguration":{"BlockPublicAcls":true,"IgnorePublicAcls":true,
					"BlockPublicPolicy":true,"RestrictPublicBuckets":true},
					"Host":"444455556666.s3-control.us-gov-west-1.amazonaws.com"},"responseElements":null}`,
			want: []resource.Ref{{Type: s3AccountPublicAccessBlock, ID: "arn:aws-us-gov:s3::444455556666:account-public-access-block",
				Region: "us-gov-west-1"}},
		},
		{
			// A bucketName in an account-level record (as in a doubtful
			// third-party sample) does not make it a bucket change.
			name: "PutAccountPublicAccessBlock ignores a bucketName",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"PutAccountPublicAccessBlock","awsRegion":"us-east-1","recipientAccountId":"123456789123",
				"requestParameters":{"bucketName":"...","host":["s3.amazonaws.com"],"PublicAccessBlockConfiguration":{"BlockPublicAcls":false}},
				"responseElements":null}`,
			want: []resource.Ref{{Type: s3AccountPublicAccessBlock, ID: "arn:aws:s3::123456789123:account-public-access-block",
				Account: "123456789123", Region: "us-east-1"}},
		},
		{
			name: "PutAccountPublicAccessBlock with no account anywhere",
			rec: `{"eventSource":"s3.amazonaws.com","eventName":"PutAccountPublicAccessBlock","awsRegion":"us-east-1",
				"requestParameters":{"host":["s3-control.us-east-1.amazonaws.com"]},"responseElements":null}`,
			noID: true,
		},
	}
	cat := New(s3Entries())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := s3Change(t, tt.rec)
			watched, err := cat.Resolve(ch)
			if !watched {
				t.Fatalf("%s %s is not watched", ch.Service, ch.Operation)
			}
			if tt.noID {
				if !errors.Is(err, ErrNoID) {
					t.Fatalf("Resolve error = %v, want ErrNoID (resources %v)", err, ch.Resources)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !slices.Equal(ch.Resources, tt.want) {
				t.Errorf("resources = %v, want %v", ch.Resources, tt.want)
			}
		})
	}
}

// TestS3EntriesCoverOperations checks that every operation driftwatch
// promises to watch for S3 is in the table, with the right type.
func TestS3EntriesCoverOperations(t *testing.T) {
	want := map[string]string{
		"CreateBucket": s3Bucket, "DeleteBucket": s3Bucket, "PutBucketAcl": s3Bucket,
		"PutBucketPolicy": s3Bucket, "DeleteBucketPolicy": s3Bucket,
		"PutBucketPublicAccessBlock": s3Bucket, "DeleteBucketPublicAccessBlock": s3Bucket,
		"PutBucketEncryption": s3Bucket, "DeleteBucketEncryption": s3Bucket,
		"PutBucketVersioning": s3Bucket, "PutBucketLogging": s3Bucket,
		"PutBucketOwnershipControls": s3Bucket, "DeleteBucketOwnershipControls": s3Bucket,
		"PutAccountPublicAccessBlock":    s3AccountPublicAccessBlock,
		"DeleteAccountPublicAccessBlock": s3AccountPublicAccessBlock,
	}
	entries := s3Entries()
	if len(entries) != len(want) {
		t.Errorf("%d S3 entries, want %d", len(entries), len(want))
	}
	cat := New(entries)
	for op, typ := range want {
		t.Run(op, func(t *testing.T) {
			e, ok := cat.Lookup("s3.amazonaws.com", op)
			if !ok {
				t.Fatalf("%s not in the catalog", op)
			}
			if len(e.Targets) != 1 || e.Targets[0].Type != typ {
				t.Errorf("targets of %s = %+v, want one %s", op, e.Targets, typ)
			}
			if e.Note == "" {
				t.Errorf("%s has no note", op)
			}
		})
	}
}

func TestBucketFromHost(t *testing.T) {
	tests := []struct{ host, want string }{
		{"my-bucket.s3.amazonaws.com", "my-bucket"},
		{"my-bucket.s3.us-east-1.amazonaws.com", "my-bucket"},
		{"My-Bucket.S3.US-EAST-1.AMAZONAWS.COM", "my-bucket"},
		{"my.dotted.bucket.s3.eu-central-1.amazonaws.com", "my.dotted.bucket"},
		{"my-bucket.s3-eu-west-1.amazonaws.com", "my-bucket"},
		{"my-bucket.s3-external-1.amazonaws.com", "my-bucket"},
		{"my-bucket.s3.dualstack.us-west-2.amazonaws.com", "my-bucket"},
		{"my-bucket.s3-fips.us-gov-west-1.amazonaws.com", "my-bucket"},
		{"my-bucket.s3-accelerate.amazonaws.com", "my-bucket"},
		{"s3-logs.s3.us-east-1.amazonaws.com", "s3-logs"},
		{"a.s3-b.s3.amazonaws.com", "a.s3-b"},
		{"my-bucket.s3.cn-north-1.amazonaws.com.cn", "my-bucket"},
		{"my-bucket.s3.us-east-1.amazonaws.com:443", "my-bucket"},
		{"s3.amazonaws.com", ""},
		{"s3.us-west-2.amazonaws.com", ""},
		{"s3-us-west-2.amazonaws.com", ""},
		{"ap-123456789012.s3-accesspoint.us-east-1.amazonaws.com", ""},
		{"123456789012.s3-control.us-east-1.amazonaws.com", ""},
		{"site.s3-website-us-east-1.amazonaws.com", ""},
		{"my-bucket.example.com", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := bucketFromHost(tt.host); got != tt.want {
				t.Errorf("bucketFromHost(%q) = %q, want %q", tt.host, got, tt.want)
			}
		})
	}
}

func TestAccountFromControlHost(t *testing.T) {
	tests := []struct{ host, want string }{
		{"123456789012.s3-control.us-east-1.amazonaws.com", "123456789012"},
		{"123456789012.s3-control-fips.dualstack.us-gov-west-1.amazonaws.com", "123456789012"},
		{"123456789012.s3-control.cn-north-1.amazonaws.com.cn", "123456789012"},
		{"s3-control.us-east-1.amazonaws.com", ""},
		{"bucket.s3.us-east-1.amazonaws.com", ""},
		{"s3.amazonaws.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := accountFromControlHost(tt.host); got != tt.want {
				t.Errorf("accountFromControlHost(%q) = %q, want %q", tt.host, got, tt.want)
			}
		})
	}
}

func TestValidBucketName(t *testing.T) {
	tests := map[string]bool{
		"my-bucket": true, "my.dotted.bucket": true, "Legacy_Bucket": true, "abc": true,
		"": false, "ab": false, "...": false, "---": false, "bucket/key": false, "bucket name": false,
		"arn:aws:s3:::bucket": false,
	}
	for name, want := range tests {
		if got := validBucketName(name); got != want {
			t.Errorf("validBucketName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestS3EntriesOnSampleEvents resolves the S3 samples of the repository's
// events/aws directory, decoded by the real decoder.
func TestS3EntriesOnSampleEvents(t *testing.T) {
	tests := []struct {
		file string
		want []resource.Ref
		noID bool
	}{
		{file: "s3-create-bucket-root-eventbridge.json",
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::custodian-create-bucket-v4", Account: "619193117841", Region: "us-west-2"}}},
		{file: "s3-put-bucket-encryption-kms.json",
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::example-orders-archive", Account: "123456789012", Region: "eu-west-1"}}},
		{file: "s3-put-bucket-versioning-suspended.json",
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::example-orders-archive", Account: "123456789012", Region: "eu-west-1"}}},
		{file: "s3-put-bucket-policy-public-principal-star.json",
			want: []resource.Ref{{Type: s3Bucket, ID: "arn:aws:s3:::test", Account: "123456789123", Region: "us-east-1"}}},
		// The account in the redacted sample's host (954574370272)
		// disagrees with recipientAccountId; recipientAccountId wins.
		{file: "s3-delete-account-public-access-block.json",
			want: []resource.Ref{{Type: s3AccountPublicAccessBlock, ID: "arn:aws:s3::123456789123:account-public-access-block",
				Account: "123456789123", Region: "us-east-1"}}},
		// Redacted bucket names ("...") and a path-style host: no ID.
		{file: "s3-put-bucket-acl-allusers-authenticatedusers-read.json", noID: true},
		{file: "s3-put-bucket-public-access-block-all-disabled.json", noID: true},
		{file: "s3-put-bucket-public-access-block-eventbridge.json", noID: true},
		{file: "s3-put-bucket-acl-owner-full-control-only.json", noID: true},
	}
	cat := New(s3Entries())
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "events", "aws", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			chs, errs := change.Decode(tt.file, data)
			if len(errs) > 0 || len(chs) != 1 {
				t.Fatalf("decode: %d changes, errors %v", len(chs), errs)
			}
			ch := &chs[0]
			watched, err := cat.Resolve(ch)
			if !watched {
				t.Fatalf("%s %s is not watched", ch.Service, ch.Operation)
			}
			if tt.noID {
				if !errors.Is(err, ErrNoID) {
					t.Fatalf("Resolve error = %v (resources %v), want ErrNoID", err, ch.Resources)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !slices.Equal(ch.Resources, tt.want) {
				t.Errorf("resources = %v, want %v", ch.Resources, tt.want)
			}
		})
	}
}
