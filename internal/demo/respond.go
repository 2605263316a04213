package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/shared/baseline"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// sshRule is the built-in rule the respond walk-through breaks and reverts.
const sshRule = "aws-ec2-security-group-admin-ports-open-ipv4"

// baselineRule is the baseline rule the walk-through adds to the pack.
const baselineRule = "demo-sg-ingress-baseline"

// RevertAndBaseline shows driftwatch responding, on the AWS cfg reaches
// (moto in make demo): a security group gets SSH opened to the world, and
//
//  1. a dry-run revert (the deployment's default switch) prints the exact
//     call it would make, and a re-read shows nothing changed;
//  2. Slack's "Revert now", pressed by a person, reverts it even in the
//     dry-run deployment, and a re-read shows the rule passing and the
//     group's other rule untouched;
//  3. the group as reverted is approved as its baseline, someone adds a
//     rule that no policy forbids, and the baseline rule reports it as a
//     JSON diff against what was approved.
//
// It makes its own group and stores nothing outside memory. It returns an
// error when a step does not behave as described, so the demo cannot show
// a story the code does not tell.
func RevertAndBaseline(ctx context.Context, w io.Writer, cfg aws.Config) error {
	rules, err := pack.AWS()
	if err != nil {
		return fmt.Errorf("load built-in rules: %w", err)
	}
	rules = append(rules, policy.Rule{
		ID: baselineRule, Title: "Inbound rules differ from the approved ones", Severity: policy.SeverityMedium,
		ResourceTypes: []string{"AWS::EC2::SecurityGroup"}, Kind: policy.KindBaseline, Watch: []string{"SecurityGroupIngress"},
		Message: "Security group {{ resource.GroupName }} was changed since its rules were approved",
	})
	baselines, err := baseline.OpenSQLite(ctx, baseline.Memory)
	if err != nil {
		return err
	}
	defer baselines.Close()
	eng, err := policy.Compile(rules, policy.WithBaselines(baseline.Source{Store: baselines}))
	if err != nil {
		return fmt.Errorf("compile rules: %w", err)
	}
	reader := fetchaws.New(cfg, fetchaws.Options{S3PathStyle: true})
	rem := revert.New(cfg, reader, eng, revert.Options{S3PathStyle: true, VerifyAttempts: 3, VerifyDelay: 200 * time.Millisecond})
	gates, err := revert.NewReverter(rem, revert.Config{Switch: revert.SwitchDryRun})
	if err != nil {
		return err
	}
	ec2c := ec2.NewFromConfig(cfg)

	fmt.Fprintf(w, "\n%s\nRespond: revert the risky part, and judge drift from an approved baseline\n%s\n", rule, rule)
	name := "payments-api-" + ctrecord.UUID()[:6]
	out, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String("payments API")})
	if err != nil {
		return fmt.Errorf("create security group: %w", err)
	}
	gid := aws.ToString(out.GroupId)
	ref := resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", Region, Account, gid), Account: Account, Region: Region}
	authorize := func(port int32, cidr string) error {
		_, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: out.GroupId, IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}},
		}}})
		if err != nil {
			return fmt.Errorf("authorize port %d from %s: %w", port, cidr, err)
		}
		return nil
	}
	if err := authorize(443, "0.0.0.0/0"); err != nil {
		return err
	}
	if err := authorize(22, "0.0.0.0/0"); err != nil {
		return err
	}
	judge := func(id string) (resource.Resource, policy.Verdict, error) {
		res, err := reader.Read(ctx, ref)
		if err != nil {
			return res, policy.Verdict{}, err
		}
		for _, v := range eng.Evaluate(ctx, policy.Input{Resource: res}) {
			if v.RuleID == id {
				return res, v, nil
			}
		}
		return res, policy.Verdict{}, fmt.Errorf("no verdict of %s", id)
	}
	broken, v, err := judge(sshRule)
	if err != nil {
		return err
	}
	if v.Result != policy.Fail {
		return fmt.Errorf("after opening SSH, %s gives %s", sshRule, v.Result)
	}
	fmt.Fprintf(w, "\n ▸ %s opens SSH to the world (it already serves HTTPS)\n", name)
	printIngress(w, broken)
	fmt.Fprintf(w, "   ✗ %s: %s\n", sshRule, v.Message)

	// 1. Dry run.
	fmt.Fprintln(w, "\n ▸ 1. the deployment's revert switch is dry-run (the default): driftwatch says what it would do")
	dry, err := gates.Revert(ctx, revert.Request{Resource: broken, Verdict: v})
	if err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	if dry.Status != revert.StatusDryRun || len(dry.Calls) == 0 {
		return fmt.Errorf("dry run gave %s (%s), want dry-run with calls", dry.Status, dry.Reason)
	}
	fmt.Fprintln(w, indent(dry.Text(), "   "))
	if _, v, err = judge(sshRule); err != nil || v.Result != policy.Fail {
		return fmt.Errorf("after the dry run %s gives %s (%v), want still fail: a dry run changes nothing", sshRule, v.Result, err)
	}
	fmt.Fprintln(w, "   re-read: SSH is still open; a dry run changes nothing")

	// 2. Revert now, from Slack.
	fmt.Fprintln(w, "\n ▸ 2. alice presses \"Revert now\" on the Slack alert: a person's request reverts even in dry-run")
	done, err := gates.Revert(ctx, revert.Request{Resource: broken, Verdict: v, Requester: "slack:U0DEMO (alice)"})
	if err != nil {
		return fmt.Errorf("revert: %w", err)
	}
	if done.Status != revert.StatusReverted {
		return fmt.Errorf("revert gave %s: %s", done.Status, done.Reason)
	}
	fmt.Fprintln(w, indent(done.Text(), "   "))
	fixed, v, err := judge(sshRule)
	if err != nil || v.Result != policy.Pass {
		return fmt.Errorf("after the revert %s gives %s (%v), want pass", sshRule, v.Result, err)
	}
	if n := len(ingressRules(fixed)); n != 1 {
		return fmt.Errorf("after the revert the group has %d inbound rules, want the HTTPS rule alone", n)
	}
	fmt.Fprintf(w, "   re-read: ✓ %s passes; the HTTPS rule is untouched:\n", sshRule)
	printIngress(w, fixed)

	// 3. Baseline.
	fmt.Fprintln(w, "\n ▸ 3. the reverted group is approved as its baseline (\"Accept as baseline\", or driftwatch baseline capture)")
	b, err := baseline.Approve(ctx, baselines, fixed, "slack:U0DEMO (alice)", "demo", time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   baseline version %d approved by %s\n", b.Version, b.ApprovedBy)
	if err := authorize(8080, "10.0.0.0/8"); err != nil {
		return err
	}
	fmt.Fprintln(w, "   later, someone opens port 8080 to the VPC's 10.0.0.0/8: no policy forbids that...")
	drifted, bv, err := judge(baselineRule)
	if err != nil {
		return err
	}
	if _, sv, err := judge(sshRule); err != nil || sv.Result != policy.Pass {
		return fmt.Errorf("port 8080 from 10.0.0.0/8 fails %s (%v)", sshRule, err)
	}
	if bv.Result != policy.Fail {
		return fmt.Errorf("the baseline rule gives %s after the change, want fail", bv.Result)
	}
	fmt.Fprintf(w, "   ✓ %s passes, but\n   ✗ %s: %s\n", sshRule, baselineRule, bv.Message)
	fmt.Fprintln(w, "   driftwatch baseline diff shows:")
	for _, d := range baseline.Compare(b, drifted, []string{"SecurityGroupIngress"}) {
		for _, e := range d.Removed {
			fmt.Fprintf(w, "     %s: - %s\n", d.Path, describeRule(e))
		}
		for _, e := range d.Added {
			fmt.Fprintf(w, "     %s: + %s\n", d.Path, describeRule(e))
		}
	}
	return nil
}

// ingressRules returns a security group document's inbound rules.
func ingressRules(res resource.Resource) []any {
	l, _ := res.Doc["SecurityGroupIngress"].([]any)
	return l
}

func printIngress(w io.Writer, res resource.Resource) {
	for _, r := range ingressRules(res) {
		fmt.Fprintf(w, "     inbound %s\n", describeRule(r))
	}
}

// describeRule renders an inbound rule of a document: "tcp 22 from
// 0.0.0.0/0 (sgr-…)".
func describeRule(v any) string {
	r, _ := v.(map[string]any)
	port := fmt.Sprint(r["FromPort"])
	if r["ToPort"] != r["FromPort"] {
		port += "-" + fmt.Sprint(r["ToPort"])
	}
	src := fmt.Sprint(r["CidrIp"])
	if s, _ := r["CidrIpv6"].(string); s != "" {
		src = s
	}
	return fmt.Sprintf("%s %s from %s (%s)", r["IpProtocol"], port, src, r["RuleId"])
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
