package detect

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftwatch/driftwatch/shared/policy"
)

const cloudtrailSource = "cloudtrail.amazonaws.com"

// newTrail creates, in moto, a compliant trail (multi-Region, validated,
// SSE-KMS, logging) and its bucket, and returns the trail's name and ARN.
func newTrail(t *testing.T, env *motoEnv, ct *cloudtrail.Client) (name, arn string) {
	t.Helper()
	ctx := context.Background()
	name, bucket := unique("scn-trail"), unique("scn-trail-logs")
	_, err := s3.NewFromConfig(env.cfg, func(o *s3.Options) { o.UsePathStyle = true }).
		CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	auditMust(t, "create trail bucket", err)
	out, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
		Name: aws.String(name), S3BucketName: aws.String(bucket), IsMultiRegionTrail: aws.Bool(true),
		EnableLogFileValidation: aws.Bool(true),
		KmsKeyId:                aws.String("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
	})
	auditMust(t, "create trail", err)
	_, err = ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(name)})
	auditMust(t, "start logging", err)
	return name, aws.ToString(out.TrailARN)
}

func auditMust(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestCloudTrailScenarioStopLogging(t *testing.T) {
	env := newMotoEnv(t)
	ctx := context.Background()
	ct := cloudtrail.NewFromConfig(env.cfg)
	const rule = "aws-cloudtrail-trail-logging-stopped"
	name, _ := newTrail(t, env, ct)

	// An intruder stops the trail. Record shape: Stratus Red Team's
	// aws.defense-evasion.cloudtrail-stop detonation log (Apache-2.0).
	_, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(name)})
	auditMust(t, "stop logging", err)
	vs := env.feed(t, record(cloudtrailSource, "StopLogging", map[string]any{"name": name}, nil))
	expect(t, vs, rule, policy.Fail)
	expect(t, vs, "aws-cloudtrail-trail-deleted", policy.Pass)

	// Fixed: logging started again.
	_, err = ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(name)})
	auditMust(t, "start logging", err)
	vs = env.feed(t, record(cloudtrailSource, "StartLogging", map[string]any{"name": name}, nil))
	expect(t, vs, rule, policy.Pass)
}

func TestCloudTrailScenarioLogValidationOff(t *testing.T) {
	env := newMotoEnv(t)
	ctx := context.Background()
	ct := cloudtrail.NewFromConfig(env.cfg)
	const rule = "aws-cloudtrail-trail-log-validation-disabled"
	name, arn := newTrail(t, env, ct)

	// UpdateTrail from the console, the trail named by its ARN. Record shape:
	// the UpdateTrail sample of the CloudTrail documentation.
	update := func(validation bool) []policy.Verdict {
		t.Helper()
		out, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(arn), EnableLogFileValidation: aws.Bool(validation)})
		auditMust(t, "update trail", err)
		return env.feed(t, record(cloudtrailSource, "UpdateTrail",
			map[string]any{"name": arn, "enableLogFileValidation": validation},
			map[string]any{
				"name": name, "s3BucketName": aws.ToString(out.S3BucketName), "includeGlobalServiceEvents": true,
				"isMultiRegionTrail": true, "trailARN": arn, "logFileValidationEnabled": validation,
				"kmsKeyId": aws.ToString(out.KmsKeyId), "isOrganizationTrail": false,
			}))
	}
	vs := update(false)
	expect(t, vs, rule, policy.Fail)
	expect(t, vs, "aws-cloudtrail-trail-logging-stopped", policy.Pass)
	expect(t, update(true), rule, policy.Pass)
}

func TestCloudTrailScenarioManagementEventsOff(t *testing.T) {
	env := newMotoEnv(t)
	ctx := context.Background()
	ct := cloudtrail.NewFromConfig(env.cfg)
	const rule = "aws-cloudtrail-trail-management-writes-not-logged"
	name, arn := newTrail(t, env, ct)

	// Management events off, data events only. Record shape: Stratus Red
	// Team's aws.defense-evasion.cloudtrail-event-selectors log (Apache-2.0).
	put := func(include bool, rw cttypes.ReadWriteType) []policy.Verdict {
		t.Helper()
		_, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(name),
			EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(include), ReadWriteType: rw,
				DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{}}}}}})
		auditMust(t, "put event selectors", err)
		selectors := []any{map[string]any{
			"dataResources":                 []any{map[string]any{"type": "AWS::S3::Object", "values": []any{}}},
			"excludeManagementEventSources": []any{}, "includeManagementEvents": include, "readWriteType": string(rw),
		}}
		return env.feed(t, record(cloudtrailSource, "PutEventSelectors",
			map[string]any{"eventSelectors": selectors, "trailName": name},
			map[string]any{"eventSelectors": selectors, "trailARN": arn}))
	}
	expect(t, put(false, cttypes.ReadWriteTypeReadOnly), rule, policy.Fail)
	expect(t, put(true, cttypes.ReadWriteTypeAll), rule, policy.Pass)
}

func TestCloudTrailScenarioDeleteTrail(t *testing.T) {
	env := newMotoEnv(t)
	ctx := context.Background()
	ct := cloudtrail.NewFromConfig(env.cfg)
	const rule = "aws-cloudtrail-trail-deleted"
	name, _ := newTrail(t, env, ct)

	vs := env.feed(t, record(cloudtrailSource, "StartLogging", map[string]any{"name": name}, nil))
	expect(t, vs, rule, policy.Pass)

	// Record shape: Stratus Red Team's aws.defense-evasion.cloudtrail-delete
	// log (Apache-2.0).
	_, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(name)})
	auditMust(t, "delete trail", err)
	vs = env.feed(t, record(cloudtrailSource, "DeleteTrail", map[string]any{"name": name}, nil))
	expect(t, vs, rule, policy.Fail)
	expect(t, vs, "aws-cloudtrail-trail-logging-stopped", policy.Pass)
}
