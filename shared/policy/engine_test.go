package policy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

const bucketType = "AWS::S3::Bucket"

// rule returns a valid rule with the given condition.
func rule(id, condition string) Rule {
	return Rule{
		ID:            id,
		Title:         "Title of " + id,
		Severity:      SeverityHigh,
		ResourceTypes: []string{bucketType},
		Condition:     condition,
		Message:       "failed " + id,
	}
}

func mustCompile(t *testing.T, rules []Rule, opts ...Option) *Engine {
	t.Helper()
	e, err := Compile(rules, opts...)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return e
}

func bucket(doc map[string]any) resource.Resource {
	return resource.Resource{
		Ref:    resource.Ref{Type: bucketType, ID: "arn:aws:s3:::b", Account: "123456789012", Region: "eu-west-1"},
		Exists: true,
		Doc:    doc,
	}
}

func TestCompileValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *Rule)
		want   string
	}{
		{name: "empty id", mutate: func(r *Rule) { r.ID = "" }, want: "id is empty"},
		{name: "id not kebab-case", mutate: func(r *Rule) { r.ID = "AWS_S3" }, want: "not kebab-case"},
		{name: "empty title", mutate: func(r *Rule) { r.Title = " " }, want: "title is empty"},
		{name: "bad severity", mutate: func(r *Rule) { r.Severity = "urgent" }, want: `severity "urgent"`},
		{name: "bad mode", mutate: func(r *Rule) { r.Mode = "fix" }, want: `mode "fix"`},
		{name: "bad deleted", mutate: func(r *Rule) { r.Deleted = Error }, want: `deleted "error"`},
		{name: "no resource types", mutate: func(r *Rule) { r.ResourceTypes = nil }, want: "resource_types is empty"},
		{name: "empty resource type", mutate: func(r *Rule) { r.ResourceTypes = []string{""} }, want: "empty entry"},
		{name: "empty condition", mutate: func(r *Rule) { r.Condition = "  " }, want: "condition is empty"},
		{name: "syntax error", mutate: func(r *Rule) { r.Condition = "resource.A &&" }, want: "Syntax error"},
		{name: "undeclared variable", mutate: func(r *Rule) { r.Condition = "bucket.A == 1" }, want: "undeclared reference to 'bucket'"},
		{name: "not bool", mutate: func(r *Rule) { r.Condition = "size(resource)" }, want: "condition has type int, want bool"},
		{name: "string condition", mutate: func(r *Rule) { r.Condition = "'yes'" }, want: "want bool"},
		{name: "bad message expression", mutate: func(r *Rule) { r.Message = "x {{ resource. }}" }, want: "Syntax error"},
		{name: "unclosed message expression", mutate: func(r *Rule) { r.Message = "x {{ resource.A " }, want: "{{ without }}"},
		{name: "empty message expression", mutate: func(r *Rule) { r.Message = "x {{ }}" }, want: "empty {{ }}"},
		{name: "wrong argument type", mutate: func(r *Rule) { r.Condition = "is_world_cidr(1)" }, want: "no matching overload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rule("aws-test-rule", "true")
			tt.mutate(&r)
			_, err := Compile([]Rule{r})
			if err == nil {
				t.Fatal("Compile() error = nil")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile() error = %v, want it to contain %q", err, tt.want)
			}
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *CompileError", err)
			}
		})
	}
}

func TestCompileReportsEveryError(t *testing.T) {
	a := rule("aws-a", "resource.x &&")
	b := rule("aws-b", "true")
	b.Severity = ""
	dup := rule("aws-a", "true")
	_, err := Compile([]Rule{a, b, dup, rule("aws-ok", "true")})
	if err == nil {
		t.Fatal("Compile() error = nil")
	}
	for _, want := range []string{"rule aws-a: ", "rule aws-b: severity", "duplicate rule id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestCompileErrorPosition(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantLine int
		wantCol  int
	}{
		{
			name: "plain scalar",
			yaml: `rules:
  - id: aws-x
    title: X
    severity: low
    resource_types: [T]
    condition: resource.a == 1 && nope
    message: m
`,
			wantLine: 6, wantCol: 35,
		},
		{
			name: "double-quoted scalar",
			yaml: `rules:
  - id: aws-x
    title: X
    severity: low
    resource_types: [T]
    condition: "resource.a == 1 && nope"
    message: m
`,
			wantLine: 6, wantCol: 36,
		},
		{
			name: "literal block",
			yaml: `rules:
  - id: aws-x
    title: X
    severity: low
    resource_types: [T]
    condition: |
      resource.a == 1 &&
        nope
    message: m
`,
			wantLine: 8, wantCol: 9,
		},
		{
			name: "folded block",
			yaml: `rules:
  - id: aws-x
    title: X
    severity: low
    resource_types: [T]
    condition: >-
      resource.a == 1 &&
      resource.b == 2 && nope
    message: m
`,
			wantLine: 8, wantCol: 26,
		},
		{
			name: "message expression",
			yaml: `rules:
  - id: aws-x
    title: X
    severity: low
    resource_types: [T]
    condition: "true"
    message: "bucket {{ nope }} is bad"
`,
			wantLine: 7, wantCol: 25,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := ParseRules("x.rules.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("ParseRules: %v", err)
			}
			_, err = Compile(rules)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile() error = %v, want a *CompileError", err)
			}
			if ce.File != "x.rules.yaml" || ce.Rule != "aws-x" || ce.Line != tt.wantLine || ce.Column != tt.wantCol {
				t.Errorf("got %s:%d:%d rule %s, want x.rules.yaml:%d:%d rule aws-x (%v)",
					ce.File, ce.Line, ce.Column, ce.Rule, tt.wantLine, tt.wantCol, err)
			}
			if !strings.Contains(ce.Msg, "nope") {
				t.Errorf("Msg = %q, want it to name the undeclared reference", ce.Msg)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name      string
		rule      Rule
		opts      []Option
		in        Input
		ctx       func() context.Context
		want      Result
		wantMsg   string // substring
		wantExact string
	}{
		{
			name:      "pass message",
			rule:      rule("aws-a", "resource.Versioning == 'Enabled'"),
			in:        Input{Resource: bucket(map[string]any{"Versioning": "Enabled"})},
			want:      Pass,
			wantExact: "Title of aws-a — compliant",
		},
		{
			name: "fail message rendered",
			rule: func() Rule {
				r := rule("aws-a", "resource.Versioning == 'Enabled'")
				r.Message = "Bucket {{ resource.Name }} versioning is {{ resource.Versioning }}; grants {{ resource.Grants }}, {{ resource.Count + 1 }}, {{ resource.Acl }}"
				return r
			}(),
			in: Input{Resource: bucket(map[string]any{"Name": "b1", "Versioning": "Suspended", "Grants": []any{"READ", "WRITE"},
				"Count": int64(2), "Acl": map[string]any{"b": true, "a": "x"}})},
			want:      Fail,
			wantExact: "Bucket b1 versioning is Suspended; grants READ, WRITE, 3, {a: x, b: true}",
		},
		{
			name: "message expression error does not change a fail",
			rule: func() Rule {
				r := rule("aws-a", "false")
				r.Message = "x {{ resource.Missing }} y"
				return r
			}(),
			in:      Input{Resource: bucket(map[string]any{})},
			want:    Fail,
			wantMsg: "x <error: no such key: Missing> y",
		},
		{
			name: "nested values rendered",
			rule: func() Rule {
				r := rule("aws-a", "false")
				r.Message = "{{ resource.L }} / {{ resource.M }} / {{ resource.N }} / {{ 1.5 }} / {{ resource.L.size() > 1 }}"
				return r
			}(),
			in: Input{Resource: bucket(map[string]any{
				"L": []any{map[string]any{"a": int64(1)}, map[string]any{"b": []any{"x", "y"}, "c": nil}},
				"M": map[string]any{}, "N": nil,
			})},
			want:      Fail,
			wantExact: "{a: 1}, {b: [x, y], c: null} / {} / null / 1.5 / true",
		},
		{
			name:      "empty message uses title",
			rule:      func() Rule { r := rule("aws-a", "false"); r.Message = ""; return r }(),
			in:        Input{Resource: bucket(map[string]any{})},
			want:      Fail,
			wantExact: "Title of aws-a",
		},
		{
			name:      "deleted resource passes by default",
			rule:      rule("aws-a", "resource.Missing"),
			in:        Input{Resource: resource.Resource{Ref: resource.Ref{Type: bucketType}}},
			want:      Pass,
			wantExact: "resource no longer exists",
		},
		{
			name:      "deleted resource fails when the rule says so",
			rule:      func() Rule { r := rule("aws-a", "true"); r.Deleted = Fail; return r }(),
			in:        Input{Resource: resource.Resource{Ref: resource.Ref{Type: bucketType}}},
			want:      Fail,
			wantExact: "resource no longer exists",
		},
		{
			name:    "missing key is an error",
			rule:    rule("aws-a", "resource.Missing == 'x'"),
			in:      Input{Resource: bucket(map[string]any{})},
			want:    Error,
			wantMsg: "no such key: Missing",
		},
		{
			name:    "nil document is an empty map",
			rule:    rule("aws-a", "size(resource) == 0"),
			in:      Input{Resource: resource.Resource{Ref: resource.Ref{Type: bucketType}, Exists: true}},
			want:    Pass,
			wantMsg: "compliant",
		},
		{
			name:    "dyn condition that is not bool is an error",
			rule:    rule("aws-a", "resource.Name"),
			in:      Input{Resource: bucket(map[string]any{"Name": "b"})},
			want:    Error,
			wantMsg: "result is string, want bool",
		},
		{
			name:    "wrong type at run time is an error",
			rule:    rule("aws-a", "resource.Name > 3"),
			in:      Input{Resource: bucket(map[string]any{"Name": "b"})},
			want:    Error,
			wantMsg: "no such overload",
		},
		{
			name:    "cost limit",
			rule:    rule("aws-a", "resource.L.all(x, resource.L.all(y, x + y >= 0))"),
			opts:    []Option{WithCostLimit(1000)},
			in:      Input{Resource: bucket(map[string]any{"L": manyInts(100)})},
			want:    Error,
			wantMsg: "cost limit exceeded",
		},
		{
			name: "cancelled context",
			rule: rule("aws-a", "resource.L.all(x, resource.L.all(y, x + y >= 0))"),
			in:   Input{Resource: bucket(map[string]any{"L": manyInts(300)})},
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			want:    Error,
			wantMsg: "operation interrupted",
		},
		{
			name: "int document field against int literal",
			rule: rule("aws-a", "resource.N >= 14 && resource.N == 14 && resource.N < 14.5 && resource.N in [14]"),
			in:   Input{Resource: bucket(map[string]any{"N": int64(14)})},
			want: Pass,
		},
		{
			name: "double document field against int literal",
			rule: rule("aws-a", "resource.N >= 14 && resource.N == 14 && resource.N < 15 && resource.N in [14]"),
			in:   Input{Resource: bucket(map[string]any{"N": float64(14)})},
			want: Pass,
		},
		{
			name: "ref and tags",
			rule: rule("aws-a", "ref.type == 'AWS::S3::Bucket' && ref.account == '123456789012' && ref.region == 'eu-west-1' && ref.id.startsWith('arn:') && tags.env == 'prod' && !('x' in tags)"),
			in: Input{Resource: func() resource.Resource {
				r := bucket(map[string]any{})
				r.Tags = map[string]string{"env": "prod"}
				return r
			}()},
			want: Pass,
		},
		{
			name: "nil tags are an empty map",
			rule: rule("aws-a", "size(tags) == 0"),
			in:   Input{Resource: bucket(map[string]any{})},
			want: Pass,
		},
		{
			name: "change",
			rule: rule("aws-a", `change.operation == 'PutBucketAcl' && change.service == 's3.amazonaws.com' &&
				change.principal.arn == 'arn:aws:iam::123456789012:user/alice' && change.principal.name == 'alice' &&
				change.request.bucketName == 'b' && change.time == '2024-05-01T12:00:00Z' && change.cloud == 'aws' &&
				change.read_only == false && change.source_ip == '192.0.2.1' && change.response == {}`),
			in: Input{Resource: bucket(map[string]any{}), Change: &change.Change{
				Cloud: change.AWS, Operation: "PutBucketAcl", Service: "s3.amazonaws.com",
				Time:        time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
				Principal:   change.Principal{ARN: "arn:aws:iam::123456789012:user/alice", Name: "alice"},
				SourceIP:    "192.0.2.1",
				RequestJSON: json.RawMessage(`{"bucketName":"b"}`),
			}},
			want: Pass,
		},
		{
			name: "no change: every key present and empty",
			rule: rule("aws-a", "change.operation == '' && change.principal.arn == '' && change.request == {} && change.time == ''"),
			in:   Input{Resource: bucket(map[string]any{})},
			want: Pass,
		},
		{
			name: "previous",
			rule: rule("aws-a", "has_previous && previous.Versioning == 'Enabled' && resource.Versioning != previous.Versioning"),
			in:   Input{Resource: bucket(map[string]any{"Versioning": "Suspended"}), Previous: map[string]any{"Versioning": "Enabled"}},
			want: Pass,
		},
		{
			name: "no previous",
			rule: rule("aws-a", "!has_previous && previous == {}"),
			in:   Input{Resource: bucket(map[string]any{})},
			want: Pass,
		},
		{
			name: "now",
			rule: rule("aws-a", "now - timestamp(resource.Created) > duration('2160h')"),
			in: Input{Resource: bucket(map[string]any{"Created": "2024-01-01T00:00:00Z"}),
				Now: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)},
			want: Pass,
		},
		{
			name: "clock option",
			rule: rule("aws-a", "now == timestamp('2030-01-02T03:04:05Z')"),
			opts: []Option{WithClock(func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) })},
			in:   Input{Resource: bucket(map[string]any{})},
			want: Pass,
		},
		{
			name: "extension libraries and optionals",
			rule: rule("aws-a", `resource.Name.lowerAscii() == 'b' && sets.contains([1, 2, 3], [2]) &&
				resource.?Missing.orValue('d') == 'd' && base64.encode(b'a') == 'YQ==' &&
				cel.bind(x, 2, x * x == 4) && resource.M.all(k, v, v > 0) && [3, 1].sort() == [1, 3] &&
				math.greatest(1, 5) == 5`),
			in:   Input{Resource: bucket(map[string]any{"Name": "B", "M": map[string]any{"a": int64(1)}})},
			want: Pass,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustCompile(t, []Rule{tt.rule}, tt.opts...)
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			vs := e.Evaluate(ctx, tt.in)
			if len(vs) != 1 {
				t.Fatalf("got %d verdicts, want 1", len(vs))
			}
			v := vs[0]
			if v.Result != tt.want {
				t.Errorf("Result = %s (%s), want %s", v.Result, v.Message, tt.want)
			}
			if tt.wantMsg != "" && !strings.Contains(v.Message, tt.wantMsg) {
				t.Errorf("Message = %q, want it to contain %q", v.Message, tt.wantMsg)
			}
			if tt.wantExact != "" && v.Message != tt.wantExact {
				t.Errorf("Message = %q, want %q", v.Message, tt.wantExact)
			}
			if v.RuleID != tt.rule.ID || v.Rule == nil || v.Severity != tt.rule.Severity || v.Resource != tt.in.Resource.Ref {
				t.Errorf("verdict fields = %+v", v)
			}
		})
	}
}

func manyInts(n int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = int64(i)
	}
	return l
}

func TestEngineSelection(t *testing.T) {
	a := rule("aws-a", "true")
	b := rule("aws-b", "false")
	b.ResourceTypes = []string{bucketType, "AWS::S3::AccountPublicAccessBlock"}
	c := rule("aws-c", "true")
	c.ResourceTypes = []string{"AWS::IAM::Role"}
	e := mustCompile(t, []Rule{a, b, c})

	if got := ids(e.Rules()); got != "aws-a,aws-b,aws-c" {
		t.Errorf("Rules() = %s", got)
	}
	if got := ids(e.RulesFor(bucketType)); got != "aws-a,aws-b" {
		t.Errorf("RulesFor(bucket) = %s", got)
	}
	if got := ids(e.RulesFor("AWS::Nope")); got != "" {
		t.Errorf("RulesFor(unknown) = %s", got)
	}
	if got := strings.Join(e.Types(), ","); got != "AWS::IAM::Role,AWS::S3::AccountPublicAccessBlock,AWS::S3::Bucket" {
		t.Errorf("Types() = %s", got)
	}
	if r := e.Rule("aws-b"); r == nil || r.Mode != ModeAlert || r.Deleted != Pass {
		t.Errorf("Rule(aws-b) = %+v, want defaults mode alert, deleted pass", r)
	}
	if e.Rule("nope") != nil {
		t.Error("Rule(nope) != nil")
	}
	vs := e.Evaluate(context.Background(), Input{Resource: bucket(map[string]any{})})
	if len(vs) != 2 || vs[0].RuleID != "aws-a" || vs[0].Result != Pass || vs[1].RuleID != "aws-b" || vs[1].Result != Fail {
		t.Errorf("Evaluate() = %+v", vs)
	}
	if vs := e.Evaluate(context.Background(), Input{Resource: resource.Resource{Ref: resource.Ref{Type: "AWS::Nope"}, Exists: true}}); len(vs) != 0 {
		t.Errorf("Evaluate(unknown type) = %+v, want none", vs)
	}
}

func TestCompileDoesNotAliasInput(t *testing.T) {
	rules := []Rule{rule("aws-a", "true")}
	e := mustCompile(t, rules)
	rules[0].Title = "changed"
	if e.Rule("aws-a").Title == "changed" {
		t.Error("engine rule changed with the caller's slice")
	}
	if rules[0].Mode != "" {
		t.Error("Compile changed the caller's rule")
	}
}

func ids(rs []*Rule) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.ID)
	}
	return strings.Join(s, ",")
}

// TestEvaluateConcurrent evaluates from several goroutines (run with -race).
func TestEvaluateConcurrent(t *testing.T) {
	r := rule("aws-a", "resource.N > 1")
	r.Message = "n is {{ resource.N }} {{ string(resource.N + 1) }}"
	e := mustCompile(t, []Rule{r, rule("aws-b", "true")})
	done := make(chan []Verdict)
	for i := range 8 {
		go func() {
			var last []Verdict
			for range 50 {
				last = e.Evaluate(context.Background(), Input{Resource: bucket(map[string]any{"N": int64(i % 2)})})
			}
			done <- last
		}()
	}
	for range 8 {
		vs := <-done
		if len(vs) != 2 || vs[0].Result != Fail || !strings.HasPrefix(vs[0].Message, "n is ") {
			t.Errorf("Evaluate() = %+v", vs)
		}
	}
}
