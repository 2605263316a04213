package pipeline

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/slack"
)

// Console is a finding.Notifier that writes each announcement to a
// terminal, rendering the Slack message driftwatch would send. It is the
// CLI's default sink.
type Console struct {
	W io.Writer
	// Rules looks up a rule's title and CIS ids (an Engine's Rule method).
	Rules func(id string) *policy.Rule
	mu    sync.Mutex
}

var _ finding.Notifier = (*Console)(nil)

// Name returns "console".
func (c *Console) Name() string { return "console" }

func (c *Console) details(f *finding.Finding, n finding.Notice) slack.Details {
	d := slack.Details{}
	if c.Rules != nil {
		if r := c.Rules(f.RuleID); r != nil {
			d.Title, d.CIS = r.Title, r.References.CIS
		}
	}
	if n.Change.Request != "" {
		d.Request = n.Change.Request
	}
	return d
}

func (c *Console) write(head string, msg slack.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.W, "\n  ┌─ %s\n", head)
	for _, l := range strings.Split(strings.TrimRight(slack.RenderText(msg), "\n"), "\n") {
		fmt.Fprintf(c.W, "  │ %s\n", l)
	}
	fmt.Fprintf(c.W, "  └─\n")
}

// Opened prints the alert.
func (c *Console) Opened(_ context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	c.write("finding OPENED — Slack alert:", slack.AlertMessage(f, n, c.details(f, n)))
	return finding.Refs{}, nil
}

// Repeated prints the thread reply a repeat gets, or a note.
func (c *Console) Repeated(_ context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	if n.Kind == finding.Noted {
		head := "finding NOTE — thread reply:"
		if n.Severity != "" {
			head = "finding NOTE (" + strings.ToUpper(n.Severity) + ") — thread reply:"
		}
		c.write(head, slack.NoteMessage(f, n, c.details(f, n)))
		return finding.Refs{}, nil
	}
	head := fmt.Sprintf("finding REPEATED (%d changes so far) — alert updated", f.Count)
	if n.Kind == finding.RepeatedNewPrincipal {
		head = fmt.Sprintf("finding REPEATED by a different principal (%d changes so far) — thread reply:", f.Count)
	}
	c.write(head, slack.RepeatMessage(f, n, c.details(f, n)))
	return finding.Refs{}, nil
}

// Resolved prints the resolved message.
func (c *Console) Resolved(_ context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	c.write("finding RESOLVED — alert replaced by:", slack.ResolvedMessage(f, n, c.details(f, n)))
	return finding.Refs{}, nil
}
