package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
)

// TestBaselineCommandsAgainstMoto captures a security group's baseline,
// opens SSH to the world, and checks what show and diff say.
func TestBaselineCommandsAgainstMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	prev := baselineAWSConfig
	baselineAWSConfig = srv.Config
	t.Cleanup(func() { baselineAWSConfig = prev })
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "driftwatch.yaml")
	if err := os.WriteFile(conf, []byte("store: {kind: sqlite, path: baselines.db}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ec2c := ec2.NewFromConfig(cfg)
	sg, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("cli-baseline"), Description: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	authorize := func(port int32) {
		t.Helper()
		if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	authorize(443)
	arn := "arn:aws:ec2:us-east-1:" + mototest.Account + ":security-group/" + aws.ToString(sg.GroupId)

	out, errs, code := run(t, "", "baseline", "show", "--config", conf, arn)
	if code != exitFail || !strings.Contains(errs, "no approved baseline") {
		t.Fatalf("show before capture: %d %q %q", code, out, errs)
	}
	out, errs, code = run(t, "", "baseline", "capture", "--config", conf, "--by", "cli:alice", "--note", "reviewed", arn)
	if code != exitOK || !strings.Contains(out, "captured the baseline of "+arn+" (AWS::EC2::SecurityGroup): version 1") {
		t.Fatalf("capture: %d %q %q", code, out, errs)
	}
	out, errs, code = run(t, "", "baseline", "show", "--config", conf, arn)
	var shown struct {
		Ref        struct{ Type, ID string }
		Doc        map[string]any
		ApprovedBy string `json:"approved_by"`
		Note       string
	}
	if code != exitOK || json.Unmarshal([]byte(out), &shown) != nil || shown.Ref.ID != arn || shown.ApprovedBy != "cli:alice" ||
		shown.Note != "reviewed" || shown.Doc["GroupName"] != "cli-baseline" {
		t.Fatalf("show: %d %q %q", code, out, errs)
	}
	out, errs, code = run(t, "", "baseline", "diff", "--config", conf, arn)
	if code != exitOK || !strings.Contains(out, "matches the baseline approved by cli:alice") {
		t.Fatalf("diff before the change: %d %q %q", code, out, errs)
	}

	authorize(22)
	out, errs, code = run(t, "", "baseline", "diff", "--config", conf, arn)
	if code != exitFail || !strings.Contains(out, "(1 difference(s))") || !strings.Contains(out, "SecurityGroupIngress: + {") ||
		!strings.Contains(out, `"FromPort":22`) || strings.Contains(out, `"FromPort":443`) {
		t.Fatalf("diff after opening SSH: %d %q %q", code, out, errs)
	}
	out, _, code = run(t, "", "baseline", "diff", "--config", conf, "--format", "json", arn)
	var diffs []map[string]any
	if code != exitFail || json.Unmarshal([]byte(out), &diffs) != nil || len(diffs) != 1 || diffs[0]["path"] != "SecurityGroupIngress" ||
		len(diffs[0]["added"].([]any)) != 1 || len(diffs[0]["removed"].([]any)) != 0 {
		t.Fatalf("diff --format json: %d %q", code, out)
	}
	out, _, code = run(t, "", "baseline", "diff", "--config", conf, "--watch", "GroupName", "--watch", "Description", arn)
	if code != exitOK {
		t.Errorf("diff on unchanged paths: %d %q", code, out)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"baseline"}, exitUsage, "Usage"},
		{[]string{"baseline", "erase", arn}, exitUsage, "unknown subcommand"},
		{[]string{"baseline", "diff", "--config", conf}, exitUsage, "want one RESOURCE-ARN"},
		{[]string{"baseline", "capture", "--config", conf, "arn:aws:sqs:us-east-1:123456789012:q"}, exitFail, "no watched resource type"},
		{[]string{"baseline", "diff", "--config", conf, "--format", "yaml", arn}, exitUsage, "--format"},
	} {
		_, errs, code := run(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: %d %q, want %d with %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
