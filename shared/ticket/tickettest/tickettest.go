// Package tickettest holds what the tests of the ticket notifiers share:
// sample findings (one ordinary, one whose every event-derived string is
// hostile), a rule lookup, and golden-file comparison with an -update
// flag.
package tickettest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// update rewrites golden files instead of comparing with them:
//
//	go test ./shared/ticket/... -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Golden compares got with the file testdata/name, or rewrites the file
// when the test runs with -update.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// Hostile strings planted in the hostile finding. Tests check that none
// of them reaches a ticket in an active form.
const (
	HostileBucket    = "evil<script>alert(1)</script>@here[link](http://evil.example){{jql}}\"q\\"
	HostilePrincipal = "arn:aws:sts::123456789012:assumed-role/Admin/@channel <!here> \"x\"\\y `z`"
	HostileIssuer    = "arn:aws:iam::123456789012:role/``` @octocat ```"
	HostileUserAgent = "aws-cli/2.15.0\n\n@here [click](http://evil.example) <img src=x onerror=alert(1)>\r\n```\n# heading\u202egnp.exe"
	HostileSourceIP  = "203.0.113.7\u200b<!channel>"
	HostileEventID   = "\"}]}, {\"type\": \"mention\", \"attrs\": {\"id\": \"all\"}}"
	HostileRequest   = `{"bucketName":"evil<script>alert(1)</script>@here","AccessControlPolicy":{"note":"<!channel> [x](http://evil.example) ` + "````" + ` @octocat\n# h"}}`
	HostileMessage   = "Bucket evil<script> grants READ to AllUsers\n```\n@here <b>bold</b> [link](http://evil.example) https://evil.example/x\n~~~\n</code></pre><script>x</script>\n\\` `` ```` end"
)

// Now is the fixed time of the sample findings.
var Now = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// Finding returns a sample open finding of an S3 bucket and the Opened
// notice of its first occurrence. When hostile is set, every string that
// comes from an event or a resource is an injection attempt.
func Finding(hostile bool) (*finding.Finding, finding.Notice) {
	bucket := "logs-prod"
	ch := finding.Change{
		EventID:       "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
		Time:          Now.Add(-time.Minute),
		PrincipalARN:  "arn:aws:sts::123456789012:assumed-role/Admin/alice",
		PrincipalType: "AssumedRole",
		IssuerARN:     "arn:aws:iam::123456789012:role/Admin",
		SourceIP:      "203.0.113.7",
		UserAgent:     "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
		Service:       "s3.amazonaws.com",
		Operation:     "PutBucketAcl",
		Request:       `{"bucketName":"logs-prod","x-amz-acl":["public-read"]}`,
	}
	msg := "Bucket logs-prod grants READ to http://acs.amazonaws.com/groups/global/AllUsers"
	if hostile {
		bucket = HostileBucket
		ch.EventID = HostileEventID
		ch.PrincipalARN = HostilePrincipal
		ch.IssuerARN = HostileIssuer
		ch.SourceIP = HostileSourceIP
		ch.UserAgent = HostileUserAgent
		ch.Request = HostileRequest
		msg = HostileMessage
	}
	ref := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::" + bucket, Account: "123456789012", Region: "us-east-1"}
	key := finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: ref.ID, RuleID: "aws-s3-bucket-public-acl"}
	f := &finding.Finding{
		Key: key, Cloud: "aws", Account: "123456789012", Region: "us-east-1", Resource: ref,
		RuleID: key.RuleID, Severity: policy.SeverityHigh, Title: "S3 bucket ACL grants access to everyone",
		Status: finding.StatusOpen, Message: msg,
		FirstSeen: ch.Time, LastSeen: ch.Time, CheckedAt: Now, Count: 1, Occurrence: 1,
		Change: ch, OpenedBy: ch, Version: 1,
	}
	n := finding.Notice{Seq: 1, Kind: finding.Opened, Occurrence: 1, Change: ch, Message: msg, At: Now}
	return f, n
}

// Repeat returns f after another failing change by principal, and the
// notice of that change (RepeatedNewPrincipal when the principal differs).
func Repeat(f *finding.Finding, principal string) (*finding.Finding, finding.Notice) {
	g := f.Clone()
	ch := g.Change
	ch.EventID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	ch.Time = Now.Add(time.Minute)
	ch.Operation = "PutBucketPolicy"
	kind := finding.Repeated
	if principal != ch.PrincipalARN {
		kind = finding.RepeatedNewPrincipal
		ch.PrincipalARN = principal
	}
	g.Change, g.Count, g.LastSeen = ch, g.Count+1, ch.Time
	return g, finding.Notice{Seq: 2, Kind: kind, Occurrence: g.Occurrence, Change: ch, Message: g.Message, At: ch.Time}
}

// Resolve returns f resolved for reason by a change, and its notice.
func Resolve(f *finding.Finding, reason string) (*finding.Finding, finding.Notice) {
	g := f.Clone()
	ch := g.Change
	ch.EventID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	ch.Time = Now.Add(2 * time.Minute)
	ch.Operation = "PutPublicAccessBlock"
	ch.PrincipalARN = "arn:aws:sts::123456789012:assumed-role/SecOps/bob"
	g.Status, g.ResolveReason, g.ResolvedAt = finding.StatusResolved, reason, ch.Time
	return g, finding.Notice{Seq: 3, Kind: finding.Resolved, Occurrence: g.Occurrence, Change: ch, Reason: reason, At: ch.Time}
}

// HostileNote is a note whose text tries injections (its resource part
// comes from an event).
const HostileNote = "failed: aws-s3-bucket-public-acl on arn:aws:s3:::evil<script>@here [x](http://evil.example) {{jql}}\n" +
	"  s3:PutBucketAcl {\"Bucket\":\"evil<!channel>\"} ```` @octocat\n# heading\u202egnp.exe\n</code></pre><img src=x>"

// Note returns f and the notice of a note about it: a dry-run revert's
// result with its call, or HostileNote when hostile is set. severity is
// the note's alert severity.
func Note(f *finding.Finding, hostile bool, severity string) (*finding.Finding, finding.Notice) {
	text := "would revert aws-s3-bucket-public-acl on " + f.Resource.ID + " with s3-remove-public-acl-grants: removes 1 grant to AllUsers\n" +
		"  s3:PutBucketAcl {\"AccessControlPolicy\":{\"Grants\":[]},\"Bucket\":\"logs-prod\"}"
	if hostile {
		text = HostileNote
	}
	return f.Clone(), finding.Notice{Seq: 2, Kind: finding.Noted, Occurrence: f.Occurrence, Note: text, Severity: severity, At: Now.Add(30 * time.Second)}
}

// Rules is a rule lookup over a fixed set of rules.
type Rules map[string]*policy.Rule

// Rule returns the rule with the ID, or nil.
func (r Rules) Rule(id string) *policy.Rule { return r[id] }

// SampleRules returns the rule of the sample findings, with CIS and
// documentation references.
func SampleRules() Rules {
	return Rules{"aws-s3-bucket-public-acl": {
		ID: "aws-s3-bucket-public-acl", Title: "S3 bucket ACL grants access to everyone", Severity: policy.SeverityHigh,
		References: policy.References{
			CIS:  []string{"2.1.4"},
			URLs: []string{"https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html"},
		},
		Remediation: "s3-remove-public-acl-grants",
	}}
}
