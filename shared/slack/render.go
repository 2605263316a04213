package slack

import (
	"strings"

	slackapi "github.com/slack-go/slack"
)

// entities are the three entities Slack decodes.
var entities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// RenderText renders a message as readable plain text, for a terminal
// (make demo, driftwatch replay): the header underlined, sections and
// fields as "Label: value" lines, code blocks indented, links as
// "label: URL", context lines, and buttons as [Revert now] [Acknowledge] ….
// Entities are decoded; mrkdwn markers are dropped.
func RenderText(msg Message) string {
	var b strings.Builder
	for _, blk := range msg.Blocks {
		switch bl := blk.(type) {
		case *slackapi.HeaderBlock:
			h := textOf(bl.Text)
			b.WriteString(h + "\n" + strings.Repeat("=", max(len([]rune(h)), 3)) + "\n")
		case *slackapi.SectionBlock:
			if bl.Text != nil {
				b.WriteString(textOf(bl.Text) + "\n")
			}
			for _, f := range bl.Fields {
				b.WriteString(fieldText(textOf(f)) + "\n")
			}
		case *slackapi.ContextBlock:
			var parts []string
			for _, el := range bl.ContextElements.Elements {
				if t, ok := el.(*slackapi.TextBlockObject); ok {
					parts = append(parts, textOf(t))
				}
			}
			b.WriteString(strings.Join(parts, " · ") + "\n")
		case *slackapi.ActionBlock:
			var parts []string
			for _, el := range bl.Elements.ElementSet {
				if btn, ok := el.(*slackapi.ButtonBlockElement); ok {
					parts = append(parts, "["+textOf(btn.Text)+"]")
				}
			}
			b.WriteString(strings.Join(parts, " ") + "\n")
		case *slackapi.DividerBlock:
			b.WriteString("---\n")
		}
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// fieldText lays out a field "Label\nvalue\nmore" as "Label: value" with
// further lines indented.
func fieldText(s string) string {
	lbl, rest, ok := strings.Cut(s, "\n")
	if !ok {
		return s
	}
	return lbl + ": " + strings.ReplaceAll(rest, "\n", "\n    ")
}

// textOf returns the readable text of a text object.
func textOf(t *slackapi.TextBlockObject) string {
	if t == nil {
		return ""
	}
	if t.Type == slackapi.MarkdownType {
		return mrkdwnText(t.Text)
	}
	return entities.Replace(t.Text)
}

// mrkdwnText turns the mrkdwn driftwatch writes into plain text: code
// spans and blocks keep their content as is, *bold* markers go, links
// become "label: URL", and entities are decoded.
func mrkdwnText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "```"):
			end := strings.Index(s[i+3:], "```")
			if end < 0 {
				end = len(s) - i - 3
			}
			block := strings.Trim(s[i+3:i+3+end], "\n")
			b.WriteString("    " + strings.ReplaceAll(block, "\n", "\n    "))
			i += 3 + end + 3
		case s[i] == '`':
			end := strings.IndexByte(s[i+1:], '`')
			if end < 0 {
				end = len(s) - i - 1
			}
			b.WriteString(s[i+1 : i+1+end])
			i += 1 + end + 1
		case s[i] == '*':
			i++
		case s[i] == '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				b.WriteString(s[i:])
				i = len(s)
				continue
			}
			target, name, ok := strings.Cut(s[i+1:i+end], "|")
			if ok {
				b.WriteString(name + ": ")
			}
			b.WriteString(target)
			i += end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return entities.Replace(b.String())
}
