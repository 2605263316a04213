package detect

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/policy"
)

const kmsSource = "kms.amazonaws.com"

// kmsRecord is the CloudTrail record of a KMS call on one key: KMS names
// the key in resources[] as well as in the request (the shape of the KMS
// developer guide's samples and of real ScheduleKeyDeletion records).
func kmsRecord(t *testing.T, operation, keyARN string, request, response map[string]any) []byte {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal(record(kmsSource, operation, request, response), &rec); err != nil {
		t.Fatalf("decode built record: %v", err)
	}
	rec["resources"] = []any{map[string]any{"ARN": keyARN, "accountId": mototest.Account, "type": "AWS::KMS::Key"}}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatalf("encode record: %v", err)
	}
	return b
}

// newKey creates a customer managed symmetric key with rotation on and
// returns its ID and ARN.
func newKey(t *testing.T, k *kms.Client) (id, arn string) {
	t.Helper()
	ctx := context.Background()
	out, err := k.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(unique("scn-key")), KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt})
	auditMust(t, "create key", err)
	id, arn = aws.ToString(out.KeyMetadata.KeyId), aws.ToString(out.KeyMetadata.Arn)
	_, err = k.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(id)})
	auditMust(t, "enable rotation", err)
	return id, arn
}

func TestKMSScenarioScheduleKeyDeletion(t *testing.T) {
	env := newMotoEnv(t)
	ctx := context.Background()
	k := kms.NewFromConfig(env.cfg)
	const rule = "aws-kms-key-pending-deletion"
	id, arn := newKey(t, k)

	vs := env.feed(t, kmsRecord(t, "CreateKey", arn, map[string]any{"keyUsage": "ENCRYPT_DECRYPT", "keySpec": "SYMMETRIC_DEFAULT"},
		map[string]any{"keyMetadata": map[string]any{"keyId": id, "arn": arn, "keyState": "Enabled", "keyManager": "CUSTOMER"}}))
	expect(t, vs, rule, policy.Pass)

	// Scheduled for deletion in 7 days. Record shape: the Elastic
	// integration's schedule-key-deletion test record (values substituted).
	// (By key ID: moto's ScheduleKeyDeletion fails with a 500 on an ARN.)
	out, err := k.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)})
	auditMust(t, "schedule key deletion", err)
	vs = env.feed(t, kmsRecord(t, "ScheduleKeyDeletion", arn, map[string]any{"keyId": arn, "pendingWindowInDays": 7},
		map[string]any{"keyId": arn, "keyState": "PendingDeletion", "pendingWindowInDays": 7,
			"deletionDate": out.DeletionDate.UTC().Format("Jan 2, 2006, 3:04:05 PM")}))
	expect(t, vs, rule, policy.Fail)
	expect(t, vs, "aws-kms-key-rotation-disabled", policy.Pass)

	// Fixed: deletion cancelled; the key comes back disabled, then is enabled.
	_, err = k.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)})
	auditMust(t, "cancel key deletion", err)
	vs = env.feed(t, kmsRecord(t, "CancelKeyDeletion", arn, map[string]any{"keyId": id}, map[string]any{"keyId": arn}))
	expect(t, vs, rule, policy.Pass)
	expect(t, vs, "aws-kms-key-disabled", policy.Fail)

	_, err = k.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)})
	auditMust(t, "enable key", err)
	vs = env.feed(t, kmsRecord(t, "EnableKey", arn, map[string]any{"keyId": id}, nil))
	expect(t, vs, "aws-kms-key-disabled", policy.Pass)
}

func TestKMSScenarioRotationDisabled(t *testing.T) {
	env := newMotoEnv(t)
	ctx := context.Background()
	k := kms.NewFromConfig(env.cfg)
	const rule = "aws-kms-key-rotation-disabled"
	id, arn := newKey(t, k)

	// Record shape: the DisableKeyRotation sample of the KMS developer guide.
	_, err := k.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(id)})
	auditMust(t, "disable rotation", err)
	vs := env.feed(t, kmsRecord(t, "DisableKeyRotation", arn, map[string]any{"keyId": id}, nil))
	expect(t, vs, rule, policy.Fail)

	_, err = k.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(id)})
	auditMust(t, "enable rotation", err)
	vs = env.feed(t, kmsRecord(t, "EnableKeyRotation", arn, map[string]any{"keyId": id}, nil))
	expect(t, vs, rule, policy.Pass)
}

func TestKMSScenarioPublicKeyPolicy(t *testing.T) {
	env := newMotoEnv(t)
	ctx := context.Background()
	k := kms.NewFromConfig(env.cfg)
	const rule = "aws-kms-key-policy-public"
	id, arn := newKey(t, k)
	root := `{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}`

	// Record shape: the PutKeyPolicy sample of the KMS developer guide
	// (the policy is a JSON string).
	put := func(policyJSON string) []policy.Verdict {
		t.Helper()
		_, err := k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(id), PolicyName: aws.String("default"), Policy: aws.String(policyJSON)})
		auditMust(t, "put key policy", err)
		return env.feed(t, kmsRecord(t, "PutKeyPolicy", arn, map[string]any{
			"keyId": id, "policyName": "default", "policy": policyJSON, "bypassPolicyLockoutSafetyCheck": false,
		}, nil))
	}
	vs := put(`{"Version":"2012-10-17","Id":"key-default-1","Statement":[` + root +
		`,{"Sid":"Anyone","Effect":"Allow","Principal":"*","Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}`)
	expect(t, vs, rule, policy.Fail)
	vs = put(`{"Version":"2012-10-17","Id":"key-default-1","Statement":[` + root + `]}`)
	expect(t, vs, rule, policy.Pass)
}
