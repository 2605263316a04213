package catalog

import (
	"fmt"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// S3 resource types.
const (
	// s3Bucket is an S3 bucket, arn:{p}:s3:::{bucket}.
	s3Bucket = "AWS::S3::Bucket"
	// s3AccountPublicAccessBlock is the account-wide S3 Block Public Access
	// setting, arn:{p}:s3::{account}:account-public-access-block. The ARN is
	// driftwatch's: CloudFormation has no such type, and AWS Config's
	// AWS::S3::AccountPublicAccessBlock has no ARN.
	s3AccountPublicAccessBlock = "AWS::S3::AccountPublicAccessBlock"
)

const s3Service = "s3.amazonaws.com"

// s3BucketNote says where bucket operations find their bucket.
const s3BucketNote = "bucket: requestParameters.bucketName, else resources[type AWS::S3::Bucket].ARN, " +
	"else the bucket label of a virtual-hosted requestParameters.Host/host"

// s3AccountNote says where account Block Public Access operations find their
// account.
const s3AccountNote = "account: recipientAccountId, else the account label of " +
	"requestParameters.Host/host (<account>.s3-control.<region>.amazonaws.com)"

// s3Entries are the watched s3 operations.
func s3Entries() []Entry {
	bucketOps := []string{
		"CreateBucket", "DeleteBucket",
		"PutBucketAcl",
		"PutBucketPolicy", "DeleteBucketPolicy",
		"PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock",
		"PutBucketEncryption", "DeleteBucketEncryption",
		"PutBucketVersioning",
		"PutBucketLogging",
		"PutBucketOwnershipControls", "DeleteBucketOwnershipControls",
	}
	out := make([]Entry, 0, len(bucketOps)+2)
	for _, op := range bucketOps {
		out = append(out, Entry{
			Service:   s3Service,
			Operation: op,
			Targets:   []Target{{Type: s3Bucket, Resolve: s3BucketARN}},
			Note:      s3BucketNote,
		})
	}
	for _, op := range []string{"PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock"} {
		out = append(out, Entry{
			Service:   s3Service,
			Operation: op,
			Targets:   []Target{{Type: s3AccountPublicAccessBlock, Resolve: s3AccountPublicAccessBlockARN}},
			Note:      s3AccountNote,
		})
	}
	return out
}

// s3BucketARN resolves the bucket an S3 bucket operation touched.
//
// requestParameters.bucketName is the documented place; some records (the
// AWS documentation's PutBucketAcl sample among them) leave it empty, and
// redacted samples put "..." there. CloudTrail's resources[] or a
// virtual-hosted Host header may then still name the bucket.
func s3BucketARN(c *change.Change) ([]string, error) {
	if name := Field(c, "requestParameters.bucketName"); validBucketName(name) {
		return []string{s3BucketARNOf(c.Region, name)}, nil
	}
	if arns := EventResourceARNs(c, s3Bucket); len(arns) > 0 {
		return arns, nil
	}
	for _, h := range s3Hosts(c) {
		if name := bucketFromHost(h); validBucketName(name) {
			return []string{s3BucketARNOf(c.Region, name)}, nil
		}
	}
	return nil, fmt.Errorf("s3 bucket: no valid bucketName, resources[] or virtual-hosted Host: %w", ErrNoID)
}

// s3AccountPublicAccessBlockARN resolves the account whose Block Public
// Access setting an S3 Control operation changed. The records carry no
// bucket and no resources[]; the account is the one the call was made in.
func s3AccountPublicAccessBlockARN(c *change.Change) ([]string, error) {
	account := c.Account
	if account == "" {
		for _, h := range s3Hosts(c) {
			if account = accountFromControlHost(h); account != "" {
				break
			}
		}
	}
	if account == "" {
		return nil, fmt.Errorf("s3 account public access block: no recipientAccountId or s3-control Host: %w", ErrNoID)
	}
	return []string{s3AccountPublicAccessBlockARNOf(c.Region, account)}, nil
}

// validBucketName reports whether name can be a bucket name: 3 to 255
// letters, digits, dots, hyphens and underscores (the legacy us-east-1
// rules, a superset of today's), with at least one letter or digit. It
// rejects empty and redacted values ("...") and anything with a slash.
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 255 {
		return false
	}
	alnum := false
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			alnum = true
		case c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return alnum
}

// s3BucketARNOf returns the ARN of a bucket, arn:{p}:s3:::{bucket}, taking
// the partition from region.
func s3BucketARNOf(region, bucket string) string {
	return "arn:" + Partition(region) + ":s3:::" + bucket
}

// s3AccountPublicAccessBlockARNOf returns the ID driftwatch gives an
// account's S3 Block Public Access setting,
// arn:{p}:s3::{account}:account-public-access-block.
func s3AccountPublicAccessBlockARNOf(region, account string) string {
	return "arn:" + Partition(region) + ":s3::" + account + ":account-public-access-block"
}

// s3Hosts returns the Host header(s) CloudTrail recorded: newer records have
// requestParameters.Host as a string, older ones requestParameters.host as a
// list of strings.
func s3Hosts(c *change.Change) []string {
	var out []string
	for _, key := range []string{"Host", "host"} {
		switch v := change.Lookup(c.Request(), key).(type) {
		case string:
			if v != "" {
				out = append(out, v)
			}
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok && s != "" {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// s3EndpointLabel reports whether a host label is an S3 endpoint label that
// follows a bucket name in a virtual-hosted address: "s3", "s3-<region>"
// (legacy), "s3-fips", "s3-external-1", "s3-accelerate" and the like. The
// labels of access points, Object Lambda, S3 Control and website endpoints
// are not: what precedes them is not a bucket name.
func s3EndpointLabel(l string) bool {
	if l == "s3" {
		return true
	}
	if !strings.HasPrefix(l, "s3-") {
		return false
	}
	for _, not := range []string{"s3-accesspoint", "s3-object-lambda", "s3-control", "s3-website", "s3-outposts"} {
		if strings.HasPrefix(l, not) {
			return false
		}
	}
	return true
}

// awsHost splits an AWS endpoint host into the labels before the AWS domain
// (amazonaws.com or amazonaws.com.cn), dropping any port. It returns nil
// for other hosts.
func awsHost(host string) []string {
	host = strings.ToLower(strings.TrimSpace(host))
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	for _, domain := range []string{".amazonaws.com", ".amazonaws.com.cn"} {
		if strings.HasSuffix(host, domain) {
			return strings.Split(strings.TrimSuffix(host, domain), ".")
		}
	}
	return nil
}

// bucketFromHost returns the bucket of a virtual-hosted S3 address
// (my.bucket.s3.us-east-1.amazonaws.com → my.bucket), or "" for a
// path-style or non-S3 host. Bucket names may contain dots and even labels
// that start with "s3-", so the endpoint label is the rightmost one; region,
// dualstack and fips labels that may follow it never look like one.
func bucketFromHost(host string) string {
	labels := awsHost(host)
	for i := len(labels) - 1; i > 0; i-- {
		if s3EndpointLabel(labels[i]) {
			return strings.Join(labels[:i], ".")
		}
		if strings.HasPrefix(labels[i], "s3") {
			// An access point, control or website endpoint: no bucket.
			return ""
		}
	}
	return ""
}

// accountFromControlHost returns the account of an S3 Control address,
// <account>.s3-control[-fips][.dualstack].<region>.amazonaws.com, or "".
func accountFromControlHost(host string) string {
	labels := awsHost(host)
	if len(labels) < 2 || !strings.HasPrefix(labels[1], "s3-control") || !allDigits(labels[0]) {
		return ""
	}
	return labels[0]
}
