package revert

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/driftwatch/driftwatch/shared/change"
)

// IAM resource types.
const (
	iamUserType           = "AWS::IAM::User"
	iamRoleType           = "AWS::IAM::Role"
	iamGroupType          = "AWS::IAM::Group"
	iamManagedPolicyType  = "AWS::IAM::ManagedPolicy"
	iamPasswordPolicyType = "AWS::IAM::AccountPasswordPolicy"
	iamRootUserType       = "AWS::IAM::RootUser"
)

// CIS AWS Foundations Benchmark v3.0.0 password policy values (1.8, 1.9).
const (
	cisMinimumPasswordLength   = 14
	cisPasswordReusePrevention = 24
)

func iamRemediations() map[string]remediation {
	principals := []string{iamUserType, iamRoleType, iamGroupType}
	return map[string]remediation{
		"iam-detach-admin-policy": {types: principals, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			return r.planDetachAdminPolicies(ctx, r.iamClient(t.res.Ref.Region), t)
		}},
		"iam-delete-inline-admin-policy": {types: principals, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			return r.planDeleteInlineAdminPolicies(ctx, r.iamClient(t.res.Ref.Region), t)
		}},
		"iam-strengthen-password-policy": {types: []string{iamPasswordPolicyType}, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			return planPasswordPolicy(r.iamClient(t.res.Ref.Region), t)
		}},
		"iam-restore-trust-policy": {types: []string{iamRoleType}, manual: "the trust policy the role had before the change is not recorded " +
			"(neither the change nor the document holds it), and removing statements from a trust policy can lock out the services " +
			"and accounts that legitimately assume the role; restore it from source control or CloudTrail's UpdateAssumeRolePolicy history"},
		"iam-restore-default-policy-version": {types: []string{iamManagedPolicyType}, manual: "the version that was the default before the " +
			"change is not recorded, and the newest older version may be one that was deliberately retired; " +
			"set the right version as default (SetDefaultPolicyVersion) after checking what it grants"},
		"iam-move-user-policies-to-group": {types: []string{iamUserType}, manual: "moving permissions into a group means choosing or " +
			"creating the group and checking what its other members would gain; it restructures access rather than undoing a change"},
		"iam-delete-login-profile": {types: []string{iamUserType}, manual: "deleting the console password locks the user out and cannot be " +
			"undone (the password is not recoverable); the fix is an MFA device that only the user can enroll"},
		"iam-deactivate-older-access-key": {types: []string{iamUserType}, manual: "deactivating a key that is in use breaks whatever uses it; " +
			"rotating needs the key's owner to move to the new key first"},
		"iam-delete-root-access-key": {types: []string{iamRootUserType}, manual: "only the root user can delete the root user's access keys " +
			"(no IAM principal, driftwatch's included, can)"},
	}
}

// iamClient returns the IAM client (IAM is global; the region only picks
// the partition's endpoint).
func (r *Remediator) iamClient(region string) *iam.Client {
	return client(r, "iam", region, func(cfg aws.Config) *iam.Client { return iam.NewFromConfig(cfg) })
}

// iamPrincipal says how a user, role or group is named in its document and
// in IAM's calls.
type iamPrincipal struct {
	kind string // user, role, group
	name string
}

func iamPrincipalOf(t *target) (iamPrincipal, error) {
	var kind, field string
	switch t.res.Ref.Type {
	case iamUserType:
		kind, field = "user", "UserName"
	case iamRoleType:
		kind, field = "role", "RoleName"
	case iamGroupType:
		kind, field = "group", "GroupName"
	default:
		return iamPrincipal{}, fmt.Errorf("%s is not an IAM user, role or group", t.res.Ref.Type)
	}
	name, err := required(t.doc(), field)
	if err != nil {
		return iamPrincipal{}, err
	}
	return iamPrincipal{kind: kind, name: name}, nil
}

// changeParam returns requestParameters.param of the change when the
// change's operation starts with one of prefixes, else "".
func changeParam(t *target, param string, prefixes ...string) string {
	if t.ch == nil || !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(t.ch.Operation, p) }) {
		return ""
	}
	return change.String(t.ch.Request(), param)
}

// pickFromChange narrows the offending policies to the one the change
// attached or wrote (named by fromChange), when the change names one.
// When the change named a policy that does not offend, the offending ones
// predate the change and nothing is picked.
func pickFromChange(t *target, offending []string, fromChange, what string) ([]string, string) {
	if fromChange == "" {
		return offending, ""
	}
	if slices.Contains(offending, fromChange) {
		return []string{fromChange}, ""
	}
	return nil, fmt.Sprintf("the change (%s) added %s %s, which does not make %s fail; %s %s predate(s) it and is left to a person",
		t.ch.Operation, what, fromChange, t.v.RuleID, what, strings.Join(offending, ", "))
}

// iamDetachAPI is what iam-detach-admin-policy calls.
type iamDetachAPI interface {
	DetachUserPolicy(ctx context.Context, in *iam.DetachUserPolicyInput, optFns ...func(*iam.Options)) (*iam.DetachUserPolicyOutput, error)
	DetachRolePolicy(ctx context.Context, in *iam.DetachRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error)
	DetachGroupPolicy(ctx context.Context, in *iam.DetachGroupPolicyInput, optFns ...func(*iam.Options)) (*iam.DetachGroupPolicyOutput, error)
}

// planDetachAdminPolicies detaches the administrator managed policy the
// change attached (requestParameters.policyArn of an Attach*Policy change)
// or, without such a change, every attached policy that makes the rule
// fail. Other attached policies stay; the policies themselves are not
// changed.
func (r *Remediator) planDetachAdminPolicies(ctx context.Context, api iamDetachAPI, t *target) (planned, error) {
	p, err := iamPrincipalOf(t)
	if err != nil {
		return planned{}, err
	}
	attached := docList(t.doc(), "AttachedManagedPolicies")
	bad, err := r.offending(ctx, t, "AttachedManagedPolicies", nil, attached)
	if err != nil {
		return planned{}, err
	}
	var arns []string
	for _, i := range bad {
		m, _ := attached[i].(map[string]any)
		arns = append(arns, docString(m, "PolicyArn"))
	}
	if len(arns) == 0 {
		return nothing("no managed policy attached to %s %s makes %s fail", p.kind, p.name, t.v.RuleID)
	}
	arns, why := pickFromChange(t, arns, changeParam(t, "policyArn", "Attach"), "managed policy")
	if len(arns) == 0 {
		return nothing("%s", why)
	}
	var calls []Call
	region := t.res.Ref.Region
	for _, a := range arns {
		switch p.kind {
		case "user":
			calls = append(calls, newCall("iam", "DetachUserPolicy", "iam:DetachUserPolicy", region, api.DetachUserPolicy,
				&iam.DetachUserPolicyInput{UserName: aws.String(p.name), PolicyArn: aws.String(a)}))
		case "role":
			calls = append(calls, newCall("iam", "DetachRolePolicy", "iam:DetachRolePolicy", region, api.DetachRolePolicy,
				&iam.DetachRolePolicyInput{RoleName: aws.String(p.name), PolicyArn: aws.String(a)}))
		case "group":
			calls = append(calls, newCall("iam", "DetachGroupPolicy", "iam:DetachGroupPolicy", region, api.DetachGroupPolicy,
				&iam.DetachGroupPolicyInput{GroupName: aws.String(p.name), PolicyArn: aws.String(a)}))
		}
	}
	return planned{calls: calls, reason: fmt.Sprintf("detaches %s from %s %s", strings.Join(arns, ", "), p.kind, p.name)}, nil
}

// iamInlineAPI is what iam-delete-inline-admin-policy calls.
type iamInlineAPI interface {
	DeleteUserPolicy(ctx context.Context, in *iam.DeleteUserPolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	DeleteGroupPolicy(ctx context.Context, in *iam.DeleteGroupPolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteGroupPolicyOutput, error)
}

// planDeleteInlineAdminPolicies deletes the inline administrator policy the
// change wrote (requestParameters.policyName of a Put*Policy change) or,
// without such a change, every inline policy that makes the rule fail.
// Deleting an inline policy loses its document, so the plan's Backup holds
// each deleted document (normalised) for a person to put back.
func (r *Remediator) planDeleteInlineAdminPolicies(ctx context.Context, api iamInlineAPI, t *target) (planned, error) {
	p, err := iamPrincipalOf(t)
	if err != nil {
		return planned{}, err
	}
	inline := docList(t.doc(), "InlinePolicies")
	bad, err := r.offending(ctx, t, "InlinePolicies", nil, inline)
	if err != nil {
		return planned{}, err
	}
	var names []string
	docs := map[string]any{}
	for _, i := range bad {
		m, _ := inline[i].(map[string]any)
		names = append(names, docString(m, "PolicyName"))
		docs[docString(m, "PolicyName")] = m["Document"]
	}
	if len(names) == 0 {
		return nothing("no inline policy of %s %s makes %s fail", p.kind, p.name, t.v.RuleID)
	}
	names, why := pickFromChange(t, names, changeParam(t, "policyName", "Put"), "inline policy")
	if len(names) == 0 {
		return nothing("%s", why)
	}
	var calls []Call
	backup := map[string]any{}
	region := t.res.Ref.Region
	for _, n := range names {
		backup[n] = docs[n]
		switch p.kind {
		case "user":
			calls = append(calls, newCall("iam", "DeleteUserPolicy", "iam:DeleteUserPolicy", region, api.DeleteUserPolicy,
				&iam.DeleteUserPolicyInput{UserName: aws.String(p.name), PolicyName: aws.String(n)}))
		case "role":
			calls = append(calls, newCall("iam", "DeleteRolePolicy", "iam:DeleteRolePolicy", region, api.DeleteRolePolicy,
				&iam.DeleteRolePolicyInput{RoleName: aws.String(p.name), PolicyName: aws.String(n)}))
		case "group":
			calls = append(calls, newCall("iam", "DeleteGroupPolicy", "iam:DeleteGroupPolicy", region, api.DeleteGroupPolicy,
				&iam.DeleteGroupPolicyInput{GroupName: aws.String(p.name), PolicyName: aws.String(n)}))
		}
	}
	return planned{calls: calls, backup: map[string]any{"InlinePolicies": backup},
		reason: fmt.Sprintf("deletes inline policy %s of %s %s (documents kept in the backup)", strings.Join(names, ", "), p.kind, p.name)}, nil
}

// iamPasswordPolicyAPI is what iam-strengthen-password-policy calls.
type iamPasswordPolicyAPI interface {
	UpdateAccountPasswordPolicy(ctx context.Context, in *iam.UpdateAccountPasswordPolicyInput, optFns ...func(*iam.Options)) (*iam.UpdateAccountPasswordPolicyOutput, error)
}

// planPasswordPolicy raises the minimum length to 14 and the reuse
// prevention to 24 (CIS 1.8, 1.9) where they are lower, and writes every
// other setting back as read: UpdateAccountPasswordPolicy resets whatever
// it is not given, so each is given.
func planPasswordPolicy(api iamPasswordPolicyAPI, t *target) (planned, error) {
	d := t.doc()
	if _, ok := d["Configured"].(bool); !ok {
		return planned{}, fmt.Errorf("the document has no Configured")
	}
	length := max(docInt(d, "MinimumPasswordLength"), cisMinimumPasswordLength)
	reuse := max(docInt(d, "PasswordReusePrevention"), cisPasswordReusePrevention)
	var raised []string
	if length != docInt(d, "MinimumPasswordLength") {
		raised = append(raised, fmt.Sprintf("minimum length %d → %d", docInt(d, "MinimumPasswordLength"), length))
	}
	if reuse != docInt(d, "PasswordReusePrevention") {
		raised = append(raised, fmt.Sprintf("reuse prevention %d → %d", docInt(d, "PasswordReusePrevention"), reuse))
	}
	if len(raised) == 0 && docBool(d, "Configured") {
		return nothing("the password policy already meets the CIS values")
	}
	in := &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength:      aws.Int32(int32(length)),
		PasswordReusePrevention:    aws.Int32(int32(reuse)),
		RequireSymbols:             docBool(d, "RequireSymbols"),
		RequireNumbers:             docBool(d, "RequireNumbers"),
		RequireUppercaseCharacters: docBool(d, "RequireUppercaseCharacters"),
		RequireLowercaseCharacters: docBool(d, "RequireLowercaseCharacters"),
		AllowUsersToChangePassword: docBool(d, "AllowUsersToChangePassword"),
		HardExpiry:                 aws.Bool(docBool(d, "HardExpiry")),
	}
	if age := docInt(d, "MaxPasswordAge"); age > 0 {
		in.MaxPasswordAge = aws.Int32(int32(age))
	}
	reason := "raises " + strings.Join(raised, ", ")
	if !docBool(d, "Configured") {
		reason = "creates a password policy: " + strings.Join(raised, ", ")
	}
	return planned{calls: []Call{newCall("iam", "UpdateAccountPasswordPolicy", "iam:UpdateAccountPasswordPolicy", t.res.Ref.Region,
		api.UpdateAccountPasswordPolicy, in)}, reason: reason}, nil
}
