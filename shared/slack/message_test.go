package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/resource"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// sampleChange is the change that opened the sample finding.
func sampleChange() finding.Change {
	return finding.Change{
		EventID:       "7f1e2d3c-0000-4000-8000-000000000001",
		Time:          t0,
		PrincipalARN:  "arn:aws:sts::123456789012:assumed-role/Admin/alice",
		PrincipalType: "AssumedRole",
		IssuerARN:     "arn:aws:iam::123456789012:role/Admin",
		SourceIP:      "203.0.113.10",
		UserAgent:     "aws-cli/2.15.0 Python/3.11.6 Linux/6.1",
		Service:       "s3.amazonaws.com",
		Operation:     "PutBucketPolicy",
	}
}

// sampleRequest is the request of sampleChange.
func sampleRequest() map[string]any {
	return map[string]any{
		"bucketName": "acme-logs",
		"host":       []any{"acme-logs.s3.amazonaws.com"},
		"policy":     []any{""},
		"bucketPolicy": map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
				"Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-logs/*",
			}},
		},
	}
}

// sampleFinding is an open finding on an S3 bucket, announced in Slack.
func sampleFinding() *finding.Finding {
	ref := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::acme-logs", Account: "123456789012", Region: "us-east-1"}
	ch := sampleChange()
	return &finding.Finding{
		Key:       finding.Key{Cloud: "aws", Account: ref.Account, ResourceID: ref.ID, RuleID: "aws-s3-bucket-policy-public"},
		Cloud:     "aws",
		Account:   ref.Account,
		Region:    ref.Region,
		Resource:  ref,
		RuleID:    "aws-s3-bucket-policy-public",
		Severity:  "high",
		Title:     "S3 bucket policy allows public access",
		Status:    finding.StatusOpen,
		Message:   "Bucket acme-logs has a policy statement that allows s3:GetObject to Principal *",
		FirstSeen: t0, LastSeen: t0, CheckedAt: t0,
		Count: 1, Occurrence: 1,
		Change: ch, OpenedBy: ch,
	}
}

var sampleDetails = Details{CIS: []string{"2.1.4"}}

// hostileFinding carries injection attempts in every string that comes
// from an event or a resource.
func hostileFinding() (*finding.Finding, finding.Notice, Details) {
	const bucket = "evil<!channel>&<http://x|y>"
	f := sampleFinding()
	f.Resource.ID = "arn:aws:s3:::" + bucket
	f.Key.ResourceID = f.Resource.ID
	f.Message = "Bucket " + bucket + " is public; see <https://evil.example|the docs> *now* @channel <!subteam^S123> :skull:"
	ch := f.OpenedBy
	ch.PrincipalARN = "arn:aws:sts::123456789012:assumed-role/<!everyone>/`bob`"
	ch.PrincipalType = "AssumedRole<@U999>"
	ch.IssuerARN = "arn:aws:iam::123456789012:role/<#C123|general>"
	ch.SourceIP = "<http://198.51.100.7|203.0.113.10>"
	ch.UserAgent = "aws-cli/2.0 `<@U123>` ```rm -rf``` *bold* \x1b[31mred\u202Eevil"
	ch.Operation = "PutBucketPolicy<!here>"
	f.Change, f.OpenedBy = ch, ch
	d := Details{
		CIS: []string{"2.1.4"},
		Request: map[string]any{
			"bucketName": bucket,
			"bucketPolicy": `{"Version":"2012-10-17","Statement":[{"Sid":"*bold* <!here>","Effect":"Allow",` +
				`"Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::` + "evil<!channel>" + `/*"}]}`,
			"note`<@U1>`": "<https://evil.example|click> _it_ ~now~ ```",
		},
	}
	n := finding.Notice{Seq: 1, Kind: finding.Opened, Occurrence: 1, Change: ch, Message: f.Message, At: t0}
	return f, n, d
}

func TestMessageGolden(t *testing.T) {
	later := t0.Add(90 * time.Minute)
	bob := finding.Change{
		EventID: "7f1e2d3c-0000-4000-8000-000000000002", Time: later,
		PrincipalARN: "arn:aws:iam::123456789012:user/bob", PrincipalType: "IAMUser",
		SourceIP: "198.51.100.23", UserAgent: "Boto3/1.34.0 md/Botocore#1.34.0",
		Service: "s3.amazonaws.com", Operation: "PutBucketPolicy",
	}
	fixer := finding.Change{
		EventID: "7f1e2d3c-0000-4000-8000-000000000003", Time: later.Add(time.Hour),
		PrincipalARN: "arn:aws:sts::123456789012:assumed-role/Admin/alice", PrincipalType: "AssumedRole",
		SourceIP: "203.0.113.10", UserAgent: "console.amazonaws.com",
		Service: "s3.amazonaws.com", Operation: "DeleteBucketPolicy",
	}
	repeated := func() *finding.Finding {
		f := sampleFinding()
		f.Count, f.LastSeen, f.Change = 2, later, bob
		return f
	}
	hf, hn, hd := hostileFinding()
	tests := []struct {
		name string
		msg  Message
	}{
		{"opened", AlertMessage(sampleFinding(),
			finding.Notice{Seq: 1, Kind: finding.Opened, Occurrence: 1, Change: sampleChange(), Message: sampleFinding().Message, At: t0},
			Details{CIS: sampleDetails.CIS, Request: sampleRequest()})},
		{"repeated_new_principal_reply", RepeatMessage(repeated(),
			finding.Notice{Seq: 2, Kind: finding.RepeatedNewPrincipal, Occurrence: 1, Change: bob, Message: sampleFinding().Message, At: later},
			Details{CIS: sampleDetails.CIS, Request: map[string]any{"bucketName": "acme-logs", "bucketPolicy": sampleRequest()["bucketPolicy"]}})},
		{"repeated_alert_update", AlertMessage(repeated(),
			finding.Notice{Seq: 2, Kind: finding.RepeatedNewPrincipal, Occurrence: 1, Change: bob, At: later},
			Details{CIS: sampleDetails.CIS, Request: sampleRequest()})},
		{"resolved_update", ResolvedMessage(repeated(),
			finding.Notice{Seq: 3, Kind: finding.Resolved, Occurrence: 1, Change: fixer, Reason: finding.ReasonFixed, At: fixer.Time},
			Details{CIS: sampleDetails.CIS, Request: map[string]any{"bucketName": "acme-logs"}})},
		{"resolved_reply", ResolvedReply(repeated(),
			finding.Notice{Seq: 3, Kind: finding.Resolved, Occurrence: 1, Change: fixer, Reason: finding.ReasonFixed, At: fixer.Time},
			Details{Request: map[string]any{"bucketName": "acme-logs"}})},
		{"resolved_deleted_scan", ResolvedMessage(sampleFinding(),
			finding.Notice{Seq: 2, Kind: finding.Resolved, Occurrence: 1, Reason: finding.ReasonDeleted, At: later},
			Details{})},
		{"hostile", AlertMessage(hf, hn, hd)},
		{"note_dry_run", NoteMessage(sampleFinding(), finding.Notice{Seq: 2, Kind: finding.Noted, Occurrence: 1, At: later,
			Note: "would revert aws-s3-bucket-policy-public on arn:aws:s3:::acme-logs with s3-remove-public-policy-statements: removes statement PublicRead\n" +
				"  s3:PutBucketPolicy {\"Bucket\":\"acme-logs\",\"Policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[]}\"}"}, sampleDetails)},
		{"note_flapping", NoteMessage(sampleFinding(), finding.Notice{Seq: 3, Kind: finding.Noted, Occurrence: 1, At: later, Severity: "high",
			Note: "skipped: aws-s3-bucket-policy-public on arn:aws:s3:::acme-logs (s3-remove-public-policy-statements): flapping — revert paused: " +
				"arn:aws:s3:::acme-logs was already reverted 3 times in the last 1h0m0s"}, sampleDetails)},
		{"note_hostile", NoteMessage(hf, finding.Notice{Seq: 2, Kind: finding.Noted, Occurrence: 1, At: later, Severity: "high<!here>",
			Note: "failed: rule on " + hf.Resource.ID + " <!channel> <@U123> *bold* \x1b[31m\u202e: <https://evil.example|click>\n" +
				"  s3:PutBucketPolicy {\"Bucket\":\"evil<!channel>\"} ```rm -rf``` `x`\n\n  <!everyone>"}, hd)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.msg.MarshalIndent()
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			golden(t, tt.name+".golden.json", got)
			checkSafe(t, got)
		})
	}
}

func TestRenderTextGolden(t *testing.T) {
	msg := AlertMessage(sampleFinding(),
		finding.Notice{Seq: 1, Kind: finding.Opened, Occurrence: 1, Change: sampleChange(), Message: sampleFinding().Message, At: t0},
		Details{CIS: sampleDetails.CIS, Request: sampleRequest()})
	got := RenderText(msg)
	golden(t, "opened.golden.txt", []byte(got))
	for _, want := range []string{
		"🟠 HIGH · S3 bucket policy allows public access\n",
		"Resource: arn:aws:s3:::acme-logs\n    Open in AWS console: https://s3.console.aws.amazon.com/s3/buckets/acme-logs\n",
		"Changed by: arn:aws:sts::123456789012:assumed-role/Admin/alice",
		"[Revert now] [Acknowledge] [Snooze 24 h] [Accept as baseline]",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("RenderText lacks %q:\n%s", want, got)
		}
	}
	hf, hn, hd := hostileFinding()
	hostile := RenderText(AlertMessage(hf, hn, hd))
	if strings.ContainsAny(hostile, "\x1b\u202E") {
		t.Errorf("RenderText passes terminal control characters through:\n%q", hostile)
	}
	if !strings.Contains(hostile, "arn:aws:s3:::evil<!channel>&<http://x|y>") {
		t.Errorf("RenderText does not show the bucket as it is named:\n%s", hostile)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
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
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// ourLink is the only control sequence driftwatch writes itself: a link to
// a console, with a label of ours.
var ourLink = regexp.MustCompile(`<https://[A-Za-z0-9.\-/%?=#:;_~]+\|Open in (AWS console|Azure portal)>`)

// checkSafe checks that no text object of a message JSON can trigger
// Slack's special parsing: no control sequence but our console links, no
// mrkdwn object without verbatim, no plain_text with emoji on, no code
// span broken by a backtick from the data.
func checkSafe(t *testing.T, msgJSON []byte) {
	t.Helper()
	var msg struct {
		Text   string `json:"text"`
		Blocks []any  `json:"blocks"`
	}
	if err := json.Unmarshal(msgJSON, &msg); err != nil {
		t.Fatal(err)
	}
	check := func(where, text string) {
		rest := ourLink.ReplaceAllString(text, "")
		if strings.ContainsAny(rest, "<>") {
			t.Errorf("%s: text holds < or > outside our links: %q", where, text)
		}
		if strings.ContainsAny(text, "\x1b\u202E") {
			t.Errorf("%s: text holds control or bidi characters: %q", where, text)
		}
	}
	check("text", msg.Text)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if typ, _ := x["type"].(string); typ == "mrkdwn" || typ == "plain_text" {
				text, _ := x["text"].(string)
				check(path, text)
				if typ == "mrkdwn" && x["verbatim"] != true {
					t.Errorf("%s: mrkdwn object without verbatim: %q", path, text)
				}
				if typ == "plain_text" && x["emoji"] != false {
					t.Errorf("%s: plain_text object with emoji on: %q", path, text)
				}
				if typ == "mrkdwn" && !strings.Contains(text, "```") && strings.Count(text, "`")%2 != 0 {
					t.Errorf("%s: odd number of backticks breaks a code span: %q", path, text)
				}
			}
			for k, e := range x {
				if k == "value" {
					continue // button values are data returned to us, never shown
				}
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(path+"["+string(rune('0'+i%10))+"]", e)
			}
		}
	}
	walk("blocks", msg.Blocks)
}

func TestHostileInputArrivesEscaped(t *testing.T) {
	f, n, d := hostileFinding()
	msg := AlertMessage(f, n, d)
	js, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	// Only the button values carry the key as it is; drop them.
	var generic map[string]any
	_ = json.Unmarshal(js, &generic)
	texts := collectTexts(generic)
	all := strings.Join(texts, "\n")
	for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<@U123>", "<@U999>", "<#C123", "<http://x|y>", "<https://evil.example|", "<!subteam", "```rm"} {
		if strings.Contains(all, bad) {
			t.Errorf("message text holds %q", bad)
		}
	}
	for _, want := range []string{
		"`arn:aws:s3:::evil&lt;!channel&gt;&amp;&lt;http://x|y&gt;`",
		"`aws-cli/2.0 ˋ&lt;@U123&gt;ˋ ˋˋˋrm -rfˋˋˋ *bold*  [31mredevil`",
		"Allow AWS:* s3:* on arn:aws:s3:::evil&lt;!channel&gt;/*",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("message text lacks %q", want)
		}
	}
	// The buttons still carry the exact key, which ParseKey reads back.
	for _, v := range buttonValues(generic) {
		k, err := finding.ParseKey(v)
		if err != nil || k != f.Key {
			t.Errorf("button value %q parses to %v, %v; want %v", v, k, err, f.Key)
		}
	}
}

// collectTexts returns the text of every text object and the top-level text.
func collectTexts(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				out = append(out, s)
			}
			for k, e := range x {
				if k != "value" {
					walk(e)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// buttonValues returns the values of every button.
func buttonValues(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "button" {
				if s, ok := x["value"].(string); ok {
					out = append(out, s)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

func TestAlertMessageButtons(t *testing.T) {
	f := sampleFinding()
	msg := AlertMessage(f, finding.Notice{Kind: finding.Opened, Occurrence: 1, Change: f.OpenedBy, At: t0}, Details{})
	js, _ := json.Marshal(msg)
	var generic map[string]any
	_ = json.Unmarshal(js, &generic)
	var ids []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "button" {
				ids = append(ids, x["action_id"].(string))
				if x["value"] != f.Key.String() {
					t.Errorf("button %v carries %v, want the key %q", x["action_id"], x["value"], f.Key.String())
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(generic)
	want := []string{ActionRevert, ActionAcknowledge, ActionSnooze, ActionAcceptBaseline}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("buttons %v, want %v", ids, want)
	}
	resolved := ResolvedMessage(f, finding.Notice{Kind: finding.Resolved, Occurrence: 1, Reason: finding.ReasonFixed, At: t0}, Details{})
	js, _ = json.Marshal(resolved)
	if bytes.Contains(js, []byte(`"button"`)) || bytes.Contains(js, []byte(ActionsBlockID)) {
		t.Errorf("resolved message keeps buttons: %s", js)
	}
}

func TestMessageLimits(t *testing.T) {
	f := sampleFinding()
	huge := strings.Repeat("<&>", 5000)
	f.Title = strings.Repeat("T", 400)
	f.Resource.ID = "arn:aws:s3:::" + huge
	f.Message = huge
	ch := f.OpenedBy
	ch.UserAgent = huge
	ch.PrincipalARN = huge
	policy := map[string]any{"Version": "2012-10-17", "Statement": []any{}}
	var stmts []any
	for range 200 {
		stmts = append(stmts, map[string]any{"Effect": "Allow", "Principal": "*", "Action": []any{"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"}, "Resource": huge})
	}
	policy["Statement"] = stmts
	req := map[string]any{"bucketPolicy": policy}
	for i := range 30 {
		req[strings.Repeat("k", i+1)] = huge
	}
	msg := AlertMessage(f, finding.Notice{Kind: finding.Opened, Occurrence: 1, Change: ch, Message: huge, At: t0}, Details{Request: req})
	js, _ := json.Marshal(msg)
	var generic map[string]any
	_ = json.Unmarshal(js, &generic)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				limit := 3000
				switch {
				case x["type"] == "header":
					limit = 150
				case strings.Contains(path, "fields"):
					limit = 2000
				}
				if n := len([]rune(s)); n > limit {
					t.Errorf("%s: %d characters, Slack allows %d", path, n, limit)
				}
			}
			if h, ok := x["type"].(string); ok && h == "header" {
				if txt, ok := x["text"].(map[string]any); ok {
					if n := len([]rune(txt["text"].(string))); n > 150 {
						t.Errorf("header text: %d characters, Slack allows 150", n)
					}
				}
			}
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			if strings.HasSuffix(path, "fields") && len(x) > 10 {
				t.Errorf("%s: %d fields, Slack allows 10", path, len(x))
			}
			for _, e := range x {
				walk(path, e)
			}
		}
	}
	walk("", generic)
	if len(js) > 40000 {
		t.Errorf("message is %d bytes", len(js))
	}
}
