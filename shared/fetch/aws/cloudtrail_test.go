package aws

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
)

// fakeCloudTrail is a cloudtrailAPI whose answers the test chooses.
type fakeCloudTrail struct {
	getTrail          func(*cloudtrail.GetTrailInput) (*cloudtrail.GetTrailOutput, error)
	getTrailStatus    func(*cloudtrail.GetTrailStatusInput) (*cloudtrail.GetTrailStatusOutput, error)
	getEventSelectors func(*cloudtrail.GetEventSelectorsInput) (*cloudtrail.GetEventSelectorsOutput, error)
	listTags          func(*cloudtrail.ListTagsInput) (*cloudtrail.ListTagsOutput, error)
}

var _ cloudtrailAPI = (*fakeCloudTrail)(nil)

func (f *fakeCloudTrail) GetTrail(_ context.Context, in *cloudtrail.GetTrailInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailOutput, error) {
	return f.getTrail(in)
}

func (f *fakeCloudTrail) GetTrailStatus(_ context.Context, in *cloudtrail.GetTrailStatusInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error) {
	return f.getTrailStatus(in)
}

func (f *fakeCloudTrail) GetEventSelectors(_ context.Context, in *cloudtrail.GetEventSelectorsInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error) {
	return f.getEventSelectors(in)
}

func (f *fakeCloudTrail) ListTags(_ context.Context, in *cloudtrail.ListTagsInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.ListTagsOutput, error) {
	return f.listTags(in)
}

const testTrailARN = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/main"

// healthyCloudTrail answers for a logging, multi-region trail whose home is
// eu-west-1, tagged over two pages.
func healthyCloudTrail() *fakeCloudTrail {
	return &fakeCloudTrail{
		getTrail: func(in *cloudtrail.GetTrailInput) (*cloudtrail.GetTrailOutput, error) {
			return &cloudtrail.GetTrailOutput{Trail: &cttypes.Trail{
				Name: aws.String("main"), TrailARN: aws.String(testTrailARN), HomeRegion: aws.String("eu-west-1"),
				IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(true),
				LogFileValidationEnabled: aws.Bool(true), KmsKeyId: aws.String("arn:aws:kms:eu-west-1:123456789012:key/k"),
				S3BucketName: aws.String("logs"), CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:eu-west-1:123456789012:log-group:ct:*"),
				IsOrganizationTrail: aws.Bool(true),
			}}, nil
		},
		getTrailStatus: func(*cloudtrail.GetTrailStatusInput) (*cloudtrail.GetTrailStatusOutput, error) {
			return &cloudtrail.GetTrailStatusOutput{IsLogging: aws.Bool(true), LatestDeliveryError: aws.String("AccessDenied")}, nil
		},
		getEventSelectors: func(*cloudtrail.GetEventSelectorsInput) (*cloudtrail.GetEventSelectorsOutput, error) {
			return &cloudtrail.GetEventSelectorsOutput{EventSelectors: []cttypes.EventSelector{{
				IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeAll,
			}}}, nil
		},
		listTags: func(in *cloudtrail.ListTagsInput) (*cloudtrail.ListTagsOutput, error) {
			if in.NextToken == nil {
				return &cloudtrail.ListTagsOutput{NextToken: aws.String("p2"), ResourceTagList: []cttypes.ResourceTag{{
					ResourceId: aws.String(testTrailARN), TagsList: []cttypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}},
				}}}, nil
			}
			return &cloudtrail.ListTagsOutput{ResourceTagList: []cttypes.ResourceTag{{
				ResourceId: aws.String(testTrailARN), TagsList: []cttypes.Tag{{Key: aws.String("b"), Value: aws.String("2")}},
			}}}, nil
		},
	}
}

func TestReadTrail(t *testing.T) {
	notFound := &cttypes.TrailNotFoundException{Message: aws.String("Unknown trail")}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}
	tests := []struct {
		name       string
		edit       func(*fakeCloudTrail)
		wantExists bool
		wantErr    error
		check      func(t *testing.T, doc map[string]any, tags map[string]string)
	}{
		{
			name:       "healthy trail",
			wantExists: true,
			check: func(t *testing.T, doc map[string]any, tags map[string]string) {
				want := map[string]any{
					"Name": "main", "TrailARN": testTrailARN, "HomeRegion": "eu-west-1", "IsLogging": true,
					"LatestDeliveryError": "AccessDenied", "IsMultiRegionTrail": true, "IncludeGlobalServiceEvents": true,
					"LogFileValidationEnabled": true, "KMSKeyId": "arn:aws:kms:eu-west-1:123456789012:key/k",
					"S3BucketName": "logs", "S3KeyPrefix": "", "SnsTopicARN": "",
					"CloudWatchLogsLogGroupArn": "arn:aws:logs:eu-west-1:123456789012:log-group:ct:*", "CloudWatchLogsRoleArn": "",
					"IsOrganizationTrail": true,
					"EventSelectors": map[string]any{"ManagementEvents": true, "ReadWriteType": "All",
						"ExcludeManagementEventSources": []any{}, "Advanced": false},
				}
				if !reflect.DeepEqual(doc, want) {
					t.Errorf("doc\n%#v\nwant\n%#v", doc, want)
				}
				if !reflect.DeepEqual(tags, map[string]string{"a": "1", "b": "2"}) {
					t.Errorf("tags = %v, want both pages", tags)
				}
			},
		},
		{
			name: "home region defaults to the region read",
			edit: func(f *fakeCloudTrail) {
				get := f.getTrail
				f.getTrail = func(in *cloudtrail.GetTrailInput) (*cloudtrail.GetTrailOutput, error) {
					out, _ := get(in)
					out.Trail.HomeRegion = nil
					return out, nil
				}
			},
			wantExists: true,
			check: func(t *testing.T, doc map[string]any, _ map[string]string) {
				if doc["HomeRegion"] != "us-west-2" {
					t.Errorf("HomeRegion = %v, want the client's region us-west-2", doc["HomeRegion"])
				}
			},
		},
		{
			name: "trail not found",
			edit: func(f *fakeCloudTrail) {
				f.getTrail = func(*cloudtrail.GetTrailInput) (*cloudtrail.GetTrailOutput, error) { return nil, notFound }
			},
		},
		{
			name: "trail deleted between calls",
			edit: func(f *fakeCloudTrail) {
				f.getEventSelectors = func(*cloudtrail.GetEventSelectorsInput) (*cloudtrail.GetEventSelectorsOutput, error) {
					return nil, notFound
				}
			},
		},
		{
			name: "status denied is an error",
			edit: func(f *fakeCloudTrail) {
				f.getTrailStatus = func(*cloudtrail.GetTrailStatusInput) (*cloudtrail.GetTrailStatusOutput, error) { return nil, denied }
			},
			wantErr: denied,
		},
		{
			name: "tags denied is an error",
			edit: func(f *fakeCloudTrail) {
				f.listTags = func(*cloudtrail.ListTagsInput) (*cloudtrail.ListTagsOutput, error) { return nil, denied }
			},
			wantErr: denied,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := healthyCloudTrail()
			if tt.edit != nil {
				tt.edit(f)
			}
			doc, tags, exists, err := readTrail(context.Background(), f, testTrailARN, "us-west-2")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readTrail: %v", err)
			}
			if exists != tt.wantExists {
				t.Fatalf("exists = %v, want %v", exists, tt.wantExists)
			}
			if tt.check != nil {
				tt.check(t, doc, tags)
			}
		})
	}
}

func TestManagementSelection(t *testing.T) {
	field := func(name string, equals, notEquals []string) cttypes.AdvancedFieldSelector {
		return cttypes.AdvancedFieldSelector{Field: aws.String(name), Equals: equals, NotEquals: notEquals}
	}
	management := field("eventCategory", []string{"Management"}, nil)
	data := field("eventCategory", []string{"Data"}, nil)
	tests := []struct {
		name      string
		out       cloudtrail.GetEventSelectorsOutput
		hasCustom bool
		want      map[string]any
	}{
		{
			name: "no selectors ever set: CloudTrail's default",
			want: map[string]any{"ManagementEvents": true, "ReadWriteType": "All", "ExcludeManagementEventSources": []any{}, "Advanced": false},
		},
		{
			name:      "custom selectors that select nothing",
			hasCustom: true,
			want:      map[string]any{"ManagementEvents": false, "ReadWriteType": "", "ExcludeManagementEventSources": []any{}, "Advanced": false},
		},
		{
			name: "management events off, data events only (stratus cloudtrail-event-selectors)",
			out: cloudtrail.GetEventSelectorsOutput{EventSelectors: []cttypes.EventSelector{{
				IncludeManagementEvents: aws.Bool(false), ReadWriteType: cttypes.ReadWriteTypeReadOnly,
				DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{}}},
			}}},
			hasCustom: true,
			want:      map[string]any{"ManagementEvents": false, "ReadWriteType": "", "ExcludeManagementEventSources": []any{}, "Advanced": false},
		},
		{
			name: "read-only management events",
			out: cloudtrail.GetEventSelectorsOutput{EventSelectors: []cttypes.EventSelector{{
				IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeReadOnly,
			}}},
			hasCustom: true,
			want:      map[string]any{"ManagementEvents": true, "ReadWriteType": "ReadOnly", "ExcludeManagementEventSources": []any{}, "Advanced": false},
		},
		{
			name: "a ReadOnly and a WriteOnly selector add up to All; exclusions intersect",
			out: cloudtrail.GetEventSelectorsOutput{EventSelectors: []cttypes.EventSelector{
				{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeReadOnly,
					ExcludeManagementEventSources: []string{"kms.amazonaws.com", "rdsdata.amazonaws.com"}},
				{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeWriteOnly,
					ExcludeManagementEventSources: []string{"kms.amazonaws.com"}},
			}},
			hasCustom: true,
			want: map[string]any{"ManagementEvents": true, "ReadWriteType": "All",
				"ExcludeManagementEventSources": []any{"kms.amazonaws.com"}, "Advanced": false},
		},
		{
			name: "advanced: write management events without KMS",
			out: cloudtrail.GetEventSelectorsOutput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{
				{FieldSelectors: []cttypes.AdvancedFieldSelector{management, field("readOnly", []string{"false"}, nil),
					field("eventSource", nil, []string{"kms.amazonaws.com"})}},
				{FieldSelectors: []cttypes.AdvancedFieldSelector{data, field("resources.type", []string{"AWS::S3::Object"}, nil)}},
			}},
			hasCustom: true,
			want: map[string]any{"ManagementEvents": true, "ReadWriteType": "WriteOnly",
				"ExcludeManagementEventSources": []any{"kms.amazonaws.com"}, "Advanced": true},
		},
		{
			name: "advanced: readOnly NotEquals false means reads only",
			out: cloudtrail.GetEventSelectorsOutput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{
				{FieldSelectors: []cttypes.AdvancedFieldSelector{management, field("readOnly", nil, []string{"false"})}},
			}},
			hasCustom: true,
			want:      map[string]any{"ManagementEvents": true, "ReadWriteType": "ReadOnly", "ExcludeManagementEventSources": []any{}, "Advanced": true},
		},
		{
			name: "advanced: all management events",
			out: cloudtrail.GetEventSelectorsOutput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{
				{FieldSelectors: []cttypes.AdvancedFieldSelector{management}},
			}},
			hasCustom: true,
			want:      map[string]any{"ManagementEvents": true, "ReadWriteType": "All", "ExcludeManagementEventSources": []any{}, "Advanced": true},
		},
		{
			name: "advanced: data events only",
			out: cloudtrail.GetEventSelectorsOutput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{
				{FieldSelectors: []cttypes.AdvancedFieldSelector{data}},
			}},
			hasCustom: true,
			want:      map[string]any{"ManagementEvents": false, "ReadWriteType": "", "ExcludeManagementEventSources": []any{}, "Advanced": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := managementSelection(&tt.out, tt.hasCustom)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}
