package detect

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"

	"github.com/driftwatch/driftwatch/shared/policy"
)

const guarddutySource = "guardduty.amazonaws.com"

// newDetector creates an enabled detector and feeds its CreateDetector
// record, which must pass.
func newDetector(t *testing.T, env *motoEnv, gd *guardduty.Client) string {
	t.Helper()
	out, err := gd.CreateDetector(context.Background(), &guardduty.CreateDetectorInput{Enable: aws.Bool(true), FindingPublishingFrequency: "SIX_HOURS"})
	auditMust(t, "create detector", err)
	id := aws.ToString(out.DetectorId)
	vs := env.feed(t, record(guarddutySource, "CreateDetector",
		map[string]any{"enable": true, "findingPublishingFrequency": "SIX_HOURS"}, map[string]any{"detectorId": id}))
	expect(t, vs, "aws-guardduty-detector-disabled", policy.Pass)
	expect(t, vs, "aws-guardduty-detector-deleted", policy.Pass)
	return id
}

func TestGuardDutyScenarioSuspendDetector(t *testing.T) {
	env := newMotoEnv(t)
	ctx := context.Background()
	gd := guardduty.NewFromConfig(env.cfg)
	const rule = "aws-guardduty-detector-disabled"
	id := newDetector(t, env, gd)

	// Record shape: StreamAlert's cloudtrail_critical_api_calls.json
	// UpdateDetector test (Apache-2.0), IDs substituted.
	update := func(enable bool) []policy.Verdict {
		t.Helper()
		_, err := gd.UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(id), Enable: aws.Bool(enable)})
		auditMust(t, "update detector", err)
		return env.feed(t, record(guarddutySource, "UpdateDetector", map[string]any{"detectorId": id, "enable": enable}, nil))
	}
	expect(t, update(false), rule, policy.Fail)
	expect(t, update(true), rule, policy.Pass)
}

func TestGuardDutyScenarioDeleteDetector(t *testing.T) {
	env := newMotoEnv(t)
	gd := guardduty.NewFromConfig(env.cfg)
	const rule = "aws-guardduty-detector-deleted"
	id := newDetector(t, env, gd)

	// GuardDuty answers GetDetector on the deleted detector with a
	// BadRequestException; the reader confirms with ListDetectors that it is
	// gone. Record shape: the Elastic integration's delete-detector test
	// record (values substituted).
	_, err := gd.DeleteDetector(context.Background(), &guardduty.DeleteDetectorInput{DetectorId: aws.String(id)})
	auditMust(t, "delete detector", err)
	vs := env.feed(t, record(guarddutySource, "DeleteDetector", map[string]any{"detectorId": id}, nil))
	expect(t, vs, rule, policy.Fail)
	expect(t, vs, "aws-guardduty-detector-disabled", policy.Pass)
}
