package finding

import "time"

// MaxActions bounds the actions a finding remembers (Finding.Actions).
const MaxActions = 16

// Kinds of Action.
const (
	ActionAcknowledge    = "acknowledge"
	ActionSnooze         = "snooze"
	ActionRevert         = "revert"
	ActionAcceptBaseline = "accept-baseline"
)

// Action is something a person did to a finding from chat: acknowledged
// it, snoozed it, reverted the change, accepted the resource as its
// baseline.
type Action struct {
	// Kind is one of the Action* constants.
	Kind string `json:"kind"`
	// By names the person: "slack:U0123ABCD (alice)".
	By string    `json:"by"`
	At time.Time `json:"at"`
	// Result says how it went, for people: "reverted (verified by a
	// re-read)", "failed: ...", "until 2026-01-02 15:04 UTC".
	Result string `json:"result,omitempty"`
}

// Record appends a to the finding's actions, keeping the newest MaxActions.
func (f *Finding) Record(a Action) {
	f.Actions = append(f.Actions, a)
	if n := len(f.Actions) - MaxActions; n > 0 {
		f.Actions = append(f.Actions[:0:0], f.Actions[n:]...)
	}
}

// Acknowledge marks the current occurrence acknowledged by by at at: its
// repeats are no longer announced, until it resolves and opens again.
func (f *Finding) Acknowledge(by string, at time.Time) {
	f.AcknowledgedBy, f.AcknowledgedAt = by, at
}

// Muted reports whether a notice of kind is held back at now: while the
// finding is snoozed, every alert (Opened, Repeated, RepeatedNewPrincipal);
// while its occurrence is acknowledged, every repeat. A resolution is never
// muted, so the alert in Slack and the ticket still close, and neither is a
// note (Noted): what driftwatch did to the resource is always told.
func (f *Finding) Muted(kind Kind, now time.Time) bool {
	switch {
	case kind == Resolved || kind == Noted:
		return false
	case now.Before(f.SnoozedUntil):
		return true
	case f.AcknowledgedBy != "":
		return kind != Opened
	}
	return false
}
