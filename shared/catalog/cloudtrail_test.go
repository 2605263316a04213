package catalog

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
			name: "UpdateTrail with redacted names (StreamAlert sample)",
			rec: `{` + src + `,"eventName":"UpdateTrail","awsRegion":"us-west-2","recipientAccountId":"123456789123",
				"requestParameters":{"name":"...","kmsKeyId":""},"responseElements":{"name":"...","trailARN":"..."}}`,
			noID: true,
		},
		{
			name: "an ARN of something else",
			rec: `{` + src + `,"eventName":"StopLogging","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":{"name":"arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/abc"},"responseElements":null}`,
			noID: true,
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

func TestValidTrailName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"stratus-red-team-ct-stop-trail-buykxbqejv", true},
		{"TEST-trail", true},
		{"a.b_c", true},
		{"abc", true},
		{"ab", false},
		{"...", false},
		{"-trail", false},
		{"trail-", false},
		{"my--trail", false},
		{"my-_trail", false},
		{"my trail", false},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("a", 128), true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := validTrailName(tt.in); got != tt.want {
				t.Errorf("validTrailName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestAuditEntriesOnSampleEvents resolves the CloudTrail, KMS, Config and
// GuardDuty samples of the repository's events/aws directory, decoded by the
// real decoder.
func TestAuditEntriesOnSampleEvents(t *testing.T) {
	tests := []struct {
		file string
		// op picks the record of a multi-record file.
		op   string
		want []resource.Ref
		noID bool
	}{
		{file: "cloudtrail-stop-logging.json", want: []resource.Ref{{Type: cloudtrailTrail,
			ID:      "arn:aws:cloudtrail:apiso-centralnorth-2r:143434273843:trail/stratus-red-team-ct-stop-trail-buykxbqejv",
			Account: "143434273843", Region: "apiso-centralnorth-2r"}}},
		{file: "cloudtrail-log-file-mixed.json", op: "StopLogging", want: []resource.Ref{{Type: cloudtrailTrail,
			ID:      "arn:aws:cloudtrail:apiso-centralnorth-2r:143434273843:trail/stratus-red-team-ct-stop-trail-buykxbqejv",
			Account: "143434273843", Region: "apiso-centralnorth-2r"}}},
		{file: "cloudtrail-delete-trail.json", want: []resource.Ref{{Type: cloudtrailTrail,
			ID:      "arn:aws:cloudtrail:megov-westwest-1r:847129010505:trail/stratus-red-team-cloudtraild-trail-kvrwohmiai",
			Account: "847129010505", Region: "megov-westwest-1r"}}},
		{file: "cloudtrail-put-event-selectors-management-events-off.json", want: []resource.Ref{{Type: cloudtrailTrail,
			ID:      "arn:aws:cloudtrail:cn-northsouth-2r:958312252124:trail/stratus-red-team-ctes-trail-khlvciwdor",
			Account: "958312252124", Region: "cn-northsouth-2r"}}},
		{file: "cloudtrail-update-trail-redacted.json", noID: true},
		{file: "kms-schedule-key-deletion.json", want: []resource.Ref{{Type: kmsKey,
			ID:      "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			Account: "123456789012", Region: "eu-west-1"}}},
		{file: "kms-put-key-policy-public.json", want: []resource.Ref{{Type: kmsKey,
			ID:      "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			Account: "123456789012", Region: "eu-west-1"}}},
		// AWS Config allows any recorder name, "..." included, so the
		// redacted name is taken as it is.
		{file: "config-stop-configuration-recorder-redacted.json", want: []resource.Ref{{Type: configRecorder,
			ID:      "arn:aws:config:us-west-2:123456789123:configuration-recorder/...",
			Account: "123456789123", Region: "us-west-2"}}},
		{file: "guardduty-update-detector-disable.json", noID: true},
	}
	cat := Default()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "events", "aws", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			chs, errs := change.Decode(tt.file, data)
			if len(errs) > 0 {
				t.Fatalf("decode: %v", errs)
			}
			var ch *change.Change
			for i := range chs {
				if tt.op == "" || chs[i].Operation == tt.op {
					ch = &chs[i]
					break
				}
			}
			if ch == nil || tt.op == "" && len(chs) != 1 {
				t.Fatalf("decode: %d changes, none (or not one) to resolve", len(chs))
			}
			watched, err := cat.Resolve(ch)
			if !watched {
				t.Fatalf("%s %s is not watched", ch.Service, ch.Operation)
			}
			if tt.noID {
				if !errors.Is(err, ErrNoID) {
					t.Fatalf("Resolve error = %v (resources %v), want ErrNoID", err, ch.Resources)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !slices.Equal(ch.Resources, tt.want) {
				t.Errorf("resources = %v, want %v", ch.Resources, tt.want)
			}
		})
	}
}
