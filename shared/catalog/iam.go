package catalog

import (
	"fmt"

	"github.com/driftwatch/driftwatch/shared/change"
)

// IAM resource types.
const (
	iamUser           = "AWS::IAM::User"
	iamRole           = "AWS::IAM::Role"
	iamGroup          = "AWS::IAM::Group"
	iamManagedPolicy  = "AWS::IAM::ManagedPolicy"
	iamPasswordPolicy = "AWS::IAM::AccountPasswordPolicy"
	iamRootUser       = "AWS::IAM::RootUser"
)

const iamSource = "iam.amazonaws.com"

// iamEntries are the watched IAM operations.
//
// IAM is global: its events are recorded in us-east-1 (or the partition's
// home region), carry no resources[] and have a null response for every
// Attach/Put/Update/Delete call. Users, roles and groups are keyed by name
// (arn:{p}:iam::{a}:user/{name}): the path is only in the responses of the
// Create calls, so keying by name is the only way for every event about one
// user to name the same resource.
func iamEntries() []Entry {
	user := Target{Type: iamUser, Resolve: iamNamed("user", "requestParameters.userName")}
	role := Target{Type: iamRole, Resolve: iamNamed("role", "requestParameters.roleName")}
	group := Target{Type: iamGroup, Resolve: iamNamed("group", "requestParameters.groupName")}
	policyARN := Target{Type: iamManagedPolicy, Resolve: iamPolicyARN}
	passwordPolicy := Target{Type: iamPasswordPolicy, Resolve: iamPasswordPolicyARN}

	// credentials are the rows of operations on a principal's credentials
	// (access keys, console password, MFA), which the root user may make
	// for itself and an IAM user may make for itself without naming itself.
	credentials := func(op string, paths ...string) Entry {
		return Entry{
			Service:   iamSource,
			Operation: op,
			Targets: []Target{
				{Type: iamUser, Resolve: iamCredentialUser(paths...)},
				{Type: iamRootUser, Resolve: iamCredentialRoot(paths...)},
			},
			Note: "user: requestParameters.userName (or the response's userName); " +
				"the caller's own user when an IAM user omits it; " +
				"the root user when the caller is Root and names no IAM user",
		}
	}
	row := func(op string, t Target, note string) Entry {
		return Entry{Service: iamSource, Operation: op, Targets: []Target{t}, Note: note}
	}

	return []Entry{
		{
			Service: iamSource, Operation: "CreateUser",
			Targets: []Target{{Type: iamUser, Resolve: iamNamed("user",
				"requestParameters.userName", "responseElements.user.userName")}},
			Note: "requestParameters.userName (responseElements.user.userName); keyed by name, path dropped",
		},
		row("DeleteUser", user, "requestParameters.userName"),
		row("AttachUserPolicy", user, "requestParameters.userName (policyArn is what was attached)"),
		row("DetachUserPolicy", user, "requestParameters.userName"),
		row("PutUserPolicy", user, "requestParameters.userName (inline policy policyName)"),
		row("DeleteUserPolicy", user, "requestParameters.userName"),
		row("AddUserToGroup", user, "requestParameters.userName (groupName is the group joined)"),
		row("RemoveUserFromGroup", user, "requestParameters.userName"),
		credentials("CreateAccessKey", "requestParameters.userName", "responseElements.accessKey.userName"),
		credentials("UpdateAccessKey", "requestParameters.userName"),
		credentials("DeleteAccessKey", "requestParameters.userName"),
		credentials("CreateLoginProfile", "requestParameters.userName", "responseElements.loginProfile.userName"),
		credentials("UpdateLoginProfile", "requestParameters.userName"),
		credentials("DeleteLoginProfile", "requestParameters.userName"),
		credentials("EnableMFADevice", "requestParameters.userName"),
		credentials("DeactivateMFADevice", "requestParameters.userName"),

		{
			Service: iamSource, Operation: "CreateRole",
			Targets: []Target{{Type: iamRole, Resolve: iamNamed("role",
				"requestParameters.roleName", "responseElements.role.roleName")}},
			Note: "requestParameters.roleName (responseElements.role.roleName); keyed by name, path dropped",
		},
		row("DeleteRole", role, "requestParameters.roleName"),
		row("AttachRolePolicy", role, "requestParameters.roleName (policyArn is what was attached)"),
		row("DetachRolePolicy", role, "requestParameters.roleName"),
		row("PutRolePolicy", role, "requestParameters.roleName (inline policy policyName)"),
		row("DeleteRolePolicy", role, "requestParameters.roleName"),
		row("UpdateAssumeRolePolicy", role, "requestParameters.roleName (trust policyDocument)"),

		row("DeleteGroup", group, "requestParameters.groupName"),
		row("AttachGroupPolicy", group, "requestParameters.groupName (policyArn is what was attached)"),
		row("DetachGroupPolicy", group, "requestParameters.groupName"),
		row("PutGroupPolicy", group, "requestParameters.groupName (inline policy policyName)"),
		row("DeleteGroupPolicy", group, "requestParameters.groupName"),

		row("CreatePolicy", policyARN,
			"responseElements.policy.arn, else built from requestParameters.path and policyName"),
		row("CreatePolicyVersion", policyARN, "requestParameters.policyArn"),
		row("SetDefaultPolicyVersion", policyARN, "requestParameters.policyArn"),
		row("DeletePolicy", policyARN, "requestParameters.policyArn"),

		row("UpdateAccountPasswordPolicy", passwordPolicy,
			"no id in the event: arn:{p}:iam::{recipientAccountId}:account-password-policy"),
		row("DeleteAccountPasswordPolicy", passwordPolicy,
			"no id in the event: arn:{p}:iam::{recipientAccountId}:account-password-policy"),
	}
}

// iamARN returns arn:{p}:iam::{account}:{res} for the change's account.
func iamARN(c *change.Change, res string) string {
	return ARN(c, "iam", "", c.Account, res)
}

// iamNamed resolves a user, role or group ARN from the first name found at
// paths.
func iamNamed(kind string, paths ...string) func(*change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		name := Field(c, paths...)
		if name == "" {
			return nil, fmt.Errorf("%s name at %v: %w", kind, paths, ErrNoID)
		}
		return []string{iamARN(c, kind+"/"+name)}, nil
	}
}

// iamPolicyARN resolves a customer managed policy's ARN: the policyArn of the
// request, or for CreatePolicy the response's ARN or one built from the
// requested path and name.
func iamPolicyARN(c *change.Change) ([]string, error) {
	if arn := Field(c, "requestParameters.policyArn", "responseElements.policy.arn"); arn != "" {
		return []string{arn}, nil
	}
	name := Field(c, "requestParameters.policyName", "responseElements.policy.policyName")
	if c.Operation != "CreatePolicy" || name == "" {
		return nil, fmt.Errorf("policy ARN at requestParameters.policyArn: %w", ErrNoID)
	}
	path := Field(c, "requestParameters.path", "responseElements.policy.path")
	if path == "" {
		path = "/"
	}
	return []string{iamARN(c, "policy"+path+name)}, nil
}

// iamPasswordPolicyARN is the account's password policy, named by the
// (invented) ARN arn:{p}:iam::{a}:account-password-policy.
func iamPasswordPolicyARN(c *change.Change) ([]string, error) {
	if c.Account == "" {
		return nil, fmt.Errorf("account of the password policy (recipientAccountId): %w", ErrNoID)
	}
	return []string{iamARN(c, "account-password-policy")}, nil
}

// credentialOwner says whose credential an access key, login profile or MFA
// operation changed: an IAM user's (name) or the root user's (root).
//
//   - The user named in the request (or response) when the name is a valid
//     IAM user name. The root user, acting for itself, sends no user name
//     (CreateAccessKey: requestParameters null, no accessKey.userName) or
//     one that no IAM user can have (EnableMFADevice from the console:
//     "AWS ROOT USER").
//   - Otherwise an IAM user caller acted on its own credentials: the API
//     defaults the user name to the caller.
func credentialOwner(c *change.Change, paths ...string) (name string, root bool) {
	name = Field(c, paths...)
	if c.Principal.Type == "Root" && !validIAMName(name) {
		return "", true
	}
	if name != "" {
		return name, false
	}
	if c.Principal.Type == "IAMUser" {
		return c.Principal.Name, false
	}
	return "", false
}

// iamCredentialUser resolves the IAM user whose credential changed; it
// resolves nothing when the root user changed its own.
func iamCredentialUser(paths ...string) func(*change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		name, root := credentialOwner(c, paths...)
		switch {
		case root:
			return nil, nil
		case name == "":
			return nil, fmt.Errorf("user name at %v or an IAM user caller: %w", paths, ErrNoID)
		}
		return []string{iamARN(c, "user/"+name)}, nil
	}
}

// iamCredentialRoot resolves the root user (arn:{p}:iam::{a}:root) when it
// changed its own credential, and nothing otherwise.
func iamCredentialRoot(paths ...string) func(*change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		if _, root := credentialOwner(c, paths...); !root {
			return nil, nil
		}
		if c.Account == "" {
			return nil, fmt.Errorf("account of the root user (recipientAccountId): %w", ErrNoID)
		}
		return []string{iamARN(c, "root")}, nil
	}
}

// validIAMName reports whether s can be an IAM user name: 1 to 64 of
// letters, digits and _+=,.@-.
func validIAMName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case b == '_' || b == '+' || b == '=' || b == ',' || b == '.' || b == '@' || b == '-':
		default:
			return false
		}
	}
	return true
}
