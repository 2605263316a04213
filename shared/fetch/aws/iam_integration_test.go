package aws

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/iampolicy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// TestIAMAgainstMoto reads every IAM type from moto (started with the AWS
// managed policies loaded) after setting it up through the SDK.
func TestIAMAgainstMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatalf("aws config for moto: %v", err)
	}
	api := iam.NewFromConfig(cfg)
	reader := New(cfg, Options{})
	account := mototest.Account

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	read := func(t *testing.T, typ, id string) resource.Resource {
		t.Helper()
		res, err := reader.Read(ctx, resource.Ref{Type: typ, ID: id, Account: account, Region: mototest.Region})
		if err != nil {
			t.Fatalf("read %s %s: %v", typ, id, err)
		}
		return res
	}
	admin := "arn:aws:iam::aws:policy/AdministratorAccess"

	t.Run("user", func(t *testing.T) {
		name := "alice"
		_, err := api.CreateUser(ctx, &iam.CreateUserInput{UserName: &name, Path: aws.String("/ops/"),
			Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}})
		must("create user", err)
		id := "arn:aws:iam::" + account + ":user/" + name // keyed by name, as the catalog does

		res := read(t, iamTypeUser, id)
		if !res.Exists || res.Doc["Path"] != "/ops/" || res.Tags["team"] != "sec" {
			t.Fatalf("fresh user = %+v", res)
		}
		for k, want := range map[string]any{
			"AttachedManagedPolicies": []any{}, "InlinePolicies": []any{}, "Groups": []any{}, "MFADevices": []any{},
			"AccessKeys":   []any{},
			"LoginProfile": map[string]any{"Configured": false, "PasswordResetRequired": false, "CreateDate": ""},
		} {
			if !reflect.DeepEqual(res.Doc[k], want) {
				t.Errorf("fresh user %s = %#v, want %#v", k, res.Doc[k], want)
			}
		}

		_, err = api.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &name, PolicyArn: &admin})
		must("attach AdministratorAccess", err)
		_, err = api.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &name, PolicyName: aws.String("AWSCompromisedKeyQuarantineV3"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["iam:CreateUser"],"Resource":["*"]}]}`)})
		must("put inline policy", err)
		_, err = api.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")})
		must("create group", err)
		_, err = api.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: &name, GroupName: aws.String("devs")})
		must("add user to group", err)
		_, err = api.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: &name, Password: aws.String("c0rrect-Horse-battery")})
		must("create login profile", err)
		// moto ignores CreateLoginProfile's PasswordResetRequired and drops
		// the password on an UpdateLoginProfile without one.
		_, err = api.UpdateLoginProfile(ctx, &iam.UpdateLoginProfileInput{UserName: &name,
			Password: aws.String("c0rrect-Horse-battery"), PasswordResetRequired: aws.Bool(true)})
		must("update login profile", err)
		key, err := api.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: &name})
		must("create access key", err)
		mfa, err := api.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: &name})
		must("create virtual MFA device", err)
		_, err = api.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: &name, SerialNumber: mfa.VirtualMFADevice.SerialNumber,
			AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("654321")})
		must("enable MFA device", err)

		doc := read(t, iamTypeUser, id).Doc
		attached := doc["AttachedManagedPolicies"].([]any)
		if len(attached) != 1 {
			t.Fatalf("AttachedManagedPolicies = %v", attached)
		}
		if p := attached[0].(map[string]any); p["PolicyArn"] != admin || !iampolicy.IsAdmin(p["Document"].(map[string]any)) {
			t.Errorf("attached AdministratorAccess read as %v", p)
		}
		inline := doc["InlinePolicies"].([]any)
		if len(inline) != 1 || iampolicy.IsAdmin(inline[0].(map[string]any)["Document"].(map[string]any)) {
			t.Errorf("InlinePolicies = %v, want the deny-only quarantine policy", inline)
		}
		if !reflect.DeepEqual(doc["Groups"], []any{"devs"}) {
			t.Errorf("Groups = %v", doc["Groups"])
		}
		if lp := doc["LoginProfile"].(map[string]any); lp["Configured"] != true || lp["PasswordResetRequired"] != true {
			t.Errorf("LoginProfile = %v", lp)
		}
		keys := doc["AccessKeys"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["AccessKeyId"] != aws.ToString(key.AccessKey.AccessKeyId) ||
			keys[0].(map[string]any)["Status"] != "Active" {
			t.Errorf("AccessKeys = %v", keys)
		}
		devices := doc["MFADevices"].([]any)
		if len(devices) != 1 || devices[0].(map[string]any)["SerialNumber"] != aws.ToString(mfa.VirtualMFADevice.SerialNumber) {
			t.Errorf("MFADevices = %v", devices)
		}

		// Undo everything, then delete the user.
		_, err = api.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: &name, PolicyArn: &admin})
		must("detach", err)
		_, err = api.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &name, PolicyName: aws.String("AWSCompromisedKeyQuarantineV3")})
		must("delete inline policy", err)
		_, err = api.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: &name})
		must("delete login profile", err)
		doc = read(t, iamTypeUser, id).Doc
		if len(doc["AttachedManagedPolicies"].([]any)) != 0 || len(doc["InlinePolicies"].([]any)) != 0 ||
			doc["LoginProfile"].(map[string]any)["Configured"] != false {
			t.Errorf("after undo: %v", doc)
		}

		_, err = api.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: &name, SerialNumber: mfa.VirtualMFADevice.SerialNumber})
		must("deactivate MFA", err)
		_, err = api.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: &name, AccessKeyId: key.AccessKey.AccessKeyId})
		must("delete access key", err)
		_, err = api.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: &name, GroupName: aws.String("devs")})
		must("remove from group", err)
		_, err = api.DeleteUser(ctx, &iam.DeleteUserInput{UserName: &name})
		must("delete user", err)
		if res := read(t, iamTypeUser, id); res.Exists {
			t.Errorf("deleted user still exists: %v", res.Doc)
		}
	})

	t.Run("role", func(t *testing.T) {
		name := "backdoor"
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
		_, err := api.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name, AssumeRolePolicyDocument: &trust,
			Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
		must("create role", err)
		id := "arn:aws:iam::" + account + ":role/" + name
		res := read(t, iamTypeRole, id)
		if !res.Exists || res.Tags["env"] != "prod" || res.Doc["MaxSessionDuration"] != int64(3600) {
			t.Fatalf("role = %+v", res)
		}
		if iampolicy.TrustsExternalAccount(res.Doc["AssumeRolePolicyDocument"].(map[string]any), account) {
			t.Error("EC2 trust read as trusting another account")
		}

		opened := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},` +
			`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::193672423079:root"},"Action":"sts:AssumeRole"}]}`
		_, err = api.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: &name, PolicyDocument: &opened})
		must("update trust", err)
		_, err = api.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &name, PolicyArn: aws.String("arn:aws:iam::aws:policy/SecurityAudit")})
		must("attach SecurityAudit", err)
		_, err = api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &name, PolicyName: aws.String("all"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)})
		must("put inline admin", err)

		doc := read(t, iamTypeRole, id).Doc
		got := iampolicy.ExternalPrincipals(doc["AssumeRolePolicyDocument"].(map[string]any), account)
		if !reflect.DeepEqual(got, []string{"arn:aws:iam::193672423079:root"}) {
			t.Errorf("external principals = %v", got)
		}
		attached := doc["AttachedManagedPolicies"].([]any)
		if len(attached) != 1 || iampolicy.IsAdmin(attached[0].(map[string]any)["Document"].(map[string]any)) {
			t.Errorf("AttachedManagedPolicies = %v, want SecurityAudit (not admin)", attached)
		}
		inline := doc["InlinePolicies"].([]any)
		if len(inline) != 1 || !iampolicy.IsAdmin(inline[0].(map[string]any)["Document"].(map[string]any)) {
			t.Errorf("InlinePolicies = %v, want the admin policy", inline)
		}

		_, err = api.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &name, PolicyArn: aws.String("arn:aws:iam::aws:policy/SecurityAudit")})
		must("detach", err)
		_, err = api.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &name, PolicyName: aws.String("all")})
		must("delete inline", err)
		_, err = api.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: &name})
		must("delete role", err)
		if res := read(t, iamTypeRole, id); res.Exists {
			t.Errorf("deleted role still exists")
		}
	})

	t.Run("group", func(t *testing.T) {
		name := "ops"
		_, err := api.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: &name})
		must("create group", err)
		_, err = api.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")})
		must("create user", err)
		_, err = api.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: aws.String("bob"), GroupName: &name})
		must("add to group", err)
		_, err = api.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: &name, PolicyArn: &admin})
		must("attach admin", err)
		_, err = api.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: &name, PolicyName: aws.String("read"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`)})
		must("put inline", err)
		id := "arn:aws:iam::" + account + ":group/" + name
		res := read(t, iamTypeGroup, id)
		if !res.Exists || !reflect.DeepEqual(res.Doc["Users"], []any{"bob"}) {
			t.Fatalf("group = %+v", res)
		}
		if a := res.Doc["AttachedManagedPolicies"].([]any); len(a) != 1 || !iampolicy.IsAdmin(a[0].(map[string]any)["Document"].(map[string]any)) {
			t.Errorf("AttachedManagedPolicies = %v", a)
		}
		if in := res.Doc["InlinePolicies"].([]any); len(in) != 1 || in[0].(map[string]any)["PolicyName"] != "read" {
			t.Errorf("InlinePolicies = %v", in)
		}
		if res := read(t, iamTypeGroup, "arn:aws:iam::"+account+":group/nobody"); res.Exists {
			t.Error("missing group exists")
		}
	})

	t.Run("managed policy", func(t *testing.T) {
		out, err := api.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("deploy"), Path: aws.String("/ci/"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::artifacts/*"}]}`)})
		must("create policy", err)
		arn := aws.ToString(out.Policy.Arn)
		_, err = api.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ci"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
		must("create role", err)
		_, err = api.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("ci"), PolicyArn: &arn})
		must("attach", err)

		doc := read(t, iamTypeManagedPolicy, arn).Doc
		if doc["DefaultVersionId"] != "v1" || doc["AttachmentCount"] != int64(1) || doc["AWSManaged"] != false ||
			doc["Path"] != "/ci/" || iampolicy.IsAdmin(doc["Document"].(map[string]any)) {
			t.Fatalf("policy = %v", doc)
		}
		_, err = api.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: &arn, SetAsDefault: true,
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
		must("create policy version", err)
		doc = read(t, iamTypeManagedPolicy, arn).Doc
		if doc["DefaultVersionId"] != "v2" || !iampolicy.IsAdmin(doc["Document"].(map[string]any)) {
			t.Errorf("after CreatePolicyVersion: version %v, document %v", doc["DefaultVersionId"], doc["Document"])
		}
		// The role's attached copy follows the new default version too.
		role := read(t, iamTypeRole, "arn:aws:iam::"+account+":role/ci").Doc
		if a := role["AttachedManagedPolicies"].([]any); len(a) != 1 || !iampolicy.IsAdmin(a[0].(map[string]any)["Document"].(map[string]any)) {
			t.Errorf("role's attached policy after the new version = %v", a)
		}
		_, err = api.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: &arn, VersionId: aws.String("v1")})
		must("set default version", err)
		if doc = read(t, iamTypeManagedPolicy, arn).Doc; doc["DefaultVersionId"] != "v1" || iampolicy.IsAdmin(doc["Document"].(map[string]any)) {
			t.Errorf("after SetDefaultPolicyVersion v1: %v", doc)
		}

		aws := read(t, iamTypeManagedPolicy, admin).Doc
		if aws["AWSManaged"] != true || !iampolicy.IsAdmin(aws["Document"].(map[string]any)) {
			t.Errorf("AdministratorAccess = %v", aws)
		}
		if res := read(t, iamTypeManagedPolicy, "arn:aws:iam::"+account+":policy/nobody"); res.Exists {
			t.Error("missing policy exists")
		}
	})

	t.Run("password policy", func(t *testing.T) {
		id := "arn:aws:iam::" + account + ":account-password-policy"
		res := read(t, iamTypePasswordPolicy, id)
		if !res.Exists || res.Doc["Configured"] != false || res.Doc["MinimumPasswordLength"] != int64(0) {
			t.Fatalf("no password policy = %+v", res)
		}
		_, err := api.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
			MinimumPasswordLength: aws.Int32(14), PasswordReusePrevention: aws.Int32(24), RequireSymbols: true,
			MaxPasswordAge: aws.Int32(90),
		})
		must("update password policy", err)
		doc := read(t, iamTypePasswordPolicy, id).Doc
		if doc["Configured"] != true || doc["MinimumPasswordLength"] != int64(14) || doc["PasswordReusePrevention"] != int64(24) ||
			doc["RequireSymbols"] != true || doc["RequireNumbers"] != false || doc["MaxPasswordAge"] != int64(90) {
			t.Errorf("password policy = %v", doc)
		}
		_, err = api.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{})
		must("delete password policy", err)
		if res := read(t, iamTypePasswordPolicy, id); !res.Exists || res.Doc["Configured"] != false {
			t.Errorf("deleted password policy = %+v", res)
		}
	})

	t.Run("root user", func(t *testing.T) {
		// moto reports no root access key and no root MFA, and has no way
		// to change either (see the unit tests for other values).
		res := read(t, iamTypeRootUser, "arn:aws:iam::"+account+":root")
		want := map[string]any{
			"AccountAccessKeysPresent": int64(0), "AccountMFAEnabled": int64(0),
			"AccountPasswordPresent": int64(0), "AccountSigningCertificatesPresent": int64(0),
		}
		if !res.Exists || !reflect.DeepEqual(res.Doc, want) {
			t.Errorf("root user = %+v, want %v", res, want)
		}
	})
}
