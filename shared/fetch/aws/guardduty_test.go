package aws

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"github.com/aws/smithy-go"
)

// fakeGuardDuty is a guarddutyAPI whose answers the test chooses; listed
// are the detector IDs ListDetectors returns, one per page.
type fakeGuardDuty struct {
	getDetector func(*guardduty.GetDetectorInput) (*guardduty.GetDetectorOutput, error)
	listed      []string
	listErr     error
}

var _ guarddutyAPI = (*fakeGuardDuty)(nil)

func (f *fakeGuardDuty) GetDetector(_ context.Context, in *guardduty.GetDetectorInput, _ ...func(*guardduty.Options)) (*guardduty.GetDetectorOutput, error) {
	return f.getDetector(in)
}

func (f *fakeGuardDuty) ListDetectors(_ context.Context, in *guardduty.ListDetectorsInput, _ ...func(*guardduty.Options)) (*guardduty.ListDetectorsOutput, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	i := 0
	if in.NextToken != nil {
		for i < len(f.listed) && f.listed[i] != *in.NextToken {
			i++
		}
	}
	if i >= len(f.listed) {
		return &guardduty.ListDetectorsOutput{DetectorIds: []string{}}, nil
	}
	out := &guardduty.ListDetectorsOutput{DetectorIds: []string{f.listed[i]}}
	if i+1 < len(f.listed) {
		out.NextToken = aws.String(f.listed[i+1])
	}
	return out, nil
}

// notOwned is what GuardDuty answers for a detector that is not in the
// account and region: a generic bad request.
var notOwned = &gdtypes.BadRequestException{
	Message: aws.String("The request is rejected because the input detectorId is not owned by the current account."),
	Type:    aws.String("InvalidInputException"),
}

func TestReadDetector(t *testing.T) {
	const id = "12abc34d567e8f4912ab3d45e67891f2"
	updated := time.Date(2024, 9, 27, 13, 0, 0, 0, time.UTC)
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}
	found := func(*guardduty.GetDetectorInput) (*guardduty.GetDetectorOutput, error) {
		return &guardduty.GetDetectorOutput{
			Status: gdtypes.DetectorStatusDisabled, FindingPublishingFrequency: gdtypes.FindingPublishingFrequencySixHours,
			ServiceRole: aws.String("arn:aws:iam::123456789012:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty"),
			CreatedAt:   aws.String("2024-09-27T12:00:00.000Z"), UpdatedAt: aws.String("2024-09-27T13:00:00.000Z"),
			Features: []gdtypes.DetectorFeatureConfigurationResult{
				{Name: gdtypes.DetectorFeatureResultS3DataEvents, Status: gdtypes.FeatureStatusEnabled, UpdatedAt: &updated},
				{Name: gdtypes.DetectorFeatureResultRuntimeMonitoring, Status: gdtypes.FeatureStatusDisabled},
			},
			Tags: map[string]string{"owner": "secops"},
		}, nil
	}
	fails := func(err error) func(*guardduty.GetDetectorInput) (*guardduty.GetDetectorOutput, error) {
		return func(*guardduty.GetDetectorInput) (*guardduty.GetDetectorOutput, error) { return nil, err }
	}
	tests := []struct {
		name       string
		fake       *fakeGuardDuty
		wantExists bool
		wantErr    error
	}{
		{name: "found", fake: &fakeGuardDuty{getDetector: found}, wantExists: true},
		{name: "bad request and not listed: gone", fake: &fakeGuardDuty{getDetector: fails(notOwned), listed: []string{"aaa", "bbb"}}},
		{name: "bad request and nothing listed: gone", fake: &fakeGuardDuty{getDetector: fails(notOwned)}},
		{
			name:    "bad request but listed (on a later page): the error stands",
			fake:    &fakeGuardDuty{getDetector: fails(notOwned), listed: []string{"aaa", id}},
			wantErr: notOwned,
		},
		{
			name:    "bad request and the list fails: both errors",
			fake:    &fakeGuardDuty{getDetector: fails(notOwned), listErr: denied},
			wantErr: denied,
		},
		{name: "resource not found: gone", fake: &fakeGuardDuty{getDetector: fails(&gdtypes.ResourceNotFoundException{Message: aws.String("gone")})}},
		{name: "access denied is an error", fake: &fakeGuardDuty{getDetector: fails(denied)}, wantErr: denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, tags, exists, err := readDetector(context.Background(), tt.fake, id)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readDetector: %v", err)
			}
			if exists != tt.wantExists {
				t.Fatalf("exists = %v, want %v", exists, tt.wantExists)
			}
			if !exists {
				return
			}
			want := map[string]any{
				"DetectorId": id, "Status": "DISABLED", "FindingPublishingFrequency": "SIX_HOURS",
				"ServiceRole": "arn:aws:iam::123456789012:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty",
				"Features": []any{
					map[string]any{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
					map[string]any{"Name": "RUNTIME_MONITORING", "Status": "DISABLED"},
				},
				"CreatedAt": "2024-09-27T12:00:00.000Z", "UpdatedAt": "2024-09-27T13:00:00.000Z",
			}
			if !reflect.DeepEqual(doc, want) {
				t.Errorf("doc\n%#v\nwant\n%#v", doc, want)
			}
			if !reflect.DeepEqual(tags, map[string]string{"owner": "secops"}) {
				t.Errorf("tags = %v", tags)
			}
		})
	}
}
