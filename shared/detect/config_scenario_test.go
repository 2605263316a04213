package detect

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftwatch/driftwatch/shared/policy"
)

// The Config scenarios share moto's one recorder of us-east-1 (a Region
// holds a single customer managed recorder, in moto as on AWS): they do not
// call t.Parallel, and each deletes the recorder and its delivery channel
// when it ends.

const configSource = "config.amazonaws.com"

// newRecorder creates the Region's recorder, "default", recording every
// supported type, with a delivery channel, and starts it.
func newRecorder(t *testing.T, env *motoEnv, cs *configservice.Client) string {
	t.Helper()
	ctx := context.Background()
	const name = "default"
	bucket := unique("scn-config")
	_, err := s3.NewFromConfig(env.cfg, func(o *s3.Options) { o.UsePathStyle = true }).
		CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	auditMust(t, "create config bucket", err)
	_, err = cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String(name), RoleARN: aws.String("arn:aws:iam::123456789012:role/aws-config"),
		RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true},
	}})
	auditMust(t, "put configuration recorder", err)
	_, err = cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{
		Name: aws.String(name), S3BucketName: aws.String(bucket),
	}})
	auditMust(t, "put delivery channel", err)
	t.Cleanup(func() {
		ctx := context.Background()
		// The recorder may be gone already (the deletion scenario).
		_, _ = cs.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
		_, _ = cs.DeleteConfigurationRecorder(ctx, &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
		if _, err := cs.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String(name)}); err != nil {
			t.Errorf("clean up delivery channel: %v", err)
		}
	})
	_, err = cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
	auditMust(t, "start configuration recorder", err)
	return name
}

func TestConfigScenarioStopRecorder(t *testing.T) {
	env := newMotoEnv(t)
	ctx := context.Background()
	cs := configservice.NewFromConfig(env.cfg)
	const rule = "aws-config-recorder-not-recording"
	name := newRecorder(t, env, cs)

	vs := env.feed(t, record(configSource, "StartConfigurationRecorder", map[string]any{"configurationRecorderName": name}, nil))
	expect(t, vs, rule, policy.Pass)
	expect(t, vs, "aws-config-recorder-not-all-resource-types", policy.Pass)

	// Record shape: the Elastic integration's stop-configuration-recorder
	// test record (values substituted).
	_, err := cs.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
	auditMust(t, "stop configuration recorder", err)
	vs = env.feed(t, record(configSource, "StopConfigurationRecorder", map[string]any{"configurationRecorderName": name}, nil))
	expect(t, vs, rule, policy.Fail)

	_, err = cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
	auditMust(t, "start configuration recorder", err)
	vs = env.feed(t, record(configSource, "StartConfigurationRecorder", map[string]any{"configurationRecorderName": name}, nil))
	expect(t, vs, rule, policy.Pass)
}

func TestConfigScenarioNarrowRecorder(t *testing.T) {
	env := newMotoEnv(t)
	ctx := context.Background()
	cs := configservice.NewFromConfig(env.cfg)
	const rule = "aws-config-recorder-not-all-resource-types"
	name := newRecorder(t, env, cs)

	put := func(group *cfgtypes.RecordingGroup, recorded map[string]any) []policy.Verdict {
		t.Helper()
		_, err := cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
			Name: aws.String(name), RoleARN: aws.String("arn:aws:iam::123456789012:role/aws-config"), RecordingGroup: group,
		}})
		auditMust(t, "put configuration recorder", err)
		return env.feed(t, record(configSource, "PutConfigurationRecorder", map[string]any{"configurationRecorder": map[string]any{
			"name": name, "roleARN": "arn:aws:iam::123456789012:role/aws-config", "recordingGroup": recorded,
		}}, nil))
	}
	vs := put(&cfgtypes.RecordingGroup{ResourceTypes: []cfgtypes.ResourceType{cfgtypes.ResourceTypeInstance},
		RecordingStrategy: &cfgtypes.RecordingStrategy{UseOnly: cfgtypes.RecordingStrategyTypeInclusionByResourceTypes}},
		map[string]any{"allSupported": false, "includeGlobalResourceTypes": false, "resourceTypes": []any{"AWS::EC2::Instance"},
			"recordingStrategy": map[string]any{"useOnly": "INCLUSION_BY_RESOURCE_TYPES"}})
	expect(t, vs, rule, policy.Fail)
	vs = put(&cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true},
		map[string]any{"allSupported": true, "includeGlobalResourceTypes": true})
	expect(t, vs, rule, policy.Pass)
}

func TestConfigScenarioDeleteRecorder(t *testing.T) {
	env := newMotoEnv(t)
	ctx := context.Background()
	cs := configservice.NewFromConfig(env.cfg)
	const rule = "aws-config-recorder-deleted"
	name := newRecorder(t, env, cs)

	vs := env.feed(t, record(configSource, "StartConfigurationRecorder", map[string]any{"configurationRecorderName": name}, nil))
	expect(t, vs, rule, policy.Pass)

	_, err := cs.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
	auditMust(t, "stop configuration recorder", err)
	_, err = cs.DeleteConfigurationRecorder(ctx, &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
	auditMust(t, "delete configuration recorder", err)
	vs = env.feed(t, record(configSource, "DeleteConfigurationRecorder", map[string]any{"configurationRecorderName": name}, nil))
	expect(t, vs, rule, policy.Fail)
	expect(t, vs, "aws-config-recorder-not-recording", policy.Pass)
}
