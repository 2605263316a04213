package aws

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// fakeEC2 is a hand-written fake of the EC2 read calls; a nil func fails
// the test through a "not expected" error.
type fakeEC2 struct {
	describeSecurityGroups     func(*ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error)
	describeSecurityGroupRules func(*ec2.DescribeSecurityGroupRulesInput) (*ec2.DescribeSecurityGroupRulesOutput, error)
	describeNetworkAcls        func(*ec2.DescribeNetworkAclsInput) (*ec2.DescribeNetworkAclsOutput, error)
	describeSnapshots          func(*ec2.DescribeSnapshotsInput) (*ec2.DescribeSnapshotsOutput, error)
	describeSnapshotAttribute  func(*ec2.DescribeSnapshotAttributeInput) (*ec2.DescribeSnapshotAttributeOutput, error)
	describeImages             func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error)
	describeImageAttribute     func(*ec2.DescribeImageAttributeInput) (*ec2.DescribeImageAttributeOutput, error)
	getEbsEncryptionByDefault  func(*ec2.GetEbsEncryptionByDefaultInput) (*ec2.GetEbsEncryptionByDefaultOutput, error)
}

var (
	_ securityGroupAPI = (*fakeEC2)(nil)
	_ networkACLAPI    = (*fakeEC2)(nil)
	_ ebsSnapshotAPI   = (*fakeEC2)(nil)
	_ amiAPI           = (*fakeEC2)(nil)
	_ ebsDefaultAPI    = (*fakeEC2)(nil)
)

var errEC2NotExpected = errors.New("call not expected")

func (f *fakeEC2) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	if f.describeSecurityGroups == nil {
		return nil, errEC2NotExpected
	}
	return f.describeSecurityGroups(in)
}

func (f *fakeEC2) DescribeSecurityGroupRules(_ context.Context, in *ec2.DescribeSecurityGroupRulesInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	if f.describeSecurityGroupRules == nil {
		return nil, errEC2NotExpected
	}
	return f.describeSecurityGroupRules(in)
}

func (f *fakeEC2) DescribeNetworkAcls(_ context.Context, in *ec2.DescribeNetworkAclsInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error) {
	if f.describeNetworkAcls == nil {
		return nil, errEC2NotExpected
	}
	return f.describeNetworkAcls(in)
}

func (f *fakeEC2) DescribeSnapshots(_ context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	if f.describeSnapshots == nil {
		return nil, errEC2NotExpected
	}
	return f.describeSnapshots(in)
}

func (f *fakeEC2) DescribeSnapshotAttribute(_ context.Context, in *ec2.DescribeSnapshotAttributeInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotAttributeOutput, error) {
	if f.describeSnapshotAttribute == nil {
		return nil, errEC2NotExpected
	}
	return f.describeSnapshotAttribute(in)
}

func (f *fakeEC2) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	if f.describeImages == nil {
		return nil, errEC2NotExpected
	}
	return f.describeImages(in)
}

func (f *fakeEC2) DescribeImageAttribute(_ context.Context, in *ec2.DescribeImageAttributeInput, _ ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error) {
	if f.describeImageAttribute == nil {
		return nil, errEC2NotExpected
	}
	return f.describeImageAttribute(in)
}

func (f *fakeEC2) GetEbsEncryptionByDefault(_ context.Context, in *ec2.GetEbsEncryptionByDefaultInput, _ ...func(*ec2.Options)) (*ec2.GetEbsEncryptionByDefaultOutput, error) {
	if f.getEbsEncryptionByDefault == nil {
		return nil, errEC2NotExpected
	}
	return f.getEbsEncryptionByDefault(in)
}

func ec2APIError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (test)"}
}

// ec2Outcome is what a read returned.
type ec2Outcome struct {
	doc    map[string]any
	tags   map[string]string
	exists bool
	err    error
}

// check compares an outcome with the expected one; errSub, when set, is a
// substring the error must have.
func (got ec2Outcome) check(t *testing.T, want ec2Outcome, errSub string) {
	t.Helper()
	if errSub != "" {
		if got.err == nil || !strings.Contains(got.err.Error(), errSub) {
			t.Fatalf("error = %v, want one containing %q", got.err, errSub)
		}
		return
	}
	if got.err != nil {
		t.Fatalf("unexpected error: %v", got.err)
	}
	if got.exists != want.exists {
		t.Fatalf("exists = %v, want %v", got.exists, want.exists)
	}
	if !reflect.DeepEqual(got.doc, want.doc) {
		t.Errorf("doc =\n%#v\nwant\n%#v", got.doc, want.doc)
	}
	if want.tags != nil && !reflect.DeepEqual(got.tags, want.tags) {
		t.Errorf("tags = %v, want %v", got.tags, want.tags)
	}
}

func TestReadSecurityGroup(t *testing.T) {
	const id = "sg-0123456789abcdef0"
	group := types.SecurityGroup{
		GroupId: aws.String(id), GroupName: aws.String("web"), VpcId: aws.String("vpc-1"),
		OwnerId: aws.String("123456789012"), Description: aws.String("web servers"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("edge")}},
	}
	groups := func(gs ...types.SecurityGroup) func(*ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error) {
		return func(in *ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error) {
			if !reflect.DeepEqual(in.GroupIds, []string{id}) {
				return nil, errors.New("unexpected GroupIds")
			}
			return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: gs}, nil
		}
	}
	// pages serves rule pages in order, checking the group-id filter and
	// the NextToken chain.
	pages := func(ps ...[]types.SecurityGroupRule) func(*ec2.DescribeSecurityGroupRulesInput) (*ec2.DescribeSecurityGroupRulesOutput, error) {
		return func(in *ec2.DescribeSecurityGroupRulesInput) (*ec2.DescribeSecurityGroupRulesOutput, error) {
			if len(in.Filters) != 1 || aws.ToString(in.Filters[0].Name) != "group-id" || !reflect.DeepEqual(in.Filters[0].Values, []string{id}) {
				return nil, errors.New("unexpected filters")
			}
			i := 0
			if tok := aws.ToString(in.NextToken); tok != "" {
				i = int(tok[0] - '0')
			}
			out := &ec2.DescribeSecurityGroupRulesOutput{SecurityGroupRules: ps[i]}
			if i+1 < len(ps) {
				out.NextToken = aws.String(string(rune('0' + i + 1)))
			}
			return out, nil
		}
	}
	rule := func(rid string, egress bool, proto string, from, to *int32) types.SecurityGroupRule {
		return types.SecurityGroupRule{SecurityGroupRuleId: aws.String(rid), GroupId: aws.String(id),
			IsEgress: aws.Bool(egress), IpProtocol: aws.String(proto), FromPort: from, ToPort: to}
	}
	withCIDR := func(r types.SecurityGroupRule, v4, v6 string) types.SecurityGroupRule {
		if v4 != "" {
			r.CidrIpv4 = aws.String(v4)
		}
		if v6 != "" {
			r.CidrIpv6 = aws.String(v6)
		}
		return r
	}
	ingressSSH := withCIDR(rule("sgr-2", false, "6", aws.Int32(22), aws.Int32(22)), "0.0.0.0/0", "")
	ingressSSH.Description = aws.String("ssh")
	ingressSelf := rule("sgr-1", false, "-1", aws.Int32(-1), aws.Int32(-1))
	ingressSelf.ReferencedGroupInfo = &types.ReferencedSecurityGroup{GroupId: aws.String(id), UserId: aws.String("123456789012")}
	ingressPL := rule("sgr-3", false, "tcp", aws.Int32(443), aws.Int32(443))
	ingressPL.PrefixListId = aws.String("pl-1")
	egressAll := withCIDR(rule("sgr-4", true, "all", nil, nil), "", "::/0")
	otherGroup := withCIDR(rule("sgr-0", false, "tcp", aws.Int32(22), aws.Int32(22)), "0.0.0.0/0", "")
	otherGroup.GroupId = aws.String("sg-other")

	tests := []struct {
		name   string
		fake   *fakeEC2
		want   ec2Outcome
		errSub string
	}{
		{
			name: "group with rules over two pages",
			fake: &fakeEC2{
				describeSecurityGroups:     groups(group),
				describeSecurityGroupRules: pages([]types.SecurityGroupRule{ingressSSH, egressAll}, []types.SecurityGroupRule{ingressPL, ingressSelf, otherGroup}),
			},
			want: ec2Outcome{exists: true, tags: map[string]string{"team": "edge"}, doc: map[string]any{
				"GroupId": id, "GroupName": "web", "VpcId": "vpc-1", "OwnerId": "123456789012",
				"Description": "web servers", "IsDefault": false,
				"SecurityGroupIngress": []any{
					map[string]any{"RuleId": "sgr-1", "IpProtocol": "-1", "FromPort": int64(-1), "ToPort": int64(-1),
						"CidrIp": "", "CidrIpv6": "", "SourceSecurityGroupId": id, "SourceSecurityGroupOwnerId": "123456789012",
						"SourcePrefixListId": "", "Description": ""},
					map[string]any{"RuleId": "sgr-2", "IpProtocol": "tcp", "FromPort": int64(22), "ToPort": int64(22),
						"CidrIp": "0.0.0.0/0", "CidrIpv6": "", "SourceSecurityGroupId": "", "SourceSecurityGroupOwnerId": "",
						"SourcePrefixListId": "", "Description": "ssh"},
					map[string]any{"RuleId": "sgr-3", "IpProtocol": "tcp", "FromPort": int64(443), "ToPort": int64(443),
						"CidrIp": "", "CidrIpv6": "", "SourceSecurityGroupId": "", "SourceSecurityGroupOwnerId": "",
						"SourcePrefixListId": "pl-1", "Description": ""},
				},
				"SecurityGroupEgress": []any{
					map[string]any{"RuleId": "sgr-4", "IpProtocol": "-1", "FromPort": int64(-1), "ToPort": int64(-1),
						"CidrIp": "", "CidrIpv6": "::/0", "DestinationSecurityGroupId": "",
						"DestinationPrefixListId": "", "Description": ""},
				},
			}},
		},
		{
			name: "default group without rules",
			fake: &fakeEC2{
				describeSecurityGroups: groups(types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String("default")}),
				describeSecurityGroupRules: func(*ec2.DescribeSecurityGroupRulesInput) (*ec2.DescribeSecurityGroupRulesOutput, error) {
					return &ec2.DescribeSecurityGroupRulesOutput{}, nil
				},
			},
			want: ec2Outcome{exists: true, tags: map[string]string{}, doc: map[string]any{
				"GroupId": id, "GroupName": "default", "VpcId": "", "OwnerId": "", "Description": "",
				"IsDefault": true, "SecurityGroupIngress": []any{}, "SecurityGroupEgress": []any{},
			}},
		},
		{
			name: "group not found",
			fake: &fakeEC2{describeSecurityGroups: func(*ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error) {
				return nil, ec2APIError("InvalidGroup.NotFound")
			}},
			want: ec2Outcome{exists: false},
		},
		{
			name: "empty answer",
			fake: &fakeEC2{describeSecurityGroups: groups()},
			want: ec2Outcome{exists: false},
		},
		{
			name: "group deleted between the two calls",
			fake: &fakeEC2{
				describeSecurityGroups: groups(group),
				describeSecurityGroupRules: func(*ec2.DescribeSecurityGroupRulesInput) (*ec2.DescribeSecurityGroupRulesOutput, error) {
					return nil, ec2APIError("InvalidGroup.NotFound")
				},
			},
			want: ec2Outcome{exists: false},
		},
		{
			name: "malformed id is an error",
			fake: &fakeEC2{describeSecurityGroups: func(*ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error) {
				return nil, ec2APIError("InvalidGroupId.Malformed")
			}},
			errSub: `describe security group "sg-0123456789abcdef0"`,
		},
		{
			name: "rules call denied",
			fake: &fakeEC2{
				describeSecurityGroups: groups(group),
				describeSecurityGroupRules: func(*ec2.DescribeSecurityGroupRulesInput) (*ec2.DescribeSecurityGroupRulesOutput, error) {
					return nil, ec2APIError("UnauthorizedOperation")
				},
			},
			errSub: "describe rules of security group",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, tags, exists, err := readSecurityGroup(context.Background(), tt.fake, id)
			ec2Outcome{doc, tags, exists, err}.check(t, tt.want, tt.errSub)
		})
	}
}

func TestSecurityGroupProtocol(t *testing.T) {
	for in, want := range map[string]string{"-1": "-1", "all": "-1", "": "-1", "6": "tcp", "TCP": "tcp",
		"17": "udp", "1": "icmp", "58": "icmpv6", "icmpv6": "icmpv6", "50": "50"} {
		if got := securityGroupProtocol(in); got != want {
			t.Errorf("securityGroupProtocol(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadNetworkACL(t *testing.T) {
	const id = "acl-0123456789abcdef0"
	entry := func(n int32, egress bool, proto string, action types.RuleAction, cidr string) types.NetworkAclEntry {
		e := types.NetworkAclEntry{RuleNumber: aws.Int32(n), Egress: aws.Bool(egress), Protocol: aws.String(proto), RuleAction: action}
		if strings.Contains(cidr, ":") {
			e.Ipv6CidrBlock = aws.String(cidr)
		} else {
			e.CidrBlock = aws.String(cidr)
		}
		return e
	}
	ssh := entry(100, false, "6", types.RuleActionAllow, "0.0.0.0/0")
	ssh.PortRange = &types.PortRange{From: aws.Int32(22), To: aws.Int32(22)}
	allWithStrayRange := entry(90, false, "-1", types.RuleActionDeny, "::/0")
	allWithStrayRange.PortRange = &types.PortRange{From: aws.Int32(0), To: aws.Int32(0)}
	ping := entry(80, false, "icmp", types.RuleActionAllow, "0.0.0.0/0")
	ping.IcmpTypeCode = &types.IcmpTypeCode{Type: aws.Int32(8), Code: aws.Int32(-1)}
	egressAll := entry(100, true, "-1", types.RuleActionAllow, "0.0.0.0/0")
	denyIn := entry(32767, false, "-1", types.RuleActionDeny, "0.0.0.0/0")
	acl := types.NetworkAcl{
		NetworkAclId: aws.String(id), VpcId: aws.String("vpc-1"), OwnerId: aws.String("123456789012"), IsDefault: aws.Bool(false),
		Associations: []types.NetworkAclAssociation{{SubnetId: aws.String("subnet-1")}, {SubnetId: aws.String("subnet-2")}},
		Entries:      []types.NetworkAclEntry{egressAll, denyIn, ssh, allWithStrayRange, ping},
		Tags:         []types.Tag{{Key: aws.String("Name"), Value: aws.String("public")}},
	}
	acls := func(as ...types.NetworkAcl) func(*ec2.DescribeNetworkAclsInput) (*ec2.DescribeNetworkAclsOutput, error) {
		return func(in *ec2.DescribeNetworkAclsInput) (*ec2.DescribeNetworkAclsOutput, error) {
			if !reflect.DeepEqual(in.NetworkAclIds, []string{id}) {
				return nil, errors.New("unexpected NetworkAclIds")
			}
			return &ec2.DescribeNetworkAclsOutput{NetworkAcls: as}, nil
		}
	}
	doc := func(n int64, proto, action string, egress bool, v4, v6 string, from, to, icmpType, icmpCode int64) map[string]any {
		return map[string]any{"RuleNumber": n, "Protocol": proto, "RuleAction": action, "Egress": egress,
			"CidrBlock": v4, "Ipv6CidrBlock": v6, "PortRange": map[string]any{"From": from, "To": to},
			"IcmpTypeCode": map[string]any{"Type": icmpType, "Code": icmpCode}}
	}
	tests := []struct {
		name   string
		fake   *fakeEC2
		want   ec2Outcome
		errSub string
	}{
		{
			name: "entries in evaluation order, ingress first",
			fake: &fakeEC2{describeNetworkAcls: acls(acl)},
			want: ec2Outcome{exists: true, tags: map[string]string{"Name": "public"}, doc: map[string]any{
				"NetworkAclId": id, "VpcId": "vpc-1", "OwnerId": "123456789012", "IsDefault": false,
				"SubnetIds": []any{"subnet-1", "subnet-2"},
				"Entries": []any{
					doc(80, "1", "allow", false, "0.0.0.0/0", "", -1, -1, 8, -1),
					doc(90, "-1", "deny", false, "", "::/0", -1, -1, -1, -1),
					doc(100, "6", "allow", false, "0.0.0.0/0", "", 22, 22, -1, -1),
					doc(32767, "-1", "deny", false, "0.0.0.0/0", "", -1, -1, -1, -1),
					doc(100, "-1", "allow", true, "0.0.0.0/0", "", -1, -1, -1, -1),
				},
			}},
		},
		{
			name: "gone: empty answer",
			fake: &fakeEC2{describeNetworkAcls: acls()},
			want: ec2Outcome{exists: false},
		},
		{
			name: "gone: not-found code",
			fake: &fakeEC2{describeNetworkAcls: func(*ec2.DescribeNetworkAclsInput) (*ec2.DescribeNetworkAclsOutput, error) {
				return nil, ec2APIError("InvalidNetworkAclID.NotFound")
			}},
			want: ec2Outcome{exists: false},
		},
		{
			name: "other error",
			fake: &fakeEC2{describeNetworkAcls: func(*ec2.DescribeNetworkAclsInput) (*ec2.DescribeNetworkAclsOutput, error) {
				return nil, ec2APIError("RequestLimitExceeded")
			}},
			errSub: `describe network acl "acl-0123456789abcdef0"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, tags, exists, err := readNetworkACL(context.Background(), tt.fake, id)
			ec2Outcome{doc, tags, exists, err}.check(t, tt.want, tt.errSub)
		})
	}
}

func TestNetworkACLProtocol(t *testing.T) {
	for in, want := range map[string]string{"-1": "-1", "all": "-1", "tcp": "6", "6": "6", "UDP": "17",
		"icmp": "1", "icmpv6": "58", "47": "47"} {
		if got := networkACLProtocol(in); got != want {
			t.Errorf("networkACLProtocol(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadEBSSnapshot(t *testing.T) {
	const id = "snap-0123456789abcdef0"
	snap := types.Snapshot{SnapshotId: aws.String(id), VolumeId: aws.String("vol-1"), OwnerId: aws.String("123456789012"),
		Description: aws.String("nightly"), State: types.SnapshotStateCompleted, Encrypted: aws.Bool(true),
		KmsKeyId: aws.String("arn:aws:kms:us-east-1:123456789012:key/k"),
		Tags:     []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}
	snaps := func(ss ...types.Snapshot) func(*ec2.DescribeSnapshotsInput) (*ec2.DescribeSnapshotsOutput, error) {
		return func(in *ec2.DescribeSnapshotsInput) (*ec2.DescribeSnapshotsOutput, error) {
			if !reflect.DeepEqual(in.SnapshotIds, []string{id}) {
				return nil, errors.New("unexpected SnapshotIds")
			}
			return &ec2.DescribeSnapshotsOutput{Snapshots: ss}, nil
		}
	}
	perms := func(ps ...types.CreateVolumePermission) func(*ec2.DescribeSnapshotAttributeInput) (*ec2.DescribeSnapshotAttributeOutput, error) {
		return func(in *ec2.DescribeSnapshotAttributeInput) (*ec2.DescribeSnapshotAttributeOutput, error) {
			if in.Attribute != types.SnapshotAttributeNameCreateVolumePermission || aws.ToString(in.SnapshotId) != id {
				return nil, errors.New("unexpected attribute request")
			}
			return &ec2.DescribeSnapshotAttributeOutput{CreateVolumePermissions: ps}, nil
		}
	}
	tests := []struct {
		name   string
		fake   *fakeEC2
		want   ec2Outcome
		errSub string
	}{
		{
			name: "public and shared",
			fake: &fakeEC2{describeSnapshots: snaps(snap), describeSnapshotAttribute: perms(
				types.CreateVolumePermission{Group: types.PermissionGroupAll},
				types.CreateVolumePermission{UserId: aws.String("098797384747")})},
			want: ec2Outcome{exists: true, tags: map[string]string{"env": "prod"}, doc: map[string]any{
				"SnapshotId": id, "VolumeId": "vol-1", "Description": "nightly", "OwnerId": "123456789012",
				"State": "completed", "Encrypted": true, "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k",
				"CreateVolumePermissions": []any{
					map[string]any{"Group": "all", "UserId": ""},
					map[string]any{"Group": "", "UserId": "098797384747"},
				},
			}},
		},
		{
			name: "private",
			fake: &fakeEC2{describeSnapshots: snaps(types.Snapshot{SnapshotId: aws.String(id)}), describeSnapshotAttribute: perms()},
			want: ec2Outcome{exists: true, tags: map[string]string{}, doc: map[string]any{
				"SnapshotId": id, "VolumeId": "", "Description": "", "OwnerId": "", "State": "",
				"Encrypted": false, "KmsKeyId": "", "CreateVolumePermissions": []any{},
			}},
		},
		{
			name: "not found",
			fake: &fakeEC2{describeSnapshots: func(*ec2.DescribeSnapshotsInput) (*ec2.DescribeSnapshotsOutput, error) {
				return nil, ec2APIError("InvalidSnapshot.NotFound")
			}},
			want: ec2Outcome{exists: false},
		},
		{
			name: "deleted before the attribute call",
			fake: &fakeEC2{describeSnapshots: snaps(snap), describeSnapshotAttribute: func(*ec2.DescribeSnapshotAttributeInput) (*ec2.DescribeSnapshotAttributeOutput, error) {
				return nil, ec2APIError("InvalidSnapshot.NotFound")
			}},
			want: ec2Outcome{exists: false},
		},
		{
			name: "attribute error",
			fake: &fakeEC2{describeSnapshots: snaps(snap), describeSnapshotAttribute: func(*ec2.DescribeSnapshotAttributeInput) (*ec2.DescribeSnapshotAttributeOutput, error) {
				return nil, ec2APIError("UnauthorizedOperation")
			}},
			errSub: `describe create-volume permissions of snapshot "snap-0123456789abcdef0"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, tags, exists, err := readEBSSnapshot(context.Background(), tt.fake, id)
			ec2Outcome{doc, tags, exists, err}.check(t, tt.want, tt.errSub)
		})
	}
}

func TestReadAMI(t *testing.T) {
	const id = "ami-0123456789abcdef0"
	image := types.Image{ImageId: aws.String(id), Name: aws.String("golden"), OwnerId: aws.String("123456789012"),
		State: types.ImageStateAvailable, Public: aws.Bool(true)}
	images := func(is ...types.Image) func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
		return func(in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
			if !reflect.DeepEqual(in.ImageIds, []string{id}) {
				return nil, errors.New("unexpected ImageIds")
			}
			return &ec2.DescribeImagesOutput{Images: is}, nil
		}
	}
	perms := func(ps ...types.LaunchPermission) func(*ec2.DescribeImageAttributeInput) (*ec2.DescribeImageAttributeOutput, error) {
		return func(in *ec2.DescribeImageAttributeInput) (*ec2.DescribeImageAttributeOutput, error) {
			if in.Attribute != types.ImageAttributeNameLaunchPermission || aws.ToString(in.ImageId) != id {
				return nil, errors.New("unexpected attribute request")
			}
			return &ec2.DescribeImageAttributeOutput{LaunchPermissions: ps}, nil
		}
	}
	gone := func(code string) *fakeEC2 {
		return &fakeEC2{describeImages: func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
			return nil, ec2APIError(code)
		}}
	}
	deregistered := image
	deregistered.State = types.ImageStateDeregistered
	tests := []struct {
		name   string
		fake   *fakeEC2
		want   ec2Outcome
		errSub string
	}{
		{
			name: "public AMI shared with an org",
			fake: &fakeEC2{describeImages: images(image), describeImageAttribute: perms(
				types.LaunchPermission{Group: types.PermissionGroupAll},
				types.LaunchPermission{OrganizationArn: aws.String("arn:aws:organizations::1:organization/o-1")})},
			want: ec2Outcome{exists: true, tags: map[string]string{}, doc: map[string]any{
				"ImageId": id, "Name": "golden", "Description": "", "OwnerId": "123456789012", "State": "available",
				"Public": true, "LaunchPermissions": []any{
					map[string]any{"Group": "all", "UserId": "", "OrganizationArn": "", "OrganizationalUnitArn": ""},
					map[string]any{"Group": "", "UserId": "", "OrganizationArn": "arn:aws:organizations::1:organization/o-1", "OrganizationalUnitArn": ""},
				},
			}},
		},
		{name: "not found", fake: gone("InvalidAMIID.NotFound"), want: ec2Outcome{exists: false}},
		{name: "unavailable", fake: gone("InvalidAMIID.Unavailable"), want: ec2Outcome{exists: false}},
		{name: "empty answer", fake: &fakeEC2{describeImages: images()}, want: ec2Outcome{exists: false}},
		{name: "deregistered", fake: &fakeEC2{describeImages: images(deregistered)}, want: ec2Outcome{exists: false}},
		{name: "malformed id", fake: gone("InvalidAMIID.Malformed"), errSub: `describe image "ami-0123456789abcdef0"`},
		{
			name: "attribute error",
			fake: &fakeEC2{describeImages: images(image), describeImageAttribute: func(*ec2.DescribeImageAttributeInput) (*ec2.DescribeImageAttributeOutput, error) {
				return nil, ec2APIError("AuthFailure")
			}},
			errSub: "describe launch permissions of image",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, tags, exists, err := readAMI(context.Background(), tt.fake, id)
			ec2Outcome{doc, tags, exists, err}.check(t, tt.want, tt.errSub)
		})
	}
}

func TestReadEBSEncryptionByDefault(t *testing.T) {
	answer := func(v *bool, err error) *fakeEC2 {
		return &fakeEC2{getEbsEncryptionByDefault: func(*ec2.GetEbsEncryptionByDefaultInput) (*ec2.GetEbsEncryptionByDefaultOutput, error) {
			if err != nil {
				return nil, err
			}
			return &ec2.GetEbsEncryptionByDefaultOutput{EbsEncryptionByDefault: v}, nil
		}}
	}
	tests := []struct {
		name   string
		fake   *fakeEC2
		want   ec2Outcome
		errSub string
	}{
		{name: "enabled", fake: answer(aws.Bool(true), nil), want: ec2Outcome{exists: true, doc: map[string]any{"Enabled": true}}},
		{name: "disabled", fake: answer(aws.Bool(false), nil), want: ec2Outcome{exists: true, doc: map[string]any{"Enabled": false}}},
		{name: "absent means disabled", fake: answer(nil, nil), want: ec2Outcome{exists: true, doc: map[string]any{"Enabled": false}}},
		{name: "error", fake: answer(nil, ec2APIError("UnauthorizedOperation")), errSub: "get ebs encryption by default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, tags, exists, err := readEBSEncryptionByDefault(context.Background(), tt.fake)
			ec2Outcome{doc, tags, exists, err}.check(t, tt.want, tt.errSub)
		})
	}
}

func TestEC2RefID(t *testing.T) {
	tests := []struct {
		name       string
		ref        resource.Ref
		prefix     string
		wantID     string
		wantRegion string
		wantErr    bool
	}{
		{name: "security group", ref: resource.Ref{ID: "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-1", Region: "us-east-1"},
			prefix: "security-group/", wantID: "sg-1", wantRegion: "eu-west-1"},
		{name: "snapshot without account", ref: resource.Ref{ID: "arn:aws-cn:ec2:cn-north-1::snapshot/snap-1"},
			prefix: "snapshot/", wantID: "snap-1", wantRegion: "cn-north-1"},
		{name: "ebs setting", ref: resource.Ref{ID: "arn:aws:ec2:us-west-2:123456789012:ebs-encryption-by-default"},
			prefix: "ebs-encryption-by-default", wantID: "", wantRegion: "us-west-2"},
		{name: "region from the ref when the ARN has none", ref: resource.Ref{ID: "arn:aws:ec2::123456789012:network-acl/acl-1", Region: "ap-south-1"},
			prefix: "network-acl/", wantID: "acl-1", wantRegion: "ap-south-1"},
		{name: "not an ARN", ref: resource.Ref{ID: "sg-1"}, prefix: "security-group/", wantErr: true},
		{name: "other resource kind", ref: resource.Ref{ID: "arn:aws:ec2:us-east-1:1:instance/i-1"}, prefix: "security-group/", wantErr: true},
		{name: "other service", ref: resource.Ref{ID: "arn:aws:rds:us-east-1:1:snapshot/s"}, prefix: "snapshot/", wantErr: true},
		{name: "missing id", ref: resource.Ref{ID: "arn:aws:ec2:us-east-1::image/"}, prefix: "image/", wantErr: true},
		{name: "setting with a suffix", ref: resource.Ref{ID: "arn:aws:ec2:us-east-1:1:ebs-encryption-by-default/x"}, prefix: "ebs-encryption-by-default", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, region, err := ec2RefID(tt.ref, tt.prefix)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ec2RefID error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (id != tt.wantID || region != tt.wantRegion) {
				t.Errorf("ec2RefID = %q, %q; want %q, %q", id, region, tt.wantID, tt.wantRegion)
			}
		})
	}
}

func TestEC2FetchersRegistered(t *testing.T) {
	r := New(aws.Config{Region: "us-east-1"}, Options{})
	for _, typ := range []string{"AWS::EC2::SecurityGroup", "AWS::EC2::NetworkAcl", "AWS::EC2::Snapshot",
		"AWS::EC2::Image", "AWS::EC2::EbsEncryptionByDefault"} {
		if _, ok := r.fetch[typ]; !ok {
			t.Errorf("no fetcher for %s", typ)
		}
	}
	// A malformed ID fails before any call is made.
	_, err := r.Read(context.Background(), resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: "sg-1"})
	if err == nil || !strings.Contains(err.Error(), "parse AWS::EC2::SecurityGroup ARN") {
		t.Errorf("Read of a malformed ID: error = %v", err)
	}
}
