package jira_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/ticket"
	"github.com/driftwatch/driftwatch/shared/ticket/jira"
	"github.com/driftwatch/driftwatch/shared/ticket/tickettest"
)

// fmtAll formats v every way a config might end up in a log or an error.
func fmtAll(v any) string {
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", v)
	js, _ := json.Marshal(v)
	return fmt.Sprintf("%v %+v %#v %s %s", v, v, v, js, logged.String())
}

func marshalDoc(t *testing.T, b ticket.Body) []byte {
	t.Helper()
	out, err := json.MarshalIndent(jira.Doc(b), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if errs := checkADF(v); len(errs) > 0 {
		t.Errorf("not a valid ADF document: %v", errs)
	}
	return append(out, '\n')
}

// TestGoldenADF checks the ADF documents (ticket description and comments)
// against testdata/*.json; run with -update to rewrite them.
func TestGoldenADF(t *testing.T) {
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
			name string
			body ticket.Body
		}{
			{"opened", ticket.Opened(f, n, tickettest.SampleRules(), "")},
			{"repeated", ticket.Repeated(rep, rn)},
			{"resolved", ticket.Resolved(res, sn)},
			{"noted", ticket.Noted(nf, nn)},
		} {
			t.Run(tc.name+suffix, func(t *testing.T) {
				tickettest.Golden(t, tc.name+suffix+".json", marshalDoc(t, tc.body))
			})
		}
		t.Run("summary"+suffix, func(t *testing.T) {
			tickettest.Golden(t, "summary"+suffix+".txt", []byte(jira.Summary(f)+"\n"))
		})
	}
}

// TestHostileValuesStayInert: every event-derived value of the hostile
// finding lands in a text node with a code mark or in a code block, never
// in plain text where Jira might one day interpret it, and the document
// holds no node or mark but the allowed ones (checkADF).
func TestHostileValuesStayInert(t *testing.T) {
	f, n := tickettest.Finding(true)
	raw := marshalDoc(t, ticket.Opened(f, n, tickettest.SampleRules(), ""))
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var plain, coded strings.Builder
	var walk func(v any, inCode bool)
	walk = func(v any, inCode bool) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "codeBlock" {
				inCode = true
			}
			if s, ok := x["text"].(string); ok {
				marks, _ := x["marks"].([]any)
				isCode := inCode
				for _, m := range marks {
					if m.(map[string]any)["type"] == "code" {
						isCode = true
					}
				}
				if isCode {
					coded.WriteString(s + "\x00")
				} else {
					plain.WriteString(s + "\x00")
				}
			}
			walk(x["content"], inCode)
		case []any:
			for _, c := range x {
				walk(c, inCode)
			}
		}
	}
	walk(doc, false)
	for _, bad := range []string{"<script>", "@here", "@channel", "<!here>", "http://evil", "{{jql}}", "<img", "mention"} {
		if strings.Contains(plain.String(), bad) {
			t.Errorf("%q appears in plain text: %q", bad, plain.String())
		}
	}
	for _, want := range []string{"<script>alert(1)</script>@here[link](http://evil.example){{jql}}\"q\\", `aws-cli/2.15.0\n\n@here`, `\u202egnp.exe`} {
		if !strings.Contains(coded.String(), want) {
			t.Errorf("hostile value %q not shown literally as code", want)
		}
	}
	if strings.Contains(string(raw), "\u202e") {
		t.Error("a bidi override survived")
	}
	// The hostile event ID must not have added nodes: it is one text node.
	if strings.Count(string(raw), `"type": "mention"`) != 0 {
		t.Error("the document holds a mention node")
	}
	if s := jira.Summary(f); strings.ContainsAny(s, "\n\r") {
		t.Errorf("summary spans lines: %q", s)
	}
}
