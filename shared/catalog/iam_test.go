package catalog

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// iamChange decodes a CloudTrail record with the real decoder.
func iamChange(t *testing.T, rec string) *change.Change {
	t.Helper()
	c, err := change.DecodeRecord("test", []byte(rec))
	if err != nil {
		t.Fatalf("decode test record: %v", err)
	}
	return &c
}

const (
	iamCallerUser = `"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::229654561268:user/christophe","userName":"christophe"}`
	iamCallerRoot = `"userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root","principalId":"123456789012"}`
	iamCallerRole = `"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::229654561268:assumed-role/Admin/s"}`
)

func TestIAMEntries(t *testing.T) {
	tests := []struct {
		name string
		rec  string
		want []resource.Ref
		// noID is true when the row must fail with ErrNoID.
		noID bool
	}{
		{
			name: "AttachUserPolicy AdministratorAccess (stratus iam-create-admin-user)",
			rec: `{"awsRegion":"us-east-1","eventName":"AttachUserPolicy","eventSource":"iam.amazonaws.com",
				"recipientAccountId":"229654561268",
				"requestParameters":{"policyArn":"arn:aws:iam::aws:policy/AdministratorAccess","userName":"malicious-iam-user"},
				"responseElements":null,` + iamCallerUser + `}`,
			want: []resource.Ref{{Type: iamUser, ID: "arn:aws:iam::229654561268:user/malicious-iam-user"}},
		},
		{
			name: "CreateUser keyed by name even though the response has a path",
			rec: `{"awsRegion":"us-east-1","eventName":"CreateUser","eventSource":"iam.amazonaws.com",
				"recipientAccountId":"229654561268","requestParameters":{"userName":"malicious-iam-user","path":"/ops/"},
				"responseElements":{"user":{"path":"/ops/","userName":"malicious-iam-user","userId":"AIDAEXAMPLE",
				"arn":"arn:aws:iam::229654561268:user/ops/malicious-iam-user","createDate":"Aug 1, 2024 1:33:27 PM"}},` + iamCallerUser + `}`,
			want: []resource.Ref{{Type: iamUser, ID: "arn:aws:iam::229654561268:user/malicious-iam-user"}},
		},
		{
			name: "PutUserPolicy quarantine policy made by AWS",
			rec: `{"awsRegion":"us-east-1","eventName":"PutUserPolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"123456789012",
				"requestParameters":{"policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":[\"iam:CreateUser\"],\"Resource\":[\"*\"]}]}",
				"userName":"compromised_user","policyName":"AWSCompromisedKeyQuarantineV3"},"responseElements":null,
				"userIdentity":{"type":"IAMUser","userName":"compromised_user","arn":"arn:aws:iam::123456789012:user/compromised_user"}}`,
			want: []resource.Ref{{Type: iamUser, ID: "arn:aws:iam::123456789012:user/compromised_user"}},
		},
		{
			name: "GovCloud partition",
			rec: `{"awsRegion":"us-gov-west-1","eventName":"DeleteUserPolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"111122223333",
				"requestParameters":{"userName":"bob","policyName":"p"},"responseElements":null}`,
			want: []resource.Ref{{Type: iamUser, ID: "arn:aws-us-gov:iam::111122223333:user/bob", Region: "us-gov-west-1"}},
		},
		{
			name: "DetachUserPolicy without a user name",
			rec: `{"awsRegion":"us-east-1","eventName":"DetachUserPolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"1",
				"requestParameters":{"policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"},"responseElements":null}`,
			noID: true,
		},
		{
			name: "AddUserToGroup targets the user",
			rec: `{"awsRegion":"us-east-1","eventName":"AddUserToGroup","eventSource":"iam.amazonaws.com","recipientAccountId":"1",
				"requestParameters":{"groupName":"admins","userName":"eve"},"responseElements":null}`,
			want: []resource.Ref{{Type: iamUser, ID: "arn:aws:iam::1:user/eve"}},
		},
		{
			name: "CreateAccessKey for another user (stratus)",
			rec: `{"awsRegion":"us-east-1","eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","recipientAccountId":"229654561268",
				"requestParameters":{"userName":"malicious-iam-user"},
				"responseElements":{"accessKey":{"accessKeyId":"AKIAXAFZN8JEPF6L682H","createDate":"Aug 1, 2024 1:33:28 PM","status":"Active","userName":"malicious-iam-user"}},` +
				iamCallerUser + `}`,
			want: []resource.Ref{{Type: iamUser, ID: "arn:aws:iam::229654561268:user/malicious-iam-user"}},
		},
		{
			name: "CreateAccessKey by the root user for itself (panther root access key created)",
			rec: `{"awsRegion":"us-east-1","eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","recipientAccountId":"123456789012",
				"requestParameters":null,
				"responseElements":{"accessKey":{"accessKeyId":"1111","createDate":"Jan 01, 2019 0:00:00 PM","status":"Active"}},` +
				iamCallerRoot + `}`,
			want: []resource.Ref{{Type: iamRootUser, ID: "arn:aws:iam::123456789012:root"}},
		},
		{
			name: "CreateAccessKey by the root user for an IAM user",
			rec: `{"awsRegion":"us-east-1","eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","recipientAccountId":"123456789012",
				"requestParameters":{"userName":"example-user"},
				"responseElements":{"accessKey":{"accessKeyId":"1111","status":"Active","userName":"example-user"}},` + iamCallerRoot + `}`,
			want: []resource.Ref{{Type: iamUser, ID: "arn:aws:iam::123456789012:user/example-user"}},
		},
		{
			name: "CreateAccessKey by an IAM user for itself, without userName",
			rec: `{"awsRegion":"us-east-1","eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","recipientAccountId":"229654561268",
				"requestParameters":null,"responseElements":{"accessKey":{"accessKeyId":"AKIA1","status":"Active","userName":"christophe"}},` +
				iamCallerUser + `}`,
			want: []resource.Ref{{Type: iamUser, ID: "arn:aws:iam::229654561268:user/christophe"}},
		},
		{
			name: "DeleteAccessKey by an IAM user for itself, response null",
			rec: `{"awsRegion":"us-east-1","eventName":"DeleteAccessKey","eventSource":"iam.amazonaws.com","recipientAccountId":"229654561268",
				"requestParameters":{"accessKeyId":"AKIA1"},"responseElements":null,` + iamCallerUser + `}`,
			want: []resource.Ref{{Type: iamUser, ID: "arn:aws:iam::229654561268:user/christophe"}},
		},
		{
			name: "DeleteAccessKey by the root user for itself",
			rec: `{"awsRegion":"us-east-1","eventName":"DeleteAccessKey","eventSource":"iam.amazonaws.com","recipientAccountId":"123456789012",
				"requestParameters":{"accessKeyId":"AKIA1"},"responseElements":null,` + iamCallerRoot + `}`,
			want: []resource.Ref{{Type: iamRootUser, ID: "arn:aws:iam::123456789012:root"}},
		},
		{
			name: "UpdateAccessKey by an assumed role without user name",
			rec: `{"awsRegion":"us-east-1","eventName":"UpdateAccessKey","eventSource":"iam.amazonaws.com","recipientAccountId":"229654561268",
				"requestParameters":{"accessKeyId":"AKIA1","status":"Inactive"},"responseElements":null,` + iamCallerRole + `}`,
			noID: true,
		},
		{
			name: "CreateLoginProfile (stratus)",
			rec: `{"awsRegion":"us-east-1","eventName":"CreateLoginProfile","eventSource":"iam.amazonaws.com","recipientAccountId":"070411556318",
				"requestParameters":{"passwordResetRequired":false,"userName":"stratus-red-team-login-profile-user"},
				"responseElements":{"loginProfile":{"createDate":"Aug 1, 2024 1:42:21 PM","passwordResetRequired":false,"userName":"stratus-red-team-login-profile-user"}},` +
				iamCallerUser + `}`,
			want: []resource.Ref{{Type: iamUser, ID: "arn:aws:iam::070411556318:user/stratus-red-team-login-profile-user"}},
		},
		{
			name: "DeactivateMFADevice from the console (user guide sample)",
			rec: `{"eventSource":"iam.amazonaws.com","eventName":"DeactivateMFADevice","awsRegion":"us-east-1",
				"requestParameters":{"userName":"Alice","serialNumber":"arn:aws:iam::0123456789012:mfa/Alice"},"responseElements":null,
				"recipientAccountId":"0123456789012","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::0123456789012:user/Alice","userName":"Alice"}}`,
			want: []resource.Ref{{Type: iamUser, ID: "arn:aws:iam::0123456789012:user/Alice"}},
		},
		{
			name: "EnableMFADevice by the root user (user guide: userName AWS ROOT USER)",
			rec: `{"eventSource":"iam.amazonaws.com","eventName":"EnableMFADevice","awsRegion":"us-east-1",
				"requestParameters":{"userName":"AWS ROOT USER","serialNumber":"arn:aws:iam::111122223333:mfa/root-account-mfa-device"},
				"responseElements":null,"recipientAccountId":"111122223333",
				"userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root"}}`,
			want: []resource.Ref{{Type: iamRootUser, ID: "arn:aws:iam::111122223333:root"}},
		},
		{
			name: "UpdateAssumeRolePolicy to an external account (stratus iam-backdoor-role)",
			rec: `{"awsRegion":"us-east-1","eventName":"UpdateAssumeRolePolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"751203476945",
				"requestParameters":{"policyDocument":"{\n  \"Version\": \"2012-10-17\"}","roleName":"stratus-red-team-backdoor-r-role"},
				"responseElements":null,` + iamCallerUser + `}`,
			want: []resource.Ref{{Type: iamRole, ID: "arn:aws:iam::751203476945:role/stratus-red-team-backdoor-r-role"}},
		},
		{
			name: "CreateRole keyed by name",
			rec: `{"awsRegion":"us-east-1","eventName":"CreateRole","eventSource":"iam.amazonaws.com","recipientAccountId":"1",
				"requestParameters":{"roleName":"backdoor","path":"/svc/","assumeRolePolicyDocument":"{}"},
				"responseElements":{"role":{"roleName":"backdoor","path":"/svc/","arn":"arn:aws:iam::1:role/svc/backdoor",
				"assumeRolePolicyDocument":"%7B%7D"}}}`,
			want: []resource.Ref{{Type: iamRole, ID: "arn:aws:iam::1:role/backdoor"}},
		},
		{
			name: "AttachRolePolicy SecurityAudit",
			rec: `{"awsRegion":"us-east-1","eventName":"AttachRolePolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"000000000",
				"requestParameters":{"policyArn":"arn:aws:iam::aws:policy/SecurityAudit","roleName":"cloudtrail-role"},"responseElements":null}`,
			want: []resource.Ref{{Type: iamRole, ID: "arn:aws:iam::000000000:role/cloudtrail-role"}},
		},
		{
			name: "AttachGroupPolicy",
			rec: `{"awsRegion":"us-east-1","eventName":"AttachGroupPolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"1",
				"requestParameters":{"policyArn":"arn:aws:iam::aws:policy/AdministratorAccess","groupName":"ops"},"responseElements":null}`,
			want: []resource.Ref{{Type: iamGroup, ID: "arn:aws:iam::1:group/ops"}},
		},
		{
			name: "PutGroupPolicy without group name",
			rec: `{"awsRegion":"us-east-1","eventName":"PutGroupPolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"1",
				"requestParameters":{"policyName":"p","policyDocument":"{}"},"responseElements":null}`,
			noID: true,
		},
		{
			name: "CreatePolicyVersion",
			rec: `{"awsRegion":"us-east-1","eventName":"CreatePolicyVersion","eventSource":"iam.amazonaws.com","recipientAccountId":"1",
				"requestParameters":{"policyArn":"arn:aws:iam::1:policy/ops/deploy","policyDocument":"{}","setAsDefault":true},
				"responseElements":{"policyVersion":{"versionId":"v2","isDefaultVersion":true}}}`,
			want: []resource.Ref{{Type: iamManagedPolicy, ID: "arn:aws:iam::1:policy/ops/deploy"}},
		},
		{
			name: "SetDefaultPolicyVersion",
			rec: `{"awsRegion":"us-east-1","eventName":"SetDefaultPolicyVersion","eventSource":"iam.amazonaws.com","recipientAccountId":"1",
				"requestParameters":{"policyArn":"arn:aws:iam::1:policy/deploy","versionId":"v3"},"responseElements":null}`,
			want: []resource.Ref{{Type: iamManagedPolicy, ID: "arn:aws:iam::1:policy/deploy"}},
		},
		{
			name: "CreatePolicy from the response",
			rec: `{"awsRegion":"us-east-1","eventName":"CreatePolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"1",
				"requestParameters":{"policyName":"deploy","path":"/ops/","policyDocument":"{}"},
				"responseElements":{"policy":{"policyName":"deploy","arn":"arn:aws:iam::1:policy/ops/deploy","defaultVersionId":"v1"}}}`,
			want: []resource.Ref{{Type: iamManagedPolicy, ID: "arn:aws:iam::1:policy/ops/deploy"}},
		},
		{
			name: "CreatePolicy with a truncated response: built from path and name",
			rec: `{"awsRegion":"us-east-1","eventName":"CreatePolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"1",
				"requestParameters":{"policyName":"deploy","policyDocument":"{}"},"responseElements":null}`,
			want: []resource.Ref{{Type: iamManagedPolicy, ID: "arn:aws:iam::1:policy/deploy"}},
		},
		{
			name: "SetDefaultPolicyVersion without policyArn",
			rec: `{"awsRegion":"us-east-1","eventName":"SetDefaultPolicyVersion","eventSource":"iam.amazonaws.com","recipientAccountId":"1",
				"requestParameters":{"versionId":"v3"},"responseElements":null}`,
			noID: true,
		},
		{
			name: "UpdateAccountPasswordPolicy",
			rec: `{"awsRegion":"us-east-1","eventName":"UpdateAccountPasswordPolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"123456789012",
				"requestParameters":{"minimumPasswordLength":8,"requireSymbols":false,"passwordReusePrevention":1},"responseElements":null}`,
			want: []resource.Ref{{Type: iamPasswordPolicy, ID: "arn:aws:iam::123456789012:account-password-policy"}},
		},
		{
			name: "DeleteAccountPasswordPolicy in China",
			rec: `{"awsRegion":"cn-north-1","eventName":"DeleteAccountPasswordPolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"123456789012",
				"requestParameters":null,"responseElements":null}`,
			want: []resource.Ref{{Type: iamPasswordPolicy, ID: "arn:aws-cn:iam::123456789012:account-password-policy", Region: "cn-north-1"}},
		},
	}
	cat := New(iamEntries())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := iamChange(t, tt.rec)
			watched, err := cat.Resolve(c)
			if !watched {
				t.Fatalf("%s %s not watched", c.Service, c.Operation)
			}
			if tt.noID {
				if !errors.Is(err, ErrNoID) {
					t.Fatalf("Resolve error = %v, want ErrNoID (resources %v)", err, c.Resources)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			want := slices.Clone(tt.want)
			for i := range want {
				want[i].Account = c.Account
				if want[i].Region == "" {
					want[i].Region = c.Region
				}
			}
			if !slices.Equal(c.Resources, want) {
				t.Errorf("resources = %v, want %v", c.Resources, want)
			}
		})
	}
}

func TestIAMEntriesEveryRowResolvesAName(t *testing.T) {
	// Every row must resolve a plain request that names its resource the
	// usual way, so a row with a typo in its path is caught.
	req := `{"userName":"u","roleName":"r","groupName":"g","policyArn":"arn:aws:iam::1:policy/p","policyName":"p"}`
	for _, e := range iamEntries() {
		t.Run(e.Operation, func(t *testing.T) {
			c := &change.Change{Account: "1", Region: "us-east-1", Service: e.Service, Operation: e.Operation,
				Principal: change.Principal{Type: "IAMUser", Name: "caller"}, RequestJSON: json.RawMessage(req)}
			if _, err := New([]Entry{e}).Resolve(c); err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if len(c.Resources) != 1 {
				t.Fatalf("resources = %v, want one", c.Resources)
			}
			if e.Note == "" {
				t.Error("row has no Note")
			}
		})
	}
}

func TestValidIAMName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"alice", true},
		{"first.last@example.com", true},
		{"a_b+c=d,e-f", true},
		{"", false},
		{"AWS ROOT USER", false},
		{"a/b", false},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := validIAMName(tt.in); got != tt.want {
				t.Errorf("validIAMName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
