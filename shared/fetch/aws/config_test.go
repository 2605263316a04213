package aws

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/smithy-go"
)

// fakeConfig is a configAPI whose answers the test chooses.
type fakeConfig struct {
	describeRecorders func(*configservice.DescribeConfigurationRecordersInput) (*configservice.DescribeConfigurationRecordersOutput, error)
	describeStatus    func(*configservice.DescribeConfigurationRecorderStatusInput) (*configservice.DescribeConfigurationRecorderStatusOutput, error)
}

var _ configAPI = (*fakeConfig)(nil)

func (f *fakeConfig) DescribeConfigurationRecorders(_ context.Context, in *configservice.DescribeConfigurationRecordersInput, _ ...func(*configservice.Options)) (*configservice.DescribeConfigurationRecordersOutput, error) {
	return f.describeRecorders(in)
}

func (f *fakeConfig) DescribeConfigurationRecorderStatus(_ context.Context, in *configservice.DescribeConfigurationRecorderStatusInput, _ ...func(*configservice.Options)) (*configservice.DescribeConfigurationRecorderStatusOutput, error) {
	return f.describeStatus(in)
}

// recorderConfig answers for one recorder called "default" with the given
// recording group, recording when recording is true.
func recorderConfig(group *cfgtypes.RecordingGroup, recording bool) *fakeConfig {
	return &fakeConfig{
		describeRecorders: func(in *configservice.DescribeConfigurationRecordersInput) (*configservice.DescribeConfigurationRecordersOutput, error) {
			if !reflect.DeepEqual(in.ConfigurationRecorderNames, []string{"default"}) {
				return nil, &cfgtypes.NoSuchConfigurationRecorderException{Message: aws.String("no such recorder")}
			}
			return &configservice.DescribeConfigurationRecordersOutput{ConfigurationRecorders: []cfgtypes.ConfigurationRecorder{{
				Name: aws.String("default"), Arn: aws.String("arn:aws:config:us-east-1:123456789012:configuration-recorder/default/abcd"),
				RoleARN: aws.String("arn:aws:iam::123456789012:role/config"), RecordingGroup: group,
				RecordingMode: &cfgtypes.RecordingMode{RecordingFrequency: cfgtypes.RecordingFrequencyDaily},
			}}}, nil
		},
		describeStatus: func(*configservice.DescribeConfigurationRecorderStatusInput) (*configservice.DescribeConfigurationRecorderStatusOutput, error) {
			return &configservice.DescribeConfigurationRecorderStatusOutput{ConfigurationRecordersStatus: []cfgtypes.ConfigurationRecorderStatus{{
				Name: aws.String("default"), Recording: recording, LastStatus: cfgtypes.RecorderStatusFailure,
				LastErrorCode: aws.String("AccessDenied"),
			}}}, nil
		},
	}
}

func TestReadRecorder(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}
	tests := []struct {
		name       string
		recorder   string
		fake       *fakeConfig
		wantExists bool
		wantErr    error
		want       map[string]any
	}{
		{
			name:     "all supported, recording",
			recorder: "default",
			fake: recorderConfig(&cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true,
				RecordingStrategy: &cfgtypes.RecordingStrategy{UseOnly: cfgtypes.RecordingStrategyTypeAllSupportedResourceTypes}}, true),
			wantExists: true,
			want: map[string]any{
				"Name": "default", "Arn": "arn:aws:config:us-east-1:123456789012:configuration-recorder/default/abcd",
				"RoleARN": "arn:aws:iam::123456789012:role/config", "ServicePrincipal": "", "Recording": true,
				"LastStatus": "Failure", "LastErrorCode": "AccessDenied", "AllSupported": true, "IncludeGlobalResourceTypes": true,
				"RecordingStrategy": "ALL_SUPPORTED_RESOURCE_TYPES", "ResourceTypes": []any{}, "ExcludedResourceTypes": []any{},
				"RecordingFrequency": "DAILY",
			},
		},
		{
			name:     "exclusions",
			recorder: "default",
			fake: recorderConfig(&cfgtypes.RecordingGroup{
				ExclusionByResourceTypes: &cfgtypes.ExclusionByResourceTypes{ResourceTypes: []cfgtypes.ResourceType{cfgtypes.ResourceTypeInstance}},
				RecordingStrategy:        &cfgtypes.RecordingStrategy{UseOnly: cfgtypes.RecordingStrategyTypeExclusionByResourceTypes},
			}, false),
			wantExists: true,
			want: map[string]any{"AllSupported": false, "Recording": false, "RecordingStrategy": "EXCLUSION_BY_RESOURCE_TYPES",
				"ExcludedResourceTypes": []any{"AWS::EC2::Instance"}},
		},
		{
			name:       "no recording group",
			recorder:   "default",
			fake:       recorderConfig(nil, false),
			wantExists: true,
			want:       map[string]any{"AllSupported": false, "RecordingStrategy": "", "ResourceTypes": []any{}},
		},
		{
			name:     "no such recorder",
			recorder: "other",
			fake:     recorderConfig(nil, true),
		},
		{
			name:     "empty answer",
			recorder: "default",
			fake: &fakeConfig{describeRecorders: func(*configservice.DescribeConfigurationRecordersInput) (*configservice.DescribeConfigurationRecordersOutput, error) {
				return &configservice.DescribeConfigurationRecordersOutput{}, nil
			}},
		},
		{
			name:     "status denied is an error",
			recorder: "default",
			fake: func() *fakeConfig {
				f := recorderConfig(nil, true)
				f.describeStatus = func(*configservice.DescribeConfigurationRecorderStatusInput) (*configservice.DescribeConfigurationRecorderStatusOutput, error) {
					return nil, denied
				}
				return f
			}(),
			wantErr: denied,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, tags, exists, err := readRecorder(context.Background(), tt.fake, tt.recorder)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readRecorder: %v", err)
			}
			if exists != tt.wantExists {
				t.Fatalf("exists = %v, want %v", exists, tt.wantExists)
			}
			if !exists {
				return
			}
			for k, v := range tt.want {
				if !reflect.DeepEqual(doc[k], v) {
					t.Errorf("%s = %#v, want %#v", k, doc[k], v)
				}
			}
			if len(doc) != 13 || tags == nil {
				t.Errorf("doc has %d properties (want 13), tags %v", len(doc), tags)
			}
		})
	}
}
