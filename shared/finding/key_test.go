package finding_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

func TestKeyStringParse(t *testing.T) {
	tests := []struct {
		name string
		key  finding.Key
		want string
	}{
		{"s3 bucket", finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: "arn:aws:s3:::logs", RuleID: "aws-s3-bucket-public-acl"},
			"aws/123456789012/arn:aws:s3:::logs/aws-s3-bucket-public-acl"},
		{"slashes in the ARN", finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: "arn:aws:iam::123456789012:role/a/b/c", RuleID: "r"},
			"aws/123456789012/arn:aws:iam::123456789012:role/a/b/c/r"},
		{"azure ID", finding.Key{Cloud: "azure", Account: "00000000-0000-0000-0000-000000000001", ResourceID: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa", RuleID: "azure-storage-public"},
			"azure/00000000-0000-0000-0000-000000000001//subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa/azure-storage-public"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.key.String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
			back, err := finding.ParseKey(tc.want)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if back != tc.key {
				t.Errorf("ParseKey(String()) = %+v, want %+v", back, tc.key)
			}
		})
	}
}

func TestParseKeyErrors(t *testing.T) {
	for _, s := range []string{"", "aws", "aws/123", "aws/123/rule", "aws//arn:aws:s3:::b/rule", "aws/123/arn:aws:s3:::b/", "/123/arn/rule"} {
		t.Run(s, func(t *testing.T) {
			if k, err := finding.ParseKey(s); err == nil {
				t.Errorf("ParseKey(%q) = %+v, want an error", s, k)
			}
		})
	}
}

func TestKeyValidate(t *testing.T) {
	ok := finding.Key{Cloud: "aws", Account: "1", ResourceID: "arn:aws:s3:::b", RuleID: "r"}
	tests := []struct {
		name    string
		edit    func(k *finding.Key)
		wantErr string
	}{
		{"valid", func(*finding.Key) {}, ""},
		{"no cloud", func(k *finding.Key) { k.Cloud = "" }, "empty cloud"},
		{"no account", func(k *finding.Key) { k.Account = "" }, "empty account"},
		{"no resource", func(k *finding.Key) { k.ResourceID = "" }, "empty resource ID"},
		{"no rule", func(k *finding.Key) { k.RuleID = "" }, "empty rule ID"},
		{"slash in rule", func(k *finding.Key) { k.RuleID = "a/b" }, "contains '/'"},
		{"slash in account", func(k *finding.Key) { k.Account = "a/b" }, "contains '/'"},
		{"too long", func(k *finding.Key) { k.ResourceID = strings.Repeat("x", 2000) }, "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := ok
			tc.edit(&k)
			err := k.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestKeyLabel(t *testing.T) {
	a := finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: "arn:aws:s3:::logs", RuleID: "aws-s3-bucket-public-acl"}
	b := a
	b.ResourceID = "arn:aws:s3:::logs2"
	label := a.Label()
	if !regexp.MustCompile(`^dw-[0-9a-f]{16}$`).MatchString(label) {
		t.Fatalf("Label() = %q, want dw-<16 hex digits>", label)
	}
	if again := a.Label(); again != label {
		t.Errorf("Label() not stable: %q then %q", label, again)
	}
	if b.Label() == label {
		t.Errorf("two keys share the label %q", label)
	}
}

func TestKeyFor(t *testing.T) {
	bucket := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::logs", Account: "111111111111"}
	tests := []struct {
		name    string
		v       policy.Verdict
		ch      *change.Change
		want    finding.Key
		wantErr bool
	}{
		{"from the verdict", policy.Verdict{RuleID: "r", Resource: bucket}, &change.Change{Cloud: change.AWS, Account: "222222222222"},
			finding.Key{Cloud: "aws", Account: "111111111111", ResourceID: "arn:aws:s3:::logs", RuleID: "r"}, false},
		{"account from the change", policy.Verdict{RuleID: "r", Resource: resource.Ref{ID: "arn:aws:s3:::logs"}}, &change.Change{Cloud: change.AWS, Account: "222222222222"},
			finding.Key{Cloud: "aws", Account: "222222222222", ResourceID: "arn:aws:s3:::logs", RuleID: "r"}, false},
		{"scan of an ARN", policy.Verdict{RuleID: "r", Resource: bucket}, nil,
			finding.Key{Cloud: "aws", Account: "111111111111", ResourceID: "arn:aws:s3:::logs", RuleID: "r"}, false},
		{"scan of an Azure ID", policy.Verdict{RuleID: "r", Resource: resource.Ref{ID: "/subscriptions/s/x", Account: "s"}}, nil,
			finding.Key{Cloud: "azure", Account: "s", ResourceID: "/subscriptions/s/x", RuleID: "r"}, false},
		{"no account anywhere", policy.Verdict{RuleID: "r", Resource: resource.Ref{ID: "arn:aws:s3:::logs"}}, nil, finding.Key{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := finding.KeyFor(tc.v, tc.ch)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("KeyFor = %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("KeyFor = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
