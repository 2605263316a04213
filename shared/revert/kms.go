package revert

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// KMS key states the remediations branch on.
const (
	kmsStateDisabled               = "Disabled"
	kmsStatePendingDeletion        = "PendingDeletion"
	kmsStatePendingReplicaDeletion = "PendingReplicaDeletion"
)

func kmsRemediations() map[string]remediation {
	key := []string{"AWS::KMS::Key"}
	return map[string]remediation{
		"kms-cancel-key-deletion": {types: key, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := regionOf(t.res.Ref)
			return planCancelKeyDeletion(r.kmsClient(region), region, t)
		}},
		"kms-enable-key": {types: key, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := regionOf(t.res.Ref)
			return planEnableKey(r.kmsClient(region), region, t)
		}},
		"kms-enable-key-rotation": {types: key, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := regionOf(t.res.Ref)
			return planEnableKeyRotation(r.kmsClient(region), region, t)
		}},
	}
}

// kmsClient returns the KMS client of a region.
func (r *Remediator) kmsClient(region string) *kms.Client {
	return client(r, "kms", region, func(cfg aws.Config) *kms.Client { return kms.NewFromConfig(cfg) })
}

// kmsKeyID names the key in the calls: its key ID as read (the client is
// in the key's region and account), else its reference's ID (the ARN).
// KMS accepts either; moto accepts only the key ID in EnableKey and
// CancelKeyDeletion.
func kmsKeyID(t *target) string {
	if id := docString(t.doc(), "KeyId"); id != "" {
		return id
	}
	return t.res.Ref.ID
}

func kmsPendingDeletion(state string) bool {
	return state == kmsStatePendingDeletion || state == kmsStatePendingReplicaDeletion
}

// kmsCancelDeletionAPI is what kms-cancel-key-deletion calls.
type kmsCancelDeletionAPI interface {
	CancelKeyDeletion(ctx context.Context, in *kms.CancelKeyDeletionInput, optFns ...func(*kms.Options)) (*kms.CancelKeyDeletionOutput, error)
	EnableKey(ctx context.Context, in *kms.EnableKeyInput, optFns ...func(*kms.Options)) (*kms.EnableKeyOutput, error)
}

// planCancelKeyDeletion cancels the key's scheduled deletion, then enables
// the key: CancelKeyDeletion leaves a key Disabled, and a key that stays
// disabled keeps everything encrypted under it unreadable, the very outage
// the deletion would have made permanent. (Whether the key was already
// disabled before its deletion was scheduled is not recorded; a key kept
// disabled on purpose is reported by aws-kms-key-disabled and can be
// disabled again.)
func planCancelKeyDeletion(api kmsCancelDeletionAPI, region string, t *target) (planned, error) {
	id := kmsKeyID(t)
	if state := docString(t.doc(), "KeyState"); !kmsPendingDeletion(state) {
		return nothing("key %s is %s, not pending deletion", id, state)
	}
	return planned{calls: []Call{
		newCall("kms", "CancelKeyDeletion", "kms:CancelKeyDeletion", region, api.CancelKeyDeletion, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)}),
		newCall("kms", "EnableKey", "kms:EnableKey", region, api.EnableKey, &kms.EnableKeyInput{KeyId: aws.String(id)}),
	}, reason: "cancels the deletion and enables the key again"}, nil
}

// kmsEnableAPI is what kms-enable-key calls.
type kmsEnableAPI interface {
	EnableKey(ctx context.Context, in *kms.EnableKeyInput, optFns ...func(*kms.Options)) (*kms.EnableKeyOutput, error)
}

// planEnableKey enables a disabled key. A key pending deletion is left to
// kms-cancel-key-deletion.
func planEnableKey(api kmsEnableAPI, region string, t *target) (planned, error) {
	id := kmsKeyID(t)
	switch state := docString(t.doc(), "KeyState"); {
	case kmsPendingDeletion(state):
		return nothing("key %s is pending deletion: cancel the deletion first (kms-cancel-key-deletion)", id)
	case state != kmsStateDisabled:
		return nothing("key %s is %s, not disabled", id, state)
	}
	return planned{calls: []Call{
		newCall("kms", "EnableKey", "kms:EnableKey", region, api.EnableKey, &kms.EnableKeyInput{KeyId: aws.String(id)}),
	}, reason: "enables the key"}, nil
}

// kmsRotationAPI is what kms-enable-key-rotation calls.
type kmsRotationAPI interface {
	EnableKeyRotation(ctx context.Context, in *kms.EnableKeyRotationInput, optFns ...func(*kms.Options)) (*kms.EnableKeyRotationOutput, error)
}

// planEnableKeyRotation turns automatic rotation back on with KMS's default
// period. KMS refuses it for a disabled key, and enabling the key as a side
// effect is not this remediation's call, so a disabled key is left alone.
func planEnableKeyRotation(api kmsRotationAPI, region string, t *target) (planned, error) {
	id := kmsKeyID(t)
	switch state := docString(t.doc(), "KeyState"); {
	case !docBool(t.doc(), "RotationSupported"):
		return nothing("key %s does not support automatic rotation", id)
	case docBool(t.doc(), "RotationEnabled"):
		return nothing("key %s already rotates", id)
	case state != "Enabled":
		return nothing("key %s is %s: KMS turns rotation on only for an enabled key, and enabling it is left to a person (or kms-enable-key)", id, state)
	}
	return planned{calls: []Call{
		newCall("kms", "EnableKeyRotation", "kms:EnableKeyRotation", region, api.EnableKeyRotation, &kms.EnableKeyRotationInput{KeyId: aws.String(id)}),
	}, reason: "turns automatic rotation on"}, nil
}
