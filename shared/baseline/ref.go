package baseline

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// arnTypes maps an ARN's service and the start of its resource part to the
// resource type it names (docs: the brief's ID formats, which the catalog
// builds). Longer prefixes come first where one prefix starts another.
var arnTypes = []struct {
	service, prefix, typ string
}{
	{"s3", "account-public-access-block", "AWS::S3::AccountPublicAccessBlock"},
	{"ec2", "security-group/", "AWS::EC2::SecurityGroup"},
	{"ec2", "network-acl/", "AWS::EC2::NetworkAcl"},
	{"ec2", "snapshot/", "AWS::EC2::Snapshot"},
	{"ec2", "image/", "AWS::EC2::Image"},
	{"ec2", "ebs-encryption-by-default", "AWS::EC2::EbsEncryptionByDefault"},
	{"iam", "user/", "AWS::IAM::User"},
	{"iam", "role/", "AWS::IAM::Role"},
	{"iam", "group/", "AWS::IAM::Group"},
	{"iam", "policy/", "AWS::IAM::ManagedPolicy"},
	{"iam", "account-password-policy", "AWS::IAM::AccountPasswordPolicy"},
	{"iam", "root", "AWS::IAM::RootUser"},
	{"cloudtrail", "trail/", "AWS::CloudTrail::Trail"},
	{"kms", "key/", "AWS::KMS::Key"},
	{"rds", "db:", "AWS::RDS::DBInstance"},
	{"rds", "cluster-snapshot:", "AWS::RDS::DBClusterSnapshot"},
	{"rds", "snapshot:", "AWS::RDS::DBSnapshot"},
	{"config", "configuration-recorder/", "AWS::Config::ConfigurationRecorder"},
	{"guardduty", "detector/", "AWS::GuardDuty::Detector"},
	{"lambda", "function:", "AWS::Lambda::Function"},
}

// RefOf returns the reference of the AWS resource an ARN names: its type
// (from the ARN's service and resource part), the ARN as ID, and its
// account and region (region, when the ARN has none, as for S3 and IAM).
// An S3 bucket ARN names no account: account fills it in when given.
func RefOf(id, account, region string) (resource.Ref, error) {
	a, err := arn.Parse(id)
	if err != nil {
		return resource.Ref{}, fmt.Errorf("resource %q: not an ARN (give --type for other IDs): %w", id, err)
	}
	ref := resource.Ref{ID: id, Account: a.AccountID, Region: a.Region}
	if ref.Account == "" {
		ref.Account = account
	}
	if ref.Region == "" {
		ref.Region = region
	}
	for _, t := range arnTypes {
		if a.Service == t.service && strings.HasPrefix(a.Resource, t.prefix) {
			ref.Type = t.typ
			return ref, nil
		}
	}
	if a.Service == "s3" && a.Resource != "" && !strings.ContainsAny(a.Resource, "/:") {
		ref.Type = "AWS::S3::Bucket"
		return ref, nil
	}
	return resource.Ref{}, fmt.Errorf("resource %q: no watched resource type has ARNs like it", id)
}
