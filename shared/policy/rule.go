// Package policy evaluates resources against rules written as YAML data with
// CEL (https://cel.dev) expressions. Rules are compiled once, at start-up; a
// compile error names the file, the rule and the position. Each evaluation
// runs under a CEL cost limit, and a rule that errors yields an Error
// verdict, never a silent pass.
//
// # Rule files
//
// A rule file holds a list of rules:
//
//	rules:
//	  - id: aws-s3-bucket-public-acl          # unique, kebab-case, cloud prefix
//	    title: S3 bucket ACL grants access to everyone
//	    severity: high                        # critical | high | medium | low | info
//	    resource_types: [AWS::S3::Bucket]
//	    condition: >-                         # CEL, must be bool; true = compliant
//	      !resource.Acl.Grants.exists(g, g.Grantee.URI in [...])
//	    message: "Bucket {{ resource.Name }} grants {{ ... }} to everyone"
//	    references:
//	      cis: ["2.1.4"]                      # CIS AWS Foundations Benchmark v3.0.0
//	      urls: ["https://docs.aws.amazon.com/..."]
//	    mode: alert                           # alert | ticket | revert (default action)
//	    remediation: s3-remove-public-acl-grants   # name of the revert action, optional
//	    deleted: pass                         # verdict when the resource no longer exists: pass (default) | fail
//
// A rule of kind baseline has watch (dotted paths) instead of a condition:
// it fails when the document differs from the resource's approved baseline
// on a watched path, and its message ends with the differences as JSON
// (see Diff and WithBaselines).
//
// The message is a template: each {{ expr }} is a CEL expression compiled
// with the rule and rendered into the text.
//
// # Variables
//
// Conditions and message expressions see:
//
//   - resource: the resource document (map) as read live;
//   - ref: map(string, string) {type, id, account, region} of the resource;
//   - tags: map(string, string) of the resource's tags ({} when none);
//   - change: the change that triggered the check, every key always
//     present (empty values when the check was not triggered by a change):
//     cloud, event_id, time (RFC 3339), account, region, service,
//     operation, event_type, read_only, error_code, principal {arn, type,
//     id, account, name, issuer_arn, issuer_type, invoked_by}, source_ip,
//     user_agent, request and response (the decoded requestParameters and
//     responseElements, {} when absent);
//   - previous: the previous document where known, else {};
//     has_previous says which;
//   - now: the evaluation time (timestamp), for age checks such as
//     now - timestamp(resource.CreateDate) > duration('2160h').
//
// plus the helper functions documented in functions.go. Numbers compare
// across int and double, so resource.MinimumPasswordLength >= 14 holds
// whether the document holds 14 or 14.0.
//
// A message is rendered only for a failing verdict. A {{ }} expression
// that fails to evaluate is rendered as <error: ...> and does not change
// the verdict.
//
// # Rule tests
//
// Tests are YAML data beside the rules, in the style of cel-go's policy
// testdata: for each rule, cases with a resource document and the expected
// result. See TestFile.
package policy

import "github.com/driftwatch/driftwatch/shared/resource"

// Severity levels, highest first.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
	SeverityLow      = "low"
	SeverityInfo     = "info"
)

// Modes: what driftwatch does with a failing verdict by default.
const (
	ModeAlert  = "alert"
	ModeTicket = "ticket"
	ModeRevert = "revert"
)

// Result of evaluating one rule against one resource.
type Result string

// Results.
const (
	Pass  Result = "pass"
	Fail  Result = "fail"
	Error Result = "error"
)

// References tie a rule to benchmarks and documentation.
type References struct {
	// CIS are CIS AWS Foundations Benchmark v3.0.0 (or CIS Microsoft Azure
	// Foundations Benchmark) control ids.
	CIS  []string `yaml:"cis,omitempty" json:"cis,omitempty"`
	URLs []string `yaml:"urls,omitempty" json:"urls,omitempty"`
}

// Rule is one policy rule as written in a rule file.
type Rule struct {
	ID            string     `yaml:"id" json:"id"`
	Title         string     `yaml:"title" json:"title"`
	Description   string     `yaml:"description,omitempty" json:"description,omitempty"`
	Severity      string     `yaml:"severity" json:"severity"`
	ResourceTypes []string   `yaml:"resource_types" json:"resource_types"`
	Condition     string     `yaml:"condition" json:"condition"`
	Message       string     `yaml:"message" json:"message"`
	References    References `yaml:"references,omitempty" json:"references,omitempty"`
	Mode          string     `yaml:"mode,omitempty" json:"mode,omitempty"`
	Remediation   string     `yaml:"remediation,omitempty" json:"remediation,omitempty"`
	Deleted       Result     `yaml:"deleted,omitempty" json:"deleted,omitempty"`
	// Kind is empty for a rule with a condition, or KindBaseline for a rule
	// that compares the Watch paths of the document with the resource's
	// approved baseline (see baseline.go).
	Kind  string   `yaml:"kind,omitempty" json:"kind,omitempty"`
	Watch []string `yaml:"watch,omitempty" json:"watch,omitempty"`
	// File is the file the rule was loaded from (set by the loader).
	File string `yaml:"-" json:"file,omitempty"`
	// Line is the line of the rule in File (set by the loader).
	Line int `yaml:"-" json:"line,omitempty"`

	// Where the condition and message texts sit in File, for errors.
	conditionPos, messagePos sourcePos
}

// Verdict is the outcome of one rule for one resource.
type Verdict struct {
	Rule *Rule `json:"-"`
	// EventID is the change that led to the check ("" for a scan).
	EventID  string       `json:"event_id"`
	RuleID   string       `json:"rule"`
	Severity string       `json:"severity"`
	Resource resource.Ref `json:"resource"`
	Result   Result       `json:"result"`
	// Message explains the verdict: the rendered message template for a
	// fail, the error for an error, a short note for a pass.
	Message string `json:"message"`
}
