package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/demo"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// counter is an aws.HTTPClient that counts the requests the SDK sends (every
// attempt, so retries count), by "Service.Operation".
type counter struct {
	next aws.HTTPClient
	mu   sync.Mutex
	ops  map[string]int
}

func (c *counter) Do(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
	c.mu.Lock()
	c.ops[op]++
	c.mu.Unlock()
	return c.next.Do(r)
}

// take returns the counts since the last take.
func (c *counter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := c.ops
	c.ops = map[string]int{}
	return ops
}

func total(ops map[string]int) int {
	n := 0
	for _, v := range ops {
		n += v
	}
	return n
}

// counted returns a copy of cfg whose requests c counts.
func counted(cfg aws.Config) (aws.Config, *counter) {
	c := &counter{next: cfg.HTTPClient, ops: map[string]int{}}
	out := cfg.Copy()
	out.HTTPClient = c
	return out, c
}

// typeCalls is what reading one resource of a type costs.
type typeCalls struct {
	Type  string
	Calls int
	Ops   map[string]int
}

// familyCalls is the cost of a change for one operation family (one
// CloudTrail event source).
type familyCalls struct {
	Service    string
	Operations int
	Avg        float64
	Max        int
	MaxOp      string
}

// scanType is one resource type of the measured full scan.
type scanType struct {
	Type       string
	N          int
	ListCalls  int
	ReadCalls  int
	PerRes     int // calls to read one resource (typeCalls)
	PageSize   int // AWS's page size of the list call, 0 for singletons
	ListOp     string
	PredictAWS int // the formula with AWS's page size
}

// demoCalls is one demo scenario's change run through the detector.
type demoCalls struct {
	Operation string
	Calls     int
	Predicted int
}

// apiReport is figure 4.
type apiReport struct {
	Types    []typeCalls
	Families []familyCalls
	Demo     []demoCalls
	Scan     []scanType
	ScanN    int
	ScanCall int
	// ScanAWS is the formula's prediction for the same account on AWS.
	ScanAWS int
}

// fixtures creates one resource of every type the reader supports in moto,
// configured as in a real account (policies, tags, an attached and an
// inline policy...), and returns their references.
func fixtures(ctx context.Context, cfg aws.Config) ([]resource.Ref, error) {
	const acct, region = mototest.Account, mototest.Region
	ref := func(typ, id string) resource.Ref {
		return resource.Ref{Type: typ, ID: id, Account: acct, Region: region}
	}
	var refs []resource.Ref
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ec2c := ec2.NewFromConfig(cfg)
	iamc := iam.NewFromConfig(cfg)

	bucket, err := makeBucket(ctx, s3c, "bench-fixture-bucket")
	if err != nil {
		return nil, err
	}
	refs = append(refs, ref("AWS::S3::Bucket", "arn:aws:s3:::"+bucket))
	if _, err := s3control.NewFromConfig(cfg).PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(acct),
		PublicAccessBlockConfiguration: &s3ctltypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
			BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
		return nil, fmt.Errorf("put account public access block: %w", err)
	}
	refs = append(refs, ref("AWS::S3::AccountPublicAccessBlock", "arn:aws:s3::"+acct+":account-public-access-block"))

	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.40.0.0/16")})
	if err != nil {
		return nil, fmt.Errorf("create vpc: %w", err)
	}
	sg, err := makeSecurityGroup(ctx, ec2c, aws.ToString(vpc.Vpc.VpcId), "bench-fixture-sg")
	if err != nil {
		return nil, err
	}
	refs = append(refs, ref("AWS::EC2::SecurityGroup", "arn:aws:ec2:"+region+":"+acct+":security-group/"+sg))
	nacl, err := ec2c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: vpc.Vpc.VpcId})
	if err != nil {
		return nil, fmt.Errorf("create network acl: %w", err)
	}
	if _, err := ec2c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: nacl.NetworkAcl.NetworkAclId, RuleNumber: aws.Int32(100),
		Protocol: aws.String("6"), RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(false), CidrBlock: aws.String("10.0.0.0/8"),
		PortRange: &ec2types.PortRange{From: aws.Int32(443), To: aws.Int32(443)}}); err != nil {
		return nil, fmt.Errorf("create network acl entry: %w", err)
	}
	refs = append(refs, ref("AWS::EC2::NetworkAcl", "arn:aws:ec2:"+region+":"+acct+":network-acl/"+aws.ToString(nacl.NetworkAcl.NetworkAclId)))
	vol, err := ec2c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String(region + "a"), Size: aws.Int32(1)})
	if err != nil {
		return nil, fmt.Errorf("create volume: %w", err)
	}
	snap, err := ec2c.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: vol.VolumeId, Description: aws.String("nightly")})
	if err != nil {
		return nil, fmt.Errorf("create snapshot: %w", err)
	}
	snapID := aws.ToString(snap.SnapshotId)
	refs = append(refs, ref("AWS::EC2::Snapshot", "arn:aws:ec2:"+region+"::snapshot/"+snapID))
	img, err := ec2c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("golden"), RootDeviceName: aws.String("/dev/xvda"),
		BlockDeviceMappings: []ec2types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.EbsBlockDevice{SnapshotId: aws.String(snapID)}}}})
	if err != nil {
		return nil, fmt.Errorf("register image: %w", err)
	}
	refs = append(refs, ref("AWS::EC2::Image", "arn:aws:ec2:"+region+"::image/"+aws.ToString(img.ImageId)))
	if _, err := ec2c.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{}); err != nil {
		return nil, fmt.Errorf("enable ebs encryption by default: %w", err)
	}
	refs = append(refs, ref("AWS::EC2::EbsEncryptionByDefault", "arn:aws:ec2:"+region+":"+acct+":ebs-encryption-by-default"))

	// IAM: a customer policy, a group, a user in it with a login profile
	// and an access key, a role; each principal has one attached and one
	// inline policy.
	pol, err := iamc.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("bench-deploy"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::artifacts/*"}]}`)})
	if err != nil {
		return nil, fmt.Errorf("create policy: %w", err)
	}
	polARN := aws.ToString(pol.Policy.Arn)
	refs = append(refs, ref("AWS::IAM::ManagedPolicy", polARN))
	if _, err := iamc.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("bench-devs")}); err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	if err := principalPolicies(ctx, iamc, "group", "bench-devs", polARN); err != nil {
		return nil, err
	}
	refs = append(refs, ref("AWS::IAM::Group", "arn:aws:iam::"+acct+":group/bench-devs"))
	if err := makeUser(ctx, iamc, "bench-dana", polARN); err != nil {
		return nil, err
	}
	refs = append(refs, ref("AWS::IAM::User", "arn:aws:iam::"+acct+":user/bench-dana"))
	if err := makeRole(ctx, iamc, "bench-deployer", polARN); err != nil {
		return nil, err
	}
	refs = append(refs, ref("AWS::IAM::Role", "arn:aws:iam::"+acct+":role/bench-deployer"))
	if _, err := iamc.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(14), PasswordReusePrevention: aws.Int32(24)}); err != nil {
		return nil, fmt.Errorf("update password policy: %w", err)
	}
	refs = append(refs, ref("AWS::IAM::AccountPasswordPolicy", "arn:aws:iam::"+acct+":account-password-policy"))
	refs = append(refs, ref("AWS::IAM::RootUser", "arn:aws:iam::"+acct+":root"))

	trailBucket, err := makeBucket(ctx, s3c, "bench-trail-logs")
	if err != nil {
		return nil, err
	}
	ct := cloudtrail.NewFromConfig(cfg)
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("bench-audit"), S3BucketName: aws.String(trailBucket),
		IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true)}); err != nil {
		return nil, fmt.Errorf("create trail: %w", err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("bench-audit")}); err != nil {
		return nil, fmt.Errorf("start logging: %w", err)
	}
	refs = append(refs, ref("AWS::CloudTrail::Trail", "arn:aws:cloudtrail:"+region+":"+acct+":trail/bench-audit"))

	key, err := makeKey(ctx, kms.NewFromConfig(cfg))
	if err != nil {
		return nil, err
	}
	refs = append(refs, ref("AWS::KMS::Key", "arn:aws:kms:"+region+":"+acct+":key/"+key))

	rdsc := rds.NewFromConfig(cfg)
	db, err := rdsc.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("bench-orders"), DBInstanceClass: aws.String("db.t3.micro"),
		Engine: aws.String("postgres"), MasterUsername: aws.String("app"), MasterUserPassword: aws.String("not-a-real-password"),
		AllocatedStorage: aws.Int32(20), StorageEncrypted: aws.Bool(true), BackupRetentionPeriod: aws.Int32(7), DeletionProtection: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("create db instance: %w", err)
	}
	refs = append(refs, ref("AWS::RDS::DBInstance", aws.ToString(db.DBInstance.DBInstanceArn)))
	dbs, err := rdsc.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBSnapshotIdentifier: aws.String("bench-orders-nightly"), DBInstanceIdentifier: aws.String("bench-orders")})
	if err != nil {
		return nil, fmt.Errorf("create db snapshot: %w", err)
	}
	refs = append(refs, ref("AWS::RDS::DBSnapshot", aws.ToString(dbs.DBSnapshot.DBSnapshotArn)))
	if _, err := rdsc.CreateDBCluster(ctx, &rds.CreateDBClusterInput{DBClusterIdentifier: aws.String("bench-aurora"), Engine: aws.String("aurora-postgresql"),
		MasterUsername: aws.String("app"), MasterUserPassword: aws.String("not-a-real-password"), StorageEncrypted: aws.Bool(true)}); err != nil {
		return nil, fmt.Errorf("create db cluster: %w", err)
	}
	cs, err := rdsc.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{DBClusterSnapshotIdentifier: aws.String("bench-aurora-weekly"), DBClusterIdentifier: aws.String("bench-aurora")})
	if err != nil {
		return nil, fmt.Errorf("create db cluster snapshot: %w", err)
	}
	refs = append(refs, ref("AWS::RDS::DBClusterSnapshot", aws.ToString(cs.DBClusterSnapshot.DBClusterSnapshotArn)))

	cfgc := configservice.NewFromConfig(cfg)
	if _, err := cfgc.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String("arn:aws:iam::" + acct + ":role/config"),
		RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true}}}); err != nil {
		return nil, fmt.Errorf("put configuration recorder: %w", err)
	}
	refs = append(refs, ref("AWS::Config::ConfigurationRecorder", "arn:aws:config:"+region+":"+acct+":configuration-recorder/default"))

	det, err := guardduty.NewFromConfig(cfg).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("create detector: %w", err)
	}
	refs = append(refs, ref("AWS::GuardDuty::Detector", "arn:aws:guardduty:"+region+":"+acct+":detector/"+aws.ToString(det.DetectorId)))

	fn, err := makeFunction(ctx, iamc, lambda.NewFromConfig(cfg), "bench-orders")
	if err != nil {
		return nil, err
	}
	refs = append(refs, ref("AWS::Lambda::Function", fn))
	return refs, nil
}

// makeBucket creates a bucket with Block Public Access, default
// encryption, versioning, a policy and tags.
func makeBucket(ctx context.Context, c *s3.Client, name string) (string, error) {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		return "", fmt.Errorf("create bucket %s: %w", name, err)
	}
	steps := []func() error{
		func() error {
			_, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: &name, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
				BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
			return err
		},
		func() error {
			_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: &name, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
				Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}}}})
			return err
		},
		func() error {
			_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &name, VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
			return err
		},
		func() error {
			_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: &name, Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"DenyHTTP","Effect":"Deny","Principal":"*","Action":"s3:*",` +
				`"Resource":["arn:aws:s3:::` + name + `","arn:aws:s3:::` + name + `/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)})
			return err
		},
		func() error {
			_, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: &name, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("team"), Value: aws.String("data")}}}})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return "", fmt.Errorf("configure bucket %s: %w", name, err)
		}
	}
	return name, nil
}

func makeSecurityGroup(ctx context.Context, c *ec2.Client, vpc, name string) (string, error) {
	out, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &vpc, GroupName: &name, Description: aws.String("web tier")})
	if err != nil {
		return "", fmt.Errorf("create security group %s: %w", name, err)
	}
	id := aws.ToString(out.GroupId)
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &id, IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		return "", fmt.Errorf("authorize ingress on %s: %w", id, err)
	}
	return id, nil
}

// principalPolicies attaches the customer policy to a user, role or group
// and gives it one inline policy.
func principalPolicies(ctx context.Context, c *iam.Client, kind, name, policyARN string) error {
	inline := aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}`)
	var err error
	switch kind {
	case "user":
		if _, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &name, PolicyArn: &policyARN}); err == nil {
			_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &name, PolicyName: aws.String("logs"), PolicyDocument: inline})
		}
	case "role":
		if _, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &name, PolicyArn: &policyARN}); err == nil {
			_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &name, PolicyName: aws.String("logs"), PolicyDocument: inline})
		}
	case "group":
		if _, err = c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: &name, PolicyArn: &policyARN}); err == nil {
			_, err = c.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: &name, PolicyName: aws.String("logs"), PolicyDocument: inline})
		}
	}
	if err != nil {
		return fmt.Errorf("policies of %s %s: %w", kind, name, err)
	}
	return nil
}

func makeUser(ctx context.Context, c *iam.Client, name, policyARN string) error {
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: &name}); err != nil {
		return fmt.Errorf("create user %s: %w", name, err)
	}
	if err := principalPolicies(ctx, c, "user", name, policyARN); err != nil {
		return err
	}
	if _, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: &name, GroupName: aws.String("bench-devs")}); err != nil {
		return fmt.Errorf("add %s to group: %w", name, err)
	}
	if _, err := c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: &name, Password: aws.String("c0rrect-Horse-battery")}); err != nil {
		return fmt.Errorf("create login profile of %s: %w", name, err)
	}
	if _, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: &name}); err != nil {
		return fmt.Errorf("create access key of %s: %w", name, err)
	}
	return nil
}

func makeRole(ctx context.Context, c *iam.Client, name, policyARN string) error {
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name, AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		return fmt.Errorf("create role %s: %w", name, err)
	}
	return principalPolicies(ctx, c, "role", name, policyARN)
}

func makeKey(ctx context.Context, c *kms.Client) (string, error) {
	k, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("bench")})
	if err != nil {
		return "", fmt.Errorf("create key: %w", err)
	}
	id := aws.ToString(k.KeyMetadata.KeyId)
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: &id}); err != nil {
		return "", fmt.Errorf("enable rotation of %s: %w", id, err)
	}
	return id, nil
}

// makeFunction creates a function (and its execution role) with a
// resource policy statement, and returns its ARN.
func makeFunction(ctx context.Context, iamc *iam.Client, c *lambda.Client, name string) (string, error) {
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-fn"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		return "", fmt.Errorf("create role of function %s: %w", name, err)
	}
	var code bytes.Buffer
	zw := zip.NewWriter(&code)
	w, err := zw.Create("index.py")
	if err == nil {
		_, err = w.Write([]byte("def handler(event, context):\n    return {}\n"))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return "", fmt.Errorf("zip function code: %w", err)
	}
	fn, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: &name, Runtime: lambdatypes.RuntimePython312, Role: role.Role.Arn,
		Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: code.Bytes()}, Tags: map[string]string{"team": "orders"}})
	if err != nil {
		return "", fmt.Errorf("create function %s: %w", name, err)
	}
	if _, err := c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: &name, StatementId: aws.String("events"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com")}); err != nil {
		return "", fmt.Errorf("add permission to %s: %w", name, err)
	}
	return aws.ToString(fn.FunctionArn), nil
}

// measureAPICalls runs figure 4 against a fresh moto server: the calls to
// read one resource of each type, the calls per change of each operation
// family (from the catalog), the demo's real changes through the detector,
// and a full scan of an account of scanN resources.
func measureAPICalls(ctx context.Context, scanN int) (*apiReport, error) {
	srv, err := mototest.Launch()
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	base, err := srv.Config(ctx)
	if err != nil {
		return nil, err
	}
	refs, err := fixtures(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("create fixtures in moto: %w", err)
	}
	rep := &apiReport{}
	per := map[string]int{}
	for _, ref := range refs {
		// A Reader per type: its IAM policy cache starts cold, as in a
		// new Lambda instance (the worst case).
		cfg, cnt := counted(base)
		res, err := fetchaws.New(cfg, fetchaws.Options{S3PathStyle: true}).Read(ctx, ref)
		if err != nil {
			return nil, err
		}
		if !res.Exists {
			return nil, fmt.Errorf("fixture %s does not exist", ref)
		}
		ops := cnt.take()
		per[ref.Type] = total(ops)
		rep.Types = append(rep.Types, typeCalls{Type: ref.Type, Calls: total(ops), Ops: ops})
	}
	sort.Slice(rep.Types, func(i, j int) bool { return rep.Types[i].Type < rep.Types[j].Type })

	// Per operation family: each watched operation costs the reads of the
	// resources it touches (one ID per target).
	fams := map[string]*familyCalls{}
	for _, e := range catalog.Default().Entries() {
		if e.Cloud == change.Azure {
			continue
		}
		n := 0
		for _, t := range e.Targets {
			c, ok := per[t.Type]
			if !ok {
				return nil, fmt.Errorf("catalog type %s of %s %s has no fixture", t.Type, e.Service, e.Operation)
			}
			n += c
		}
		f := fams[e.Service]
		if f == nil {
			f = &familyCalls{Service: e.Service}
			fams[e.Service] = f
		}
		f.Avg += float64(n)
		f.Operations++
		if n > f.Max {
			f.Max, f.MaxOp = n, e.Operation
		}
	}
	for _, f := range fams {
		f.Avg /= float64(f.Operations)
		rep.Families = append(rep.Families, *f)
	}
	sort.Slice(rep.Families, func(i, j int) bool { return rep.Families[i].Service < rep.Families[j].Service })

	if rep.Demo, err = demoChanges(ctx, base, per); err != nil {
		return nil, err
	}
	if err := scanAll(ctx, base, rep, per, scanN); err != nil {
		return nil, err
	}
	return rep, nil
}

// demoChanges makes the demo's risky changes in moto and runs each one's
// CloudTrail record through the detector with a counting reader.
func demoChanges(ctx context.Context, base aws.Config, per map[string]int) ([]demoCalls, error) {
	rules, err := pack.AWS()
	if err != nil {
		return nil, err
	}
	eng, err := policy.Compile(rules)
	if err != nil {
		return nil, err
	}
	cat := catalog.Default()
	flt, err := filter.New(nil, cat.Watched)
	if err != nil {
		return nil, err
	}
	clients := demo.NewClients(base)
	var out []demoCalls
	for _, s := range demo.Scenarios() {
		if _, err := s.Setup(ctx, clients); err != nil {
			return nil, fmt.Errorf("demo %q: %w", s.Title, err)
		}
		call, err := s.Break(ctx, clients)
		if err != nil {
			return nil, fmt.Errorf("demo %q: %w", s.Title, err)
		}
		call.Caller = s.Caller
		cfg, cnt := counted(base)
		det := &detect.Detector{Filter: flt, Catalog: cat, Rules: eng, Reader: fetchaws.New(cfg, fetchaws.Options{S3PathStyle: true})}
		chs, errs := change.Decode("bench", ctrecord.Build(call))
		if len(errs) > 0 || len(chs) != 1 {
			return nil, fmt.Errorf("demo %q: decode: %v", s.Title, errs)
		}
		o := det.Process(ctx, &chs[0])
		if o.Ignored != "" || o.Failed() {
			return nil, fmt.Errorf("demo %q: ignored %q, failed %v", s.Title, o.Ignored, o.Failed())
		}
		pred := 0
		for _, r := range chs[0].Resources {
			pred += per[r.Type]
		}
		out = append(out, demoCalls{Operation: call.Operation, Calls: total(cnt.take()), Predicted: pred})
	}
	return out, nil
}

// listSpec is how a full scan lists one resource type: the list call and
// AWS's page size for it (its maximum page; 0 for account-level settings,
// which are read without listing).
type listSpec struct {
	op   string
	page int
	list func(ctx context.Context, cfg aws.Config) ([]string, error)
}

// scanSpecs are the list calls of a full scan, per type.
func scanSpecs() map[string]listSpec {
	const acct, region = mototest.Account, mototest.Region
	return map[string]listSpec{
		"AWS::S3::Bucket": {"S3.ListBuckets", 10000, func(ctx context.Context, cfg aws.Config) ([]string, error) {
			var ids []string
			p := s3.NewListBucketsPaginator(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), &s3.ListBucketsInput{MaxBuckets: aws.Int32(10000)})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, b := range out.Buckets {
					ids = append(ids, "arn:aws:s3:::"+aws.ToString(b.Name))
				}
			}
			return ids, nil
		}},
		"AWS::EC2::SecurityGroup": {"EC2.DescribeSecurityGroups", 1000, func(ctx context.Context, cfg aws.Config) ([]string, error) {
			var ids []string
			p := ec2.NewDescribeSecurityGroupsPaginator(ec2.NewFromConfig(cfg), &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(1000)})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, g := range out.SecurityGroups {
					ids = append(ids, "arn:aws:ec2:"+region+":"+acct+":security-group/"+aws.ToString(g.GroupId))
				}
			}
			return ids, nil
		}},
		"AWS::IAM::Role": {"IAM.ListRoles", 1000, func(ctx context.Context, cfg aws.Config) ([]string, error) {
			var ids []string
			p := iam.NewListRolesPaginator(iam.NewFromConfig(cfg), &iam.ListRolesInput{MaxItems: aws.Int32(1000)})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, r := range out.Roles {
					ids = append(ids, aws.ToString(r.Arn))
				}
			}
			return ids, nil
		}},
		"AWS::IAM::User": {"IAM.ListUsers", 1000, func(ctx context.Context, cfg aws.Config) ([]string, error) {
			var ids []string
			p := iam.NewListUsersPaginator(iam.NewFromConfig(cfg), &iam.ListUsersInput{MaxItems: aws.Int32(1000)})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, u := range out.Users {
					ids = append(ids, aws.ToString(u.Arn))
				}
			}
			return ids, nil
		}},
		"AWS::KMS::Key": {"KMS.ListKeys", 1000, func(ctx context.Context, cfg aws.Config) ([]string, error) {
			var ids []string
			p := kms.NewListKeysPaginator(kms.NewFromConfig(cfg), &kms.ListKeysInput{Limit: aws.Int32(1000)})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, k := range out.Keys {
					ids = append(ids, aws.ToString(k.KeyArn))
				}
			}
			return ids, nil
		}},
	}
}

// scanAll creates enough resources of the listable types for an account
// of about scanN resources, then scans it as a periodic scanner would: per
// type, list, then read every resource with driftwatch's own fetchers.
func scanAll(ctx context.Context, base aws.Config, rep *apiReport, per map[string]int, scanN int) error {
	specs := scanSpecs()
	types := make([]string, 0, len(specs))
	for t := range specs {
		types = append(types, t)
	}
	sort.Strings(types)
	each := scanN / len(types)
	s3c := s3.NewFromConfig(base, func(o *s3.Options) { o.UsePathStyle = true })
	ec2c := ec2.NewFromConfig(base)
	iamc := iam.NewFromConfig(base)
	kmsc := kms.NewFromConfig(base)
	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.50.0.0/16")})
	if err != nil {
		return fmt.Errorf("create vpc: %w", err)
	}
	polARN := "arn:aws:iam::" + mototest.Account + ":policy/bench-deploy"
	for i := range each {
		name := fmt.Sprintf("bench-scan-%03d", i)
		var errs []error
		_, err := makeBucket(ctx, s3c, name)
		errs = append(errs, err)
		_, err = makeSecurityGroup(ctx, ec2c, aws.ToString(vpc.Vpc.VpcId), name)
		errs = append(errs, err)
		errs = append(errs, makeRole(ctx, iamc, name, polARN))
		if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: &name}); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, principalPolicies(ctx, iamc, "user", name, polARN))
		}
		_, err = makeKey(ctx, kmsc)
		errs = append(errs, err)
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("scan fixtures: %w", err)
			}
		}
	}
	cfg, cnt := counted(base)
	reader := fetchaws.New(cfg, fetchaws.Options{S3PathStyle: true})
	for _, t := range types {
		sp := specs[t]
		ids, err := sp.list(ctx, cfg)
		if err != nil {
			return fmt.Errorf("list %s: %w", t, err)
		}
		lists := total(cnt.take())
		for _, id := range ids {
			if _, err := reader.Read(ctx, resource.Ref{Type: t, ID: id, Account: mototest.Account, Region: mototest.Region}); err != nil {
				return err
			}
		}
		reads := total(cnt.take())
		st := scanType{Type: t, N: len(ids), ListCalls: lists, ReadCalls: reads, PerRes: per[t], PageSize: sp.page, ListOp: sp.op}
		st.PredictAWS = pages(len(ids), sp.page) + len(ids)*per[t]
		rep.Scan = append(rep.Scan, st)
		rep.ScanN += len(ids)
		rep.ScanCall += lists + reads
		rep.ScanAWS += st.PredictAWS
	}
	return nil
}

func pages(n, size int) int {
	if n == 0 || size == 0 {
		return 1
	}
	return (n + size - 1) / size
}

// opsList formats a type's calls: "GetBucketAcl, GetBucketPolicy ×2, ...".
func opsList(ops map[string]int) string {
	names := make([]string, 0, len(ops))
	for k := range ops {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		if ops[k] > 1 {
			fmt.Fprintf(&b, " ×%d", ops[k])
		}
	}
	return b.String()
}
