package revert

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

const (
	iamSource          = "iam.amazonaws.com"
	adminAccess        = "arn:aws:iam::aws:policy/AdministratorAccess"
	readOnlyAccess     = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	adminDocument      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	readObjectDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}`
	lambdaTrust        = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
)

type iamEnv struct {
	*env
	iam *iam.Client
}

func newIAMEnv(t *testing.T) *iamEnv {
	t.Helper()
	e := newEnv(t)
	return &iamEnv{env: e, iam: iam.NewFromConfig(e.cfg)}
}

// iamPrincipalCase is one kind of IAM principal: how to create one and how
// to attach or write its policies.
type iamPrincipalCase struct {
	kind, typ, param string
	create           func(t *testing.T, e *iamEnv, name string)
	attach           func(e *iamEnv, name, arn string) error
	put              func(e *iamEnv, name, policy, doc string) error
}

var iamPrincipalCases = []iamPrincipalCase{
	{
		kind: "user", typ: "AWS::IAM::User", param: "userName",
		create: func(t *testing.T, e *iamEnv, name string) {
			_, err := e.iam.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String(name)})
			must(t, "create user", err)
		},
		attach: func(e *iamEnv, name, arn string) error {
			_, err := e.iam.AttachUserPolicy(context.Background(), &iam.AttachUserPolicyInput{UserName: aws.String(name), PolicyArn: aws.String(arn)})
			return err
		},
		put: func(e *iamEnv, name, policy, doc string) error {
			_, err := e.iam.PutUserPolicy(context.Background(), &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(policy), PolicyDocument: aws.String(doc)})
			return err
		},
	},
	{
		kind: "role", typ: "AWS::IAM::Role", param: "roleName",
		create: func(t *testing.T, e *iamEnv, name string) {
			_, err := e.iam.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
			must(t, "create role", err)
		},
		attach: func(e *iamEnv, name, arn string) error {
			_, err := e.iam.AttachRolePolicy(context.Background(), &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(arn)})
			return err
		},
		put: func(e *iamEnv, name, policy, doc string) error {
			_, err := e.iam.PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(policy), PolicyDocument: aws.String(doc)})
			return err
		},
	},
	{
		kind: "group", typ: "AWS::IAM::Group", param: "groupName",
		create: func(t *testing.T, e *iamEnv, name string) {
			_, err := e.iam.CreateGroup(context.Background(), &iam.CreateGroupInput{GroupName: aws.String(name)})
			must(t, "create group", err)
		},
		attach: func(e *iamEnv, name, arn string) error {
			_, err := e.iam.AttachGroupPolicy(context.Background(), &iam.AttachGroupPolicyInput{GroupName: aws.String(name), PolicyArn: aws.String(arn)})
			return err
		},
		put: func(e *iamEnv, name, policy, doc string) error {
			_, err := e.iam.PutGroupPolicy(context.Background(), &iam.PutGroupPolicyInput{GroupName: aws.String(name), PolicyName: aws.String(policy), PolicyDocument: aws.String(doc)})
			return err
		},
	},
}

// iamRef is the reference of a user, role or group of moto's account.
func iamRef(typ, kind, name string) resource.Ref {
	return ref(typ, "arn:aws:iam::"+mototest.Account+":"+kind+"/"+name)
}

// iamChange is the decoded record of an IAM call on a principal.
func iamChange(t *testing.T, operation string, request map[string]any) *change.Change {
	return decodeChange(t, ctrecord.Call{Service: iamSource, Operation: operation, Request: request})
}

// capitalize turns a kind into the word of IAM's operation names.
func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func TestIAMDetachAdminPolicy(t *testing.T) {
	for _, pc := range iamPrincipalCases {
		t.Run(pc.kind, func(t *testing.T) {
			e := newIAMEnv(t)
			name := unique("rv-" + pc.kind)
			pc.create(t, e, name)
			must(t, "attach ReadOnlyAccess", pc.attach(e, name, readOnlyAccess))
			op := "Attach" + capitalize(pc.kind) + "Policy"
			e.run(t, scenario{
				rule: "aws-iam-" + pc.kind + "-admin-managed-policy", remediation: "iam-detach-admin-policy", ref: iamRef(pc.typ, pc.kind, name),
				breakIt: func(t *testing.T) { must(t, "attach AdministratorAccess", pc.attach(e, name, adminAccess)) },
				change:  iamChange(t, op, map[string]any{pc.param: name, "policyArn": adminAccess}),
				ops:     []string{"Detach" + capitalize(pc.kind) + "Policy"},
			})
		})
	}
}

// TestIAMDetachAdminPolicyChoice checks which administrator policies are
// detached: the one the change attached, every one without such a change,
// and none when the change attached a harmless policy.
func TestIAMDetachAdminPolicyChoice(t *testing.T) {
	e := newIAMEnv(t)
	ctx := context.Background()
	const rule = "aws-iam-user-admin-managed-policy"
	custom, err := e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(unique("rv-star")), PolicyDocument: aws.String(adminDocument)})
	must(t, "create policy", err)
	customARN := aws.ToString(custom.Policy.Arn)
	user := unique("rv-admins")
	pc := iamPrincipalCases[0]
	pc.create(t, e, user)
	for _, a := range []string{readOnlyAccess, adminAccess, customARN} {
		must(t, "attach "+a, pc.attach(e, user, a))
	}
	res := e.read(t, iamRef(pc.typ, "user", user))
	v := e.verdict(t, res, rule, nil)
	for _, tc := range []struct {
		name   string
		change *change.Change
		want   []string
	}{
		{"the change's policy", iamChange(t, "AttachUserPolicy", map[string]any{"userName": user, "policyArn": customARN}), []string{customARN}},
		{"no change: every admin policy", nil, []string{adminAccess, customARN}},
		{"another change: every admin policy", iamChange(t, "CreateLoginProfile", map[string]any{"userName": user}), []string{adminAccess, customARN}},
		{"the change attached a harmless policy", iamChange(t, "AttachUserPolicy", map[string]any{"userName": user, "policyArn": readOnlyAccess}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := e.rem.Plan(ctx, "iam-detach-admin-policy", res, v, tc.change)
			must(t, "plan", err)
			var got []string
			for _, c := range plan.Calls {
				got = append(got, c.Params["PolicyArn"].(string))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("detaches %v (%s), want %v", got, plan.Reason, tc.want)
			}
			if len(tc.want) == 0 && !strings.Contains(plan.Reason, "predate") {
				t.Errorf("reason %q does not say the admin policies predate the change", plan.Reason)
			}
		})
	}
}

func TestIAMDeleteInlineAdminPolicy(t *testing.T) {
	for _, pc := range iamPrincipalCases {
		t.Run(pc.kind, func(t *testing.T) {
			e := newIAMEnv(t)
			name := unique("rv-" + pc.kind)
			pc.create(t, e, name)
			must(t, "put read policy", pc.put(e, name, "read-reports", readObjectDocument))
			op := "Put" + capitalize(pc.kind) + "Policy"
			plan, _ := e.run(t, scenario{
				rule: "aws-iam-" + pc.kind + "-admin-inline-policy", remediation: "iam-delete-inline-admin-policy", ref: iamRef(pc.typ, pc.kind, name),
				breakIt: func(t *testing.T) { must(t, "put admin policy", pc.put(e, name, "break-glass", adminDocument)) },
				change:  iamChange(t, op, map[string]any{pc.param: name, "policyName": "break-glass", "policyDocument": adminDocument}),
				ops:     []string{"Delete" + capitalize(pc.kind) + "Policy"},
			})
			backup, _ := plan.Backup["InlinePolicies"].(map[string]any)
			if backup["break-glass"] == nil {
				t.Errorf("backup %v does not hold the deleted policy's document", plan.Backup)
			}
		})
	}
}

func TestIAMStrengthenPasswordPolicy(t *testing.T) {
	const rule = "aws-iam-password-policy-min-length"
	ppRef := ref("AWS::IAM::AccountPasswordPolicy", "arn:aws:iam::"+mototest.Account+":account-password-policy")
	update := func(t *testing.T, e *iamEnv, length, reuse int32) {
		t.Helper()
		_, err := e.iam.UpdateAccountPasswordPolicy(context.Background(), &iam.UpdateAccountPasswordPolicyInput{
			MinimumPasswordLength: aws.Int32(length), PasswordReusePrevention: aws.Int32(reuse), RequireSymbols: true, RequireNumbers: true,
			RequireUppercaseCharacters: true, AllowUsersToChangePassword: true, MaxPasswordAge: aws.Int32(90), HardExpiry: aws.Bool(false),
		})
		must(t, "update password policy", err)
	}
	cleanup := func(e *iamEnv) {
		_, _ = e.iam.DeleteAccountPasswordPolicy(context.Background(), &iam.DeleteAccountPasswordPolicyInput{})
	}
	t.Run("weakened", func(t *testing.T) {
		e := newIAMEnv(t)
		t.Cleanup(func() { cleanup(e) })
		update(t, e, 14, 24)
		e.run(t, scenario{
			rule: rule, remediation: "iam-strengthen-password-policy", ref: ppRef,
			breakIt: func(t *testing.T) { update(t, e, 8, 5) },
			ops:     []string{"UpdateAccountPasswordPolicy"},
		})
	})
	t.Run("stronger settings kept", func(t *testing.T) {
		e := newIAMEnv(t)
		t.Cleanup(func() { cleanup(e) })
		update(t, e, 20, 24)
		plan, _ := e.run(t, scenario{
			rule: "aws-iam-password-policy-reuse-prevention", remediation: "iam-strengthen-password-policy", ref: ppRef,
			breakIt: func(t *testing.T) { update(t, e, 20, 3) },
			ops:     []string{"UpdateAccountPasswordPolicy"},
		})
		if got := plan.Calls[0].Params["MinimumPasswordLength"]; got != int64(20) {
			t.Errorf("MinimumPasswordLength %v, want the stronger 20 kept", got)
		}
	})
	t.Run("deleted", func(t *testing.T) {
		e := newIAMEnv(t)
		t.Cleanup(func() { cleanup(e) })
		// Before: what UpdateAccountPasswordPolicy with the CIS values and
		// nothing else makes.
		_, err := e.iam.UpdateAccountPasswordPolicy(context.Background(), &iam.UpdateAccountPasswordPolicyInput{
			MinimumPasswordLength: aws.Int32(14), PasswordReusePrevention: aws.Int32(24)})
		must(t, "update password policy", err)
		e.run(t, scenario{
			rule: rule, remediation: "iam-strengthen-password-policy", ref: ppRef,
			breakIt: func(t *testing.T) { cleanup(e) },
			ops:     []string{"UpdateAccountPasswordPolicy"},
		})
	})
}

// TestIAMManualRemediations checks that the remediations driftwatch does
// not automate give a plan without calls that says why.
func TestIAMManualRemediations(t *testing.T) {
	e := newIAMEnv(t)
	ctx := context.Background()
	role := unique("rv-trust")
	_, err := e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`)})
	must(t, "create role", err)
	res := e.read(t, iamRef("AWS::IAM::Role", "role", role))
	v := e.verdict(t, res, "aws-iam-role-trust-public", nil)
	plan, err := e.rem.Plan(ctx, "iam-restore-trust-policy", res, v, nil)
	must(t, "plan", err)
	if !plan.Manual || len(plan.Calls) != 0 || !strings.Contains(plan.Reason, "trust policy") {
		t.Errorf("plan: manual %v, calls %v, reason %q; want a manual plan that explains itself", plan.Manual, operations(plan.Calls), plan.Reason)
	}
}
