package exception_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/exception"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"
)

const (
	acct      = "123456789012"
	bucketARN = "arn:aws:s3:::public-site-assets"
	ruleACL   = "aws-s3-bucket-public-acl"
	alice     = "arn:aws:iam::123456789012:user/alice"
	tfRole    = "arn:aws:iam::123456789012:role/terraform-ci"
	tfSession = "arn:aws:sts::123456789012:assumed-role/terraform-ci/build-42"
)

// findingBy returns a failing finding of rule on the bucket whose latest
// change was made by principal (and issuer, for a session).
func findingBy(rule, principal, issuer string) *finding.Finding {
	ref := resource.Ref{Type: "AWS::S3::Bucket", ID: bucketARN, Account: acct}
	return &finding.Finding{
		Key:      finding.Key{Cloud: "aws", Account: acct, ResourceID: bucketARN, RuleID: rule},
		Resource: ref, RuleID: rule, Status: finding.StatusOpen,
		Change: finding.Change{EventID: "e1", PrincipalARN: principal, IssuerARN: issuer},
	}
}

func TestCheck(t *testing.T) {
	siteException := config.Exception{
		Rule: ruleACL, Resource: "arn:aws:s3:::public-site-*",
		Reason: "static website", Approver: "jane@example.com", Expires: config.MustDate("2026-06-30"),
	}
	breakGlass := config.Exception{
		Rule: "aws-s3-*", Resource: bucketARN, Principal: "arn:aws:iam::123456789012:role/break-glass",
		Reason: "incident INC-7", Approver: "secops", Expires: config.MustDate("2026-06-30"),
	}
	tfAllow := config.Allow{Principal: "arn:aws:iam::123456789012:role/terraform-*", Reason: "reviewed plans", Rules: []config.Glob{"aws-s3-*"}}
	before := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	lastInstant := time.Date(2026, 6, 30, 23, 59, 59, 999999999, time.UTC)
	expiry := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

	tests := []struct {
		name       string
		exceptions []config.Exception
		allow      []config.Allow
		tagWaivers config.TagWaivers
		now        time.Time
		f          *finding.Finding
		tags       map[string]string
		want       string // "" = not waived
	}{
		{"exception matches", []config.Exception{siteException}, nil, config.TagWaivers{}, before,
			findingBy(ruleACL, alice, ""), nil, "exception: static website (approved by jane@example.com until 2026-06-30)"},
		{"exception holds through its last day", []config.Exception{siteException}, nil, config.TagWaivers{}, lastInstant,
			findingBy(ruleACL, alice, ""), nil, "exception: static website (approved by jane@example.com until 2026-06-30)"},
		{"exception expired at midnight UTC", []config.Exception{siteException}, nil, config.TagWaivers{}, expiry,
			findingBy(ruleACL, alice, ""), nil, ""},
		{"expiry is UTC whatever the clock's zone", []config.Exception{siteException}, nil, config.TagWaivers{}, expiry.In(time.FixedZone("UTC-10", -10*3600)),
			findingBy(ruleACL, alice, ""), nil, ""},
		{"other rule", []config.Exception{siteException}, nil, config.TagWaivers{}, before,
			findingBy("aws-s3-bucket-public-policy", alice, ""), nil, ""},
		{"other resource", []config.Exception{{Rule: ruleACL, Resource: "arn:aws:s3:::other", Reason: "r", Approver: "a", Expires: config.MustDate("2026-06-30")}},
			nil, config.TagWaivers{}, before, findingBy(ruleACL, alice, ""), nil, ""},
		{"principal exception, caller matches", []config.Exception{breakGlass}, nil, config.TagWaivers{}, before,
			findingBy(ruleACL, "arn:aws:iam::123456789012:role/break-glass", ""), nil, "exception: incident INC-7 (approved by secops until 2026-06-30)"},
		{"principal exception, role behind the session matches", []config.Exception{breakGlass}, nil, config.TagWaivers{}, before,
			findingBy(ruleACL, "arn:aws:sts::123456789012:assumed-role/break-glass/me", "arn:aws:iam::123456789012:role/break-glass"), nil,
			"exception: incident INC-7 (approved by secops until 2026-06-30)"},
		{"principal exception, someone else", []config.Exception{breakGlass}, nil, config.TagWaivers{}, before,
			findingBy(ruleACL, alice, ""), nil, ""},
		{"principal exception, scan without a change", []config.Exception{breakGlass}, nil, config.TagWaivers{}, before,
			findingBy(ruleACL, "", ""), nil, ""},
		{"allowlisted session", nil, []config.Allow{tfAllow}, config.TagWaivers{}, before,
			findingBy(ruleACL, tfSession, tfRole), nil, "allowlisted principal " + tfRole + ": reviewed plans"},
		{"allowlist limited to other rules", nil, []config.Allow{tfAllow}, config.TagWaivers{}, before,
			findingBy("aws-iam-role-trust-public", tfSession, tfRole), nil, ""},
		{"allowlist entry for every rule", nil, []config.Allow{{Principal: tfRole, Reason: "ci"}}, config.TagWaivers{}, before,
			findingBy("aws-iam-role-trust-public", tfRole, ""), nil, "allowlisted principal " + tfRole + ": ci"},
		{"allowlist, other principal", nil, []config.Allow{tfAllow}, config.TagWaivers{}, before,
			findingBy(ruleACL, alice, ""), nil, ""},
		{"exception wins over allowlist", []config.Exception{siteException}, []config.Allow{tfAllow}, config.TagWaivers{}, before,
			findingBy(ruleACL, tfRole, ""), nil, "exception: static website (approved by jane@example.com until 2026-06-30)"},
		{"tag ignored when tag waivers are off", nil, nil, config.TagWaivers{Key: "driftwatch:waive"}, before,
			findingBy(ruleACL, alice, ""), map[string]string{"driftwatch:waive": "*"}, ""},
		{"tag waives every rule", nil, nil, config.TagWaivers{Enabled: true}, before,
			findingBy(ruleACL, alice, ""), map[string]string{"driftwatch:waive": "*"}, "resource tag driftwatch:waive=*"},
		{"tag lists the rule", nil, nil, config.TagWaivers{Enabled: true}, before,
			findingBy(ruleACL, alice, ""), map[string]string{"driftwatch:waive": "aws-s3-bucket-versioning " + ruleACL},
			"resource tag driftwatch:waive=aws-s3-bucket-versioning " + ruleACL},
		{"tag list with commas", nil, nil, config.TagWaivers{Enabled: true}, before,
			findingBy(ruleACL, alice, ""), map[string]string{"driftwatch:waive": "x," + ruleACL}, "resource tag driftwatch:waive=x," + ruleACL},
		{"tag lists other rules", nil, nil, config.TagWaivers{Enabled: true}, before,
			findingBy(ruleACL, alice, ""), map[string]string{"driftwatch:waive": "aws-s3-bucket-public-acl-v2 aws-s3-*"}, ""},
		{"custom tag key", nil, nil, config.TagWaivers{Enabled: true, Key: "security:waive"}, before,
			findingBy(ruleACL, alice, ""), map[string]string{"driftwatch:waive": "*", "security:waive": ruleACL}, "resource tag security:waive=" + ruleACL},
		{"nothing configured", nil, nil, config.TagWaivers{}, before, findingBy(ruleACL, alice, ""), nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := exception.New(tc.exceptions, tc.allow, tc.tagWaivers)
			if err != nil {
				t.Fatal(err)
			}
			w.Now = func() time.Time { return tc.now }
			reason, waived := w.Check(tc.f, tc.tags)
			if waived != (tc.want != "") || reason != tc.want {
				t.Errorf("Check = %q, %v; want %q", reason, waived, tc.want)
			}
			if tc.tags == nil {
				r2, w2, err := w.Waive(context.Background(), tc.f)
				if err != nil || r2 != reason || w2 != waived {
					t.Errorf("Waive = %q, %v, %v; want Check's answer", r2, w2, err)
				}
			}
		})
	}
}

func TestNewRejectsBadEntries(t *testing.T) {
	tests := []struct {
		name       string
		exceptions []config.Exception
		allow      []config.Allow
		want       string
	}{
		{"blank resource", []config.Exception{{Rule: "r", Reason: "x", Approver: "a", Expires: config.MustDate("2030-01-01")}}, nil, "exceptions[0].resource: required"},
		{"no expiry", []config.Exception{{Rule: "r", Resource: "x", Reason: "x", Approver: "a"}}, nil, "exceptions[0].expires: required"},
		{"no approver", []config.Exception{{Rule: "r", Resource: "x", Reason: "x", Expires: config.MustDate("2030-01-01")}}, nil, "exceptions[0].approver: required"},
		{"allowlist without reason", nil, []config.Allow{{Principal: tfRole}}, "allowlist[0].reason: required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := exception.New(tc.exceptions, tc.allow, config.TagWaivers{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// recorder is a Notifier that records what it is told.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

var _ finding.Notifier = (*recorder)(nil)

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) add(n finding.Notice) (finding.Refs, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s %s", n.Kind, n.Change.EventID))
	return finding.Refs{}, nil
}

func (r *recorder) Opened(_ context.Context, _ *finding.Finding, n finding.Notice) (finding.Refs, error) {
	return r.add(n)
}

func (r *recorder) Repeated(_ context.Context, _ *finding.Finding, n finding.Notice) (finding.Refs, error) {
	return r.add(n)
}

func (r *recorder) Resolved(_ context.Context, _ *finding.Finding, n finding.Notice) (finding.Refs, error) {
	return r.add(n)
}

// TestLifecycle runs the Waiver inside the real finding lifecycle: waived
// findings are stored as suppressed and not announced; once the exception
// expires, the next failing check opens the finding; an allowlisted
// principal's change is suppressed but a later change by someone else
// opens it; a waiver tag on the resource suppresses until it is removed.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	ref := resource.Ref{Type: "AWS::S3::Bucket", ID: bucketARN, Account: acct, Region: "us-east-1"}
	day := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

	type step struct {
		event string
		hours int // after day
		who   string
		tags  map[string]string
		// wantKind is the transition; wantStatus and wantReason the
		// finding after it.
		wantKind   finding.Kind
		wantStatus finding.Status
		wantReason string
	}
	tests := []struct {
		name  string
		cfg   string
		steps []step
		want  []string // notifier calls
	}{
		{"exception expires", `
exceptions:
  - {rule: aws-s3-*, resource: "arn:aws:s3:::public-site-*", reason: website, approver: jane, expires: 2026-06-30}
`, []step{
			{"e1", 0, alice, nil, finding.Suppressed, finding.StatusSuppressed, "exception: website (approved by jane until 2026-06-30)"},
			{"e2", 11, alice, nil, finding.Repeated, finding.StatusSuppressed, "exception: website (approved by jane until 2026-06-30)"},
			{"e3", 12, alice, nil, finding.Opened, finding.StatusOpen, ""},
			{"e4", 13, alice, nil, finding.Repeated, finding.StatusOpen, ""},
		}, []string{"opened e3", "repeated e4"}},
		{"allowlisted principal", `
allowlist:
  - {principal: "arn:aws:iam::123456789012:role/terraform-*", reason: reviewed plans}
`, []step{
			{"e1", 0, tfRole, nil, finding.Suppressed, finding.StatusSuppressed, "allowlisted principal " + tfRole + ": reviewed plans"},
			{"e2", 1, alice, nil, finding.Opened, finding.StatusOpen, ""},
		}, []string{"opened e2"}},
		{"waiver tag", `
tag_waivers: {enabled: true}
`, []step{
			{"e1", 0, alice, map[string]string{"driftwatch:waive": ruleACL}, finding.Suppressed, finding.StatusSuppressed, "resource tag driftwatch:waive=" + ruleACL},
			{"e2", 1, alice, map[string]string{}, finding.Opened, finding.StatusOpen, ""},
		}, []string{"opened e2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("driftwatch.yaml", []byte(tc.cfg))
			if err != nil {
				t.Fatal(err)
			}
			w, err := exception.FromConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			store, err := sqlite.Open(ctx, sqlite.Memory, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			rec := &recorder{}
			var now time.Time
			clock := func() time.Time { return now }
			w.Now = clock
			base := finding.Lifecycle{Store: store, Notifiers: []finding.Notifier{rec}, Now: clock}
			for _, s := range tc.steps {
				now = day.Add(time.Duration(s.hours) * time.Hour)
				in := finding.Input{
					Change: &change.Change{Cloud: change.AWS, EventID: s.event, Time: now, Account: acct, Region: "us-east-1",
						Principal: change.Principal{ARN: s.who}},
					Checks: []finding.Check{{
						Resource: resource.Resource{Ref: ref, Exists: true, Tags: s.tags},
						Verdicts: []policy.Verdict{{RuleID: ruleACL, Severity: "high", Resource: ref, Result: policy.Fail, Message: "public"}},
					}},
				}
				lc := base
				lc.Waiver = w
				trs, err := lc.Apply(ctx, in)
				if err != nil {
					t.Fatalf("%s: Apply: %v", s.event, err)
				}
				if len(trs) != 1 || trs[0].Finding == nil {
					t.Fatalf("%s: transitions %+v", s.event, trs)
				}
				f := trs[0].Finding
				if trs[0].Kind != s.wantKind || f.Status != s.wantStatus || f.SuppressReason != s.wantReason {
					t.Errorf("%s: %s, status %s, reason %q; want %s, %s, %q", s.event, trs[0].Kind, f.Status, f.SuppressReason,
						s.wantKind, s.wantStatus, s.wantReason)
				}
			}
			if got := strings.Join(rec.calls, "; "); got != strings.Join(tc.want, "; ") {
				t.Errorf("announced %q, want %q", got, strings.Join(tc.want, "; "))
			}
		})
	}
}
