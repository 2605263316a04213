package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

const validRules = `rules:
  - id: aws-s3-a
    title: A
    description: longer
    severity: high
    resource_types: [AWS::S3::Bucket]
    condition: resource.A == true
    message: "bucket {{ resource.Name }}"
    references:
      cis: ["2.1.4"]
      urls: ["https://example.com"]
    mode: revert
    remediation: s3-fix
    deleted: fail

  - id: aws-s3-b
    title: B
    severity: low
    resource_types:
      - AWS::S3::Bucket
      - AWS::S3::AccountPublicAccessBlock
    condition: "true"
    message: m
`

func TestParseRules(t *testing.T) {
	rules, err := ParseRules("s3.rules.yaml", []byte(validRules))
	if err != nil {
		t.Fatalf("ParseRules: %v", err)
	}
	if len(rules) != 2 {
		t.Fatalf("got %d rules, want 2", len(rules))
	}
	a := rules[0]
	want := Rule{
		ID: "aws-s3-a", Title: "A", Description: "longer", Severity: SeverityHigh,
		ResourceTypes: []string{"AWS::S3::Bucket"}, Condition: "resource.A == true",
		Message: "bucket {{ resource.Name }}", References: References{CIS: []string{"2.1.4"}, URLs: []string{"https://example.com"}},
		Mode: ModeRevert, Remediation: "s3-fix", Deleted: Fail, File: "s3.rules.yaml", Line: 2,
	}
	a.conditionPos, a.messagePos = sourcePos{}, sourcePos{}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("rule 0 =\n%+v\nwant\n%+v", a, want)
	}
	if rules[1].Line != 16 || len(rules[1].ResourceTypes) != 2 {
		t.Errorf("rule 1 = %+v", rules[1])
	}
}

func TestParseRulesErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "unknown rule field", yaml: "rules:\n  - id: a\n    severty: high\n", want: []string{"f.rules.yaml:3:", `unknown field "severty"`}},
		{name: "unknown references field", yaml: "rules:\n  - id: a\n    references:\n      nist: [x]\n", want: []string{"f.rules.yaml:4:", `unknown field "nist"`}},
		{name: "unknown top-level field", yaml: "rule:\n  - id: a\n", want: []string{"f.rules.yaml:1:", `unknown field "rule"`}},
		{name: "rules not a list", yaml: "rules: {id: a}\n", want: []string{"f.rules.yaml:1:", "must be a list"}},
		{name: "rule not a mapping", yaml: "rules:\n  - just text\n", want: []string{"f.rules.yaml:2:", "want a mapping"}},
		{name: "wrong type", yaml: "rules:\n  - id: a\n    resource_types: {a: b}\n", want: []string{"f.rules.yaml:3: cannot unmarshal"}},
		{name: "not YAML", yaml: "rules: [\n", want: []string{"f.rules.yaml:1: did not find"}},
		{name: "top level list", yaml: "- id: a\n", want: []string{"f.rules.yaml:1:", "want a mapping"}},
		{name: "both errors reported", yaml: "rules:\n  - id: a\n    x: 1\n  - id: b\n    y: 2\n", want: []string{`"x"`, `"y"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules("f.rules.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("ParseRules() error = nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseRulesEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "rules:\n", "rules: []\n"} {
		rules, err := ParseRules("f", []byte(in))
		if err != nil || len(rules) != 0 {
			t.Errorf("ParseRules(%q) = %v, %v; want no rules, no error", in, rules, err)
		}
	}
}

func TestLoadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"aws/s3.rules.yaml":   {Data: []byte(validRules)},
		"aws/iam.rules.yaml":  {Data: []byte("rules:\n  - id: aws-iam-x\n    title: X\n")},
		"aws/s3.tests.yaml":   {Data: []byte("tests: []\n")},
		"azure/x.rules.yaml":  {Data: []byte("rules:\n  - id: azure-x\n")},
		"aws/notes.yaml":      {Data: []byte("not: rules\n")},
		"aws/deep/z.rules.md": {Data: []byte("x")},
	}
	tests := []struct {
		name     string
		patterns []string
		want     string
	}{
		{name: "all rule files", want: "aws/iam.rules.yaml:aws-iam-x aws/s3.rules.yaml:aws-s3-a aws/s3.rules.yaml:aws-s3-b azure/x.rules.yaml:azure-x"},
		{name: "pattern", patterns: []string{"aws/*.rules.yaml"}, want: "aws/iam.rules.yaml:aws-iam-x aws/s3.rules.yaml:aws-s3-a aws/s3.rules.yaml:aws-s3-b"},
		{name: "two patterns, overlapping", patterns: []string{"azure/*.rules.yaml", "*/x.rules.yaml"}, want: "azure/x.rules.yaml:azure-x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := LoadFS(fsys, tt.patterns...)
			if err != nil {
				t.Fatalf("LoadFS: %v", err)
			}
			var got []string
			for _, r := range rules {
				got = append(got, r.File+":"+r.ID)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("LoadFS() = %s, want %s", strings.Join(got, " "), tt.want)
			}
		})
	}
	if _, err := LoadFS(fsys, "["); err == nil {
		t.Error("LoadFS(bad pattern) error = nil")
	}
	bad := fstest.MapFS{"a.rules.yaml": {Data: []byte("rules:\n  - idd: x\n")}}
	if _, err := LoadFS(bad); err == nil || !strings.Contains(err.Error(), "a.rules.yaml:2:") {
		t.Errorf("LoadFS(bad file) error = %v, want one naming a.rules.yaml:2", err)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "team"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "team", "s3.rules.yaml"), []byte(validRules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "readme.md"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if len(rules) != 2 || rules[0].File != filepath.Join(dir, "team", "s3.rules.yaml") {
		t.Errorf("LoadDir() = %d rules, first from %q", len(rules), rules[0].File)
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadDir(missing) error = nil")
	}
}
