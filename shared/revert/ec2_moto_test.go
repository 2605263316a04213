package revert

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

type ec2Env struct {
	*env
	ec2 *ec2.Client
}

func newEC2Env(t *testing.T) *ec2Env {
	t.Helper()
	e := newEnv(t)
	return &ec2Env{env: e, ec2: ec2.NewFromConfig(e.cfg)}
}

func ec2ARN(kind, id string) string {
	return "arn:aws:ec2:" + mototest.Region + ":" + mototest.Account + ":" + kind + "/" + id
}

// securityGroup creates a group in a VPC of its own with the compliant
// rules every scenario starts from (HTTPS from the world, SSH from the
// office) and returns its ID and reference.
func (e *ec2Env) securityGroup(t *testing.T) (string, resource.Ref) {
	t.Helper()
	ctx := context.Background()
	vpc, err := e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.30.0.0/16")})
	must(t, "create vpc", err)
	sg, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(unique("rv-web")),
		Description: aws.String("web servers"), VpcId: vpc.Vpc.VpcId})
	must(t, "create security group", err)
	id := aws.ToString(sg.GroupId)
	e.authorize(t, id, "tcp", 443, 443, "0.0.0.0/0", "")
	e.authorize(t, id, "tcp", 22, 22, "10.0.0.0/8", "")
	return id, ref("AWS::EC2::SecurityGroup", ec2ARN("security-group", id))
}

// authorize adds one inbound rule from an IPv4 or IPv6 CIDR.
func (e *ec2Env) authorize(t *testing.T, id, proto string, from, to int32, v4, v6 string) {
	t.Helper()
	perm := ec2types.IpPermission{IpProtocol: aws.String(proto)}
	if proto != "-1" {
		perm.FromPort, perm.ToPort = aws.Int32(from), aws.Int32(to)
	}
	if v4 != "" {
		perm.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(v4)}}
	}
	if v6 != "" {
		perm.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(v6)}}
	}
	_, err := e.ec2.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{perm}})
	must(t, "authorize ingress", err)
}

func TestEC2RevokeWorldIngress(t *testing.T) {
	for _, tc := range []struct {
		rule     string
		proto    string
		from, to int32
		v4, v6   string
	}{
		{"aws-ec2-security-group-admin-ports-open-ipv4", "tcp", 22, 22, "0.0.0.0/0", ""},
		{"aws-ec2-security-group-admin-ports-open-ipv6", "tcp", 3389, 3389, "", "::/0"},
		{"aws-ec2-security-group-all-traffic-open", "-1", 0, 0, "0.0.0.0/0", ""},
		{"aws-ec2-security-group-database-ports-open", "tcp", 5432, 5432, "0.0.0.0/0", ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			e := newEC2Env(t)
			id, r := e.securityGroup(t)
			e.run(t, scenario{
				rule: tc.rule, remediation: "ec2-revoke-world-ingress", ref: r,
				breakIt: func(t *testing.T) { e.authorize(t, id, tc.proto, tc.from, tc.to, tc.v4, tc.v6) },
				ops:     []string{"RevokeSecurityGroupIngress"},
			})
		})
	}
}

// TestEC2RevokeWorldIngressOnlyOffending checks that the revert of one rule
// revokes only the inbound rules that rule fails on, by rule ID, and leaves
// the world-open rules other rules fail on to their own remediation.
func TestEC2RevokeWorldIngressOnlyOffending(t *testing.T) {
	e := newEC2Env(t)
	ctx := context.Background()
	const rule = "aws-ec2-security-group-admin-ports-open-ipv4"
	id, r := e.securityGroup(t)
	e.authorize(t, id, "tcp", 22, 22, "0.0.0.0/0", "")
	e.authorize(t, id, "tcp", 5432, 5432, "0.0.0.0/0", "")
	e.authorize(t, id, "tcp", 3389, 3389, "", "::/0")
	broken := e.read(t, r)
	v := e.verdict(t, broken, rule, nil)
	plan, err := e.rem.Plan(ctx, "ec2-revoke-world-ingress", broken, v, nil)
	must(t, "plan", err)
	var revoked string
	for _, x := range broken.Doc["SecurityGroupIngress"].([]any) {
		m := x.(map[string]any)
		if m["CidrIp"] == "0.0.0.0/0" && m["FromPort"] == int64(22) {
			revoked = m["RuleId"].(string)
		}
	}
	ids, _ := plan.Calls[0].Params["SecurityGroupRuleIds"].([]any)
	if len(ids) != 1 || ids[0] != revoked {
		t.Fatalf("plan revokes %v, want only the SSH-from-the-world rule %s", ids, revoked)
	}
	res, err := e.rem.Execute(ctx, plan)
	must(t, "execute", err)
	if res.Status != StatusReverted {
		t.Fatalf("status %s (%s), want reverted", res.Status, res.Reason)
	}
	after := e.read(t, r)
	// Everything but the revoked rule is as it was after the risky change.
	var want []any
	for _, x := range broken.Doc["SecurityGroupIngress"].([]any) {
		if x.(map[string]any)["RuleId"] != revoked {
			want = append(want, x)
		}
	}
	assertSameDocument(t, withPath(broken.Doc, "SecurityGroupIngress", want), after.Doc)
	if v := e.verdict(t, after, "aws-ec2-security-group-database-ports-open", nil); v.Result != policy.Fail {
		t.Errorf("the database rule's exposure was touched: %s %s", v.Result, v.Message)
	}
}

func TestEC2DeleteNetworkACLEntry(t *testing.T) {
	e := newEC2Env(t)
	ctx := context.Background()
	vpc, err := e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.40.0.0/16")})
	must(t, "create vpc", err)
	acl, err := e.ec2.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: vpc.Vpc.VpcId})
	must(t, "create network acl", err)
	id := aws.ToString(acl.NetworkAcl.NetworkAclId)
	entry := func(t *testing.T, n int32, proto, cidr string, from, to int32) {
		t.Helper()
		in := &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(id), RuleNumber: aws.Int32(n), Protocol: aws.String(proto),
			RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(false), CidrBlock: aws.String(cidr)}
		if proto != "-1" {
			in.PortRange = &ec2types.PortRange{From: aws.Int32(from), To: aws.Int32(to)}
		}
		_, err := e.ec2.CreateNetworkAclEntry(ctx, in)
		must(t, "create network acl entry", err)
	}
	entry(t, 100, "6", "0.0.0.0/0", 443, 443)
	entry(t, 105, "6", "10.0.0.0/8", 22, 22)
	r := ref("AWS::EC2::NetworkAcl", ec2ARN("network-acl", id))
	const rule = "aws-ec2-network-acl-admin-ports-open"
	e.run(t, scenario{
		rule: rule, remediation: "ec2-delete-nacl-entry", ref: r,
		breakIt: func(t *testing.T) { entry(t, 110, "6", "0.0.0.0/0", 22, 22) },
		ops:     []string{"DeleteNetworkAclEntry"},
	})

	// An entry that allows all traffic carries more than SSH: left to a
	// person.
	entry(t, 120, "-1", "0.0.0.0/0", 0, 0)
	broken := e.read(t, r)
	plan, err := e.rem.Plan(ctx, "ec2-delete-nacl-entry", broken, e.verdict(t, broken, rule, nil), nil)
	must(t, "plan", err)
	if len(plan.Calls) != 0 || !strings.Contains(plan.Reason, "entry 120") || !strings.Contains(plan.Reason, "by hand") {
		t.Errorf("plan for an all-traffic entry: calls %v, reason %q; want no calls and a reason naming entry 120", operations(plan.Calls), plan.Reason)
	}
}

// snapshot creates a snapshot of a new volume.
func (e *ec2Env) snapshot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	vol, err := e.ec2.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(1)})
	must(t, "create volume", err)
	snap, err := e.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: vol.VolumeId, Description: aws.String("nightly")})
	must(t, "create snapshot", err)
	return aws.ToString(snap.SnapshotId)
}

func TestEC2MakeSnapshotPrivate(t *testing.T) {
	e := newEC2Env(t)
	ctx := context.Background()
	id := e.snapshot(t)
	modify := func(t *testing.T, op ec2types.OperationType, groups, users []string) {
		t.Helper()
		_, err := e.ec2.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(id),
			Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission, OperationType: op, GroupNames: groups, UserIds: users})
		must(t, "modify snapshot attribute", err)
	}
	// Shared with the backup account: not public.
	modify(t, ec2types.OperationTypeAdd, nil, []string{"111122223333"})
	e.run(t, scenario{
		rule: "aws-ec2-snapshot-public", remediation: "ec2-make-snapshot-private",
		ref:     ref("AWS::EC2::Snapshot", "arn:aws:ec2:"+mototest.Region+"::snapshot/"+id),
		breakIt: func(t *testing.T) { modify(t, ec2types.OperationTypeAdd, []string{"all"}, nil) },
		ops:     []string{"ModifySnapshotAttribute"},
	})
}

func TestEC2MakeImagePrivate(t *testing.T) {
	e := newEC2Env(t)
	ctx := context.Background()
	snap := e.snapshot(t)
	img, err := e.ec2.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(unique("rv-ami")), RootDeviceName: aws.String("/dev/xvda"),
		BlockDeviceMappings: []ec2types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.EbsBlockDevice{SnapshotId: aws.String(snap)}}}})
	must(t, "register image", err)
	id := aws.ToString(img.ImageId)
	add := func(t *testing.T, p ec2types.LaunchPermission) {
		t.Helper()
		_, err := e.ec2.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id),
			LaunchPermission: &ec2types.LaunchPermissionModifications{Add: []ec2types.LaunchPermission{p}}})
		must(t, "modify image attribute", err)
	}
	add(t, ec2types.LaunchPermission{UserId: aws.String("111122223333")})
	e.run(t, scenario{
		rule: "aws-ec2-image-public", remediation: "ec2-make-image-private",
		ref:     ref("AWS::EC2::Image", "arn:aws:ec2:"+mototest.Region+"::image/"+id),
		breakIt: func(t *testing.T) { add(t, ec2types.LaunchPermission{Group: ec2types.PermissionGroupAll}) },
		ops:     []string{"ModifyImageAttribute"},
	})
}

func TestEC2EnableEBSDefaultEncryption(t *testing.T) {
	e := newEC2Env(t)
	ctx := context.Background()
	t.Cleanup(func() {
		_, err := e.ec2.DisableEbsEncryptionByDefault(context.Background(), &ec2.DisableEbsEncryptionByDefaultInput{})
		must(t, "restore ebs encryption by default", err)
	})
	_, err := e.ec2.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{})
	must(t, "enable", err)
	e.run(t, scenario{
		rule: "aws-ec2-ebs-default-encryption-disabled", remediation: "ec2-enable-ebs-default-encryption",
		ref: ref("AWS::EC2::EbsEncryptionByDefault", "arn:aws:ec2:"+mototest.Region+":"+mototest.Account+":ebs-encryption-by-default"),
		breakIt: func(t *testing.T) {
			_, err := e.ec2.DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{})
			must(t, "disable", err)
		},
		ops: []string{"EnableEbsEncryptionByDefault"},
	})
}
