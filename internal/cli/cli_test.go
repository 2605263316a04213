package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), code
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestExplainJSONContract(t *testing.T) {
	stdout, stderr, code := run(t, "", "explain", "--format", "json", "../../events/aws")
	// events/aws holds one EventBridge event that is not a CloudTrail call
	// (an instance state change): the only input that must not decode.
	if code != 1 {
		t.Fatalf("exit %d, want 1 for the non-CloudTrail sample; stderr:\n%s", code, stderr)
	}
	var decodeErrs []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "offset") {
			decodeErrs = append(decodeErrs, l)
		}
	}
	if len(decodeErrs) != 1 || !strings.Contains(decodeErrs[0], "ec2-instance-state-change-notification-eventbridge.json") {
		t.Fatalf("decode errors %q, want exactly the instance state-change sample", decodeErrs)
	}
	wantKeys := []string{"account", "cloud", "error_code", "event_id", "ignored", "operation", "principal", "read_only", "region", "resources", "service", "time"}
	lines := jsonLines(t, stdout)
	if len(lines) < 40 {
		t.Fatalf("only %d changes from events/aws", len(lines))
	}
	reasons := map[string]int{}
	for _, l := range lines {
		keys := make([]string, 0, len(l))
		for k := range l {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !slices.Equal(keys, wantKeys) {
			t.Fatalf("keys %v, want exactly %v", keys, wantKeys)
		}
		if l["cloud"] != "aws" {
			t.Errorf("cloud = %v", l["cloud"])
		}
		if _, ok := l["resources"].([]any); !ok {
			t.Errorf("resources must be an array, got %T for %v", l["resources"], l["event_id"])
		}
		reasons[l["ignored"].(string)]++
	}
	for _, r := range []string{"", "read-only", "failed", "unwatched"} {
		if reasons[r] == 0 {
			t.Errorf("no change with ignored=%q among the samples (counts %v)", r, reasons)
		}
	}
}

func TestExplainNamesTouchedResources(t *testing.T) {
	tests := []struct {
		file, typ, id, ignored string
	}{
		{"iam-attach-user-policy-administratoraccess.json", "AWS::IAM::User", "arn:aws:iam::229654561268:user/malicious-iam-user", ""},
		{"ec2-describe-instances-readonly.json", "", "", "read-only"},
		{"organizations-leave-organization-error-accessdenied.json", "", "", "failed"},
		{"kms-schedule-key-deletion.json", "AWS::KMS::Key", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			stdout, stderr, code := run(t, "", "explain", "--format", "json", filepath.Join("../../events/aws", tc.file))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := jsonLines(t, stdout)
			if len(lines) != 1 {
				t.Fatalf("%d lines", len(lines))
			}
			l := lines[0]
			if l["ignored"] != tc.ignored {
				t.Errorf("ignored = %q, want %q", l["ignored"], tc.ignored)
			}
			res := l["resources"].([]any)
			if tc.typ == "" {
				return
			}
			if len(res) == 0 {
				t.Fatalf("no resources")
			}
			r := res[0].(map[string]any)
			if r["type"] != tc.typ || (tc.id != "" && r["id"] != tc.id) {
				t.Errorf("resource %v, want %s %s", r, tc.typ, tc.id)
			}
		})
	}
}

func TestExplainBadInputExitsOneAfterTheRest(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("../../events/aws/iam-create-access-key.json")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"Records": [`+string(good)+`, {"hello": "world"}, `+string(good)+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "", "explain", "--format", "json", bad, "../../events/aws/kms-schedule-key-deletion.json", filepath.Join(dir, "missing.json"))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if n := len(jsonLines(t, stdout)); n != 3 {
		t.Errorf("%d changes printed, want 3 (the two good records and the KMS file)", n)
	}
	errLines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(errLines) != 2 {
		t.Fatalf("want one stderr line per bad input (2), got:\n%s", stderr)
	}
	if !strings.Contains(stderr, "bad.json") || !strings.Contains(stderr, "offset") || !strings.Contains(stderr, "missing.json") {
		t.Errorf("stderr should name the file and offset of each bad input:\n%s", stderr)
	}
}

func TestExplainStdinAndTable(t *testing.T) {
	rec, err := os.ReadFile("../../events/aws/s3-put-bucket-acl-allusers-authenticatedusers-read.json")
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, string(rec), "explain", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "OPERATION") || !strings.Contains(stdout, "s3:PutBucketAcl") {
		t.Errorf("table output:\n%s", stdout)
	}
}

func TestExplainOwnPrincipal(t *testing.T) {
	stdout, _, code := run(t, "", "explain", "--format", "json", "--own-principal", "arn:aws:iam::229654561268:user/chris*",
		"../../events/aws/iam-attach-user-policy-administratoraccess.json")
	if code != 0 {
		t.Fatal(code)
	}
	if got := jsonLines(t, stdout)[0]["ignored"]; got != "own-principal" {
		t.Errorf("ignored = %v, want own-principal", got)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"explain"}, {"explain", "--format", "xml", "x.json"}, {"policy"}} {
		if _, _, code := run(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestPolicyTestBuiltin(t *testing.T) {
	stdout, stderr, code := run(t, "", "policy", "test")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "0 failed") {
		t.Errorf("output: %s", stdout)
	}
}

func TestPolicyValidateReportsBadRule(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mine.rules.yaml"), []byte(`rules:
  - id: my-broken-rule
    title: Broken
    severity: high
    resource_types: [AWS::S3::Bucket]
    condition: resource.Name +
    message: x
`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "", "policy", "validate", dir)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stderr, "mine.rules.yaml") || !strings.Contains(stderr, "my-broken-rule") {
		t.Errorf("error should name file and rule: %s", stderr)
	}
}
