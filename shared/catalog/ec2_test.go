package catalog

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// ec2Change builds the decoded form of a CloudTrail ec2.amazonaws.com record.
func ec2Change(op, account, region, request, response string) *change.Change {
	c := &change.Change{Cloud: change.AWS, Service: ec2Service, Operation: op, Account: account, Region: region}
	if request != "" {
		c.RequestJSON = json.RawMessage(request)
	}
	if response != "" {
		c.ResponseJSON = json.RawMessage(response)
	}
	return c
}

func TestEC2Entries(t *testing.T) {
	cat := New(ec2Entries())
	tests := []struct {
		name   string
		change *change.Change
		want   []resource.Ref
		// wantErr, when set, is a substring of the expected ErrNoID error.
		wantErr string
	}{
		{
			// Shape of panther-analysis aws_ec2_manual_security_group_changes.yml,
			// "Terraform Security Group Creation" (Apache-2.0).
			name: "CreateSecurityGroup id in response",
			change: ec2Change("CreateSecurityGroup", "112233445566", "us-east-1",
				`{"groupName":"prod-webapp-webserver-security","groupDescription":"prod-webapp-webserver Security SG","vpcId":"vpc-a1a044c7"}`,
				`{"requestId":"594fe3e3-0f74-4085-9336-189b36a1cd8c","_return":true,"groupId":"sg-04d018d184a18f647"}`),
			want: []resource.Ref{{Type: ec2SecurityGroupType,
				ID: "arn:aws:ec2:us-east-1:112233445566:security-group/sg-04d018d184a18f647"}},
		},
		{
			name: "CreateSecurityGroup without response names the group",
			change: ec2Change("CreateSecurityGroup", "112233445566", "us-east-1",
				`{"groupName":"web","groupDescription":"d"}`, `null`),
			wantErr: `"web"`,
		},
		{
			// Stratus Red Team detonation log
			// aws.exfiltration.ec2-security-group-open-port-22-ingress (Apache-2.0):
			// flat form, ipPermissions {}, anonymised region.
			name: "AuthorizeSecurityGroupIngress flat form",
			change: ec2Change("AuthorizeSecurityGroupIngress", "032092706103", "us-northeast-1r",
				`{"cidrIp":"208.236.235.254/0","fromPort":22,"groupId":"sg-003dc7f1f1c686164","ipPermissions":{},"ipProtocol":"tcp","toPort":22}`,
				`{"_return":true,"securityGroupRuleSet":{"items":[{"cidrIpv4":"208.236.235.254/0","fromPort":22,"groupId":"sg-003dc7f1f1c686164","groupOwnerId":"032092706103","ipProtocol":"tcp","isEgress":false,"securityGroupRuleId":"sgr-09b3e3d2ca1edf2a2","toPort":22}]}}`),
			want: []resource.Ref{{Type: ec2SecurityGroupType,
				ID: "arn:aws:ec2:us-northeast-1r:032092706103:security-group/sg-003dc7f1f1c686164"}},
		},
		{
			// StreamAlert cloudtrail_security_group_ingress_anywhere.json (Apache-2.0),
			// old response without a rule set.
			name: "AuthorizeSecurityGroupIngress ipPermissions items, old response",
			change: ec2Change("AuthorizeSecurityGroupIngress", "123456789012", "eu-west-1",
				`{"groupId":"sg-0a1b2c3d","ipPermissions":{"items":[{"groups":{},"ipProtocol":"-1","ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{"items":[{"cidrIpv6":"::/0"}]},"prefixListIds":{}}]}}`,
				`{"_return":true}`),
			want: []resource.Ref{{Type: ec2SecurityGroupType,
				ID: "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0a1b2c3d"}},
		},
		{
			name: "AuthorizeSecurityGroupIngress by groupName, id from rule set",
			change: ec2Change("AuthorizeSecurityGroupIngress", "123456789012", "us-east-1",
				`{"groupName":"launch-wizard-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":"3389","toPort":"3389","ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`,
				`{"_return":true,"securityGroupRuleSet":{"items":[
					{"groupId":"sg-0aaa","securityGroupRuleId":"sgr-1","ipProtocol":"tcp","fromPort":3389,"toPort":3389,"cidrIpv4":"0.0.0.0/0","isEgress":false},
					{"groupId":"sg-0aaa","securityGroupRuleId":"sgr-2","ipProtocol":"tcp","fromPort":3389,"toPort":3389,"cidrIpv6":"::/0","isEgress":false}]}}`),
			want: []resource.Ref{{Type: ec2SecurityGroupType,
				ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0aaa"}},
		},
		{
			name: "AuthorizeSecurityGroupIngress by groupName, old response",
			change: ec2Change("AuthorizeSecurityGroupIngress", "123456789012", "us-east-1",
				`{"groupName":"launch-wizard-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`,
				`{"_return":true}`),
			wantErr: `"launch-wizard-1"`,
		},
		{
			name: "AuthorizeSecurityGroupEgress",
			change: ec2Change("AuthorizeSecurityGroupEgress", "123456789012", "us-gov-west-1",
				`{"groupId":"sg-0bbb","ipPermissions":{"items":[{"ipProtocol":"-1","ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`,
				`{"_return":true,"securityGroupRuleSet":{"items":[{"groupId":"sg-0bbb","isEgress":true}]}}`),
			want: []resource.Ref{{Type: ec2SecurityGroupType,
				ID: "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:security-group/sg-0bbb"}},
		},
		{
			name: "RevokeSecurityGroupIngress",
			change: ec2Change("RevokeSecurityGroupIngress", "123456789012", "us-east-1",
				`{"groupId":"sg-0ccc","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`,
				`{"_return":true}`),
			want: []resource.Ref{{Type: ec2SecurityGroupType,
				ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0ccc"}},
		},
		{
			name: "RevokeSecurityGroupIngress by groupName, id from revoked rule set",
			change: ec2Change("RevokeSecurityGroupIngress", "123456789012", "us-east-1",
				`{"groupName":"default","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22}]}}`,
				`{"_return":true,"revokedSecurityGroupRuleSet":{"items":[{"groupId":"sg-0ddd","securityGroupRuleId":"sgr-3"}]}}`),
			want: []resource.Ref{{Type: ec2SecurityGroupType,
				ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0ddd"}},
		},
		{
			name: "RevokeSecurityGroupEgress by rule ids",
			change: ec2Change("RevokeSecurityGroupEgress", "123456789012", "us-east-1",
				`{"groupId":"sg-0eee","securityGroupRuleIds":{"items":[{"securityGroupRuleId":"sgr-4"}]}}`, `{"_return":true}`),
			want: []resource.Ref{{Type: ec2SecurityGroupType,
				ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0eee"}},
		},
		{
			name:    "RevokeSecurityGroupEgress without any group",
			change:  ec2Change("RevokeSecurityGroupEgress", "123456789012", "us-east-1", `{}`, `{"_return":true}`),
			wantErr: "groupId",
		},
		{
			name: "ModifySecurityGroupRules PascalCase wrapper",
			change: ec2Change("ModifySecurityGroupRules", "123456789012", "us-east-1",
				`{"ModifySecurityGroupRulesRequest":{"GroupId":"sg-0fff","SecurityGroupRule":{"SecurityGroupRuleId":"sgr-5","SecurityGroupRule":{"CidrIpv4":"0.0.0.0/0","FromPort":22,"ToPort":22,"IpProtocol":"tcp"},"tag":1}}}`,
				`{"ModifySecurityGroupRulesResponse":{"return":true}}`),
			want: []resource.Ref{{Type: ec2SecurityGroupType,
				ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0fff"}},
		},
		{
			name:    "ModifySecurityGroupRules without group",
			change:  ec2Change("ModifySecurityGroupRules", "123456789012", "us-east-1", `{"ModifySecurityGroupRulesRequest":{}}`, ``),
			wantErr: "GroupId",
		},
		{
			name: "DeleteSecurityGroup",
			change: ec2Change("DeleteSecurityGroup", "123456789012", "us-east-1",
				`{"groupId":"sg-0123"}`, `{"_return":true,"groupId":"sg-0123"}`),
			want: []resource.Ref{{Type: ec2SecurityGroupType,
				ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123"}},
		},
		{
			name: "DeleteSecurityGroup by name, id in response",
			change: ec2Change("DeleteSecurityGroup", "123456789012", "us-east-1",
				`{"groupName":"old"}`, `{"_return":true,"groupId":"sg-0456"}`),
			want: []resource.Ref{{Type: ec2SecurityGroupType,
				ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0456"}},
		},
		{
			name: "DeleteSecurityGroup by name only",
			change: ec2Change("DeleteSecurityGroup", "123456789012", "us-east-1",
				`{"groupName":"old"}`, `{"_return":true}`),
			wantErr: `"old"`,
		},
		{
			name: "CreateNetworkAcl",
			change: ec2Change("CreateNetworkAcl", "123456789012", "us-east-1",
				`{"vpcId":"vpc-1"}`,
				`{"networkAcl":{"networkAclId":"acl-0a1","vpcId":"vpc-1","default":false,"entrySet":{"items":[{"ruleNumber":32767,"protocol":"-1","ruleAction":"deny","egress":true,"cidrBlock":"0.0.0.0/0"}]}}}`),
			want: []resource.Ref{{Type: ec2NetworkACLType,
				ID: "arn:aws:ec2:us-east-1:123456789012:network-acl/acl-0a1"}},
		},
		{
			// StreamAlert cloudtrail_network_acl_ingress_anywhere.json (Apache-2.0).
			name: "CreateNetworkAclEntry",
			change: ec2Change("CreateNetworkAclEntry", "123456789012", "us-east-1",
				`{"networkAclId":"acl-0b2","ruleNumber":90,"egress":false,"ruleAction":"allow","icmpTypeCode":{},"portRange":{},"aclProtocol":"-1","cidrBlock":"0.0.0.0/0"}`,
				`{"_return":true}`),
			want: []resource.Ref{{Type: ec2NetworkACLType,
				ID: "arn:aws:ec2:us-east-1:123456789012:network-acl/acl-0b2"}},
		},
		{
			name: "ReplaceNetworkAclEntry",
			change: ec2Change("ReplaceNetworkAclEntry", "123456789012", "cn-north-1",
				`{"networkAclId":"acl-0c3","ruleNumber":100,"egress":false,"ruleAction":"deny","aclProtocol":"6","portRange":{"from":22,"to":22},"cidrBlock":"0.0.0.0/0"}`,
				`{"_return":true}`),
			want: []resource.Ref{{Type: ec2NetworkACLType,
				ID: "arn:aws-cn:ec2:cn-north-1:123456789012:network-acl/acl-0c3"}},
		},
		{
			name: "DeleteNetworkAclEntry",
			change: ec2Change("DeleteNetworkAclEntry", "123456789012", "us-east-1",
				`{"networkAclId":"acl-0d4","ruleNumber":100,"egress":false}`, `{"_return":true}`),
			want: []resource.Ref{{Type: ec2NetworkACLType,
				ID: "arn:aws:ec2:us-east-1:123456789012:network-acl/acl-0d4"}},
		},
		{
			name:    "DeleteNetworkAclEntry without id",
			change:  ec2Change("DeleteNetworkAclEntry", "123456789012", "us-east-1", `{"ruleNumber":100}`, ``),
			wantErr: "networkAclId",
		},
		{
			name: "DeleteNetworkAcl",
			change: ec2Change("DeleteNetworkAcl", "123456789012", "us-east-1",
				`{"networkAclId":"acl-0e5"}`, `{"_return":true}`),
			want: []resource.Ref{{Type: ec2NetworkACLType,
				ID: "arn:aws:ec2:us-east-1:123456789012:network-acl/acl-0e5"}},
		},
		{
			// Stratus Red Team aws.exfiltration.ec2-share-ebs-snapshot (Apache-2.0).
			name: "ModifySnapshotAttribute has no account in the ARN",
			change: ec2Change("ModifySnapshotAttribute", "756680937392", "me-central-3r",
				`{"attributeType":"CREATE_VOLUME_PERMISSION","createVolumePermission":{"add":{"items":[{"userId":"098797384747"}]}},"snapshotId":"snap-041993b54a9b3af6f"}`,
				`{"_return":true}`),
			want: []resource.Ref{{Type: ec2SnapshotType,
				ID: "arn:aws:ec2:me-central-3r::snapshot/snap-041993b54a9b3af6f"}},
		},
		{
			name: "ResetSnapshotAttribute",
			change: ec2Change("ResetSnapshotAttribute", "123456789012", "us-east-1",
				`{"snapshotId":"snap-1","attribute":"CREATE_VOLUME_PERMISSION"}`, `{"_return":true}`),
			want: []resource.Ref{{Type: ec2SnapshotType, ID: "arn:aws:ec2:us-east-1::snapshot/snap-1"}},
		},
		{
			name:   "DeleteSnapshot",
			change: ec2Change("DeleteSnapshot", "123456789012", "us-east-1", `{"snapshotId":"snap-2"}`, `{"_return":true}`),
			want:   []resource.Ref{{Type: ec2SnapshotType, ID: "arn:aws:ec2:us-east-1::snapshot/snap-2"}},
		},
		{
			name:    "ModifySnapshotAttribute without id",
			change:  ec2Change("ModifySnapshotAttribute", "123456789012", "us-east-1", `{"attributeType":"CREATE_VOLUME_PERMISSION"}`, ``),
			wantErr: "snapshotId",
		},
		{
			// StreamAlert cloudtrail_snapshot_or_ami_made_public.json (Apache-2.0).
			name: "ModifyImageAttribute public",
			change: ec2Change("ModifyImageAttribute", "123456789123", "us-east-1",
				`{"imageId":"ami-00000000000000000","launchPermission":{"add":{"items":[{"group":"all"}]}},"attributeType":"launchPermission"}`,
				`{"_return":true}`),
			want: []resource.Ref{{Type: ec2ImageType, ID: "arn:aws:ec2:us-east-1::image/ami-00000000000000000"}},
		},
		{
			name: "ResetImageAttribute",
			change: ec2Change("ResetImageAttribute", "123456789012", "eu-central-1",
				`{"imageId":"ami-1","attribute":"launchPermission"}`, `{"_return":true}`),
			want: []resource.Ref{{Type: ec2ImageType, ID: "arn:aws:ec2:eu-central-1::image/ami-1"}},
		},
		{
			name:   "DeregisterImage",
			change: ec2Change("DeregisterImage", "123456789012", "us-east-1", `{"imageId":"ami-2"}`, `{"_return":true}`),
			want:   []resource.Ref{{Type: ec2ImageType, ID: "arn:aws:ec2:us-east-1::image/ami-2"}},
		},
		{
			name:    "ModifyImageAttribute without id",
			change:  ec2Change("ModifyImageAttribute", "123456789012", "us-east-1", `{"attributeType":"launchPermission"}`, ``),
			wantErr: "imageId",
		},
		{
			name:   "DisableEbsEncryptionByDefault null request",
			change: ec2Change("DisableEbsEncryptionByDefault", "123456789012", "ap-southeast-2", `null`, `{"ebsEncryptionByDefault":false}`),
			want: []resource.Ref{{Type: ec2EBSDefaultType,
				ID: "arn:aws:ec2:ap-southeast-2:123456789012:ebs-encryption-by-default"}},
		},
		{
			name:   "EnableEbsEncryptionByDefault",
			change: ec2Change("EnableEbsEncryptionByDefault", "123456789012", "us-east-1", `{}`, ``),
			want: []resource.Ref{{Type: ec2EBSDefaultType,
				ID: "arn:aws:ec2:us-east-1:123456789012:ebs-encryption-by-default"}},
		},
		{
			name:    "DisableEbsEncryptionByDefault without account",
			change:  ec2Change("DisableEbsEncryptionByDefault", "", "us-east-1", ``, ``),
			wantErr: "recipientAccountId",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			watched, err := cat.Resolve(tt.change)
			if !watched {
				t.Fatalf("%s %s is not watched", tt.change.Service, tt.change.Operation)
			}
			if tt.wantErr != "" {
				if !errors.Is(err, ErrNoID) {
					t.Fatalf("Resolve error = %v, want ErrNoID", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Resolve error = %q, want it to mention %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			for i := range tt.want {
				tt.want[i].Account, tt.want[i].Region = tt.change.Account, tt.change.Region
			}
			if !slices.Equal(tt.change.Resources, tt.want) {
				t.Errorf("Resources = %v, want %v", tt.change.Resources, tt.want)
			}
		})
	}
}

func TestEC2EntriesCoverOperations(t *testing.T) {
	cat := New(ec2Entries())
	for _, op := range []string{
		"CreateSecurityGroup", "DeleteSecurityGroup", "AuthorizeSecurityGroupIngress",
		"AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress",
		"ModifySecurityGroupRules", "CreateNetworkAcl", "DeleteNetworkAcl", "CreateNetworkAclEntry",
		"ReplaceNetworkAclEntry", "DeleteNetworkAclEntry", "ModifySnapshotAttribute",
		"ResetSnapshotAttribute", "DeleteSnapshot", "ModifyImageAttribute", "ResetImageAttribute",
		"DeregisterImage", "DisableEbsEncryptionByDefault", "EnableEbsEncryptionByDefault",
	} {
		e, ok := cat.Lookup(ec2Service, op)
		if !ok {
			t.Errorf("%s is not in the catalog", op)
			continue
		}
		if e.Note == "" || len(e.Targets) == 0 {
			t.Errorf("%s: entry lacks a note or targets: %+v", op, e)
		}
	}
	for _, op := range []string{"DescribeSecurityGroups", "RunInstances"} {
		if _, ok := cat.Lookup(ec2Service, op); ok {
			t.Errorf("%s should not be watched by the EC2 family rows", op)
		}
	}
}

func TestEC2Items(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"items list", `{"items":[{"a":1},{"a":2}]}`, 2},
		{"empty list logged as {}", `{}`, 0},
		{"single object under items", `{"items":{"a":1}}`, 1},
		{"bare list", `[{"a":1}]`, 1},
		{"absent", `null`, 0},
		{"string", `"x"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			if got := ec2Items(v); len(got) != tt.want {
				t.Errorf("ec2Items(%s) has %d elements, want %d", tt.in, len(got), tt.want)
			}
		})
	}
}
