package policy

import (
	"reflect"
	"strings"
	"testing"
)

const testRules = `rules:
  - id: aws-t-length
    title: Password length
    severity: medium
    resource_types: [AWS::IAM::AccountPasswordPolicy]
    condition: resource.MinimumPasswordLength >= 14 && type(resource.MinimumPasswordLength) == int
    message: "length {{ resource.MinimumPasswordLength }}"
  - id: aws-t-context
    title: Context
    severity: low
    resource_types: [AWS::S3::Bucket]
    condition: >-
      ref.account == '111122223333' && ref.type == 'AWS::S3::Bucket' && tags.env == 'prod' &&
      has_previous && previous.V == 1 && change.operation == 'PutBucketAcl' &&
      change.request.bucketName == 'b' && change.principal.name == 'alice' &&
      now == timestamp('2024-02-03T04:05:06Z') && change.time == '2024-01-01T00:00:00Z'
    message: context
  - id: aws-t-untested
    title: Untested
    severity: low
    resource_types: [AWS::S3::Bucket]
    condition: "true"
    message: x
`

const testCases = `tests:
  - rule: aws-t-length
    cases:
      - name: long enough
        resource: {MinimumPasswordLength: 14}
        expect: pass
      - name: too short
        resource: {MinimumPasswordLength: 8}
        expect: fail
        message: length 8
      - name: wrong expectation
        resource: {MinimumPasswordLength: 8}
        expect: pass
      - name: wrong message
        resource: {MinimumPasswordLength: 8}
        expect: fail
        message: length 9
      - name: missing key
        resource: {}
        expect: error
      - name: gone
        exists: false
        expect: pass
  - rule: aws-t-context
    cases:
      - name: everything given
        resource: {}
        ref: {account: "111122223333"}
        tags: {env: prod}
        previous: {V: 1}
        now: "2024-02-03T04:05:06Z"
        change:
          operation: PutBucketAcl
          time: "2024-01-01T00:00:00Z"
          principal: {name: alice}
          request: {bucketName: b}
        expect: pass
      - name: defaults
        resource: {}
        expect: fail
  - rule: aws-t-nope
    cases:
      - name: unknown rule
        resource: {}
        expect: pass
`

func TestRunTests(t *testing.T) {
	rules, err := ParseRules("t.rules.yaml", []byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	e := mustCompile(t, rules)
	tf, err := ParseTests("t.tests.yaml", []byte(testCases))
	if err != nil {
		t.Fatalf("ParseTests: %v", err)
	}
	results := RunTests(e, tf)
	type outcome struct {
		passed bool
		reason string
	}
	want := map[string]outcome{
		"long enough":       {true, ""},
		"too short":         {true, ""},
		"wrong expectation": {false, "want pass, got fail: length 8"},
		"wrong message":     {false, `message "length 8" does not contain "length 9"`},
		"missing key":       {true, ""},
		"gone":              {true, ""},
		"everything given":  {true, ""},
		"defaults":          {true, ""},
		"unknown rule":      {false, `unknown rule "aws-t-nope"`},
	}
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d: %v", len(results), len(want), results)
	}
	for _, r := range results {
		w, ok := want[r.Case]
		if !ok {
			t.Errorf("unexpected case %q", r.Case)
			continue
		}
		if r.Passed != w.passed || r.Reason != w.reason {
			t.Errorf("%s: passed %v reason %q, want %v %q", r.Case, r.Passed, r.Reason, w.passed, w.reason)
		}
		if r.File != "t.tests.yaml" || r.Line == 0 {
			t.Errorf("%s: position %s:%d", r.Case, r.File, r.Line)
		}
	}
	if got := results[0].String(); got != "t.tests.yaml:4: aws-t-length / long enough: ok" {
		t.Errorf("String() = %q", got)
	}
	if got := results[2].String(); !strings.Contains(got, "FAIL: want pass") {
		t.Errorf("String() = %q", got)
	}
}

func TestParseTestsDocumentValues(t *testing.T) {
	tf, err := ParseTests("x.tests.yaml", []byte(`tests:
  - rule: r
    cases:
      - name: c
        resource:
          N: 14
          F: 1.5
          L: [1, {M: 2}]
          S: "14"
          D: 2024-01-02T03:04:05Z
          B: true
          Z: null
        previous: {P: 3}
        expect: pass
`))
	if err != nil {
		t.Fatal(err)
	}
	got := tf.Tests[0].Cases[0]
	wantDoc := map[string]any{
		"N": int64(14), "F": 1.5, "L": []any{int64(1), map[string]any{"M": int64(2)}}, "S": "14",
		"D": "2024-01-02T03:04:05Z", "B": true, "Z": nil,
	}
	if !reflect.DeepEqual(got.Resource, wantDoc) {
		t.Errorf("Resource = %#v\nwant %#v", got.Resource, wantDoc)
	}
	if !reflect.DeepEqual(got.Previous, map[string]any{"P": int64(3)}) {
		t.Errorf("Previous = %#v", got.Previous)
	}
	if tf.File != "x.tests.yaml" || tf.Tests[0].Line != 2 || got.Line != 4 {
		t.Errorf("positions: file %q rule line %d case line %d", tf.File, tf.Tests[0].Line, got.Line)
	}
}

func TestParseTestsErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{name: "unknown case field", yaml: "tests:\n  - rule: r\n    cases:\n      - name: c\n        expected: pass\n", want: `x.tests.yaml:5: unknown field "expected"`},
		{name: "unknown change field", yaml: "tests:\n  - rule: r\n    cases:\n      - name: c\n        expect: pass\n        change: {op: x}\n", want: `x.tests.yaml:6: unknown field "op"`},
		{name: "unknown principal field", yaml: "tests:\n  - rule: r\n    cases:\n      - name: c\n        expect: pass\n        change:\n          principal: {user: x}\n", want: `x.tests.yaml:7: unknown field "user"`},
		{name: "bad expect", yaml: "tests:\n  - rule: r\n    cases:\n      - name: c\n        expect: ok\n", want: `x.tests.yaml:4: case "c": expect "ok"`},
		{name: "missing expect", yaml: "tests:\n  - rule: r\n    cases:\n      - name: c\n", want: `expect ""`},
		{name: "bad now", yaml: "tests:\n  - rule: r\n    cases:\n      - name: c\n        expect: pass\n        now: yesterday\n", want: `now: parsing time`},
		{name: "unknown top key", yaml: "test: []\n", want: `unknown field "test"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTests("x.tests.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseTests() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	rules := []Rule{rule("aws-a", "true"), rule("aws-b", "true"), rule("aws-c", "true"), rule("aws-d", "true")}
	e := mustCompile(t, rules)
	files := []TestFile{
		{Tests: []RuleTest{
			{Rule: "aws-a", Cases: []TestCase{{Expect: Pass}, {Expect: Fail}}},
			{Rule: "aws-b", Cases: []TestCase{{Expect: Pass}, {Expect: Error}}},
		}},
		{Tests: []RuleTest{
			{Rule: "aws-c", Cases: []TestCase{{Expect: Fail}}},
			{Rule: "aws-c", Cases: []TestCase{{Expect: Pass}}},
		}},
	}
	if got := Coverage(e, files...); !reflect.DeepEqual(got, []string{"aws-b", "aws-d"}) {
		t.Errorf("Coverage() = %v, want [aws-b aws-d]", got)
	}
}
