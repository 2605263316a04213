package detect

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// The loop guard: driftwatch's own revert is a change like any other, and
// CloudTrail records it. The filter must drop that record (own principal)
// before anything is read, or each revert would be checked, and a rule
// that disagreed with the revert would revert it back, forever.

const (
	// revertRole is the role driftwatch's functions run as.
	revertRole = "arn:aws:iam::" + mototest.Account + ":role/driftwatch-detector"
	// revertOwnPattern is the deployment's own-principal pattern.
	revertOwnPattern = "arn:aws:iam::" + mototest.Account + ":role/driftwatch-*"
)

// revertDecode decodes one record.
func revertDecode(t *testing.T, record []byte) *change.Change {
	t.Helper()
	chs, errs := change.Decode("scenario", record)
	if len(errs) > 0 || len(chs) != 1 {
		t.Fatalf("decode record: %d changes, errors %v", len(chs), errs)
	}
	return &chs[0]
}

// revertAsDriftwatch rewrites a record's caller into driftwatch's role session,
// as CloudTrail records a call made by a Lambda function's execution role
// (userIdentity type AssumedRole, with the role as the session's issuer).
func revertAsDriftwatch(t *testing.T, record []byte) []byte {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal(record, &rec); err != nil {
		t.Fatalf("decode record: %v", err)
	}
	rec["userIdentity"] = map[string]any{
		"type":        "AssumedRole",
		"principalId": "AROA3EXAMPLEDRIFTWATCH:driftwatch-detector",
		"arn":         "arn:aws:sts::" + mototest.Account + ":assumed-role/driftwatch-detector/driftwatch-detector",
		"accountId":   mototest.Account,
		"accessKeyId": "ASIA3EXAMPLEDRIFTWAT",
		"sessionContext": map[string]any{
			"sessionIssuer": map[string]any{
				"type": "Role", "principalId": "AROA3EXAMPLEDRIFTWATCH", "arn": revertRole,
				"accountId": mototest.Account, "userName": "driftwatch-detector",
			},
			"attributes": map[string]any{"creationDate": "2026-01-02T03:00:00Z", "mfaAuthenticated": "false"},
		},
	}
	rec["userAgent"] = "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.344.3"
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatalf("encode record: %v", err)
	}
	return b
}

func TestRevertScenarioLoopGuard(t *testing.T) {
	env := newEC2Env(t)
	ctx := context.Background()
	const rule = "aws-ec2-security-group-admin-ports-open-ipv4"
	vpc := env.vpc(t)
	created, err := env.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(unique("scn-loop")),
		Description: aws.String("bastion"), VpcId: aws.String(vpc)})
	ec2Must(t, "create security group", err)
	id := aws.ToString(created.GroupId)

	// An engineer opens SSH to the world.
	opened, err := env.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), CidrIp: aws.String("0.0.0.0/0")})
	ec2Must(t, "open SSH", err)
	risky := revertDecode(t, record(ec2Source, "AuthorizeSecurityGroupIngress",
		map[string]any{"groupId": id, "ipPermissions": ec2List(ipPermission("tcp", 22, 22, []string{"0.0.0.0/0"}, nil))},
		map[string]any{"_return": true, "securityGroupRuleSet": ruleSet(opened.SecurityGroupRules)}))
	out := env.det.Process(ctx, risky)
	if out.Ignored != "" || out.Err != nil || len(out.Checked) != 1 {
		t.Fatalf("risky change: ignored %q, err %v, %d checked", out.Ignored, out.Err, len(out.Checked))
	}
	expect(t, out.Verdicts(), rule, policy.Fail)

	// driftwatch reverts it.
	rem := revert.New(env.cfg, env.det.Reader, engine(t), revert.Options{S3PathStyle: true})
	g, err := revert.NewReverter(rem, revert.Config{Switch: revert.SwitchOn})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Checked[0]
	results := g.RevertFailing(ctx, c.Resource, c.Err, c.Verdicts, risky)
	if len(results) != 1 || results[0].Status != revert.StatusReverted {
		t.Fatalf("revert: %+v, want one reverted result", results)
	}
	call := results[0].Calls[0]
	if call.Service != "ec2" || call.Operation != "RevokeSecurityGroupIngress" {
		t.Fatalf("the revert made %s:%s, want ec2:RevokeSecurityGroupIngress", call.Service, call.Operation)
	}

	// The record CloudTrail writes for that call, made by driftwatch's role.
	var items, revoked []any
	ids, _ := call.Params["SecurityGroupRuleIds"].([]any)
	for _, rid := range ids {
		items = append(items, map[string]any{"securityGroupRuleId": rid})
		revoked = append(revoked, map[string]any{"groupId": id, "groupOwnerId": mototest.Account, "securityGroupRuleId": rid,
			"isEgress": false, "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"})
	}
	revertRecord := revertAsDriftwatch(t, ctrecord.Build(ctrecord.Call{
		Service: ec2Source, Operation: call.Operation, Region: call.Region,
		Caller:   ctrecord.Caller{Account: mototest.Account, UserName: "placeholder"},
		Request:  map[string]any{"groupId": call.Params["GroupId"], "securityGroupRuleIds": ec2List(items...)},
		Response: map[string]any{"requestId": ctrecord.UUID(), "_return": true, "revokedSecurityGroupRuleSet": ec2List(revoked...)},
	}))

	// A deployment that knows its own principals ignores it.
	own, err := filter.New([]string{revertOwnPattern}, catalog.Default().Watched)
	if err != nil {
		t.Fatal(err)
	}
	guarded := &Detector{Filter: own, Catalog: env.det.Catalog, Reader: env.det.Reader, Rules: env.det.Rules}
	ch := revertDecode(t, revertRecord)
	if ch.Principal.IssuerARN != revertRole {
		t.Fatalf("the revert record's issuer is %q, want %s", ch.Principal.IssuerARN, revertRole)
	}
	if got := guarded.Process(ctx, ch); got.Ignored != filter.OwnPrincipal || len(got.Checked) != 0 {
		t.Fatalf("driftwatch's own revert: ignored %q with %d checked, want %q and nothing read", got.Ignored, len(got.Checked), filter.OwnPrincipal)
	}
	if own.Counts().OwnPrincipal != 1 {
		t.Errorf("own-principal count %d, want 1", own.Counts().OwnPrincipal)
	}

	// Controls: the record is a watched change the catalog resolves (a
	// deployment without the pattern checks it and finds the group fixed),
	// and the same call by a person is not ignored by the guarded filter.
	if got := env.det.Process(ctx, revertDecode(t, revertRecord)); got.Ignored != "" || got.Err != nil {
		t.Fatalf("without the own-principal pattern: ignored %q, err %v", got.Ignored, got.Err)
	} else {
		expect(t, got.Verdicts(), rule, policy.Pass)
	}
	byPerson := revertDecode(t, ctrecord.Build(ctrecord.Call{
		Service: ec2Source, Operation: call.Operation, Region: call.Region,
		Caller:  ctrecord.Caller{Account: mototest.Account, UserName: "alice"},
		Request: map[string]any{"groupId": id, "securityGroupRuleIds": ec2List(items...)}, Response: map[string]any{"_return": true},
	}))
	if got := guarded.Process(ctx, byPerson); got.Ignored != "" {
		t.Errorf("the same call by a person: ignored %q, want checked", got.Ignored)
	}
}
