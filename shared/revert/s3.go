package revert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/smithy-go"

	"github.com/driftwatch/driftwatch/shared/iampolicy"
)

// S3 resource types.
const (
	s3BucketType              = "AWS::S3::Bucket"
	s3AccountPublicAccessType = "AWS::S3::AccountPublicAccessBlock"
)

// s3BlockPublicAccessFlags are the four Block Public Access settings.
var s3BlockPublicAccessFlags = []string{"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"}

func s3Remediations() map[string]remediation {
	bucket := []string{s3BucketType}
	return map[string]remediation{
		"s3-enable-public-access-block": {types: bucket, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := s3Region(t)
			return planBucketPublicAccessBlock(r.s3Client(region), region, t)
		}},
		"s3-enable-account-public-access-block": {types: []string{s3AccountPublicAccessType}, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := regionOf(t.res.Ref)
			return planAccountPublicAccessBlock(r.s3ControlClient(region), region, t)
		}},
		"s3-remove-public-acl-grants": {types: bucket, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := s3Region(t)
			return r.planBucketACL(ctx, r.s3Client(region), region, t)
		}},
		"s3-remove-public-policy-statements": {types: bucket, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := s3Region(t)
			return r.planBucketPolicy(ctx, r.s3Client(region), region, t)
		}},
		"s3-restore-default-encryption": {types: bucket, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := s3Region(t)
			return planBucketEncryption(r.s3Client(region), region, t)
		}},
	}
}

// s3Client returns the S3 client of a region, path-style when the options
// ask for it.
func (r *Remediator) s3Client(region string) *s3.Client {
	return client(r, "s3", region, func(cfg aws.Config) *s3.Client {
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = r.opts.S3PathStyle })
	})
}

// s3ControlClient returns the S3 Control client of a region.
func (r *Remediator) s3ControlClient(region string) *s3control.Client {
	return client(r, "s3control", region, func(cfg aws.Config) *s3control.Client { return s3control.NewFromConfig(cfg) })
}

// s3Region is the bucket's region as read (Region), else its reference's.
func s3Region(t *target) string {
	if r := docString(t.doc(), "Region"); r != "" {
		return r
	}
	return t.res.Ref.Region
}

// s3PublicAccessBlockAPI is what s3-enable-public-access-block calls.
type s3PublicAccessBlockAPI interface {
	PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
}

// planBucketPublicAccessBlock turns on, on the bucket, each Block Public
// Access setting that neither the bucket nor its account has on, and keeps
// the bucket's settings that are on. (S3 applies the most restrictive
// combination of the bucket's and the account's settings, which is what
// the rule checks.)
func planBucketPublicAccessBlock(api s3PublicAccessBlockAPI, region string, t *target) (planned, error) {
	name, err := required(t.doc(), "Name")
	if err != nil {
		return planned{}, err
	}
	want := map[string]bool{}
	var turned []string
	for _, k := range s3BlockPublicAccessFlags {
		on := docBool(t.doc(), "PublicAccessBlock."+k)
		want[k] = on || !docBool(t.doc(), "AccountPublicAccessBlock."+k)
		if want[k] != on {
			turned = append(turned, k)
		}
	}
	if len(turned) == 0 {
		return nothing("Block Public Access already covers bucket %s", name)
	}
	in := &s3.PutPublicAccessBlockInput{Bucket: aws.String(name), PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(want["BlockPublicAcls"]), IgnorePublicAcls: aws.Bool(want["IgnorePublicAcls"]),
		BlockPublicPolicy: aws.Bool(want["BlockPublicPolicy"]), RestrictPublicBuckets: aws.Bool(want["RestrictPublicBuckets"]),
	}}
	return planned{calls: []Call{newCall("s3", "PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock", region, api.PutPublicAccessBlock, in)},
		reason: "turns on " + strings.Join(turned, ", ")}, nil
}

// s3AccountPublicAccessBlockAPI is what
// s3-enable-account-public-access-block calls.
type s3AccountPublicAccessBlockAPI interface {
	PutPublicAccessBlock(ctx context.Context, in *s3control.PutPublicAccessBlockInput, optFns ...func(*s3control.Options)) (*s3control.PutPublicAccessBlockOutput, error)
}

// planAccountPublicAccessBlock turns the account's four Block Public Access
// settings on.
func planAccountPublicAccessBlock(api s3AccountPublicAccessBlockAPI, region string, t *target) (planned, error) {
	account := docString(t.doc(), "AccountId")
	if account == "" {
		account = t.res.Ref.Account
	}
	if account == "" {
		return planned{}, errors.New("the document has no AccountId")
	}
	var turned []string
	for _, k := range s3BlockPublicAccessFlags {
		if !docBool(t.doc(), k) {
			turned = append(turned, k)
		}
	}
	if len(turned) == 0 {
		return nothing("Block Public Access is already on for account %s", account)
	}
	in := &s3control.PutPublicAccessBlockInput{AccountId: aws.String(account), PublicAccessBlockConfiguration: &s3ctltypes.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
	}}
	return planned{calls: []Call{newCall("s3control", "PutPublicAccessBlock", "s3:PutAccountPublicAccessBlock", region, api.PutPublicAccessBlock, in)},
		reason: "turns on " + strings.Join(turned, ", ")}, nil
}

// s3ACLAPI is what s3-remove-public-acl-grants calls.
type s3ACLAPI interface {
	PutBucketAcl(ctx context.Context, in *s3.PutBucketAclInput, optFns ...func(*s3.Options)) (*s3.PutBucketAclOutput, error)
}

// planBucketACL writes the bucket's ACL back without the grants that make
// the rule fail (grants to AllUsers and AuthenticatedUsers); the owner's,
// the log-delivery group's and every other grant are written back as read.
func (r *Remediator) planBucketACL(ctx context.Context, api s3ACLAPI, region string, t *target) (planned, error) {
	name, err := required(t.doc(), "Name")
	if err != nil {
		return planned{}, err
	}
	owner, err := required(t.doc(), "Acl.Owner.ID")
	if err != nil {
		return planned{}, err
	}
	grants := docList(t.doc(), "Acl.Grants")
	bad, err := r.offending(ctx, t, "Acl.Grants", nil, grants)
	if err != nil {
		return planned{}, err
	}
	if len(bad) == 0 {
		return nothing("no grant of bucket %s's ACL makes %s fail", name, t.v.RuleID)
	}
	keep := make([]s3types.Grant, 0, len(grants))
	var removed []string
	for i, g := range grants {
		gm, _ := g.(map[string]any)
		if slices.Contains(bad, i) {
			removed = append(removed, docString(gm, "Permission")+" to "+docString(gm, "Grantee.URI"))
			continue
		}
		grant, err := s3Grant(gm)
		if err != nil {
			return planned{}, fmt.Errorf("grant %d of bucket %s: %w", i, name, err)
		}
		keep = append(keep, grant)
	}
	in := &s3.PutBucketAclInput{Bucket: aws.String(name), AccessControlPolicy: &s3types.AccessControlPolicy{
		Owner: &s3types.Owner{ID: aws.String(owner)}, Grants: keep,
	}}
	return planned{calls: []Call{newCall("s3", "PutBucketAcl", "s3:PutBucketAcl", region, api.PutBucketAcl, in)},
		reason: "removes " + strings.Join(removed, ", ")}, nil
}

// s3Grant turns a grant of the document back into an SDK grant.
func s3Grant(g map[string]any) (s3types.Grant, error) {
	typ := s3types.Type(docString(g, "Grantee.Type"))
	grantee := &s3types.Grantee{Type: typ}
	switch typ {
	case s3types.TypeCanonicalUser:
		grantee.ID = aws.String(docString(g, "Grantee.ID"))
	case s3types.TypeGroup:
		grantee.URI = aws.String(docString(g, "Grantee.URI"))
	case s3types.TypeAmazonCustomerByEmail:
		grantee.EmailAddress = aws.String(docString(g, "Grantee.EmailAddress"))
	default:
		return s3types.Grant{}, fmt.Errorf("grantee type %q", typ)
	}
	return s3types.Grant{Grantee: grantee, Permission: s3types.Permission(docString(g, "Permission"))}, nil
}

// s3PolicyAPI is what s3-remove-public-policy-statements calls.
type s3PolicyAPI interface {
	GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	PutBucketPolicy(ctx context.Context, in *s3.PutBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error)
	DeleteBucketPolicy(ctx context.Context, in *s3.DeleteBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketPolicyOutput, error)
}

// planBucketPolicy writes the bucket policy back without its public
// statements. The document holds the policy in normalised form, so the
// policy is read again as written and the other statements are written back
// byte for byte; a policy left without statements is deleted.
func (r *Remediator) planBucketPolicy(ctx context.Context, api s3PolicyAPI, region string, t *target) (planned, error) {
	name, err := required(t.doc(), "Name")
	if err != nil {
		return planned{}, err
	}
	out, err := api.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
	if apiErrorCode(err) == "NoSuchBucketPolicy" {
		return nothing("bucket %s has no policy any more", name)
	}
	if err != nil {
		return planned{}, fmt.Errorf("get policy of bucket %q: %w", name, err)
	}
	top, raw, err := splitStatements(aws.ToString(out.Policy))
	if err != nil {
		return planned{}, fmt.Errorf("policy of bucket %q: %w", name, err)
	}
	stmts := make([]any, len(raw))
	for i, s := range raw {
		var m map[string]any
		if err := json.Unmarshal(s, &m); err != nil {
			return planned{}, fmt.Errorf("statement %d of the policy of bucket %q: %w", i, name, err)
		}
		stmts[i] = iampolicy.NormalizeStatement(m)
	}
	bad, err := r.offending(ctx, t, "Policy.Document.Statement", nil, stmts)
	if err != nil {
		return planned{}, err
	}
	if len(bad) == 0 {
		return nothing("no statement of bucket %s's policy makes %s fail", name, t.v.RuleID)
	}
	var keep []json.RawMessage
	var removed []string
	for i, s := range raw {
		if slices.Contains(bad, i) {
			removed = append(removed, statementName(stmts[i], i))
			continue
		}
		keep = append(keep, s)
	}
	reason := "removes statement(s) " + strings.Join(removed, ", ")
	if len(keep) == 0 {
		in := &s3.DeleteBucketPolicyInput{Bucket: aws.String(name)}
		return planned{calls: []Call{newCall("s3", "DeleteBucketPolicy", "s3:DeleteBucketPolicy", region, api.DeleteBucketPolicy, in)},
			reason: reason + ", the only ones: the policy is deleted", backup: map[string]any{"Policy": aws.ToString(out.Policy)}}, nil
	}
	text, err := joinStatements(top, keep)
	if err != nil {
		return planned{}, fmt.Errorf("policy of bucket %q: %w", name, err)
	}
	in := &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(text)}
	return planned{calls: []Call{newCall("s3", "PutBucketPolicy", "s3:PutBucketPolicy", region, api.PutBucketPolicy, in)},
		reason: reason, backup: map[string]any{"Policy": aws.ToString(out.Policy)}}, nil
}

// splitStatements splits a policy document into its other elements and its
// statements, as written (a single statement object is a list of one).
func splitStatements(policy string) (map[string]json.RawMessage, []json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(policy), &top); err != nil {
		return nil, nil, fmt.Errorf("decode policy: %w", err)
	}
	raw := top["Statement"]
	delete(top, "Statement")
	var list []json.RawMessage
	switch {
	case len(raw) == 0:
	case strings.HasPrefix(strings.TrimSpace(string(raw)), "["):
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, nil, fmt.Errorf("decode statements: %w", err)
		}
	default:
		list = []json.RawMessage{raw}
	}
	return top, list, nil
}

// joinStatements puts a policy document back together.
func joinStatements(top map[string]json.RawMessage, stmts []json.RawMessage) (string, error) {
	out := make(map[string]json.RawMessage, len(top)+1)
	for k, v := range top {
		out[k] = v
	}
	list, err := json.Marshal(stmts)
	if err != nil {
		return "", fmt.Errorf("encode statements: %w", err)
	}
	out["Statement"] = list
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode policy: %w", err)
	}
	return string(b), nil
}

// statementName names a (normalised) statement: its Sid, else its index.
func statementName(stmt any, i int) string {
	m, _ := stmt.(map[string]any)
	if sid := docString(m, "Sid"); sid != "" {
		return sid
	}
	return fmt.Sprintf("#%d (no Sid)", i+1)
}

// s3EncryptionAPI is what s3-restore-default-encryption calls.
type s3EncryptionAPI interface {
	PutBucketEncryption(ctx context.Context, in *s3.PutBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error)
}

// planBucketEncryption gives the bucket's default encryption an algorithm
// where it has none: SSE-S3 (AES256) for a bucket without a rule, and for a
// rule without an algorithm; rules that have one (SSE-KMS with its key) are
// written back as read.
func planBucketEncryption(api s3EncryptionAPI, region string, t *target) (planned, error) {
	name, err := required(t.doc(), "Name")
	if err != nil {
		return planned{}, err
	}
	var rules []s3types.ServerSideEncryptionRule
	fixed := 0
	for _, e := range docList(t.doc(), "Encryption.Rules") {
		m, _ := e.(map[string]any)
		def := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(docString(m, "SSEAlgorithm"))}
		if def.SSEAlgorithm == "" {
			def.SSEAlgorithm, fixed = s3types.ServerSideEncryptionAes256, fixed+1
		} else if k := docString(m, "KMSMasterKeyID"); k != "" {
			def.KMSMasterKeyID = aws.String(k)
		}
		rules = append(rules, s3types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: def, BucketKeyEnabled: aws.Bool(docBool(m, "BucketKeyEnabled"))})
	}
	if len(rules) == 0 {
		rules, fixed = []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}}, 1
	}
	if fixed == 0 && docBool(t.doc(), "Encryption.Configured") {
		return nothing("bucket %s has default encryption", name)
	}
	in := &s3.PutBucketEncryptionInput{Bucket: aws.String(name), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: rules}}
	return planned{calls: []Call{newCall("s3", "PutBucketEncryption", "s3:PutEncryptionConfiguration", region, api.PutBucketEncryption, in)},
		reason: "sets SSE-S3 (AES256) as the default encryption"}, nil
}

// apiErrorCode returns the AWS API error code of err, or "".
func apiErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
