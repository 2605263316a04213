package revert

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// newKey creates a customer managed symmetric key with rotation on.
func newKey(t *testing.T, api *kms.Client) (id, arn string) {
	t.Helper()
	ctx := context.Background()
	out, err := api.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(unique("rv-key")), KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt})
	must(t, "create key", err)
	id = aws.ToString(out.KeyMetadata.KeyId)
	_, err = api.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(id)})
	must(t, "enable rotation", err)
	return id, aws.ToString(out.KeyMetadata.Arn)
}

func TestKMS(t *testing.T) {
	for _, tc := range []struct {
		rule, remediation string
		breakIt           func(ctx context.Context, api *kms.Client, id string) error
		ops               []string
	}{
		{"aws-kms-key-pending-deletion", "kms-cancel-key-deletion", func(ctx context.Context, api *kms.Client, id string) error {
			_, err := api.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)})
			return err
		}, []string{"CancelKeyDeletion", "EnableKey"}},
		{"aws-kms-key-disabled", "kms-enable-key", func(ctx context.Context, api *kms.Client, id string) error {
			_, err := api.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)})
			return err
		}, []string{"EnableKey"}},
		{"aws-kms-key-rotation-disabled", "kms-enable-key-rotation", func(ctx context.Context, api *kms.Client, id string) error {
			_, err := api.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(id)})
			return err
		}, []string{"EnableKeyRotation"}},
	} {
		t.Run(tc.remediation, func(t *testing.T) {
			e := newEnv(t)
			api := kms.NewFromConfig(e.cfg)
			id, arn := newKey(t, api)
			e.run(t, scenario{
				rule: tc.rule, remediation: tc.remediation, ref: ref("AWS::KMS::Key", arn),
				breakIt: func(t *testing.T) { must(t, "break key", tc.breakIt(context.Background(), api, id)) },
				ops:     tc.ops,
			})
		})
	}
}

// TestKMSRotationOfDisabledKey checks that rotation is not turned on by
// enabling a disabled key on the side.
func TestKMSRotationOfDisabledKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := kms.NewFromConfig(e.cfg)
	id, arn := newKey(t, api)
	_, err := api.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(id)})
	must(t, "disable rotation", err)
	_, err = api.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)})
	must(t, "disable key", err)
	res := e.read(t, ref("AWS::KMS::Key", arn))
	v := e.verdict(t, res, "aws-kms-key-rotation-disabled", nil)
	if v.Result != policy.Fail {
		t.Fatalf("rotation off on a disabled key: %s is %s (%s), want fail", v.RuleID, v.Result, v.Message)
	}
	plan, err := e.rem.Plan(ctx, "kms-enable-key-rotation", res, v, nil)
	must(t, "plan", err)
	if len(plan.Calls) != 0 || !strings.Contains(plan.Reason, "Disabled") {
		t.Errorf("plan for a disabled key: calls %v, reason %q; want none, saying the key is disabled", operations(plan.Calls), plan.Reason)
	}
}

// newFunction creates a Python function and its role.
func newFunction(t *testing.T, e *env) (name, arn string) {
	t.Helper()
	ctx := context.Background()
	name = unique("rv-fn")
	role, err := iam.NewFromConfig(e.cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-role"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	must(t, "create role", err)
	var code bytes.Buffer
	zw := zip.NewWriter(&code)
	w, err := zw.Create("index.py")
	must(t, "zip code", err)
	_, err = w.Write([]byte("def handler(event, context):\n    return {\"statusCode\": 200}\n"))
	must(t, "zip code", err)
	must(t, "zip code", zw.Close())
	out, err := lambda.NewFromConfig(e.cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: lambdatypes.RuntimePython312, Role: role.Role.Arn,
		Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: code.Bytes()},
	})
	must(t, "create function", err)
	return name, aws.ToString(out.FunctionArn)
}

func TestLambdaURLRequireIAMAuth(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := lambda.NewFromConfig(e.cfg)
	name, arn := newFunction(t, e)
	cors := &lambdatypes.Cors{AllowOrigins: []string{"https://app.example.com"}, AllowMethods: []string{"GET"}, MaxAge: aws.Int32(300)}
	_, err := api.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(name),
		AuthType: lambdatypes.FunctionUrlAuthTypeAwsIam, Cors: cors})
	must(t, "create function URL", err)
	e.run(t, scenario{
		rule: "aws-lambda-function-url-auth-none", remediation: "lambda-url-require-iam-auth", ref: ref("AWS::Lambda::Function", arn),
		breakIt: func(t *testing.T) {
			_, err := api.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String(name),
				AuthType: lambdatypes.FunctionUrlAuthTypeNone, Cors: cors})
			must(t, "update function URL", err)
		},
		ops: []string{"UpdateFunctionUrlConfig"},
	})
}

func TestLambdaRemovePublicPermission(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := lambda.NewFromConfig(e.cfg)
	name, arn := newFunction(t, e)
	_, err := api.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(name), StatementId: aws.String("s3-uploads"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com"),
		SourceArn: aws.String("arn:aws:s3:::uploads"), SourceAccount: aws.String(mototest.Account)})
	must(t, "add s3 permission", err)
	plan, _ := e.run(t, scenario{
		rule: "aws-lambda-function-policy-public", remediation: "lambda-remove-public-permission", ref: ref("AWS::Lambda::Function", arn),
		breakIt: func(t *testing.T) {
			_, err := api.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(name), StatementId: aws.String("backdoor"),
				Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*")})
			must(t, "add public permission", err)
		},
		ops: []string{"RemovePermission"},
	})
	if got := plan.Calls[0].Params["StatementId"]; got != "backdoor" {
		t.Errorf("removes statement %v, want backdoor", got)
	}
}

// newDBInstance creates a DB instance that passes every instance rule.
func newDBInstance(t *testing.T, api *rds.Client, encrypted bool) (id, arn string) {
	t.Helper()
	id = unique("rv-db")
	out, err := api.CreateDBInstance(context.Background(), &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("mysql"),
		MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("not-a-real-password"), AllocatedStorage: aws.Int32(20),
		PubliclyAccessible: aws.Bool(false), StorageEncrypted: aws.Bool(encrypted), BackupRetentionPeriod: aws.Int32(7),
		DeletionProtection: aws.Bool(true), AutoMinorVersionUpgrade: aws.Bool(true),
	})
	must(t, "create DB instance", err)
	return id, aws.ToString(out.DBInstance.DBInstanceArn)
}

func TestRDSInstance(t *testing.T) {
	for _, tc := range []struct {
		rule, remediation string
		breakIt           func(in *rds.ModifyDBInstanceInput)
	}{
		{"aws-rds-instance-publicly-accessible", "rds-disable-public-access", func(in *rds.ModifyDBInstanceInput) { in.PubliclyAccessible = aws.Bool(true) }},
		{"aws-rds-instance-auto-minor-version-upgrade-disabled", "rds-enable-auto-minor-version-upgrade", func(in *rds.ModifyDBInstanceInput) { in.AutoMinorVersionUpgrade = aws.Bool(false) }},
		{"aws-rds-instance-deletion-protection-disabled", "rds-enable-deletion-protection", func(in *rds.ModifyDBInstanceInput) { in.DeletionProtection = aws.Bool(false) }},
		{"aws-rds-instance-backup-retention-too-short", "rds-set-backup-retention", func(in *rds.ModifyDBInstanceInput) { in.BackupRetentionPeriod = aws.Int32(1) }},
	} {
		t.Run(tc.remediation, func(t *testing.T) {
			e := newEnv(t)
			api := rds.NewFromConfig(e.cfg)
			id, arn := newDBInstance(t, api, true)
			plan, _ := e.run(t, scenario{
				rule: tc.rule, remediation: tc.remediation, ref: ref("AWS::RDS::DBInstance", arn),
				breakIt: func(t *testing.T) {
					in := &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), ApplyImmediately: aws.Bool(true)}
					tc.breakIt(in)
					_, err := api.ModifyDBInstance(context.Background(), in)
					must(t, "modify DB instance", err)
				},
				ops: []string{"ModifyDBInstance"},
			})
			if _, ok := plan.Calls[0].Params["ApplyImmediately"]; ok {
				t.Errorf("ModifyDBInstance passes ApplyImmediately (%v), which would apply pending modifications too", plan.Calls[0].Params)
			}
		})
	}
}

// TestRDSBackupRetentionOff checks that automated backups are not turned on
// from 0 days (an outage) by the revert.
func TestRDSBackupRetentionOff(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := rds.NewFromConfig(e.cfg)
	id, arn := newDBInstance(t, api, true)
	_, err := api.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), BackupRetentionPeriod: aws.Int32(0), ApplyImmediately: aws.Bool(true)})
	must(t, "turn backups off", err)
	res := e.read(t, ref("AWS::RDS::DBInstance", arn))
	plan, err := e.rem.Plan(ctx, "rds-set-backup-retention", res, e.verdict(t, res, "aws-rds-instance-backup-retention-too-short", nil), nil)
	must(t, "plan", err)
	if len(plan.Calls) != 0 || !strings.Contains(plan.Reason, "outage") {
		t.Errorf("plan: calls %v, reason %q; want none, naming the outage", operations(plan.Calls), plan.Reason)
	}
}

func TestRDSSnapshots(t *testing.T) {
	t.Run("DB snapshot", func(t *testing.T) {
		e := newEnv(t)
		ctx := context.Background()
		api := rds.NewFromConfig(e.cfg)
		db, _ := newDBInstance(t, api, false)
		snap := unique("rv-snap")
		out, err := api.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBSnapshotIdentifier: aws.String(snap), DBInstanceIdentifier: aws.String(db)})
		must(t, "create DB snapshot", err)
		modify := func(t *testing.T, values ...string) {
			_, err := api.ModifyDBSnapshotAttribute(ctx, &rds.ModifyDBSnapshotAttributeInput{DBSnapshotIdentifier: aws.String(snap),
				AttributeName: aws.String("restore"), ValuesToAdd: values})
			must(t, "modify DB snapshot attribute", err)
		}
		modify(t, "111122223333")
		e.run(t, scenario{
			rule: "aws-rds-snapshot-public", remediation: "rds-make-snapshot-private", ref: ref("AWS::RDS::DBSnapshot", aws.ToString(out.DBSnapshot.DBSnapshotArn)),
			breakIt: func(t *testing.T) { modify(t, "all") },
			ops:     []string{"ModifyDBSnapshotAttribute"},
		})
	})
	t.Run("DB cluster snapshot", func(t *testing.T) {
		e := newEnv(t)
		ctx := context.Background()
		api := rds.NewFromConfig(e.cfg)
		cluster := unique("rv-aurora")
		_, err := api.CreateDBCluster(ctx, &rds.CreateDBClusterInput{DBClusterIdentifier: aws.String(cluster), Engine: aws.String("aurora-postgresql"),
			MasterUsername: aws.String("app"), MasterUserPassword: aws.String("not-a-real-password")})
		must(t, "create DB cluster", err)
		snap := unique("rv-aurora-snap")
		out, err := api.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{DBClusterSnapshotIdentifier: aws.String(snap), DBClusterIdentifier: aws.String(cluster)})
		must(t, "create DB cluster snapshot", err)
		modify := func(t *testing.T, values ...string) {
			_, err := api.ModifyDBClusterSnapshotAttribute(ctx, &rds.ModifyDBClusterSnapshotAttributeInput{DBClusterSnapshotIdentifier: aws.String(snap),
				AttributeName: aws.String("restore"), ValuesToAdd: values})
			must(t, "modify DB cluster snapshot attribute", err)
		}
		modify(t, "111122223333")
		e.run(t, scenario{
			rule: "aws-rds-cluster-snapshot-public", remediation: "rds-make-cluster-snapshot-private",
			ref:     ref("AWS::RDS::DBClusterSnapshot", aws.ToString(out.DBClusterSnapshot.DBClusterSnapshotArn)),
			breakIt: func(t *testing.T) { modify(t, "all") },
			ops:     []string{"ModifyDBClusterSnapshotAttribute"},
		})
	})
}

// newTrail creates a compliant trail (multi-Region, validated, SSE-KMS,
// logging) and its bucket.
func newTrail(t *testing.T, e *env, api *cloudtrail.Client) (name, arn string) {
	t.Helper()
	ctx := context.Background()
	name, bucket := unique("rv-trail"), unique("rv-trail-logs")
	_, err := s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	must(t, "create trail bucket", err)
	out, err := api.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket), S3KeyPrefix: aws.String("audit"),
		IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true),
		KmsKeyId: aws.String("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")})
	must(t, "create trail", err)
	_, err = api.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(name)})
	must(t, "start logging", err)
	return name, aws.ToString(out.TrailARN)
}

func TestCloudTrail(t *testing.T) {
	for _, tc := range []struct {
		rule, remediation string
		breakIt           func(ctx context.Context, api *cloudtrail.Client, name string) error
		ops               []string
	}{
		{"aws-cloudtrail-trail-logging-stopped", "cloudtrail-start-logging", func(ctx context.Context, api *cloudtrail.Client, name string) error {
			_, err := api.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(name)})
			return err
		}, []string{"StartLogging"}},
		{"aws-cloudtrail-trail-log-validation-disabled", "cloudtrail-enable-log-validation", func(ctx context.Context, api *cloudtrail.Client, name string) error {
			_, err := api.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(name), EnableLogFileValidation: aws.Bool(false)})
			return err
		}, []string{"UpdateTrail"}},
	} {
		t.Run(tc.remediation, func(t *testing.T) {
			e := newEnv(t)
			api := cloudtrail.NewFromConfig(e.cfg)
			name, arn := newTrail(t, e, api)
			e.run(t, scenario{
				rule: tc.rule, remediation: tc.remediation, ref: ref("AWS::CloudTrail::Trail", arn),
				breakIt: func(t *testing.T) { must(t, "break trail", tc.breakIt(context.Background(), api, name)) },
				ops:     tc.ops,
			})
		})
	}
}

func TestConfigStartRecorder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := configservice.NewFromConfig(e.cfg)
	const name = "default"
	bucket := unique("rv-config")
	_, err := s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	must(t, "create config bucket", err)
	_, err = api.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String(name), RoleARN: aws.String("arn:aws:iam::123456789012:role/aws-config"),
		RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true},
	}})
	must(t, "put configuration recorder", err)
	_, err = api.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{Name: aws.String(name), S3BucketName: aws.String(bucket)}})
	must(t, "put delivery channel", err)
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = api.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
		_, _ = api.DeleteConfigurationRecorder(ctx, &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
		_, _ = api.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String(name)})
	})
	_, err = api.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
	must(t, "start configuration recorder", err)
	e.run(t, scenario{
		rule: "aws-config-recorder-not-recording", remediation: "config-start-recorder",
		ref: ref("AWS::Config::ConfigurationRecorder", "arn:aws:config:"+mototest.Region+":"+mototest.Account+":configuration-recorder/"+name),
		breakIt: func(t *testing.T) {
			_, err := api.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
			must(t, "stop configuration recorder", err)
		},
		ops: []string{"StartConfigurationRecorder"},
	})
}

func TestGuardDutyEnableDetector(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := guardduty.NewFromConfig(e.cfg)
	out, err := api.CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true), FindingPublishingFrequency: "SIX_HOURS"})
	must(t, "create detector", err)
	id := aws.ToString(out.DetectorId)
	t.Cleanup(func() {
		_, _ = api.DeleteDetector(context.Background(), &guardduty.DeleteDetectorInput{DetectorId: aws.String(id)})
	})
	e.run(t, scenario{
		rule: "aws-guardduty-detector-disabled", remediation: "guardduty-enable-detector",
		ref: ref("AWS::GuardDuty::Detector", "arn:aws:guardduty:"+mototest.Region+":"+mototest.Account+":detector/"+id),
		breakIt: func(t *testing.T) {
			_, err := api.UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(id), Enable: aws.Bool(false)})
			must(t, "suspend detector", err)
		},
		ops: []string{"UpdateDetector"},
	})
}
