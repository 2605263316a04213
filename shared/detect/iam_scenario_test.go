package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/driftwatch/driftwatch/internal/mototest"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// The IAM scenarios run in the shared moto server with unique user, role,
// group and policy names. The account password policy is one per account:
// its scenario does not run in parallel and leaves it deleted (moto's
// initial state). moto cannot give the root user an access key or an MFA
// device, so the root-user scenario reads from a fake IAM endpoint.

const iamSource = "iam.amazonaws.com"

const iamAdminPolicy = "arn:aws:iam::aws:policy/AdministratorAccess"

// iamEnv is the pipeline of newMotoEnv with an IAM client to set moto up.
type iamEnv struct {
	*motoEnv
	iam *iam.Client
}

func newIAMEnv(t *testing.T) *iamEnv {
	t.Helper()
	env := newMotoEnv(t)
	return &iamEnv{motoEnv: env, iam: iam.NewFromConfig(env.cfg)}
}

func iamMust(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// iamCTDate is how CloudTrail writes IAM response dates ("Aug 1, 2024 1:33:27 PM").
const iamCTDate = "Aug 1, 2024 1:33:27 PM"

// user creates a user with a unique name and feeds its CreateUser record
// (shape: Stratus Red Team iam-create-admin-user detonation log,
// Apache-2.0), asserting the admin rule passes for the new user.
func (e *iamEnv) user(t *testing.T, prefix string) string {
	t.Helper()
	name := unique(prefix)
	out, err := e.iam.CreateUser(context.Background(), &iam.CreateUserInput{UserName: &name})
	iamMust(t, "create user "+name, err)
	vs := e.feed(t, record(iamSource, "CreateUser", map[string]any{"userName": name}, map[string]any{
		"user": map[string]any{"path": "/", "userName": name, "userId": aws.ToString(out.User.UserId),
			"arn": aws.ToString(out.User.Arn), "createDate": iamCTDate},
	}))
	expect(t, vs, "aws-iam-user-admin-managed-policy", policy.Pass)
	return name
}

func TestIAMScenarioUserAdminPolicy(t *testing.T) {
	env := newIAMEnv(t)
	ctx := context.Background()
	name := env.user(t, "scn-admin")

	// AdministratorAccess attached. Record: Stratus iam-create-admin-user
	// (fixture iam-attach-user-policy-administratoraccess), IDs substituted.
	_, err := env.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &name, PolicyArn: aws.String(iamAdminPolicy)})
	iamMust(t, "attach AdministratorAccess", err)
	vs := env.feed(t, record(iamSource, "AttachUserPolicy", map[string]any{"policyArn": iamAdminPolicy, "userName": name}, nil))
	expect(t, vs, "aws-iam-user-admin-managed-policy", policy.Fail)
	expect(t, vs, "aws-iam-user-direct-policies", policy.Fail)

	// Detached again.
	_, err = env.iam.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: &name, PolicyArn: aws.String(iamAdminPolicy)})
	iamMust(t, "detach AdministratorAccess", err)
	vs = env.feed(t, record(iamSource, "DetachUserPolicy", map[string]any{"policyArn": iamAdminPolicy, "userName": name}, nil))
	expect(t, vs, "aws-iam-user-admin-managed-policy", policy.Pass)
	expect(t, vs, "aws-iam-user-direct-policies", policy.Pass)

	// An inline *:* policy, then its removal.
	adminDoc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	_, err = env.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &name, PolicyName: aws.String("break-glass"), PolicyDocument: &adminDoc})
	iamMust(t, "put inline admin policy", err)
	vs = env.feed(t, record(iamSource, "PutUserPolicy", map[string]any{"userName": name, "policyName": "break-glass", "policyDocument": adminDoc}, nil))
	expect(t, vs, "aws-iam-user-admin-inline-policy", policy.Fail)
	_, err = env.iam.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &name, PolicyName: aws.String("break-glass")})
	iamMust(t, "delete inline admin policy", err)
	vs = env.feed(t, record(iamSource, "DeleteUserPolicy", map[string]any{"userName": name, "policyName": "break-glass"}, nil))
	expect(t, vs, "aws-iam-user-admin-inline-policy", policy.Pass)

	// AWS quarantines a leaked key with a Deny-only inline policy (record:
	// Panther aws_key_compromised test, Apache-2.0): neither admin nor a
	// permission outside groups.
	quarantine := `{"Version":"2012-10-17","Statement":[{"Sid":"Stmt1538161409","Effect":"Deny","Action":["lambda:CreateFunction",` +
		`"iam:AttachUserPolicy","iam:PutUserPolicy","ec2:RunInstances","iam:CreateUser","iam:CreateAccessKey"],"Resource":["*"]}]}`
	_, err = env.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &name, PolicyName: aws.String("AWSCompromisedKeyQuarantineV3"), PolicyDocument: &quarantine})
	iamMust(t, "put quarantine policy", err)
	vs = env.feed(t, record(iamSource, "PutUserPolicy", map[string]any{"policyDocument": quarantine, "userName": name, "policyName": "AWSCompromisedKeyQuarantineV3"}, nil))
	expect(t, vs, "aws-iam-user-admin-inline-policy", policy.Pass)
	expect(t, vs, "aws-iam-user-direct-policies", policy.Pass)

	// The user is deleted: every rule passes on a resource that is gone.
	_, err = env.iam.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &name, PolicyName: aws.String("AWSCompromisedKeyQuarantineV3")})
	iamMust(t, "delete quarantine policy", err)
	_, err = env.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: &name})
	iamMust(t, "delete user", err)
	vs = env.feed(t, record(iamSource, "DeleteUser", map[string]any{"userName": name}, nil))
	expect(t, vs, "aws-iam-user-admin-managed-policy", policy.Pass)
}

func TestIAMScenarioConsoleUserWithoutMFA(t *testing.T) {
	env := newIAMEnv(t)
	ctx := context.Background()
	const rule = "aws-iam-user-console-without-mfa"
	name := env.user(t, "scn-console")

	// A console password, no MFA. Record: Stratus
	// iam-create-user-login-profile (fixture iam-create-login-profile).
	_, err := env.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: &name, Password: aws.String("c0rrect-Horse-battery")})
	iamMust(t, "create login profile", err)
	vs := env.feed(t, record(iamSource, "CreateLoginProfile", map[string]any{"passwordResetRequired": false, "userName": name},
		map[string]any{"loginProfile": map[string]any{"createDate": iamCTDate, "passwordResetRequired": false, "userName": name}}))
	expect(t, vs, rule, policy.Fail)

	// The user enables a virtual MFA device.
	dev, err := env.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: &name})
	iamMust(t, "create virtual MFA device", err)
	serial := aws.ToString(dev.VirtualMFADevice.SerialNumber)
	_, err = env.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: &name, SerialNumber: &serial,
		AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("654321")})
	iamMust(t, "enable MFA device", err)
	vs = env.feed(t, record(iamSource, "EnableMFADevice", map[string]any{"userName": name, "serialNumber": serial}, nil))
	expect(t, vs, rule, policy.Pass)

	// Deactivated from the console (record shape: the AWS CloudTrail user
	// guide's DeactivateMFADevice example).
	_, err = env.iam.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: &name, SerialNumber: &serial})
	iamMust(t, "deactivate MFA device", err)
	vs = env.feed(t, record(iamSource, "DeactivateMFADevice", map[string]any{"userName": name, "serialNumber": serial}, nil))
	expect(t, vs, rule, policy.Fail)

	// The console password is removed.
	_, err = env.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: &name})
	iamMust(t, "delete login profile", err)
	vs = env.feed(t, record(iamSource, "DeleteLoginProfile", map[string]any{"userName": name}, nil))
	expect(t, vs, rule, policy.Pass)
}

func TestIAMScenarioRoleTrust(t *testing.T) {
	env := newIAMEnv(t)
	ctx := context.Background()
	const rule = "aws-iam-role-trust-external-account"
	name := unique("scn-trust")

	// Created for EC2. Record: Stratus iam-backdoor-role's CreateRole, whose
	// response holds the trust policy URL-encoded.
	ec2 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	out, err := env.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name, AssumeRolePolicyDocument: &ec2})
	iamMust(t, "create role", err)
	vs := env.feed(t, record(iamSource, "CreateRole", map[string]any{"roleName": name, "assumeRolePolicyDocument": ec2},
		map[string]any{"role": map[string]any{"assumeRolePolicyDocument": url.PathEscape(ec2), "arn": aws.ToString(out.Role.Arn),
			"roleId": aws.ToString(out.Role.RoleId), "createDate": iamCTDate, "roleName": name, "path": "/"}}))
	expect(t, vs, rule, policy.Pass)
	expect(t, vs, "aws-iam-role-trust-public", policy.Pass)

	// Backdoored: another account's root may assume it. Record: Stratus
	// iam-backdoor-role (fixture iam-update-assume-role-policy-external-account).
	backdoor := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Principal\": {\n        \"Service\": \"ec2.amazonaws.com\"\n      },\n" +
		"      \"Action\": \"sts:AssumeRole\"\n    },\n    {\n      \"Effect\": \"Allow\",\n      \"Principal\": {\n        \"AWS\": \"arn:aws:iam::193672423079:root\"\n      },\n" +
		"      \"Action\": \"sts:AssumeRole\"\n    }\n  ]\n}"
	_, err = env.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: &name, PolicyDocument: &backdoor})
	iamMust(t, "open trust to another account", err)
	vs = env.feed(t, record(iamSource, "UpdateAssumeRolePolicy", map[string]any{"policyDocument": backdoor, "roleName": name}, nil))
	expect(t, vs, rule, policy.Fail)
	expect(t, vs, "aws-iam-role-trust-public", policy.Pass)

	// Opened to everyone.
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`
	_, err = env.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: &name, PolicyDocument: &public})
	iamMust(t, "open trust to everyone", err)
	vs = env.feed(t, record(iamSource, "UpdateAssumeRolePolicy", map[string]any{"policyDocument": public, "roleName": name}, nil))
	expect(t, vs, "aws-iam-role-trust-public", policy.Fail)

	// Fixed: the third party must present an external ID.
	fixed := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::193672423079:root"},` +
		`"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"7f3c1e9a-5d7b"}}}]}`
	_, err = env.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: &name, PolicyDocument: &fixed})
	iamMust(t, "require an external ID", err)
	vs = env.feed(t, record(iamSource, "UpdateAssumeRolePolicy", map[string]any{"policyDocument": fixed, "roleName": name}, nil))
	expect(t, vs, rule, policy.Pass)
	expect(t, vs, "aws-iam-role-trust-public", policy.Pass)

	// AdministratorAccess attached to the role, then detached.
	_, err = env.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &name, PolicyArn: aws.String(iamAdminPolicy)})
	iamMust(t, "attach AdministratorAccess", err)
	vs = env.feed(t, record(iamSource, "AttachRolePolicy", map[string]any{"policyArn": iamAdminPolicy, "roleName": name}, nil))
	expect(t, vs, "aws-iam-role-admin-managed-policy", policy.Fail)
	_, err = env.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &name, PolicyArn: aws.String(iamAdminPolicy)})
	iamMust(t, "detach AdministratorAccess", err)
	vs = env.feed(t, record(iamSource, "DetachRolePolicy", map[string]any{"policyArn": iamAdminPolicy, "roleName": name}, nil))
	expect(t, vs, "aws-iam-role-admin-managed-policy", policy.Pass)
}

func TestIAMScenarioGroupAdminPolicy(t *testing.T) {
	env := newIAMEnv(t)
	ctx := context.Background()
	const rule = "aws-iam-group-admin-managed-policy"
	group := unique("scn-group")
	_, err := env.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: &group})
	iamMust(t, "create group", err)

	// Record shape: Elastic's attach-group-policy sample (read, not copied).
	_, err = env.iam.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: &group, PolicyArn: aws.String(iamAdminPolicy)})
	iamMust(t, "attach AdministratorAccess", err)
	vs := env.feed(t, record(iamSource, "AttachGroupPolicy", map[string]any{"groupName": group, "policyArn": iamAdminPolicy}, nil))
	expect(t, vs, rule, policy.Fail)

	_, err = env.iam.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{GroupName: &group, PolicyArn: aws.String(iamAdminPolicy)})
	iamMust(t, "detach AdministratorAccess", err)
	vs = env.feed(t, record(iamSource, "DetachGroupPolicy", map[string]any{"groupName": group, "policyArn": iamAdminPolicy}, nil))
	expect(t, vs, rule, policy.Pass)
}

func TestIAMScenarioManagedPolicyEscalation(t *testing.T) {
	env := newIAMEnv(t)
	ctx := context.Background()
	const rule = "aws-iam-managed-policy-admin"
	name := unique("scn-deploy")
	narrow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::artifacts/*"}]}`
	out, err := env.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: &name, PolicyDocument: &narrow})
	iamMust(t, "create policy", err)
	arn := aws.ToString(out.Policy.Arn)
	role := unique("scn-ci")
	_, err = env.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &role, AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	iamMust(t, "create role", err)
	_, err = env.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &role, PolicyArn: &arn})
	iamMust(t, "attach policy", err)
	vs := env.feed(t, record(iamSource, "CreatePolicy", map[string]any{"policyName": name, "policyDocument": narrow},
		map[string]any{"policy": map[string]any{"policyName": name, "arn": arn, "defaultVersionId": "v1", "path": "/",
			"attachmentCount": 0, "isAttachable": true, "createDate": iamCTDate, "updateDate": iamCTDate}}))
	expect(t, vs, rule, policy.Pass)

	// A new default version grants *:* to everyone the policy is attached to.
	admin := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	_, err = env.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: &arn, PolicyDocument: &admin, SetAsDefault: true})
	iamMust(t, "create policy version", err)
	vs = env.feed(t, record(iamSource, "CreatePolicyVersion", map[string]any{"policyArn": arn, "policyDocument": admin, "setAsDefault": true},
		map[string]any{"policyVersion": map[string]any{"versionId": "v2", "isDefaultVersion": true, "createDate": iamCTDate}}))
	expect(t, vs, rule, policy.Fail)

	// Rolled back to v1.
	_, err = env.iam.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: &arn, VersionId: aws.String("v1")})
	iamMust(t, "set default version", err)
	vs = env.feed(t, record(iamSource, "SetDefaultPolicyVersion", map[string]any{"policyArn": arn, "versionId": "v1"}, nil))
	expect(t, vs, rule, policy.Pass)
}

func TestIAMScenarioPasswordPolicy(t *testing.T) {
	env := newIAMEnv(t)
	ctx := context.Background()
	t.Cleanup(func() {
		// moto's initial state: no password policy.
		_, _ = env.iam.DeleteAccountPasswordPolicy(context.Background(), &iam.DeleteAccountPasswordPolicyInput{})
	})
	update := func(minLength, reuse int32) {
		t.Helper()
		_, err := env.iam.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
			MinimumPasswordLength: aws.Int32(minLength), PasswordReusePrevention: aws.Int32(reuse),
			RequireSymbols: true, RequireNumbers: true, RequireUppercaseCharacters: true, RequireLowercaseCharacters: true,
			AllowUsersToChangePassword: true,
		})
		iamMust(t, "update password policy", err)
	}
	// requestParameters echo the API's fields in camel case.
	request := func(minLength, reuse int) map[string]any {
		return map[string]any{"minimumPasswordLength": minLength, "passwordReusePrevention": reuse, "requireSymbols": true,
			"requireNumbers": true, "requireUppercaseCharacters": true, "requireLowercaseCharacters": true, "allowUsersToChangePassword": true}
	}

	update(14, 24)
	vs := env.feed(t, record(iamSource, "UpdateAccountPasswordPolicy", request(14, 24), nil))
	expect(t, vs, "aws-iam-password-policy-min-length", policy.Pass)
	expect(t, vs, "aws-iam-password-policy-reuse-prevention", policy.Pass)

	// Weakened.
	update(8, 1)
	vs = env.feed(t, record(iamSource, "UpdateAccountPasswordPolicy", request(8, 1), nil))
	expect(t, vs, "aws-iam-password-policy-min-length", policy.Fail)
	expect(t, vs, "aws-iam-password-policy-reuse-prevention", policy.Fail)

	// Restored.
	update(16, 24)
	vs = env.feed(t, record(iamSource, "UpdateAccountPasswordPolicy", request(16, 24), nil))
	expect(t, vs, "aws-iam-password-policy-min-length", policy.Pass)
	expect(t, vs, "aws-iam-password-policy-reuse-prevention", policy.Pass)

	// Deleted: AWS's default (8 characters, reuse allowed) applies again.
	_, err := env.iam.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{})
	iamMust(t, "delete password policy", err)
	vs = env.feed(t, record(iamSource, "DeleteAccountPasswordPolicy", nil, nil))
	expect(t, vs, "aws-iam-password-policy-min-length", policy.Fail)
	expect(t, vs, "aws-iam-password-policy-reuse-prevention", policy.Fail)
}

// fakeAccountSummary is an IAM endpoint that answers GetAccountSummary with
// the root user's state (moto always reports no root access key and no root
// MFA); any other call is an error.
type fakeAccountSummary struct {
	keys, mfa atomic.Int32
}

func (f *fakeAccountSummary) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "GetAccountSummary" {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>fake serves GetAccountSummary only, not %q</Message></Error><RequestId>1</RequestId></ErrorResponse>`, r.Form.Get("Action"))
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<GetAccountSummaryResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetAccountSummaryResult><SummaryMap>`+
		`<entry><key>AccountAccessKeysPresent</key><value>%d</value></entry>`+
		`<entry><key>AccountMFAEnabled</key><value>%d</value></entry>`+
		`<entry><key>AccountSigningCertificatesPresent</key><value>0</value></entry>`+
		`<entry><key>Users</key><value>3</value></entry>`+
		`</SummaryMap></GetAccountSummaryResult><ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata></GetAccountSummaryResponse>`,
		f.keys.Load(), f.mfa.Load())
}

// rootRecord is record with the root user as the caller, as CloudTrail
// writes it (shape: Panther aws_root_access_key_created test, Apache-2.0).
func rootRecord(t *testing.T, operation string, request, response map[string]any) []byte {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal(record(iamSource, operation, request, response), &rec); err != nil {
		t.Fatal(err)
	}
	rec["userIdentity"] = map[string]any{
		"type": "Root", "principalId": mototest.Account, "arn": "arn:aws:iam::" + mototest.Account + ":root",
		"accountId": mototest.Account, "accessKeyId": "ASIAEXAMPLEROOTKEY",
		"sessionContext": map[string]any{"attributes": map[string]any{"creationDate": "2025-01-01T00:00:00Z", "mfaAuthenticated": "true"}},
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIAMScenarioRootUser(t *testing.T) {
	env := newIAMEnv(t)
	fake := &fakeAccountSummary{}
	fake.mfa.Store(1)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	// A configuration of its own: a copy of moto's would keep moto's
	// endpoint in its ConfigSources, which the IAM client prefers.
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(mototest.Region),
		config.WithBaseEndpoint(srv.URL),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithRetryMaxAttempts(1),
	)
	iamMust(t, "aws config for the fake IAM endpoint", err)
	env.det.Reader = fetchaws.New(cfg, fetchaws.Options{})

	// The root user creates an access key for itself: no request
	// parameters, no userName in the response.
	fake.keys.Store(1)
	vs := env.feed(t, rootRecord(t, "CreateAccessKey", nil, map[string]any{
		"accessKey": map[string]any{"accessKeyId": "AKIAEXAMPLEROOT00001", "createDate": iamCTDate, "status": "Active"}}))
	expect(t, vs, "aws-iam-root-access-key", policy.Fail)
	expect(t, vs, "aws-iam-root-mfa", policy.Pass)

	// And deletes it.
	fake.keys.Store(0)
	vs = env.feed(t, rootRecord(t, "DeleteAccessKey", map[string]any{"accessKeyId": "AKIAEXAMPLEROOT00001"}, nil))
	expect(t, vs, "aws-iam-root-access-key", policy.Pass)

	// The root user removes its MFA device; from the console CloudTrail
	// names the user "AWS ROOT USER" (AWS CloudTrail user guide example).
	fake.mfa.Store(0)
	serial := "arn:aws:iam::" + mototest.Account + ":mfa/root-account-mfa-device"
	vs = env.feed(t, rootRecord(t, "DeactivateMFADevice", map[string]any{"userName": "AWS ROOT USER", "serialNumber": serial}, nil))
	expect(t, vs, "aws-iam-root-mfa", policy.Fail)

	fake.mfa.Store(1)
	vs = env.feed(t, rootRecord(t, "EnableMFADevice", map[string]any{"userName": "AWS ROOT USER", "serialNumber": serial}, nil))
	expect(t, vs, "aws-iam-root-mfa", policy.Pass)
}
