package catalog

import (
	"fmt"
	"slices"

	"github.com/driftwatch/driftwatch/shared/change"
)

// EC2 resource types.
const (
	ec2SecurityGroupType = "AWS::EC2::SecurityGroup"
	ec2NetworkACLType    = "AWS::EC2::NetworkAcl"
	ec2SnapshotType      = "AWS::EC2::Snapshot"
	ec2ImageType         = "AWS::EC2::Image"
	ec2EBSDefaultType    = "AWS::EC2::EbsEncryptionByDefault"
)

const ec2Service = "ec2.amazonaws.com"

// ec2Entries are the watched ec2 operations.
//
// EC2 events never carry CloudTrail resources[]; the IDs are in
// requestParameters or responseElements. Lists in EC2 events are XML-derived
// objects of the form {"items": [...]}.
func ec2Entries() []Entry {
	sg := func(op, note string, resolve func(*change.Change) ([]string, error)) Entry {
		return Entry{Service: ec2Service, Operation: op, Note: note,
			Targets: []Target{{Type: ec2SecurityGroupType, Resolve: resolve}}}
	}
	nacl := func(op, note string, resolve func(*change.Change) ([]string, error)) Entry {
		return Entry{Service: ec2Service, Operation: op, Note: note,
			Targets: []Target{{Type: ec2NetworkACLType, Resolve: resolve}}}
	}
	snapshot := func(op string) Entry {
		return Entry{Service: ec2Service, Operation: op, Note: "requestParameters.snapshotId",
			Targets: []Target{{Type: ec2SnapshotType, Resolve: ec2SnapshotFromRequest}}}
	}
	image := func(op string) Entry {
		return Entry{Service: ec2Service, Operation: op, Note: "requestParameters.imageId",
			Targets: []Target{{Type: ec2ImageType, Resolve: ec2ImageFromRequest}}}
	}
	ebs := func(op string) Entry {
		return Entry{Service: ec2Service, Operation: op,
			Note:    "account-and-region setting: recipientAccountId and awsRegion",
			Targets: []Target{{Type: ec2EBSDefaultType, Resolve: ebsEncryptionByDefault}}}
	}
	const ruleNote = "requestParameters.groupId, else responseElements.%s.items[].groupId " +
		"(a default-VPC call may name the group only by groupName)"
	return []Entry{
		sg("CreateSecurityGroup", "responseElements.groupId", createdSecurityGroup),
		sg("DeleteSecurityGroup", "requestParameters.groupId, else responseElements.groupId",
			deletedSecurityGroup),
		sg("AuthorizeSecurityGroupIngress", fmt.Sprintf(ruleNote, "securityGroupRuleSet"),
			securityGroupRuleChange("securityGroupRuleSet")),
		sg("AuthorizeSecurityGroupEgress", fmt.Sprintf(ruleNote, "securityGroupRuleSet"),
			securityGroupRuleChange("securityGroupRuleSet")),
		sg("RevokeSecurityGroupIngress", fmt.Sprintf(ruleNote, "revokedSecurityGroupRuleSet"),
			securityGroupRuleChange("revokedSecurityGroupRuleSet")),
		sg("RevokeSecurityGroupEgress", fmt.Sprintf(ruleNote, "revokedSecurityGroupRuleSet"),
			securityGroupRuleChange("revokedSecurityGroupRuleSet")),
		sg("ModifySecurityGroupRules", "requestParameters.ModifySecurityGroupRulesRequest.GroupId",
			modifiedSecurityGroupRules),

		nacl("CreateNetworkAcl", "responseElements.networkAcl.networkAclId", createdNetworkACL),
		nacl("DeleteNetworkAcl", "requestParameters.networkAclId", networkACLFromRequest),
		nacl("CreateNetworkAclEntry", "requestParameters.networkAclId", networkACLFromRequest),
		nacl("ReplaceNetworkAclEntry", "requestParameters.networkAclId", networkACLFromRequest),
		nacl("DeleteNetworkAclEntry", "requestParameters.networkAclId", networkACLFromRequest),

		snapshot("ModifySnapshotAttribute"),
		snapshot("ResetSnapshotAttribute"),
		snapshot("DeleteSnapshot"),

		image("ModifyImageAttribute"),
		image("ResetImageAttribute"),
		image("DeregisterImage"),

		ebs("EnableEbsEncryptionByDefault"),
		ebs("DisableEbsEncryptionByDefault"),
	}
}

// securityGroupARN returns arn:{p}:ec2:{r}:{a}:security-group/{id}.
func securityGroupARN(c *change.Change, id string) string {
	return ARN(c, "ec2", c.Region, c.Account, "security-group/"+id)
}

// ec2NoGroupID is the error for a security group event that names the group
// only by name (possible in a default VPC): the group cannot be keyed by ID.
func ec2NoGroupID(c *change.Change) error {
	if name := Field(c, "requestParameters.groupName"); name != "" {
		return fmt.Errorf("security group named %q has no group id in the event: %w", name, ErrNoID)
	}
	return fmt.Errorf("no requestParameters.groupId: %w", ErrNoID)
}

func createdSecurityGroup(c *change.Change) ([]string, error) {
	if id := Field(c, "responseElements.groupId"); id != "" {
		return []string{securityGroupARN(c, id)}, nil
	}
	if name := Field(c, "requestParameters.groupName"); name != "" {
		return nil, fmt.Errorf("created security group %q: no responseElements.groupId: %w", name, ErrNoID)
	}
	return nil, fmt.Errorf("no responseElements.groupId: %w", ErrNoID)
}

func deletedSecurityGroup(c *change.Change) ([]string, error) {
	if id := Field(c, "requestParameters.groupId", "responseElements.groupId"); id != "" {
		return []string{securityGroupARN(c, id)}, nil
	}
	return nil, ec2NoGroupID(c)
}

// securityGroupRuleChange resolves Authorize/Revoke events: the group ID is
// in the request unless the caller named the group by name, in which case the
// rule set in the response (newer events) still carries it.
func securityGroupRuleChange(ruleSet string) func(*change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		if id := Field(c, "requestParameters.groupId"); id != "" {
			return []string{securityGroupARN(c, id)}, nil
		}
		var out []string
		for _, it := range ec2Items(change.Lookup(c.Response(), ruleSet)) {
			if id := change.String(it, "groupId"); id != "" {
				if arn := securityGroupARN(c, id); !slices.Contains(out, arn) {
					out = append(out, arn)
				}
			}
		}
		if len(out) > 0 {
			return out, nil
		}
		return nil, ec2NoGroupID(c)
	}
}

func modifiedSecurityGroupRules(c *change.Change) ([]string, error) {
	id := Field(c, "requestParameters.ModifySecurityGroupRulesRequest.GroupId", "requestParameters.groupId")
	if id == "" {
		return nil, fmt.Errorf("no requestParameters.ModifySecurityGroupRulesRequest.GroupId: %w", ErrNoID)
	}
	return []string{securityGroupARN(c, id)}, nil
}

// networkACLARN returns arn:{p}:ec2:{r}:{a}:network-acl/{id}.
func networkACLARN(c *change.Change, id string) string {
	return ARN(c, "ec2", c.Region, c.Account, "network-acl/"+id)
}

func networkACLFromRequest(c *change.Change) ([]string, error) {
	id := Field(c, "requestParameters.networkAclId")
	if id == "" {
		return nil, fmt.Errorf("no requestParameters.networkAclId: %w", ErrNoID)
	}
	return []string{networkACLARN(c, id)}, nil
}

func createdNetworkACL(c *change.Change) ([]string, error) {
	id := Field(c, "responseElements.networkAcl.networkAclId")
	if id == "" {
		return nil, fmt.Errorf("no responseElements.networkAcl.networkAclId: %w", ErrNoID)
	}
	return []string{networkACLARN(c, id)}, nil
}

// ec2SnapshotFromRequest returns arn:{p}:ec2:{r}::snapshot/{id} (EBS snapshot
// ARNs carry no account).
func ec2SnapshotFromRequest(c *change.Change) ([]string, error) {
	id := Field(c, "requestParameters.snapshotId")
	if id == "" {
		return nil, fmt.Errorf("no requestParameters.snapshotId: %w", ErrNoID)
	}
	return []string{ARN(c, "ec2", c.Region, "", "snapshot/"+id)}, nil
}

// ec2ImageFromRequest returns arn:{p}:ec2:{r}::image/{id} (AMI ARNs carry no
// account).
func ec2ImageFromRequest(c *change.Change) ([]string, error) {
	id := Field(c, "requestParameters.imageId")
	if id == "" {
		return nil, fmt.Errorf("no requestParameters.imageId: %w", ErrNoID)
	}
	return []string{ARN(c, "ec2", c.Region, "", "image/"+id)}, nil
}

// ebsEncryptionByDefault returns the invented ARN
// arn:{p}:ec2:{r}:{a}:ebs-encryption-by-default of the per-account,
// per-region setting.
func ebsEncryptionByDefault(c *change.Change) ([]string, error) {
	if c.Account == "" || c.Region == "" {
		return nil, fmt.Errorf("no recipientAccountId or awsRegion: %w", ErrNoID)
	}
	return []string{ARN(c, "ec2", c.Region, c.Account, "ebs-encryption-by-default")}, nil
}

// ec2Items returns the elements of an EC2 XML-derived list: {"items": [...]}
// (an empty list is logged as {}), tolerating a bare list or a single object.
func ec2Items(v any) []any {
	if m, ok := v.(map[string]any); ok {
		if it, ok := m["items"]; ok {
			v = it
		} else if len(m) == 0 {
			return nil
		}
	}
	switch t := v.(type) {
	case []any:
		return t
	case map[string]any:
		return []any{t}
	}
	return nil
}
