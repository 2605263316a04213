package aws

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// TestKeyMoto reads KMS keys from moto through the Reader as they are
// scheduled for deletion, disabled, rotated and opened up.
func TestKeyMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k := kms.NewFromConfig(cfg)
	created, err := k.CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("orders table"),
		// moto leaves KeyUsage empty unless it is given (AWS defaults it).
		KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt,
		Tags:     []kmstypes.Tag{{TagKey: aws.String("team"), TagValue: aws.String("payments")}},
	})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	keyID, keyARN := aws.ToString(created.KeyMetadata.KeyId), aws.ToString(created.KeyMetadata.Arn)
	if _, err := k.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatalf("enable rotation: %v", err)
	}

	r := New(cfg, Options{})
	ref := resource.Ref{Type: "AWS::KMS::Key", ID: keyARN, Account: mototest.Account, Region: mototest.Region}
	read := func(t *testing.T, ref resource.Ref) resource.Resource {
		t.Helper()
		res, err := r.Read(ctx, ref)
		if err != nil {
			t.Fatalf("read %s: %v", ref, err)
		}
		return res
	}

	t.Run("enabled key with rotation", func(t *testing.T) {
		res := read(t, ref)
		if !res.Exists {
			t.Fatal("key does not exist")
		}
		want := map[string]any{
			"KeyId": keyID, "Arn": keyARN, "Description": "orders table",
			"KeyState": "Enabled", "Enabled": true, "KeyManager": "CUSTOMER",
			"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS",
			"MultiRegion": false, "DeletionDate": "", "PendingDeletionWindowInDays": int64(0),
			"RotationSupported": true, "RotationEnabled": true,
		}
		for k, v := range want {
			if !reflect.DeepEqual(res.Doc[k], v) {
				t.Errorf("%s = %#v, want %#v", k, res.Doc[k], v)
			}
		}
		// moto does not return RotationPeriodInDays (AWS does: 365 by default).
		if _, ok := res.Doc["RotationPeriodInDays"].(int64); !ok {
			t.Errorf("RotationPeriodInDays = %#v, want an int64", res.Doc["RotationPeriodInDays"])
		}
		stmts, _ := res.Doc["Policy"].(map[string]any)["Statement"].([]any)
		if len(stmts) != 1 || !reflect.DeepEqual(stmts[0].(map[string]any)["Principal"].(map[string]any)["AWS"], []any{"arn:aws:iam::123456789012:root"}) {
			t.Errorf("Policy not normalised: %#v", res.Doc["Policy"])
		}
		if res.Tags["team"] != "payments" {
			t.Errorf("tags = %v, want team=payments", res.Tags)
		}
	})

	t.Run("rotation disabled", func(t *testing.T) {
		if _, err := k.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(keyID)}); err != nil {
			t.Fatalf("disable rotation: %v", err)
		}
		doc := read(t, ref).Doc
		if doc["RotationEnabled"] != false || doc["RotationPeriodInDays"] != int64(0) {
			t.Errorf("RotationEnabled = %v, RotationPeriodInDays = %v, want false, 0", doc["RotationEnabled"], doc["RotationPeriodInDays"])
		}
	})

	t.Run("disabled", func(t *testing.T) {
		if _, err := k.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keyID)}); err != nil {
			t.Fatalf("disable key: %v", err)
		}
		doc := read(t, ref).Doc
		if doc["KeyState"] != "Disabled" || doc["Enabled"] != false {
			t.Errorf("KeyState = %v, Enabled = %v", doc["KeyState"], doc["Enabled"])
		}
	})

	t.Run("scheduled for deletion", func(t *testing.T) {
		if _, err := k.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyID), PendingWindowInDays: aws.Int32(7)}); err != nil {
			t.Fatalf("schedule deletion: %v", err)
		}
		doc := read(t, ref).Doc
		if doc["KeyState"] != "PendingDeletion" || doc["DeletionDate"] == "" {
			t.Errorf("KeyState = %v, DeletionDate = %q", doc["KeyState"], doc["DeletionDate"])
		}
		if _, err := k.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(keyID)}); err != nil {
			t.Fatalf("cancel deletion: %v", err)
		}
		doc = read(t, ref).Doc
		if doc["KeyState"] != "Disabled" || doc["DeletionDate"] != "" {
			t.Errorf("after cancel: KeyState = %v, DeletionDate = %q", doc["KeyState"], doc["DeletionDate"])
		}
	})

	t.Run("public key policy", func(t *testing.T) {
		const public = `{"Version":"2012-10-17","Statement":[{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}`
		if _, err := k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(keyID), PolicyName: aws.String("default"), Policy: aws.String(public)}); err != nil {
			t.Fatalf("put key policy: %v", err)
		}
		stmt := read(t, ref).Doc["Policy"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
		if !reflect.DeepEqual(stmt["Principal"], map[string]any{"AWS": []any{"*"}, "Service": []any{}, "Federated": []any{}, "CanonicalUser": []any{}}) {
			t.Errorf("Principal = %#v, want the canonical form of \"*\"", stmt["Principal"])
		}
	})

	t.Run("asymmetric key has no rotation", func(t *testing.T) {
		out, err := k.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
		if err != nil {
			t.Fatalf("create key: %v", err)
		}
		doc := read(t, resource.Ref{Type: "AWS::KMS::Key", ID: aws.ToString(out.KeyMetadata.Arn)}).Doc
		if doc["RotationSupported"] != false || doc["RotationEnabled"] != false || doc["KeyUsage"] != "SIGN_VERIFY" {
			t.Errorf("RotationSupported = %v, RotationEnabled = %v, KeyUsage = %v", doc["RotationSupported"], doc["RotationEnabled"], doc["KeyUsage"])
		}
	})

	t.Run("never existed", func(t *testing.T) {
		res := read(t, resource.Ref{Type: "AWS::KMS::Key", ID: "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"})
		if res.Exists {
			t.Errorf("missing key exists: %v", res.Doc)
		}
	})
}
