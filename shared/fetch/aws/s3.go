package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/driftwatch/driftwatch/shared/iampolicy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// S3 resource types this file reads.
const (
	s3BucketType                   = "AWS::S3::Bucket"
	s3AccountPublicAccessBlockType = "AWS::S3::AccountPublicAccessBlock"
)

// Error codes S3 and S3 Control answer for things that are not there. The
// "not configured" ones are states of a bucket, not failures.
const (
	s3NoSuchBucket          = "NoSuchBucket"
	s3NoSuchBucketPolicy    = "NoSuchBucketPolicy"
	s3NoSuchPublicAccessBlk = "NoSuchPublicAccessBlockConfiguration"
	s3NoEncryptionConfig    = "ServerSideEncryptionConfigurationNotFoundError"
	s3NoOwnershipControls   = "OwnershipControlsNotFoundError"
	s3NoSuchTagSet          = "NoSuchTagSet"
)

// s3API is the S3 calls the bucket fetcher makes.
type s3API interface {
	GetBucketLocation(ctx context.Context, in *s3.GetBucketLocationInput, optFns ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error)
	GetBucketAcl(ctx context.Context, in *s3.GetBucketAclInput, optFns ...func(*s3.Options)) (*s3.GetBucketAclOutput, error)
	GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
	GetBucketLogging(ctx context.Context, in *s3.GetBucketLoggingInput, optFns ...func(*s3.Options)) (*s3.GetBucketLoggingOutput, error)
	GetBucketOwnershipControls(ctx context.Context, in *s3.GetBucketOwnershipControlsInput, optFns ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error)
	GetBucketTagging(ctx context.Context, in *s3.GetBucketTaggingInput, optFns ...func(*s3.Options)) (*s3.GetBucketTaggingOutput, error)
}

// s3ControlAPI is the S3 Control call that reads an account's Block Public
// Access setting.
type s3ControlAPI interface {
	GetPublicAccessBlock(ctx context.Context, in *s3control.GetPublicAccessBlockInput, optFns ...func(*s3control.Options)) (*s3control.GetPublicAccessBlockOutput, error)
}

// s3Fetchers are the readers of s3 resource types.
func s3Fetchers() map[string]fetchFunc {
	return map[string]fetchFunc{
		s3BucketType:                   fetchS3Bucket,
		s3AccountPublicAccessBlockType: fetchS3AccountPublicAccessBlock,
	}
}

// s3Client returns the Reader's S3 client for a region, path-style when the
// Reader's options ask for it.
func (r *Reader) s3Client(region string) s3API {
	return client(r, "s3", region, func(cfg aws.Config) s3API {
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = r.opts.S3PathStyle })
	})
}

// s3ControlClient returns the Reader's S3 Control client for a region. The
// SDK sends every account-scoped call to {account}.s3-control.{region}...,
// as S3 Control requires; the account label is added to a custom endpoint
// too (an emulator must accept any host, see docs/documents/s3.md).
func (r *Reader) s3ControlClient(region string) s3ControlAPI {
	return client(r, "s3control", region, func(cfg aws.Config) s3ControlAPI {
		if r.opts.S3PathStyle {
			// An emulator (AWS_ENDPOINT_URL): S3 Control prefixes the
			// endpoint's host with the account ID (123456789012.127.0.0.1),
			// which resolves nowhere; dial the endpoint's own host.
			cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
				var d net.Dialer
				tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					return d.DialContext(ctx, network, withoutAccountLabel(addr))
				}
			})
		}
		return s3control.NewFromConfig(cfg)
	})
}

// fetchS3Bucket reads a bucket. The bucket's account (for the account-level
// Block Public Access setting) is ref.Account, the account the change was
// recorded in.
func fetchS3Bucket(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
	name, err := s3BucketName(ref.ID)
	if err != nil {
		return nil, nil, false, err
	}
	return readS3Bucket(ctx, s3Clients{
		home:    ref.Region,
		region:  r.s3Client,
		control: r.s3ControlClient(ref.Region),
	}, name, ref.Account)
}

// fetchS3AccountPublicAccessBlock reads an account's S3 Block Public Access
// setting. The account is the one in the ID (falling back to ref.Account);
// the setting always exists, unconfigured or not.
func fetchS3AccountPublicAccessBlock(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
	account := s3AccountOf(ref.ID)
	if account == "" {
		account = ref.Account
	}
	if account == "" {
		return nil, nil, false, fmt.Errorf("account public access block %q: no account in the ID or the reference", ref.ID)
	}
	pab, err := readS3AccountPublicAccessBlock(ctx, r.s3ControlClient(ref.Region), account)
	if err != nil {
		return nil, nil, false, err
	}
	doc := map[string]any{"AccountId": account}
	maps.Copy(doc, pab)
	return doc, nil, true, nil
}

// s3Clients are the clients one bucket read needs.
type s3Clients struct {
	// home is the region to ask for the bucket's location (the event's).
	home string
	// region returns the S3 client of a region.
	region func(region string) s3API
	// control reads the account-level Block Public Access setting.
	control s3ControlAPI
}

// readS3Bucket reads bucket name of account into its document. It finds the
// bucket's region first and asks that region for the rest. A bucket that is
// gone, even halfway through the reads, is reported with exists false.
func readS3Bucket(ctx context.Context, c s3Clients, name, account string) (map[string]any, map[string]string, bool, error) {
	region, exists, err := locateS3Bucket(ctx, c, name)
	if err != nil || !exists {
		return nil, nil, exists, err
	}
	api := c.region(region)
	in := aws.String(name)

	doc := map[string]any{"Name": name, "Region": region}
	var tags map[string]string
	steps := []struct {
		what string
		read func() error
	}{
		{"ACL", func() error {
			out, err := api.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: in})
			if err == nil {
				doc["Acl"] = s3ACLDoc(out)
			}
			return err
		}},
		{"policy", func() error {
			d, err := readS3BucketPolicy(ctx, api, name)
			if err == nil {
				doc["Policy"] = d
			}
			return err
		}},
		{"public access block", func() error {
			out, err := api.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: in})
			switch {
			case errorCode(err) == s3NoSuchPublicAccessBlk:
				doc["PublicAccessBlock"] = s3PublicAccessBlockDoc(false, nil, nil, nil, nil)
				return nil
			case err != nil:
				return err
			}
			p := out.PublicAccessBlockConfiguration
			if p == nil {
				p = &s3types.PublicAccessBlockConfiguration{}
			}
			doc["PublicAccessBlock"] = s3PublicAccessBlockDoc(true, p.BlockPublicAcls, p.IgnorePublicAcls, p.BlockPublicPolicy, p.RestrictPublicBuckets)
			return nil
		}},
		{"account public access block", func() error {
			if account == "" {
				return errors.New("the bucket's account is not known")
			}
			d, err := readS3AccountPublicAccessBlock(ctx, c.control, account)
			if err == nil {
				doc["AccountPublicAccessBlock"] = d
			}
			return err
		}},
		{"encryption", func() error {
			out, err := api.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: in})
			switch {
			case errorCode(err) == s3NoEncryptionConfig:
				doc["Encryption"] = map[string]any{"Configured": false, "Rules": []any{}}
				return nil
			case err != nil:
				return err
			}
			doc["Encryption"] = s3EncryptionDoc(out.ServerSideEncryptionConfiguration)
			return nil
		}},
		{"versioning", func() error {
			out, err := api.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: in})
			if err == nil {
				doc["Versioning"] = map[string]any{"Status": string(out.Status), "MFADelete": string(out.MFADelete)}
			}
			return err
		}},
		{"logging", func() error {
			out, err := api.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: in})
			if err == nil {
				doc["Logging"] = s3LoggingDoc(out.LoggingEnabled)
			}
			return err
		}},
		{"ownership controls", func() error {
			out, err := api.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: in})
			switch {
			case errorCode(err) == s3NoOwnershipControls:
				doc["OwnershipControls"] = map[string]any{"ObjectOwnership": ""}
				return nil
			case err != nil:
				return err
			}
			doc["OwnershipControls"] = s3OwnershipDoc(out.OwnershipControls)
			return nil
		}},
		{"tags", func() error {
			out, err := api.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: in})
			switch {
			case errorCode(err) == s3NoSuchTagSet:
				return nil
			case err != nil:
				return err
			}
			tags = make(map[string]string, len(out.TagSet))
			for _, t := range out.TagSet {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			return nil
		}},
	}
	for _, s := range steps {
		err := s.read()
		if errorCode(err) == s3NoSuchBucket {
			return nil, nil, false, nil
		}
		if err != nil {
			return nil, nil, false, fmt.Errorf("get %s of bucket %q: %w", s.what, name, err)
		}
	}
	return doc, tags, true, nil
}

// locateS3Bucket returns the region of a bucket, asking the home region.
// S3 answers a request sent to the wrong region with an error (a redirect
// or a malformed-authorization error, depending on the addressing) that
// carries the bucket's region in the x-amz-bucket-region header; the
// region is then taken from there.
func locateS3Bucket(ctx context.Context, c s3Clients, name string) (region string, exists bool, err error) {
	loc, err := c.region(c.home).GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(name)})
	switch {
	case errorCode(err) == s3NoSuchBucket:
		return "", false, nil
	case err != nil:
		if r := s3BucketRegionHeader(err); r != "" {
			return r, true, nil
		}
		return "", false, fmt.Errorf("get location of bucket %q: %w", name, err)
	}
	return s3Region(loc.LocationConstraint), true, nil
}

// s3BucketRegionHeader returns the x-amz-bucket-region header of the HTTP
// response behind err, or "".
func s3BucketRegionHeader(err error) string {
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return ""
	}
	return re.Response.Header.Get("X-Amz-Bucket-Region")
}

// readS3BucketPolicy returns the Policy property: the normalised document,
// or Configured false and an empty document when the bucket has none.
func readS3BucketPolicy(ctx context.Context, api s3API, name string) (map[string]any, error) {
	out, err := api.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
	if errorCode(err) == s3NoSuchBucketPolicy {
		return map[string]any{"Configured": false, "Document": map[string]any{}}, nil
	}
	if err != nil {
		return nil, err
	}
	pol, err := iampolicy.Normalize(out.Policy)
	if errors.Is(err, iampolicy.ErrEmpty) {
		return map[string]any{"Configured": false, "Document": map[string]any{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the policy document: %w", err)
	}
	return map[string]any{"Configured": true, "Document": pol}, nil
}

// readS3AccountPublicAccessBlock reads the Block Public Access setting of an
// account. An account that never set one has every flag false and
// Configured false; any other error (AccessDenied included) is an error,
// because a bucket's exposure cannot be judged without it.
// withoutAccountLabel drops a leading all-digit label (an account ID) from
// host:port when what remains is an IP address or localhost.
func withoutAccountLabel(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	label, rest, ok := strings.Cut(host, ".")
	if !ok || label == "" || strings.Trim(label, "0123456789") != "" {
		return addr
	}
	if net.ParseIP(rest) == nil && rest != "localhost" {
		return addr
	}
	return net.JoinHostPort(rest, port)
}

func readS3AccountPublicAccessBlock(ctx context.Context, api s3ControlAPI, account string) (map[string]any, error) {
	out, err := api.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(account)})
	if errorCode(err) == s3NoSuchPublicAccessBlk {
		return s3PublicAccessBlockDoc(false, nil, nil, nil, nil), nil
	}
	if err != nil {
		return nil, fmt.Errorf("get public access block of account %s: %w", account, err)
	}
	c := out.PublicAccessBlockConfiguration
	if c == nil {
		return s3PublicAccessBlockDoc(true, nil, nil, nil, nil), nil
	}
	return s3PublicAccessBlockDoc(true, c.BlockPublicAcls, c.IgnorePublicAcls, c.BlockPublicPolicy, c.RestrictPublicBuckets), nil
}

// s3PublicAccessBlockDoc is the shape of both Block Public Access
// properties (bucket and account): an unset flag is false.
func s3PublicAccessBlockDoc(configured bool, blockACLs, ignoreACLs, blockPolicy, restrict *bool) map[string]any {
	return map[string]any{
		"Configured":            configured,
		"BlockPublicAcls":       aws.ToBool(blockACLs),
		"IgnorePublicAcls":      aws.ToBool(ignoreACLs),
		"BlockPublicPolicy":     aws.ToBool(blockPolicy),
		"RestrictPublicBuckets": aws.ToBool(restrict),
	}
}

// s3ACLDoc maps a bucket ACL. Grantee fields a grant does not have are "".
func s3ACLDoc(out *s3.GetBucketAclOutput) map[string]any {
	owner := map[string]any{"ID": "", "DisplayName": ""}
	if out.Owner != nil {
		owner["ID"] = aws.ToString(out.Owner.ID)
		owner["DisplayName"] = aws.ToString(out.Owner.DisplayName)
	}
	grants := make([]any, 0, len(out.Grants))
	for _, g := range out.Grants {
		grantee := map[string]any{"Type": "", "ID": "", "URI": "", "DisplayName": "", "EmailAddress": ""}
		if e := g.Grantee; e != nil {
			grantee["Type"] = string(e.Type)
			grantee["ID"] = aws.ToString(e.ID)
			grantee["URI"] = aws.ToString(e.URI)
			grantee["DisplayName"] = aws.ToString(e.DisplayName)
			grantee["EmailAddress"] = aws.ToString(e.EmailAddress)
		}
		grants = append(grants, map[string]any{"Grantee": grantee, "Permission": string(g.Permission)})
	}
	return map[string]any{"Owner": owner, "Grants": grants}
}

// s3EncryptionDoc maps a default-encryption configuration.
func s3EncryptionDoc(c *s3types.ServerSideEncryptionConfiguration) map[string]any {
	rules := []any{}
	if c != nil {
		for _, r := range c.Rules {
			rule := map[string]any{"SSEAlgorithm": "", "KMSMasterKeyID": "", "BucketKeyEnabled": aws.ToBool(r.BucketKeyEnabled)}
			if d := r.ApplyServerSideEncryptionByDefault; d != nil {
				rule["SSEAlgorithm"] = string(d.SSEAlgorithm)
				rule["KMSMasterKeyID"] = aws.ToString(d.KMSMasterKeyID)
			}
			rules = append(rules, rule)
		}
	}
	return map[string]any{"Configured": len(rules) > 0, "Rules": rules}
}

// s3LoggingDoc maps server access logging; nil means logging is off.
func s3LoggingDoc(l *s3types.LoggingEnabled) map[string]any {
	if l == nil {
		return map[string]any{"Enabled": false, "TargetBucket": "", "TargetPrefix": ""}
	}
	return map[string]any{
		"Enabled":      true,
		"TargetBucket": aws.ToString(l.TargetBucket),
		"TargetPrefix": aws.ToString(l.TargetPrefix),
	}
}

// s3OwnershipDoc maps Object Ownership; a bucket has at most one rule.
func s3OwnershipDoc(c *s3types.OwnershipControls) map[string]any {
	own := ""
	if c != nil && len(c.Rules) > 0 {
		own = string(c.Rules[0].ObjectOwnership)
	}
	return map[string]any{"ObjectOwnership": own}
}

// s3Region turns a LocationConstraint into a region name: empty means
// us-east-1 and the legacy "EU" means eu-west-1.
func s3Region(c s3types.BucketLocationConstraint) string {
	switch c {
	case "":
		return "us-east-1"
	case s3types.BucketLocationConstraintEu:
		return "eu-west-1"
	}
	return string(c)
}

// s3BucketName returns the bucket of an S3 bucket ARN, arn:{p}:s3:::{name}.
func s3BucketName(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "s3" || parts[3] != "" || parts[4] != "" || parts[5] == "" || strings.Contains(parts[5], "/") {
		return "", fmt.Errorf("%q is not an S3 bucket ARN", arn)
	}
	return parts[5], nil
}

// s3AccountOf returns the account field of an ARN, or "".
func s3AccountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// s3Actions are the IAM actions behind the S3 and S3 Control calls above.
// iam: GetBucketEncryption is authorised by s3:GetEncryptionConfiguration,
// the bucket's GetPublicAccessBlock by s3:GetBucketPublicAccessBlock and S3
// Control's account-level one by s3:GetAccountPublicAccessBlock.
var s3Actions = operationActions{
	"s3.GetBucketLocation":           {"s3:GetBucketLocation"},
	"s3.GetBucketAcl":                {"s3:GetBucketAcl"},
	"s3.GetBucketPolicy":             {"s3:GetBucketPolicy"},
	"s3.GetPublicAccessBlock":        {"s3:GetBucketPublicAccessBlock"},
	"s3.GetBucketEncryption":         {"s3:GetEncryptionConfiguration"},
	"s3.GetBucketVersioning":         {"s3:GetBucketVersioning"},
	"s3.GetBucketLogging":            {"s3:GetBucketLogging"},
	"s3.GetBucketOwnershipControls":  {"s3:GetBucketOwnershipControls"},
	"s3.GetBucketTagging":            {"s3:GetBucketTagging"},
	"s3control.GetPublicAccessBlock": {"s3:GetAccountPublicAccessBlock"},
}
