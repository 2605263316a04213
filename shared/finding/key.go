package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// maxKeyLen bounds Key.String so that it fits a DynamoDB partition key (2048
// bytes) with its "finding#" prefix, with room to spare.
const maxKeyLen = 1536

// Key names a finding: one rule on one resource of one account of one cloud.
// Two verdicts with the same key are about the same finding.
type Key struct {
	Cloud      string `json:"cloud"`
	Account    string `json:"account"`
	ResourceID string `json:"resource_id"`
	RuleID     string `json:"rule_id"`
}

// String returns "cloud/account/resource-id/rule-id", for example
// "aws/123456789012/arn:aws:s3:::logs/aws-s3-bucket-public-acl". The cloud,
// account and rule carry no "/", so ParseKey can split it back even though
// resource IDs do. It is the key stores use.
func (k Key) String() string {
	return k.Cloud + "/" + k.Account + "/" + k.ResourceID + "/" + k.RuleID
}

// Label returns "dw-" and the first 16 hex digits of the SHA-256 of
// k.String(): a short, stable tag with no spaces that Jira labels, GitHub
// labels and Slack button values accept, and that a ticket search finds the
// finding again by.
func (k Key) Label() string {
	sum := sha256.Sum256([]byte(k.String()))
	return "dw-" + hex.EncodeToString(sum[:8])
}

// Validate reports whether k can be stored: every part present, no "/" in
// the cloud, account or rule, and a string form of at most 1536 bytes.
func (k Key) Validate() error {
	for _, p := range []struct{ name, v string }{
		{"cloud", k.Cloud}, {"account", k.Account}, {"resource ID", k.ResourceID}, {"rule ID", k.RuleID},
	} {
		if p.v == "" {
			return fmt.Errorf("finding key %q: empty %s", k.String(), p.name)
		}
	}
	for _, p := range []struct{ name, v string }{{"cloud", k.Cloud}, {"account", k.Account}, {"rule ID", k.RuleID}} {
		if strings.Contains(p.v, "/") {
			return fmt.Errorf("finding key %q: %s %q contains '/'", k.String(), p.name, p.v)
		}
	}
	if n := len(k.String()); n > maxKeyLen {
		return fmt.Errorf("finding key for rule %s: %d bytes, more than %d", k.RuleID, n, maxKeyLen)
	}
	return nil
}

// ParseKey parses the string form of a key (Key.String) and validates it.
func ParseKey(s string) (Key, error) {
	cloud, rest, ok1 := strings.Cut(s, "/")
	account, rest, ok2 := strings.Cut(rest, "/")
	i := strings.LastIndex(rest, "/")
	if !ok1 || !ok2 || i < 0 {
		return Key{}, fmt.Errorf("parse finding key %q: want cloud/account/resource-id/rule-id", s)
	}
	k := Key{Cloud: cloud, Account: account, ResourceID: rest[:i], RuleID: rest[i+1:]}
	if err := k.Validate(); err != nil {
		return Key{}, fmt.Errorf("parse finding key: %w", err)
	}
	return k, nil
}
