package catalog

import (
	"testing"

	"github.com/driftwatch/driftwatch/shared/resource"
)

func TestKMSEntries(t *testing.T) {
	const src = `"eventSource":"kms.amazonaws.com"`
	const keyARN = "arn:aws:kms:us-east-1:000000000:key/27d7cd14-7557-4509-a438-15fbf1e8db11"
	runAuditCases(t, []auditCase{
		{
			name: "ScheduleKeyDeletion takes resources[]",
			rec: `{` + src + `,"eventName":"ScheduleKeyDeletion","awsRegion":"us-east-1","recipientAccountId":"000000000",
				"requestParameters":{"keyId":"` + keyARN + `","pendingWindowInDays":7},
				"resources":[{"ARN":"` + keyARN + `","accountId":"000000000","type":"AWS::KMS::Key"}],
				"responseElements":{"deletionDate":"Oct 21, 2024, 2:25:29 PM","keyId":"` + keyARN + `","keyState":"PendingDeletion","pendingWindowInDays":7}}`,
			want: []resource.Ref{{Type: kmsKey, ID: keyARN}},
		},
		{
			name: "resources[] of another type is ignored, duplicates collapse",
			rec: `{` + src + `,"eventName":"DisableKey","awsRegion":"us-east-1","recipientAccountId":"000000000",
				"requestParameters":{"keyId":"27d7cd14-7557-4509-a438-15fbf1e8db11"},
				"resources":[{"ARN":"arn:aws:kms:us-east-1:000000000:alias/x","type":"AWS::KMS::Alias"},
				{"ARN":"` + keyARN + `","type":"AWS::KMS::Key"},{"ARN":"` + keyARN + `","type":"AWS::KMS::Key"}],
				"responseElements":null}`,
			want: []resource.Ref{{Type: kmsKey, ID: keyARN}},
		},
		{
			name: "CancelKeyDeletion with a bare key ID and no resources[]",
			rec: `{` + src + `,"eventName":"CancelKeyDeletion","awsRegion":"us-west-2","recipientAccountId":"111122223333",
				"requestParameters":{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab"},"responseElements":null}`,
			want: []resource.Ref{{Type: kmsKey, ID: "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
		},
		{
			name: "EnableKey prefers the response's key ARN over the request's key ID",
			rec: `{` + src + `,"eventName":"EnableKey","awsRegion":"us-west-2","recipientAccountId":"111122223333",
				"requestParameters":{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab"},
				"responseElements":{"keyId":"arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}`,
			want: []resource.Ref{{Type: kmsKey, ID: "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
		},
		{
			name: "DisableKeyRotation with a key ARN in the request",
			rec: `{` + src + `,"eventName":"DisableKeyRotation","awsRegion":"us-east-1","recipientAccountId":"000000000",
				"requestParameters":{"keyId":"` + keyARN + `"},"responseElements":null}`,
			want: []resource.Ref{{Type: kmsKey, ID: keyARN}},
		},
		{
			name: "EnableKeyRotation",
			rec: `{` + src + `,"eventName":"EnableKeyRotation","awsRegion":"us-east-1","recipientAccountId":"000000000",
				"requestParameters":{"keyId":"` + keyARN + `","rotationPeriodInDays":365},
				"resources":[{"ARN":"` + keyARN + `","accountId":"000000000","type":"AWS::KMS::Key"}],"responseElements":null}`,
			want: []resource.Ref{{Type: kmsKey, ID: keyARN}},
		},
		{
			name: "PutKeyPolicy (KMS developer guide sample)",
			rec: `{` + src + `,"eventName":"PutKeyPolicy","awsRegion":"us-west-2","recipientAccountId":"111122223333",
				"requestParameters":{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab","policyName":"default",
				"policy":"{\n  \"Version\" : \"2012-10-17\",\n  \"Statement\" : [ ]\n}","bypassPolicyLockoutSafetyCheck":false},
				"responseElements":null,
				"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}`,
			want: []resource.Ref{{Type: kmsKey, ID: "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
		},
		{
			name: "CreateKey with an untyped resources[] entry (KMS developer guide sample)",
			rec: `{` + src + `,"eventName":"CreateKey","awsRegion":"us-west-2","recipientAccountId":"111122223333",
				"requestParameters":{"description":"","keyUsage":"ENCRYPT_DECRYPT","customerMasterKeySpec":"SYMMETRIC_DEFAULT","origin":"AWS_KMS"},
				"responseElements":{"keyMetadata":{"aWSAccountId":"111122223333","keyId":"1234abcd-12ab-34cd-56ef-1234567890ab",
				"arn":"arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","keyState":"Enabled","keyManager":"CUSTOMER"}},
				"resources":[{"ARN":"arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","accountId":"111122223333"}]}`,
			want: []resource.Ref{{Type: kmsKey, ID: "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
		},
		{
			name: "CreateKey from the response alone",
			rec: `{` + src + `,"eventName":"CreateKey","awsRegion":"eu-central-1","recipientAccountId":"111122223333",
				"requestParameters":{"keySpec":"SYMMETRIC_DEFAULT"},
				"responseElements":{"keyMetadata":{"keyId":"k-1","arn":"arn:aws:kms:eu-central-1:111122223333:key/k-1"}}}`,
			want: []resource.Ref{{Type: kmsKey, ID: "arn:aws:kms:eu-central-1:111122223333:key/k-1"}},
		},
		{
			name: "an alias is not a key ID",
			rec: `{` + src + `,"eventName":"DisableKey","awsRegion":"us-east-1","recipientAccountId":"000000000",
				"requestParameters":{"keyId":"alias/prod"},"responseElements":null}`,
			noID: true,
		},
		{
			name: "an alias ARN is not a key ARN",
			rec: `{` + src + `,"eventName":"DisableKey","awsRegion":"us-east-1","recipientAccountId":"000000000",
				"requestParameters":{"keyId":"arn:aws:kms:us-east-1:000000000:alias/prod"},"responseElements":null}`,
			noID: true,
		},
		{
			name: "a redacted key ID",
			rec: `{` + src + `,"eventName":"DisableKey","awsRegion":"us-east-1","recipientAccountId":"000000000",
				"requestParameters":{"keyId":"..."},"responseElements":null}`,
			noID: true,
		},
		{
			name: "no key at all",
			rec: `{` + src + `,"eventName":"ScheduleKeyDeletion","awsRegion":"us-east-1","recipientAccountId":"000000000",
				"requestParameters":{"pendingWindowInDays":7},"responseElements":null}`,
			noID: true,
		},
	})
}

func TestIsKMSKeyARN(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", true},
		{"arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab", true},
		{"arn:aws:kms:us-east-1:123456789012:alias/prod", false},
		{"arn:aws:kms:us-east-1:123456789012:key/", false},
		{"arn:aws:kms:us-east-1:123456789012:key/...", false},
		{"arn:aws:s3:::bucket", false},
		{"1234abcd-12ab-34cd-56ef-1234567890ab", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := isKMSKeyARN(tt.in); got != tt.want {
				t.Errorf("isKMSKeyARN(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
