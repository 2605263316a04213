package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/finding"
)

// This file is the Slack side of the alerts' buttons (shared/interact
// handles the requests): the alert as it stands after someone pressed a
// button, with who did what, and the answers sent to an interaction's
// response_url.

// UserPrefix starts the name of a person who acted from Slack
// (finding.Action.By): "slack:U0123ABCD (alice)".
const UserPrefix = "slack:"

// userID is a Slack user ID, which a message may mention as <@ID>.
var userID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// maxActionResult bounds the result of one action in a message.
const maxActionResult = 400

// StateMessage returns the alert of a finding as it stands: the open alert
// with its buttons, or the resolved message without them, followed by a
// line per action people took on it (finding.Actions), newest last. It is
// what replaces the alert after a button was pressed.
func StateMessage(f *finding.Finding, d Details) Message {
	var msg Message
	if f.Status == finding.StatusResolved {
		msg = ResolvedMessage(f, finding.Notice{Kind: finding.Resolved, Occurrence: f.Occurrence,
			Reason: f.ResolveReason, At: f.ResolvedAt}, d)
	} else {
		msg = AlertMessage(f, finding.Notice{Kind: finding.Opened, Occurrence: f.Occurrence,
			Change: f.OpenedBy, Message: f.Message, At: f.FirstSeen}, d)
	}
	if len(f.Actions) == 0 {
		return msg
	}
	els := make([]slackapi.MixedElement, 0, len(f.Actions))
	start := max(0, len(f.Actions)-9) // a context block holds at most 10 elements
	for _, a := range f.Actions[start:] {
		els = append(els, mrkdwn(ActionLine(a)))
	}
	block := slackapi.NewContextBlock("driftwatch_history", els...)
	// The history goes above the buttons, if there are any.
	n := len(msg.Blocks)
	if n > 0 && msg.Blocks[n-1].BlockType() == slackapi.MBTAction {
		msg.Blocks = append(msg.Blocks[:n-1], block, msg.Blocks[n-1])
	} else {
		msg.Blocks = append(msg.Blocks, block)
	}
	return msg
}

// ActionLine renders one action for a message: "✋ Acknowledged by @alice
// · 2026-01-02 15:04:05 UTC", with its result.
func ActionLine(a finding.Action) string {
	var what string
	switch a.Kind {
	case finding.ActionAcknowledge:
		what = "✋ Acknowledged"
	case finding.ActionSnooze:
		what = "💤 Snoozed"
	case finding.ActionRevert:
		what = "↩️ Revert requested"
	case finding.ActionAcceptBaseline:
		what = "📌 Accepted as baseline"
	default:
		what = Escape(a.Kind)
	}
	line := what + " by " + Person(a.By) + " · " + formatTime(a.At)
	if r := strings.TrimSpace(oneLine(a.Result)); r != "" {
		line += " · " + codeSpan(r, maxActionResult)
	}
	return line
}

// Person renders the name of someone who acted: a mention (<@U0123ABCD>)
// for a Slack user, else the name in a code span.
func Person(by string) string {
	if rest, ok := strings.CutPrefix(by, UserPrefix); ok {
		id, _, _ := strings.Cut(rest, " ")
		if userID.MatchString(id) {
			return "<@" + id + ">"
		}
	}
	return codeSpan(by, maxValue)
}

// Responder answers button presses through their response_url (valid for
// 30 minutes, five uses): it replaces the alert, or tells the person who
// pressed something only they see. It needs no token, so it works in both
// modes. It is safe for concurrent use.
type Responder struct {
	// HTTP sends the requests (default: a client with a 15 s timeout).
	HTTP *http.Client
	// Retry bounds the retries of rate-limited and failed posts.
	Retry Retry
	// AllowURL reports whether a response_url may be posted to (default:
	// https URLs of hooks.slack.com and hooks.slack-gov.com). The URL comes
	// in a signed request, so this is defence in depth.
	AllowURL func(u *url.URL) bool
}

// SlackResponseURL reports whether u is an https URL on Slack's hooks host
// (commercial or GovSlack): the default of Responder.AllowURL.
func SlackResponseURL(u *url.URL) bool {
	host := u.Hostname()
	return u.Scheme == "https" && u.User == nil && (host == "hooks.slack.com" || host == "hooks.slack-gov.com")
}

// Replace replaces the message whose button was pressed with msg.
func (r *Responder) Replace(ctx context.Context, responseURL string, msg Message) error {
	return r.post(ctx, "replace the alert", responseURL, &slackapi.WebhookMessage{
		Text: msg.Text, Blocks: &slackapi.Blocks{BlockSet: msg.Blocks}, ReplaceOriginal: true,
	})
}

// Ephemeral shows text to the person who pressed the button only, as plain
// text (escaped, so nothing in it is a mention, a link or formatting).
func (r *Responder) Ephemeral(ctx context.Context, responseURL, text string) error {
	return r.post(ctx, "answer the button", responseURL, &slackapi.WebhookMessage{
		ResponseType: slackapi.ResponseTypeEphemeral,
		Text:         escapeMax(text, maxField),
		Blocks:       &slackapi.Blocks{BlockSet: []slackapi.Block{slackapi.NewSectionBlock(plainText(text, maxField), nil, nil)}},
	})
}

// post sends one answer, retrying as r.Retry allows.
func (r *Responder) post(ctx context.Context, what, responseURL string, body *slackapi.WebhookMessage) error {
	u, err := url.Parse(responseURL)
	allow := r.AllowURL
	if allow == nil {
		allow = SlackResponseURL
	}
	if err != nil || !allow(u) {
		return fmt.Errorf("%s: the response_url is not a Slack URL", what)
	}
	hc := r.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	off := false
	body.UnfurlLinks, body.UnfurlMedia = &off, &off
	// The retry policy is the Notifier's; a Notifier with only a Retry
	// runs it.
	n := &Notifier{cfg: Config{Retry: r.Retry}}
	err = n.call(ctx, func(ctx context.Context) error {
		return redactURL(slackapi.PostWebhookCustomHTTPContext(ctx, responseURL, hc, body))
	})
	if err != nil {
		return fmt.Errorf("%s through the response_url: %w", what, err)
	}
	return nil
}

// ErrNotBot: the call needs a bot token (bot-token mode).
var ErrNotBot = errors.New("slack: needs a bot token")

// UserGroupMembers returns the IDs of the members of a user group
// (usergroups.users.list; the bot needs the usergroups:read scope).
func (s *Notifier) UserGroupMembers(ctx context.Context, group string) ([]string, error) {
	if s.api == nil {
		return nil, fmt.Errorf("list members of user group %s: %w", group, ErrNotBot)
	}
	var members []string
	err := s.call(ctx, func(ctx context.Context) error {
		var err error
		members, err = s.api.GetUserGroupMembersContext(ctx, group)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list members of user group %s: %w", group, err)
	}
	return members, nil
}
