package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// DefaultMemberRole is the name of the role deploy/aws/member.yaml creates in
// every member account for the central detector to assume.
const DefaultMemberRole = "driftwatch-member"

// CrossAccount tells a Reader how to reach the resources of accounts other
// than its own (the members of an AWS Organization whose events the central
// bus receives): it assumes a role there with STS AssumeRole, passing an
// external ID, and keeps the session's credentials until shortly before they
// expire (aws.CredentialsCache). Each member account gets its own clients;
// resources of the home account, or of a change that names no account, are
// read with the Reader's own configuration.
type CrossAccount struct {
	// Home is the Reader's own account. Required: without it every account
	// would look foreign.
	Home string
	// RoleName is the role assumed in every other account, by default
	// DefaultMemberRole. Its ARN is built in the partition of the Reader's
	// region.
	RoleName string
	// RoleARN, when set, replaces RoleName: it returns the ARN of the role to
	// assume in an account, or "" to read that account with the Reader's own
	// credentials.
	RoleARN func(account string) string
	// ExternalID is sent with every AssumeRole; the member role's trust
	// policy requires it (sts:ExternalId).
	ExternalID string
	// SessionName names the role sessions in the member accounts' CloudTrail
	// (default "driftwatch").
	SessionName string
	// Duration is how long a session lasts (default 15 minutes, the SDK's).
	Duration time.Duration
}

// stsAPI is the STS call a Reader makes to assume member roles.
type stsAPI interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// assumeActions are the IAM actions behind the STS call above; the central
// account's functions need them when they read member accounts.
var assumeActions = operationActions{
	"sts.AssumeRole": {"sts:AssumeRole"},
}

var _ stscreds.AssumeRoleAPIClient = stsAPI(nil)

// errNoHome is returned when a CrossAccount option lacks its home account.
var errNoHome = errors.New("cross-account reads need the home account (CrossAccount.Home)")

// roleFor returns the ARN of the role to assume in account, or "" when the
// account is read with the Reader's own credentials.
func (c *CrossAccount) roleFor(account, region string) string {
	if account == "" || account == c.Home {
		return ""
	}
	if c.RoleARN != nil {
		return c.RoleARN(account)
	}
	name := c.RoleName
	if name == "" {
		name = DefaultMemberRole
	}
	return "arn:" + partitionOf(region) + ":iam::" + account + ":role/" + name
}

// forAccount returns the Reader that reads resources of account: r itself,
// or a Reader with the assumed role's credentials, created once per account.
func (r *Reader) forAccount(account string) (*Reader, error) {
	ca := r.opts.CrossAccount
	if ca == nil {
		return r, nil
	}
	if ca.Home == "" {
		return nil, errNoHome
	}
	role := ca.roleFor(account, r.cfg.Region)
	if role == "" {
		return r, nil
	}
	if m, ok := r.members.Load(account); ok {
		return m.(*Reader), nil
	}
	api := client(r, "sts", "", func(cfg aws.Config) stsAPI { return sts.NewFromConfig(cfg) })
	cfg := r.cfg.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(api, role, func(o *stscreds.AssumeRoleOptions) {
		if ca.ExternalID != "" {
			o.ExternalID = aws.String(ca.ExternalID)
		}
		o.RoleSessionName = ca.SessionName
		if o.RoleSessionName == "" {
			o.RoleSessionName = "driftwatch"
		}
		if ca.Duration > 0 {
			o.Duration = ca.Duration
		}
	}))
	m := &Reader{cfg: cfg, opts: Options{S3PathStyle: r.opts.S3PathStyle}, fetch: r.fetch}
	got, _ := r.members.LoadOrStore(account, m)
	return got.(*Reader), nil
}

// partitionOf returns the AWS partition of a region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// Environment variables CrossAccountFromEnv reads; the SAM template sets
// them on the functions that read member accounts.
const (
	// EnvAccountID is the function's own account (!Ref AWS::AccountId).
	EnvAccountID = "DRIFTWATCH_ACCOUNT_ID"
	// EnvMemberRole is the name of the role to assume in member accounts;
	// empty reads the own account only.
	EnvMemberRole = "DRIFTWATCH_MEMBER_ROLE"
	// EnvMemberExternalID is the external ID the member role requires.
	EnvMemberExternalID = "DRIFTWATCH_MEMBER_EXTERNAL_ID"
)

// CrossAccountFromEnv returns the CrossAccount option the environment
// describes (EnvMemberRole, EnvMemberExternalID, EnvAccountID), or nil when
// no member role is set.
func CrossAccountFromEnv(getenv func(string) string) (*CrossAccount, error) {
	role := strings.TrimSpace(getenv(EnvMemberRole))
	if role == "" {
		return nil, nil
	}
	home := strings.TrimSpace(getenv(EnvAccountID))
	if home == "" {
		return nil, fmt.Errorf("%s is set but %s is not: %w", EnvMemberRole, EnvAccountID, errNoHome)
	}
	if strings.ContainsAny(role, ":/") {
		return nil, fmt.Errorf("%s %q: want a role name, not an ARN or path", EnvMemberRole, role)
	}
	return &CrossAccount{Home: home, RoleName: role, ExternalID: getenv(EnvMemberExternalID)}, nil
}
