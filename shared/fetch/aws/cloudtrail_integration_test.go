package aws

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// TestTrailMoto reads trails from moto through the Reader as they are
// created, stopped, weakened and deleted.
func TestTrailMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail-logs-bucket")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	ct := cloudtrail.NewFromConfig(cfg)
	created, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
		Name: aws.String("org-audit"), S3BucketName: aws.String("trail-logs-bucket"),
		IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true),
		KmsKeyId: aws.String("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
		TagsList: []cttypes.Tag{{Key: aws.String("owner"), Value: aws.String("security")}},
	})
	if err != nil {
		t.Fatalf("create trail: %v", err)
	}
	trailARN := aws.ToString(created.TrailARN)
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("org-audit")}); err != nil {
		t.Fatalf("start logging: %v", err)
	}

	r := New(cfg, Options{S3PathStyle: true})
	ref := resource.Ref{Type: "AWS::CloudTrail::Trail", ID: trailARN, Account: mototest.Account, Region: mototest.Region}
	read := func(t *testing.T) resource.Resource {
		t.Helper()
		res, err := r.Read(ctx, ref)
		if err != nil {
			t.Fatalf("read %s: %v", ref, err)
		}
		return res
	}

	t.Run("compliant trail", func(t *testing.T) {
		res := read(t)
		want := map[string]any{
			"Name":                       "org-audit",
			"TrailARN":                   trailARN,
			"HomeRegion":                 "us-east-1",
			"IsLogging":                  true,
			"LatestDeliveryError":        "",
			"IsMultiRegionTrail":         true,
			"IncludeGlobalServiceEvents": true,
			"LogFileValidationEnabled":   true,
			"KMSKeyId":                   "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			"S3BucketName":               "trail-logs-bucket",
			"S3KeyPrefix":                "",
			"SnsTopicARN":                "",
			"CloudWatchLogsLogGroupArn":  "",
			"CloudWatchLogsRoleArn":      "",
			"IsOrganizationTrail":        false,
			"EventSelectors": map[string]any{
				"ManagementEvents": true, "ReadWriteType": "All",
				"ExcludeManagementEventSources": []any{}, "Advanced": false,
			},
		}
		if !res.Exists || !reflect.DeepEqual(res.Doc, want) {
			t.Errorf("exists %v, doc\n%#v\nwant\n%#v", res.Exists, res.Doc, want)
		}
		if res.Tags["owner"] != "security" {
			t.Errorf("tags = %v, want owner=security", res.Tags)
		}
	})

	t.Run("stopped", func(t *testing.T) {
		if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(trailARN)}); err != nil {
			t.Fatalf("stop logging: %v", err)
		}
		if got := read(t).Doc["IsLogging"]; got != false {
			t.Errorf("IsLogging = %v, want false", got)
		}
	})

	t.Run("log file validation off", func(t *testing.T) {
		if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("org-audit"), EnableLogFileValidation: aws.Bool(false)}); err != nil {
			t.Fatalf("update trail: %v", err)
		}
		if got := read(t).Doc["LogFileValidationEnabled"]; got != false {
			t.Errorf("LogFileValidationEnabled = %v, want false", got)
		}
	})

	t.Run("management events off", func(t *testing.T) {
		_, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{
			TrailName: aws.String("org-audit"),
			EventSelectors: []cttypes.EventSelector{{
				IncludeManagementEvents: aws.Bool(false), ReadWriteType: cttypes.ReadWriteTypeReadOnly,
				DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3"}}},
			}},
		})
		if err != nil {
			t.Fatalf("put event selectors: %v", err)
		}
		got := read(t).Doc["EventSelectors"].(map[string]any)
		if got["ManagementEvents"] != false || got["ReadWriteType"] != "" {
			t.Errorf("EventSelectors = %v, want no management events", got)
		}
	})

	t.Run("advanced selectors logging write management events", func(t *testing.T) {
		_, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{
			TrailName: aws.String("org-audit"),
			AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{
				Name: aws.String("write management events"),
				FieldSelectors: []cttypes.AdvancedFieldSelector{
					{Field: aws.String("eventCategory"), Equals: []string{"Management"}},
					{Field: aws.String("readOnly"), Equals: []string{"false"}},
				},
			}},
		})
		if err != nil {
			t.Fatalf("put advanced event selectors: %v", err)
		}
		got := read(t).Doc["EventSelectors"].(map[string]any)
		if got["ManagementEvents"] != true || got["ReadWriteType"] != "WriteOnly" || got["Advanced"] != true {
			t.Errorf("EventSelectors = %v, want advanced WriteOnly management events", got)
		}
	})

	t.Run("read by name in a name-only ref", func(t *testing.T) {
		res, err := r.Read(ctx, resource.Ref{Type: "AWS::CloudTrail::Trail", ID: "org-audit", Region: mototest.Region})
		if err != nil || !res.Exists || res.Doc["TrailARN"] != trailARN {
			t.Errorf("read by name: exists %v, doc %v, err %v", res.Exists, res.Doc, err)
		}
	})

	t.Run("deleted", func(t *testing.T) {
		// By name: moto's DeleteTrail ignores an ARN (a silent no-op).
		if _, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("org-audit")}); err != nil {
			t.Fatalf("delete trail: %v", err)
		}
		if res := read(t); res.Exists || res.Doc != nil {
			t.Errorf("deleted trail: exists %v, doc %v", res.Exists, res.Doc)
		}
	})

	t.Run("never existed", func(t *testing.T) {
		res, err := r.Read(ctx, resource.Ref{Type: "AWS::CloudTrail::Trail", ID: "arn:aws:cloudtrail:us-east-1:123456789012:trail/nope"})
		if err != nil || res.Exists {
			t.Errorf("missing trail: exists %v, err %v", res.Exists, err)
		}
	})
}
