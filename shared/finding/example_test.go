package finding_test

import (
	"context"
	"fmt"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"
)

// printer is a Notifier that prints what it would announce.
type printer struct{}

func (printer) Name() string { return "console" }

func (printer) Opened(_ context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	fmt.Printf("OPEN %s on %s by %s (label %s)\n", f.RuleID, f.Resource.ID, n.Change.PrincipalARN, f.Key.Label())
	return finding.Refs{}, nil
}

func (printer) Repeated(_ context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	fmt.Printf("%s %s, %d changes so far\n", n.Kind, f.RuleID, f.Count)
	return finding.Refs{}, nil
}

func (printer) Resolved(_ context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	fmt.Printf("RESOLVED %s (%s)\n", f.RuleID, n.Reason)
	return finding.Refs{}, nil
}

func ExampleLifecycle_Apply() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Memory, sqlite.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	lc := &finding.Lifecycle{Store: store, Notifiers: []finding.Notifier{printer{}}}

	bucket := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::logs", Account: "123456789012"}
	changed := func(eventID, who string, result policy.Result) finding.Input {
		return finding.Input{
			Change: &change.Change{Cloud: change.AWS, EventID: eventID, Time: time.Now(), Account: "123456789012",
				Principal: change.Principal{ARN: who}},
			Checks: []finding.Check{{
				Resource: resource.Resource{Ref: bucket, Exists: true},
				Verdicts: []policy.Verdict{{RuleID: "aws-s3-bucket-public-acl", Resource: bucket, Result: result}},
			}},
		}
	}
	for _, in := range []finding.Input{
		changed("e1", "arn:aws:iam::123456789012:user/alice", policy.Fail),
		changed("e1", "arn:aws:iam::123456789012:user/alice", policy.Fail), // delivered twice
		changed("e2", "arn:aws:iam::123456789012:user/bob", policy.Fail),
		changed("e3", "arn:aws:iam::123456789012:user/bob", policy.Pass),
	} {
		if seen, _ := lc.Seen(ctx, in.Change.EventID); seen {
			fmt.Println("skip", in.Change.EventID)
			continue
		}
		if _, err := lc.Apply(ctx, in); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// OPEN aws-s3-bucket-public-acl on arn:aws:s3:::logs by arn:aws:iam::123456789012:user/alice (label dw-87dc2048e05edc6d)
	// skip e1
	// repeated_new_principal aws-s3-bucket-public-acl, 2 changes so far
	// RESOLVED aws-s3-bucket-public-acl (fixed)
}
