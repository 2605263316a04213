package aws

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// ec2Fetchers are the readers of ec2 resource types.
func ec2Fetchers() map[string]fetchFunc {
	return map[string]fetchFunc{
		"AWS::EC2::SecurityGroup": func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			id, region, err := ec2RefID(ref, "security-group/")
			if err != nil {
				return nil, nil, false, err
			}
			return readSecurityGroup(ctx, ec2Client(r, region), id)
		},
		"AWS::EC2::NetworkAcl": func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			id, region, err := ec2RefID(ref, "network-acl/")
			if err != nil {
				return nil, nil, false, err
			}
			return readNetworkACL(ctx, ec2Client(r, region), id)
		},
		"AWS::EC2::Snapshot": func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			id, region, err := ec2RefID(ref, "snapshot/")
			if err != nil {
				return nil, nil, false, err
			}
			return readEBSSnapshot(ctx, ec2Client(r, region), id)
		},
		"AWS::EC2::Image": func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			id, region, err := ec2RefID(ref, "image/")
			if err != nil {
				return nil, nil, false, err
			}
			return readAMI(ctx, ec2Client(r, region), id)
		},
		"AWS::EC2::EbsEncryptionByDefault": func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			_, region, err := ec2RefID(ref, "ebs-encryption-by-default")
			if err != nil {
				return nil, nil, false, err
			}
			return readEBSEncryptionByDefault(ctx, ec2Client(r, region))
		},
	}
}

// ec2Client returns the cached EC2 client of a region.
func ec2Client(r *Reader, region string) *ec2.Client {
	return client(r, "ec2", region, func(cfg aws.Config) *ec2.Client { return ec2.NewFromConfig(cfg) })
}

// ec2RefID splits an EC2 ARN (arn:aws:ec2:us-east-1:123456789012:security-group/sg-1)
// into the ID after prefix and the region (the ARN's, else the ref's).
func ec2RefID(ref resource.Ref, prefix string) (id, region string, err error) {
	a, err := arn.Parse(ref.ID)
	if err != nil {
		return "", "", fmt.Errorf("parse %s ARN %q: %w", ref.Type, ref.ID, err)
	}
	id, ok := strings.CutPrefix(a.Resource, prefix)
	// A prefix ending in "/" is followed by an ID; any other names a
	// singleton setting and is the whole resource.
	if strings.HasSuffix(prefix, "/") {
		ok = ok && id != ""
	} else {
		ok = ok && id == ""
	}
	if a.Service != "ec2" || !ok {
		return "", "", fmt.Errorf("%s ARN %q does not name an ec2 %s resource", ref.Type, ref.ID, strings.TrimSuffix(prefix, "/"))
	}
	region = cmp.Or(a.Region, ref.Region)
	return id, region, nil
}

// ec2Tags maps EC2 tags to a map.
func ec2Tags(in []types.Tag) map[string]string {
	out := make(map[string]string, len(in))
	for _, t := range in {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// ec2Int returns the value of an optional EC2 integer, or -1 when absent
// (EC2's own spelling of "all" for ports and ICMP types).
func ec2Int(p *int32) int64 {
	if p == nil {
		return -1
	}
	return int64(*p)
}

// securityGroupAPI is what readSecurityGroup calls.
type securityGroupAPI interface {
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	DescribeSecurityGroupRules(ctx context.Context, in *ec2.DescribeSecurityGroupRulesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error)
}

// readSecurityGroup reads a security group and its rules. The group comes
// from DescribeSecurityGroups; the rules from DescribeSecurityGroupRules,
// which lists one rule per (permission × source) with its rule ID.
func readSecurityGroup(ctx context.Context, api securityGroupAPI, id string) (map[string]any, map[string]string, bool, error) {
	out, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if errorCodeIs(err, "InvalidGroup.NotFound") {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe security group %q: %w", id, err)
	}
	i := slices.IndexFunc(out.SecurityGroups, func(g types.SecurityGroup) bool { return aws.ToString(g.GroupId) == id })
	if i < 0 {
		return nil, nil, false, nil
	}
	g := out.SecurityGroups[i]

	ingress, egress := []any{}, []any{}
	var rules []types.SecurityGroupRule
	p := ec2.NewDescribeSecurityGroupRulesPaginator(api, &ec2.DescribeSecurityGroupRulesInput{
		Filters:    []types.Filter{{Name: aws.String("group-id"), Values: []string{id}}},
		MaxResults: aws.Int32(1000),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if errorCodeIs(err, "InvalidGroup.NotFound") {
			return nil, nil, false, nil
		}
		if err != nil {
			return nil, nil, false, fmt.Errorf("describe rules of security group %q: %w", id, err)
		}
		rules = append(rules, page.SecurityGroupRules...)
	}
	slices.SortStableFunc(rules, func(a, b types.SecurityGroupRule) int {
		return strings.Compare(aws.ToString(a.SecurityGroupRuleId), aws.ToString(b.SecurityGroupRuleId))
	})
	for _, rule := range rules {
		if aws.ToString(rule.GroupId) != "" && aws.ToString(rule.GroupId) != id {
			continue
		}
		if aws.ToBool(rule.IsEgress) {
			egress = append(egress, securityGroupRuleDoc(rule, "Destination"))
		} else {
			ingress = append(ingress, securityGroupRuleDoc(rule, "Source"))
		}
	}

	name := aws.ToString(g.GroupName)
	doc := map[string]any{
		"GroupId":              id,
		"GroupName":            name,
		"VpcId":                aws.ToString(g.VpcId),
		"OwnerId":              aws.ToString(g.OwnerId),
		"Description":          aws.ToString(g.Description),
		"IsDefault":            name == "default",
		"SecurityGroupIngress": ingress,
		"SecurityGroupEgress":  egress,
	}
	return doc, ec2Tags(g.Tags), true, nil
}

// securityGroupRuleDoc maps one rule; peer is "Source" (ingress) or
// "Destination" (egress), as in CloudFormation's property names.
func securityGroupRuleDoc(r types.SecurityGroupRule, peer string) map[string]any {
	proto := securityGroupProtocol(aws.ToString(r.IpProtocol))
	from, to := ec2Int(r.FromPort), ec2Int(r.ToPort)
	if proto == "-1" {
		from, to = -1, -1
	}
	var groupID, groupOwner string
	if g := r.ReferencedGroupInfo; g != nil {
		groupID, groupOwner = aws.ToString(g.GroupId), aws.ToString(g.UserId)
	}
	doc := map[string]any{
		"RuleId":                 aws.ToString(r.SecurityGroupRuleId),
		"IpProtocol":             proto,
		"FromPort":               from,
		"ToPort":                 to,
		"CidrIp":                 aws.ToString(r.CidrIpv4),
		"CidrIpv6":               aws.ToString(r.CidrIpv6),
		peer + "SecurityGroupId": groupID,
		peer + "PrefixListId":    aws.ToString(r.PrefixListId),
		"Description":            aws.ToString(r.Description),
	}
	if peer == "Source" {
		doc["SourceSecurityGroupOwnerId"] = groupOwner
	}
	return doc
}

// securityGroupProtocol spells a security group protocol the way
// DescribeSecurityGroups does: "-1" for all, names for tcp, udp, icmp and
// icmpv6 (even when the rule was written with their numbers), else the
// protocol number.
func securityGroupProtocol(p string) string {
	switch p = strings.ToLower(p); p {
	case "", "-1", "all":
		return "-1"
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "icmpv6"
	}
	return p
}

// networkACLAPI is what readNetworkACL calls.
type networkACLAPI interface {
	DescribeNetworkAcls(ctx context.Context, in *ec2.DescribeNetworkAclsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error)
}

// readNetworkACL reads a network ACL with its entries.
func readNetworkACL(ctx context.Context, api networkACLAPI, id string) (map[string]any, map[string]string, bool, error) {
	out, err := api.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{id}})
	if errorCodeIs(err, "InvalidNetworkAclID.NotFound") {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe network acl %q: %w", id, err)
	}
	i := slices.IndexFunc(out.NetworkAcls, func(a types.NetworkAcl) bool { return aws.ToString(a.NetworkAclId) == id })
	if i < 0 {
		return nil, nil, false, nil
	}
	acl := out.NetworkAcls[i]

	entries := slices.Clone(acl.Entries)
	// Ingress first, then egress; each in evaluation order.
	slices.SortStableFunc(entries, func(a, b types.NetworkAclEntry) int {
		if ea, eb := aws.ToBool(a.Egress), aws.ToBool(b.Egress); ea != eb {
			if eb {
				return -1
			}
			return 1
		}
		return cmp.Compare(aws.ToInt32(a.RuleNumber), aws.ToInt32(b.RuleNumber))
	})
	docs := make([]any, 0, len(entries))
	for _, e := range entries {
		docs = append(docs, networkACLEntryDoc(e))
	}
	subnets := []any{}
	for _, a := range acl.Associations {
		if s := aws.ToString(a.SubnetId); s != "" {
			subnets = append(subnets, s)
		}
	}
	doc := map[string]any{
		"NetworkAclId": id,
		"VpcId":        aws.ToString(acl.VpcId),
		"OwnerId":      aws.ToString(acl.OwnerId),
		"IsDefault":    aws.ToBool(acl.IsDefault),
		"SubnetIds":    subnets,
		"Entries":      docs,
	}
	return doc, ec2Tags(acl.Tags), true, nil
}

// networkACLEntryDoc maps one entry. PortRange is {-1, -1} (every port)
// unless the entry is a TCP or UDP entry with a port range; IcmpTypeCode is
// {-1, -1} unless set.
func networkACLEntryDoc(e types.NetworkAclEntry) map[string]any {
	proto := networkACLProtocol(aws.ToString(e.Protocol))
	from, to := int64(-1), int64(-1)
	if pr := e.PortRange; pr != nil && (proto == "6" || proto == "17") {
		from, to = ec2Int(pr.From), ec2Int(pr.To)
	}
	icmpType, icmpCode := int64(-1), int64(-1)
	if ic := e.IcmpTypeCode; ic != nil {
		icmpType, icmpCode = ec2Int(ic.Type), ec2Int(ic.Code)
	}
	return map[string]any{
		"RuleNumber":    int64(aws.ToInt32(e.RuleNumber)),
		"Protocol":      proto,
		"RuleAction":    strings.ToLower(string(e.RuleAction)),
		"Egress":        aws.ToBool(e.Egress),
		"CidrBlock":     aws.ToString(e.CidrBlock),
		"Ipv6CidrBlock": aws.ToString(e.Ipv6CidrBlock),
		"PortRange":     map[string]any{"From": from, "To": to},
		"IcmpTypeCode":  map[string]any{"Type": icmpType, "Code": icmpCode},
	}
}

// networkACLProtocol spells a network ACL protocol the way
// DescribeNetworkAcls does: "-1" for all, else the protocol number (names
// such as "tcp" are turned into their numbers).
func networkACLProtocol(p string) string {
	switch p = strings.ToLower(p); p {
	case "", "-1", "all":
		return "-1"
	case "tcp":
		return "6"
	case "udp":
		return "17"
	case "icmp":
		return "1"
	case "icmpv6":
		return "58"
	}
	return p
}

// ebsSnapshotAPI is what readEBSSnapshot calls.
type ebsSnapshotAPI interface {
	DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
	DescribeSnapshotAttribute(ctx context.Context, in *ec2.DescribeSnapshotAttributeInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSnapshotAttributeOutput, error)
}

// readEBSSnapshot reads an EBS snapshot and who may create volumes from it.
func readEBSSnapshot(ctx context.Context, api ebsSnapshotAPI, id string) (map[string]any, map[string]string, bool, error) {
	out, err := api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
	if errorCodeIs(err, "InvalidSnapshot.NotFound") {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe snapshot %q: %w", id, err)
	}
	i := slices.IndexFunc(out.Snapshots, func(s types.Snapshot) bool { return aws.ToString(s.SnapshotId) == id })
	if i < 0 {
		return nil, nil, false, nil
	}
	s := out.Snapshots[i]

	attr, err := api.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{
		SnapshotId: aws.String(id),
		Attribute:  types.SnapshotAttributeNameCreateVolumePermission,
	})
	if errorCodeIs(err, "InvalidSnapshot.NotFound") {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe create-volume permissions of snapshot %q: %w", id, err)
	}
	perms := make([]any, 0, len(attr.CreateVolumePermissions))
	for _, p := range attr.CreateVolumePermissions {
		perms = append(perms, map[string]any{"Group": string(p.Group), "UserId": aws.ToString(p.UserId)})
	}
	doc := map[string]any{
		"SnapshotId":              id,
		"VolumeId":                aws.ToString(s.VolumeId),
		"Description":             aws.ToString(s.Description),
		"OwnerId":                 aws.ToString(s.OwnerId),
		"State":                   string(s.State),
		"Encrypted":               aws.ToBool(s.Encrypted),
		"KmsKeyId":                aws.ToString(s.KmsKeyId),
		"CreateVolumePermissions": perms,
	}
	return doc, ec2Tags(s.Tags), true, nil
}

// amiAPI is what readAMI calls.
type amiAPI interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	DescribeImageAttribute(ctx context.Context, in *ec2.DescribeImageAttributeInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error)
}

// amiGone are the error codes of an AMI that does not exist (any more).
var amiGone = []string{"InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"}

// readAMI reads an AMI and its launch permissions. A deregistered AMI
// (still listed for a while after DeregisterImage) does not exist.
func readAMI(ctx context.Context, api amiAPI, id string) (map[string]any, map[string]string, bool, error) {
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if errorCodeIs(err, amiGone...) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe image %q: %w", id, err)
	}
	i := slices.IndexFunc(out.Images, func(im types.Image) bool { return aws.ToString(im.ImageId) == id })
	if i < 0 || out.Images[i].State == types.ImageStateDeregistered {
		return nil, nil, false, nil
	}
	im := out.Images[i]

	attr, err := api.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{
		ImageId:   aws.String(id),
		Attribute: types.ImageAttributeNameLaunchPermission,
	})
	if errorCodeIs(err, amiGone...) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe launch permissions of image %q: %w", id, err)
	}
	perms := make([]any, 0, len(attr.LaunchPermissions))
	for _, p := range attr.LaunchPermissions {
		perms = append(perms, map[string]any{
			"Group":                 string(p.Group),
			"UserId":                aws.ToString(p.UserId),
			"OrganizationArn":       aws.ToString(p.OrganizationArn),
			"OrganizationalUnitArn": aws.ToString(p.OrganizationalUnitArn),
		})
	}
	doc := map[string]any{
		"ImageId":           id,
		"Name":              aws.ToString(im.Name),
		"Description":       aws.ToString(im.Description),
		"OwnerId":           aws.ToString(im.OwnerId),
		"State":             string(im.State),
		"Public":            aws.ToBool(im.Public),
		"LaunchPermissions": perms,
	}
	return doc, ec2Tags(im.Tags), true, nil
}

// ebsDefaultAPI is what readEBSEncryptionByDefault calls.
type ebsDefaultAPI interface {
	GetEbsEncryptionByDefault(ctx context.Context, in *ec2.GetEbsEncryptionByDefaultInput, optFns ...func(*ec2.Options)) (*ec2.GetEbsEncryptionByDefaultOutput, error)
}

// readEBSEncryptionByDefault reads the region's EBS encryption-by-default
// setting, which always exists.
func readEBSEncryptionByDefault(ctx context.Context, api ebsDefaultAPI) (map[string]any, map[string]string, bool, error) {
	out, err := api.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if err != nil {
		return nil, nil, false, fmt.Errorf("get ebs encryption by default: %w", err)
	}
	return map[string]any{"Enabled": aws.ToBool(out.EbsEncryptionByDefault)}, nil, true, nil
}

// ec2Actions are the IAM actions behind the EC2 calls above; each is named
// after its operation.
var ec2Actions = operationActions{
	"ec2.DescribeSecurityGroups":     {"ec2:DescribeSecurityGroups"},
	"ec2.DescribeSecurityGroupRules": {"ec2:DescribeSecurityGroupRules"},
	"ec2.DescribeNetworkAcls":        {"ec2:DescribeNetworkAcls"},
	"ec2.DescribeSnapshots":          {"ec2:DescribeSnapshots"},
	"ec2.DescribeSnapshotAttribute":  {"ec2:DescribeSnapshotAttribute"},
	"ec2.DescribeImages":             {"ec2:DescribeImages"},
	"ec2.DescribeImageAttribute":     {"ec2:DescribeImageAttribute"},
	"ec2.GetEbsEncryptionByDefault":  {"ec2:GetEbsEncryptionByDefault"},
}
