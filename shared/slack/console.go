package slack

import (
	"regexp"
	"strings"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// regionPattern is what an AWS region looks like (us-east-1,
// us-gov-west-1, ap-southeast-5). A region that does not match (an event
// may carry anything) is left out of console links.
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$`)

// servicePattern is what the service part of an ARN looks like.
var servicePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// arn is an Amazon Resource Name split into its parts.
type arn struct {
	partition, service, region, account, resource string
}

// parseARN splits s; ok is false when s is not an ARN.
func parseARN(s string) (arn, bool) {
	p := strings.SplitN(s, ":", 6)
	if len(p) != 6 || p[0] != "arn" || p[1] == "" || p[2] == "" {
		return arn{}, false
	}
	return arn{partition: p[1], service: p[2], region: p[3], account: p[4], resource: p[5]}, true
}

// consoleHost returns the AWS console's host for a partition.
func consoleHost(partition string) string {
	switch partition {
	case "aws-us-gov":
		return "console.amazonaws-us-gov.com"
	case "aws-cn":
		return "console.amazonaws.cn"
	default:
		return "console.aws.amazon.com"
	}
}

// escapePart percent-encodes every byte of s but the unreserved characters
// (A-Z a-z 0-9 - _ . ~), so that a part taken from an event can neither
// leave its place in the URL nor break the mrkdwn link around it (no "|",
// "<", ">", "&", "#", "?", "/" survive).
func escapePart(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// lastSegment returns what follows the last "/" of s (IAM names with paths).
func lastSegment(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// afterPrefix returns s without prefix, and whether it had it.
func afterPrefix(s, prefix string) (string, bool) {
	if !strings.HasPrefix(s, prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

// console builds links into one partition's AWS console.
type console struct {
	partition, region string
}

// global returns https://HOST/PATH#FRAGMENT, for global services (IAM).
func (c console) global(path, fragment string) string {
	u := "https://" + consoleHost(c.partition) + "/" + path
	if fragment != "" {
		u += "#" + fragment
	}
	return u
}

// regional returns the link to PATH#FRAGMENT in the console of the region,
// or to the partition's console when the region is unknown.
func (c console) regional(path, fragment string) string {
	host := consoleHost(c.partition)
	query := ""
	if regionPattern.MatchString(c.region) {
		if c.partition == "aws" {
			host = c.region + "." + host
		}
		query = "?region=" + c.region
	}
	u := "https://" + host + "/" + path + query
	if fragment != "" {
		u += "#" + fragment
	}
	return u
}

// ConsoleURL returns a link to the resource in its cloud console, or ""
// when none can be built. Known AWS types link to the resource's own page
// (an S3 bucket to https://s3.console.aws.amazon.com/s3/buckets/NAME, a
// security group to https://REGION.console.aws.amazon.com/ec2/home?region=REGION#SecurityGroup:groupId=sg-…);
// other ARNs link to their service's console; Azure resource IDs to the
// portal. Every part taken from the resource is percent-encoded.
func ConsoleURL(ref resource.Ref) string {
	if strings.HasPrefix(strings.ToLower(ref.ID), "/subscriptions/") {
		return azurePortalURL(ref.ID)
	}
	a, ok := parseARN(ref.ID)
	if !ok {
		return ""
	}
	region := ref.Region
	if region == "" {
		region = a.region
	}
	c := console{partition: a.partition, region: region}
	res := a.resource
	switch ref.Type {
	case "AWS::S3::Bucket":
		if a.partition == "aws" {
			return "https://s3.console.aws.amazon.com/s3/buckets/" + escapePart(res)
		}
		return c.global("s3/buckets/"+escapePart(res), "")
	case "AWS::S3::AccountPublicAccessBlock":
		if a.partition == "aws" {
			return "https://s3.console.aws.amazon.com/s3/settings"
		}
		return c.global("s3/settings", "")
	case "AWS::EC2::SecurityGroup":
		if id, ok := afterPrefix(res, "security-group/"); ok {
			return c.regional("ec2/home", "SecurityGroup:groupId="+escapePart(id))
		}
	case "AWS::EC2::NetworkAcl":
		if id, ok := afterPrefix(res, "network-acl/"); ok {
			return c.regional("vpcconsole/home", "NetworkAclDetails:networkAclId="+escapePart(id))
		}
	case "AWS::EC2::Snapshot":
		if id, ok := afterPrefix(res, "snapshot/"); ok {
			return c.regional("ec2/home", "SnapshotDetails:snapshotId="+escapePart(id))
		}
	case "AWS::EC2::Image":
		if id, ok := afterPrefix(res, "image/"); ok {
			return c.regional("ec2/home", "ImageDetails:imageId="+escapePart(id))
		}
	case "AWS::EC2::EbsEncryptionByDefault":
		return c.regional("ec2/home", "Settings:tab=ebsEncryption")
	case "AWS::IAM::User":
		if name, ok := afterPrefix(res, "user/"); ok {
			return c.global("iam/home", "/users/details/"+escapePart(lastSegment(name)))
		}
	case "AWS::IAM::Role":
		if name, ok := afterPrefix(res, "role/"); ok {
			return c.global("iam/home", "/roles/details/"+escapePart(lastSegment(name)))
		}
	case "AWS::IAM::Group":
		if name, ok := afterPrefix(res, "group/"); ok {
			return c.global("iam/home", "/groups/details/"+escapePart(lastSegment(name)))
		}
	case "AWS::IAM::ManagedPolicy":
		return c.global("iam/home", "/policies/details/"+escapePart(ref.ID))
	case "AWS::IAM::AccountPasswordPolicy":
		return c.global("iam/home", "/account_settings")
	case "AWS::IAM::RootUser":
		return c.global("iam/home", "/security_credentials")
	case "AWS::CloudTrail::Trail":
		return c.regional("cloudtrailv2/home", "/trails/"+escapePart(ref.ID))
	case "AWS::KMS::Key":
		if id, ok := afterPrefix(res, "key/"); ok {
			return c.regional("kms/home", "/kms/keys/"+escapePart(id))
		}
	case "AWS::RDS::DBInstance":
		if id, ok := afterPrefix(res, "db:"); ok {
			return c.regional("rds/home", "database:id="+escapePart(id)+";is-cluster=false")
		}
	case "AWS::RDS::DBSnapshot":
		if id, ok := afterPrefix(res, "snapshot:"); ok {
			return c.regional("rds/home", "db-snapshot:id="+escapePart(id))
		}
	case "AWS::RDS::DBClusterSnapshot":
		if id, ok := afterPrefix(res, "cluster-snapshot:"); ok {
			return c.regional("rds/home", "db-cluster-snapshot:id="+escapePart(id))
		}
	case "AWS::Config::ConfigurationRecorder":
		return c.regional("config/home", "/settings")
	case "AWS::GuardDuty::Detector":
		return c.regional("guardduty/home", "/settings")
	case "AWS::Lambda::Function":
		if name, ok := afterPrefix(res, "function:"); ok {
			name, _, _ = strings.Cut(name, ":") // drop a version or alias qualifier
			return c.regional("lambda/home", "/functions/"+escapePart(name))
		}
	}
	// Any other ARN: its service's console.
	if !servicePattern.MatchString(a.service) {
		return ""
	}
	return c.regional(a.service+"/home", "")
}

// azurePortalURL links an Azure resource ID into the Azure portal.
func azurePortalURL(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for i, p := range parts {
		parts[i] = escapePart(p)
	}
	return "https://portal.azure.com/#resource/" + strings.Join(parts, "/")
}
