package revert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func ec2Remediations() map[string]remediation {
	return map[string]remediation{
		"ec2-revoke-world-ingress": {types: []string{"AWS::EC2::SecurityGroup"}, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := regionOf(t.res.Ref)
			return r.planRevokeIngress(ctx, r.ec2Client(region), region, t)
		}},
		"ec2-delete-nacl-entry": {types: []string{"AWS::EC2::NetworkAcl"}, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := regionOf(t.res.Ref)
			return r.planDeleteNACLEntries(ctx, r.ec2Client(region), region, t)
		}},
		"ec2-make-snapshot-private": {types: []string{"AWS::EC2::Snapshot"}, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := regionOf(t.res.Ref)
			return planSnapshotPrivate(r.ec2Client(region), region, t)
		}},
		"ec2-make-image-private": {types: []string{"AWS::EC2::Image"}, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := regionOf(t.res.Ref)
			return planImagePrivate(r.ec2Client(region), region, t)
		}},
		"ec2-enable-ebs-default-encryption": {types: []string{"AWS::EC2::EbsEncryptionByDefault"}, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := regionOf(t.res.Ref)
			return planEBSDefaultEncryption(r.ec2Client(region), region, t)
		}},
	}
}

// ec2Client returns the EC2 client of a region.
func (r *Remediator) ec2Client(region string) *ec2.Client {
	return client(r, "ec2", region, func(cfg aws.Config) *ec2.Client { return ec2.NewFromConfig(cfg) })
}

// securityGroupIngressAPI is what ec2-revoke-world-ingress calls.
type securityGroupIngressAPI interface {
	RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
}

// planRevokeIngress revokes, by security group rule ID, each inbound rule
// of the document that makes the failing rule fail on its own (for the
// admin-port rules: a /0 source admitting TCP 22 or 3389; for the database
// rule: a /0 source admitting a database port; ...). Every other rule of
// the group is left as it is.
func (r *Remediator) planRevokeIngress(ctx context.Context, api securityGroupIngressAPI, region string, t *target) (planned, error) {
	id, err := required(t.doc(), "GroupId")
	if err != nil {
		return planned{}, err
	}
	ingress := docList(t.doc(), "SecurityGroupIngress")
	bad, err := r.offending(ctx, t, "SecurityGroupIngress", nil, ingress)
	if err != nil {
		return planned{}, err
	}
	if len(bad) == 0 {
		return nothing("no inbound rule of security group %s makes %s fail", id, t.v.RuleID)
	}
	var ids, described []string
	for _, i := range bad {
		rule, _ := ingress[i].(map[string]any)
		rid := docString(rule, "RuleId")
		if rid == "" {
			return planned{}, fmt.Errorf("inbound rule %s of security group %s has no rule ID to revoke it by", describeIngress(rule), id)
		}
		ids = append(ids, rid)
		described = append(described, rid+" ("+describeIngress(rule)+")")
	}
	in := &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: ids}
	return planned{calls: []Call{newCall("ec2", "RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", region, api.RevokeSecurityGroupIngress, in)},
		reason: "revokes " + strings.Join(described, ", ")}, nil
}

// describeIngress describes an inbound rule of the document:
// "tcp 22-22 from 0.0.0.0/0".
func describeIngress(rule map[string]any) string {
	proto := docString(rule, "IpProtocol")
	what := "all traffic"
	if proto != "-1" {
		what = fmt.Sprintf("%s %d-%d", proto, docInt(rule, "FromPort"), docInt(rule, "ToPort"))
	}
	src := docString(rule, "CidrIp")
	for _, k := range []string{"CidrIpv6", "SourceSecurityGroupId", "SourcePrefixListId"} {
		if src == "" {
			src = docString(rule, k)
		}
	}
	return what + " from " + src
}

// networkACLEntryAPI is what ec2-delete-nacl-entry calls.
type networkACLEntryAPI interface {
	DeleteNetworkAclEntry(ctx context.Context, in *ec2.DeleteNetworkAclEntryInput, optFns ...func(*ec2.Options)) (*ec2.DeleteNetworkAclEntryOutput, error)
}

// planDeleteNACLEntries deletes each inbound allow entry that makes the rule
// fail on its own (judged with every deny and outbound entry in place, since
// a lower-numbered deny shadows an allow).
//
// A network ACL is stateless and usually carries all of a subnet's traffic
// in a few broad entries: deleting an entry that allows all protocols, or a
// port range, would cut far more than SSH and RDP (the default ACL's rule
// 100 carries every inbound flow of its subnets). Such entries are left to
// a person; only single-port entries are deleted.
func (r *Remediator) planDeleteNACLEntries(ctx context.Context, api networkACLEntryAPI, region string, t *target) (planned, error) {
	id, err := required(t.doc(), "NetworkAclId")
	if err != nil {
		return planned{}, err
	}
	var keep, candidates []any
	for _, e := range docList(t.doc(), "Entries") {
		m, _ := e.(map[string]any)
		if !docBool(m, "Egress") && docString(m, "RuleAction") == "allow" {
			candidates = append(candidates, e)
		} else {
			keep = append(keep, e)
		}
	}
	bad, err := r.offending(ctx, t, "Entries", keep, candidates)
	if err != nil {
		return planned{}, err
	}
	if len(bad) == 0 {
		return nothing("no inbound entry of network ACL %s makes %s fail", id, t.v.RuleID)
	}
	var calls []Call
	var described, broad []string
	for _, i := range bad {
		e, _ := candidates[i].(map[string]any)
		n := docInt(e, "RuleNumber")
		desc := fmt.Sprintf("entry %d (%s)", n, describeNACLEntry(e))
		from, to := docInt(e, "PortRange.From"), docInt(e, "PortRange.To")
		if p := docString(e, "Protocol"); (p != "6" && p != "17") || from < 0 || from != to {
			broad = append(broad, desc)
			continue
		}
		described = append(described, desc)
		in := &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(id), RuleNumber: aws.Int32(int32(n)), Egress: aws.Bool(false)}
		calls = append(calls, newCall("ec2", "DeleteNetworkAclEntry", "ec2:DeleteNetworkAclEntry", region, api.DeleteNetworkAclEntry, in))
	}
	if len(broad) > 0 {
		return nothing("network ACL %s: %s also allow(s) traffic other than the offending ports; deleting it would cut that traffic too: "+
			"add a deny entry for the offending ports ahead of it, or narrow it, by hand", id, strings.Join(broad, ", "))
	}
	return planned{calls: calls, reason: "deletes " + strings.Join(described, ", ")}, nil
}

// describeNACLEntry describes an entry: "allow tcp 22-22 from 0.0.0.0/0".
func describeNACLEntry(e map[string]any) string {
	what := "all traffic"
	if p := docString(e, "Protocol"); p != "-1" {
		what = fmt.Sprintf("protocol %s ports %d-%d", p, docInt(e, "PortRange.From"), docInt(e, "PortRange.To"))
	}
	src := docString(e, "CidrBlock")
	if src == "" {
		src = docString(e, "Ipv6CidrBlock")
	}
	return docString(e, "RuleAction") + " " + what + " from " + src
}

// snapshotPermissionAPI is what ec2-make-snapshot-private calls.
type snapshotPermissionAPI interface {
	ModifySnapshotAttribute(ctx context.Context, in *ec2.ModifySnapshotAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifySnapshotAttributeOutput, error)
}

// planSnapshotPrivate removes the group "all" from the snapshot's
// createVolumePermission; the accounts it is shared with keep their access.
func planSnapshotPrivate(api snapshotPermissionAPI, region string, t *target) (planned, error) {
	id, err := required(t.doc(), "SnapshotId")
	if err != nil {
		return planned{}, err
	}
	if !slices.ContainsFunc(docList(t.doc(), "CreateVolumePermissions"), func(p any) bool {
		m, _ := p.(map[string]any)
		return docString(m, "Group") == "all"
	}) {
		return nothing("snapshot %s is not shared with the group all", id)
	}
	in := &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(id), Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission,
		OperationType: ec2types.OperationTypeRemove, GroupNames: []string{"all"}}
	return planned{calls: []Call{newCall("ec2", "ModifySnapshotAttribute", "ec2:ModifySnapshotAttribute", region, api.ModifySnapshotAttribute, in)},
		reason: "removes createVolumePermission group all"}, nil
}

// imagePermissionAPI is what ec2-make-image-private calls.
type imagePermissionAPI interface {
	ModifyImageAttribute(ctx context.Context, in *ec2.ModifyImageAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error)
}

// planImagePrivate removes the group "all" from the AMI's launch
// permission; accounts, organizations and OUs keep theirs.
func planImagePrivate(api imagePermissionAPI, region string, t *target) (planned, error) {
	id, err := required(t.doc(), "ImageId")
	if err != nil {
		return planned{}, err
	}
	public := docBool(t.doc(), "Public") || slices.ContainsFunc(docList(t.doc(), "LaunchPermissions"), func(p any) bool {
		m, _ := p.(map[string]any)
		return docString(m, "Group") == "all"
	})
	if !public {
		return nothing("image %s is not public", id)
	}
	in := &ec2.ModifyImageAttributeInput{ImageId: aws.String(id), LaunchPermission: &ec2types.LaunchPermissionModifications{
		Remove: []ec2types.LaunchPermission{{Group: ec2types.PermissionGroupAll}},
	}}
	return planned{calls: []Call{newCall("ec2", "ModifyImageAttribute", "ec2:ModifyImageAttribute", region, api.ModifyImageAttribute, in)},
		reason: "removes launchPermission group all"}, nil
}

// ebsDefaultEncryptionAPI is what ec2-enable-ebs-default-encryption calls.
type ebsDefaultEncryptionAPI interface {
	EnableEbsEncryptionByDefault(ctx context.Context, in *ec2.EnableEbsEncryptionByDefaultInput, optFns ...func(*ec2.Options)) (*ec2.EnableEbsEncryptionByDefaultOutput, error)
}

// planEBSDefaultEncryption turns EBS encryption by default back on in the
// region; the default KMS key is left as it is.
func planEBSDefaultEncryption(api ebsDefaultEncryptionAPI, region string, t *target) (planned, error) {
	if _, ok := t.doc()["Enabled"].(bool); !ok {
		return planned{}, errors.New("the document has no Enabled")
	}
	if docBool(t.doc(), "Enabled") {
		return nothing("EBS encryption by default is on in %s", region)
	}
	in := &ec2.EnableEbsEncryptionByDefaultInput{}
	return planned{calls: []Call{newCall("ec2", "EnableEbsEncryptionByDefault", "ec2:EnableEbsEncryptionByDefault", region, api.EnableEbsEncryptionByDefault, in)},
		reason: "turns EBS encryption by default on"}, nil
}
