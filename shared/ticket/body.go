package ticket

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// Rules looks up a rule by ID, for what a finding does not carry (its CIS
// references, its remediation). *policy.Engine satisfies it.
type Rules interface {
	Rule(id string) *policy.Rule
}

// Body is the text of a ticket or a comment as data: headings and labels
// written by driftwatch, and values that may come from an event or a
// resource. Each ticket system renders it in its own markup (Jira: an
// Atlassian Document Format document; GitHub: Markdown) and is responsible
// for making the values inert there.
type Body struct {
	// Heading is driftwatch's text (severity and rule title); may be empty.
	Heading string
	// Intro is a sentence written by driftwatch.
	Intro    string
	Sections []Section
}

// Section is a titled part of a Body.
type Section struct {
	// Title is driftwatch's text.
	Title string
	// Fields are shown as a list of "Name: value" lines.
	Fields []Field
	// Block is multi-line text from a verdict, shown verbatim (a code
	// block), after the fields; already passed through Block.
	Block string
}

// Field is one labelled value.
type Field struct {
	// Name is driftwatch's label.
	Name string
	// Value is shown literally (code style) unless Text is set; it is
	// already passed through Line.
	Value string
	// Text says the value is text driftwatch formatted (a time, a count, a
	// reason) rather than an identifier from an event or a resource, and
	// reads better as plain text. Renderers still escape it.
	Text bool
}

// code returns a Field showing an identifier from an event or resource;
// empty values are dropped by the caller.
func code(name, value string) Field { return Field{Name: name, Value: Line(value, MaxValue)} }

// text returns a Field showing text driftwatch formatted.
func text(name, value string) Field {
	return Field{Name: name, Value: Line(value, MaxValue), Text: true}
}

// fields drops the fields with empty values.
func fields(fs ...Field) []Field {
	out := fs[:0]
	for _, f := range fs {
		if f.Value != "" {
			out = append(out, f)
		}
	}
	return out
}

// Title returns the title of a ticket for f without its resource:
// "[HIGH] S3 bucket ACL grants access to everyone" (the rule ID when the
// finding has no title). Each ticket system adds the resource in its own
// markup.
func Title(f *finding.Finding) string {
	title := f.Title
	if title == "" {
		title = f.RuleID
	}
	sev := strings.ToUpper(f.Severity)
	if sev == "" {
		sev = "FINDING"
	}
	return Line("["+sev+"] "+title, MaxTitle)
}

// Opened returns the description of a new ticket for f: the rule, the
// resource, the change behind the notice, why the rule fails, the
// references of the rule (from rules, which may be nil) and the finding's
// key and label. previous names the ticket of an earlier occurrence, if
// any.
func Opened(f *finding.Finding, n finding.Notice, rules Rules, previous string) Body {
	var rule *policy.Rule
	if rules != nil {
		rule = rules.Rule(f.RuleID)
	}
	b := Body{
		Heading: Title(f),
		Intro:   "driftwatch found a resource that fails a policy rule. This ticket is updated when the resource changes again and closed when it is fixed.",
	}
	b.Sections = append(b.Sections, Section{Title: "Resource", Fields: resourceFields(f)})
	b.Sections = appendChange(b.Sections, n.Change)
	if m := message(f, n); m != "" {
		b.Sections = append(b.Sections, Section{Title: "Why it fails", Block: m})
	}
	rf := []Field{code("Rule", f.RuleID), text("Severity", f.Severity)}
	if rule != nil {
		if len(rule.References.CIS) > 0 {
			rf = append(rf, code("CIS AWS Foundations Benchmark v3.0.0", strings.Join(rule.References.CIS, ", ")))
		}
		for _, u := range rule.References.URLs {
			rf = append(rf, code("Documentation", u))
		}
		rf = append(rf, code("Remediation", rule.Remediation))
	}
	b.Sections = append(b.Sections, Section{Title: "Rule", Fields: fields(rf...)})
	b.Sections = append(b.Sections, Section{Title: "Finding", Fields: fields(
		code("Key", f.Key.String()),
		code("Label", f.Key.Label()),
		text("Occurrence", strconv.Itoa(max(n.Occurrence, f.Occurrence))),
		text("First seen", when(f.FirstSeen)),
		code("Previous ticket", previous),
	)})
	return b
}

// Reopened returns the comment added to a ticket that is still open when
// its finding opens again (a new occurrence).
func Reopened(f *finding.Finding, n finding.Notice) Body {
	b := Body{Intro: fmt.Sprintf("The finding opened again (occurrence %d) while this ticket was still open.", max(n.Occurrence, f.Occurrence))}
	b.Sections = appendChange(b.Sections, n.Change)
	if m := message(f, n); m != "" {
		b.Sections = append(b.Sections, Section{Title: "Why it fails", Block: m})
	}
	return b
}

// Repeated returns the comment for a change that kept f failing, naming
// the change and its principal.
func Repeated(f *finding.Finding, n finding.Notice) Body {
	intro := "The resource was changed again and still fails the rule."
	if n.Kind == finding.RepeatedNewPrincipal {
		intro = "Another principal changed the resource, and it still fails the rule."
	}
	b := Body{Intro: intro}
	b.Sections = appendChange(b.Sections, n.Change)
	if m := message(f, n); m != "" {
		b.Sections = append(b.Sections, Section{Title: "Why it fails", Block: m})
	}
	b.Sections = append(b.Sections, Section{Title: "Finding", Fields: fields(
		text("Failing changes so far", strconv.Itoa(f.Count)),
		text("First seen", when(f.FirstSeen)),
	)})
	return b
}

// Noted returns the comment carrying a note about f (n.Kind Noted): what
// driftwatch did to the resource, such as a revert's result. The note is
// shown verbatim as a block (its first line the summary, the others the
// calls of a revert), and a note asking for an alert says at which
// severity.
func Noted(f *finding.Finding, n finding.Notice) Body {
	intro := "driftwatch noted what it did about this finding."
	if n.Severity != "" {
		intro = "driftwatch noted what it did about this finding, and asks for attention."
	}
	b := Body{Intro: intro}
	if note := strings.TrimSpace(n.Note); note != "" {
		b.Sections = append(b.Sections, Section{Title: "Note", Block: Block(note, MaxBlock)})
	}
	b.Sections = append(b.Sections, Section{Title: "Finding", Fields: fields(
		text("Alert severity", n.Severity),
		text("Status", string(f.Status)),
		text("Noted at", when(n.At)),
	)})
	return b
}

// Resolved returns the comment that closes f's ticket: the reason and the
// change that fixed it, if any.
func Resolved(f *finding.Finding, n finding.Notice) Body {
	reason := n.Reason
	if reason == "" {
		reason = f.ResolveReason
	}
	var intro string
	switch reason {
	case finding.ReasonDeleted:
		intro = "Resolved: the resource was deleted."
	case finding.ReasonFixed, "":
		intro = "Resolved: the resource passes the rule again."
	default:
		intro = "Resolved."
	}
	b := Body{Intro: intro}
	b.Sections = appendChange(b.Sections, n.Change)
	resolvedAt := f.ResolvedAt
	if resolvedAt.IsZero() {
		resolvedAt = n.At
	}
	b.Sections = append(b.Sections, Section{Title: "Finding", Fields: fields(
		text("Reason", reason),
		text("Open since", when(f.FirstSeen)),
		text("Resolved at", when(resolvedAt)),
		text("Failing changes", strconv.Itoa(f.Count)),
	)})
	return b
}

// appendChange appends the Change section for c and, when c kept its
// request parameters, a section showing them as indented JSON.
func appendChange(sections []Section, c finding.Change) []Section {
	ch := changeFields(c)
	if len(ch) == 0 {
		return sections
	}
	sections = append(sections, Section{Title: "Change", Fields: ch})
	if req := requestBlock(c.Request); req != "" {
		sections = append(sections, Section{Title: "Request parameters", Block: req})
	}
	return sections
}

// requestBlock returns a change's request parameters indented, bounded and
// cleaned for a code block; "" when there are none.
func requestBlock(raw string) string {
	if raw == "" {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(raw), "", "  "); err != nil {
		return Block(raw, MaxBlock)
	}
	if s := buf.String(); s == "{}" || s == "null" {
		return ""
	}
	return Block(buf.String(), MaxBlock)
}

func resourceFields(f *finding.Finding) []Field {
	region := f.Resource.Region
	if region == "" {
		region = f.Region
	}
	account := f.Resource.Account
	if account == "" {
		account = f.Account
	}
	return fields(
		code("Type", f.Resource.Type),
		code("ID", f.Resource.ID),
		code("Account", account),
		code("Region", region),
	)
}

func changeFields(c finding.Change) []Field {
	if c.EventID == "" && c.PrincipalARN == "" && c.Operation == "" && c.Time.IsZero() {
		return nil // a scan, not a change
	}
	op := c.Operation
	if c.Service != "" && op != "" {
		op = c.Service + " " + op
	}
	return fields(
		code("Principal", c.PrincipalARN),
		code("Principal type", c.PrincipalType),
		code("Issuer", c.IssuerARN),
		code("Source IP", c.SourceIP),
		code("User agent", c.UserAgent),
		text("When", when(c.Time)),
		code("Operation", op),
		code("Event ID", c.EventID),
	)
}

func message(f *finding.Finding, n finding.Notice) string {
	m := n.Message
	if m == "" {
		m = f.Message
	}
	if strings.TrimSpace(m) == "" {
		return ""
	}
	return Block(m, MaxBlock)
}

// when formats t in UTC, RFC 3339; "" for the zero time.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
