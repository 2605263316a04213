package security

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/lambdahandler"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/slack/slackfake"
	"github.com/driftwatch/driftwatch/shared/ticket/jira/jirafake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The hostile change: every value a CloudTrail record carries that reaches
// a notification tries to mention everyone, link elsewhere, inject markup
// or HTML, break out of code, start new lines, reorder text or overflow.
const (
	hostileBucket  = "dw-hostile_Evil.bucket" // a bucket name must be a valid one to name a resource
	hostileRole    = "dw-<!here>-Role"
	hostileSession = "sess<!channel>@here](http://evil.example/x)<script>alert(1)</script>`id`\n\u202Eexe.txt\u200B"
	hostileEventID = "e7f0<!here>-`id`-](http://evil.example)\n<@U0BADBAD>"
	hostileIP      = "203.0.113.7, <!everyone> ](http://evil.example) ```\x1b[31mred"
	hostileMention = "<@U0BADBAD>"
	// tailMarker ends the long user agent: truncation must cut it off.
	tailMarker = "TAIL-MARKER-7d3e"
)

var (
	hostileAgent = "aws-cli/2.17 <script>alert(1)</script> `whoami` ```sh``` @here <!channel> " + hostileMention +
		" [click](http://evil.example) *bold* _it_ ~x~ :skull: \u202Eevil\u200B\r\nX-Injected: 1 " + strings.Repeat("A", 4000) + tailMarker
	hostilePolicy = map[string]any{
		"Version": "2012-10-17",
		"Id":      "<!channel>",
		"Statement": []any{map[string]any{
			"Sid":       "Pub<!here>@channel`x`](http://evil.example)<script>",
			"Effect":    "Allow",
			"Principal": "*",
			"Action":    "s3:GetObject",
			"Resource":  "arn:aws:s3:::" + hostileBucket + "/*",
			"Condition": map[string]any{"StringLike": map[string]any{"aws:UserAgent": "<!channel>\n\u202E`" + hostileMention}},
		}},
	}
)

// hostileRecord is the CloudTrail record of the PutBucketPolicy call that
// made the bucket public, with hostile values in every field that is not
// needed to find the bucket.
func hostileRecord(t *testing.T, bucket, eventID string) []byte {
	t.Helper()
	rec := map[string]any{
		"eventVersion": "1.09",
		"userIdentity": map[string]any{
			"type":        "AssumedRole<!here>",
			"principalId": "AROA<!channel>:" + hostileSession,
			"arn":         "arn:aws:sts::123456789012:assumed-role/" + hostileRole + "/" + hostileSession,
			"accountId":   mototest.Account,
			"accessKeyId": "ASIA<!here>`k`",
			"sessionContext": map[string]any{
				"sessionIssuer": map[string]any{
					"type": "Role", "principalId": "AROA<!channel>",
					"arn":       "arn:aws:iam::123456789012:role/<!subteam^S0ADMINS>/" + hostileRole,
					"accountId": mototest.Account,
					"userName":  hostileRole,
				},
				"attributes": map[string]any{"creationDate": "2026-11-28T09:00:00Z", "mfaAuthenticated": "false"},
			},
			"invokedBy": "<!channel>.amazonaws.com",
		},
		"eventTime":       "2026-11-28T09:58:00Z",
		"eventSource":     "s3.amazonaws.com",
		"eventName":       "PutBucketPolicy",
		"awsRegion":       mototest.Region,
		"sourceIPAddress": hostileIP,
		"userAgent":       hostileAgent,
		"requestParameters": map[string]any{
			"bucketName":       bucket,
			"bucketPolicy":     hostilePolicy,
			"host":             []string{"s3.amazonaws.com"},
			"policy":           []string{""},
			"note<!channel>":   "[click](http://evil.example) <script>x</script> ```\n@here " + hostileMention,
			"zz-long\u202Ekey": strings.Repeat("B", 6000) + tailMarker, // last; the whole stays below finding.MaxRequest
			"nested`<!here>`":  map[string]any{"a\nb": []any{"<!everyone>", "](http://evil.example)"}},
		},
		"responseElements":   nil,
		"requestID":          "REQ<!here>",
		"eventID":            eventID,
		"readOnly":           false,
		"resources":          []any{map[string]any{"ARN": "arn:aws:s3:::<!channel>", "type": "AWS::S3::Bucket"}},
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": mototest.Account,
		"eventCategory":      "Management",
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (go test -update writes it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it, if the change is intended):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestHostileChangeArrivesInert makes a bucket public in moto and feeds the
// detector Lambda's handler the CloudTrail record of the change, whose
// every other field is hostile (see hostileRecord). The Slack message, the
// Jira issue and the GitHub issue that arrive at the fake servers are
// compared with golden files and checked to be inert: nothing in them
// mentions, links, renders HTML, breaks out of code, starts a line,
// reorders text or exceeds the system's limits. A record whose bucket name
// is itself hostile notifies nothing (the catalog refuses the name; the
// bucket its resources[] names does not exist).
func TestHostileChangeArrivesInert(t *testing.T) {
	ctx := background(t)
	awsCfg, err := moto.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	api := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err = api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(hostileBucket)})
	var ae smithy.APIError
	if err != nil && !(errors.As(err, &ae) && ae.ErrorCode() == "BucketAlreadyOwnedByYou") {
		t.Fatalf("create bucket: %v", err)
	}
	doc, _ := json.Marshal(hostilePolicy)
	if _, err := api.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(hostileBucket), Policy: aws.String(string(doc))}); err != nil {
		t.Fatalf("put bucket policy: %v", err)
	}

	const slackToken, jiraToken, ghToken = "xoxb-hostile-test", "jira-hostile-test", "ghp_hostile_test"
	t.Setenv("DW_SEC_HOSTILE_SLACK", slackToken)
	t.Setenv("DW_SEC_HOSTILE_JIRA", jiraToken)
	t.Setenv("DW_SEC_HOSTILE_GITHUB", ghToken)
	sl := slackfake.Start(t, slackToken)
	jf := jirafake.Start(t, jirafake.Options{Email: jiraEmail, Token: jiraToken, Projects: []string{jiraProject}})
	gh := startGitHub(t, ghToken)
	nc := notifierConfig{
		store: filepath.Join(t.TempDir(), "findings.db"), slackTokenEnv: "DW_SEC_HOSTILE_SLACK",
		jiraURL: jf.URL(), jiraTokenEnv: "DW_SEC_HOSTILE_JIRA", ghURL: gh.BaseURL(), ghTokenEnv: "DW_SEC_HOSTILE_GITHUB",
	}
	cfg, err := config.Parse("driftwatch.yaml", []byte(nc.yaml()))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	built, err := pipeline.Build(ctx, pipeline.Options{Config: cfg, AWS: awsCfg, S3PathStyle: true,
		Sinks: pipeline.Sinks{Slack: true, Jira: true, GitHub: true}, SlackAPIURL: sl.APIURL()})
	if err != nil {
		t.Fatalf("build pipeline: %v", err)
	}
	t.Cleanup(func() { _ = built.Close() })
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	built.Pipeline.Now, built.Lifecycle.Now = fixedClock(now), fixedClock(now)
	h := &lambdahandler.Handler{Pipeline: built.Pipeline}

	t.Run("hostile bucket name", func(t *testing.T) {
		h.Batch(ctx, sqsBatch(eventBridge(hostileRecord(t, "dw<!channel>`x`](http://evil.example)", "e7f0-bucket"+hostileEventID))))
		if len(sl.Requests()) != 0 || len(jf.Requests()) != 0 || len(gh.Requests()) != 0 {
			t.Errorf("%d Slack, %d Jira, %d GitHub requests; want nothing sent", len(sl.Requests()), len(jf.Requests()), len(gh.Requests()))
		}
	})

	if resp := h.Batch(ctx, sqsBatch(eventBridge(hostileRecord(t, hostileBucket, hostileEventID)))); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("the hostile change failed: %+v", resp)
	}

	t.Run("slack", func(t *testing.T) {
		posts := sl.RequestsTo("/api/chat.postMessage")
		if len(posts) != 1 {
			t.Fatalf("%d Slack posts, want 1", len(posts))
		}
		msg := map[string]any{"channel": posts[0].Channel, "text": posts[0].Text}
		var blocks any
		if err := json.Unmarshal(posts[0].Blocks, &blocks); err != nil {
			t.Fatalf("blocks %q: %v", posts[0].Blocks, err)
		}
		msg["blocks"] = blocks
		got := indentJSON(t, msg)
		golden(t, "hostile-slack.golden.json", got)
		checkSlackInert(t, msg)
	})
	t.Run("jira", func(t *testing.T) {
		var create []byte
		for _, r := range jf.Requests() {
			if r.Call() == "POST /rest/api/3/issue" {
				create = r.Body
			}
		}
		if create == nil {
			t.Fatalf("no issue created; requests: %v", jf.Requests())
		}
		var issue map[string]any
		if err := json.Unmarshal(create, &issue); err != nil {
			t.Fatalf("create body %q: %v", create, err)
		}
		golden(t, "hostile-jira.golden.json", indentJSON(t, issue))
		checkJiraInert(t, issue, len(create))
	})
	t.Run("github", func(t *testing.T) {
		issues := gh.Issues()
		if len(issues) != 1 {
			t.Fatalf("%d GitHub issues, want 1; requests %v", len(issues), gh.Requests())
		}
		is := issues[0]
		golden(t, "hostile-github.golden.md", []byte("# "+is.Title+"\n\n"+is.Body))
		checkMarkdownInert(t, "title", is.Title)
		checkMarkdownInert(t, "body", is.Body)
		if n := utf8.RuneCountInString(is.Body); n > 65536 {
			t.Errorf("body of %d characters; GitHub takes 65,536", n)
		}
	})
}

func indentJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hiddenRunes are characters that can disguise or reorder text: controls
// but newline, bidirectional controls, zero-width characters.
var hiddenRunes = regexp.MustCompile("[\x00-\x09\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

// consoleLink is the one Slack control sequence driftwatch writes itself.
var consoleLink = regexp.MustCompile(`<https://[A-Za-z0-9.\-/%?=#:;_~]+\|Open in (AWS console|Azure portal)>`)

// checkSlackInert walks every text object of the message: none may hold a
// Slack control sequence (<!channel>, <@U…>, <http://…|…>) but a console
// link of ours, a hidden character, a code span a backtick broke, more than
// Slack takes, or the cut-off end of a long value; mrkdwn must be verbatim
// and plain_text without emoji.
func checkSlackInert(t *testing.T, msg map[string]any) {
	t.Helper()
	check := func(where, text string, limit int) {
		rest := consoleLink.ReplaceAllString(text, "")
		if strings.ContainsAny(rest, "<>") {
			t.Errorf("%s: < or > outside a console link: %q", where, text)
		}
		if m := hiddenRunes.FindString(text); m != "" {
			t.Errorf("%s: hidden character %q in %q", where, m, text)
		}
		if strings.Contains(text, tailMarker) {
			t.Errorf("%s: a long value was not cut: %q", where, text)
		}
		if n := utf8.RuneCountInString(text); n > limit {
			t.Errorf("%s: %d characters, over Slack's %d", where, n, limit)
		}
	}
	text, _ := msg["text"].(string)
	check("text", text, 40000)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if typ, _ := x["type"].(string); typ == "mrkdwn" || typ == "plain_text" {
				s, _ := x["text"].(string)
				check(path, s, 3000)
				if typ == "mrkdwn" && x["verbatim"] != true {
					t.Errorf("%s: mrkdwn without verbatim: %q", path, s)
				}
				if typ == "plain_text" && x["emoji"] != false {
					t.Errorf("%s: plain_text with emoji: %q", path, s)
				}
				if typ == "mrkdwn" && !strings.Contains(s, "```") && strings.Count(s, "`")%2 != 0 {
					t.Errorf("%s: a backtick breaks a code span: %q", path, s)
				}
			}
			for k, e := range x {
				if k != "value" { // button values come back to us; Slack shows them nowhere
					walk(path+"."+k, e)
				}
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk("blocks", msg["blocks"])
}

// eventMarkers are parts of the hostile values that driftwatch's own text
// never holds.
var eventMarkers = []string{"<!", hostileMention, "](http", "<script", "@here", "`"}

// checkJiraInert checks the issue creation: the summary is one plain line;
// the description uses only the nodes and marks of plain text (no link,
// mention, card, media or HTML), every text node with event text is code,
// no text holds a hidden character or the end of a long value, and the
// whole stays within Jira's limits.
func checkJiraInert(t *testing.T, issue map[string]any, size int) {
	t.Helper()
	fields, _ := issue["fields"].(map[string]any)
	summary, _ := fields["summary"].(string)
	if summary == "" || strings.ContainsAny(summary, "\n\r") || hiddenRunes.MatchString(summary) || utf8.RuneCountInString(summary) > 255 {
		t.Errorf("summary %q: empty, several lines, hidden characters or over 255 characters", summary)
	}
	allowedNodes := map[string]bool{"doc": true, "heading": true, "paragraph": true, "bulletList": true, "listItem": true, "codeBlock": true, "text": true}
	var walk func(path string, n map[string]any, inCode bool)
	walk = func(path string, n map[string]any, inCode bool) {
		typ, _ := n["type"].(string)
		if !allowedNodes[typ] {
			t.Errorf("%s: node of type %q", path, typ)
		}
		inCode = inCode || typ == "codeBlock"
		if typ == "text" {
			s, _ := n["text"].(string)
			code := inCode
			marks, _ := n["marks"].([]any)
			for _, m := range marks {
				mt, _ := m.(map[string]any)["type"].(string)
				switch mt {
				case "code":
					code = true
				case "strong":
				default:
					t.Errorf("%s: mark %q on %q", path, mt, s)
				}
			}
			if !code {
				for _, marker := range eventMarkers {
					if strings.Contains(s, marker) {
						t.Errorf("%s: event text outside code: %q", path, s)
					}
				}
			}
			if m := hiddenRunes.FindString(s); m != "" {
				t.Errorf("%s: hidden character %q in %q", path, m, s)
			}
			if strings.Contains(s, tailMarker) {
				t.Errorf("%s: a long value was not cut: %q", path, s)
			}
		}
		content, _ := n["content"].([]any)
		for i, c := range content {
			child, _ := c.(map[string]any)
			walk(fmt.Sprintf("%s.content[%d]", path, i), child, inCode)
		}
	}
	desc, _ := fields["description"].(map[string]any)
	if desc == nil {
		t.Fatalf("no description: %v", fields)
	}
	walk("description", desc, false)
	if size > 32767 {
		t.Errorf("issue of %d bytes; Jira takes a description of 32,767 characters", size)
	}
}

var (
	mdCode    = regexp.MustCompile(`(?s)<code[^>]*>.*?</code>`)
	mdMention = regexp.MustCompile(`(^|[^\w\x{2060}])@\w`)
)

// checkMarkdownInert renders md as GitHub does (CommonMark, GFM, raw HTML
// left out) and fails for a link, raw HTML, a mention or a hidden character
// outside code, or the cut-off end of a long value.
func checkMarkdownInert(t *testing.T, where, md string) {
	t.Helper()
	var out bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert([]byte(md), &out); err != nil {
		t.Fatal(err)
	}
	rendered := out.String()
	for _, bad := range []string{"<a ", "<script", "<img", "raw HTML omitted"} {
		if strings.Contains(rendered, bad) {
			t.Errorf("%s renders %q:\n%s", where, bad, rendered)
		}
	}
	outside := html.UnescapeString(mdCode.ReplaceAllString(rendered, ""))
	if m := mdMention.FindString(outside); m != "" {
		t.Errorf("%s: mention %q outside code:\n%s", where, m, rendered)
	}
	if m := hiddenRunes.FindString(md); m != "" {
		t.Errorf("%s: hidden character %q", where, m)
	}
	if strings.Contains(md, tailMarker) {
		t.Errorf("%s: a long value was not cut", where)
	}
}
