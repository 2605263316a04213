package policy

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/iampolicy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// bucketDoc is an S3 bucket document of the shape the S3 fetcher writes.
func bucketDoc() map[string]any {
	return map[string]any{
		"Name":         "logs-prod",
		"Arn":          "arn:aws:s3:::logs-prod",
		"Region":       "eu-west-1",
		"CreationDate": "2023-04-01T10:00:00Z",
		"Acl": map[string]any{
			"Owner": map[string]any{"ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "DisplayName": "ops"},
			"Grants": []any{
				map[string]any{"Grantee": map[string]any{"Type": "CanonicalUser", "ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "URI": "", "DisplayName": "ops"}, "Permission": "FULL_CONTROL"},
				map[string]any{"Grantee": map[string]any{"Type": "Group", "ID": "", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery", "DisplayName": ""}, "Permission": "WRITE"},
			},
		},
		"PublicAccessBlock": map[string]any{
			"Configured": true, "BlockPublicAcls": true, "IgnorePublicAcls": true,
			"BlockPublicPolicy": true, "RestrictPublicBuckets": true,
		},
		"Policy": iampolicy.MustNormalize(`{"Version":"2012-10-17","Statement":[
			{"Sid":"AllowCloudTrail","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject",
			 "Resource":"arn:aws:s3:::logs-prod/AWSLogs/123456789012/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control","aws:SourceArn":"arn:aws:cloudtrail:eu-west-1:123456789012:trail/main"}}},
			{"Sid":"AllowReadFromVpce","Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:ListBucket"],
			 "Resource":["arn:aws:s3:::logs-prod","arn:aws:s3:::logs-prod/*"],"Condition":{"StringEquals":{"aws:SourceVpce":"vpce-0abc"}}},
			{"Sid":"DenyHTTP","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::logs-prod","arn:aws:s3:::logs-prod/*"],
			 "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`),
		"Versioning": map[string]any{"Status": "Enabled", "MFADelete": "Disabled"},
		"Encryption": map[string]any{
			"Rules": []any{map[string]any{"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:eu-west-1:123456789012:key/1", "BucketKeyEnabled": true}},
		},
		"Logging":           map[string]any{"Enabled": true, "TargetBucket": "access-logs", "TargetPrefix": "logs-prod/"},
		"OwnershipControls": map[string]any{"ObjectOwnership": "BucketOwnerEnforced"},
		"Lifecycle":         map[string]any{"Rules": []any{}},
	}
}

func benchEngine(b *testing.B) *Engine {
	b.Helper()
	data, err := os.ReadFile("testdata/s3.rules.yaml")
	if err != nil {
		b.Fatal(err)
	}
	rules, err := ParseRules("testdata/s3.rules.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	e, err := Compile(rules)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// reportPercentiles records p50 and p99 of per-iteration durations.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkEvaluate evaluates a realistic bucket document against six
// rules; p50-ns is the figure to hold under 20 µs.
func BenchmarkEvaluate(b *testing.B) {
	e := benchEngine(b)
	in := Input{Resource: resource.Resource{
		Ref:    resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::logs-prod", Account: "123456789012", Region: "eu-west-1"},
		Exists: true,
		Doc:    bucketDoc(),
		Tags:   map[string]string{"Owner": "ops", "env": "prod"},
	}}
	ctx := context.Background()
	for _, v := range e.Evaluate(ctx, in) {
		if v.Result != Pass {
			b.Fatalf("%s: %s %s", v.RuleID, v.Result, v.Message)
		}
	}
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		vs := e.Evaluate(ctx, in)
		durations = append(durations, time.Since(start))
		if len(vs) != 6 {
			b.Fatalf("got %d verdicts", len(vs))
		}
	}
	b.StopTimer()
	reportPercentiles(b, durations)
}

// BenchmarkEvaluateFailing is BenchmarkEvaluate with every rule failing,
// so that messages are rendered.
func BenchmarkEvaluateFailing(b *testing.B) {
	e := benchEngine(b)
	doc := bucketDoc()
	doc["Acl"].(map[string]any)["Grants"] = append(doc["Acl"].(map[string]any)["Grants"].([]any),
		map[string]any{"Grantee": map[string]any{"Type": "Group", "ID": "", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"})
	doc["Policy"] = iampolicy.MustNormalize(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}}`)
	doc["PublicAccessBlock"].(map[string]any)["BlockPublicAcls"] = false
	doc["Versioning"] = map[string]any{"Status": "Suspended", "MFADelete": "Disabled"}
	doc["Encryption"] = map[string]any{"Rules": []any{map[string]any{"SSEAlgorithm": "AES256"}}}
	in := Input{Resource: resource.Resource{
		Ref:    resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::logs-prod"},
		Exists: true,
		Doc:    doc,
	}}
	ctx := context.Background()
	for _, v := range e.Evaluate(ctx, in) {
		if v.Result != Fail {
			b.Fatalf("%s: %s %s", v.RuleID, v.Result, v.Message)
		}
	}
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		e.Evaluate(ctx, in)
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, durations)
}

// BenchmarkCompile compiles the six test rules (the CEL environment is
// built once per process and excluded).
func BenchmarkCompile(b *testing.B) {
	data, err := os.ReadFile("testdata/s3.rules.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := baseEnv(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rules, err := ParseRules("testdata/s3.rules.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(rules); err != nil {
			b.Fatal(err)
		}
	}
}
