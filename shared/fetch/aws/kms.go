package aws

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/driftwatch/driftwatch/shared/iampolicy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// kmsAPI is the part of the KMS client the key fetcher calls.
type kmsAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, opts ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, opts ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
	GetKeyPolicy(ctx context.Context, in *kms.GetKeyPolicyInput, opts ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error)
	ListResourceTags(ctx context.Context, in *kms.ListResourceTagsInput, opts ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error)
}

// kmsFetchers are the readers of kms resource types.
func kmsFetchers() map[string]fetchFunc {
	return map[string]fetchFunc{"AWS::KMS::Key": fetchKey}
}

// fetchKey reads a KMS key in the region of its ARN.
func fetchKey(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
	api := client(r, "kms", regionOf(ref), func(cfg aws.Config) kmsAPI { return kms.NewFromConfig(cfg) })
	return readKey(ctx, api, ref.ID)
}

// readKey reads the key named by id (an ARN or a key ID) and maps it into
// the key document.
func readKey(ctx context.Context, api kmsAPI, id string) (map[string]any, map[string]string, bool, error) {
	desc, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if errorCodeIs(err, "NotFoundException") {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe key %q: %w", id, err)
	}
	m := desc.KeyMetadata
	if m == nil {
		return nil, nil, false, fmt.Errorf("describe key %q: response has no key metadata", id)
	}
	keyARN := aws.ToString(m.Arn)
	if keyARN == "" {
		keyARN = id
	}

	spec := string(m.KeySpec)
	if spec == "" {
		spec = string(m.CustomerMasterKeySpec) // the field's deprecated name
	}
	// Automatic rotation is only for symmetric encryption keys whose key
	// material KMS generated, managed by the customer (AWS managed keys
	// rotate every year on their own and cannot be configured).
	supported := m.KeyManager == kmstypes.KeyManagerTypeCustomer &&
		spec == string(kmstypes.KeySpecSymmetricDefault) &&
		m.Origin == kmstypes.OriginTypeAwsKms
	var enabled bool
	var period int64
	if supported {
		rot, err := api.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(keyARN)})
		switch {
		case errorCodeIs(err, "NotFoundException"):
			return nil, nil, false, nil
		case errorCodeIs(err, "UnsupportedOperationException", "KMSInvalidStateException"):
			// The key, in its current state, has no rotation status to read.
			supported = false
		case err != nil:
			return nil, nil, false, fmt.Errorf("get rotation status of key %q: %w", keyARN, err)
		default:
			enabled = rot.KeyRotationEnabled
			if enabled {
				period = int64(aws.ToInt32(rot.RotationPeriodInDays))
			}
		}
	}

	pol, err := api.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default")})
	if errorCodeIs(err, "NotFoundException") {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("get key policy of key %q: %w", keyARN, err)
	}
	policy, err := iampolicy.Normalize(aws.ToString(pol.Policy))
	if err != nil {
		return nil, nil, false, fmt.Errorf("read key policy of key %q: %w", keyARN, err)
	}

	tags := map[string]string{}
	if m.KeyManager == kmstypes.KeyManagerTypeCustomer {
		p := kms.NewListResourceTagsPaginator(api, &kms.ListResourceTagsInput{KeyId: aws.String(keyARN)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if errorCodeIs(err, "NotFoundException") {
				return nil, nil, false, nil
			}
			if err != nil {
				return nil, nil, false, fmt.Errorf("list tags of key %q: %w", keyARN, err)
			}
			for _, tag := range page.Tags {
				tags[aws.ToString(tag.TagKey)] = aws.ToString(tag.TagValue)
			}
		}
	}

	deletion := ""
	if m.DeletionDate != nil {
		deletion = m.DeletionDate.UTC().Format(time.RFC3339)
	}
	doc := map[string]any{
		"KeyId":                       aws.ToString(m.KeyId),
		"Arn":                         keyARN,
		"Description":                 aws.ToString(m.Description),
		"KeyState":                    string(m.KeyState),
		"Enabled":                     m.Enabled,
		"KeyManager":                  string(m.KeyManager),
		"KeySpec":                     spec,
		"KeyUsage":                    string(m.KeyUsage),
		"Origin":                      string(m.Origin),
		"MultiRegion":                 aws.ToBool(m.MultiRegion),
		"DeletionDate":                deletion,
		"PendingDeletionWindowInDays": int64(aws.ToInt32(m.PendingDeletionWindowInDays)),
		"RotationSupported":           supported,
		"RotationEnabled":             enabled,
		"RotationPeriodInDays":        period,
		"Policy":                      policy,
	}
	return doc, tags, true, nil
}

// kmsActions are the IAM actions behind the KMS calls above; each is named
// after its operation.
var kmsActions = operationActions{
	"kms.DescribeKey":          {"kms:DescribeKey"},
	"kms.GetKeyRotationStatus": {"kms:GetKeyRotationStatus"},
	"kms.GetKeyPolicy":         {"kms:GetKeyPolicy"},
	"kms.ListResourceTags":     {"kms:ListResourceTags"},
}
