package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// TestFile is a rule-test file:
//
//	tests:
//	  - rule: aws-s3-bucket-public-acl
//	    cases:
//	      - name: private bucket
//	        resource: { ...document... }
//	        expect: pass                  # pass | fail | error
//	      - name: AllUsers READ grant
//	        resource: { ... }
//	        expect: fail
//	        message: AllUsers             # optional: the verdict message contains this
//
// Optional per case: exists (default true), tags, previous (the previous
// document; has_previous is true when given), baseline (the approved
// document, for rules of kind baseline), change (see TestChange), ref
// (fields override the default ref: type = the rule's first resource type,
// id "arn:aws:test:::resource", account 123456789012, region us-east-1) and
// now (RFC 3339; default 2025-01-01T00:00:00Z, so that rules reading now
// give the same verdict every day). YAML integers in documents become int64
// as in fetched documents.
type TestFile struct {
	// File is where the tests were read from (set by ParseTests).
	File  string     `yaml:"-"`
	Tests []RuleTest `yaml:"tests"`
}

// RuleTest holds the cases of one rule.
type RuleTest struct {
	Rule  string     `yaml:"rule"`
	Cases []TestCase `yaml:"cases"`
	// Line is the line of the entry in the file.
	Line int `yaml:"-"`
}

// TestCase is one document and the verdict the rule must give.
type TestCase struct {
	Name     string            `yaml:"name"`
	Resource map[string]any    `yaml:"resource"`
	Exists   *bool             `yaml:"exists"`
	Tags     map[string]string `yaml:"tags"`
	Previous map[string]any    `yaml:"previous"`
	Change   *TestChange       `yaml:"change"`
	Ref      *TestRef          `yaml:"ref"`
	Now      string            `yaml:"now"`
	Expect   Result            `yaml:"expect"`
	Message  string            `yaml:"message"`
	// Baseline is the approved document, for rules of kind baseline.
	Baseline map[string]any `yaml:"baseline"`
	// Line is the line of the case in the file.
	Line int `yaml:"-"`
}

// TestRef overrides fields of the default resource ref of a case.
type TestRef struct {
	Type    string `yaml:"type"`
	ID      string `yaml:"id"`
	Account string `yaml:"account"`
	Region  string `yaml:"region"`
}

// TestChange describes the triggering change of a case with the key names
// of the change variable.
type TestChange struct {
	Cloud     string         `yaml:"cloud"`
	EventID   string         `yaml:"event_id"`
	Time      string         `yaml:"time"`
	Account   string         `yaml:"account"`
	Region    string         `yaml:"region"`
	Service   string         `yaml:"service"`
	Operation string         `yaml:"operation"`
	EventType string         `yaml:"event_type"`
	ReadOnly  bool           `yaml:"read_only"`
	ErrorCode string         `yaml:"error_code"`
	Principal TestPrincipal  `yaml:"principal"`
	SourceIP  string         `yaml:"source_ip"`
	UserAgent string         `yaml:"user_agent"`
	Request   map[string]any `yaml:"request"`
	Response  map[string]any `yaml:"response"`
}

// TestPrincipal is the principal of a TestChange.
type TestPrincipal struct {
	ARN        string `yaml:"arn"`
	Type       string `yaml:"type"`
	ID         string `yaml:"id"`
	Account    string `yaml:"account"`
	Name       string `yaml:"name"`
	IssuerARN  string `yaml:"issuer_arn"`
	IssuerType string `yaml:"issuer_type"`
	InvokedBy  string `yaml:"invoked_by"`
}

// Test defaults.
const (
	TestAccount = "123456789012"
	TestRegion  = "us-east-1"
	TestID      = "arn:aws:test:::resource"
)

// TestNow is the default now of a test case.
var TestNow = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// TestResult is the outcome of one case.
type TestResult struct {
	File string
	Line int
	Rule string
	Case string
	// Expect is the expected result and Got the verdict's.
	Expect Result
	Got    Result
	// Message is the verdict's message.
	Message string
	Passed  bool
	// Reason says why a case failed.
	Reason string
}

// String returns "file:line: rule / case: PASS|FAIL reason".
func (r TestResult) String() string {
	status := "ok"
	if !r.Passed {
		status = "FAIL: " + r.Reason
	}
	return fmt.Sprintf("%s:%d: %s / %s: %s", r.File, r.Line, r.Rule, r.Case, status)
}

// ParseTests reads a rule-test file. Unknown keys are errors naming the
// file and line.
func ParseTests(file string, data []byte) (TestFile, error) {
	tf := TestFile{File: file}
	root, err := parseYAML(file, data)
	if err != nil || root == nil {
		return tf, err
	}
	list, err := topList(file, root, "tests")
	if err != nil || list == nil {
		return tf, err
	}
	var errs []error
	for _, n := range list.Content {
		if err := checkFields(file, n, reflect.TypeFor[RuleTest]()); err != nil {
			errs = append(errs, err)
			continue
		}
		var rt RuleTest
		if err := n.Decode(&rt); err != nil {
			errs = append(errs, yamlError(file, n, err))
			continue
		}
		rt.Line = n.Line
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value != "cases" {
				continue
			}
			for j, cn := range n.Content[i+1].Content {
				if j < len(rt.Cases) {
					rt.Cases[j].Line = cn.Line
				}
			}
		}
		for j := range rt.Cases {
			c := &rt.Cases[j]
			c.Resource = documentMap(c.Resource)
			c.Previous = documentMap(c.Previous)
			c.Baseline = documentMap(c.Baseline)
			if c.Change != nil {
				c.Change.Request = documentMap(c.Change.Request)
				c.Change.Response = documentMap(c.Change.Response)
			}
			switch c.Expect {
			case Pass, Fail, Error:
			default:
				errs = append(errs, fmt.Errorf("%s:%d: case %q: expect %q is not pass, fail or error", file, c.Line, c.Name, c.Expect))
			}
			if c.Now != "" {
				if _, err := time.Parse(time.RFC3339, c.Now); err != nil {
					errs = append(errs, fmt.Errorf("%s:%d: case %q: now: %w", file, c.Line, c.Name, err))
				}
			}
		}
		tf.Tests = append(tf.Tests, rt)
	}
	return tf, errors.Join(errs...)
}

// LoadTestsFS reads the test files of fsys that match the patterns, or
// every *.tests.yaml file when there are none.
func LoadTestsFS(fsys fs.FS, patterns ...string) ([]TestFile, error) {
	files, err := matchFiles(fsys, TestFileSuffix, patterns)
	if err != nil {
		return nil, err
	}
	var out []TestFile
	var errs []error
	for _, name := range files {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("read test file: %w", err))
			continue
		}
		tf, err := ParseTests(name, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, tf)
	}
	return out, errors.Join(errs...)
}

// documentMap converts a decoded YAML map into a document: integers become
// int64, timestamps RFC 3339 strings, and nested maps map[string]any.
func documentMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out, _ := documentValue(m).(map[string]any)
	return out
}

func documentValue(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint64:
		return int64(x)
	case float32:
		return float64(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = documentValue(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = documentValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = documentValue(e)
		}
		return out
	default:
		return v
	}
}

// RunTests runs every case of the files against the engine's rules. A test
// for a rule the engine does not have fails.
func RunTests(e *Engine, files ...TestFile) []TestResult {
	var out []TestResult
	ctx := context.Background()
	for _, f := range files {
		for _, rt := range f.Tests {
			c := e.compiled(rt.Rule)
			if len(rt.Cases) == 0 {
				out = append(out, TestResult{File: f.File, Line: rt.Line, Rule: rt.Rule, Reason: "no cases"})
			}
			for _, tc := range rt.Cases {
				res := TestResult{File: f.File, Line: tc.Line, Rule: rt.Rule, Case: tc.Name, Expect: tc.Expect}
				if c == nil {
					res.Reason = fmt.Sprintf("unknown rule %q", rt.Rule)
					out = append(out, res)
					continue
				}
				in, err := tc.input(c.rule)
				if err != nil {
					res.Reason = err.Error()
					out = append(out, res)
					continue
				}
				v := e.evaluate(ctx, c, &in, e.newActivation(&in))
				res.Got, res.Message = v.Result, v.Message
				switch {
				case v.Result != tc.Expect:
					res.Reason = fmt.Sprintf("want %s, got %s: %s", tc.Expect, v.Result, v.Message)
				case tc.Message != "" && !strings.Contains(v.Message, tc.Message):
					res.Reason = fmt.Sprintf("message %q does not contain %q", v.Message, tc.Message)
				default:
					res.Passed = true
				}
				out = append(out, res)
			}
		}
	}
	return out
}

// input builds the evaluation input of a case.
func (tc *TestCase) input(r *Rule) (Input, error) {
	ref := resource.Ref{ID: TestID, Account: TestAccount, Region: TestRegion}
	if len(r.ResourceTypes) > 0 {
		ref.Type = r.ResourceTypes[0]
	}
	if tc.Ref != nil {
		for dst, src := range map[*string]string{&ref.Type: tc.Ref.Type, &ref.ID: tc.Ref.ID, &ref.Account: tc.Ref.Account, &ref.Region: tc.Ref.Region} {
			if src != "" {
				*dst = src
			}
		}
	}
	exists := tc.Exists == nil || *tc.Exists
	in := Input{
		Resource: resource.Resource{Ref: ref, Exists: exists, Tags: tc.Tags},
		Previous: tc.Previous,
		Baseline: tc.Baseline,
		Now:      TestNow,
	}
	if exists {
		in.Resource.Doc = tc.Resource
		if in.Resource.Doc == nil {
			in.Resource.Doc = map[string]any{}
		}
	}
	if in.Resource.Tags == nil {
		in.Resource.Tags = map[string]string{}
	}
	if tc.Now != "" {
		t, err := time.Parse(time.RFC3339, tc.Now)
		if err != nil {
			return in, fmt.Errorf("now: %w", err)
		}
		in.Now = t
	}
	if tc.Change != nil {
		c, err := tc.Change.change()
		if err != nil {
			return in, err
		}
		in.Change = c
	}
	return in, nil
}

func (tc *TestChange) change() (*change.Change, error) {
	c := &change.Change{
		Cloud: tc.Cloud, EventID: tc.EventID, Account: tc.Account, Region: tc.Region,
		Service: tc.Service, Operation: tc.Operation, EventType: tc.EventType,
		ReadOnly: tc.ReadOnly, ErrorCode: tc.ErrorCode, SourceIP: tc.SourceIP, UserAgent: tc.UserAgent,
		Principal: change.Principal{
			ARN: tc.Principal.ARN, Type: tc.Principal.Type, ID: tc.Principal.ID,
			Account: tc.Principal.Account, Name: tc.Principal.Name, IssuerARN: tc.Principal.IssuerARN,
			IssuerType: tc.Principal.IssuerType, InvokedBy: tc.Principal.InvokedBy,
		},
	}
	if c.Cloud == "" {
		c.Cloud = change.AWS
	}
	if tc.Time != "" {
		t, err := time.Parse(time.RFC3339, tc.Time)
		if err != nil {
			return nil, fmt.Errorf("change time: %w", err)
		}
		c.Time = t
	}
	var err error
	if tc.Request != nil {
		if c.RequestJSON, err = json.Marshal(tc.Request); err != nil {
			return nil, fmt.Errorf("change request: %w", err)
		}
	}
	if tc.Response != nil {
		if c.ResponseJSON, err = json.Marshal(tc.Response); err != nil {
			return nil, fmt.Errorf("change response: %w", err)
		}
	}
	return c, nil
}

// Coverage returns, sorted, the ids of the engine's rules that the files do
// not test with at least one case expecting pass and one expecting fail.
func Coverage(e *Engine, files ...TestFile) []string {
	type seen struct{ pass, fail bool }
	cov := map[string]*seen{}
	for _, f := range files {
		for _, rt := range f.Tests {
			s := cov[rt.Rule]
			if s == nil {
				s = &seen{}
				cov[rt.Rule] = s
			}
			for _, c := range rt.Cases {
				s.pass = s.pass || c.Expect == Pass
				s.fail = s.fail || c.Expect == Fail
			}
		}
	}
	var out []string
	for _, r := range e.Rules() {
		if s := cov[r.ID]; s == nil || !s.pass || !s.fail {
			out = append(out, r.ID)
		}
	}
	sort.Strings(out)
	return out
}
