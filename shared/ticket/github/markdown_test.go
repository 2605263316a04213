package github_test

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/ticket"
	"github.com/driftwatch/driftwatch/shared/ticket/github"
	"github.com/driftwatch/driftwatch/shared/ticket/tickettest"
)

// render renders Markdown the way GitHub does closely enough for these
// checks: CommonMark with the GFM extensions, autolinks included, and raw
// HTML left out (goldmark marks where it was).
func render(t *testing.T, md string) string {
	t.Helper()
	var out bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert([]byte(md), &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

var (
	codeRe    = regexp.MustCompile(`(?s)<code[^>]*>(.*?)</code>`)
	headingRe = regexp.MustCompile(`<h[1-6]>(.*?)</h[1-6]>`)
	mentionRe = regexp.MustCompile(`(^|[^\w\x{2060}])@\w`)
)

// checkInert renders md and fails when anything in it is active outside
// code: a link, raw HTML, a mention, or a heading that is not one of want.
func checkInert(t *testing.T, md string, wantHeadings []string) {
	t.Helper()
	out := render(t, md)
	if strings.Contains(out, "<a ") {
		t.Errorf("rendered Markdown holds a link:\n%s", out)
	}
	if strings.Contains(out, "raw HTML omitted") {
		t.Errorf("Markdown holds raw HTML outside code:\n%s", out)
	}
	outside := codeRe.ReplaceAllString(out, "")
	if m := mentionRe.FindString(html.UnescapeString(outside)); m != "" {
		t.Errorf("a mention %q outside code:\n%s", m, out)
	}
	for _, bad := range []string{"<script", "<img", "<b>"} {
		if strings.Contains(out, bad) {
			t.Errorf("rendered Markdown holds %s:\n%s", bad, out)
		}
	}
	var headings []string
	for _, m := range headingRe.FindAllStringSubmatch(out, -1) {
		headings = append(headings, html.UnescapeString(m[1]))
	}
	if strings.Join(headings, "|") != strings.Join(wantHeadings, "|") {
		t.Errorf("headings %q, want %q", headings, wantHeadings)
	}
}

// codeTexts returns the text of every code span and block of md, rendered.
func codeTexts(t *testing.T, md string) []string {
	var out []string
	for _, m := range codeRe.FindAllStringSubmatch(render(t, md), -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// TestGoldenMarkdown checks issue titles and bodies and comments against
// testdata/*.md; run with -update to rewrite them.
func TestGoldenMarkdown(t *testing.T) {
	for _, hostile := range []bool{false, true} {
		suffix := ""
		if hostile {
			suffix = "-hostile"
		}
		f, n := tickettest.Finding(hostile)
		rep, rn := tickettest.Repeat(f, "arn:aws:iam::123456789012:user/mallory")
		res, sn := tickettest.Resolve(f, finding.ReasonFixed)
		nf, nn := tickettest.Note(f, hostile, "high")
		for _, tc := range []struct {
			name     string
			md       string
			headings []string
		}{
			{"opened", "# " + github.Title(f) + "\n\n" + github.Markdown(ticket.Opened(f, n, tickettest.SampleRules(), "")),
				[]string{"[HIGH] S3 bucket ACL grants access to everyone on " + f.Resource.ID,
					"[HIGH] S3 bucket ACL grants access to everyone", "Resource", "Change", "Request parameters", "Why it fails", "Rule", "Finding"}},
			{"repeated", github.Markdown(ticket.Repeated(rep, rn)), []string{"Change", "Request parameters", "Why it fails", "Finding"}},
			{"resolved", github.Markdown(ticket.Resolved(res, sn)), []string{"Change", "Request parameters", "Finding"}},
			{"noted", github.Markdown(ticket.Noted(nf, nn)), []string{"Note", "Finding"}},
		} {
			t.Run(tc.name+suffix, func(t *testing.T) {
				tickettest.Golden(t, tc.name+suffix+".md", []byte(tc.md))
				if tc.name == "opened" {
					// The title line is rendered as a heading here; its code
					// span shows as plain text in the heading's text.
					tc.headings[0] = strings.Replace(tc.headings[0], " on ", " on <code>", 1) + "</code>"
				}
				checkInert(t, tc.md, tc.headings)
			})
		}
	}
}

// TestHostileValuesShownLiterally: each hostile value comes back, exactly
// as ticket.Line or ticket.Block made it, as the text of one code span or
// block, so no delimiter trickery split or closed it early.
func TestHostileValuesShownLiterally(t *testing.T) {
	f, n := tickettest.Finding(true)
	md := github.Markdown(ticket.Opened(f, n, nil, ""))
	codes := codeTexts(t, md)
	has := func(s string) bool {
		for _, c := range codes {
			if c == s || c == s+"\n" {
				return true
			}
		}
		return false
	}
	for _, v := range []string{
		"arn:aws:s3:::" + tickettest.HostileBucket,
		tickettest.HostilePrincipal,
		tickettest.HostileIssuer,
		tickettest.HostileUserAgent,
		tickettest.HostileSourceIP,
		tickettest.HostileEventID,
	} {
		if want := ticket.Line(v, ticket.MaxValue); !has(want) {
			t.Errorf("value %q is not one code span; code texts: %q", want, codes)
		}
	}
	if want := ticket.Block(tickettest.HostileMessage, ticket.MaxBlock); !has(want) {
		t.Errorf("message %q is not one code block; code texts: %q", want, codes)
	}
	var req strings.Builder
	for _, c := range codes {
		if strings.Contains(c, `"AccessControlPolicy"`) {
			req.WriteString(c)
		}
	}
	if !strings.Contains(req.String(), "<!channel> [x](http://evil.example) ```` @octocat\\n# h") {
		t.Errorf("request parameters not shown literally in one code block: %q", req.String())
	}
	title := github.Title(f)
	if strings.ContainsAny(title, "\n\r") {
		t.Errorf("title spans lines: %q", title)
	}
}

func TestCodeSpanEdges(t *testing.T) {
	for _, v := range []string{"`", "``x``", "` a `", "a`b``c```d", "  both  ", " lead", "trail ", "|pipe|", "\\", "*x*"} {
		md := "- **V:** " + github.Markdown(ticket.Body{Sections: []ticket.Section{{Title: "S", Fields: []ticket.Field{{Name: "V", Value: v}}}}})
		codes := codeTexts(t, md)
		if len(codes) != 1 || codes[0] != v {
			t.Errorf("value %q rendered as code %q", v, codes)
		}
	}
}

func TestEscapeTextMentions(t *testing.T) {
	b := ticket.Body{Heading: "Rule by @octocat <b>x</b> [l](/x)", Intro: "see _this_ & `that`"}
	md := github.Markdown(b)
	checkInert(t, md, []string{"Rule by @\u2060octocat <b>x</b> [l](/x)"})
	if strings.Contains(render(t, md), "<em>") || strings.Contains(render(t, md), "<code>") {
		t.Errorf("escaped text still formats:\n%s", render(t, md))
	}
}
