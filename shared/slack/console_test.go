package slack

import (
	"testing"

	"github.com/driftwatch/driftwatch/shared/resource"
)

func TestConsoleURL(t *testing.T) {
	tests := []struct {
		name string
		ref  resource.Ref
		want string
	}{
		{"S3 bucket", resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::acme-logs"},
			"https://s3.console.aws.amazon.com/s3/buckets/acme-logs"},
		{"hostile bucket name", resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::evil<!channel>&<http://x|y>"},
			"https://s3.console.aws.amazon.com/s3/buckets/evil%3C%21channel%3E%26%3Chttp%3A%2F%2Fx%7Cy%3E"},
		{"S3 in GovCloud", resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws-us-gov:s3:::b"},
			"https://console.amazonaws-us-gov.com/s3/buckets/b"},
		{"account public access block", resource.Ref{Type: "AWS::S3::AccountPublicAccessBlock", ID: "arn:aws:s3::123456789012:account-public-access-block"},
			"https://s3.console.aws.amazon.com/s3/settings"},
		{"security group", resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc", Region: "eu-west-1"},
			"https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-0abc"},
		{"security group, region from the ARN", resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: "arn:aws:ec2:us-east-2:123456789012:security-group/sg-1"},
			"https://us-east-2.console.aws.amazon.com/ec2/home?region=us-east-2#SecurityGroup:groupId=sg-1"},
		{"security group in China", resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: "arn:aws-cn:ec2:cn-north-1:123456789012:security-group/sg-1"},
			"https://console.amazonaws.cn/ec2/home?region=cn-north-1#SecurityGroup:groupId=sg-1"},
		{"bogus region left out", resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: "arn:aws:ec2:evil.com/x#:123456789012:security-group/sg-1", Region: "evil.com/x#"},
			"https://console.aws.amazon.com/ec2/home#SecurityGroup:groupId=sg-1"},
		{"network ACL", resource.Ref{Type: "AWS::EC2::NetworkAcl", ID: "arn:aws:ec2:us-east-1:123456789012:network-acl/acl-1"},
			"https://us-east-1.console.aws.amazon.com/vpcconsole/home?region=us-east-1#NetworkAclDetails:networkAclId=acl-1"},
		{"snapshot", resource.Ref{Type: "AWS::EC2::Snapshot", ID: "arn:aws:ec2:us-east-1::snapshot/snap-1"},
			"https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#SnapshotDetails:snapshotId=snap-1"},
		{"image", resource.Ref{Type: "AWS::EC2::Image", ID: "arn:aws:ec2:us-east-1::image/ami-1"},
			"https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#ImageDetails:imageId=ami-1"},
		{"IAM user with path", resource.Ref{Type: "AWS::IAM::User", ID: "arn:aws:iam::123456789012:user/ops/al+ice"},
			"https://console.aws.amazon.com/iam/home#/users/details/al%2Bice"},
		{"IAM role", resource.Ref{Type: "AWS::IAM::Role", ID: "arn:aws:iam::123456789012:role/Admin"},
			"https://console.aws.amazon.com/iam/home#/roles/details/Admin"},
		{"IAM group", resource.Ref{Type: "AWS::IAM::Group", ID: "arn:aws:iam::123456789012:group/devs"},
			"https://console.aws.amazon.com/iam/home#/groups/details/devs"},
		{"IAM policy", resource.Ref{Type: "AWS::IAM::ManagedPolicy", ID: "arn:aws:iam::aws:policy/AdministratorAccess"},
			"https://console.aws.amazon.com/iam/home#/policies/details/arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FAdministratorAccess"},
		{"password policy", resource.Ref{Type: "AWS::IAM::AccountPasswordPolicy", ID: "arn:aws:iam::123456789012:account-password-policy"},
			"https://console.aws.amazon.com/iam/home#/account_settings"},
		{"root user", resource.Ref{Type: "AWS::IAM::RootUser", ID: "arn:aws:iam::123456789012:root"},
			"https://console.aws.amazon.com/iam/home#/security_credentials"},
		{"trail", resource.Ref{Type: "AWS::CloudTrail::Trail", ID: "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"},
			"https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/trails/arn%3Aaws%3Acloudtrail%3Aus-east-1%3A123456789012%3Atrail%2Fmain"},
		{"KMS key", resource.Ref{Type: "AWS::KMS::Key", ID: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab"},
			"https://us-east-1.console.aws.amazon.com/kms/home?region=us-east-1#/kms/keys/1234abcd-12ab"},
		{"RDS instance", resource.Ref{Type: "AWS::RDS::DBInstance", ID: "arn:aws:rds:us-east-1:123456789012:db:prod-db"},
			"https://us-east-1.console.aws.amazon.com/rds/home?region=us-east-1#database:id=prod-db;is-cluster=false"},
		{"Lambda with qualifier", resource.Ref{Type: "AWS::Lambda::Function", ID: "arn:aws:lambda:us-east-1:123456789012:function:fn:prod"},
			"https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/fn"},
		{"GuardDuty", resource.Ref{Type: "AWS::GuardDuty::Detector", ID: "arn:aws:guardduty:us-east-1:123456789012:detector/abc"},
			"https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/settings"},
		{"other type: the service's console", resource.Ref{Type: "AWS::SNS::Topic", ID: "arn:aws:sns:us-east-1:123456789012:t"},
			"https://us-east-1.console.aws.amazon.com/sns/home?region=us-east-1"},
		{"malformed service", resource.Ref{Type: "AWS::X::Y", ID: "arn:aws:ev<il:us-east-1:1:x"}, ""},
		{"not an ARN", resource.Ref{Type: "AWS::S3::Bucket", ID: "acme-logs"}, ""},
		{"Azure", resource.Ref{Type: "Microsoft.Storage/storageAccounts", ID: "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st<1>"},
			"https://portal.azure.com/#resource/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st%3C1%3E"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ConsoleURL(tt.ref); got != tt.want {
				t.Errorf("ConsoleURL(%+v) =\n %q, want\n %q", tt.ref, got, tt.want)
			}
		})
	}
}
