package aws

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// TestRecorderMoto reads an AWS Config recorder from moto through the Reader
// as it is created, started, narrowed, stopped and deleted.
func TestRecorderMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cs := configservice.NewFromConfig(cfg)
	r := New(cfg, Options{S3PathStyle: true})
	ref := resource.Ref{
		Type: "AWS::Config::ConfigurationRecorder", ID: "arn:aws:config:us-east-1:123456789012:configuration-recorder/default",
		Account: mototest.Account, Region: mototest.Region,
	}
	read := func(t *testing.T) resource.Resource {
		t.Helper()
		res, err := r.Read(ctx, ref)
		if err != nil {
			t.Fatalf("read %s: %v", ref, err)
		}
		return res
	}

	t.Run("no recorder yet", func(t *testing.T) {
		if res := read(t); res.Exists {
			t.Errorf("missing recorder exists: %v", res.Doc)
		}
	})

	const role = "arn:aws:iam::123456789012:role/aws-config"
	putRecorder := func(t *testing.T, group *cfgtypes.RecordingGroup) {
		t.Helper()
		_, err := cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{
			ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{Name: aws.String("default"), RoleARN: aws.String(role), RecordingGroup: group},
		})
		if err != nil {
			t.Fatalf("put configuration recorder: %v", err)
		}
	}
	putRecorder(t, &cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true})
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("config-history")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	if _, err := cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{
		DeliveryChannel: &cfgtypes.DeliveryChannel{Name: aws.String("default"), S3BucketName: aws.String("config-history")},
	}); err != nil {
		t.Fatalf("put delivery channel: %v", err)
	}
	if _, err := cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatalf("start recorder: %v", err)
	}

	t.Run("recording everything", func(t *testing.T) {
		res := read(t)
		want := map[string]any{
			"Name": "default", "RoleARN": role, "ServicePrincipal": "", "Recording": true,
			"LastErrorCode": "", "AllSupported": true, "IncludeGlobalResourceTypes": true,
			"RecordingStrategy": "ALL_SUPPORTED_RESOURCE_TYPES", "ResourceTypes": []any{}, "ExcludedResourceTypes": []any{},
		}
		if !res.Exists {
			t.Fatal("recorder does not exist")
		}
		for k, v := range want {
			if !reflect.DeepEqual(res.Doc[k], v) {
				t.Errorf("%s = %#v, want %#v", k, res.Doc[k], v)
			}
		}
		// moto reports "PENDING" where AWS says "Pending"; either way a string.
		for _, k := range []string{"Arn", "LastStatus", "RecordingFrequency"} {
			if _, ok := res.Doc[k].(string); !ok {
				t.Errorf("%s = %#v, want a string", k, res.Doc[k])
			}
		}
	})

	t.Run("stopped", func(t *testing.T) {
		if _, err := cs.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
			t.Fatalf("stop recorder: %v", err)
		}
		if got := read(t).Doc["Recording"]; got != false {
			t.Errorf("Recording = %v, want false", got)
		}
	})

	t.Run("narrowed to some types", func(t *testing.T) {
		putRecorder(t, &cfgtypes.RecordingGroup{
			ResourceTypes:     []cfgtypes.ResourceType{cfgtypes.ResourceTypeInstance},
			RecordingStrategy: &cfgtypes.RecordingStrategy{UseOnly: cfgtypes.RecordingStrategyTypeInclusionByResourceTypes},
		})
		doc := read(t).Doc
		if doc["AllSupported"] != false || !reflect.DeepEqual(doc["ResourceTypes"], []any{"AWS::EC2::Instance"}) ||
			doc["RecordingStrategy"] != "INCLUSION_BY_RESOURCE_TYPES" {
			t.Errorf("AllSupported = %v, ResourceTypes = %v, RecordingStrategy = %v", doc["AllSupported"], doc["ResourceTypes"], doc["RecordingStrategy"])
		}
	})

	t.Run("deleted", func(t *testing.T) {
		if _, err := cs.DeleteConfigurationRecorder(ctx, &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
			t.Fatalf("delete recorder: %v", err)
		}
		if res := read(t); res.Exists {
			t.Errorf("deleted recorder exists: %v", res.Doc)
		}
	})
}

func TestRecorderName(t *testing.T) {
	tests := []struct {
		id, want string
		wantErr  bool
	}{
		{id: "arn:aws:config:us-east-1:123456789012:configuration-recorder/default", want: "default"},
		{id: "arn:aws:config:us-east-1:123456789012:configuration-recorder/default/abcd1234", want: "default"},
		{id: "arn:aws:config:us-east-1:123456789012:config-rule/default", wantErr: true},
		{id: "arn:aws:config:us-east-1:123456789012:configuration-recorder/", wantErr: true},
		{id: "default", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := recorderName(tt.id)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("recorderName(%q) = %q, %v; want %q, error %v", tt.id, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
