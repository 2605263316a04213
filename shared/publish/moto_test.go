package publish_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/publish"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"
)

// envelope is the EventBridge event as an SQS target receives it.
type envelope struct {
	Version    string               `json:"version"`
	ID         string               `json:"id"`
	DetailType string               `json:"detail-type"`
	Source     string               `json:"source"`
	Time       string               `json:"time"`
	Region     string               `json:"region"`
	Resources  []string             `json:"resources"`
	Detail     publish.FindingEvent `json:"detail"`
}

// TestMoto publishes a finding's lifecycle (opened, then resolved) through
// the real Lifecycle to a bus on moto, where a rule matching source
// driftwatch forwards the events to an SQS queue; the test reads them back.
func TestMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)

	const bus = "security-findings"
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatalf("create bus: %v", err)
	}
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("findings")})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("queue ARN: %v", err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("driftwatch-findings"), EventBusName: aws.String(bus),
		EventPattern: aws.String(`{"source": ["driftwatch"], "detail-type": ["driftwatch Finding"]}`)}); err != nil {
		t.Fatalf("put rule: %v", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("driftwatch-findings"), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}}}); err != nil {
		t.Fatalf("put targets: %v", err)
	}

	// The bus is named by its ARN, as the config allows.
	busARN := "arn:aws:events:us-east-1:" + mototest.Account + ":event-bus/" + bus
	pub := publish.New(eb, publish.Options{EventBus: busARN, Rules: rules})
	store, err := sqlite.Open(ctx, sqlite.Memory, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	lc := &finding.Lifecycle{Store: store, Notifiers: []finding.Notifier{pub}}
	ref := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::logs", Account: mototest.Account, Region: "us-east-1"}
	for i, result := range []policy.Result{policy.Fail, policy.Pass} {
		in := finding.Input{
			Change: &change.Change{Cloud: change.AWS, EventID: []string{"open-1", "fix-1"}[i], Time: t0.Add(time.Duration(i) * time.Minute),
				Account: mototest.Account, Region: "us-east-1", Service: "s3.amazonaws.com", Operation: "PutBucketAcl",
				Principal: change.Principal{ARN: "arn:aws:iam::123456789012:user/alice", Type: "IAMUser"},
				SourceIP:  "198.51.100.7", UserAgent: "aws-cli/2"},
			Checks: []finding.Check{{Resource: resource.Resource{Ref: ref, Exists: true}, Verdicts: []policy.Verdict{{
				RuleID: "aws-s3-bucket-public-acl", Severity: "high", Resource: ref, Result: result, Message: "grants READ to AllUsers",
				Rule: rules("aws-s3-bucket-public-acl"),
			}}}},
		}
		if _, err := lc.Apply(ctx, in); err != nil {
			t.Fatalf("apply %s: %v", result, err)
		}
	}

	var got []envelope
	for deadline := time.Now().Add(20 * time.Second); len(got) < 2 && time.Now().Before(deadline); {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		for _, m := range out.Messages {
			var e envelope
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
				t.Fatalf("message is not an EventBridge event: %v\n%s", err, aws.ToString(m.Body))
			}
			got = append(got, e)
		}
	}
	if len(got) != 2 {
		t.Fatalf("received %d events, want 2 (opened, resolved)", len(got))
	}
	slices.SortFunc(got, func(a, b envelope) int { return int(a.Detail.NoticeSeq - b.Detail.NoticeSeq) })
	for i, want := range []struct{ transition, status, event, reason string }{
		{"opened", "open", "open-1", ""},
		{"resolved", "resolved", "fix-1", "fixed"},
	} {
		e := got[i]
		// moto leaves "account" out of the envelope; AWS fills it.
		if e.Source != "driftwatch" || e.DetailType != "driftwatch Finding" || !slices.Equal(e.Resources, []string{"arn:aws:s3:::logs"}) {
			t.Errorf("event %d envelope = source %q, detail-type %q, resources %q", i, e.Source, e.DetailType, e.Resources)
		}
		d := e.Detail
		if d.Transition != want.transition || d.Status != want.status || d.Change.EventID != want.event || d.ResolveReason != want.reason {
			t.Errorf("event %d detail = %s/%s by %s (%q), want %s/%s by %s (%q)", i, d.Transition, d.Status, d.Change.EventID, d.ResolveReason,
				want.transition, want.status, want.event, want.reason)
		}
		if d.Key != "aws/123456789012/arn:aws:s3:::logs/aws-s3-bucket-public-acl" || d.Rule != "aws-s3-bucket-public-acl" ||
			d.Severity != "high" || d.Title == "" || d.Resource.Type != "AWS::S3::Bucket" || d.Resource.Region != "us-east-1" ||
			!slices.Equal(d.CIS, []string{"2.1.4"}) || d.SchemaVersion != "1" || d.Change.PrincipalARN != "arn:aws:iam::123456789012:user/alice" {
			t.Errorf("event %d detail = %+v", i, d)
		}
	}
}
