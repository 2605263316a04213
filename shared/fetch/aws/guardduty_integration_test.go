package aws

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// TestDetectorMoto reads a GuardDuty detector from moto through the Reader as
// it is suspended and deleted, and checks that a missing detector (which
// GuardDuty reports as a BadRequestException) reads as gone.
func TestDetectorMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gd := guardduty.NewFromConfig(cfg)
	created, err := gd.CreateDetector(ctx, &guardduty.CreateDetectorInput{
		Enable: aws.Bool(true), FindingPublishingFrequency: "FIFTEEN_MINUTES", Tags: map[string]string{"owner": "secops"},
	})
	if err != nil {
		t.Fatalf("create detector: %v", err)
	}
	id := aws.ToString(created.DetectorId)
	r := New(cfg, Options{})
	ref := resource.Ref{Type: "AWS::GuardDuty::Detector", ID: "arn:aws:guardduty:us-east-1:123456789012:detector/" + id,
		Account: mototest.Account, Region: mototest.Region}
	read := func(t *testing.T, ref resource.Ref) resource.Resource {
		t.Helper()
		res, err := r.Read(ctx, ref)
		if err != nil {
			t.Fatalf("read %s: %v", ref, err)
		}
		return res
	}

	t.Run("enabled", func(t *testing.T) {
		res := read(t, ref)
		want := map[string]any{
			"DetectorId": id, "Status": "ENABLED", "FindingPublishingFrequency": "FIFTEEN_MINUTES",
			"ServiceRole": "arn:aws:iam::123456789012:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty",
			"Features":    []any{},
		}
		if !res.Exists {
			t.Fatal("detector does not exist")
		}
		for k, v := range want {
			if !reflect.DeepEqual(res.Doc[k], v) {
				t.Errorf("%s = %#v, want %#v", k, res.Doc[k], v)
			}
		}
		if res.Doc["CreatedAt"] == "" {
			t.Error("CreatedAt is empty")
		}
		if res.Tags["owner"] != "secops" {
			t.Errorf("tags = %v, want owner=secops", res.Tags)
		}
	})

	t.Run("suspended", func(t *testing.T) {
		if _, err := gd.UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(id), Enable: aws.Bool(false)}); err != nil {
			t.Fatalf("update detector: %v", err)
		}
		if got := read(t, ref).Doc["Status"]; got != "DISABLED" {
			t.Errorf("Status = %v, want DISABLED", got)
		}
	})

	t.Run("deleted", func(t *testing.T) {
		if _, err := gd.DeleteDetector(ctx, &guardduty.DeleteDetectorInput{DetectorId: aws.String(id)}); err != nil {
			t.Fatalf("delete detector: %v", err)
		}
		if res := read(t, ref); res.Exists {
			t.Errorf("deleted detector exists: %v", res.Doc)
		}
	})

	t.Run("another detector still listed", func(t *testing.T) {
		other, err := gd.CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
		if err != nil {
			t.Fatalf("create detector: %v", err)
		}
		res := read(t, resource.Ref{Type: "AWS::GuardDuty::Detector", ID: "arn:aws:guardduty:us-east-1:123456789012:detector/" + aws.ToString(other.DetectorId)})
		if !res.Exists || res.Doc["Status"] != "ENABLED" {
			t.Errorf("exists %v, doc %v", res.Exists, res.Doc)
		}
	})
}
