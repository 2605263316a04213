package catalog

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// auditRecord is the part of a CloudTrail record that the CloudTrail, KMS,
// Config and GuardDuty rows read.
type auditRecord struct {
	EventSource        string                 `json:"eventSource"`
	EventName          string                 `json:"eventName"`
	AWSRegion          string                 `json:"awsRegion"`
	RecipientAccountID string                 `json:"recipientAccountId"`
	RequestParameters  json.RawMessage        `json:"requestParameters"`
	ResponseElements   json.RawMessage        `json:"responseElements"`
	Resources          []change.EventResource `json:"resources"`
}

// auditChange builds the change a CloudTrail record decodes to (only the
// fields the catalog reads).
func auditChange(t *testing.T, rec string) *change.Change {
	t.Helper()
	var r auditRecord
	if err := json.Unmarshal([]byte(rec), &r); err != nil {
		t.Fatalf("decode test record: %v", err)
	}
	return &change.Change{
		Cloud: change.AWS, Account: r.RecipientAccountID, Region: r.AWSRegion,
		Service: r.EventSource, Operation: r.EventName,
		RequestJSON: r.RequestParameters, ResponseJSON: r.ResponseElements,
		EventResources: r.Resources, Raw: json.RawMessage(rec),
	}
}

// auditCase is one record and the resources the catalog must find in it.
type auditCase struct {
	name string
	rec  string
	want []resource.Ref
	// noID is true when the row must fail with ErrNoID.
	noID bool
}

// runAuditCases resolves each record through the default catalog.
func runAuditCases(t *testing.T, tests []auditCase) {
	t.Helper()
	cat := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := auditChange(t, tt.rec)
			watched, err := cat.Resolve(c)
			if !watched {
				t.Fatalf("%s %s is not watched", c.Service, c.Operation)
			}
			if tt.noID {
				if !errors.Is(err, ErrNoID) {
					t.Fatalf("Resolve error = %v, want ErrNoID; resources %v", err, c.Resources)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			want := slices.Clone(tt.want)
			for i := range want {
				want[i].Account, want[i].Region = c.Account, c.Region
			}
			if !slices.Equal(c.Resources, want) {
				t.Errorf("resources = %v\nwant        %v", c.Resources, want)
			}
		})
	}
}

func TestCloudTrailEntries(t *testing.T) {
	const src = `"eventSource":"cloudtrail.amazonaws.com"`
	runAuditCases(t, []auditCase{
		{
			name: "StopLogging by name (stratus cloudtrail-stop, anonymized region)",
			rec: `{` + src + `,"eventName":"StopLogging","awsRegion":"apiso-centralnorth-2r","recipientAccountId":"143434273843",
				"requestParameters":{"name":"stratus-red-team-ct-stop-trail-buykxbqejv"},"responseElements":null}`,
			want: []resource.Ref{{Type: cloudtrailTrail, ID: "arn:aws:cloudtrail:apiso-centralnorth-2r:143434273843:trail/stratus-red-team-ct-stop-trail-buykxbqejv"}},
		},
		{
			name: "StopLogging by ARN keeps the ARN",
			rec: `{` + src + `,"eventName":"StopLogging","awsRegion":"us-west-2","recipientAccountId":"123456789012",
				"requestParameters":{"name":"arn:aws:cloudtrail:us-west-2:123456789012:trail/main"},"responseElements":null}`,
			want: []resource.Ref{{Type: cloudtrailTrail, ID: "arn:aws:cloudtrail:us-west-2:123456789012:trail/main"}},
		},
		{
			name: "StartLogging in GovCloud",
			rec: `{` + src + `,"eventName":"StartLogging","awsRegion":"us-gov-west-1","recipientAccountId":"123456789012",
				"requestParameters":{"name":"org"},"responseElements":null}`,
			want: []resource.Ref{{Type: cloudtrailTrail, ID: "arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:trail/org"}},
		},
		{
			name: "DeleteTrail",
			rec: `{` + src + `,"eventName":"DeleteTrail","awsRegion":"eu-west-1","recipientAccountId":"847129010505",
				"requestParameters":{"name":"stratus-red-team-cloudtraild-trail-kvrwohmiai"},"responseElements":null}`,
			want: []resource.Ref{{Type: cloudtrailTrail, ID: "arn:aws:cloudtrail:eu-west-1:847129010505:trail/stratus-red-team-cloudtraild-trail-kvrwohmiai"}},
		},
		{
			name: "UpdateTrail prefers the response's trailARN (request name is an ARN, console)",
			rec: `{` + src + `,"eventName":"UpdateTrail","awsRegion":"us-west-2","recipientAccountId":"0123456789012",
				"requestParameters":{"name":"arn:aws:cloudtrail:us-west-2:0123456789012:trail/TEST-trail","s3BucketName":"test-cloudtrail-bucket",
				"isMultiRegionTrail":true,"enableLogFileValidation":false,"kmsKeyId":""},
				"responseElements":{"name":"TEST-trail","trailARN":"arn:aws:cloudtrail:us-west-2:0123456789012:trail/TEST-trail","logFileValidationEnabled":false}}`,
			want: []resource.Ref{{Type: cloudtrailTrail, ID: "arn:aws:cloudtrail:us-west-2:0123456789012:trail/TEST-trail"}},
		},
		{
			name: "UpdateTrail with a null response falls back to the request name",
			rec: `{` + src + `,"eventName":"UpdateTrail","awsRegion":"us-east-2","recipientAccountId":"123456789012",
				"requestParameters":{"name":"myTrail2"},"responseElements":null}`,
			want: []resource.Ref{{Type: cloudtrailTrail, ID: "arn:aws:cloudtrail:us-east-2:123456789012:trail/myTrail2"}},
		},
		{
			name: "CreateTrail",
			rec: `{` + src + `,"eventName":"CreateTrail","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":{"name":"main","s3BucketName":"logs","isMultiRegionTrail":true},
				"responseElements":{"name":"main","s3BucketName":"logs","trailARN":"arn:aws:cloudtrail:us-east-1:123456789012:trail/main"}}`,
			want: []resource.Ref{{Type: cloudtrailTrail, ID: "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"}},
		},
		{
			name: "PutEventSelectors management events off (stratus cloudtrail-event-selectors)",
			rec: `{` + src + `,"eventName":"PutEventSelectors","awsRegion":"cn-northsouth-2r","recipientAccountId":"958312252124",
				"requestParameters":{"eventSelectors":[{"dataResources":[{"type":"AWS::S3::Object","values":[]}],
				"excludeManagementEventSources":[],"includeManagementEvents":false,"readWriteType":"ReadOnly"}],
				"trailName":"stratus-red-team-ctes-trail-khlvciwdor"},
				"responseElements":{"trailARN":"arn:aws:cloudtrail:cn-northsouth-2r:958312252124:trail/stratus-red-team-ctes-trail-khlvciwdor"}}`,
			want: []resource.Ref{{Type: cloudtrailTrail, ID: "arn:aws:cloudtrail:cn-northsouth-2r:958312252124:trail/stratus-red-team-ctes-trail-khlvciwdor"}},
		},
		{
			name: "PutEventSelectors without response builds the ARN from trailName in aws-cn",
			rec: `{` + src + `,"eventName":"PutEventSelectors","awsRegion":"cn-north-1","recipientAccountId":"123456789012",
				"requestParameters":{"trailName":"main","advancedEventSelectors":[]},"responseElements":null}`,
			want: []resource.Ref{{Type: cloudtrailTrail, ID: "arn:aws-cn:cloudtrail:cn-north-1:123456789012:trail/main"}},
		},
		{
			name: "StopLogging without a name",
			rec: `{` + src + `,"eventName":"StopLogging","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":{},"responseElements":null}`,
			noID: true,
		},
		{
			name: "DeleteTrail with null request",
			rec: `{` + src + `,"eventName":"DeleteTrail","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":null,"responseElements":null}`,
			noID: true,
		},
	})
}
