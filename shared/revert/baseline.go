package revert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/driftwatch/driftwatch/shared/policy"
)

// RestoreBaseline is the remediation of rules of kind baseline: it puts
// back the approved document (Options.Baselines) on the watched parts
// where restoring is well defined.
const RestoreBaseline = "restore-baseline"

// Resource types restore-baseline applies to.
const (
	securityGroupType = "AWS::EC2::SecurityGroup"
	kmsKeyType        = "AWS::KMS::Key"
	trailType         = "AWS::CloudTrail::Trail"
)

// restorable are, per resource type, the top-level properties
// restore-baseline puts back. Any other watched difference is left to a
// person (and the re-read then still fails the rule).
var restorable = map[string][]string{
	securityGroupType: {"SecurityGroupIngress", "SecurityGroupEgress"},
	s3BucketType:      {"PublicAccessBlock", "Encryption", "Policy"},
	kmsKeyType:        {"RotationEnabled", "RotationPeriodInDays"},
	trailType:         {"IsLogging", "LogFileValidationEnabled", "IsMultiRegionTrail"},
}

func baselineRemediations() map[string]remediation {
	return map[string]remediation{
		RestoreBaseline: {types: []string{securityGroupType, s3BucketType, kmsKeyType, trailType}, plan: planRestoreBaseline},
	}
}

// planRestoreBaseline computes, from the live document (the target's) and
// the approved one, the calls that make the watched restorable properties
// equal to the approved ones.
func planRestoreBaseline(ctx context.Context, r *Remediator, t *target) (planned, error) {
	rule := t.v.Rule
	if rule == nil || rule.Kind != policy.KindBaseline {
		return planned{}, fmt.Errorf("rule %s is not of kind %s: %w", t.v.RuleID, policy.KindBaseline, ErrNotApplicable)
	}
	if r.opts.Baselines == nil {
		return planned{}, errors.New("no baseline source is configured (revert.Options.Baselines)")
	}
	approved, ok, err := r.opts.Baselines.Approved(ctx, t.res.Ref)
	if err != nil {
		return planned{}, fmt.Errorf("look up the approved baseline of %s: %w", t.res.Ref.ID, err)
	}
	if !ok {
		return nothing("%s has no approved baseline", t.res.Ref.ID)
	}
	return planRestore(r, t, approved, rule.Watch)
}

// planRestore plans the restore of the watched restorable properties of
// t's document to approved.
func planRestore(r *Remediator, t *target, approved map[string]any, watch []string) (planned, error) {
	live := t.doc()
	var props, manual []string
	for _, d := range policy.Diff(approved, live, watch) {
		prop, _, _ := strings.Cut(d.Path, ".")
		if !slices.Contains(restorable[t.res.Ref.Type], prop) {
			manual = append(manual, d.Path)
			continue
		}
		if !slices.Contains(props, prop) {
			props = append(props, prop)
		}
	}
	// In the order of restorable: Block Public Access before the policy,
	// so that an approved public policy goes back only once the approved
	// setting that admits it is back (and a private one after the block).
	order := restorable[t.res.Ref.Type]
	slices.SortFunc(props, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	var (
		out planned
		err error
	)
	if len(props) > 0 {
		switch t.res.Ref.Type {
		case securityGroupType:
			region := regionOf(t.res.Ref)
			out, err = planRestoreSecurityGroup(r.ec2Client(region), region, live, approved, props)
		case s3BucketType:
			region := s3Region(t)
			out, err = planRestoreBucket(r.s3Client(region), region, live, approved, props)
		case kmsKeyType:
			region := regionOf(t.res.Ref)
			out, err = planRestoreKeyRotation(r.kmsClient(region), region, kmsKeyID(t), live, approved)
		case trailType:
			region := trailRegion(t)
			out, err = planRestoreTrail(r.cloudtrailClient(region), region, trailName(t), approved, props)
		}
		if err != nil {
			return planned{}, err
		}
	}
	if len(manual) > 0 {
		note := "left to a person (not restored automatically): " + strings.Join(manual, ", ")
		if out.reason != "" {
			out.reason += "; " + note
		} else {
			out.reason = note
		}
	}
	if len(out.calls) == 0 && out.reason == "" {
		out.reason = fmt.Sprintf("%s equals its approved baseline on %s", t.res.Ref.ID, strings.Join(watch, ", "))
	}
	return out, nil
}

// securityGroupRulesAPI is what restore-baseline calls on a security group.
type securityGroupRulesAPI interface {
	RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
	AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupEgress(ctx context.Context, in *ec2.RevokeSecurityGroupEgressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupEgressOutput, error)
	AuthorizeSecurityGroupEgress(ctx context.Context, in *ec2.AuthorizeSecurityGroupEgressInput, optFns ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupEgressOutput, error)
}

// planRestoreSecurityGroup revokes, by rule ID, the rules of the live
// group whose content the baseline does not have, then authorizes the
// baseline's rules the group lacks. Rules are matched by content (protocol,
// ports, the one source or destination, description), not by rule ID,
// which a rule authorized again gets anew. Rules present in both are not
// touched.
func planRestoreSecurityGroup(api securityGroupRulesAPI, region string, live, approved map[string]any, props []string) (planned, error) {
	id, err := required(live, "GroupId")
	if err != nil {
		return planned{}, err
	}
	var out planned
	var said []string
	for _, prop := range props {
		egress := prop == "SecurityGroupEgress"
		revoke, authorize := ruleDelta(docList(approved, prop), docList(live, prop))
		var ids []string
		for _, rule := range revoke {
			rid := docString(rule, "RuleId")
			if rid == "" {
				return planned{}, fmt.Errorf("rule %s of security group %s has no rule ID to revoke it by", describeRule(rule, egress), id)
			}
			ids = append(ids, rid)
			said = append(said, "revokes "+rid+" ("+describeRule(rule, egress)+")")
		}
		var perms []ec2types.IpPermission
		for _, rule := range authorize {
			perms = append(perms, ipPermission(rule, egress))
			said = append(said, "authorizes "+describeRule(rule, egress))
		}
		switch {
		case egress && len(ids) > 0:
			out.calls = append(out.calls, newCall("ec2", "RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress", region, api.RevokeSecurityGroupEgress,
				&ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(id), SecurityGroupRuleIds: ids}))
		case len(ids) > 0:
			out.calls = append(out.calls, newCall("ec2", "RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", region, api.RevokeSecurityGroupIngress,
				&ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: ids}))
		}
		switch {
		case egress && len(perms) > 0:
			out.calls = append(out.calls, newCall("ec2", "AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupEgress", region, api.AuthorizeSecurityGroupEgress,
				&ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: perms}))
		case len(perms) > 0:
			out.calls = append(out.calls, newCall("ec2", "AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupIngress", region, api.AuthorizeSecurityGroupIngress,
				&ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perms}))
		}
	}
	out.reason = "restores the approved rules: " + strings.Join(said, ", ")
	return out, nil
}

// ruleKeys are the properties of a security group rule that make its
// content (its RuleId is its identity).
var ruleKeys = []string{"IpProtocol", "FromPort", "ToPort", "CidrIp", "CidrIpv6",
	"SourceSecurityGroupId", "SourceSecurityGroupOwnerId", "SourcePrefixListId",
	"DestinationSecurityGroupId", "DestinationPrefixListId", "Description"}

// ruleContent is a rule's content as a comparable text.
func ruleContent(rule map[string]any) string {
	c := make(map[string]any, len(ruleKeys))
	for _, k := range ruleKeys {
		switch v, ok := rule[k]; {
		case !ok:
		case k == "FromPort" || k == "ToPort":
			c[k] = docInt(rule, k) // an int64 or a float64 of the same port
		default:
			c[k] = v
		}
	}
	b, _ := json.Marshal(c) // a document marshals
	return string(b)
}

// ruleDelta returns the live rules whose content the approved list lacks
// (to revoke) and the approved rules the live list lacks (to authorize),
// counting duplicates.
func ruleDelta(approved, live []any) (revoke, authorize []map[string]any) {
	count := map[string]int{}
	for _, e := range approved {
		m, _ := e.(map[string]any)
		count[ruleContent(m)]++
	}
	for _, e := range live {
		m, _ := e.(map[string]any)
		if k := ruleContent(m); count[k] > 0 {
			count[k]--
			continue
		}
		revoke = append(revoke, m)
	}
	for _, e := range approved {
		m, _ := e.(map[string]any)
		if k := ruleContent(m); count[k] > 0 {
			count[k]--
			authorize = append(authorize, m)
		}
	}
	return revoke, authorize
}

// describeRule describes a rule of the document: "tcp 22-22 from
// 0.0.0.0/0", "all traffic to sg-1".
func describeRule(rule map[string]any, egress bool) string {
	if !egress {
		return describeIngress(rule)
	}
	proto := docString(rule, "IpProtocol")
	what := "all traffic"
	if proto != "-1" {
		what = fmt.Sprintf("%s %d-%d", proto, docInt(rule, "FromPort"), docInt(rule, "ToPort"))
	}
	dst := ""
	for _, k := range []string{"CidrIp", "CidrIpv6", "DestinationSecurityGroupId", "DestinationPrefixListId"} {
		if dst == "" {
			dst = docString(rule, k)
		}
	}
	return what + " to " + dst
}

// ipPermission is the permission that authorizes one rule of the document.
func ipPermission(rule map[string]any, egress bool) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(docString(rule, "IpProtocol"))}
	if docString(rule, "IpProtocol") != "-1" {
		p.FromPort, p.ToPort = aws.Int32(int32(docInt(rule, "FromPort"))), aws.Int32(int32(docInt(rule, "ToPort")))
	}
	desc := func() *string {
		if d := docString(rule, "Description"); d != "" {
			return aws.String(d)
		}
		return nil
	}
	group, prefixList := "SourceSecurityGroupId", "SourcePrefixListId"
	if egress {
		group, prefixList = "DestinationSecurityGroupId", "DestinationPrefixListId"
	}
	switch {
	case docString(rule, "CidrIp") != "":
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(docString(rule, "CidrIp")), Description: desc()}}
	case docString(rule, "CidrIpv6") != "":
		p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(docString(rule, "CidrIpv6")), Description: desc()}}
	case docString(rule, group) != "":
		pair := ec2types.UserIdGroupPair{GroupId: aws.String(docString(rule, group)), Description: desc()}
		if owner := docString(rule, "SourceSecurityGroupOwnerId"); owner != "" {
			pair.UserId = aws.String(owner)
		}
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{pair}
	case docString(rule, prefixList) != "":
		p.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: aws.String(docString(rule, prefixList)), Description: desc()}}
	}
	return p
}

// s3RestoreAPI is what restore-baseline calls on a bucket.
type s3RestoreAPI interface {
	PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
	DeletePublicAccessBlock(ctx context.Context, in *s3.DeletePublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.DeletePublicAccessBlockOutput, error)
	PutBucketEncryption(ctx context.Context, in *s3.PutBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error)
	DeleteBucketEncryption(ctx context.Context, in *s3.DeleteBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketEncryptionOutput, error)
	PutBucketPolicy(ctx context.Context, in *s3.PutBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error)
	DeleteBucketPolicy(ctx context.Context, in *s3.DeleteBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketPolicyOutput, error)
}

// planRestoreBucket puts the approved Block Public Access setting, default
// encryption and bucket policy back, each only if it differs; a setting
// the baseline did not have is deleted.
func planRestoreBucket(api s3RestoreAPI, region string, live, approved map[string]any, props []string) (planned, error) {
	name, err := required(live, "Name")
	if err != nil {
		return planned{}, err
	}
	bucket := aws.String(name)
	var out planned
	var said []string
	for _, prop := range props {
		configured := docBool(approved, prop+".Configured")
		switch {
		case prop == "PublicAccessBlock" && configured:
			in := &s3.PutPublicAccessBlockInput{Bucket: bucket, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
				BlockPublicAcls: aws.Bool(docBool(approved, "PublicAccessBlock.BlockPublicAcls")), IgnorePublicAcls: aws.Bool(docBool(approved, "PublicAccessBlock.IgnorePublicAcls")),
				BlockPublicPolicy: aws.Bool(docBool(approved, "PublicAccessBlock.BlockPublicPolicy")), RestrictPublicBuckets: aws.Bool(docBool(approved, "PublicAccessBlock.RestrictPublicBuckets")),
			}}
			out.calls = append(out.calls, newCall("s3", "PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock", region, api.PutPublicAccessBlock, in))
			said = append(said, "puts the approved Block Public Access setting back")
		case prop == "PublicAccessBlock":
			out.calls = append(out.calls, newCall("s3", "DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock", region, api.DeletePublicAccessBlock,
				&s3.DeletePublicAccessBlockInput{Bucket: bucket}))
			said = append(said, "deletes the bucket's Block Public Access setting, which the baseline did not have")
		case prop == "Encryption" && configured:
			var rules []s3types.ServerSideEncryptionRule
			for _, e := range docList(approved, "Encryption.Rules") {
				m, _ := e.(map[string]any)
				def := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(docString(m, "SSEAlgorithm"))}
				if k := docString(m, "KMSMasterKeyID"); k != "" {
					def.KMSMasterKeyID = aws.String(k)
				}
				rules = append(rules, s3types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: def, BucketKeyEnabled: aws.Bool(docBool(m, "BucketKeyEnabled"))})
			}
			in := &s3.PutBucketEncryptionInput{Bucket: bucket, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: rules}}
			out.calls = append(out.calls, newCall("s3", "PutBucketEncryption", "s3:PutEncryptionConfiguration", region, api.PutBucketEncryption, in))
			said = append(said, "puts the approved default encryption back")
		case prop == "Encryption":
			out.calls = append(out.calls, newCall("s3", "DeleteBucketEncryption", "s3:PutEncryptionConfiguration", region, api.DeleteBucketEncryption,
				&s3.DeleteBucketEncryptionInput{Bucket: bucket}))
			said = append(said, "deletes the default encryption, which the baseline did not have")
		case prop == "Policy" && configured:
			text, err := policyText(docMap(approved, "Policy.Document"))
			if err != nil {
				return planned{}, fmt.Errorf("approved policy of bucket %q: %w", name, err)
			}
			out.calls = append(out.calls, newCall("s3", "PutBucketPolicy", "s3:PutBucketPolicy", region, api.PutBucketPolicy,
				&s3.PutBucketPolicyInput{Bucket: bucket, Policy: aws.String(text)}))
			said = append(said, "puts the approved bucket policy back")
		case prop == "Policy":
			out.calls = append(out.calls, newCall("s3", "DeleteBucketPolicy", "s3:DeleteBucketPolicy", region, api.DeleteBucketPolicy,
				&s3.DeleteBucketPolicyInput{Bucket: bucket}))
			said = append(said, "deletes the bucket policy, which the baseline did not have")
		}
		if prop == "Policy" && docBool(live, "Policy.Configured") {
			out.backup = map[string]any{"Policy": docMap(live, "Policy.Document")}
		}
	}
	out.reason = strings.Join(said, ", ")
	return out, nil
}

// policyText writes a policy of the canonical form (package iampolicy)
// back as a policy document: the empty elements the canonical form adds
// (an absent Principal is {}, an absent NotAction []) are left out, as
// IAM rejects some of them (a Principal next to a NotPrincipal).
func policyText(doc map[string]any) (string, error) {
	if doc == nil {
		return "", errors.New("no policy document")
	}
	b, err := json.Marshal(withoutEmpty(doc))
	if err != nil {
		return "", fmt.Errorf("encode policy: %w", err)
	}
	return string(b), nil
}

// withoutEmpty drops empty strings, lists and maps from a decoded document.
func withoutEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e = withoutEmpty(e); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if e = withoutEmpty(e); e != nil {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}

// kmsRestoreRotationAPI is what restore-baseline calls on a KMS key.
type kmsRestoreRotationAPI interface {
	EnableKeyRotation(ctx context.Context, in *kms.EnableKeyRotationInput, optFns ...func(*kms.Options)) (*kms.EnableKeyRotationOutput, error)
	DisableKeyRotation(ctx context.Context, in *kms.DisableKeyRotationInput, optFns ...func(*kms.Options)) (*kms.DisableKeyRotationOutput, error)
}

// planRestoreKeyRotation turns automatic rotation on (with the approved
// period) or off, to match the baseline.
func planRestoreKeyRotation(api kmsRestoreRotationAPI, region, id string, live, approved map[string]any) (planned, error) {
	if !docBool(approved, "RotationEnabled") {
		return planned{calls: []Call{newCall("kms", "DisableKeyRotation", "kms:DisableKeyRotation", region, api.DisableKeyRotation,
			&kms.DisableKeyRotationInput{KeyId: aws.String(id)})}, reason: "turns automatic rotation off, as approved"}, nil
	}
	if state := docString(live, "KeyState"); state != "Enabled" {
		return nothing("key %s is %s: KMS turns rotation on only for an enabled key", id, state)
	}
	in := &kms.EnableKeyRotationInput{KeyId: aws.String(id)}
	if p := docInt(approved, "RotationPeriodInDays"); p > 0 && p != docInt(live, "RotationPeriodInDays") {
		in.RotationPeriodInDays = aws.Int32(int32(p))
	}
	return planned{calls: []Call{newCall("kms", "EnableKeyRotation", "kms:EnableKeyRotation", region, api.EnableKeyRotation, in)},
		reason: "turns automatic rotation on, as approved"}, nil
}

// cloudtrailRestoreAPI is what restore-baseline calls on a trail.
type cloudtrailRestoreAPI interface {
	StartLogging(ctx context.Context, in *cloudtrail.StartLoggingInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.StartLoggingOutput, error)
	StopLogging(ctx context.Context, in *cloudtrail.StopLoggingInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.StopLoggingOutput, error)
	UpdateTrail(ctx context.Context, in *cloudtrail.UpdateTrailInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.UpdateTrailOutput, error)
}

// planRestoreTrail puts the approved log file validation and multi-Region
// settings back in one UpdateTrail (which changes only the parameters it
// is given), then starts or stops logging to match the baseline.
func planRestoreTrail(api cloudtrailRestoreAPI, region, name string, approved map[string]any, props []string) (planned, error) {
	var out planned
	var said []string
	update := &cloudtrail.UpdateTrailInput{Name: aws.String(name)}
	if slices.Contains(props, "LogFileValidationEnabled") {
		update.EnableLogFileValidation = aws.Bool(docBool(approved, "LogFileValidationEnabled"))
		said = append(said, fmt.Sprintf("sets log file validation to %t", *update.EnableLogFileValidation))
	}
	if slices.Contains(props, "IsMultiRegionTrail") {
		update.IsMultiRegionTrail = aws.Bool(docBool(approved, "IsMultiRegionTrail"))
		said = append(said, fmt.Sprintf("sets multi-Region to %t", *update.IsMultiRegionTrail))
	}
	if update.EnableLogFileValidation != nil || update.IsMultiRegionTrail != nil {
		out.calls = append(out.calls, newCall("cloudtrail", "UpdateTrail", "cloudtrail:UpdateTrail", region, api.UpdateTrail, update))
	}
	if slices.Contains(props, "IsLogging") {
		if docBool(approved, "IsLogging") {
			out.calls = append(out.calls, newCall("cloudtrail", "StartLogging", "cloudtrail:StartLogging", region, api.StartLogging,
				&cloudtrail.StartLoggingInput{Name: aws.String(name)}))
			said = append(said, "starts logging")
		} else {
			out.calls = append(out.calls, newCall("cloudtrail", "StopLogging", "cloudtrail:StopLogging", region, api.StopLogging,
				&cloudtrail.StopLoggingInput{Name: aws.String(name)}))
			said = append(said, "stops logging, as approved")
		}
	}
	out.reason = strings.Join(said, ", ")
	return out, nil
}
