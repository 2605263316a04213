package iamcheck

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/sweep"
)

// Actions of the infrastructure the functions use besides the watched
// resources, as their code calls it.
var (
	// storeActions: shared/state/dynamo's dynamoAPI (GetItem, PutItem,
	// Query on the table and its by-status index).
	storeActions = []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"}
	// deadLetterActions: shared/queue's DeadLetter.Park (SendMessage).
	deadLetterActions = []string{"sqs:SendMessage"}
	// configSecretActions: shared/config's Resolve of the Secrets Manager
	// references in driftwatch.yaml (GetSecretValue).
	configSecretActions = []string{"secretsmanager:GetSecretValue"}
	// slackActions: what functions/aws-slack-actions calls besides reads
	// and reverts: the finding (GetItem, PutItem), the signing secret and
	// the config's secrets (GetSecretValue), and itself, to queue its work
	// (InvokeFunction).
	slackActions = []string{"dynamodb:GetItem", "dynamodb:PutItem", "secretsmanager:GetSecretValue", "lambda:InvokeFunction"}
)

func union(lists ...[]string) []string {
	set := map[string]bool{}
	for _, l := range lists {
		for _, a := range l {
			set[a] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func revertActions(t *testing.T) []string {
	t.Helper()
	acts, err := RevertActions("../../shared/revert")
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) == 0 {
		t.Fatal("found no remediation call in shared/revert: the scan is broken")
	}
	return acts
}

// templateNeeds is what each principal of template.yaml declares it calls,
// for a set of parameter values.
//
// The detector reverts the rules in revert mode (shared/pipeline's
// automatic revert, dry-run or on), and the Slack actions function on a
// person's request (shared/interact): both unless AutoRevert is off.
func templateNeeds(t *testing.T, params map[string]string) map[string][]string {
	var member, writes []string
	if params["MemberRoleName"] != "" {
		member = fetchaws.AssumeActions()
	}
	if params["AutoRevert"] != "off" {
		writes = revertActions(t)
	}
	var secrets []string
	if params["ConfigSecretArns"] != "" {
		secrets = configSecretActions
	}
	need := map[string][]string{
		"DetectorFunction": union(fetchaws.Actions(), storeActions, deadLetterActions, member, writes, secrets),
		"SweeperFunction":  union(fetchaws.Actions(), sweep.Actions(), storeActions, member, secrets),
	}
	if params["SlackSigningSecretArn"] != "" {
		need["SlackActionsFunction"] = union(fetchaws.Actions(), slackActions, writes)
	}
	return need
}

// memberNeeds is what each principal of deploy/aws/member.yaml needs.
func memberNeeds(t *testing.T, params map[string]string) map[string][]string {
	need := map[string][]string{"ForwarderRole": {"events:PutEvents"}}
	if params["RoleRegion"] == "us-east-1" { // the region goformation evaluates AWS::Region as
		var writes []string
		if params["AllowRevert"] == "true" {
			writes = revertActions(t)
		}
		need["MemberRole"] = union(fetchaws.Actions(), writes)
	}
	return need
}

// combos returns every combination of the values given for the parameters
// the template declares.
func combos(tpl *Template, values map[string][]string) []map[string]string {
	out := []map[string]string{{}}
	declared := tpl.Parameters()
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if _, ok := declared[name]; !ok {
			continue
		}
		vals := values[name]
		if allowed := declared[name]; allowed != nil {
			vals = allowed
		}
		var next []map[string]string
		for _, c := range out {
			for _, v := range vals {
				m := maps.Clone(c)
				m[name] = v
				next = append(next, m)
			}
		}
		out = next
	}
	return out
}

// problems checks a template text for every parameter combination.
func problems(t *testing.T, data []byte, values map[string][]string, needs func(*testing.T, map[string]string) map[string][]string) []string {
	t.Helper()
	base, err := Load(data, nil)
	if err != nil {
		t.Fatalf("load template: %v", err)
	}
	var out []string
	for _, params := range combos(base, values) {
		tpl, err := Load(data, params)
		if err != nil {
			t.Fatalf("load template with %v: %v", params, err)
		}
		grants, probs := tpl.Grants()
		probs = append(probs, Check(grants, needs(t, params))...)
		for _, p := range probs {
			out = append(out, fmt.Sprintf("%v: %s", params, p))
		}
	}
	return out
}

var (
	templateParams = map[string][]string{
		"MemberRoleName":        {"", "driftwatch-member"},
		"AutoRevert":            {"off", "dry-run", "on"},
		"SlackSigningSecretArn": {"", "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-signing"},
		"ConfigSecretArns":      {"", "arn:aws:secretsmanager:us-east-1:123456789012:secret:jira"},
	}
	memberParams = map[string][]string{"AllowRevert": {"false", "true"}, "RoleRegion": {"us-east-1", "eu-west-1"}}
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTemplateGrantsExactlyWhatCodeDeclares is the least-privilege proof for
// template.yaml: for every combination of the parameters that change
// permissions, each function is granted exactly the actions its code
// declares, no wildcard write, and writes only under AutoRevert=on.
func TestTemplateGrantsExactlyWhatCodeDeclares(t *testing.T) {
	for _, p := range problems(t, read(t, "../../template.yaml"), templateParams, templateNeeds) {
		t.Error(p)
	}
}

// TestMemberGrantsExactlyWhatCodeDeclares is the same proof for the member
// stack: the member role reads what the fetchers declare, and may make the
// remediation calls only when AllowRevert is true.
func TestMemberGrantsExactlyWhatCodeDeclares(t *testing.T) {
	for _, p := range problems(t, read(t, "../../deploy/aws/member.yaml"), memberParams, memberNeeds) {
		t.Error(p)
	}
}

// mutate applies one textual change to a template, failing the test when
// the anchor is missing (the mutation would prove nothing).
func mutate(t *testing.T, data []byte, old, new string) []byte {
	t.Helper()
	s := string(data)
	if !strings.Contains(s, old) {
		t.Fatalf("mutation anchor %q not in the template", old)
	}
	return []byte(strings.Replace(s, old, new, 1))
}

// TestMutatedTemplatesFail shows that the check catches each way a template
// can drift from the code: copies of the real templates with one change
// each must be reported, with the right kind and action.
func TestMutatedTemplatesFail(t *testing.T) {
	tpl := read(t, "../../template.yaml")
	member := read(t, "../../deploy/aws/member.yaml")
	const lastRead = "                - s3:GetEncryptionConfiguration\n"
	for _, tc := range []struct {
		name     string
		data     []byte
		member   bool
		wantKind string
		want     string // the action (or detail) the problem must name
	}{
		{name: "a permission added", data: mutate(t, tpl, lastRead, lastRead+"                - s3:PutBucketAcl\n"),
			wantKind: Undeclared, want: "s3:PutBucketAcl"},
		{name: "a read nobody calls added", data: mutate(t, tpl, lastRead, lastRead+"                - s3:GetBucketWebsite\n"),
			wantKind: Undeclared, want: "s3:GetBucketWebsite"},
		{name: "a permission removed", data: mutate(t, tpl, "                - kms:GetKeyPolicy\n", ""),
			wantKind: Missing, want: "kms:GetKeyPolicy"},
		{name: "a Put* wildcard", data: mutate(t, tpl, lastRead, lastRead+"                - s3:Put*\n"),
			wantKind: WildcardWrite, want: "s3:Put*"},
		{name: "a service wildcard", data: mutate(t, tpl, lastRead, lastRead+"                - ec2:*\n"),
			wantKind: WildcardWrite, want: "ec2:*"},
		{name: "everything", data: mutate(t, tpl, lastRead, lastRead+"                - \"*\"\n"),
			wantKind: WildcardWrite, want: "*"},
		{name: "SAM's SQSSendMessagePolicy", data: mutate(t, tpl, "      Policies:\n        - Statement:\n",
			"      Policies:\n        - SQSSendMessagePolicy:\n            QueueName: !GetAtt DetectorDeadLetterQueue.QueueName\n        - Statement:\n"),
			wantKind: WildcardWrite, want: "sqs:SendMessage*"},
		{name: "NotAction", data: mutate(t, tpl, "            - Sid: ReadWatchedResources\n              Effect: Allow\n",
			"            - Effect: Allow\n              NotAction: iam:*\n              Resource: \"*\"\n            - Sid: ReadWatchedResources\n              Effect: Allow\n"),
			wantKind: WildcardWrite, want: "NotAction iam:*"},
		{name: "a managed policy", data: mutate(t, tpl, "      Policies:\n        - Statement:\n",
			"      Policies:\n        - ReadOnlyAccess\n        - Statement:\n"),
			wantKind: Unsupported, want: "ReadOnlyAccess"},
		{name: "a function nobody declared", data: mutate(t, tpl, "  SweeperFunction:\n",
			"  ExtraFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n      Policies:\n        - Statement:\n            - Effect: Allow\n              Action: s3:GetBucketAcl\n              Resource: \"*\"\n  SweeperFunction:\n"),
			wantKind: Unchecked, want: "ExtraFunction"},
		{name: "a revert statement without the AutoRevert condition", data: mutate(t, tpl, "              - RevertAllowed\n              - Sid: Revert\n",
			"              - HasSlackActions\n              - Sid: Revert\n"),
			wantKind: Undeclared, want: "s3:PutBucketAcl"},
		{name: "member role reads one more", member: true, data: mutate(t, member, "                  - s3:GetEncryptionConfiguration\n",
			"                  - s3:GetEncryptionConfiguration\n                  - s3:GetObject\n"),
			wantKind: Undeclared, want: "s3:GetObject"},
		{name: "member revert policy unconditional", member: true, data: mutate(t, member, "        - !If\n          - RevertAllowed\n          - PolicyName: driftwatch-revert",
			"        - !If\n          - CreateMemberRole\n          - PolicyName: driftwatch-revert"),
			wantKind: Undeclared, want: "s3:PutBucketAcl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			if tc.member {
				got = problems(t, tc.data, memberParams, memberNeeds)
			} else {
				got = problems(t, tc.data, templateParams, templateNeeds)
			}
			found := slices.ContainsFunc(got, func(p string) bool {
				return strings.Contains(p, ": "+tc.wantKind) && strings.Contains(p, tc.want)
			})
			if !found {
				t.Errorf("want a %s problem naming %q, got %d problems:\n%s", tc.wantKind, tc.want, len(got), strings.Join(got, "\n"))
			}
		})
	}
}

func TestWildcardWrite(t *testing.T) {
	for action, want := range map[string]bool{
		"*": true, "s3:*": true, "s3:Put*": true, "sqs:SendMessage*": true, "iam:*Policy": true, "ec2:?escribe*": true,
		"s3:Get*": false, "ec2:Describe*": false, "s3:GetBucketAcl": false, "iam:ListRole?olicies": false,
	} {
		if got := wildcardWrite(action); got != want {
			t.Errorf("wildcardWrite(%q) = %v, want %v", action, got, want)
		}
	}
}

// TestConditionsReferencingConditions: a resource whose condition is built
// from other conditions is kept or dropped by the parameters, whatever order
// the conditions are evaluated in.
func TestConditionsReferencingConditions(t *testing.T) {
	const tpl = `Parameters:
  A: {Type: String, Default: "x"}
  B: {Type: String, Default: "y"}
Conditions:
  Both: !And [!Condition IsX, {Condition: IsY}]
  IsX: !Equals [!Ref A, x]
  IsY: !Equals [!Ref B, y]
  Zz: !Not [!Condition Both]
Resources:
  R:
    Type: AWS::IAM::Role
    Condition: Both
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument: {Statement: [{Effect: Allow, Action: s3:GetBucketAcl, Resource: "*"}]}
`
	for _, tc := range []struct {
		params map[string]string
		grants int
	}{
		{map[string]string{}, 1},
		{map[string]string{"A": "other"}, 0},
		{map[string]string{"B": "other"}, 0},
	} {
		for range 10 { // map order varies between runs
			got, err := Load([]byte(tpl), tc.params)
			if err != nil {
				t.Fatal(err)
			}
			grants, probs := got.Grants()
			if len(grants) != tc.grants || len(probs) != 0 {
				t.Fatalf("params %v: %d grants %v, problems %v; want %d grants", tc.params, len(grants), grants, probs, tc.grants)
			}
		}
	}
}
