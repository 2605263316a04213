package aws

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// TestEC2Moto reads every EC2 type from moto through the Reader while the
// resources are created, weakened, fixed and deleted, then checks that the
// documents in the rule tests have the shape of the documents read here.
func TestEC2Moto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	api := ec2.NewFromConfig(cfg)
	r := New(cfg, Options{})
	// fetched collects the documents read, per type, for the shape check.
	fetched := map[string][]map[string]any{}
	read := func(t *testing.T, typ, arn string) resource.Resource {
		t.Helper()
		res, err := r.Read(ctx, resource.Ref{Type: typ, ID: arn, Account: mototest.Account, Region: mototest.Region})
		if err != nil {
			t.Fatalf("read %s: %v", arn, err)
		}
		if res.Exists {
			fetched[typ] = append(fetched[typ], res.Doc)
		}
		return res
	}
	vpcs, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) == 0 {
		t.Fatalf("describe vpcs: %v (%d)", err, len(vpcs.Vpcs))
	}
	vpc := aws.ToString(vpcs.Vpcs[0].VpcId)
	sgARN := func(id string) string { return "arn:aws:ec2:us-east-1:123456789012:security-group/" + id }

	t.Run("default security group", func(t *testing.T) {
		out, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
			Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"default"}}}})
		if err != nil || len(out.SecurityGroups) == 0 {
			t.Fatalf("find default group: %v", err)
		}
		res := read(t, "AWS::EC2::SecurityGroup", sgARN(aws.ToString(out.SecurityGroups[0].GroupId)))
		if !res.Exists || res.Doc["IsDefault"] != true || res.Doc["GroupName"] != "default" {
			t.Errorf("default group read as %+v", res)
		}
	})

	t.Run("security group lifecycle", func(t *testing.T) {
		created, err := api.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String("web"), Description: aws.String("web servers"), VpcId: aws.String(vpc),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup,
				Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("edge")}}}},
		})
		if err != nil {
			t.Fatalf("create security group: %v", err)
		}
		id := aws.ToString(created.GroupId)

		res := read(t, "AWS::EC2::SecurityGroup", sgARN(id))
		wantTop := map[string]any{"GroupId": id, "GroupName": "web", "VpcId": vpc, "OwnerId": mototest.Account,
			"Description": "web servers", "IsDefault": false}
		for k, v := range wantTop {
			if res.Doc[k] != v {
				t.Errorf("%s = %v, want %v", k, res.Doc[k], v)
			}
		}
		if res.Tags["team"] != "edge" {
			t.Errorf("tags = %v", res.Tags)
		}
		if in := res.Doc["SecurityGroupIngress"].([]any); len(in) != 0 {
			t.Errorf("new group has ingress %v", in)
		}
		egress := res.Doc["SecurityGroupEgress"].([]any)
		if len(egress) != 1 || egress[0].(map[string]any)["IpProtocol"] != "-1" || egress[0].(map[string]any)["CidrIp"] != "0.0.0.0/0" {
			t.Errorf("new group egress = %v, want allow all", egress)
		}

		if _, err := api.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
			GroupId: aws.String(id),
			IpPermissions: []types.IpPermission{
				{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
					IpRanges:   []types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("ssh")}, {CidrIp: aws.String("10.0.0.0/8")}},
					Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}},
				{IpProtocol: aws.String("6"), FromPort: aws.Int32(3306), ToPort: aws.Int32(3306),
					UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(id)}}},
			},
		}); err != nil {
			t.Fatalf("authorize ingress: %v", err)
		}
		res = read(t, "AWS::EC2::SecurityGroup", sgARN(id))
		got := ruleSummaries(res.Doc["SecurityGroupIngress"].([]any), "Source")
		want := []string{
			"tcp 22-22 0.0.0.0/0 ssh", "tcp 22-22 10.0.0.0/8", "tcp 22-22 ::/0", "tcp 3306-3306 sg:" + id,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ingress = %q, want %q", got, want)
		}
		for _, e := range res.Doc["SecurityGroupIngress"].([]any) {
			if !strings.HasPrefix(e.(map[string]any)["RuleId"].(string), "sgr-") {
				t.Errorf("rule without a rule ID: %v", e)
			}
		}

		if _, err := api.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
			GroupId: aws.String(id),
			IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
				IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}},
		}); err != nil {
			t.Fatalf("revoke ingress: %v", err)
		}
		res = read(t, "AWS::EC2::SecurityGroup", sgARN(id))
		if got := ruleSummaries(res.Doc["SecurityGroupIngress"].([]any), "Source"); slices.Contains(got, "tcp 22-22 0.0.0.0/0 ssh") {
			t.Errorf("revoked rule still read: %q", got)
		}

		if _, err := api.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)}); err != nil {
			t.Fatalf("delete security group: %v", err)
		}
		if res := read(t, "AWS::EC2::SecurityGroup", sgARN(id)); res.Exists {
			t.Errorf("deleted group still exists: %+v", res)
		}
	})

	t.Run("network acl lifecycle", func(t *testing.T) {
		created, err := api.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(vpc)})
		if err != nil {
			t.Fatalf("create network acl: %v", err)
		}
		id := aws.ToString(created.NetworkAcl.NetworkAclId)
		arn := "arn:aws:ec2:us-east-1:123456789012:network-acl/" + id
		for _, e := range []ec2.CreateNetworkAclEntryInput{
			{RuleNumber: aws.Int32(100), Protocol: aws.String("6"), RuleAction: types.RuleActionAllow, Egress: aws.Bool(false),
				CidrBlock: aws.String("0.0.0.0/0"), PortRange: &types.PortRange{From: aws.Int32(22), To: aws.Int32(22)}},
			{RuleNumber: aws.Int32(90), Protocol: aws.String("-1"), RuleAction: types.RuleActionDeny, Egress: aws.Bool(false),
				Ipv6CidrBlock: aws.String("::/0")},
			{RuleNumber: aws.Int32(100), Protocol: aws.String("-1"), RuleAction: types.RuleActionAllow, Egress: aws.Bool(true),
				CidrBlock: aws.String("0.0.0.0/0")},
		} {
			e.NetworkAclId = aws.String(id)
			if _, err := api.CreateNetworkAclEntry(ctx, &e); err != nil {
				t.Fatalf("create entry %d: %v", aws.ToInt32(e.RuleNumber), err)
			}
		}
		res := read(t, "AWS::EC2::NetworkAcl", arn)
		if res.Doc["NetworkAclId"] != id || res.Doc["VpcId"] != vpc || res.Doc["IsDefault"] != false {
			t.Errorf("acl = %v", res.Doc)
		}
		var got []string
		for _, e := range res.Doc["Entries"].([]any) {
			m := e.(map[string]any)
			pr := m["PortRange"].(map[string]any)
			got = append(got, fmt.Sprintf("%v %d %s %s %s%s %d-%d", m["Egress"], m["RuleNumber"], m["Protocol"], m["RuleAction"],
				m["CidrBlock"], m["Ipv6CidrBlock"], pr["From"], pr["To"]))
		}
		want := []string{"false 90 -1 deny ::/0 -1--1", "false 100 6 allow 0.0.0.0/0 22-22", "true 100 -1 allow 0.0.0.0/0 -1--1"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("entries = %q, want %q", got, want)
		}

		if _, err := api.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(id),
			RuleNumber: aws.Int32(100), Egress: aws.Bool(false)}); err != nil {
			t.Fatalf("delete entry: %v", err)
		}
		if res := read(t, "AWS::EC2::NetworkAcl", arn); len(res.Doc["Entries"].([]any)) != 2 {
			t.Errorf("entries after delete = %v", res.Doc["Entries"])
		}
		if _, err := api.DeleteNetworkAcl(ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: aws.String(id)}); err != nil {
			t.Fatalf("delete network acl: %v", err)
		}
		// Not read again: for a missing ACL ID moto answers
		// InvalidRouteTableID.NotFound where AWS answers
		// InvalidNetworkAclID.NotFound; the fake covers that case.
	})

	t.Run("default network acl", func(t *testing.T) {
		out, err := api.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{
			Filters: []types.Filter{{Name: aws.String("default"), Values: []string{"true"}}}})
		if err != nil || len(out.NetworkAcls) == 0 {
			t.Fatalf("find default acl: %v", err)
		}
		res := read(t, "AWS::EC2::NetworkAcl", "arn:aws:ec2:us-east-1:123456789012:network-acl/"+aws.ToString(out.NetworkAcls[0].NetworkAclId))
		if res.Doc["IsDefault"] != true || len(res.Doc["SubnetIds"].([]any)) == 0 {
			t.Errorf("default acl = %v", res.Doc)
		}
	})

	// Snapshot and image share one snapshot (an AMI is registered from it).
	vol, err := api.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(1)})
	if err != nil {
		t.Fatalf("create volume: %v", err)
	}
	snap, err := api.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: vol.VolumeId, Description: aws.String("nightly"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot,
			Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}}})
	if err != nil {
		t.Fatalf("create snapshot: %v", err)
	}
	snapID := aws.ToString(snap.SnapshotId)

	t.Run("snapshot lifecycle", func(t *testing.T) {
		// A second snapshot, so that the shared one can still back the AMI.
		s, err := api.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: vol.VolumeId})
		if err != nil {
			t.Fatalf("create snapshot: %v", err)
		}
		id := aws.ToString(s.SnapshotId)
		arn := "arn:aws:ec2:us-east-1::snapshot/" + id
		res := read(t, "AWS::EC2::Snapshot", arn)
		if res.Doc["SnapshotId"] != id || res.Doc["VolumeId"] != aws.ToString(vol.VolumeId) || res.Doc["Encrypted"] != false ||
			len(res.Doc["CreateVolumePermissions"].([]any)) != 0 {
			t.Errorf("private snapshot = %v", res.Doc)
		}
		// moto reads only the OperationType/GroupNames/UserIds form.
		if _, err := api.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(id),
			Attribute: types.SnapshotAttributeNameCreateVolumePermission, OperationType: types.OperationTypeAdd,
			GroupNames: []string{"all"}, UserIds: []string{"098797384747"}}); err != nil {
			t.Fatalf("share snapshot: %v", err)
		}
		res = read(t, "AWS::EC2::Snapshot", arn)
		perms := res.Doc["CreateVolumePermissions"].([]any)
		want := []any{map[string]any{"Group": "all", "UserId": ""}, map[string]any{"Group": "", "UserId": "098797384747"}}
		if !reflect.DeepEqual(perms, want) {
			t.Errorf("permissions = %v, want %v", perms, want)
		}
		if _, err := api.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(id)}); err != nil {
			t.Fatalf("delete snapshot: %v", err)
		}
		if res := read(t, "AWS::EC2::Snapshot", arn); res.Exists {
			t.Errorf("deleted snapshot still exists")
		}
		if res := read(t, "AWS::EC2::Snapshot", "arn:aws:ec2:us-east-1::snapshot/"+snapID); res.Tags["env"] != "prod" {
			t.Errorf("snapshot tags = %v", res.Tags)
		}
	})

	t.Run("image lifecycle", func(t *testing.T) {
		reg, err := api.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("golden"), RootDeviceName: aws.String("/dev/xvda"),
			BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"),
				Ebs: &types.EbsBlockDevice{SnapshotId: aws.String(snapID)}}}})
		if err != nil {
			t.Fatalf("register image: %v", err)
		}
		id := aws.ToString(reg.ImageId)
		arn := "arn:aws:ec2:us-east-1::image/" + id
		res := read(t, "AWS::EC2::Image", arn)
		if res.Doc["ImageId"] != id || res.Doc["Name"] != "golden" || res.Doc["Public"] != false ||
			res.Doc["OwnerId"] != mototest.Account || len(res.Doc["LaunchPermissions"].([]any)) != 0 {
			t.Errorf("private image = %v", res.Doc)
		}
		if _, err := api.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id),
			LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{
				{Group: types.PermissionGroupAll}, {UserId: aws.String("846424999548")}}}}); err != nil {
			t.Fatalf("make image public: %v", err)
		}
		res = read(t, "AWS::EC2::Image", arn)
		if res.Doc["Public"] != true || len(res.Doc["LaunchPermissions"].([]any)) != 2 {
			t.Errorf("public image = %v", res.Doc)
		}
		if _, err := api.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id),
			LaunchPermission: &types.LaunchPermissionModifications{Remove: []types.LaunchPermission{{Group: types.PermissionGroupAll}}}}); err != nil {
			t.Fatalf("make image private: %v", err)
		}
		res = read(t, "AWS::EC2::Image", arn)
		want := []any{map[string]any{"Group": "", "UserId": "846424999548", "OrganizationArn": "", "OrganizationalUnitArn": ""}}
		if res.Doc["Public"] != false || !reflect.DeepEqual(res.Doc["LaunchPermissions"], want) {
			t.Errorf("private again = %v", res.Doc)
		}
		if _, err := api.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id)}); err != nil {
			t.Fatalf("deregister image: %v", err)
		}
		if res := read(t, "AWS::EC2::Image", arn); res.Exists {
			t.Errorf("deregistered image still exists")
		}
		if res := read(t, "AWS::EC2::Image", "arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0"); res.Exists {
			t.Errorf("unknown image exists")
		}
	})

	t.Run("ebs encryption by default", func(t *testing.T) {
		const arn = "arn:aws:ec2:us-east-1:123456789012:ebs-encryption-by-default"
		if res := read(t, "AWS::EC2::EbsEncryptionByDefault", arn); res.Doc["Enabled"] != false {
			t.Errorf("initial setting = %v", res.Doc)
		}
		if _, err := api.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{}); err != nil {
			t.Fatal(err)
		}
		if res := read(t, "AWS::EC2::EbsEncryptionByDefault", arn); res.Doc["Enabled"] != true {
			t.Errorf("after enable = %v", res.Doc)
		}
		// The setting is per region: another region is still off.
		if res := read(t, "AWS::EC2::EbsEncryptionByDefault", "arn:aws:ec2:eu-west-1:123456789012:ebs-encryption-by-default"); res.Doc["Enabled"] != false {
			t.Errorf("eu-west-1 after enabling us-east-1 = %v", res.Doc)
		}
	})

	t.Run("rule tests use fetched shapes", func(t *testing.T) {
		path := filepath.Join("..", "..", "policy", "pack", "aws", "ec2.tests.yaml")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		tf, err := policy.ParseTests(path, data)
		if err != nil {
			t.Fatal(err)
		}
		rules, err := policy.LoadFS(os.DirFS(filepath.Dir(path)), "ec2.rules.yaml")
		if err != nil {
			t.Fatal(err)
		}
		typeOf := map[string]string{}
		for _, rl := range rules {
			typeOf[rl.ID] = rl.ResourceTypes[0]
		}
		for _, rt := range tf.Tests {
			want := docShape(fetched[typeOf[rt.Rule]]...)
			if len(want) == 0 {
				t.Errorf("%s: no fetched %q document to compare with", rt.Rule, typeOf[rt.Rule])
				continue
			}
			for _, c := range rt.Cases {
				if c.Resource == nil {
					continue
				}
				got := docShape(c.Resource)
				for p, kinds := range got {
					for k := range kinds {
						if !want[p][k] {
							t.Errorf("%s / %s: %s is %s in the test, never so when fetched (%v)", rt.Rule, c.Name, p, k, want[p])
						}
					}
				}
				for p, kinds := range want {
					if _, ok := got[p]; !ok && !strings.Contains(p, "[]") {
						t.Errorf("%s / %s: test document lacks %s (%v)", rt.Rule, c.Name, p, kinds)
					}
				}
			}
		}
	})
}

// ruleSummaries renders security group rule documents as sorted
// "proto from-to source [description]" strings.
func ruleSummaries(rules []any, peer string) []string {
	var out []string
	for _, r := range rules {
		m := r.(map[string]any)
		src := m["CidrIp"].(string) + m["CidrIpv6"].(string) + m[peer+"PrefixListId"].(string)
		if g := m[peer+"SecurityGroupId"].(string); g != "" {
			src += "sg:" + g
		}
		s := fmt.Sprintf("%s %d-%d %s", m["IpProtocol"], m["FromPort"], m["ToPort"], src)
		if d := m["Description"].(string); d != "" {
			s += " " + d
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// docShape maps every path of the documents ("A.B", "List[].C") to the Go
// types of its values, and every map's path plus "{}" to its key lists
// (sorted, comma-separated): one entry per distinct shape seen.
func docShape(docs ...map[string]any) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	add := func(path, kind string) {
		if out[path] == nil {
			out[path] = map[string]bool{}
		}
		out[path][kind] = true
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			add(path+"{}", strings.Join(keys, ","))
			if path != "" {
				add(path, "map")
				path += "."
			}
			for k, e := range x {
				walk(path+k, e)
			}
		case []any:
			add(path, "list")
			for _, e := range x {
				walk(path+"[]", e)
			}
		default:
			add(path, fmt.Sprintf("%T", v))
		}
	}
	for _, d := range docs {
		walk("", d)
	}
	return out
}
