// Package finding turns verdicts into findings that exist once: a failing
// rule on a resource opens a finding, further failures update it in place,
// and a pass (or the resource's deletion) resolves it.
//
// A Lifecycle applies what the pipeline learned from one change (an Input,
// built from detect.Outcome) to a Store and returns one Transition per
// verdict. Every write is conditional (insert-if-absent, update-if-version),
// never read-then-write, so concurrent deliveries of the same change open a
// finding exactly once, and only the delivery that won the write announces
// it through the Notifiers. Announcements go through a per-finding outbox
// guarded by a lease, so a crash between the write and the announcement is
// repaired by the next delivery instead of being lost or repeated.
//
// The Store interface is declared here, by its consumer; the SQLite and
// DynamoDB implementations live under shared/state. docs/findings.md
// describes the lifecycle, the keys, the schemas and the guarantees.
package finding

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Status of a finding.
type Status string

// Statuses.
const (
	// StatusOpen: the rule fails and nobody waived it.
	StatusOpen Status = "open"
	// StatusResolved: the rule passed again, or the resource is gone.
	StatusResolved Status = "resolved"
	// StatusSuppressed: the rule fails but a Waiver (an exception, an allowlisted
	// principal) covers it; it is recorded, not announced.
	StatusSuppressed Status = "suppressed"
)

// Reasons a finding was resolved (Finding.ResolveReason).
const (
	ReasonFixed   = "fixed"
	ReasonDeleted = "deleted"
)

// Change summarises one change for display and comparison: who did what,
// when and from where. It is a small, stored copy of change.Change.
type Change struct {
	EventID string    `json:"event_id,omitempty"`
	Time    time.Time `json:"time,omitzero"`
	// PrincipalARN is the caller's ARN (for an assumed role, the session
	// ARN); it is what "a different principal" compares.
	PrincipalARN  string `json:"principal_arn,omitempty"`
	PrincipalType string `json:"principal_type,omitempty"`
	// IssuerARN is the role or user behind a session, when there is one.
	IssuerARN string `json:"issuer_arn,omitempty"`
	SourceIP  string `json:"source_ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	Service   string `json:"service,omitempty"`
	Operation string `json:"operation,omitempty"`
	// Request is the change's request parameters as sent (CloudTrail's
	// requestParameters, JSON text), kept when at most MaxRequest bytes so
	// that notices can say what the change did. A string keeps Change
	// comparable.
	Request string `json:"request,omitempty"`
}

// MaxRequest bounds the request parameters a finding keeps.
const MaxRequest = 8 << 10

// Summarize returns the summary of ch (the zero Change for nil, a scan).
func Summarize(ch *change.Change) Change {
	if ch == nil {
		return Change{}
	}
	return Change{
		EventID:       ch.EventID,
		Time:          ch.Time,
		PrincipalARN:  ch.Principal.ARN,
		PrincipalType: ch.Principal.Type,
		IssuerARN:     ch.Principal.IssuerARN,
		SourceIP:      ch.SourceIP,
		UserAgent:     ch.UserAgent,
		Service:       ch.Service,
		Operation:     ch.Operation,
		Request:       request(ch.RequestJSON),
	}
}

// request returns raw as text when it is a JSON object of at most
// MaxRequest bytes, else "".
func request(raw json.RawMessage) string {
	if len(raw) == 0 || len(raw) > MaxRequest || raw[0] != '{' {
		return ""
	}
	return string(raw)
}

// Refs are where a finding was announced: what a Notifier returns and the
// finding keeps, so that later notices update the same message or ticket.
// Empty fields leave the finding's refs as they are.
type Refs struct {
	SlackChannel string `json:"slack_channel,omitempty"`
	SlackTS      string `json:"slack_ts,omitempty"`
	// Tickets maps a ticket system ("jira", "github") to the ticket's key
	// ("SEC-42", "owner/repo#7").
	Tickets map[string]string `json:"tickets,omitempty"`
}

// Notice is an announcement a finding owes: one per transition worth telling
// (opened, repeated by a change, resolved) and one per note (a revert's
// result), queued in Finding.Outbox by the write that made the transition
// (or recorded the note) and removed once every notifier has delivered it.
type Notice struct {
	// Seq orders the notices of one finding (Finding.NoticeSeq).
	Seq int64 `json:"seq"`
	// Kind is Opened, Repeated, RepeatedNewPrincipal, Resolved or Noted.
	Kind Kind `json:"kind"`
	// Occurrence is the finding's occurrence the notice belongs to: a
	// Resolved notice of occurrence 1 may be delivered after the finding
	// re-opened as occurrence 2.
	Occurrence int `json:"occurrence"`
	// Change is the change behind the transition (zero for a scan).
	Change Change `json:"change,omitzero"`
	// Reason is the resolve reason of a Resolved notice.
	Reason string `json:"reason,omitempty"`
	// Message is the verdict message at the transition.
	Message string `json:"message,omitempty"`
	// Note is the text of a Noted notice, for people: one summary line,
	// maybe followed by detail lines (the calls of a revert).
	Note string `json:"note,omitempty"`
	// Severity is the severity a Noted notice asks to be alerted at
	// (revert.FlappingSeverity for a flapping resource); "" for a plain
	// note.
	Severity string `json:"severity,omitempty"`
	// ID identifies a Noted notice (random), so that a write retried after
	// a lost reply does not queue it twice.
	ID string    `json:"id,omitempty"`
	At time.Time `json:"at"`
	// Done names the notifiers (Notifier.Name) that delivered it.
	Done []string `json:"done,omitempty"`
}

// Finding is one rule failing on one resource, over time.
type Finding struct {
	Key      Key          `json:"key"`
	Cloud    string       `json:"cloud"`
	Account  string       `json:"account"`
	Region   string       `json:"region,omitempty"`
	Resource resource.Ref `json:"resource"`
	RuleID   string       `json:"rule_id"`
	Severity string       `json:"severity,omitempty"`
	Title    string       `json:"title,omitempty"`
	Status   Status       `json:"status"`
	// Message is the message of the latest failing verdict.
	Message string `json:"message,omitempty"`
	// FirstSeen is when the current occurrence opened and LastSeen the
	// newest failing observation: the change's time, or the read time for a
	// scan. LastSeen never goes back.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// CheckedAt is when the resource was last read for a verdict that was
	// applied. A verdict from an older read is stale and changes nothing.
	CheckedAt time.Time `json:"checked_at"`
	// Count is the number of failing observations in this occurrence.
	Count int `json:"count"`
	// Occurrence is 1 when the finding first opens and grows each time it
	// opens again after being resolved or un-suppressed.
	Occurrence int `json:"occurrence"`
	// Change is the newest change seen failing; an older change delivered
	// late never replaces it.
	Change Change `json:"change,omitzero"`
	// OpenedBy is the change that opened the current occurrence.
	OpenedBy       Change    `json:"opened_by,omitzero"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	ResolveReason  string    `json:"resolve_reason,omitempty"`
	SuppressReason string    `json:"suppress_reason,omitempty"`
	SlackChannel   string    `json:"slack_channel,omitempty"`
	SlackTS        string    `json:"slack_ts,omitempty"`
	// Tickets maps a ticket system to the ticket's key.
	Tickets map[string]string `json:"tickets,omitempty"`
	// Tags are the resource's tags as of the latest failing read (waivers
	// and messages read them).
	Tags map[string]string `json:"tags,omitempty"`
	// Events are the IDs of the latest changes applied (newest last, at
	// most 32), so that a change delivered again is not counted again.
	Events []string `json:"events,omitempty"`
	// AcknowledgedBy is who acknowledged the current occurrence, at
	// AcknowledgedAt: its repeats are no longer announced. Opening again
	// clears it. See Muted.
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	// SnoozedUntil silences the finding's alerts (opened, repeated) until
	// then; its resolution is still announced. See Muted.
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	// Actions are what people did to the finding (Slack's buttons), newest
	// last, at most MaxActions.
	Actions []Action `json:"actions,omitempty"`
	// Outbox holds the notices not yet delivered to every notifier, oldest
	// first; NoticeSeq is the Seq of the last notice queued.
	Outbox    []Notice `json:"outbox,omitempty"`
	NoticeSeq int64    `json:"notice_seq,omitempty"`
	// LeaseOwner delivers the outbox until LeaseUntil; nobody else does
	// before then.
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	// Version is the store's version of this record: Store.Update writes
	// only if it is still the stored one.
	Version int64 `json:"version"`
}

// Clone returns a deep copy of f.
func (f *Finding) Clone() *Finding {
	c := *f
	if f.Tickets != nil {
		c.Tickets = make(map[string]string, len(f.Tickets))
		for k, v := range f.Tickets {
			c.Tickets[k] = v
		}
	}
	c.Tags = maps.Clone(f.Tags)
	c.Events = slices.Clone(f.Events)
	c.Actions = slices.Clone(f.Actions)
	c.Outbox = make([]Notice, len(f.Outbox))
	for i, n := range f.Outbox {
		n.Done = slices.Clone(n.Done)
		c.Outbox[i] = n
	}
	if f.Outbox == nil {
		c.Outbox = nil
	}
	return &c
}

// Refs returns the finding's current announcement refs.
func (f *Finding) Refs() Refs {
	r := Refs{SlackChannel: f.SlackChannel, SlackTS: f.SlackTS}
	if len(f.Tickets) > 0 {
		r.Tickets = make(map[string]string, len(f.Tickets))
		for k, v := range f.Tickets {
			r.Tickets[k] = v
		}
	}
	return r
}

// setRefs merges r into the finding: non-empty fields replace.
func (f *Finding) setRefs(r Refs) {
	if r.SlackChannel != "" {
		f.SlackChannel = r.SlackChannel
	}
	if r.SlackTS != "" {
		f.SlackTS = r.SlackTS
	}
	for sys, key := range r.Tickets {
		if key == "" {
			continue
		}
		if f.Tickets == nil {
			f.Tickets = map[string]string{}
		}
		f.Tickets[sys] = key
	}
}
