package revert

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// fakeReader is a Reader that answers from a list, one answer per call
// (the last one repeats).
type fakeReader struct {
	answers []fakeRead
	calls   int
}

type fakeRead struct {
	res resource.Resource
	err error
}

var _ Reader = (*fakeReader)(nil)

func (f *fakeReader) Read(_ context.Context, ref resource.Ref) (resource.Resource, error) {
	a := f.answers[min(f.calls, len(f.answers)-1)]
	f.calls++
	a.res.Ref = ref
	return a.res, a.err
}

// fakeRules is an Evaluator whose one rule, "rule", passes when the
// document's "ok" is true.
type fakeRules struct{}

var _ Evaluator = fakeRules{}

func (fakeRules) Evaluate(_ context.Context, in policy.Input) []policy.Verdict {
	v := policy.Verdict{RuleID: "rule", Resource: in.Resource.Ref, Result: policy.Fail, Message: "not ok"}
	if ok, _ := in.Resource.Doc["ok"].(bool); ok {
		v.Result, v.Message = policy.Pass, ""
	}
	return []policy.Verdict{v}
}

// fakeS3 records PutPublicAccessBlock calls and fails when told to.
type fakeS3 struct {
	puts []*s3.PutPublicAccessBlockInput
	err  error
}

var _ s3PublicAccessBlockAPI = (*fakeS3)(nil)

func (f *fakeS3) PutPublicAccessBlock(_ context.Context, in *s3.PutPublicAccessBlockInput, _ ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error) {
	f.puts = append(f.puts, in)
	return &s3.PutPublicAccessBlockOutput{}, f.err
}

func TestParams(t *testing.T) {
	in := &s3.PutPublicAccessBlockInput{Bucket: aws.String("logs"), PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(false)}}
	got := params(in)
	want := map[string]any{"Bucket": "logs", "PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "IgnorePublicAcls": false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("params = %#v, want %#v (unset fields left out, false kept)", got, want)
	}
	c := newCall("s3", "PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "us-east-1", (&fakeS3{}).PutPublicAccessBlock, in)
	if s := c.String(); !strings.HasPrefix(s, `s3:PutPublicAccessBlock {"Bucket":"logs"`) {
		t.Errorf("String() = %s", s)
	}
	b, err := json.Marshal(c)
	if err != nil || !strings.Contains(string(b), `"iam_action":"s3:PutBucketPublicAccessBlock"`) {
		t.Errorf("JSON = %s, %v", b, err)
	}
}

func TestExecute(t *testing.T) {
	ctx := context.Background()
	failing := resource.Resource{Exists: true, Doc: map[string]any{"ok": false}}
	passing := resource.Resource{Exists: true, Doc: map[string]any{"ok": true}}
	readErr := errors.New("throttled")
	bucket := resource.Resource{Ref: resource.Ref{Type: s3BucketType, ID: "arn:aws:s3:::logs"}, Exists: true, Doc: map[string]any{
		"Name": "logs", "PublicAccessBlock": map[string]any{}, "AccountPublicAccessBlock": map[string]any{}}}
	plan := func(t *testing.T, api *fakeS3) Plan {
		t.Helper()
		out, err := planBucketPublicAccessBlock(api, "us-east-1", &target{res: bucket})
		if err != nil || len(out.calls) != 1 {
			t.Fatalf("plan: %v, %d calls", err, len(out.calls))
		}
		return Plan{Action: Action{Name: "s3-enable-public-access-block", Calls: out.calls}, Resource: bucket.Ref, RuleID: "rule"}
	}
	for _, tc := range []struct {
		name       string
		callErr    error
		reads      []fakeRead
		wantStatus Status
		wantErr    bool
		wantReads  int
		wantSleeps []time.Duration
		wantReason string
	}{
		{name: "verified at once", reads: []fakeRead{{res: passing}}, wantStatus: StatusReverted, wantReads: 1},
		{name: "verified on the third read", reads: []fakeRead{{res: failing}, {err: readErr}, {res: passing}},
			wantStatus: StatusReverted, wantReads: 3, wantSleeps: []time.Duration{time.Second, 2 * time.Second}},
		{name: "still failing", reads: []fakeRead{{res: failing}}, wantStatus: StatusVerificationFailed, wantReads: 3,
			wantSleeps: []time.Duration{time.Second, 2 * time.Second}, wantReason: "still gives rule fail: not ok (after 3 re-reads)"},
		{name: "re-read fails", reads: []fakeRead{{err: readErr}}, wantStatus: StatusVerificationFailed, wantReads: 3,
			wantSleeps: []time.Duration{time.Second, 2 * time.Second}, wantReason: "re-read failed: throttled"},
		{name: "deleted meanwhile", reads: []fakeRead{{res: resource.Resource{}}}, wantStatus: StatusVerificationFailed, wantReads: 1,
			wantReason: "no longer exists"},
		{name: "call fails", callErr: errors.New("AccessDenied"), reads: []fakeRead{{res: passing}}, wantStatus: StatusFailed, wantErr: true,
			wantReason: "s3:PutPublicAccessBlock failed: AccessDenied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reader := &fakeReader{answers: tc.reads}
			var sleeps []time.Duration
			r := New(aws.Config{}, reader, fakeRules{}, Options{VerifyAttempts: 3, VerifyDelay: time.Second,
				Sleep: func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil }})
			api := &fakeS3{err: tc.callErr}
			res, err := r.Execute(ctx, plan(t, api))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if res.Status != tc.wantStatus || !strings.Contains(res.Reason, tc.wantReason) {
				t.Errorf("status %s (%s), want %s (%s)", res.Status, res.Reason, tc.wantStatus, tc.wantReason)
			}
			if reader.calls != tc.wantReads || !slices.Equal(sleeps, tc.wantSleeps) {
				t.Errorf("%d reads, sleeps %v; want %d, %v", reader.calls, sleeps, tc.wantReads, tc.wantSleeps)
			}
			if len(api.puts) != 1 || len(res.Calls) != 1 {
				t.Errorf("%d calls made, %d reported; want 1, 1", len(api.puts), len(res.Calls))
			}
		})
	}
	t.Run("unbound call", func(t *testing.T) {
		// A plan that went through JSON has lost its bound calls.
		b, err := json.Marshal(plan(t, &fakeS3{}))
		if err != nil {
			t.Fatal(err)
		}
		var p Plan
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		r := New(aws.Config{}, &fakeReader{answers: []fakeRead{{res: passing}}}, fakeRules{}, Options{})
		if res, err := r.Execute(ctx, p); err == nil || res.Status != StatusFailed {
			t.Errorf("status %s, err %v; want failed", res.Status, err)
		}
	})
	t.Run("no calls", func(t *testing.T) {
		r := New(aws.Config{}, &fakeReader{answers: []fakeRead{{res: passing}}}, fakeRules{}, Options{})
		res, err := r.Execute(ctx, Plan{Reason: "nothing to undo"})
		if err != nil || res.Status != StatusSkipped || res.Reason != "nothing to undo" {
			t.Errorf("status %s (%s), err %v; want skipped with the plan's reason", res.Status, res.Reason, err)
		}
	})
}

func TestPlanErrors(t *testing.T) {
	r := New(aws.Config{}, &fakeReader{}, fakeRules{}, Options{})
	ctx := context.Background()
	bucket := resource.Resource{Ref: resource.Ref{Type: s3BucketType, ID: "arn:aws:s3:::logs"}, Exists: true, Doc: map[string]any{"Name": "logs"}}
	fail := policy.Verdict{RuleID: "aws-s3-bucket-public-access-block", Result: policy.Fail}
	for _, tc := range []struct {
		name string
		rem  string
		res  resource.Resource
		v    policy.Verdict
		want error
	}{
		{"unknown remediation", "s3-make-it-safe", bucket, fail, ErrUnknownRemediation},
		{"wrong resource type", "ec2-make-image-private", bucket, fail, ErrNotApplicable},
		{"passing verdict", "s3-enable-public-access-block", bucket, policy.Verdict{Result: policy.Pass}, ErrNotApplicable},
		{"error verdict", "s3-enable-public-access-block", bucket, policy.Verdict{Result: policy.Error}, ErrNotApplicable},
		{"deleted resource", "s3-enable-public-access-block", resource.Resource{Ref: bucket.Ref}, fail, ErrNotApplicable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := r.Plan(ctx, tc.rem, tc.res, tc.v, nil)
			if !errors.Is(err, tc.want) || len(p.Calls) != 0 {
				t.Errorf("err = %v (calls %d), want %v", err, len(p.Calls), tc.want)
			}
		})
	}
}

// TestRegistryCoversRulePack checks that every remediation a built-in rule
// names exists, applies to the rule's resource types, and that no
// registered remediation is unused.
func TestRegistryCoversRulePack(t *testing.T) {
	rules, err := pack.AWS()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, r := range rules {
		if r.Remediation == "" {
			continue
		}
		used[r.Remediation] = true
		spec, ok := registry()[r.Remediation]
		if !ok {
			t.Errorf("rule %s names remediation %s, which is not registered", r.ID, r.Remediation)
			continue
		}
		for _, typ := range r.ResourceTypes {
			if !slices.Contains(spec.types, typ) {
				t.Errorf("rule %s (%s) names remediation %s, which applies to %v", r.ID, typ, r.Remediation, spec.types)
			}
		}
		if (spec.manual == "") == (spec.plan == nil) {
			t.Errorf("remediation %s must be either manual or planned", r.Remediation)
		}
	}
	for _, n := range Names() {
		// restore-baseline is named by the deployment's own rules of kind
		// baseline: the pack has none (what is approved is the user's).
		if !used[n] && n != RestoreBaseline {
			t.Errorf("remediation %s is registered but no built-in rule names it", n)
		}
	}
	if _, manual := Manual("iam-restore-trust-policy"); !manual {
		t.Error("iam-restore-trust-policy should be manual")
	}
	if _, manual := Manual("s3-enable-public-access-block"); manual {
		t.Error("s3-enable-public-access-block should be automated")
	}
}

func TestDocumentDiff(t *testing.T) {
	before := map[string]any{"Name": "b", "Acl": map[string]any{"Grants": []any{"owner", "logs"}}, "Tags": map[string]any{}}
	for _, tc := range []struct {
		name   string
		after  map[string]any
		ignore []string
		want   []string
	}{
		{"same", map[string]any{"Name": "b", "Acl": map[string]any{"Grants": []any{"owner", "logs"}}, "Tags": map[string]any{}}, nil, nil},
		{"changed leaf", map[string]any{"Name": "c", "Acl": map[string]any{"Grants": []any{"owner", "logs"}}, "Tags": map[string]any{}}, nil,
			[]string{"Name: b → c"}},
		{"list shrank", map[string]any{"Name": "b", "Acl": map[string]any{"Grants": []any{"owner"}}, "Tags": map[string]any{}}, nil,
			[]string{"Acl.Grants.1: logs → (absent)"}},
		{"key added", map[string]any{"Name": "b", "Acl": map[string]any{"Grants": []any{"owner", "logs"}}, "Tags": map[string]any{"k": "v"}}, nil,
			[]string{"Tags.k: (absent) → v", "Tags: map[] → (absent)"}},
		{"ignored subtree", map[string]any{"Name": "b", "Acl": map[string]any{"Grants": []any{}}, "Tags": map[string]any{}}, []string{"Acl"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := documentDiff(before, tc.after, tc.ignore...); !slices.Equal(got, tc.want) {
				t.Errorf("diff = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWithPath(t *testing.T) {
	doc := map[string]any{"Policy": map[string]any{"Statement": []any{"a"}, "Version": "v"}, "Name": "f"}
	got := withPath(doc, "Policy.Statement", []any{"b"})
	if !reflect.DeepEqual(doc["Policy"], map[string]any{"Statement": []any{"a"}, "Version": "v"}) {
		t.Errorf("withPath changed the original: %v", doc)
	}
	want := map[string]any{"Policy": map[string]any{"Statement": []any{"b"}, "Version": "v"}, "Name": "f"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("withPath = %v, want %v", got, want)
	}
}

func TestSplitStatements(t *testing.T) {
	top, stmts, err := splitStatements(`{"Version":"2012-10-17","Statement":{"Sid":"One","Effect":"Allow"}}`)
	if err != nil || len(stmts) != 1 || string(top["Version"]) != `"2012-10-17"` {
		t.Fatalf("split single statement: %v, %d statements, top %v", err, len(stmts), top)
	}
	text, err := joinStatements(top, stmts)
	if err != nil || text != `{"Statement":[{"Sid":"One","Effect":"Allow"}],"Version":"2012-10-17"}` {
		t.Errorf("join = %s, %v", text, err)
	}
	if _, _, err := splitStatements(`not json`); err == nil {
		t.Error("split accepted a broken policy")
	}
}
