package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// Action IDs of an alert's buttons. Each button's value is the finding's
// key in its string form (finding.Key.String, parsed back by
// finding.ParseKey); the interactivity handler dispatches on the action ID.
const (
	ActionRevert         = "driftwatch_revert"
	ActionAcknowledge    = "driftwatch_acknowledge"
	ActionSnooze         = "driftwatch_snooze"
	ActionAcceptBaseline = "driftwatch_accept_baseline"
)

// ActionsBlockID is the block_id of an alert's buttons.
const ActionsBlockID = "driftwatch_actions"

// timeLayout is how messages show times (always in UTC).
const timeLayout = "2006-01-02 15:04:05 UTC"

// Message is a Slack message as driftwatch sends it: Block Kit blocks and
// the plain notification text Slack shows where blocks cannot be shown
// (push notifications, screen readers). Its JSON form is what the golden
// files hold.
type Message struct {
	// Text is the notification text, escaped.
	Text string `json:"text"`
	// Blocks are the message's blocks.
	Blocks []slackapi.Block `json:"blocks"`
}

// MarshalIndent returns the message as indented JSON, with <, > and &
// written as they are (not as \u003c…) so that golden files read well.
func (m Message) MarshalIndent() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode slack message: %w", err)
	}
	return b.Bytes(), nil
}

// Details is what a message shows besides the finding and the notice,
// looked up by the Notifier (Config.RuleInfo, Config.Request).
type Details struct {
	// Title is the rule's title, shown when the finding has none.
	Title string
	// CIS are the rule's CIS benchmark control ids.
	CIS []string
	// Request is the request parameters (CloudTrail requestParameters,
	// decoded or as JSON text) of the change the message describes; nil
	// when unknown. It is summarised with SummarizeRequest.
	Request any
}

// AlertMessage returns the message announcing an open finding, with the
// action buttons: the post of an Opened notice, and the update of that post
// after a repeat (n.Kind Repeated or RepeatedNewPrincipal), which shows the
// change that opened the finding and, below, how often and by whom it was
// changed since. d.Request is the request of the opening change.
func AlertMessage(f *finding.Finding, n finding.Notice, d Details) Message {
	current := n.Occurrence == 0 || n.Occurrence == f.Occurrence
	ch, why := n.Change, n.Message
	if n.Kind != finding.Opened && current {
		ch, why = f.OpenedBy, f.Message
	}
	if why == "" && current {
		why = f.Message
	}
	title := titleOf(f, d)
	blocks := []slackapi.Block{
		slackapi.NewHeaderBlock(plainText(severityIcon(f.Severity)+" "+severityName(f.Severity)+" · "+title, maxHeader)),
	}
	if strings.TrimSpace(why) != "" {
		blocks = append(blocks, slackapi.NewSectionBlock(plainText(why, maxMessage), nil, nil))
	}
	blocks = append(blocks, resourceSection(f))
	blocks = append(blocks, changeBlocks(ch, n.At, "Changed by", d.Request)...)
	ctx := ruleContext(f, d)
	if current && f.Count > 1 {
		ctx = append(ctx, mrkdwn(historyLine(f)))
	}
	blocks = append(blocks, slackapi.NewContextBlock("", ctx...), actionsBlock(f.Key))
	return Message{
		Text:   escapeMax(severityIcon(f.Severity)+" "+severityName(f.Severity)+": "+title+" ("+f.Resource.Type+" in account "+f.Account+")", maxField),
		Blocks: blocks,
	}
}

// RepeatMessage returns the thread reply telling that another change kept
// the finding failing (in incoming-webhook mode, a post of its own, so it
// names the finding). d.Request is the request of n.Change.
func RepeatMessage(f *finding.Finding, n finding.Notice, d Details) Message {
	title := titleOf(f, d)
	head := "🔁 *Changed again*"
	if n.Kind == finding.RepeatedNewPrincipal {
		head = "🔁 *Changed again, by a different principal*"
	}
	blocks := []slackapi.Block{
		slackapi.NewSectionBlock(mrkdwn(head), nil, nil),
		slackapi.NewContextBlock("", plainText("Re: "+severityName(f.Severity)+" · "+title+" · "+f.Resource.ID, maxField)),
	}
	blocks = append(blocks, changeBlocks(n.Change, n.At, "Changed by", d.Request)...)
	if strings.TrimSpace(n.Message) != "" {
		blocks = append(blocks, slackapi.NewSectionBlock(plainText("Still failing: "+n.Message, maxMessage), nil, nil))
	}
	return Message{
		Text:   escapeMax("🔁 Changed again: "+title+" ("+f.Resource.Type+" in account "+f.Account+")", maxField),
		Blocks: blocks,
	}
}

// ResolvedMessage returns the message that replaces the alert once the
// finding is resolved: the reason, the resource, the change that resolved
// it (if a change did), and no buttons. d.Request is the request of
// n.Change.
func ResolvedMessage(f *finding.Finding, n finding.Notice, d Details) Message {
	title := titleOf(f, d)
	reason := reasonOf(n)
	blocks := []slackapi.Block{
		slackapi.NewHeaderBlock(plainText("✅ RESOLVED ("+reason+") · "+title, maxHeader)),
		slackapi.NewSectionBlock(plainText(resolvedSentence(reason, n.Message), maxMessage), nil, nil),
		resourceSection(f),
	}
	blocks = append(blocks, changeBlocks(n.Change, n.At, "Resolved by", d.Request)...)
	ctx := ruleContext(f, d)
	if (n.Occurrence == 0 || n.Occurrence == f.Occurrence) && !f.FirstSeen.IsZero() {
		ctx = append(ctx, mrkdwn("Open since "+formatTime(f.FirstSeen)+" · "+seenTimes(f.Count)))
	}
	blocks = append(blocks, slackapi.NewContextBlock("", ctx...))
	return Message{
		Text:   escapeMax("✅ Resolved ("+reason+"): "+title+" ("+f.Resource.Type+" in account "+f.Account+")", maxField),
		Blocks: blocks,
	}
}

// ResolvedReply returns the thread reply telling that the finding was
// resolved, and by which change.
func ResolvedReply(f *finding.Finding, n finding.Notice, d Details) Message {
	reason := reasonOf(n)
	blocks := []slackapi.Block{
		slackapi.NewSectionBlock(mrkdwn("✅ *Resolved ("+Escape(reason)+")*"), nil, nil),
		slackapi.NewSectionBlock(plainText(resolvedSentence(reason, n.Message), maxMessage), nil, nil),
	}
	if n.Change != (finding.Change{}) {
		blocks = append(blocks, changeBlocks(n.Change, n.At, "Resolved by", d.Request)...)
	}
	return Message{
		Text:   escapeMax("✅ Resolved ("+reason+"): "+titleOf(f, d), maxField),
		Blocks: blocks,
	}
}

// NoteMessage returns the thread reply carrying a note about the finding
// (n.Kind Noted, the text in n.Note): what driftwatch did to the resource,
// such as a revert's result. The note's first line is shown as text and
// its further lines (a revert's calls) as a code block, all escaped; a
// note with a severity (a flapping resource, whose reverts are paused)
// shows it. In incoming-webhook mode it is a post of its own, so it names
// the finding.
func NoteMessage(f *finding.Finding, n finding.Notice, d Details) Message {
	summary, detail, _ := strings.Cut(strings.TrimSpace(n.Note), "\n")
	icon, head := "📝", "📝 *Note from driftwatch*"
	if n.Severity != "" {
		icon = severityIcon(n.Severity)
		head = icon + " *" + Escape(severityName(n.Severity)) + " · Note from driftwatch*"
	}
	blocks := []slackapi.Block{
		slackapi.NewSectionBlock(mrkdwn(head), nil, nil),
		slackapi.NewContextBlock("", plainText("Re: "+severityName(f.Severity)+" · "+titleOf(f, d)+" · "+f.Resource.ID, maxField)),
		slackapi.NewSectionBlock(plainText(summary, maxMessage), nil, nil),
	}
	var lines []string
	for _, l := range strings.Split(detail, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > 0 {
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(codeBlock(lines, maxParams)), nil, nil))
	}
	return Message{
		Text:   escapeMax(icon+" "+oneLine(summary), maxField),
		Blocks: blocks,
	}
}

// titleOf returns the rule's title: the finding's, the looked-up one, or
// the rule ID.
func titleOf(f *finding.Finding, d Details) string {
	switch {
	case f.Title != "":
		return f.Title
	case d.Title != "":
		return d.Title
	default:
		return f.RuleID
	}
}

// reasonOf returns the resolve reason of a Resolved notice.
func reasonOf(n finding.Notice) string {
	if n.Reason == "" {
		return finding.ReasonFixed
	}
	return n.Reason
}

// resolvedSentence explains a resolve reason, with the verdict's note.
func resolvedSentence(reason, note string) string {
	var s string
	switch reason {
	case finding.ReasonFixed:
		s = "The rule passes again."
	case finding.ReasonDeleted:
		s = "The resource no longer exists."
	default:
		s = "Resolved: " + reason + "."
	}
	if note = strings.TrimSpace(note); note != "" {
		s += "\n" + note
	}
	return s
}

// severityIcon returns the colour of a severity.
func severityIcon(sev string) string {
	switch sev {
	case policy.SeverityCritical:
		return "🔴"
	case policy.SeverityHigh:
		return "🟠"
	case policy.SeverityMedium:
		return "🟡"
	case policy.SeverityLow:
		return "🔵"
	case policy.SeverityInfo:
		return "⚪"
	default:
		return "⚫"
	}
}

// severityName returns the severity in capitals ("UNKNOWN" when empty).
func severityName(sev string) string {
	if sev == "" {
		return "UNKNOWN"
	}
	return strings.ToUpper(sev)
}

// resourceSection shows the resource: ID with a console link, type,
// account, region.
func resourceSection(f *finding.Finding) *slackapi.SectionBlock {
	ref := f.Resource
	if ref.Account == "" {
		ref.Account = f.Account
	}
	if ref.Region == "" {
		ref.Region = f.Region
	}
	res := label("Resource") + "\n" + codeSpan(ref.ID, maxValue)
	if link := consoleLink(ref.ID, ConsoleURL(ref)); link != "" {
		res += "\n" + link
	}
	region := ref.Region
	if region == "" {
		region = "global"
	}
	return slackapi.NewSectionBlock(nil, []*slackapi.TextBlockObject{
		mrkdwn(res),
		mrkdwn(label("Type") + "\n" + codeSpan(ref.Type, maxValue)),
		mrkdwn(label("Account") + "\n" + codeSpan(ref.Account, maxValue)),
		mrkdwn(label("Region") + "\n" + codeSpan(region, maxValue)),
	}, nil)
}

// consoleLink returns a mrkdwn link to url with a label of ours, or "" when
// url holds anything that could break out of the link (it never does when
// built by ConsoleURL) or is too long to be a useful link.
func consoleLink(id, url string) string {
	if url == "" || len(url) > maxURL || strings.ContainsAny(url, "<>| \t\n\"`") {
		return ""
	}
	name := "Open in AWS console"
	if strings.HasPrefix(strings.ToLower(id), "/subscriptions/") {
		name = "Open in Azure portal"
	}
	return "<" + strings.ReplaceAll(url, "&", "&amp;") + "|" + name + ">"
}

// changeBlocks shows a change: who, from where, with what, when, and what
// it did. who labels the principal ("Changed by", "Resolved by"). A zero
// change (a scan) shows when it was found instead.
func changeBlocks(ch finding.Change, at time.Time, who string, request any) []slackapi.Block {
	if ch.PrincipalARN == "" && ch.EventID == "" && ch.Operation == "" {
		when := at
		if !ch.Time.IsZero() {
			when = ch.Time
		}
		by := label("Found by") + "\na scan (no change event)"
		if who == "Resolved by" {
			by = label(who) + "\na re-check (no change event)"
		}
		return []slackapi.Block{slackapi.NewSectionBlock(nil, []*slackapi.TextBlockObject{
			mrkdwn(by),
			mrkdwn(label("When") + "\n" + formatTime(when)),
		}, nil)}
	}
	principal := label(who) + "\n" + codeSpan(ch.PrincipalARN, maxValue)
	if ch.PrincipalType != "" {
		principal += "\n" + codeSpan(ch.PrincipalType, maxValue)
	}
	if ch.IssuerARN != "" && ch.IssuerARN != ch.PrincipalARN {
		principal += " via " + codeSpan(ch.IssuerARN, maxValue)
	}
	when := ch.Time
	if when.IsZero() {
		when = at
	}
	blocks := []slackapi.Block{slackapi.NewSectionBlock(nil, []*slackapi.TextBlockObject{
		mrkdwn(principal),
		mrkdwn(label("Source IP") + "\n" + codeSpan(ch.SourceIP, maxValue)),
		mrkdwn(label("User agent") + "\n" + codeSpan(ch.UserAgent, maxValue)),
		mrkdwn(label("When") + "\n" + formatTime(when)),
	}, nil)}
	text := label("Change") + " " + codeSpan(operation(ch), maxValue)
	if ch.EventID != "" {
		text += "  (event " + codeSpan(ch.EventID, maxValue) + ")"
	}
	if params := SummarizeRequest(request); len(params) > 0 {
		lines := make([]string, len(params))
		for i, p := range params {
			lines[i] = p.String()
		}
		text += "\n" + codeBlock(lines, maxParams)
	}
	return append(blocks, slackapi.NewSectionBlock(mrkdwn(text), nil, nil))
}

// operation returns "service:Operation" ("s3:PutBucketPolicy") of a change.
func operation(ch finding.Change) string {
	svc := strings.TrimSuffix(ch.Service, ".amazonaws.com")
	switch {
	case svc == "":
		return ch.Operation
	case ch.Operation == "":
		return svc
	default:
		return svc + ":" + ch.Operation
	}
}

// ruleContext names the rule, its CIS controls and the finding's label.
func ruleContext(f *finding.Finding, d Details) []slackapi.MixedElement {
	els := []slackapi.MixedElement{mrkdwn("Rule " + codeSpan(f.RuleID, maxValue))}
	if len(d.CIS) > 0 {
		els = append(els, mrkdwn("CIS "+codeSpan(strings.Join(d.CIS, ", "), maxValue)))
	}
	return append(els, mrkdwn("Finding "+codeSpan(f.Key.Label(), maxValue)))
}

// historyLine tells how often the finding was seen and its latest change.
func historyLine(f *finding.Finding) string {
	s := "S" + strings.TrimPrefix(seenTimes(f.Count), "s") + " since " + formatTime(f.FirstSeen) + ", last " + formatTime(f.LastSeen)
	if f.Change.EventID != "" && f.Change.EventID != f.OpenedBy.EventID {
		s += " · latest " + codeSpan(operation(f.Change), maxValue) + " by " + codeSpan(f.Change.PrincipalARN, maxValue)
	}
	return s
}

// seenTimes returns "seen N times".
func seenTimes(n int) string {
	if n == 1 {
		return "seen once"
	}
	return "seen " + strconv.Itoa(n) + " times"
}

// formatTime shows t in UTC ("—" when unknown).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(timeLayout)
}

// actionsBlock returns the alert's buttons, each carrying the finding key.
func actionsBlock(k finding.Key) *slackapi.ActionBlock {
	value := k.String()
	button := func(id, text string) *slackapi.ButtonBlockElement {
		return slackapi.NewButtonBlockElement(id, value, slackapi.NewTextBlockObject(slackapi.PlainTextType, text, false, false))
	}
	confirm := func(title, text, ok string) *slackapi.ConfirmationBlockObject {
		pt := func(s string) *slackapi.TextBlockObject {
			return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
		}
		return slackapi.NewConfirmationBlockObject(pt(title), pt(text), pt(ok), pt("Cancel"))
	}
	revert := button(ActionRevert, "Revert now").WithStyle(slackapi.StyleDanger).
		WithConfirm(confirm("Revert this change?", "driftwatch will put the resource back to its compliant configuration.", "Revert"))
	ack := button(ActionAcknowledge, "Acknowledge").WithStyle(slackapi.StylePrimary)
	snooze := button(ActionSnooze, "Snooze 24 h")
	baseline := button(ActionAcceptBaseline, "Accept as baseline").
		WithConfirm(confirm("Accept as baseline?", "The resource's current configuration becomes accepted and this finding stops alerting.", "Accept"))
	return slackapi.NewActionBlock(ActionsBlockID, revert, ack, snooze, baseline)
}
