package ticket_test

import (
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/ticket"
	"github.com/driftwatch/driftwatch/shared/ticket/tickettest"
)

// field returns the value of the named field of the titled section.
func field(b ticket.Body, section, name string) (string, bool) {
	for _, s := range b.Sections {
		if s.Title != section {
			continue
		}
		for _, f := range s.Fields {
			if f.Name == name {
				return f.Value, true
			}
		}
	}
	return "", false
}

func block(b ticket.Body, section string) string {
	for _, s := range b.Sections {
		if s.Title == section {
			return s.Block
		}
	}
	return ""
}

func TestOpenedBody(t *testing.T) {
	f, n := tickettest.Finding(false)
	b := ticket.Opened(f, n, tickettest.SampleRules(), "SEC-7")
	if b.Heading != "[HIGH] S3 bucket ACL grants access to everyone" {
		t.Errorf("heading %q", b.Heading)
	}
	for _, tc := range []struct{ section, name, want string }{
		{"Resource", "Type", "AWS::S3::Bucket"},
		{"Resource", "ID", "arn:aws:s3:::logs-prod"},
		{"Resource", "Account", "123456789012"},
		{"Resource", "Region", "us-east-1"},
		{"Change", "Principal", "arn:aws:sts::123456789012:assumed-role/Admin/alice"},
		{"Change", "Source IP", "203.0.113.7"},
		{"Change", "When", "2025-03-14T09:25:53Z"},
		{"Change", "Operation", "s3.amazonaws.com PutBucketAcl"},
		{"Rule", "Rule", "aws-s3-bucket-public-acl"},
		{"Rule", "CIS AWS Foundations Benchmark v3.0.0", "2.1.4"},
		{"Rule", "Remediation", "s3-remove-public-acl-grants"},
		{"Finding", "Key", f.Key.String()},
		{"Finding", "Label", f.Key.Label()},
		{"Finding", "Previous ticket", "SEC-7"},
	} {
		if got, ok := field(b, tc.section, tc.name); !ok || got != tc.want {
			t.Errorf("%s / %s = %q (present %v), want %q", tc.section, tc.name, got, ok, tc.want)
		}
	}
	if got := block(b, "Request parameters"); !strings.Contains(got, `"x-amz-acl": [`) || !strings.Contains(got, "public-read") {
		t.Errorf("request parameters block %q, want the indented request", got)
	}
	if got := block(b, "Why it fails"); got != f.Message {
		t.Errorf("why it fails = %q, want the verdict message", got)
	}

	// A scan has no change: no Change or Request section.
	scan := n
	scan.Change = finding.Change{}
	for _, s := range ticket.Opened(f, scan, nil, "").Sections {
		if s.Title == "Change" || s.Title == "Request parameters" {
			t.Errorf("scan notice shows a %s section", s.Title)
		}
	}

	// Without rules, the references are left out, not invented.
	b = ticket.Opened(f, n, nil, "")
	if _, ok := field(b, "Rule", "CIS AWS Foundations Benchmark v3.0.0"); ok {
		t.Error("CIS reference shown without a rule lookup")
	}
	if _, ok := field(b, "Finding", "Previous ticket"); ok {
		t.Error("empty previous ticket shown")
	}
}

func TestBodiesCleanHostileValues(t *testing.T) {
	f, n := tickettest.Finding(true)
	g, rn := tickettest.Repeat(f, tickettest.HostilePrincipal+"2")
	nf, nn := tickettest.Note(f, true, "high")
	for name, b := range map[string]ticket.Body{
		"opened":   ticket.Opened(f, n, tickettest.SampleRules(), ""),
		"repeated": ticket.Repeated(g, rn),
		"reopened": ticket.Reopened(f, n),
		"noted":    ticket.Noted(nf, nn),
	} {
		t.Run(name, func(t *testing.T) {
			for _, s := range b.Sections {
				for _, fd := range s.Fields {
					if strings.ContainsAny(fd.Value, "\n\r\u202e\u200b") {
						t.Errorf("%s / %s keeps a control character: %q", s.Title, fd.Name, fd.Value)
					}
				}
				if strings.ContainsAny(s.Block, "\r\u202e") {
					t.Errorf("%s block keeps a control character: %q", s.Title, s.Block)
				}
			}
			if ua, ok := field(b, "Change", "User agent"); ok && !strings.Contains(ua, `\n\n@here`) {
				t.Errorf("user agent %q: newlines should be visible escapes", ua)
			}
		})
	}
}

func TestRepeatedAndResolvedBodies(t *testing.T) {
	f, _ := tickettest.Finding(false)
	same, sn := tickettest.Repeat(f, f.Change.PrincipalARN)
	other, on := tickettest.Repeat(f, "arn:aws:iam::123456789012:user/mallory")
	if b := ticket.Repeated(same, sn); !strings.Contains(b.Intro, "changed again") {
		t.Errorf("repeat intro %q", b.Intro)
	}
	b := ticket.Repeated(other, on)
	if !strings.Contains(b.Intro, "Another principal") {
		t.Errorf("new-principal intro %q", b.Intro)
	}
	if p, _ := field(b, "Change", "Principal"); p != "arn:aws:iam::123456789012:user/mallory" {
		t.Errorf("repeat names principal %q, want the new one", p)
	}
	if c, _ := field(b, "Finding", "Failing changes so far"); c != "2" {
		t.Errorf("count %q, want 2", c)
	}

	for _, tc := range []struct{ reason, intro string }{
		{finding.ReasonFixed, "passes the rule again"},
		{finding.ReasonDeleted, "was deleted"},
	} {
		g, rn := tickettest.Resolve(f, tc.reason)
		b := ticket.Resolved(g, rn)
		if !strings.Contains(b.Intro, tc.intro) {
			t.Errorf("%s: intro %q", tc.reason, b.Intro)
		}
		if r, _ := field(b, "Finding", "Reason"); r != tc.reason {
			t.Errorf("%s: reason field %q", tc.reason, r)
		}
		if p, _ := field(b, "Change", "Principal"); p != rn.Change.PrincipalARN {
			t.Errorf("%s: resolving principal %q", tc.reason, p)
		}
	}
}

func TestNotedBody(t *testing.T) {
	f, _ := tickettest.Finding(false)
	for _, sev := range []string{"", "high"} {
		g, n := tickettest.Note(f, false, sev)
		b := ticket.Noted(g, n)
		var note string
		for _, s := range b.Sections {
			if s.Title == "Note" {
				note = s.Block
			}
		}
		if note != n.Note {
			t.Errorf("note block %q, want the note verbatim %q", note, n.Note)
		}
		got, ok := field(b, "Finding", "Alert severity")
		if ok != (sev != "") || got != sev {
			t.Errorf("severity %q: field %q (present %v)", sev, got, ok)
		}
		if s, _ := field(b, "Finding", "Status"); s != "open" {
			t.Errorf("status field %q", s)
		}
	}
}

func TestTitle(t *testing.T) {
	f, _ := tickettest.Finding(false)
	f.Title, f.Severity = "", ""
	if got := ticket.Title(f); got != "[FINDING] aws-s3-bucket-public-acl" {
		t.Errorf("Title without title and severity = %q", got)
	}
}
