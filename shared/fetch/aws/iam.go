package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/driftwatch/driftwatch/shared/iampolicy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// IAM resource types this file reads.
const (
	iamTypeUser           = "AWS::IAM::User"
	iamTypeRole           = "AWS::IAM::Role"
	iamTypeGroup          = "AWS::IAM::Group"
	iamTypeManagedPolicy  = "AWS::IAM::ManagedPolicy"
	iamTypePasswordPolicy = "AWS::IAM::AccountPasswordPolicy"
	iamTypeRootUser       = "AWS::IAM::RootUser"
)

// iamFetchers are the readers of IAM resource types.
func iamFetchers() map[string]fetchFunc {
	return map[string]fetchFunc{
		iamTypeUser: func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			name, err := iamNameFromARN(ref.ID, "user")
			if err != nil {
				return nil, nil, false, err
			}
			c := iamClientFor(r, ref)
			return readIAMUser(ctx, c.api, c.policies, name)
		},
		iamTypeRole: func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			name, err := iamNameFromARN(ref.ID, "role")
			if err != nil {
				return nil, nil, false, err
			}
			c := iamClientFor(r, ref)
			return readIAMRole(ctx, c.api, c.policies, name)
		},
		iamTypeGroup: func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			name, err := iamNameFromARN(ref.ID, "group")
			if err != nil {
				return nil, nil, false, err
			}
			c := iamClientFor(r, ref)
			return readIAMGroup(ctx, c.api, c.policies, name)
		},
		iamTypeManagedPolicy: func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			c := iamClientFor(r, ref)
			return readIAMManagedPolicy(ctx, c.api, c.policies, ref.ID)
		},
		iamTypePasswordPolicy: func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			return readIAMPasswordPolicy(ctx, iamClientFor(r, ref).api)
		},
		iamTypeRootUser: func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			return readIAMRootUser(ctx, iamClientFor(r, ref).api)
		},
	}
}

// iamPolicyAPI reads managed policies and their versions.
type iamPolicyAPI interface {
	GetPolicy(context.Context, *iam.GetPolicyInput, ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(context.Context, *iam.GetPolicyVersionInput, ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
}

// iamUserAPI is what readIAMUser calls.
type iamUserAPI interface {
	iamPolicyAPI
	GetUser(context.Context, *iam.GetUserInput, ...func(*iam.Options)) (*iam.GetUserOutput, error)
	ListAttachedUserPolicies(context.Context, *iam.ListAttachedUserPoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error)
	ListUserPolicies(context.Context, *iam.ListUserPoliciesInput, ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error)
	GetUserPolicy(context.Context, *iam.GetUserPolicyInput, ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error)
	ListGroupsForUser(context.Context, *iam.ListGroupsForUserInput, ...func(*iam.Options)) (*iam.ListGroupsForUserOutput, error)
	GetLoginProfile(context.Context, *iam.GetLoginProfileInput, ...func(*iam.Options)) (*iam.GetLoginProfileOutput, error)
	ListMFADevices(context.Context, *iam.ListMFADevicesInput, ...func(*iam.Options)) (*iam.ListMFADevicesOutput, error)
	ListAccessKeys(context.Context, *iam.ListAccessKeysInput, ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
}

// iamRoleAPI is what readIAMRole calls.
type iamRoleAPI interface {
	iamPolicyAPI
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListAttachedRolePolicies(context.Context, *iam.ListAttachedRolePoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	ListRolePolicies(context.Context, *iam.ListRolePoliciesInput, ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRolePolicy(context.Context, *iam.GetRolePolicyInput, ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
}

// iamGroupAPI is what readIAMGroup calls.
type iamGroupAPI interface {
	iamPolicyAPI
	GetGroup(context.Context, *iam.GetGroupInput, ...func(*iam.Options)) (*iam.GetGroupOutput, error)
	ListAttachedGroupPolicies(context.Context, *iam.ListAttachedGroupPoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedGroupPoliciesOutput, error)
	ListGroupPolicies(context.Context, *iam.ListGroupPoliciesInput, ...func(*iam.Options)) (*iam.ListGroupPoliciesOutput, error)
	GetGroupPolicy(context.Context, *iam.GetGroupPolicyInput, ...func(*iam.Options)) (*iam.GetGroupPolicyOutput, error)
}

// iamPasswordPolicyAPI is what readIAMPasswordPolicy calls.
type iamPasswordPolicyAPI interface {
	GetAccountPasswordPolicy(context.Context, *iam.GetAccountPasswordPolicyInput, ...func(*iam.Options)) (*iam.GetAccountPasswordPolicyOutput, error)
}

// iamAccountSummaryAPI is what readIAMRootUser calls.
type iamAccountSummaryAPI interface {
	GetAccountSummary(context.Context, *iam.GetAccountSummaryInput, ...func(*iam.Options)) (*iam.GetAccountSummaryOutput, error)
}

// iamAPI is every IAM read call of this file.
type iamAPI interface {
	iamUserAPI
	iamRoleAPI
	iamGroupAPI
	iamPasswordPolicyAPI
	iamAccountSummaryAPI
}

var _ iamAPI = (*iam.Client)(nil)

// iamClient is the IAM client of a Reader with its cache of policy
// documents.
type iamClient struct {
	api      iamAPI
	policies *iamPolicyCache
}

// iamClientFor returns the Reader's IAM client. IAM is global: the region
// only picks the partition's endpoint.
func iamClientFor(r *Reader, ref resource.Ref) *iamClient {
	return client(r, "iam", ref.Region, func(cfg aws.Config) *iamClient {
		return &iamClient{api: iam.NewFromConfig(cfg), policies: newIAMPolicyCache()}
	})
}

// iamNameFromARN returns the name of a user, role or group from its ARN
// (arn:{p}:iam::{a}:{kind}/{path}{name}); a bare name is returned as is.
func iamNameFromARN(id, kind string) (string, error) {
	if !strings.HasPrefix(id, "arn:") {
		if id == "" || strings.Contains(id, "/") {
			return "", fmt.Errorf("IAM %s %q: not an ARN or a name", kind, id)
		}
		return id, nil
	}
	parts := strings.SplitN(id, ":", 6)
	if len(parts) != 6 || parts[2] != "iam" || !strings.HasPrefix(parts[5], kind+"/") {
		return "", fmt.Errorf("IAM %s ARN %q: want arn:partition:iam::account:%s/name", kind, id, kind)
	}
	res := parts[5]
	name := res[strings.LastIndexByte(res, '/')+1:]
	if name == "" {
		return "", fmt.Errorf("IAM %s ARN %q: no name", kind, id)
	}
	return name, nil
}

// iamNoSuchEntity reports whether err is IAM's NoSuchEntity error: the
// resource (or the sub-resource asked for) does not exist.
func iamNoSuchEntity(err error) bool { return errorCodeIs(err, "NoSuchEntity") }

// readIAMUser reads an IAM user: its policies, groups and credentials.
func readIAMUser(ctx context.Context, api iamUserAPI, cache *iamPolicyCache, name string) (map[string]any, map[string]string, bool, error) {
	out, err := api.GetUser(ctx, &iam.GetUserInput{UserName: &name})
	if iamNoSuchEntity(err) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("get user %q: %w", name, err)
	}
	if out.User == nil {
		return nil, nil, false, fmt.Errorf("get user %q: no user in the response", name)
	}
	u := out.User

	// A user deleted between two calls answers NoSuchEntity to the next
	// one: report it gone rather than fail.
	attachedList, err := iamUserAttached(ctx, api, name)
	if err != nil {
		return iamGone(err)
	}
	attached, err := iamAttachedPolicies(ctx, api, cache, attachedList)
	if err != nil {
		return nil, nil, false, err
	}
	inlineNames, err := iamUserInlineNames(ctx, api, name)
	if err != nil {
		return iamGone(err)
	}
	inline, err := iamInlinePolicies(ctx, "user", name, inlineNames, func(ctx context.Context, policy string) (*string, error) {
		out, err := api.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: &name, PolicyName: &policy})
		if err != nil {
			return nil, err
		}
		return out.PolicyDocument, nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	groups, err := iamUserGroups(ctx, api, name)
	if err != nil {
		return iamGone(err)
	}
	login, err := iamLoginProfile(ctx, api, name)
	if err != nil {
		return iamGone(err)
	}
	mfa, err := iamMFADevices(ctx, api, name)
	if err != nil {
		return iamGone(err)
	}
	keys, err := iamAccessKeys(ctx, api, name)
	if err != nil {
		return iamGone(err)
	}
	doc := map[string]any{
		"UserName":                aws.ToString(u.UserName),
		"UserId":                  aws.ToString(u.UserId),
		"Arn":                     aws.ToString(u.Arn),
		"Path":                    aws.ToString(u.Path),
		"CreateDate":              iamTime(u.CreateDate),
		"PasswordLastUsed":        iamTime(u.PasswordLastUsed),
		"PermissionsBoundary":     iamBoundary(u.PermissionsBoundary),
		"AttachedManagedPolicies": attached,
		"InlinePolicies":          inline,
		"Groups":                  groups,
		"LoginProfile":            login,
		"MFADevices":              mfa,
		"AccessKeys":              keys,
	}
	return doc, iamTags(u.Tags), true, nil
}

// iamGone turns a NoSuchEntity met after the first read into "gone".
func iamGone(err error) (map[string]any, map[string]string, bool, error) {
	if iamNoSuchEntity(err) {
		return nil, nil, false, nil
	}
	return nil, nil, false, err
}

func iamUserAttached(ctx context.Context, api iamUserAPI, name string) ([]iamtypes.AttachedPolicy, error) {
	var attached []iamtypes.AttachedPolicy
	p := iam.NewListAttachedUserPoliciesPaginator(api, &iam.ListAttachedUserPoliciesInput{UserName: &name})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list managed policies attached to user %q: %w", name, err)
		}
		attached = append(attached, page.AttachedPolicies...)
	}
	return attached, nil
}

func iamUserInlineNames(ctx context.Context, api iamUserAPI, name string) ([]string, error) {
	var names []string
	p := iam.NewListUserPoliciesPaginator(api, &iam.ListUserPoliciesInput{UserName: &name})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list inline policies of user %q: %w", name, err)
		}
		names = append(names, page.PolicyNames...)
	}
	return names, nil
}

func iamUserGroups(ctx context.Context, api iamUserAPI, name string) ([]any, error) {
	groups := []any{}
	p := iam.NewListGroupsForUserPaginator(api, &iam.ListGroupsForUserInput{UserName: &name})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list groups of user %q: %w", name, err)
		}
		for _, g := range page.Groups {
			groups = append(groups, aws.ToString(g.GroupName))
		}
	}
	return groups, nil
}

// iamLoginProfile returns the user's console password settings; a user
// without a console password has Configured false.
func iamLoginProfile(ctx context.Context, api iamUserAPI, name string) (map[string]any, error) {
	out, err := api.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: &name})
	switch {
	case iamNoSuchEntity(err):
		// NoSuchEntity is also what a deleted user answers; GetUser
		// succeeded just before, so it is read as "no password".
		return map[string]any{"Configured": false, "PasswordResetRequired": false, "CreateDate": ""}, nil
	case err != nil:
		return nil, fmt.Errorf("get login profile of user %q: %w", name, err)
	case out.LoginProfile == nil:
		return nil, fmt.Errorf("get login profile of user %q: no login profile in the response", name)
	}
	return map[string]any{
		"Configured":            true,
		"PasswordResetRequired": out.LoginProfile.PasswordResetRequired,
		"CreateDate":            iamTime(out.LoginProfile.CreateDate),
	}, nil
}

func iamMFADevices(ctx context.Context, api iamUserAPI, name string) ([]any, error) {
	devices := []any{}
	p := iam.NewListMFADevicesPaginator(api, &iam.ListMFADevicesInput{UserName: &name})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list MFA devices of user %q: %w", name, err)
		}
		for _, d := range page.MFADevices {
			devices = append(devices, map[string]any{
				"SerialNumber": aws.ToString(d.SerialNumber),
				"EnableDate":   iamTime(d.EnableDate),
			})
		}
	}
	return devices, nil
}

func iamAccessKeys(ctx context.Context, api iamUserAPI, name string) ([]any, error) {
	keys := []any{}
	p := iam.NewListAccessKeysPaginator(api, &iam.ListAccessKeysInput{UserName: &name})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list access keys of user %q: %w", name, err)
		}
		for _, k := range page.AccessKeyMetadata {
			keys = append(keys, map[string]any{
				"AccessKeyId": aws.ToString(k.AccessKeyId),
				"Status":      string(k.Status),
				"CreateDate":  iamTime(k.CreateDate),
			})
		}
	}
	return keys, nil
}

// readIAMRole reads an IAM role: its trust policy and permission policies.
func readIAMRole(ctx context.Context, api iamRoleAPI, cache *iamPolicyCache, name string) (map[string]any, map[string]string, bool, error) {
	out, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
	if iamNoSuchEntity(err) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("get role %q: %w", name, err)
	}
	if out.Role == nil {
		return nil, nil, false, fmt.Errorf("get role %q: no role in the response", name)
	}
	role := out.Role
	trust, err := iampolicy.Normalize(role.AssumeRolePolicyDocument)
	if err != nil {
		return nil, nil, false, fmt.Errorf("read trust policy of role %q: %w", name, err)
	}

	var attachedList []iamtypes.AttachedPolicy
	p := iam.NewListAttachedRolePoliciesPaginator(api, &iam.ListAttachedRolePoliciesInput{RoleName: &name})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return iamGone(fmt.Errorf("list managed policies attached to role %q: %w", name, err))
		}
		attachedList = append(attachedList, page.AttachedPolicies...)
	}
	attached, err := iamAttachedPolicies(ctx, api, cache, attachedList)
	if err != nil {
		return nil, nil, false, err
	}

	var names []string
	ip := iam.NewListRolePoliciesPaginator(api, &iam.ListRolePoliciesInput{RoleName: &name})
	for ip.HasMorePages() {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return iamGone(fmt.Errorf("list inline policies of role %q: %w", name, err))
		}
		names = append(names, page.PolicyNames...)
	}
	inline, err := iamInlinePolicies(ctx, "role", name, names, func(ctx context.Context, policy string) (*string, error) {
		out, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &name, PolicyName: &policy})
		if err != nil {
			return nil, err
		}
		return out.PolicyDocument, nil
	})
	if err != nil {
		return nil, nil, false, err
	}

	lastUsed := map[string]any{"LastUsedDate": "", "Region": ""}
	if role.RoleLastUsed != nil {
		lastUsed["LastUsedDate"] = iamTime(role.RoleLastUsed.LastUsedDate)
		lastUsed["Region"] = aws.ToString(role.RoleLastUsed.Region)
	}
	doc := map[string]any{
		"RoleName":                 aws.ToString(role.RoleName),
		"RoleId":                   aws.ToString(role.RoleId),
		"Arn":                      aws.ToString(role.Arn),
		"Path":                     aws.ToString(role.Path),
		"Description":              aws.ToString(role.Description),
		"CreateDate":               iamTime(role.CreateDate),
		"MaxSessionDuration":       int64(aws.ToInt32(role.MaxSessionDuration)),
		"AssumeRolePolicyDocument": trust,
		"PermissionsBoundary":      iamBoundary(role.PermissionsBoundary),
		"RoleLastUsed":             lastUsed,
		"AttachedManagedPolicies":  attached,
		"InlinePolicies":           inline,
	}
	return doc, iamTags(role.Tags), true, nil
}

// readIAMGroup reads an IAM group: its members and policies.
func readIAMGroup(ctx context.Context, api iamGroupAPI, cache *iamPolicyCache, name string) (map[string]any, map[string]string, bool, error) {
	var group *iamtypes.Group
	users := []any{}
	gp := iam.NewGetGroupPaginator(api, &iam.GetGroupInput{GroupName: &name})
	for gp.HasMorePages() {
		page, err := gp.NextPage(ctx)
		if iamNoSuchEntity(err) {
			return nil, nil, false, nil
		}
		if err != nil {
			return nil, nil, false, fmt.Errorf("get group %q: %w", name, err)
		}
		if group == nil {
			group = page.Group
		}
		for _, u := range page.Users {
			users = append(users, aws.ToString(u.UserName))
		}
	}
	if group == nil {
		return nil, nil, false, fmt.Errorf("get group %q: no group in the response", name)
	}

	var attachedList []iamtypes.AttachedPolicy
	p := iam.NewListAttachedGroupPoliciesPaginator(api, &iam.ListAttachedGroupPoliciesInput{GroupName: &name})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return iamGone(fmt.Errorf("list managed policies attached to group %q: %w", name, err))
		}
		attachedList = append(attachedList, page.AttachedPolicies...)
	}
	attached, err := iamAttachedPolicies(ctx, api, cache, attachedList)
	if err != nil {
		return nil, nil, false, err
	}

	var names []string
	ip := iam.NewListGroupPoliciesPaginator(api, &iam.ListGroupPoliciesInput{GroupName: &name})
	for ip.HasMorePages() {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return iamGone(fmt.Errorf("list inline policies of group %q: %w", name, err))
		}
		names = append(names, page.PolicyNames...)
	}
	inline, err := iamInlinePolicies(ctx, "group", name, names, func(ctx context.Context, policy string) (*string, error) {
		out, err := api.GetGroupPolicy(ctx, &iam.GetGroupPolicyInput{GroupName: &name, PolicyName: &policy})
		if err != nil {
			return nil, err
		}
		return out.PolicyDocument, nil
	})
	if err != nil {
		return nil, nil, false, err
	}

	doc := map[string]any{
		"GroupName":               aws.ToString(group.GroupName),
		"GroupId":                 aws.ToString(group.GroupId),
		"Arn":                     aws.ToString(group.Arn),
		"Path":                    aws.ToString(group.Path),
		"CreateDate":              iamTime(group.CreateDate),
		"Users":                   users,
		"AttachedManagedPolicies": attached,
		"InlinePolicies":          inline,
	}
	return doc, nil, true, nil
}

// readIAMManagedPolicy reads a managed policy and its default version.
func readIAMManagedPolicy(ctx context.Context, api iamPolicyAPI, cache *iamPolicyCache, arn string) (map[string]any, map[string]string, bool, error) {
	var (
		pol *iamtypes.Policy
		doc map[string]any
	)
	// The default version read may be deleted by the time it is fetched
	// (a new default was set and the old version removed): read the
	// policy again, once.
	for attempt := 0; ; attempt++ {
		out, err := api.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arn})
		if iamNoSuchEntity(err) {
			return nil, nil, false, nil
		}
		if err != nil {
			return nil, nil, false, fmt.Errorf("get policy %q: %w", arn, err)
		}
		if out.Policy == nil {
			return nil, nil, false, fmt.Errorf("get policy %q: no policy in the response", arn)
		}
		pol = out.Policy
		doc, err = cache.version(ctx, api, arn, aws.ToString(pol.DefaultVersionId))
		if err == nil {
			break
		}
		if attempt > 0 || !iamNoSuchEntity(err) {
			return nil, nil, false, err
		}
	}
	return map[string]any{
		"PolicyName":                    aws.ToString(pol.PolicyName),
		"PolicyId":                      aws.ToString(pol.PolicyId),
		"Arn":                           aws.ToString(pol.Arn),
		"Path":                          aws.ToString(pol.Path),
		"Description":                   aws.ToString(pol.Description),
		"AWSManaged":                    iamAWSManaged(arn),
		"DefaultVersionId":              aws.ToString(pol.DefaultVersionId),
		"Document":                      doc,
		"AttachmentCount":               int64(aws.ToInt32(pol.AttachmentCount)),
		"PermissionsBoundaryUsageCount": int64(aws.ToInt32(pol.PermissionsBoundaryUsageCount)),
		"IsAttachable":                  pol.IsAttachable,
		"CreateDate":                    iamTime(pol.CreateDate),
		"UpdateDate":                    iamTime(pol.UpdateDate),
	}, iamTags(pol.Tags), true, nil
}

// readIAMPasswordPolicy reads the account password policy. An account
// without one (NoSuchEntity) has a document with Configured false and every
// setting false or 0: it exists, it is just not set.
func readIAMPasswordPolicy(ctx context.Context, api iamPasswordPolicyAPI) (map[string]any, map[string]string, bool, error) {
	out, err := api.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	var p iamtypes.PasswordPolicy
	switch {
	case iamNoSuchEntity(err):
	case err != nil:
		return nil, nil, false, fmt.Errorf("get account password policy: %w", err)
	case out.PasswordPolicy == nil:
		return nil, nil, false, errors.New("get account password policy: no policy in the response")
	default:
		p = *out.PasswordPolicy
	}
	return map[string]any{
		"Configured":                 err == nil,
		"MinimumPasswordLength":      int64(aws.ToInt32(p.MinimumPasswordLength)),
		"RequireSymbols":             p.RequireSymbols,
		"RequireNumbers":             p.RequireNumbers,
		"RequireUppercaseCharacters": p.RequireUppercaseCharacters,
		"RequireLowercaseCharacters": p.RequireLowercaseCharacters,
		"AllowUsersToChangePassword": p.AllowUsersToChangePassword,
		"ExpirePasswords":            p.ExpirePasswords,
		"MaxPasswordAge":             int64(aws.ToInt32(p.MaxPasswordAge)),
		"PasswordReusePrevention":    int64(aws.ToInt32(p.PasswordReusePrevention)),
		"HardExpiry":                 aws.ToBool(p.HardExpiry),
	}, nil, true, nil
}

// readIAMRootUser reads the root user's credentials from the account
// summary. The root user always exists.
func readIAMRootUser(ctx context.Context, api iamAccountSummaryAPI) (map[string]any, map[string]string, bool, error) {
	out, err := api.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		return nil, nil, false, fmt.Errorf("get account summary: %w", err)
	}
	get := func(k iamtypes.SummaryKeyType) int64 { return int64(out.SummaryMap[string(k)]) }
	return map[string]any{
		"AccountAccessKeysPresent":          get(iamtypes.SummaryKeyTypeAccountAccessKeysPresent),
		"AccountMFAEnabled":                 get(iamtypes.SummaryKeyTypeAccountMFAEnabled),
		"AccountPasswordPresent":            get(iamtypes.SummaryKeyTypeAccountPasswordPresent),
		"AccountSigningCertificatesPresent": get(iamtypes.SummaryKeyTypeAccountSigningCertificatesPresent),
	}, nil, true, nil
}

// iamAttachedPolicies returns the attached managed policies with their
// default version's document. A policy deleted since it was listed (it
// must have been detached first) is left out; any other failure, including
// a default version that cannot be read, is an error.
func iamAttachedPolicies(ctx context.Context, api iamPolicyAPI, cache *iamPolicyCache, attached []iamtypes.AttachedPolicy) ([]any, error) {
	out := make([]any, 0, len(attached))
	for _, a := range attached {
		arn := aws.ToString(a.PolicyArn)
		doc, err := cache.defaultDocument(ctx, api, arn)
		if errors.Is(err, errIAMPolicyGone) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, map[string]any{
			"PolicyName": aws.ToString(a.PolicyName),
			"PolicyArn":  arn,
			"Document":   doc,
		})
	}
	return out, nil
}

// iamInlinePolicies reads each inline policy of a user, role or group
// (kind, name) with get. A policy deleted since it was listed is left out.
func iamInlinePolicies(ctx context.Context, kind, name string, policies []string, get func(context.Context, string) (*string, error)) ([]any, error) {
	out := make([]any, 0, len(policies))
	for _, policy := range policies {
		text, err := get(ctx, policy)
		if iamNoSuchEntity(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get inline policy %q of %s %q: %w", policy, kind, name, err)
		}
		doc, err := iampolicy.Normalize(text)
		if err != nil {
			return nil, fmt.Errorf("read inline policy %q of %s %q: %w", policy, kind, name, err)
		}
		out = append(out, map[string]any{"PolicyName": policy, "Document": doc})
	}
	return out, nil
}

// iamAWSManaged reports whether a policy ARN is an AWS managed policy
// (arn:{p}:iam::aws:policy/...).
func iamAWSManaged(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[4] == "aws"
}

func iamBoundary(b *iamtypes.AttachedPermissionsBoundary) string {
	if b == nil {
		return ""
	}
	return aws.ToString(b.PermissionsBoundaryArn)
}

func iamTags(tags []iamtypes.Tag) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// iamTime formats a time as RFC 3339 in UTC; nil is "".
func iamTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// iamPolicyCache caches normalised policy documents by (policy ARN, version
// ID) and, for a short while, the default version ID of AWS managed
// policies.
//
// A policy version is immutable, so a cached version document is never
// stale: a customer policy that gets a new default version gets a new
// version ID. AWS managed policies are shared by every account and attached
// everywhere; their default version changes a few times a year, so it is
// remembered for iamManagedDefaultTTL to spare one GetPolicy per attached
// policy per read. Customer managed policies are always asked for their
// current default version.
//
// Cached documents are shared between resource documents: they must not be
// modified (documents are read-only by contract).
type iamPolicyCache struct {
	mu       sync.Mutex
	docs     map[iamVersionKey]map[string]any
	order    []iamVersionKey // insertion order, for eviction
	defaults map[string]iamDefaultVersion
	max      int
	ttl      time.Duration
	now      func() time.Time
}

type iamVersionKey struct{ arn, version string }

type iamDefaultVersion struct {
	version string
	at      time.Time
}

// Cache bounds: documents are a few KB each (the largest AWS managed ones
// tens of KB), so a few hundred keep memory small.
const (
	iamPolicyCacheSize   = 256
	iamManagedDefaultTTL = 15 * time.Minute
)

func newIAMPolicyCache() *iamPolicyCache {
	return &iamPolicyCache{
		docs:     map[iamVersionKey]map[string]any{},
		defaults: map[string]iamDefaultVersion{},
		max:      iamPolicyCacheSize,
		ttl:      iamManagedDefaultTTL,
		now:      time.Now,
	}
}

// errIAMPolicyGone is returned when a managed policy no longer exists.
var errIAMPolicyGone = errors.New("policy no longer exists")

// defaultDocument returns the normalised document of the default version of
// the managed policy arn, or an error wrapping errIAMPolicyGone when the
// policy no longer exists.
func (c *iamPolicyCache) defaultDocument(ctx context.Context, api iamPolicyAPI, arn string) (map[string]any, error) {
	version, err := c.defaultVersion(ctx, api, arn, false)
	if err != nil {
		return nil, err
	}
	doc, err := c.version(ctx, api, arn, version)
	if iamNoSuchEntity(err) {
		// The default changed and the version read was deleted since
		// (or, for an AWS managed policy, since it was remembered).
		if version, err = c.defaultVersion(ctx, api, arn, true); err != nil {
			return nil, err
		}
		doc, err = c.version(ctx, api, arn, version)
	}
	return doc, err
}

// defaultVersion returns the default version ID of the managed policy arn,
// remembered for AWS managed policies unless refresh is set.
func (c *iamPolicyCache) defaultVersion(ctx context.Context, api iamPolicyAPI, arn string, refresh bool) (string, error) {
	managed := iamAWSManaged(arn)
	if managed && !refresh {
		c.mu.Lock()
		d, ok := c.defaults[arn]
		c.mu.Unlock()
		if ok && c.now().Sub(d.at) < c.ttl {
			return d.version, nil
		}
	}
	out, err := api.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arn})
	if iamNoSuchEntity(err) {
		return "", fmt.Errorf("get policy %q: %w", arn, errIAMPolicyGone)
	}
	if err != nil {
		return "", fmt.Errorf("get policy %q: %w", arn, err)
	}
	if out.Policy == nil || aws.ToString(out.Policy.DefaultVersionId) == "" {
		return "", fmt.Errorf("get policy %q: no default version in the response", arn)
	}
	version := aws.ToString(out.Policy.DefaultVersionId)
	if managed {
		c.mu.Lock()
		if len(c.defaults) >= c.max {
			clear(c.defaults)
		}
		c.defaults[arn] = iamDefaultVersion{version: version, at: c.now()}
		c.mu.Unlock()
	}
	return version, nil
}

// version returns the normalised document of one version of a managed
// policy.
func (c *iamPolicyCache) version(ctx context.Context, api iamPolicyAPI, arn, version string) (map[string]any, error) {
	k := iamVersionKey{arn, version}
	c.mu.Lock()
	doc, ok := c.docs[k]
	c.mu.Unlock()
	if ok {
		return doc, nil
	}
	out, err := api.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: &version})
	if err != nil {
		return nil, fmt.Errorf("get version %s of policy %q: %w", version, arn, err)
	}
	if out.PolicyVersion == nil {
		return nil, fmt.Errorf("get version %s of policy %q: no version in the response", version, arn)
	}
	doc, err = iampolicy.Normalize(out.PolicyVersion.Document)
	if err != nil {
		return nil, fmt.Errorf("read version %s of policy %q: %w", version, arn, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.docs[k]; !ok {
		if len(c.order) >= c.max {
			delete(c.docs, c.order[0])
			c.order = c.order[1:]
		}
		c.docs[k] = doc
		c.order = append(c.order, k)
	}
	return doc, nil
}

// iamActions are the IAM actions behind the IAM calls above; each is named
// after its operation.
var iamActions = operationActions{
	"iam.GetPolicy":                 {"iam:GetPolicy"},
	"iam.GetPolicyVersion":          {"iam:GetPolicyVersion"},
	"iam.GetUser":                   {"iam:GetUser"},
	"iam.ListAttachedUserPolicies":  {"iam:ListAttachedUserPolicies"},
	"iam.ListUserPolicies":          {"iam:ListUserPolicies"},
	"iam.GetUserPolicy":             {"iam:GetUserPolicy"},
	"iam.ListGroupsForUser":         {"iam:ListGroupsForUser"},
	"iam.GetLoginProfile":           {"iam:GetLoginProfile"},
	"iam.ListMFADevices":            {"iam:ListMFADevices"},
	"iam.ListAccessKeys":            {"iam:ListAccessKeys"},
	"iam.GetRole":                   {"iam:GetRole"},
	"iam.ListAttachedRolePolicies":  {"iam:ListAttachedRolePolicies"},
	"iam.ListRolePolicies":          {"iam:ListRolePolicies"},
	"iam.GetRolePolicy":             {"iam:GetRolePolicy"},
	"iam.GetGroup":                  {"iam:GetGroup"},
	"iam.ListAttachedGroupPolicies": {"iam:ListAttachedGroupPolicies"},
	"iam.ListGroupPolicies":         {"iam:ListGroupPolicies"},
	"iam.GetGroupPolicy":            {"iam:GetGroupPolicy"},
	"iam.GetAccountPasswordPolicy":  {"iam:GetAccountPasswordPolicy"},
	"iam.GetAccountSummary":         {"iam:GetAccountSummary"},
}
