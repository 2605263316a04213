package policy

import (
	"strings"
	"testing"
)

func TestReference(t *testing.T) {
	rules := []*Rule{
		{ID: "aws-s3-z", Title: "Z | pipe", Severity: SeverityLow, ResourceTypes: []string{"AWS::S3::Bucket"}},
		{ID: "aws-ec2-a", Title: "EC2 A", Severity: SeverityHigh, ResourceTypes: []string{"AWS::EC2::SecurityGroup"},
			References: References{CIS: []string{"5.2", "5.3"}}, Mode: ModeRevert, Remediation: "ec2-revoke"},
		{ID: "aws-s3-a", Title: "S3\nA", Severity: SeverityCritical, ResourceTypes: []string{"AWS::S3::Bucket", "AWS::S3::AccountPublicAccessBlock"},
			References: References{CIS: []string{"2.1.4"}}, Mode: ModeTicket},
		{ID: "azure-storage-a", Title: "Storage", Severity: SeverityMedium, ResourceTypes: []string{"Microsoft.Storage/storageAccounts"}},
	}
	got := string(Reference(rules))
	want := "## AWS EC2\n\n" +
		"| ID | Title | Severity | Resource types | CIS | Mode | Remediation |\n" +
		"|----|-------|----------|----------------|-----|------|-------------|\n" +
		"| `aws-ec2-a` | EC2 A | high | `AWS::EC2::SecurityGroup` | 5.2, 5.3 | revert | `ec2-revoke` |\n" +
		"\n## AWS S3\n\n" +
		"| ID | Title | Severity | Resource types | CIS | Mode | Remediation |\n" +
		"|----|-------|----------|----------------|-----|------|-------------|\n" +
		"| `aws-s3-a` | S3 A | critical | `AWS::S3::Bucket`<br>`AWS::S3::AccountPublicAccessBlock` | 2.1.4 | ticket |  |\n" +
		"| `aws-s3-z` | Z \\| pipe | low | `AWS::S3::Bucket` |  | alert |  |\n" +
		"\n## Azure Storage\n\n" +
		"| ID | Title | Severity | Resource types | CIS | Mode | Remediation |\n" +
		"|----|-------|----------|----------------|-----|------|-------------|\n" +
		"| `azure-storage-a` | Storage | medium | `Microsoft.Storage/storageAccounts` |  | alert |  |\n"
	if !strings.HasPrefix(got, "# Rule reference\n") || !strings.Contains(got, "4 built-in rules.") {
		t.Errorf("Reference() header:\n%s", got)
	}
	if i := strings.Index(got, "## "); i < 0 || got[i:] != want {
		t.Errorf("Reference() =\n%s\nwant sections\n%s", got, want)
	}
	// Input order does not matter.
	rev := []*Rule{rules[3], rules[2], rules[1], rules[0]}
	if string(Reference(rev)) != got {
		t.Error("Reference() depends on the order of its input")
	}
}
