package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// kmsKey is the CloudFormation type of a KMS key.
const kmsKey = "AWS::KMS::Key"

// kmsEntries are the watched KMS operations: the changes that destroy,
// disable or weaken a key, and the ones that undo them.
//
// KMS events carry the key's ARN in resources[]; older documentation samples
// omit its type, so an untyped entry whose ARN names a KMS key counts too.
// Otherwise the key is the response's keyId (an ARN) or the request's keyId
// (a key ID or an ARN). These operations accept no alias, and keys are not
// changed across accounts, so a bare key ID belongs to recipientAccountId.
func kmsEntries() []Entry {
	const svc = "kms.amazonaws.com"
	const note = "resources[type=AWS::KMS::Key].ARN, else responseElements.keyId, else requestParameters.keyId (key ID or ARN)"
	byKeyID := kmsKeyARNs("responseElements.keyId", "requestParameters.keyId")
	row := func(op string) Entry {
		return Entry{Service: svc, Operation: op, Targets: []Target{{Type: kmsKey, Resolve: byKeyID}}, Note: note}
	}
	return []Entry{
		{
			Service:   svc,
			Operation: "CreateKey",
			Targets:   []Target{{Type: kmsKey, Resolve: kmsKeyARNs("responseElements.keyMetadata.arn", "responseElements.keyMetadata.keyId")}},
			Note:      "resources[].ARN, else responseElements.keyMetadata.arn (or .keyId)",
		},
		row("ScheduleKeyDeletion"),
		row("CancelKeyDeletion"),
		row("DisableKey"),
		row("EnableKey"),
		row("DisableKeyRotation"),
		row("EnableKeyRotation"),
		row("PutKeyPolicy"),
	}
}

// kmsKeyARNs resolves the keys an event touched: the KMS key ARNs in
// resources[], else the first key ID or ARN found at paths.
func kmsKeyARNs(paths ...string) func(*change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		var out []string
		for _, r := range c.EventResources {
			if (r.Type == kmsKey || r.Type == "" && isKMSKeyARN(r.ARN)) && !slices.Contains(out, r.ARN) {
				out = append(out, r.ARN)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
		id := Field(c, paths...)
		switch {
		case id == "":
			return nil, fmt.Errorf("key id at resources[] or %s: %w", strings.Join(paths, " or "), ErrNoID)
		case strings.HasPrefix(id, "arn:"):
			if !isKMSKeyARN(id) {
				return nil, fmt.Errorf("%q is not a KMS key ARN: %w", id, ErrNoID)
			}
			return []string{id}, nil
		case strings.HasPrefix(id, "alias/"):
			return nil, fmt.Errorf("key named by alias %q: %w", id, ErrNoID)
		case !validKeyID(id):
			return nil, fmt.Errorf("%q is not a key ID: %w", id, ErrNoID)
		}
		return []string{ARN(c, "kms", c.Region, c.Account, "key/"+id)}, nil
	}
}

// isKMSKeyARN reports whether s is arn:{p}:kms:{r}:{a}:key/{id}.
func isKMSKeyARN(s string) bool {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kms" {
		return false
	}
	id, ok := strings.CutPrefix(parts[5], "key/")
	return ok && validKeyID(id)
}

// validKeyID reports whether s can be a key ID: letters, digits and dashes
// (a UUID, or mrk- and 32 hex digits for a multi-Region key). Redaction
// placeholders ("...") are not.
func validKeyID(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == ""
}
