package publish

import (
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// SchemaVersion is the version of the FindingEvent shape. Keys are only
// ever added within a version; a removal or change of meaning bumps it.
const SchemaVersion = "1"

// Transitions (FindingEvent.Transition).
const (
	TransitionOpened   = "opened"
	TransitionRepeated = "repeated"
	TransitionResolved = "resolved"
	// TransitionNoted is not a change of status but a note about the
	// finding (a revert's result, a pause of the reverts of a flapping
	// resource): the note is the event's message.
	TransitionNoted = "noted"
)

// FindingEvent is the detail of a "driftwatch Finding" event: one
// transition of one finding. Its JSON shape is a public contract for
// subscribers (SIEMs, Security Hub automations): snake_case keys, every key
// always present (empty string, false, 0, {} or [] when there is nothing to
// say), times in RFC 3339 UTC.
//
//	{
//	  "schema_version": "1",
//	  "key": "aws/123456789012/arn:aws:s3:::logs/aws-s3-bucket-public-acl",
//	  "label": "dw-87dc2048e05edc6d",
//	  "cloud": "aws",
//	  "status": "open",
//	  "transition": "opened",
//	  "new_principal": false,
//	  "occurrence": 1,
//	  "notice_seq": 1,
//	  "rule": "aws-s3-bucket-public-acl",
//	  "severity": "high",
//	  "title": "S3 bucket ACL grants access to everyone",
//	  "resource": {"type": "AWS::S3::Bucket", "id": "arn:aws:s3:::logs", "account": "123456789012", "region": "us-east-1"},
//	  "message": "Bucket logs grants READ to AllUsers",
//	  "message_truncated": false,
//	  "first_seen": "2025-03-01T12:00:00Z",
//	  "last_seen": "2025-03-01T12:00:00Z",
//	  "count": 1,
//	  "resolve_reason": "",
//	  "note_severity": "",
//	  "at": "2025-03-01T12:00:03Z",
//	  "change": {"event_id": "…", "time": "2025-03-01T12:00:00Z", "principal_arn": "…", "principal_type": "IAMUser",
//	             "issuer_arn": "", "source_ip": "198.51.100.7", "user_agent": "aws-cli/2", "service": "s3.amazonaws.com",
//	             "operation": "PutBucketAcl"},
//	  "tickets": {"jira": "SEC-42"},
//	  "cis": ["2.1.4"]
//	}
type FindingEvent struct {
	SchemaVersion string `json:"schema_version"`
	// Key is the finding's key (finding.Key.String) and Label its short
	// form (finding.Key.Label), which tickets carry.
	Key   string `json:"key"`
	Label string `json:"label"`
	Cloud string `json:"cloud"`
	// Status is open after opened and repeated, resolved after resolved,
	// and the finding's status (open, resolved or suppressed) after noted.
	Status string `json:"status"`
	// Transition is opened, repeated, resolved or noted.
	Transition string `json:"transition"`
	// NewPrincipal is set on a repeat by another principal than the
	// previous change's.
	NewPrincipal bool `json:"new_principal"`
	// Occurrence counts the times the finding opened; NoticeSeq numbers the
	// finding's notices. A notice delivered twice (after a crash) carries
	// the same (key, notice_seq): subscribers deduplicate on it.
	Occurrence int   `json:"occurrence"`
	NoticeSeq  int64 `json:"notice_seq"`
	// Rule, Severity and Title describe the failing rule.
	Rule     string   `json:"rule"`
	Severity string   `json:"severity"`
	Title    string   `json:"title"`
	Resource Resource `json:"resource"`
	// Message is the verdict message at the transition, or the note of a
	// noted event, cut short (and MessageTruncated set) when the event
	// would exceed the entry size limit.
	Message          string `json:"message"`
	MessageTruncated bool   `json:"message_truncated"`
	// FirstSeen, LastSeen and Count describe the finding's current
	// occurrence when the event was sent.
	FirstSeen string `json:"first_seen"`
	LastSeen  string `json:"last_seen"`
	Count     int    `json:"count"`
	// ResolveReason is fixed or deleted on a resolved event, else "".
	ResolveReason string `json:"resolve_reason"`
	// NoteSeverity is the severity a noted event asks to be alerted at
	// ("high" when the reverts of a flapping resource are paused), else
	// "". Match {"transition": ["noted"], "note_severity": ["high"]} to
	// page on it.
	NoteSeverity string `json:"note_severity"`
	// At is when the transition happened.
	At string `json:"at"`
	// Change is the change behind the transition (the opening change, the
	// repeat, the fix); empty strings for a scheduled scan.
	Change Change `json:"change"`
	// Tickets maps a ticket system (jira, github) to the ticket, as known
	// when the event was sent.
	Tickets map[string]string `json:"tickets"`
	// CIS are the CIS Benchmark control IDs of the rule.
	CIS []string `json:"cis"`
}

// Resource names the resource of a finding.
type Resource struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Account string `json:"account"`
	Region  string `json:"region"`
}

// Change is who changed what, when and from where.
type Change struct {
	EventID       string `json:"event_id"`
	Time          string `json:"time"`
	PrincipalARN  string `json:"principal_arn"`
	PrincipalType string `json:"principal_type"`
	IssuerARN     string `json:"issuer_arn"`
	SourceIP      string `json:"source_ip"`
	UserAgent     string `json:"user_agent"`
	Service       string `json:"service"`
	Operation     string `json:"operation"`
}

// NewEvent returns the event of notice n of finding f. rule, when not nil,
// supplies the CIS references and fills a missing title or severity.
func NewEvent(f *finding.Finding, n finding.Notice, rule *policy.Rule) FindingEvent {
	e := FindingEvent{
		SchemaVersion: SchemaVersion,
		Key:           f.Key.String(),
		Label:         f.Key.Label(),
		Cloud:         f.Cloud,
		Status:        string(finding.StatusOpen),
		Occurrence:    n.Occurrence,
		NoticeSeq:     n.Seq,
		Rule:          f.RuleID,
		Severity:      f.Severity,
		Title:         f.Title,
		Resource: Resource{
			Type: f.Resource.Type, ID: f.Resource.ID, Account: f.Resource.Account, Region: f.Resource.Region,
		},
		Message:   n.Message,
		FirstSeen: stamp(f.FirstSeen),
		LastSeen:  stamp(f.LastSeen),
		Count:     f.Count,
		At:        stamp(n.At),
		Change: Change{
			EventID: n.Change.EventID, Time: stamp(n.Change.Time), PrincipalARN: n.Change.PrincipalARN,
			PrincipalType: n.Change.PrincipalType, IssuerARN: n.Change.IssuerARN, SourceIP: n.Change.SourceIP,
			UserAgent: n.Change.UserAgent, Service: n.Change.Service, Operation: n.Change.Operation,
		},
		Tickets: map[string]string{},
		CIS:     []string{},
	}
	switch n.Kind {
	case finding.Opened:
		e.Transition = TransitionOpened
	case finding.Resolved:
		e.Transition, e.Status, e.ResolveReason = TransitionResolved, string(finding.StatusResolved), n.Reason
	case finding.Noted:
		e.Transition, e.Message, e.NoteSeverity = TransitionNoted, n.Note, n.Severity
		if f.Status != "" {
			e.Status = string(f.Status)
		}
	default:
		e.Transition = TransitionRepeated
		e.NewPrincipal = n.Kind == finding.RepeatedNewPrincipal
	}
	if e.Cloud == "" {
		e.Cloud = f.Key.Cloud
	}
	if e.Rule == "" {
		e.Rule = f.Key.RuleID
	}
	if e.Resource.ID == "" {
		e.Resource.ID = f.Key.ResourceID
	}
	if e.Resource.Account == "" {
		e.Resource.Account = f.Account
	}
	if e.Resource.Region == "" {
		e.Resource.Region = f.Region
	}
	if e.Message == "" {
		e.Message = f.Message
	}
	for sys, key := range f.Tickets {
		e.Tickets[sys] = key
	}
	if rule != nil {
		if e.Title == "" {
			e.Title = rule.Title
		}
		if e.Severity == "" {
			e.Severity = rule.Severity
		}
		e.CIS = append(e.CIS, rule.References.CIS...)
	}
	return e
}

// stamp formats t in RFC 3339 UTC, "" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
