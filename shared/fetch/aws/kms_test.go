package aws

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// fakeKMS is a kmsAPI whose answers the test chooses; calls counts the calls
// made, by operation.
type fakeKMS struct {
	describeKey          func(*kms.DescribeKeyInput) (*kms.DescribeKeyOutput, error)
	getKeyRotationStatus func(*kms.GetKeyRotationStatusInput) (*kms.GetKeyRotationStatusOutput, error)
	getKeyPolicy         func(*kms.GetKeyPolicyInput) (*kms.GetKeyPolicyOutput, error)
	listResourceTags     func(*kms.ListResourceTagsInput) (*kms.ListResourceTagsOutput, error)
	calls                map[string]int
}

var _ kmsAPI = (*fakeKMS)(nil)

func (f *fakeKMS) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	f.calls["DescribeKey"]++
	return f.describeKey(in)
}

func (f *fakeKMS) GetKeyRotationStatus(_ context.Context, in *kms.GetKeyRotationStatusInput, _ ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error) {
	f.calls["GetKeyRotationStatus"]++
	return f.getKeyRotationStatus(in)
}

func (f *fakeKMS) GetKeyPolicy(_ context.Context, in *kms.GetKeyPolicyInput, _ ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	f.calls["GetKeyPolicy"]++
	return f.getKeyPolicy(in)
}

func (f *fakeKMS) ListResourceTags(_ context.Context, in *kms.ListResourceTagsInput, _ ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error) {
	f.calls["ListResourceTags"]++
	return f.listResourceTags(in)
}

const testKeyARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// customerKMS answers for an enabled customer managed symmetric key with
// rotation on, a default key policy and tags over two pages; meta edits the
// key's metadata.
func customerKMS(meta func(*kmstypes.KeyMetadata)) *fakeKMS {
	return &fakeKMS{
		calls: map[string]int{},
		describeKey: func(*kms.DescribeKeyInput) (*kms.DescribeKeyOutput, error) {
			m := &kmstypes.KeyMetadata{
				KeyId: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab"), Arn: aws.String(testKeyARN),
				Description: aws.String("orders"), Enabled: true, KeyState: kmstypes.KeyStateEnabled,
				KeyManager: kmstypes.KeyManagerTypeCustomer, KeySpec: kmstypes.KeySpecSymmetricDefault,
				KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt, Origin: kmstypes.OriginTypeAwsKms,
			}
			if meta != nil {
				meta(m)
			}
			return &kms.DescribeKeyOutput{KeyMetadata: m}, nil
		},
		getKeyRotationStatus: func(*kms.GetKeyRotationStatusInput) (*kms.GetKeyRotationStatusOutput, error) {
			return &kms.GetKeyRotationStatusOutput{KeyRotationEnabled: true, RotationPeriodInDays: aws.Int32(365)}, nil
		},
		getKeyPolicy: func(in *kms.GetKeyPolicyInput) (*kms.GetKeyPolicyOutput, error) {
			if aws.ToString(in.PolicyName) != "default" {
				return nil, &kmstypes.NotFoundException{Message: aws.String("no such policy")}
			}
			return &kms.GetKeyPolicyOutput{Policy: aws.String(`{"Version":"2012-10-17","Id":"key-default-1","Statement":[` +
				`{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]}`)}, nil
		},
		listResourceTags: func(in *kms.ListResourceTagsInput) (*kms.ListResourceTagsOutput, error) {
			if in.Marker == nil {
				return &kms.ListResourceTagsOutput{Truncated: true, NextMarker: aws.String("m"),
					Tags: []kmstypes.Tag{{TagKey: aws.String("team"), TagValue: aws.String("payments")}}}, nil
			}
			return &kms.ListResourceTagsOutput{Tags: []kmstypes.Tag{{TagKey: aws.String("env"), TagValue: aws.String("prod")}}}, nil
		},
	}
}

func TestReadKey(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}
	deletion := time.Date(2024, 10, 21, 14, 25, 29, 0, time.UTC)
	tests := []struct {
		name       string
		fake       *fakeKMS
		wantExists bool
		wantErr    error
		want       map[string]any // properties checked
		wantTags   map[string]string
		wantCalls  map[string]int // calls checked
	}{
		{
			name:       "customer key with rotation",
			fake:       customerKMS(nil),
			wantExists: true,
			want: map[string]any{
				"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Arn": testKeyARN, "Description": "orders",
				"KeyState": "Enabled", "Enabled": true, "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT",
				"KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS", "MultiRegion": false, "DeletionDate": "",
				"PendingDeletionWindowInDays": int64(0), "RotationSupported": true, "RotationEnabled": true,
				"RotationPeriodInDays": int64(365),
			},
			wantTags: map[string]string{"team": "payments", "env": "prod"},
		},
		{
			name: "pending deletion",
			fake: customerKMS(func(m *kmstypes.KeyMetadata) {
				m.KeyState, m.Enabled, m.DeletionDate = kmstypes.KeyStatePendingDeletion, false, &deletion
			}),
			wantExists: true,
			want:       map[string]any{"KeyState": "PendingDeletion", "Enabled": false, "DeletionDate": "2024-10-21T14:25:29Z"},
		},
		{
			name:       "deprecated CustomerMasterKeySpec only",
			fake:       customerKMS(func(m *kmstypes.KeyMetadata) { m.KeySpec, m.CustomerMasterKeySpec = "", "SYMMETRIC_DEFAULT" }),
			wantExists: true,
			want:       map[string]any{"KeySpec": "SYMMETRIC_DEFAULT", "RotationSupported": true},
		},
		{
			name: "asymmetric key: rotation not supported, not asked",
			fake: customerKMS(func(m *kmstypes.KeyMetadata) {
				m.KeySpec, m.KeyUsage = kmstypes.KeySpecRsa2048, kmstypes.KeyUsageTypeSignVerify
			}),
			wantExists: true,
			want:       map[string]any{"RotationSupported": false, "RotationEnabled": false, "RotationPeriodInDays": int64(0)},
			wantCalls:  map[string]int{"GetKeyRotationStatus": 0},
		},
		{
			name:       "imported key material: rotation not supported",
			fake:       customerKMS(func(m *kmstypes.KeyMetadata) { m.Origin = kmstypes.OriginTypeExternal }),
			wantExists: true,
			want:       map[string]any{"RotationSupported": false, "RotationEnabled": false},
			wantCalls:  map[string]int{"GetKeyRotationStatus": 0},
		},
		{
			name:       "AWS managed key: no rotation or tag calls",
			fake:       customerKMS(func(m *kmstypes.KeyMetadata) { m.KeyManager = kmstypes.KeyManagerTypeAws }),
			wantExists: true,
			want:       map[string]any{"KeyManager": "AWS", "RotationSupported": false},
			wantTags:   map[string]string{},
			wantCalls:  map[string]int{"GetKeyRotationStatus": 0, "ListResourceTags": 0, "GetKeyPolicy": 1},
		},
		{
			name: "rotation status unsupported in the key's state",
			fake: func() *fakeKMS {
				f := customerKMS(nil)
				f.getKeyRotationStatus = func(*kms.GetKeyRotationStatusInput) (*kms.GetKeyRotationStatusOutput, error) {
					return nil, &kmstypes.KMSInvalidStateException{Message: aws.String("pending import")}
				}
				return f
			}(),
			wantExists: true,
			want:       map[string]any{"RotationSupported": false, "RotationEnabled": false},
		},
		{
			name: "key not found",
			fake: func() *fakeKMS {
				f := customerKMS(nil)
				f.describeKey = func(*kms.DescribeKeyInput) (*kms.DescribeKeyOutput, error) {
					return nil, &kmstypes.NotFoundException{Message: aws.String("does not exist")}
				}
				return f
			}(),
			wantCalls: map[string]int{"GetKeyPolicy": 0},
		},
		{
			name: "policy denied is an error",
			fake: func() *fakeKMS {
				f := customerKMS(nil)
				f.getKeyPolicy = func(*kms.GetKeyPolicyInput) (*kms.GetKeyPolicyOutput, error) { return nil, denied }
				return f
			}(),
			wantErr: denied,
		},
		{
			name: "rotation status denied is an error",
			fake: func() *fakeKMS {
				f := customerKMS(nil)
				f.getKeyRotationStatus = func(*kms.GetKeyRotationStatusInput) (*kms.GetKeyRotationStatusOutput, error) { return nil, denied }
				return f
			}(),
			wantErr: denied,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, tags, exists, err := readKey(context.Background(), tt.fake, testKeyARN)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readKey: %v", err)
			}
			if exists != tt.wantExists {
				t.Fatalf("exists = %v, want %v", exists, tt.wantExists)
			}
			for k, v := range tt.want {
				if !reflect.DeepEqual(doc[k], v) {
					t.Errorf("%s = %#v, want %#v", k, doc[k], v)
				}
			}
			if exists {
				if _, ok := doc["Policy"].(map[string]any)["Statement"].([]any); !ok {
					t.Errorf("Policy is not a normalised document: %#v", doc["Policy"])
				}
			}
			if tt.wantTags != nil && !reflect.DeepEqual(tags, tt.wantTags) {
				t.Errorf("tags = %v, want %v", tags, tt.wantTags)
			}
			for op, n := range tt.wantCalls {
				if tt.fake.calls[op] != n {
					t.Errorf("%s called %d times, want %d", op, tt.fake.calls[op], n)
				}
			}
		})
	}
}
