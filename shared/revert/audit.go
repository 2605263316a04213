package revert

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
)

// The audit services: CloudTrail trails, AWS Config recorders and
// GuardDuty detectors.

func auditRemediations() map[string]remediation {
	trail := []string{"AWS::CloudTrail::Trail"}
	return map[string]remediation{
		"cloudtrail-start-logging": {types: trail, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := trailRegion(t)
			return planStartLogging(r.cloudtrailClient(region), region, t)
		}},
		"cloudtrail-enable-log-validation": {types: trail, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := trailRegion(t)
			return planLogValidation(r.cloudtrailClient(region), region, t)
		}},
		"config-start-recorder": {types: []string{"AWS::Config::ConfigurationRecorder"}, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := regionOf(t.res.Ref)
			return planStartRecorder(r.configClient(region), region, t)
		}},
		"guardduty-enable-detector": {types: []string{"AWS::GuardDuty::Detector"}, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region := regionOf(t.res.Ref)
			return planEnableDetector(r.guarddutyClient(region), region, t)
		}},
	}
}

func (r *Remediator) cloudtrailClient(region string) *cloudtrail.Client {
	return client(r, "cloudtrail", region, func(cfg aws.Config) *cloudtrail.Client { return cloudtrail.NewFromConfig(cfg) })
}

func (r *Remediator) configClient(region string) *configservice.Client {
	return client(r, "configservice", region, func(cfg aws.Config) *configservice.Client { return configservice.NewFromConfig(cfg) })
}

func (r *Remediator) guarddutyClient(region string) *guardduty.Client {
	return client(r, "guardduty", region, func(cfg aws.Config) *guardduty.Client { return guardduty.NewFromConfig(cfg) })
}

// trailRegion is the trail's home region (only there can it be changed).
func trailRegion(t *target) string {
	if r := docString(t.doc(), "HomeRegion"); r != "" {
		return r
	}
	return regionOf(t.res.Ref)
}

// trailName is the trail's ARN as read, else its reference's ID.
func trailName(t *target) string {
	if a := docString(t.doc(), "TrailARN"); a != "" {
		return a
	}
	return t.res.Ref.ID
}

// cloudtrailLoggingAPI is what cloudtrail-start-logging calls.
type cloudtrailLoggingAPI interface {
	StartLogging(ctx context.Context, in *cloudtrail.StartLoggingInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.StartLoggingOutput, error)
}

// planStartLogging starts logging on the trail again; its settings and
// selectors are not touched.
func planStartLogging(api cloudtrailLoggingAPI, region string, t *target) (planned, error) {
	name := trailName(t)
	if docBool(t.doc(), "IsLogging") {
		return nothing("trail %s is logging", name)
	}
	in := &cloudtrail.StartLoggingInput{Name: aws.String(name)}
	return planned{calls: []Call{newCall("cloudtrail", "StartLogging", "cloudtrail:StartLogging", region, api.StartLogging, in)},
		reason: "starts logging"}, nil
}

// cloudtrailUpdateAPI is what cloudtrail-enable-log-validation calls.
type cloudtrailUpdateAPI interface {
	UpdateTrail(ctx context.Context, in *cloudtrail.UpdateTrailInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.UpdateTrailOutput, error)
}

// planLogValidation turns log file validation back on; UpdateTrail changes
// only the parameters it is given, so no other setting is passed.
func planLogValidation(api cloudtrailUpdateAPI, region string, t *target) (planned, error) {
	name := trailName(t)
	if docBool(t.doc(), "LogFileValidationEnabled") {
		return nothing("trail %s validates its log files", name)
	}
	in := &cloudtrail.UpdateTrailInput{Name: aws.String(name), EnableLogFileValidation: aws.Bool(true)}
	return planned{calls: []Call{newCall("cloudtrail", "UpdateTrail", "cloudtrail:UpdateTrail", region, api.UpdateTrail, in)},
		reason: "turns log file validation on"}, nil
}

// configRecorderAPI is what config-start-recorder calls.
type configRecorderAPI interface {
	StartConfigurationRecorder(ctx context.Context, in *configservice.StartConfigurationRecorderInput, optFns ...func(*configservice.Options)) (*configservice.StartConfigurationRecorderOutput, error)
}

// planStartRecorder starts the recorder again; what it records is not
// touched. Service-linked recorders belong to the service that made them.
func planStartRecorder(api configRecorderAPI, region string, t *target) (planned, error) {
	name, err := required(t.doc(), "Name")
	if err != nil {
		return planned{}, err
	}
	switch {
	case docBool(t.doc(), "Recording"):
		return nothing("configuration recorder %s is recording", name)
	case docString(t.doc(), "ServicePrincipal") != "":
		return nothing("configuration recorder %s is service-linked (%s): its service starts and stops it", name, docString(t.doc(), "ServicePrincipal"))
	}
	in := &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)}
	return planned{calls: []Call{newCall("configservice", "StartConfigurationRecorder", "config:StartConfigurationRecorder", region, api.StartConfigurationRecorder, in)},
		reason: "starts the recorder"}, nil
}

// guarddutyDetectorAPI is what guardduty-enable-detector calls.
type guarddutyDetectorAPI interface {
	UpdateDetector(ctx context.Context, in *guardduty.UpdateDetectorInput, optFns ...func(*guardduty.Options)) (*guardduty.UpdateDetectorOutput, error)
}

// planEnableDetector enables the suspended detector; its features and
// publishing frequency (not passed) stay as they are.
func planEnableDetector(api guarddutyDetectorAPI, region string, t *target) (planned, error) {
	id, err := required(t.doc(), "DetectorId")
	if err != nil {
		return planned{}, err
	}
	if docString(t.doc(), "Status") == "ENABLED" {
		return nothing("detector %s is enabled", id)
	}
	in := &guardduty.UpdateDetectorInput{DetectorId: aws.String(id), Enable: aws.Bool(true)}
	return planned{calls: []Call{newCall("guardduty", "UpdateDetector", "guardduty:UpdateDetector", region, api.UpdateDetector, in)},
		reason: "enables the detector"}, nil
}
