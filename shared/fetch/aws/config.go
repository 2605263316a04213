package aws

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/configservice"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// configAPI is the part of the AWS Config client the recorder fetcher calls.
type configAPI interface {
	DescribeConfigurationRecorders(ctx context.Context, in *configservice.DescribeConfigurationRecordersInput, opts ...func(*configservice.Options)) (*configservice.DescribeConfigurationRecordersOutput, error)
	DescribeConfigurationRecorderStatus(ctx context.Context, in *configservice.DescribeConfigurationRecorderStatusInput, opts ...func(*configservice.Options)) (*configservice.DescribeConfigurationRecorderStatusOutput, error)
}

// configFetchers are the readers of config resource types.
func configFetchers() map[string]fetchFunc {
	return map[string]fetchFunc{"AWS::Config::ConfigurationRecorder": fetchRecorder}
}

// fetchRecorder reads a configuration recorder in the region of its ID,
// arn:{p}:config:{r}:{a}:configuration-recorder/{name}.
func fetchRecorder(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
	name, err := recorderName(ref.ID)
	if err != nil {
		return nil, nil, false, err
	}
	api := client(r, "config", regionOf(ref), func(cfg aws.Config) configAPI { return configservice.NewFromConfig(cfg) })
	return readRecorder(ctx, api, name)
}

// recorderName is the recorder name in a recorder ARN. AWS Config's own
// recorder ARNs add a random suffix (configuration-recorder/{name}/{suffix}).
func recorderName(id string) (string, error) {
	a, err := arn.Parse(id)
	if err != nil {
		return "", fmt.Errorf("configuration recorder id %q: %w", id, err)
	}
	rest, ok := strings.CutPrefix(a.Resource, "configuration-recorder/")
	name, _, _ := strings.Cut(rest, "/")
	if !ok || name == "" {
		return "", fmt.Errorf("configuration recorder id %q: no configuration-recorder/{name} resource", id)
	}
	return name, nil
}

// readRecorder reads the recorder called name and its status and maps them
// into the recorder document.
func readRecorder(ctx context.Context, api configAPI, name string) (map[string]any, map[string]string, bool, error) {
	const notFound = "NoSuchConfigurationRecorderException"
	recs, err := api.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{
		ConfigurationRecorderNames: []string{name},
	})
	if errorCodeIs(err, notFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe configuration recorder %q: %w", name, err)
	}
	if len(recs.ConfigurationRecorders) == 0 {
		return nil, nil, false, nil
	}
	rec := recs.ConfigurationRecorders[0]

	sts, err := api.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{
		ConfigurationRecorderNames: []string{name},
	})
	if errorCodeIs(err, notFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe status of configuration recorder %q: %w", name, err)
	}
	if len(sts.ConfigurationRecordersStatus) == 0 {
		return nil, nil, false, nil
	}
	st := sts.ConfigurationRecordersStatus[0]

	var allSupported, global bool
	var strategy string
	var included, excluded []string
	if g := rec.RecordingGroup; g != nil {
		allSupported, global = g.AllSupported, g.IncludeGlobalResourceTypes
		for _, t := range g.ResourceTypes {
			included = append(included, string(t))
		}
		if g.ExclusionByResourceTypes != nil {
			for _, t := range g.ExclusionByResourceTypes.ResourceTypes {
				excluded = append(excluded, string(t))
			}
		}
		if g.RecordingStrategy != nil {
			strategy = string(g.RecordingStrategy.UseOnly)
		}
	}
	frequency := ""
	if rec.RecordingMode != nil {
		frequency = string(rec.RecordingMode.RecordingFrequency)
	}
	doc := map[string]any{
		"Name":                       aws.ToString(rec.Name),
		"Arn":                        aws.ToString(rec.Arn),
		"RoleARN":                    aws.ToString(rec.RoleARN),
		"ServicePrincipal":           aws.ToString(rec.ServicePrincipal),
		"Recording":                  st.Recording,
		"LastStatus":                 string(st.LastStatus),
		"LastErrorCode":              aws.ToString(st.LastErrorCode),
		"AllSupported":               allSupported,
		"IncludeGlobalResourceTypes": global,
		"RecordingStrategy":          strategy,
		"ResourceTypes":              docStrings(included),
		"ExcludedResourceTypes":      docStrings(excluded),
		"RecordingFrequency":         frequency,
	}
	return doc, map[string]string{}, true, nil
}

// configActions are the IAM actions behind the AWS Config calls above
// (SDK package configservice, IAM prefix config).
var configActions = operationActions{
	"configservice.DescribeConfigurationRecorders":      {"config:DescribeConfigurationRecorders"},
	"configservice.DescribeConfigurationRecorderStatus": {"config:DescribeConfigurationRecorderStatus"},
}
