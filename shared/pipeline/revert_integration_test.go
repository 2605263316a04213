package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
	"github.com/driftwatch/driftwatch/shared/slack/slackfake"
	"github.com/driftwatch/driftwatch/shared/ticket/jira/jirafake"
)

// The automatic revert end to end, against moto, a fake Slack and a fake
// Jira: a security group opens SSH to the world, the SSH rule is in revert
// mode, and the deployment's switch decides what happens.

const (
	rvRule       = "aws-ec2-security-group-admin-ports-open-ipv4"
	rvSlackToken = "xoxb-revert-3c9a"
	rvJiraEmail  = "driftwatch-revert@example.com"
	rvJiraToken  = "jira-revert-8e1f"
	// rvRole is the role driftwatch runs as, and rvOwn the deployment's
	// own-principal pattern that covers it.
	rvRole = "arn:aws:iam::" + mototest.Account + ":role/driftwatch-detector"
	rvOwn  = "arn:aws:iam::" + mototest.Account + ":role/driftwatch-*"
)

// rvEnv is one deployment: a pipeline with the switch, its Slack and Jira.
type rvEnv struct {
	t     *testing.T
	built *pipeline.Built
	slack *slackfake.Server
	jira  *jirafake.Server
	ec2   *ec2.Client
	vpc   string
}

func rvStart(t *testing.T, moto *mototest.Server, vpc string, sw revert.Switch) *rvEnv {
	t.Helper()
	ctx := context.Background()
	awsCfg, err := moto.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &rvEnv{t: t, slack: slackfake.Start(t, rvSlackToken), ec2: ec2.NewFromConfig(awsCfg), vpc: vpc}
	e.jira = jirafake.Start(t, jirafake.Options{Email: rvJiraEmail, Token: rvJiraToken, Projects: []string{"SEC"}})
	t.Setenv("DW_RV_SLACK_TOKEN", rvSlackToken)
	t.Setenv("DW_RV_JIRA_TOKEN", rvJiraToken)
	cfg, err := config.Parse("driftwatch.yaml", fmt.Appendf(nil, `
own_principals: [%q]
store:
  kind: sqlite
  path: %s
slack:
  mode: bot
  token: env:DW_RV_SLACK_TOKEN
  routing:
    default: "#drift"
jira:
  base_url: %s
  email: %s
  api_token: env:DW_RV_JIRA_TOKEN
  project: SEC
rules:
  mode_overrides:
    %s: revert
`, rvOwn, filepath.Join(t.TempDir(), "findings.db"), e.jira.URL(), rvJiraEmail, rvRule))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	e.built, err = pipeline.Build(ctx, pipeline.Options{
		Config: cfg, AWS: awsCfg, S3PathStyle: true,
		Sinks:        pipeline.Sinks{Slack: true, Jira: true},
		SlackAPIURL:  e.slack.APIURL(),
		RevertSwitch: sw, RevertAccount: mototest.Account,
	})
	if err != nil {
		t.Fatalf("build pipeline: %v", err)
	}
	t.Cleanup(func() {
		if err := e.built.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return e
}

// group creates a security group with a harmless rule (HTTPS from the
// world), which no revert may touch.
func (e *rvEnv) group(name string) (string, resource.Ref) {
	e.t.Helper()
	ctx := context.Background()
	out, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(e.vpc),
		GroupName: aws.String(name), Description: aws.String("revert test group")})
	if err != nil {
		e.t.Fatalf("create security group: %v", err)
	}
	id := aws.ToString(out.GroupId)
	e.authorize(id, 443)
	return id, resource.Ref{Type: "AWS::EC2::SecurityGroup", Account: mototest.Account, Region: mototest.Region,
		ID: fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", mototest.Region, mototest.Account, id)}
}

// authorize opens a TCP port to the world on the group, for real, and
// returns the change CloudTrail records for it (made by alice).
func (e *rvEnv) authorize(id string, port int32) *change.Change {
	e.t.Helper()
	_, err := e.ec2.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), CidrIp: aws.String("0.0.0.0/0")})
	if err != nil {
		e.t.Fatalf("authorize port %d: %v", port, err)
	}
	perm := map[string]any{"ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": map[string]any{},
		"ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}}, "ipv6Ranges": map[string]any{}, "prefixListIds": map[string]any{}}
	return rvDecode(e.t, ctrecord.Build(ctrecord.Call{
		Service: "ec2.amazonaws.com", Operation: "AuthorizeSecurityGroupIngress", Region: mototest.Region,
		Caller:   ctrecord.Caller{Account: mototest.Account, UserName: "alice"},
		Request:  map[string]any{"groupId": id, "ipPermissions": map[string]any{"items": []any{perm}}},
		Response: map[string]any{"_return": true},
	}))
}

func rvDecode(t *testing.T, record []byte) *change.Change {
	t.Helper()
	chs, errs := change.Decode("test", record)
	if len(errs) > 0 || len(chs) != 1 {
		t.Fatalf("decode record: %d changes, errors %v", len(chs), errs)
	}
	return &chs[0]
}

// handle runs one change through the pipeline.
func (e *rvEnv) handle(ch *change.Change) pipeline.Result {
	e.t.Helper()
	res, err := e.built.Handle(context.Background(), ch)
	if err != nil {
		e.t.Fatalf("handle %s: %v", ch.EventID, err)
	}
	return res
}

// read reads the group and returns it with the rule's verdict.
func (e *rvEnv) read(ref resource.Ref) (resource.Resource, policy.Result) {
	e.t.Helper()
	ctx := context.Background()
	res, err := e.built.Detector.Reader.Read(ctx, ref)
	if err != nil {
		e.t.Fatalf("read %s: %v", ref.ID, err)
	}
	for _, v := range e.built.Engine.Evaluate(ctx, policy.Input{Resource: res}) {
		if v.RuleID == rvRule {
			return res, v.Result
		}
	}
	e.t.Fatalf("no verdict of %s on %s", rvRule, ref.ID)
	return res, ""
}

// finding returns the stored finding of the rule on the group.
func (e *rvEnv) finding(ref resource.Ref) *finding.Finding {
	e.t.Helper()
	k, err := finding.KeyFor(policy.Verdict{RuleID: rvRule, Resource: ref}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	f, err := e.built.Lifecycle.Store.Get(context.Background(), k)
	if err != nil {
		e.t.Fatalf("get finding: %v", err)
	}
	return f
}

// replies returns the texts of the replies in the finding's alert thread.
func (e *rvEnv) replies(f *finding.Finding) []slackfake.Message {
	return e.slack.Thread(f.SlackChannel, f.SlackTS)
}

// notes returns the replies of the thread that are notes.
func (e *rvEnv) notes(f *finding.Finding) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range e.replies(f) {
		if strings.Contains(string(m.Blocks), "Note from driftwatch") {
			out = append(out, m)
		}
	}
	return out
}

// comments returns the texts of the comments on the finding's Jira issue.
func (e *rvEnv) comments(f *finding.Finding) (jirafake.Issue, []string) {
	is, ok := e.jira.Issue(f.Tickets["jira"])
	if !ok {
		e.t.Fatalf("finding %s has no Jira issue (%v)", f.Key, f.Tickets)
	}
	var out []string
	for _, c := range is.Comments {
		out = append(out, c.Text)
	}
	return is, out
}

func countContaining(ss []string, sub string) int {
	n := 0
	for _, s := range ss {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// asDriftwatch returns the record of a call made by driftwatch's role
// session, as CloudTrail writes a Lambda function's call (AssumedRole,
// with the role as the session's issuer).
func asDriftwatch(t *testing.T, call revert.Call, groupID string) *change.Change {
	t.Helper()
	var ids []any
	rids, _ := call.Params["SecurityGroupRuleIds"].([]any)
	for _, id := range rids {
		ids = append(ids, map[string]any{"securityGroupRuleId": id})
	}
	rec := ctrecord.Build(ctrecord.Call{
		Service: "ec2.amazonaws.com", Operation: call.Operation, Region: call.Region,
		Caller:   ctrecord.Caller{Account: mototest.Account, UserName: "placeholder"},
		Request:  map[string]any{"groupId": groupID, "securityGroupRuleIds": map[string]any{"items": ids}},
		Response: map[string]any{"_return": true},
	})
	var m map[string]any
	if err := json.Unmarshal(rec, &m); err != nil {
		t.Fatal(err)
	}
	m["userIdentity"] = map[string]any{
		"type":        "AssumedRole",
		"principalId": "AROA3EXAMPLEREVERT:driftwatch-detector",
		"arn":         "arn:aws:sts::" + mototest.Account + ":assumed-role/driftwatch-detector/driftwatch-detector",
		"accountId":   mototest.Account,
		"accessKeyId": "ASIA3EXAMPLEREVERT00",
		"sessionContext": map[string]any{
			"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROA3EXAMPLEREVERT", "arn": rvRole,
				"accountId": mototest.Account, "userName": "driftwatch-detector"},
			"attributes": map[string]any{"creationDate": "2026-01-02T03:00:00Z", "mfaAuthenticated": "false"},
		},
	}
	m["userAgent"] = "aws-sdk-go-v2/1.39.2 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#arm64 api/ec2#1.254.0"
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return rvDecode(t, b)
}

func TestAutomaticRevert(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Start(t)
	awsCfg, err := moto.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vpcOut, err := ec2.NewFromConfig(awsCfg).CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.30.0.0/16")})
	if err != nil {
		t.Fatalf("create vpc: %v", err)
	}
	vpc := aws.ToString(vpcOut.Vpc.VpcId)

	t.Run("dry-run notes the exact calls and changes nothing", func(t *testing.T) {
		e := rvStart(t, moto, vpc, revert.SwitchDryRun)
		id, ref := e.group("rv-dry-run")
		ch := e.authorize(id, 22)
		before, verdict := e.read(ref)
		if verdict != policy.Fail {
			t.Fatalf("SSH open: %s, want fail", verdict)
		}
		res := e.handle(ch)
		if len(res.Reverts) != 1 || res.Reverts[0].Status != revert.StatusDryRun || len(res.Reverts[0].Calls) != 1 {
			t.Fatalf("reverts %+v, want one dry run with one call", res.Reverts)
		}
		call := res.Reverts[0].Calls[0]
		if call.Operation != "RevokeSecurityGroupIngress" {
			t.Fatalf("dry-run call %s, want the revoke", call)
		}
		after, verdict := e.read(ref)
		if verdict != policy.Fail || !reflect.DeepEqual(before.Doc, after.Doc) {
			t.Errorf("after a dry run: %s, document changed: %v", verdict, !reflect.DeepEqual(before.Doc, after.Doc))
		}
		f := e.finding(ref)
		if f.Status != finding.StatusOpen || len(f.Actions) != 1 || f.Actions[0].By != pipeline.AutoRevertActor ||
			!strings.HasPrefix(f.Actions[0].Result, "would revert "+rvRule) {
			t.Fatalf("finding %s, actions %+v; want open with the dry run recorded", f.Status, f.Actions)
		}
		// The note, with the exact call, is a reply in the alert's thread
		// and a comment on the ticket.
		notes := e.notes(f)
		if len(notes) != 1 || !strings.Contains(notes[0].Text, "would revert "+rvRule) {
			t.Fatalf("thread notes %+v, want the dry run", notes)
		}
		ruleID := fmt.Sprint(call.Params["SecurityGroupRuleIds"].([]any)[0])
		for _, want := range []string{"ec2:RevokeSecurityGroupIngress", ruleID, id} {
			if !strings.Contains(string(notes[0].Blocks), want) {
				t.Errorf("the note lacks %q: %s", want, notes[0].Blocks)
			}
		}
		if _, comments := e.comments(f); countContaining(comments, "would revert "+rvRule) != 1 || countContaining(comments, ruleID) != 1 {
			t.Errorf("Jira comments %q, want the dry run with its call", comments)
		}

		// The change was marked seen after the revert stage.
		if again := e.handle(ch); !again.Duplicate {
			t.Errorf("the same change again: %+v, want a duplicate", again)
		}
		// Another change keeps it failing: the same dry run is not noted
		// again.
		res = e.handle(e.authorize(id, 8443))
		if len(res.Reverts) != 1 || res.Reverts[0].Status != revert.StatusDryRun {
			t.Fatalf("second change: reverts %+v", res.Reverts)
		}
		if n := len(e.notes(e.finding(ref))); n != 1 {
			t.Errorf("%d notes after the same dry run twice, want 1", n)
		}
		if _, verdict := e.read(ref); verdict != policy.Fail {
			t.Errorf("after two dry runs the rule %s, want still fail", verdict)
		}
	})

	t.Run("on reverts, verifies, resolves, and ignores its own change", func(t *testing.T) {
		e := rvStart(t, moto, vpc, revert.SwitchOn)
		id, ref := e.group("rv-on")
		before, _ := e.read(ref)
		res := e.handle(e.authorize(id, 22))
		if len(res.Reverts) != 1 || res.Reverts[0].Status != revert.StatusReverted {
			t.Fatalf("reverts %+v, want one reverted", res.Reverts)
		}
		after, verdict := e.read(ref)
		if verdict != policy.Pass {
			t.Fatalf("after the revert the rule %s, want pass", verdict)
		}
		if !reflect.DeepEqual(before.Doc, after.Doc) {
			t.Errorf("the revert changed more than the SSH rule:\nbefore %v\nafter  %v", before.Doc, after.Doc)
		}
		f := e.finding(ref)
		if f.Status != finding.StatusResolved || f.ResolveReason != finding.ReasonFixed || len(f.Outbox) != 0 {
			t.Fatalf("finding %s (%s), outbox %d; want resolved (fixed), all told", f.Status, f.ResolveReason, len(f.Outbox))
		}
		if len(f.Actions) != 1 || !strings.HasPrefix(f.Actions[0].Result, "reverted "+rvRule) {
			t.Errorf("actions %+v, want the revert recorded", f.Actions)
		}
		// Slack: the alert is replaced by its resolved version, and the
		// thread says what was reverted, before the resolution.
		alert := e.slack.Thread(f.SlackChannel, "")
		var top *slackfake.Message
		for i := range alert {
			if alert[i].TS == f.SlackTS {
				top = &alert[i]
			}
		}
		if top == nil || top.Updates == 0 || !strings.HasPrefix(top.Text, "✅ Resolved") {
			t.Fatalf("alert %+v, want it replaced by its resolved version", top)
		}
		replies := e.replies(f)
		if len(replies) != 2 || !strings.Contains(replies[0].Text, "reverted "+rvRule) || !strings.Contains(string(replies[0].Blocks), "ec2:RevokeSecurityGroupIngress") ||
			!strings.HasPrefix(replies[1].Text, "✅ Resolved") {
			t.Errorf("thread %+v, want the revert note then the resolution", replies)
		}
		// Jira: a comment says what was reverted, and the ticket is closed.
		is, comments := e.comments(f)
		if countContaining(comments, "reverted "+rvRule) != 1 || is.Category != jirafake.CategoryDone {
			t.Errorf("ticket %s (%s), comments %q; want the revert commented and the ticket done", is.Key, is.Status, comments)
		}

		// The loop guard: CloudTrail's record of the revert, made by
		// driftwatch's role, is ignored: nothing read, nothing told.
		own := asDriftwatch(t, res.Reverts[0].Calls[0], id)
		if own.Principal.IssuerARN != rvRole {
			t.Fatalf("issuer %q, want %s", own.Principal.IssuerARN, rvRole)
		}
		posted := len(e.slack.Requests())
		got := e.handle(own)
		if got.Outcome.Ignored != filter.OwnPrincipal || len(got.Outcome.Checked) != 0 || len(got.Reverts) != 0 {
			t.Errorf("driftwatch's own revert: ignored %q, %d checked, %d reverts; want ignored as own principal",
				got.Outcome.Ignored, len(got.Outcome.Checked), len(got.Reverts))
		}
		if n := len(e.slack.Requests()); n != posted {
			t.Errorf("driftwatch's own revert made %d Slack calls", n-posted)
		}
	})

	t.Run("a flapping resource is paused and alerts at high severity", func(t *testing.T) {
		e := rvStart(t, moto, vpc, revert.SwitchOn)
		id, ref := e.group("rv-flapping")
		for i := 1; i <= revert.DefaultBudgetLimit; i++ {
			res := e.handle(e.authorize(id, 22))
			if len(res.Reverts) != 1 || res.Reverts[0].Status != revert.StatusReverted {
				t.Fatalf("revert %d: %+v, want reverted", i, res.Reverts)
			}
		}
		res := e.handle(e.authorize(id, 22))
		if len(res.Reverts) != 1 || !res.Reverts[0].Flapping || res.Reverts[0].AlertSeverity != policy.SeverityHigh {
			t.Fatalf("change %d: %+v, want paused as flapping", revert.DefaultBudgetLimit+1, res.Reverts)
		}
		if _, verdict := e.read(ref); verdict != policy.Fail {
			t.Errorf("flapping: the rule %s, want fail (not reverted)", verdict)
		}
		f := e.finding(ref)
		notes := e.notes(f)
		if f.Status != finding.StatusOpen || len(notes) != 1 || !strings.HasPrefix(notes[0].Text, "🟠 flapping — revert paused") ||
			!strings.Contains(string(notes[0].Blocks), "HIGH · Note from driftwatch") {
			t.Fatalf("finding %s, notes %+v; want open with one high flapping note", f.Status, notes)
		}
		broadcast := 0
		for _, r := range e.slack.RequestsTo("/api/chat.postMessage") {
			if r.ThreadTS == f.SlackTS && r.Form.Get("reply_broadcast") == "true" {
				broadcast++
			}
		}
		if broadcast != 1 {
			t.Errorf("%d broadcast replies, want the flapping note broadcast", broadcast)
		}
		if _, comments := e.comments(f); countContaining(comments, "flapping — revert paused") != 1 {
			t.Errorf("Jira comments %q, want the flapping note", comments)
		}
		// Another failing change: still paused, not noted again, not reverted.
		res = e.handle(e.authorize(id, 8080))
		if len(res.Reverts) != 1 || !res.Reverts[0].Flapping {
			t.Fatalf("after the pause: %+v, want flapping again", res.Reverts)
		}
		if _, verdict := e.read(ref); verdict != policy.Fail {
			t.Errorf("the paused resource was reverted: %s", verdict)
		}
		if n := len(e.notes(e.finding(ref))); n != 1 {
			t.Errorf("%d flapping notes, want 1", n)
		}
	})

	t.Run("a resource of another account is not reverted", func(t *testing.T) {
		e := rvStart(t, moto, vpc, revert.SwitchOn)
		e.built.RevertAccount = "210987654321" // the remediations' account is not the resource's
		id, ref := e.group("rv-foreign")
		res := e.handle(e.authorize(id, 22))
		if len(res.Reverts) != 1 || res.Reverts[0].Status != revert.StatusSkipped || !strings.Contains(res.Reverts[0].Reason, "account "+mototest.Account) {
			t.Fatalf("reverts %+v, want skipped: another account", res.Reverts)
		}
		if _, verdict := e.read(ref); verdict != policy.Fail {
			t.Errorf("a resource of another account was reverted: %s", verdict)
		}
		if f := e.finding(ref); f.Status != finding.StatusOpen || len(f.Actions) != 0 || len(e.notes(f)) != 0 {
			t.Errorf("finding %s, actions %+v: want open, nothing recorded or noted", f.Status, f.Actions)
		}
	})

	t.Run("a suppressed finding is not reverted", func(t *testing.T) {
		e := rvStart(t, moto, vpc, revert.SwitchOn)
		id, ref := e.group("rv-waived")
		ch := e.authorize(id, 22)
		// An exception covers the finding: mark it suppressed as the
		// waiver would, then let the change arrive again.
		e.built.Lifecycle.Waiver = waiveAll{}
		res := e.handle(ch)
		if len(res.Reverts) != 1 || res.Reverts[0].Status != revert.StatusSkipped || !strings.Contains(res.Reverts[0].Reason, "suppressed") {
			t.Fatalf("reverts %+v, want skipped: suppressed", res.Reverts)
		}
		if _, verdict := e.read(ref); verdict != policy.Fail {
			t.Errorf("a waived finding was reverted: %s", verdict)
		}
		if f := e.finding(ref); len(f.Actions) != 0 || len(e.slack.Messages()) != 0 {
			t.Errorf("actions %+v, %d Slack messages; want nothing recorded or told", f.Actions, len(e.slack.Messages()))
		}
	})
}

// waiveAll is a waiver that covers every finding.
type waiveAll struct{}

func (waiveAll) Waive(context.Context, *finding.Finding) (string, bool, error) {
	return "exception EX-1", true, nil
}

var _ finding.Waiver = waiveAll{}

// TestBuildRevertSwitch: the switch decides whether Build assembles an
// automatic revert stage; a position that does not exist is refused.
func TestBuildRevertSwitch(t *testing.T) {
	for _, tc := range []struct {
		sw      revert.Switch
		stage   bool
		wantErr bool
	}{
		{"", false, false},
		{revert.SwitchOff, false, false},
		{revert.SwitchDryRun, true, false},
		{revert.SwitchOn, true, false},
		{"always", false, true},
	} {
		t.Run(string(tc.sw), func(t *testing.T) {
			cfg, err := config.Parse("driftwatch.yaml", fmt.Appendf(nil, "store:\n  kind: sqlite\n  path: %s\n", filepath.Join(t.TempDir(), "f.db")))
			if err != nil {
				t.Fatal(err)
			}
			b, err := pipeline.Build(context.Background(), pipeline.Options{Config: cfg, AWS: aws.Config{Region: mototest.Region}, RevertSwitch: tc.sw})
			if (err != nil) != tc.wantErr {
				t.Fatalf("Build: %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			defer b.Close()
			if got := b.Revert != nil; got != tc.stage {
				t.Errorf("revert stage %v, want %v", got, tc.stage)
			}
		})
	}
}
