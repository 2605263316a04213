package detect

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/shared/policy"
)

// The EC2 scenarios make each change in moto through the SDK, then feed the
// CloudTrail record of that change (the shape CloudTrail writes: XML-derived
// {"items": [...]} lists, flat AuthorizeSecurityGroupIngress parameters,
// response rule sets) with moto's IDs substituted. Each scenario uses a VPC
// of its own, so that they do not see each other's resources.

const ec2Source = "ec2.amazonaws.com"

// ec2Env is the pipeline of newMotoEnv plus an EC2 client.
type ec2Env struct {
	*motoEnv
	ec2 *ec2.Client
}

func newEC2Env(t *testing.T) *ec2Env {
	t.Helper()
	env := newMotoEnv(t)
	return &ec2Env{motoEnv: env, ec2: ec2.NewFromConfig(env.cfg)}
}

func ec2Must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// vpc creates a VPC and returns its ID.
func (e *ec2Env) vpc(t *testing.T) string {
	t.Helper()
	out, err := e.ec2.CreateVpc(context.Background(), &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	ec2Must(t, "create vpc", err)
	return aws.ToString(out.Vpc.VpcId)
}

// ec2List is an EC2 list as CloudTrail records it.
func ec2List(items ...any) map[string]any {
	if len(items) == 0 {
		return map[string]any{}
	}
	return map[string]any{"items": items}
}

// ipPermission is one element of ipPermissions as CloudTrail records it.
func ipPermission(proto string, from, to int, v4, v6 []string) map[string]any {
	var r4, r6 []any
	for _, c := range v4 {
		r4 = append(r4, map[string]any{"cidrIp": c})
	}
	for _, c := range v6 {
		r6 = append(r6, map[string]any{"cidrIpv6": c})
	}
	p := map[string]any{"ipProtocol": proto, "groups": ec2List(), "ipRanges": ec2List(r4...),
		"ipv6Ranges": ec2List(r6...), "prefixListIds": ec2List()}
	if proto != "-1" {
		p["fromPort"], p["toPort"] = from, to
	}
	return p
}

// ruleSet is responseElements.securityGroupRuleSet of newer Authorize
// events, built from the rules the API call returned.
func ruleSet(rules []ec2types.SecurityGroupRule) map[string]any {
	var items []any
	for _, r := range rules {
		it := map[string]any{"groupId": aws.ToString(r.GroupId), "groupOwnerId": aws.ToString(r.GroupOwnerId),
			"securityGroupRuleId": aws.ToString(r.SecurityGroupRuleId), "isEgress": aws.ToBool(r.IsEgress),
			"ipProtocol": aws.ToString(r.IpProtocol), "fromPort": aws.ToInt32(r.FromPort), "toPort": aws.ToInt32(r.ToPort)}
		if r.CidrIpv4 != nil {
			it["cidrIpv4"] = *r.CidrIpv4
		}
		if r.CidrIpv6 != nil {
			it["cidrIpv6"] = *r.CidrIpv6
		}
		items = append(items, it)
	}
	return ec2List(items...)
}

func TestEC2ScenarioSecurityGroupWorldIngress(t *testing.T) {
	env := newEC2Env(t)
	ctx := context.Background()
	const ipv4, ipv6 = "aws-ec2-security-group-admin-ports-open-ipv4", "aws-ec2-security-group-admin-ports-open-ipv6"
	const all, db = "aws-ec2-security-group-all-traffic-open", "aws-ec2-security-group-database-ports-open"
	vpc := env.vpc(t)
	name := unique("scn-web")

	// Created. Record shape: panther-analysis
	// aws_ec2_manual_security_group_changes.yml (Apache-2.0).
	created, err := env.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
		Description: aws.String("web servers"), VpcId: aws.String(vpc)})
	ec2Must(t, "create security group", err)
	id := aws.ToString(created.GroupId)
	vs := env.feed(t, record(ec2Source, "CreateSecurityGroup",
		map[string]any{"groupName": name, "groupDescription": "web servers", "vpcId": vpc},
		map[string]any{"requestId": "594fe3e3-0f74-4085-9336-189b36a1cd8c", "_return": true, "groupId": id}))
	for _, rule := range []string{ipv4, ipv6, all, db} {
		expect(t, vs, rule, policy.Pass)
	}

	// HTTPS from the world is what a web server needs: still compliant.
	https, err := env.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), CidrIp: aws.String("0.0.0.0/0")})
	ec2Must(t, "open 443", err)
	vs = env.feed(t, record(ec2Source, "AuthorizeSecurityGroupIngress",
		map[string]any{"groupId": id, "ipPermissions": ec2List(ipPermission("tcp", 443, 443, []string{"0.0.0.0/0"}, nil))},
		map[string]any{"_return": true, "securityGroupRuleSet": ruleSet(https.SecurityGroupRules)}))
	expect(t, vs, ipv4, policy.Pass)
	expect(t, vs, all, policy.Pass)

	// SSH opened to the world in the flat form. Record shape: Stratus Red
	// Team aws.exfiltration.ec2-security-group-open-port-22-ingress
	// (Apache-2.0): top-level cidrIp/ports, ipPermissions {}.
	ssh, err := env.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), CidrIp: aws.String("0.0.0.0/0")})
	ec2Must(t, "open 22 to the world", err)
	vs = env.feed(t, record(ec2Source, "AuthorizeSecurityGroupIngress",
		map[string]any{"cidrIp": "0.0.0.0/0", "fromPort": 22, "groupId": id, "ipPermissions": map[string]any{}, "ipProtocol": "tcp", "toPort": 22},
		map[string]any{"_return": true, "securityGroupRuleSet": ruleSet(ssh.SecurityGroupRules)}))
	expect(t, vs, ipv4, policy.Fail)
	expect(t, vs, ipv6, policy.Pass)
	expect(t, vs, all, policy.Pass)

	// Revoked: compliant again. Older revoke responses carry only _return.
	_, err = env.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), CidrIp: aws.String("0.0.0.0/0")})
	ec2Must(t, "revoke 22", err)
	vs = env.feed(t, record(ec2Source, "RevokeSecurityGroupIngress",
		map[string]any{"groupId": id, "ipPermissions": ec2List(ipPermission("tcp", 22, 22, []string{"0.0.0.0/0"}, nil))},
		map[string]any{"_return": true}))
	expect(t, vs, ipv4, policy.Pass)

	// All traffic from 0.0.0.0/0 and ::/0, as the console records it.
	// Record shape: StreamAlert cloudtrail_security_group_ingress_anywhere
	// (Apache-2.0).
	allPerm := []ec2types.IpPermission{{IpProtocol: aws.String("-1"),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}, Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}}
	_, err = env.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: allPerm})
	ec2Must(t, "open everything", err)
	allRecord := map[string]any{"groupId": id, "ipPermissions": ec2List(ipPermission("-1", 0, 0, []string{"0.0.0.0/0"}, []string{"::/0"}))}
	vs = env.feed(t, record(ec2Source, "AuthorizeSecurityGroupIngress", allRecord, map[string]any{"_return": true}))
	for _, rule := range []string{ipv4, ipv6, all, db} {
		expect(t, vs, rule, policy.Fail)
	}
	_, err = env.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: allPerm})
	ec2Must(t, "revoke everything", err)
	vs = env.feed(t, record(ec2Source, "RevokeSecurityGroupIngress", allRecord, map[string]any{"_return": true}))
	for _, rule := range []string{ipv4, ipv6, all, db} {
		expect(t, vs, rule, policy.Pass)
	}

	// PostgreSQL to ::/0, with string ports as some records have them.
	_, err = env.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
			Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}}})
	ec2Must(t, "open 5432", err)
	pg := ipPermission("tcp", 0, 0, nil, []string{"::/0"})
	pg["fromPort"], pg["toPort"] = "5432", "5432"
	vs = env.feed(t, record(ec2Source, "AuthorizeSecurityGroupIngress",
		map[string]any{"groupId": id, "ipPermissions": ec2List(pg)}, map[string]any{"_return": true}))
	expect(t, vs, db, policy.Fail)
	expect(t, vs, ipv6, policy.Pass)

	// Deleted: every rule of the gone group passes.
	_, err = env.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	ec2Must(t, "delete security group", err)
	vs = env.feed(t, record(ec2Source, "DeleteSecurityGroup", map[string]any{"groupId": id},
		map[string]any{"_return": true, "groupId": id}))
	if len(vs) == 0 {
		t.Fatal("no verdicts for the deleted group")
	}
	for _, v := range vs {
		if v.Result != policy.Pass {
			t.Errorf("rule %s on the deleted group: %s (%s), want pass", v.RuleID, v.Result, v.Message)
		}
	}
}

func TestEC2ScenarioDefaultSecurityGroup(t *testing.T) {
	env := newEC2Env(t)
	ctx := context.Background()
	const rule = "aws-ec2-default-security-group-has-rules"
	vpc := env.vpc(t)
	groups, err := env.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	if err != nil || len(groups.SecurityGroups) != 1 {
		t.Fatalf("find the default group of %s: %v", vpc, err)
	}
	id := aws.ToString(groups.SecurityGroups[0].GroupId)

	// Someone lets the group's members talk to each other (the rule AWS
	// itself creates in a new default group).
	self := []ec2types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(id)}}}}
	_, err = env.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: self})
	ec2Must(t, "allow the group itself", err)
	selfRecord := map[string]any{"groupId": id, "ipPermissions": ec2List(map[string]any{"ipProtocol": "-1",
		"groups": ec2List(map[string]any{"groupId": id}), "ipRanges": ec2List(), "ipv6Ranges": ec2List(), "prefixListIds": ec2List()})}
	vs := env.feed(t, record(ec2Source, "AuthorizeSecurityGroupIngress", selfRecord, map[string]any{"_return": true}))
	expect(t, vs, rule, policy.Fail)

	// Fixed: both the inbound rule and the default allow-all outbound rule
	// are revoked.
	_, err = env.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: self})
	ec2Must(t, "revoke self rule", err)
	vs = env.feed(t, record(ec2Source, "RevokeSecurityGroupIngress", selfRecord, map[string]any{"_return": true}))
	expect(t, vs, rule, policy.Fail) // the outbound rule is still there
	egress := []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	_, err = env.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: egress})
	ec2Must(t, "revoke egress", err)
	vs = env.feed(t, record(ec2Source, "RevokeSecurityGroupEgress",
		map[string]any{"groupId": id, "ipPermissions": ec2List(ipPermission("-1", 0, 0, []string{"0.0.0.0/0"}, nil))},
		map[string]any{"_return": true}))
	expect(t, vs, rule, policy.Pass)
}

func TestEC2ScenarioNetworkACL(t *testing.T) {
	env := newEC2Env(t)
	ctx := context.Background()
	const rule = "aws-ec2-network-acl-admin-ports-open"
	vpc := env.vpc(t)
	created, err := env.ec2.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(vpc)})
	ec2Must(t, "create network acl", err)
	id := aws.ToString(created.NetworkAcl.NetworkAclId)
	vs := env.feed(t, record(ec2Source, "CreateNetworkAcl", map[string]any{"vpcId": vpc},
		map[string]any{"networkAcl": map[string]any{"networkAclId": id, "vpcId": vpc, "default": false,
			"entrySet": ec2List(), "associationSet": ec2List(), "tagSet": ec2List()}}))
	expect(t, vs, rule, policy.Pass)

	// entry writes the entry through the SDK and returns its record. Record
	// shape: StreamAlert cloudtrail_network_acl_ingress_anywhere (Apache-2.0).
	entry := func(op string, n int32, proto, action, cidr string, from, to int32) []byte {
		t.Helper()
		var err error
		pr := &ec2types.PortRange{From: aws.Int32(from), To: aws.Int32(to)}
		switch op {
		case "CreateNetworkAclEntry":
			_, err = env.ec2.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(id), RuleNumber: aws.Int32(n),
				Protocol: aws.String(proto), RuleAction: ec2types.RuleAction(action), Egress: aws.Bool(false), CidrBlock: aws.String(cidr), PortRange: pr})
		case "ReplaceNetworkAclEntry":
			_, err = env.ec2.ReplaceNetworkAclEntry(ctx, &ec2.ReplaceNetworkAclEntryInput{NetworkAclId: aws.String(id), RuleNumber: aws.Int32(n),
				Protocol: aws.String(proto), RuleAction: ec2types.RuleAction(action), Egress: aws.Bool(false), CidrBlock: aws.String(cidr), PortRange: pr})
		}
		ec2Must(t, op, err)
		return record(ec2Source, op, map[string]any{"networkAclId": id, "ruleNumber": n, "egress": false, "ruleAction": action,
			"icmpTypeCode": map[string]any{}, "portRange": map[string]any{"from": from, "to": to}, "aclProtocol": proto, "cidrBlock": cidr},
			map[string]any{"_return": true})
	}

	// SSH allowed from the world.
	expect(t, env.feed(t, entry("CreateNetworkAclEntry", 100, "6", "allow", "0.0.0.0/0", 22, 22)), rule, policy.Fail)
	// A lower-numbered deny of the same traffic shadows the allow.
	expect(t, env.feed(t, entry("CreateNetworkAclEntry", 90, "6", "deny", "0.0.0.0/0", 22, 22)), rule, policy.Pass)
	// The deny removed: open again.
	_, err = env.ec2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(id), RuleNumber: aws.Int32(90), Egress: aws.Bool(false)})
	ec2Must(t, "delete entry 90", err)
	vs = env.feed(t, record(ec2Source, "DeleteNetworkAclEntry", map[string]any{"networkAclId": id, "ruleNumber": 90, "egress": false},
		map[string]any{"_return": true}))
	expect(t, vs, rule, policy.Fail)
	// Fixed: the allow is narrowed to HTTPS.
	expect(t, env.feed(t, entry("ReplaceNetworkAclEntry", 100, "6", "allow", "0.0.0.0/0", 443, 443)), rule, policy.Pass)
}

func TestEC2ScenarioSnapshotPublic(t *testing.T) {
	env := newEC2Env(t)
	ctx := context.Background()
	const rule = "aws-ec2-snapshot-public"
	vol, err := env.ec2.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(1)})
	ec2Must(t, "create volume", err)
	snap, err := env.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: vol.VolumeId})
	ec2Must(t, "create snapshot", err)
	id := aws.ToString(snap.SnapshotId)

	// modify changes createVolumePermission (moto reads the
	// OperationType/GroupNames/UserIds form only) and returns the record.
	// Record shape: Stratus Red Team aws.exfiltration.ec2-share-ebs-snapshot
	// (Apache-2.0).
	modify := func(op ec2types.OperationType, perm map[string]any) []byte {
		t.Helper()
		in := &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(id), Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission, OperationType: op}
		if g, ok := perm["group"].(string); ok {
			in.GroupNames = []string{g}
		}
		if u, ok := perm["userId"].(string); ok {
			in.UserIds = []string{u}
		}
		_, err := env.ec2.ModifySnapshotAttribute(ctx, in)
		ec2Must(t, "modify snapshot attribute", err)
		return record(ec2Source, "ModifySnapshotAttribute", map[string]any{"attributeType": "CREATE_VOLUME_PERMISSION",
			"createVolumePermission": map[string]any{string(op): ec2List(perm)}, "snapshotId": id},
			map[string]any{"_return": true})
	}

	// Shared with one account: not public.
	expect(t, env.feed(t, modify(ec2types.OperationTypeAdd, map[string]any{"userId": "098797384747"})), rule, policy.Pass)
	// Made public.
	expect(t, env.feed(t, modify(ec2types.OperationTypeAdd, map[string]any{"group": "all"})), rule, policy.Fail)
	// Made private again.
	expect(t, env.feed(t, modify(ec2types.OperationTypeRemove, map[string]any{"group": "all"})), rule, policy.Pass)
}

func TestEC2ScenarioImagePublic(t *testing.T) {
	env := newEC2Env(t)
	ctx := context.Background()
	const rule = "aws-ec2-image-public"
	vol, err := env.ec2.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(1)})
	ec2Must(t, "create volume", err)
	snap, err := env.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: vol.VolumeId})
	ec2Must(t, "create snapshot", err)
	img, err := env.ec2.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(unique("scn-ami")), RootDeviceName: aws.String("/dev/xvda"),
		BlockDeviceMappings: []ec2types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.EbsBlockDevice{SnapshotId: snap.SnapshotId}}}})
	ec2Must(t, "register image", err)
	id := aws.ToString(img.ImageId)

	// modify changes launchPermission and returns the record. Record shape:
	// StreamAlert cloudtrail_snapshot_or_ami_made_public (Apache-2.0).
	modify := func(op string, perm ec2types.LaunchPermission, recorded map[string]any) []byte {
		t.Helper()
		mods := &ec2types.LaunchPermissionModifications{}
		if op == "add" {
			mods.Add = []ec2types.LaunchPermission{perm}
		} else {
			mods.Remove = []ec2types.LaunchPermission{perm}
		}
		_, err := env.ec2.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id), LaunchPermission: mods})
		ec2Must(t, "modify image attribute", err)
		return record(ec2Source, "ModifyImageAttribute", map[string]any{"imageId": id,
			"launchPermission": map[string]any{op: ec2List(recorded)}, "attributeType": "launchPermission"},
			map[string]any{"_return": true})
	}

	expect(t, env.feed(t, modify("add", ec2types.LaunchPermission{UserId: aws.String("846424999548")},
		map[string]any{"userId": "846424999548"})), rule, policy.Pass)
	expect(t, env.feed(t, modify("add", ec2types.LaunchPermission{Group: ec2types.PermissionGroupAll},
		map[string]any{"group": "all"})), rule, policy.Fail)
	expect(t, env.feed(t, modify("remove", ec2types.LaunchPermission{Group: ec2types.PermissionGroupAll},
		map[string]any{"group": "all"})), rule, policy.Pass)
}

// TestEC2ScenarioEBSDefaultEncryption changes a region-wide setting of the
// shared moto server; it does not run in parallel and leaves the setting
// disabled, moto's initial state.
func TestEC2ScenarioEBSDefaultEncryption(t *testing.T) {
	env := newEC2Env(t)
	ctx := context.Background()
	const rule = "aws-ec2-ebs-default-encryption-disabled"
	t.Cleanup(func() {
		_, err := env.ec2.DisableEbsEncryptionByDefault(context.Background(), &ec2.DisableEbsEncryptionByDefaultInput{})
		ec2Must(t, "restore ebs encryption by default", err)
	})

	// No public sample shows these records' parameters (the catalog reads
	// none: the setting is keyed by account and region), so they are null.
	setting := func(op string) []byte { return record(ec2Source, op, nil, nil) }

	_, err := env.ec2.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{})
	ec2Must(t, "enable", err)
	expect(t, env.feed(t, setting("EnableEbsEncryptionByDefault")), rule, policy.Pass)

	_, err = env.ec2.DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{})
	ec2Must(t, "disable", err)
	expect(t, env.feed(t, setting("DisableEbsEncryptionByDefault")), rule, policy.Fail)

	_, err = env.ec2.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{})
	ec2Must(t, "enable again", err)
	expect(t, env.feed(t, setting("EnableEbsEncryptionByDefault")), rule, policy.Pass)
}
