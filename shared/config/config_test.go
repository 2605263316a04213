package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
)

// The example at the repository root is what users copy: it must parse,
// name real rules, and show every field.
func TestExampleFile(t *testing.T) {
	path := filepath.Join("..", "..", "driftwatch.example.yaml")
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	rules, err := pack.AWS()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, r := range rules {
		known[r.ID] = true
	}
	if err := c.CheckRuleIDs(func(id string) bool { return known[id] }); err != nil {
		t.Errorf("the example names rules the pack lacks: %v", err)
	}
	if c.Slack == nil || c.Jira == nil || c.GitHub == nil || c.Publish == nil {
		t.Fatalf("the example leaves out a section: %+v", c)
	}
	if got, want := c.Store.Path, filepath.Join("..", "..", "driftwatch.db"); got != want {
		t.Errorf("store.path = %q, want %q (relative to the file)", got, want)
	}
	if len(c.Exceptions) == 0 || len(c.Allowlist) == 0 || len(c.Slack.Routing.Routes) == 0 {
		t.Errorf("the example shows no exceptions, allowlist or routes")
	}

	// Every field of every section appears in the file (commented out or
	// not), so the example stays complete as fields are added.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range yamlNames(reflect.TypeFor[config.Config]()) {
		if !strings.Contains(string(data), name+":") {
			t.Errorf("the example does not show field %q", name)
		}
	}
}

// yamlNames lists the yaml names of t's fields, recursively.
func yamlNames(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[config.Date]() {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, name)
		out = append(out, yamlNames(f.Type)...)
	}
	return out
}

func TestParseDefaults(t *testing.T) {
	for _, src := range []string{"", "# nothing yet\n", "{}", "~"} {
		t.Run(src, func(t *testing.T) {
			c, err := config.Parse("driftwatch.yaml", []byte(src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(c, config.Default()) {
				t.Errorf("Parse(%q) = %+v, want the defaults %+v", src, c, config.Default())
			}
		})
	}
	d := config.Default()
	if d.Store.Kind != "sqlite" || d.Store.Path != "driftwatch.db" || d.Store.SeenTTL != 168*time.Hour ||
		d.TagWaivers.Enabled || d.TagWaivers.Key != "driftwatch:waive" || d.Slack != nil || d.Publish != nil {
		t.Errorf("Default() = %+v", d)
	}
}

func TestParseSectionDefaults(t *testing.T) {
	c, err := config.Parse("f", []byte(`
store: {kind: dynamodb, table: findings}
slack: {token: "env:SLACK_TOKEN", routing: {default: "#sec"}}
jira: {base_url: "https://x.atlassian.net", email: a@b.c, api_token: "env:JIRA", project: SEC}
publish: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"store.path", c.Store.Path, ""},
		{"slack.mode", c.Slack.Mode, "bot"},
		{"jira.issue_type", c.Jira.IssueType, "Task"},
		{"jira.done_transition", c.Jira.DoneTransition, "Done"},
		{"publish.event_bus", c.Publish.EventBus, "default"},
		{"publish.source", c.Publish.Source, "driftwatch"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want are the problems, "path: message-substring", in order.
		want []string
	}{
		{"unknown top-level field", "slak: {}\n", []string{"slak: unknown field"}},
		{"unknown nested field", `
slack:
  token: env:T
  routing:
    default: "#a"
    routes:
      - {channel: "#b", min_severity: high}
      - {chanel: "#c", min_severity: high}
`, []string{"slack.routing.routes[1].chanel: unknown field (known fields of slack.routing.routes[1]: accounts, channel, min_severity, rules)",
			"slack.routing.routes[1].channel: required"}},
		{"bad severity", `
slack:
  token: env:T
  routing:
    default: "#a"
    routes:
      - {channel: "#a", rules: [aws-iam-*]}
      - {channel: "#b", accounts: ["123456789012"]}
      - {channel: "#c", min_severity: urgent}
`, []string{`slack.routing.routes[2].min_severity: "urgent" is not one of critical, high, medium, low, info`}},
		{"list where a value goes", "store: {kind: [sqlite]}\n", []string{"store.kind: want a single value, not a list"}},
		{"value where a list goes", "own_principals: arn:aws:iam::1:role/x\n", []string{"own_principals: want a list, not a single value"}},
		{"value where a mapping goes", "store: sqlite\n", []string{"store: want a mapping"}},
		{"bad bool", "tag_waivers: {enabled: maybe}\n", []string{`tag_waivers.enabled: want true or false, not "maybe"`}},
		{"duration without unit", "store: {seen_ttl: 3600}\n", []string{"store.seen_ttl: want a duration with a unit"}},
		{"bad duration", "store: {seen_ttl: 3 days}\n", []string{`store.seen_ttl: "3 days" is not a duration`}},
		{"negative duration", "store: {seen_ttl: -1h}\n", []string{"store.seen_ttl: must be positive"}},
		{"given twice", "store: {kind: sqlite}\nstore: {kind: dynamodb}\n", []string{"store: given twice (lines 1 and 2)"}},
		{"bad store kind", "store: {kind: postgres}\n", []string{`store.kind: "postgres" is not one of sqlite, dynamodb`}},
		{"dynamodb without table", "store: {kind: dynamodb}\n", []string{"store.table: required"}},
		{"table with sqlite", "store: {table: t}\n", []string{"store.table: applies to kinds dynamodb and table only"}},
		{"bad own principal", "own_principals: [terraform]\n", []string{`own_principals[0]: not an ARN pattern`}},
		{"bot without token or channel", "slack: {mode: bot}\n", []string{"slack.token: required", "slack.routing.default: required"}},
		{"webhook with routes", "slack: {mode: webhook, webhook_url: 'env:HOOK', routing: {default: '#a'}}\n",
			[]string{"slack.routing: applies to mode bot only"}},
		{"route problems", "slack: {token: env:T, routing: {default: '#a', routes: [{channel: '#b'}, {rules: ['[a-'], accounts: [''], channel: 'two words'}]}}\n",
			[]string{"slack.routing.routes[0]: no condition", `slack.routing.routes[1].rules[0]: "[a-" is not a glob`, "slack.routing.routes[1].accounts[0]: required",
				`slack.routing.routes[1].channel: channel "two words" contains white space`}},
		{"slack actions without a signing secret", "slack: {token: env:T, routing: {default: '#a'}, actions: {users: [U0123ABCD]}}\n",
			[]string{"slack.actions.signing_secret: required"}},
		{"slack actions problems", "slack: {token: env:T, routing: {default: '#a'}, actions: {signing_secret: s3cr3t, users: [alice, U0123ABCD, U0123ABCD], user_groups: [U0123ABCE]}}\n",
			[]string{"slack.actions.signing_secret: looks like a literal secret", `slack.actions.users[0]: "alice" is not a Slack user ID`,
				`slack.actions.users[2]: "U0123ABCD" is listed twice`, `slack.actions.user_groups[0]: "U0123ABCE" is not a Slack user-group ID`}},
		{"slack action groups need a bot", "slack: {mode: webhook, webhook_url: 'env:HOOK', actions: {signing_secret: 'env:SIGN', user_groups: [S0123ABCD]}}\n",
			[]string{"slack.actions.user_groups: needs mode bot"}},
		{"bad slack mode", "slack: {mode: rtm, token: env:T}\n", []string{`slack.mode: "rtm" is not one of bot, webhook`}},
		{"jira problems", "jira: {base_url: 'http://jira.example.com', email: nobody, api_token: 'env:J', project: sec, labels: ['two words']}\n",
			[]string{"jira.base_url: must use https", `jira.email: "nobody" is not an email address`, `jira.project: "sec" is not a project key`,
				`jira.labels[0]: label "two words" contains white space`}},
		{"jira priorities and timeout", "jira: {base_url: 'https://x.atlassian.net', email: a@b, api_token: 'env:J', project: SEC, priorities: {urgent: P1, high: ''}, timeout: -1s}\n",
			[]string{"jira.priorities.high: required", `jira.priorities.urgent: "urgent" is not one of`, "jira.timeout: negative"}},
		{"url with credentials", "jira: {base_url: 'https://u:p@x.atlassian.net', email: a@b, api_token: 'env:J', project: SEC}\n",
			[]string{"jira.base_url: must not carry credentials"}},
		{"github problems", "github: {owner: example, repo: example/repo}\n",
			[]string{`github.repo: "example/repo" is not a repository name`, "github.token: required"}},
		{"reserved source", "publish: {source: aws.s3}\n", []string{"publish.source: \"aws.s3\": sources starting with aws. are reserved"}},
		{"bad bus", "publish: {event_bus: 'my bus'}\n", []string{"publish.event_bus: \"my bus\" is neither"}},
		{"exception missing fields", "exceptions: [{rule: aws-s3-*}]\n",
			[]string{"exceptions[0].resource: required", "exceptions[0].reason: required", "exceptions[0].approver: required", "exceptions[0].expires: required"}},
		{"exception bad date", "exceptions: [{rule: r, resource: x, reason: r, approver: a, expires: 31/12/2026}]\n",
			[]string{`exceptions[0].expires: "31/12/2026" is not a date YYYY-MM-DD`}},
		{"exception timestamp", "exceptions: [{rule: r, resource: x, reason: r, approver: a, expires: 2026-12-31T10:00:00Z}]\n",
			[]string{`exceptions[0].expires: "2026-12-31T10:00:00Z" is not a date YYYY-MM-DD`}},
		{"blanket exception", "exceptions: [{rule: '*', resource: '*', reason: r, approver: a, expires: 2026-12-31}]\n",
			[]string{"exceptions[0]: waives every finding"}},
		{"pattern with space", "exceptions: [{rule: 'aws s3', resource: x, reason: r, approver: a, expires: 2026-12-31}]\n",
			[]string{"exceptions[0].rule: pattern contains white space"}},
		{"allowlist not an ARN", "allowlist: [{principal: terraform, reason: ci}]\n", []string{"allowlist[0].principal: not an ARN pattern"}},
		{"bad mode override", "rules: {mode_overrides: {aws-s3-bucket-public-acl: page}}\n",
			[]string{`rules.mode_overrides.aws-s3-bucket-public-acl: "page" is not one of alert, ticket, revert`}},
		{"disabled twice", "rules: {disabled: [a, a]}\n", []string{`rules.disabled[1]: "a" is listed twice`}},
		{"several problems at once", "store: {kind: x}\nslack: {mode: y}\npublish: {source: aws.z}\n",
			[]string{"store.kind:", "slack.mode:", "publish.source:"}},
		{"shape and validation problems in one go", "slak: 1\nstore: {kind: x, seen_ttl: 5}\nslack: {token: xoxb-abc, routing: {default: '#a'}}\n",
			[]string{"slak: unknown field", "store.seen_ttl: want a duration", `store.kind: "x" is not one of`, "slack.token: looks like a literal secret"}},
		{"two documents", "store: {}\n---\nstore: {}\n", []string{"more than one YAML document"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse("driftwatch.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", c)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				if len(tc.want) == 1 && strings.Contains(err.Error(), tc.want[0]) {
					return
				}
				t.Fatalf("Parse error %v (%T), want a *config.Error", err, err)
			}
			var got []string
			for _, p := range ce.Problems {
				got = append(got, p.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems:\n\t%s\nwant %d:\n\t%s", strings.Join(got, "\n\t"), len(tc.want), strings.Join(tc.want, "\n\t"))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) && !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestErrorNamesFileAndLine(t *testing.T) {
	src := "store:\n  kind: sqlite\nslack:\n  token: env:T\n  routing:\n    default: '#a'\n    routes:\n      - channel: '#b'\n        min_severity: urgent\n"
	_, err := config.Parse("conf/driftwatch.yaml", []byte(src))
	want := `invalid config conf/driftwatch.yaml:9: slack.routing.routes[0].min_severity: "urgent" is not one of critical, high, medium, low, info`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	// A missing field points at its section.
	_, err = config.Parse("d.yaml", []byte("store: {kind: dynamodb}\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "invalid config d.yaml:1: store.table: required") {
		t.Errorf("error = %v, want it at line 1", err)
	}
}

// A secret pasted into the file is refused, and the error does not repeat it.
func TestLiteralSecretRefused(t *testing.T) {
	const token = "xoxb-1234567890-SECRETSECRET"
	for _, field := range []string{"slack: {routing: {default: '#a'}, token: %q}", "jira: {base_url: 'https://x.atlassian.net', email: a@b, project: SEC, api_token: %q}", "github: {owner: o, repo: r, token: %q}", "slack: {mode: webhook, webhook_url: %q}"} {
		src := strings.Replace(field, "%q", `"`+token+`"`, 1)
		t.Run(src[:strings.Index(src, ":")], func(t *testing.T) {
			_, err := config.Parse("f", []byte(src))
			if err == nil {
				t.Fatal("Parse accepted a literal secret")
			}
			if !strings.Contains(err.Error(), "looks like a literal secret") {
				t.Errorf("error = %v, want it to say a literal secret was given", err)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error repeats the secret: %v", err)
			}
		})
	}
}

func TestLoadRelativePaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "driftwatch.yaml")
	src := "store: {path: state/findings.db}\nrules: {dirs: [rules, /abs/rules]}\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "state", "findings.db"); c.Store.Path != want {
		t.Errorf("store.path = %q, want %q", c.Store.Path, want)
	}
	if want := []string{filepath.Join(dir, "rules"), "/abs/rules"}; !reflect.DeepEqual(c.Rules.Dirs, want) {
		t.Errorf("rules.dirs = %q, want %q", c.Rules.Dirs, want)
	}
	if _, err := config.Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestCheckRuleIDs(t *testing.T) {
	c, err := config.Parse("f", []byte("rules: {disabled: [a, typo], mode_overrides: {b: ticket, other-typo: alert}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"a": true, "b": true}
	err = c.CheckRuleIDs(func(id string) bool { return known[id] })
	want := "invalid config, 2 problems:\n\trules.disabled[1]: no rule \"typo\"\n\trules.mode_overrides.other-typo: no rule \"other-typo\""
	if err == nil || err.Error() != want {
		t.Errorf("CheckRuleIDs = %v\nwant %s", err, want)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"aws-s3-bucket-public-acl", "aws-s3-bucket-public-acl", true},
		{"aws-s3-bucket-public-acl", "aws-s3-bucket-public-acl2", false},
		{"aws-s3-*", "aws-s3-bucket-public-acl", true},
		{"aws-s3-*", "aws-ec2-image-public", false},
		{"*", "", true},
		{"*", "anything/at:all", true},
		{"arn:aws:s3:::logs-*", "arn:aws:s3:::logs-2024", true},
		{"arn:aws:s3:::logs-*", "arn:aws:s3:::Logs-2024", false},
		{"arn:aws:iam::*:role/terraform-*", "arn:aws:iam::123456789012:role/terraform-ci", true},
		{"arn:aws:iam::*:role/terraform-*", "arn:aws:iam::123456789012:user/terraform-ci", false},
		{"*public*", "aws-ec2-image-public", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "ab", false},
		{"a*a", "a", false},
		{"x*y*z", "xzyz", true},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.s, func(t *testing.T) {
			if got := config.Glob(tc.pattern).Match(tc.s); got != tc.want {
				t.Errorf("Glob(%q).Match(%q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
			}
		})
	}
	if !config.MatchAny(nil, "x") || config.MatchAny([]config.Glob{"a", "b"}, "c") || !config.MatchAny([]config.Glob{"a", "c*"}, "cd") {
		t.Error("MatchAny wrong")
	}
}

func TestDate(t *testing.T) {
	d := config.MustDate("2026-02-28")
	if got, want := d.End(), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("End() = %v, want %v", got, want)
	}
	if got := d.String(); got != "2026-02-28" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{"2026-02-30", "2026-2-1", "tomorrow", ""} {
		if _, err := config.ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	if !(config.Date{}).IsZero() || d.IsZero() {
		t.Error("IsZero wrong")
	}
}
