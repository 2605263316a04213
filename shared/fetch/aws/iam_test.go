package aws

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

// fakeIAM is an iamAPI whose answers are set per test. A nil func answers as
// IAM does for an entity with nothing attached (empty lists, NoSuchEntity for
// a login profile and a password policy); GetUser, GetRole, GetGroup and
// GetPolicy have no default and answer NoSuchEntity.
type fakeIAM struct {
	getUser           func(*iam.GetUserInput) (*iam.GetUserOutput, error)
	listAttachedUser  func(*iam.ListAttachedUserPoliciesInput) (*iam.ListAttachedUserPoliciesOutput, error)
	listUserPolicies  func(*iam.ListUserPoliciesInput) (*iam.ListUserPoliciesOutput, error)
	getUserPolicy     func(*iam.GetUserPolicyInput) (*iam.GetUserPolicyOutput, error)
	listGroupsForUser func(*iam.ListGroupsForUserInput) (*iam.ListGroupsForUserOutput, error)
	getLoginProfile   func(*iam.GetLoginProfileInput) (*iam.GetLoginProfileOutput, error)
	listMFADevices    func(*iam.ListMFADevicesInput) (*iam.ListMFADevicesOutput, error)
	listAccessKeys    func(*iam.ListAccessKeysInput) (*iam.ListAccessKeysOutput, error)
	getRole           func(*iam.GetRoleInput) (*iam.GetRoleOutput, error)
	listAttachedRole  func(*iam.ListAttachedRolePoliciesInput) (*iam.ListAttachedRolePoliciesOutput, error)
	listRolePolicies  func(*iam.ListRolePoliciesInput) (*iam.ListRolePoliciesOutput, error)
	getRolePolicy     func(*iam.GetRolePolicyInput) (*iam.GetRolePolicyOutput, error)
	getGroup          func(*iam.GetGroupInput) (*iam.GetGroupOutput, error)
	listAttachedGroup func(*iam.ListAttachedGroupPoliciesInput) (*iam.ListAttachedGroupPoliciesOutput, error)
	listGroupPolicies func(*iam.ListGroupPoliciesInput) (*iam.ListGroupPoliciesOutput, error)
	getGroupPolicy    func(*iam.GetGroupPolicyInput) (*iam.GetGroupPolicyOutput, error)
	getPolicy         func(*iam.GetPolicyInput) (*iam.GetPolicyOutput, error)
	getPolicyVersion  func(*iam.GetPolicyVersionInput) (*iam.GetPolicyVersionOutput, error)
	getPasswordPolicy func(*iam.GetAccountPasswordPolicyInput) (*iam.GetAccountPasswordPolicyOutput, error)
	getAccountSummary func(*iam.GetAccountSummaryInput) (*iam.GetAccountSummaryOutput, error)
	calls             map[string]int // operation → number of calls
}

var _ iamAPI = (*fakeIAM)(nil)

func (f *fakeIAM) called(op string) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
}

// iamNoEntity is the error IAM answers for a missing entity.
func iamNoEntity() error {
	return &smithy.OperationError{ServiceID: "IAM", OperationName: "Get",
		Err: &iamtypes.NoSuchEntityException{Message: aws.String("The entity cannot be found.")}}
}

func (f *fakeIAM) GetUser(_ context.Context, in *iam.GetUserInput, _ ...func(*iam.Options)) (*iam.GetUserOutput, error) {
	f.called("GetUser")
	if f.getUser == nil {
		return nil, iamNoEntity()
	}
	return f.getUser(in)
}

func (f *fakeIAM) ListAttachedUserPolicies(_ context.Context, in *iam.ListAttachedUserPoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error) {
	f.called("ListAttachedUserPolicies")
	if f.listAttachedUser == nil {
		return &iam.ListAttachedUserPoliciesOutput{}, nil
	}
	return f.listAttachedUser(in)
}

func (f *fakeIAM) ListUserPolicies(_ context.Context, in *iam.ListUserPoliciesInput, _ ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error) {
	f.called("ListUserPolicies")
	if f.listUserPolicies == nil {
		return &iam.ListUserPoliciesOutput{}, nil
	}
	return f.listUserPolicies(in)
}

func (f *fakeIAM) GetUserPolicy(_ context.Context, in *iam.GetUserPolicyInput, _ ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error) {
	f.called("GetUserPolicy")
	if f.getUserPolicy == nil {
		return nil, iamNoEntity()
	}
	return f.getUserPolicy(in)
}

func (f *fakeIAM) ListGroupsForUser(_ context.Context, in *iam.ListGroupsForUserInput, _ ...func(*iam.Options)) (*iam.ListGroupsForUserOutput, error) {
	f.called("ListGroupsForUser")
	if f.listGroupsForUser == nil {
		return &iam.ListGroupsForUserOutput{}, nil
	}
	return f.listGroupsForUser(in)
}

func (f *fakeIAM) GetLoginProfile(_ context.Context, in *iam.GetLoginProfileInput, _ ...func(*iam.Options)) (*iam.GetLoginProfileOutput, error) {
	f.called("GetLoginProfile")
	if f.getLoginProfile == nil {
		return nil, iamNoEntity()
	}
	return f.getLoginProfile(in)
}

func (f *fakeIAM) ListMFADevices(_ context.Context, in *iam.ListMFADevicesInput, _ ...func(*iam.Options)) (*iam.ListMFADevicesOutput, error) {
	f.called("ListMFADevices")
	if f.listMFADevices == nil {
		return &iam.ListMFADevicesOutput{}, nil
	}
	return f.listMFADevices(in)
}

func (f *fakeIAM) ListAccessKeys(_ context.Context, in *iam.ListAccessKeysInput, _ ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error) {
	f.called("ListAccessKeys")
	if f.listAccessKeys == nil {
		return &iam.ListAccessKeysOutput{}, nil
	}
	return f.listAccessKeys(in)
}

func (f *fakeIAM) GetRole(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	f.called("GetRole")
	if f.getRole == nil {
		return nil, iamNoEntity()
	}
	return f.getRole(in)
}

func (f *fakeIAM) ListAttachedRolePolicies(_ context.Context, in *iam.ListAttachedRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error) {
	f.called("ListAttachedRolePolicies")
	if f.listAttachedRole == nil {
		return &iam.ListAttachedRolePoliciesOutput{}, nil
	}
	return f.listAttachedRole(in)
}

func (f *fakeIAM) ListRolePolicies(_ context.Context, in *iam.ListRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error) {
	f.called("ListRolePolicies")
	if f.listRolePolicies == nil {
		return &iam.ListRolePoliciesOutput{}, nil
	}
	return f.listRolePolicies(in)
}

func (f *fakeIAM) GetRolePolicy(_ context.Context, in *iam.GetRolePolicyInput, _ ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error) {
	f.called("GetRolePolicy")
	if f.getRolePolicy == nil {
		return nil, iamNoEntity()
	}
	return f.getRolePolicy(in)
}

func (f *fakeIAM) GetGroup(_ context.Context, in *iam.GetGroupInput, _ ...func(*iam.Options)) (*iam.GetGroupOutput, error) {
	f.called("GetGroup")
	if f.getGroup == nil {
		return nil, iamNoEntity()
	}
	return f.getGroup(in)
}

func (f *fakeIAM) ListAttachedGroupPolicies(_ context.Context, in *iam.ListAttachedGroupPoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedGroupPoliciesOutput, error) {
	f.called("ListAttachedGroupPolicies")
	if f.listAttachedGroup == nil {
		return &iam.ListAttachedGroupPoliciesOutput{}, nil
	}
	return f.listAttachedGroup(in)
}

func (f *fakeIAM) ListGroupPolicies(_ context.Context, in *iam.ListGroupPoliciesInput, _ ...func(*iam.Options)) (*iam.ListGroupPoliciesOutput, error) {
	f.called("ListGroupPolicies")
	if f.listGroupPolicies == nil {
		return &iam.ListGroupPoliciesOutput{}, nil
	}
	return f.listGroupPolicies(in)
}

func (f *fakeIAM) GetGroupPolicy(_ context.Context, in *iam.GetGroupPolicyInput, _ ...func(*iam.Options)) (*iam.GetGroupPolicyOutput, error) {
	f.called("GetGroupPolicy")
	if f.getGroupPolicy == nil {
		return nil, iamNoEntity()
	}
	return f.getGroupPolicy(in)
}

func (f *fakeIAM) GetPolicy(_ context.Context, in *iam.GetPolicyInput, _ ...func(*iam.Options)) (*iam.GetPolicyOutput, error) {
	f.called("GetPolicy")
	if f.getPolicy == nil {
		return nil, iamNoEntity()
	}
	return f.getPolicy(in)
}

func (f *fakeIAM) GetPolicyVersion(_ context.Context, in *iam.GetPolicyVersionInput, _ ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error) {
	f.called("GetPolicyVersion")
	if f.getPolicyVersion == nil {
		return nil, iamNoEntity()
	}
	return f.getPolicyVersion(in)
}

func (f *fakeIAM) GetAccountPasswordPolicy(_ context.Context, in *iam.GetAccountPasswordPolicyInput, _ ...func(*iam.Options)) (*iam.GetAccountPasswordPolicyOutput, error) {
	f.called("GetAccountPasswordPolicy")
	if f.getPasswordPolicy == nil {
		return nil, iamNoEntity()
	}
	return f.getPasswordPolicy(in)
}

func (f *fakeIAM) GetAccountSummary(_ context.Context, in *iam.GetAccountSummaryInput, _ ...func(*iam.Options)) (*iam.GetAccountSummaryOutput, error) {
	f.called("GetAccountSummary")
	if f.getAccountSummary == nil {
		return &iam.GetAccountSummaryOutput{SummaryMap: map[string]int32{}}, nil
	}
	return f.getAccountSummary(in)
}

// Policy texts as IAM returns them: URL-encoded JSON.
var (
	iamAdminText      = url.PathEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	iamReadText       = url.PathEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"}]}`)
	iamQuarantineText = url.PathEscape(`{"Version":"2012-10-17","Statement":[{"Sid":"Stmt1538161409","Effect":"Deny","Action":["iam:CreateUser","ec2:RunInstances"],"Resource":["*"]}]}`)
	iamTrustText      = url.PathEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::193672423079:root"},"Action":"sts:AssumeRole"}]}`)
)

const (
	iamAdminARN = "arn:aws:iam::aws:policy/AdministratorAccess"
	iamReadARN  = "arn:aws:iam::123456789012:policy/read"
)

// policies answers GetPolicy and GetPolicyVersion for a set of managed
// policies: ARN → default version text (every policy's default is v1).
func (f *fakeIAM) policies(texts map[string]string) *fakeIAM {
	f.getPolicy = func(in *iam.GetPolicyInput) (*iam.GetPolicyOutput, error) {
		arn := aws.ToString(in.PolicyArn)
		if _, ok := texts[arn]; !ok {
			return nil, iamNoEntity()
		}
		name := arn[strings.LastIndexByte(arn, '/')+1:]
		return &iam.GetPolicyOutput{Policy: &iamtypes.Policy{
			Arn: in.PolicyArn, PolicyName: aws.String(name), DefaultVersionId: aws.String("v1"),
			AttachmentCount: aws.Int32(2), IsAttachable: true, Path: aws.String("/"),
			Tags: []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("platform")}},
		}}, nil
	}
	f.getPolicyVersion = func(in *iam.GetPolicyVersionInput) (*iam.GetPolicyVersionOutput, error) {
		text, ok := texts[aws.ToString(in.PolicyArn)]
		if !ok || aws.ToString(in.VersionId) != "v1" {
			return nil, iamNoEntity()
		}
		return &iam.GetPolicyVersionOutput{PolicyVersion: &iamtypes.PolicyVersion{
			Document: aws.String(text), VersionId: in.VersionId, IsDefaultVersion: true,
		}}, nil
	}
	return f
}

// statementEffects returns the Effect of each statement of a document, to
// check a policy was read and normalised without restating its whole form.
func statementEffects(t *testing.T, doc any) []string {
	t.Helper()
	m, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("policy document is %T, want a map", doc)
	}
	stmts, ok := m["Statement"].([]any)
	if !ok {
		t.Fatalf("Statement is %T, want a list", m["Statement"])
	}
	var out []string
	for _, s := range stmts {
		out = append(out, s.(map[string]any)["Effect"].(string))
	}
	return out
}

func TestReadIAMUser(t *testing.T) {
	created := time.Date(2024, 8, 1, 13, 33, 27, 0, time.UTC)
	user := func(*iam.GetUserInput) (*iam.GetUserOutput, error) {
		return &iam.GetUserOutput{User: &iamtypes.User{
			UserName: aws.String("alice"), UserId: aws.String("AIDA1"), Path: aws.String("/ops/"),
			Arn: aws.String("arn:aws:iam::123456789012:user/ops/alice"), CreateDate: &created,
			Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("sec")}},
		}}, nil
	}
	full := func() *fakeIAM {
		f := (&fakeIAM{getUser: user}).policies(map[string]string{iamAdminARN: iamAdminText, iamReadARN: iamReadText})
		// Two pages of attached policies.
		f.listAttachedUser = func(in *iam.ListAttachedUserPoliciesInput) (*iam.ListAttachedUserPoliciesOutput, error) {
			if in.Marker == nil {
				return &iam.ListAttachedUserPoliciesOutput{IsTruncated: true, Marker: aws.String("p2"),
					AttachedPolicies: []iamtypes.AttachedPolicy{{PolicyName: aws.String("AdministratorAccess"), PolicyArn: aws.String(iamAdminARN)}}}, nil
			}
			return &iam.ListAttachedUserPoliciesOutput{
				AttachedPolicies: []iamtypes.AttachedPolicy{{PolicyName: aws.String("read"), PolicyArn: aws.String(iamReadARN)}}}, nil
		}
		f.listUserPolicies = func(*iam.ListUserPoliciesInput) (*iam.ListUserPoliciesOutput, error) {
			return &iam.ListUserPoliciesOutput{PolicyNames: []string{"AWSCompromisedKeyQuarantineV3"}}, nil
		}
		f.getUserPolicy = func(in *iam.GetUserPolicyInput) (*iam.GetUserPolicyOutput, error) {
			return &iam.GetUserPolicyOutput{PolicyName: in.PolicyName, UserName: in.UserName, PolicyDocument: aws.String(iamQuarantineText)}, nil
		}
		f.listGroupsForUser = func(*iam.ListGroupsForUserInput) (*iam.ListGroupsForUserOutput, error) {
			return &iam.ListGroupsForUserOutput{Groups: []iamtypes.Group{{GroupName: aws.String("devs")}}}, nil
		}
		f.getLoginProfile = func(in *iam.GetLoginProfileInput) (*iam.GetLoginProfileOutput, error) {
			return &iam.GetLoginProfileOutput{LoginProfile: &iamtypes.LoginProfile{UserName: in.UserName, CreateDate: &created, PasswordResetRequired: true}}, nil
		}
		f.listMFADevices = func(*iam.ListMFADevicesInput) (*iam.ListMFADevicesOutput, error) {
			return &iam.ListMFADevicesOutput{MFADevices: []iamtypes.MFADevice{{SerialNumber: aws.String("arn:aws:iam::123456789012:mfa/alice"), EnableDate: &created}}}, nil
		}
		f.listAccessKeys = func(*iam.ListAccessKeysInput) (*iam.ListAccessKeysOutput, error) {
			return &iam.ListAccessKeysOutput{AccessKeyMetadata: []iamtypes.AccessKeyMetadata{
				{AccessKeyId: aws.String("AKIA1"), Status: iamtypes.StatusTypeActive, CreateDate: &created},
				{AccessKeyId: aws.String("AKIA2"), Status: iamtypes.StatusTypeInactive, CreateDate: &created},
			}}, nil
		}
		return f
	}

	t.Run("everything", func(t *testing.T) {
		f := full()
		doc, tags, exists, err := readIAMUser(context.Background(), f, newIAMPolicyCache(), "alice")
		if err != nil || !exists {
			t.Fatalf("readIAMUser = exists %v, err %v", exists, err)
		}
		if !reflect.DeepEqual(tags, map[string]string{"team": "sec"}) {
			t.Errorf("tags = %v", tags)
		}
		for k, want := range map[string]any{
			"UserName": "alice", "Arn": "arn:aws:iam::123456789012:user/ops/alice", "Path": "/ops/",
			"CreateDate": "2024-08-01T13:33:27Z", "PasswordLastUsed": "", "PermissionsBoundary": "",
			"Groups":       []any{"devs"},
			"LoginProfile": map[string]any{"Configured": true, "PasswordResetRequired": true, "CreateDate": "2024-08-01T13:33:27Z"},
			"MFADevices":   []any{map[string]any{"SerialNumber": "arn:aws:iam::123456789012:mfa/alice", "EnableDate": "2024-08-01T13:33:27Z"}},
			"AccessKeys": []any{
				map[string]any{"AccessKeyId": "AKIA1", "Status": "Active", "CreateDate": "2024-08-01T13:33:27Z"},
				map[string]any{"AccessKeyId": "AKIA2", "Status": "Inactive", "CreateDate": "2024-08-01T13:33:27Z"},
			},
		} {
			if !reflect.DeepEqual(doc[k], want) {
				t.Errorf("%s = %#v, want %#v", k, doc[k], want)
			}
		}
		attached := doc["AttachedManagedPolicies"].([]any)
		if len(attached) != 2 {
			t.Fatalf("AttachedManagedPolicies has %d entries, want 2 (both pages)", len(attached))
		}
		for i, want := range []string{iamAdminARN, iamReadARN} {
			p := attached[i].(map[string]any)
			if p["PolicyArn"] != want {
				t.Errorf("attached[%d].PolicyArn = %v, want %s", i, p["PolicyArn"], want)
			}
			if got := statementEffects(t, p["Document"]); !reflect.DeepEqual(got, []string{"Allow"}) {
				t.Errorf("attached[%d] statements = %v", i, got)
			}
		}
		admin := attached[0].(map[string]any)["Document"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
		if !reflect.DeepEqual(admin["Action"], []any{"*"}) || !reflect.DeepEqual(admin["Resource"], []any{"*"}) {
			t.Errorf("admin statement not normalised: %v", admin)
		}
		inline := doc["InlinePolicies"].([]any)
		if len(inline) != 1 || inline[0].(map[string]any)["PolicyName"] != "AWSCompromisedKeyQuarantineV3" {
			t.Fatalf("InlinePolicies = %v", inline)
		}
		if got := statementEffects(t, inline[0].(map[string]any)["Document"]); !reflect.DeepEqual(got, []string{"Deny"}) {
			t.Errorf("inline statements = %v", got)
		}
	})

	t.Run("nothing configured", func(t *testing.T) {
		f := &fakeIAM{getUser: user}
		doc, _, exists, err := readIAMUser(context.Background(), f, newIAMPolicyCache(), "alice")
		if err != nil || !exists {
			t.Fatalf("readIAMUser = exists %v, err %v", exists, err)
		}
		for k, want := range map[string]any{
			"AttachedManagedPolicies": []any{}, "InlinePolicies": []any{}, "Groups": []any{},
			"MFADevices": []any{}, "AccessKeys": []any{},
			"LoginProfile": map[string]any{"Configured": false, "PasswordResetRequired": false, "CreateDate": ""},
		} {
			if !reflect.DeepEqual(doc[k], want) {
				t.Errorf("%s = %#v, want %#v", k, doc[k], want)
			}
		}
	})

	t.Run("user does not exist", func(t *testing.T) {
		doc, _, exists, err := readIAMUser(context.Background(), &fakeIAM{}, newIAMPolicyCache(), "ghost")
		if err != nil || exists || doc != nil {
			t.Fatalf("readIAMUser = %v, exists %v, err %v; want gone", doc, exists, err)
		}
	})

	t.Run("user deleted while being read", func(t *testing.T) {
		f := full()
		f.listMFADevices = func(*iam.ListMFADevicesInput) (*iam.ListMFADevicesOutput, error) { return nil, iamNoEntity() }
		_, _, exists, err := readIAMUser(context.Background(), f, newIAMPolicyCache(), "alice")
		if err != nil || exists {
			t.Fatalf("readIAMUser = exists %v, err %v; want gone", exists, err)
		}
	})

	t.Run("policy deleted between list and read is left out", func(t *testing.T) {
		f := full()
		f.policies(map[string]string{iamReadARN: iamReadText})
		doc, _, _, err := readIAMUser(context.Background(), f, newIAMPolicyCache(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		attached := doc["AttachedManagedPolicies"].([]any)
		if len(attached) != 1 || attached[0].(map[string]any)["PolicyArn"] != iamReadARN {
			t.Errorf("AttachedManagedPolicies = %v, want only %s", attached, iamReadARN)
		}
	})

	t.Run("throttled", func(t *testing.T) {
		f := full()
		f.listAccessKeys = func(*iam.ListAccessKeysInput) (*iam.ListAccessKeysOutput, error) {
			return nil, &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
		}
		_, _, _, err := readIAMUser(context.Background(), f, newIAMPolicyCache(), "alice")
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Throttling" {
			t.Fatalf("err = %v, want the Throttling error", err)
		}
		if !strings.Contains(err.Error(), `list access keys of user "alice"`) {
			t.Errorf("err = %q, want it to say what was attempted", err)
		}
	})

	t.Run("malformed inline policy", func(t *testing.T) {
		f := full()
		f.getUserPolicy = func(in *iam.GetUserPolicyInput) (*iam.GetUserPolicyOutput, error) {
			return &iam.GetUserPolicyOutput{PolicyDocument: aws.String("not json")}, nil
		}
		_, _, _, err := readIAMUser(context.Background(), f, newIAMPolicyCache(), "alice")
		if err == nil || !strings.Contains(err.Error(), `inline policy "AWSCompromisedKeyQuarantineV3" of user "alice"`) {
			t.Fatalf("err = %v, want an error naming the policy", err)
		}
	})
}

func TestReadIAMRole(t *testing.T) {
	role := func(*iam.GetRoleInput) (*iam.GetRoleOutput, error) {
		return &iam.GetRoleOutput{Role: &iamtypes.Role{
			RoleName: aws.String("backdoor"), Arn: aws.String("arn:aws:iam::123456789012:role/backdoor"),
			Path: aws.String("/"), MaxSessionDuration: aws.Int32(43200), AssumeRolePolicyDocument: aws.String(iamTrustText),
			PermissionsBoundary: &iamtypes.AttachedPermissionsBoundary{PermissionsBoundaryArn: aws.String("arn:aws:iam::123456789012:policy/boundary")},
			Tags:                []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}},
		}}, nil
	}

	t.Run("trust and policies", func(t *testing.T) {
		f := (&fakeIAM{getRole: role}).policies(map[string]string{iamAdminARN: iamAdminText})
		f.listAttachedRole = func(*iam.ListAttachedRolePoliciesInput) (*iam.ListAttachedRolePoliciesOutput, error) {
			return &iam.ListAttachedRolePoliciesOutput{AttachedPolicies: []iamtypes.AttachedPolicy{{PolicyName: aws.String("AdministratorAccess"), PolicyArn: aws.String(iamAdminARN)}}}, nil
		}
		f.listRolePolicies = func(in *iam.ListRolePoliciesInput) (*iam.ListRolePoliciesOutput, error) {
			if in.Marker == nil {
				return &iam.ListRolePoliciesOutput{PolicyNames: []string{"a"}, IsTruncated: true, Marker: aws.String("m")}, nil
			}
			return &iam.ListRolePoliciesOutput{PolicyNames: []string{"b"}}, nil
		}
		f.getRolePolicy = func(in *iam.GetRolePolicyInput) (*iam.GetRolePolicyOutput, error) {
			return &iam.GetRolePolicyOutput{PolicyDocument: aws.String(iamReadText)}, nil
		}
		doc, tags, exists, err := readIAMRole(context.Background(), f, newIAMPolicyCache(), "backdoor")
		if err != nil || !exists {
			t.Fatalf("readIAMRole = exists %v, err %v", exists, err)
		}
		if tags["env"] != "prod" {
			t.Errorf("tags = %v", tags)
		}
		if doc["MaxSessionDuration"] != int64(43200) || doc["PermissionsBoundary"] != "arn:aws:iam::123456789012:policy/boundary" {
			t.Errorf("MaxSessionDuration %v, PermissionsBoundary %v", doc["MaxSessionDuration"], doc["PermissionsBoundary"])
		}
		trust := doc["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
		want := map[string]any{"AWS": []any{"arn:aws:iam::193672423079:root"}, "Service": []any{}, "Federated": []any{}, "CanonicalUser": []any{}}
		if !reflect.DeepEqual(trust["Principal"], want) {
			t.Errorf("trust Principal = %v, want %v", trust["Principal"], want)
		}
		if n := len(doc["InlinePolicies"].([]any)); n != 2 {
			t.Errorf("InlinePolicies has %d entries, want 2 (both pages)", n)
		}
		if n := len(doc["AttachedManagedPolicies"].([]any)); n != 1 {
			t.Errorf("AttachedManagedPolicies has %d entries, want 1", n)
		}
		if !reflect.DeepEqual(doc["RoleLastUsed"], map[string]any{"LastUsedDate": "", "Region": ""}) {
			t.Errorf("RoleLastUsed = %v", doc["RoleLastUsed"])
		}
	})

	t.Run("role does not exist", func(t *testing.T) {
		_, _, exists, err := readIAMRole(context.Background(), &fakeIAM{}, newIAMPolicyCache(), "ghost")
		if err != nil || exists {
			t.Fatalf("exists %v, err %v; want gone", exists, err)
		}
	})

	t.Run("access denied", func(t *testing.T) {
		f := &fakeIAM{getRole: func(*iam.GetRoleInput) (*iam.GetRoleOutput, error) {
			return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}
		}}
		_, _, _, err := readIAMRole(context.Background(), f, newIAMPolicyCache(), "r")
		if err == nil || !strings.Contains(err.Error(), `get role "r"`) {
			t.Fatalf("err = %v, want a wrapped AccessDenied", err)
		}
	})
}

func TestReadIAMGroup(t *testing.T) {
	f := (&fakeIAM{}).policies(map[string]string{iamAdminARN: iamAdminText})
	f.getGroup = func(in *iam.GetGroupInput) (*iam.GetGroupOutput, error) {
		g := &iamtypes.Group{GroupName: in.GroupName, Arn: aws.String("arn:aws:iam::123456789012:group/ops"), Path: aws.String("/")}
		if in.Marker == nil {
			return &iam.GetGroupOutput{Group: g, Users: []iamtypes.User{{UserName: aws.String("alice")}}, IsTruncated: true, Marker: aws.String("2")}, nil
		}
		return &iam.GetGroupOutput{Group: g, Users: []iamtypes.User{{UserName: aws.String("bob")}}}, nil
	}
	f.listAttachedGroup = func(*iam.ListAttachedGroupPoliciesInput) (*iam.ListAttachedGroupPoliciesOutput, error) {
		return &iam.ListAttachedGroupPoliciesOutput{AttachedPolicies: []iamtypes.AttachedPolicy{{PolicyName: aws.String("AdministratorAccess"), PolicyArn: aws.String(iamAdminARN)}}}, nil
	}
	doc, _, exists, err := readIAMGroup(context.Background(), f, newIAMPolicyCache(), "ops")
	if err != nil || !exists {
		t.Fatalf("readIAMGroup = exists %v, err %v", exists, err)
	}
	if !reflect.DeepEqual(doc["Users"], []any{"alice", "bob"}) {
		t.Errorf("Users = %v, want both pages", doc["Users"])
	}
	if doc["GroupName"] != "ops" || len(doc["AttachedManagedPolicies"].([]any)) != 1 || len(doc["InlinePolicies"].([]any)) != 0 {
		t.Errorf("doc = %v", doc)
	}

	_, _, exists, err = readIAMGroup(context.Background(), &fakeIAM{}, newIAMPolicyCache(), "ghost")
	if err != nil || exists {
		t.Fatalf("missing group: exists %v, err %v; want gone", exists, err)
	}
}

func TestReadIAMManagedPolicy(t *testing.T) {
	tests := []struct {
		name        string
		arn         string
		wantExists  bool
		wantManaged bool
		wantEffects []string
	}{
		{name: "customer policy", arn: iamReadARN, wantExists: true, wantEffects: []string{"Allow"}},
		{name: "AWS managed policy", arn: iamAdminARN, wantExists: true, wantManaged: true, wantEffects: []string{"Allow"}},
		{name: "deleted policy", arn: "arn:aws:iam::123456789012:policy/gone"},
	}
	f := (&fakeIAM{}).policies(map[string]string{iamAdminARN: iamAdminText, iamReadARN: iamReadText})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, tags, exists, err := readIAMManagedPolicy(context.Background(), f, newIAMPolicyCache(), tt.arn)
			if err != nil || exists != tt.wantExists {
				t.Fatalf("exists %v, err %v; want exists %v", exists, err, tt.wantExists)
			}
			if !exists {
				return
			}
			if doc["AWSManaged"] != tt.wantManaged || doc["DefaultVersionId"] != "v1" || doc["AttachmentCount"] != int64(2) || doc["IsAttachable"] != true {
				t.Errorf("doc = %v", doc)
			}
			if got := statementEffects(t, doc["Document"]); !reflect.DeepEqual(got, tt.wantEffects) {
				t.Errorf("statements = %v, want %v", got, tt.wantEffects)
			}
			if tags["owner"] != "platform" {
				t.Errorf("tags = %v", tags)
			}
		})
	}
}

func TestReadIAMPasswordPolicy(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(*iam.GetAccountPasswordPolicyInput) (*iam.GetAccountPasswordPolicyOutput, error)
		want    map[string]any
		wantErr bool
	}{
		{
			name: "no password policy",
			want: map[string]any{
				"Configured": false, "MinimumPasswordLength": int64(0), "RequireSymbols": false, "RequireNumbers": false,
				"RequireUppercaseCharacters": false, "RequireLowercaseCharacters": false, "AllowUsersToChangePassword": false,
				"ExpirePasswords": false, "MaxPasswordAge": int64(0), "PasswordReusePrevention": int64(0), "HardExpiry": false,
			},
		},
		{
			name: "CIS policy",
			answer: func(*iam.GetAccountPasswordPolicyInput) (*iam.GetAccountPasswordPolicyOutput, error) {
				return &iam.GetAccountPasswordPolicyOutput{PasswordPolicy: &iamtypes.PasswordPolicy{
					MinimumPasswordLength: aws.Int32(14), RequireSymbols: true, RequireNumbers: true,
					RequireUppercaseCharacters: true, RequireLowercaseCharacters: true, AllowUsersToChangePassword: true,
					ExpirePasswords: true, MaxPasswordAge: aws.Int32(90), PasswordReusePrevention: aws.Int32(24), HardExpiry: aws.Bool(false),
				}}, nil
			},
			want: map[string]any{
				"Configured": true, "MinimumPasswordLength": int64(14), "RequireSymbols": true, "RequireNumbers": true,
				"RequireUppercaseCharacters": true, "RequireLowercaseCharacters": true, "AllowUsersToChangePassword": true,
				"ExpirePasswords": true, "MaxPasswordAge": int64(90), "PasswordReusePrevention": int64(24), "HardExpiry": false,
			},
		},
		{
			name: "throttled",
			answer: func(*iam.GetAccountPasswordPolicyInput) (*iam.GetAccountPasswordPolicyOutput, error) {
				return nil, &smithy.GenericAPIError{Code: "Throttling"}
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, _, exists, err := readIAMPasswordPolicy(context.Background(), &fakeIAM{getPasswordPolicy: tt.answer})
			if tt.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil || !exists {
				t.Fatalf("exists %v, err %v; a password policy always exists", exists, err)
			}
			if !reflect.DeepEqual(doc, tt.want) {
				t.Errorf("doc = %#v\nwant %#v", doc, tt.want)
			}
		})
	}
}

func TestReadIAMRootUser(t *testing.T) {
	f := &fakeIAM{getAccountSummary: func(*iam.GetAccountSummaryInput) (*iam.GetAccountSummaryOutput, error) {
		return &iam.GetAccountSummaryOutput{SummaryMap: map[string]int32{
			"AccountAccessKeysPresent": 1, "AccountMFAEnabled": 0, "AccountPasswordPresent": 1, "Users": 12,
		}}, nil
	}}
	doc, _, exists, err := readIAMRootUser(context.Background(), f)
	if err != nil || !exists {
		t.Fatalf("exists %v, err %v", exists, err)
	}
	want := map[string]any{
		"AccountAccessKeysPresent": int64(1), "AccountMFAEnabled": int64(0),
		"AccountPasswordPresent": int64(1), "AccountSigningCertificatesPresent": int64(0),
	}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("doc = %v, want %v", doc, want)
	}
}

func TestIAMPolicyCache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	newCache := func() *iamPolicyCache {
		c := newIAMPolicyCache()
		c.now = func() time.Time { return now }
		return c
	}

	t.Run("versions are read once", func(t *testing.T) {
		f := (&fakeIAM{}).policies(map[string]string{iamReadARN: iamReadText})
		c := newCache()
		for range 3 {
			if _, err := c.defaultDocument(ctx, f, iamReadARN); err != nil {
				t.Fatal(err)
			}
		}
		if f.calls["GetPolicyVersion"] != 1 {
			t.Errorf("GetPolicyVersion called %d times, want 1", f.calls["GetPolicyVersion"])
		}
		// A customer policy's default version can change at any time.
		if f.calls["GetPolicy"] != 3 {
			t.Errorf("GetPolicy called %d times, want 3", f.calls["GetPolicy"])
		}
	})

	t.Run("AWS managed default version is remembered for a while", func(t *testing.T) {
		f := (&fakeIAM{}).policies(map[string]string{iamAdminARN: iamAdminText})
		c := newCache()
		for range 2 {
			if _, err := c.defaultDocument(ctx, f, iamAdminARN); err != nil {
				t.Fatal(err)
			}
		}
		if f.calls["GetPolicy"] != 1 {
			t.Errorf("GetPolicy called %d times within the TTL, want 1", f.calls["GetPolicy"])
		}
		now = now.Add(iamManagedDefaultTTL)
		if _, err := c.defaultDocument(ctx, f, iamAdminARN); err != nil {
			t.Fatal(err)
		}
		if f.calls["GetPolicy"] != 2 {
			t.Errorf("GetPolicy called %d times after the TTL, want 2", f.calls["GetPolicy"])
		}
	})

	t.Run("default version replaced and deleted between the two calls", func(t *testing.T) {
		// GetPolicy says v1 the first time and v2 after; v1 is gone.
		f := &fakeIAM{}
		f.getPolicy = func(in *iam.GetPolicyInput) (*iam.GetPolicyOutput, error) {
			v := "v1"
			if f.calls["GetPolicy"] > 1 {
				v = "v2"
			}
			return &iam.GetPolicyOutput{Policy: &iamtypes.Policy{Arn: in.PolicyArn, DefaultVersionId: aws.String(v)}}, nil
		}
		f.getPolicyVersion = func(in *iam.GetPolicyVersionInput) (*iam.GetPolicyVersionOutput, error) {
			if aws.ToString(in.VersionId) != "v2" {
				return nil, iamNoEntity()
			}
			return &iam.GetPolicyVersionOutput{PolicyVersion: &iamtypes.PolicyVersion{Document: aws.String(iamAdminText)}}, nil
		}
		c := newCache()
		doc, err := c.defaultDocument(ctx, f, iamReadARN)
		if err != nil {
			t.Fatal(err)
		}
		if got := statementEffects(t, doc); !reflect.DeepEqual(got, []string{"Allow"}) {
			t.Errorf("statements = %v", got)
		}
		// The managed-policy reader retries the same way.
		f.calls = nil
		res, _, exists, err := readIAMManagedPolicy(ctx, f, newCache(), iamReadARN)
		if err != nil || !exists || res["DefaultVersionId"] != "v2" {
			t.Errorf("readIAMManagedPolicy = %v, exists %v, err %v; want v2", res, exists, err)
		}
	})

	t.Run("remembered AWS managed default version deleted", func(t *testing.T) {
		f := (&fakeIAM{}).policies(map[string]string{iamAdminARN: iamAdminText})
		c := newCache()
		c.defaults[iamAdminARN] = iamDefaultVersion{version: "v0", at: now}
		if _, err := c.defaultDocument(ctx, f, iamAdminARN); err != nil {
			t.Fatalf("defaultDocument: %v", err)
		}
		if c.defaults[iamAdminARN].version != "v1" {
			t.Errorf("remembered version = %q, want v1", c.defaults[iamAdminARN].version)
		}
	})

	t.Run("unreadable default version is an error, not a deleted policy", func(t *testing.T) {
		f := (&fakeIAM{}).policies(map[string]string{iamReadARN: iamReadText})
		f.getPolicyVersion = func(*iam.GetPolicyVersionInput) (*iam.GetPolicyVersionOutput, error) { return nil, iamNoEntity() }
		_, err := newCache().defaultDocument(ctx, f, iamReadARN)
		if err == nil || errors.Is(err, errIAMPolicyGone) {
			t.Fatalf("err = %v, want an error that is not errIAMPolicyGone", err)
		}
		// A user with such a policy is not judged without it.
		f.getUser = func(in *iam.GetUserInput) (*iam.GetUserOutput, error) {
			return &iam.GetUserOutput{User: &iamtypes.User{UserName: in.UserName}}, nil
		}
		f.listAttachedUser = func(*iam.ListAttachedUserPoliciesInput) (*iam.ListAttachedUserPoliciesOutput, error) {
			return &iam.ListAttachedUserPoliciesOutput{AttachedPolicies: []iamtypes.AttachedPolicy{{PolicyName: aws.String("read"), PolicyArn: aws.String(iamReadARN)}}}, nil
		}
		if _, _, _, err := readIAMUser(ctx, f, newCache(), "alice"); err == nil {
			t.Error("readIAMUser succeeded without the attached policy's document")
		}
	})

	t.Run("deleted policy", func(t *testing.T) {
		_, err := newCache().defaultDocument(ctx, &fakeIAM{}, iamReadARN)
		if !errors.Is(err, errIAMPolicyGone) {
			t.Fatalf("err = %v, want errIAMPolicyGone", err)
		}
	})

	t.Run("bounded", func(t *testing.T) {
		f := (&fakeIAM{}).policies(map[string]string{iamReadARN: iamReadText})
		f.getPolicyVersion = func(in *iam.GetPolicyVersionInput) (*iam.GetPolicyVersionOutput, error) {
			return &iam.GetPolicyVersionOutput{PolicyVersion: &iamtypes.PolicyVersion{Document: aws.String(iamReadText)}}, nil
		}
		c := newCache()
		c.max = 4
		for i := range 10 {
			if _, err := c.version(ctx, f, iamReadARN, "v"+string(rune('0'+i))); err != nil {
				t.Fatal(err)
			}
		}
		if len(c.docs) != 4 || len(c.order) != 4 {
			t.Errorf("cache holds %d documents (%d in order), want 4", len(c.docs), len(c.order))
		}
		if _, ok := c.docs[iamVersionKey{iamReadARN, "v9"}]; !ok {
			t.Error("the newest version was evicted")
		}
		if _, ok := c.docs[iamVersionKey{iamReadARN, "v0"}]; ok {
			t.Error("the oldest version was kept")
		}
	})
}

func TestIAMNameFromARN(t *testing.T) {
	tests := []struct {
		id, kind, want string
		wantErr        bool
	}{
		{id: "arn:aws:iam::123456789012:user/alice", kind: "user", want: "alice"},
		{id: "arn:aws:iam::123456789012:user/ops/team/alice", kind: "user", want: "alice"},
		{id: "arn:aws-us-gov:iam::123456789012:role/r", kind: "role", want: "r"},
		{id: "arn:aws:iam::123456789012:group/first.last@x", kind: "group", want: "first.last@x"},
		{id: "alice", kind: "user", want: "alice"},
		{id: "arn:aws:iam::123456789012:role/r", kind: "user", wantErr: true},
		{id: "arn:aws:s3:::bucket", kind: "user", wantErr: true},
		{id: "arn:aws:iam::123456789012:user/", kind: "user", wantErr: true},
		{id: "", kind: "user", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := iamNameFromARN(tt.id, tt.kind)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("iamNameFromARN(%q, %q) = %q, %v; want %q, error %v", tt.id, tt.kind, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
