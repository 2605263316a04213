package slack

import (
	"strings"
	"unicode"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"
)

// Text limits. Slack rejects a message whose text objects exceed its limits
// (3000 characters for a section's text, 2000 for a field, 150 for a
// header, 75 for a button); these stay below them after escaping.
const (
	maxHeader  = 150
	maxValue   = 300  // one code-span value in a field
	maxMessage = 1500 // the verdict message
	maxParams  = 2400 // the request-parameters code block
	maxField   = 1900
	maxURL     = 1000 // a console link; longer ones are left out
	ellipsis   = "…"
)

// backtickStandIn replaces backticks in code spans, where a backtick would
// end the span (U+02CB MODIFIER LETTER GRAVE ACCENT looks alike).
const backtickStandIn = "ˋ"

// Escape makes s inert in any Slack text object, mrkdwn or plain_text: it
// turns &, < and > into &amp;, &lt; and &gt; (Slack decodes exactly these
// three), so that no control sequence — <!channel>, <!here>, <@U123>,
// <#C123>, <!subteam^…>, <http://evil|a harmless label> — can form from it;
// it turns control characters (tabs, carriage returns, escape sequences;
// newlines are kept) into spaces, and drops invisible format characters
// (bidirectional overrides, zero-width spaces) that could disguise a value.
//
// It does not neutralise mrkdwn formatting (*bold*, _italic_, ~strike~,
// `code`) nor Slack's automatic linking of bare URLs and #channel names: a
// value from an event or a resource is therefore put either in a
// plain_text object or in a code span (see codeSpan) of a verbatim mrkdwn
// object, never in free mrkdwn. Every string that comes from an event or a
// resource goes through Escape (through escapeMax).
func Escape(s string) string { return escapeMax(s, -1) }

// escapeMax is Escape that keeps the output within max bytes (max < 0: no
// limit), ending it with "…" where it cut. It never cuts an entity or a
// rune in half.
func escapeMax(s string, max int) string {
	var b strings.Builder
	cut := -1 // output length at the last boundary that leaves room for "…"
	for _, r := range s {
		piece := escapeRune(r)
		if piece == "" {
			continue
		}
		if max >= 0 && cut < 0 && b.Len()+len(piece) > max-len(ellipsis) {
			cut = b.Len()
		}
		b.WriteString(piece)
		if max >= 0 && b.Len() > max {
			return b.String()[:cut] + ellipsis
		}
	}
	return b.String()
}

// escapeRune returns what Escape writes for r ("" to drop it).
func escapeRune(r rune) string {
	switch {
	case r == '&':
		return "&amp;"
	case r == '<':
		return "&lt;"
	case r == '>':
		return "&gt;"
	case r == '\n':
		return "\n"
	case r == utf8.RuneError:
		return "\uFFFD"
	case unicode.IsControl(r):
		return " "
	case unicode.In(r, unicode.Cf):
		return ""
	default:
		return string(r)
	}
}

// oneLine replaces line breaks with spaces.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// codeSpan renders a value from an event or resource as an inline code span
// for a verbatim mrkdwn object: one line, backticks replaced (they would end
// the span), escaped, at most max bytes. Inside a code span Slack applies no
// formatting, no emoji and no automatic links. An empty value renders as an
// em dash outside any span.
func codeSpan(s string, max int) string {
	s = strings.TrimSpace(oneLine(s))
	if s == "" {
		return "—"
	}
	return "`" + escapeMax(strings.ReplaceAll(s, "`", backtickStandIn), max) + "`"
}

// codeBlock renders lines from an event as a preformatted block for a
// verbatim mrkdwn object, like codeSpan but multi-line.
func codeBlock(lines []string, max int) string {
	clean := make([]string, len(lines))
	for i, l := range lines {
		clean[i] = strings.ReplaceAll(oneLine(l), "`", backtickStandIn)
	}
	return "```\n" + escapeMax(strings.Join(clean, "\n"), max) + "\n```"
}

// plainText returns a plain_text object for a value from an event or
// resource: escaped, at most max bytes, with emoji shortcodes (":joy:")
// left as typed.
func plainText(s string, max int) *slackapi.TextBlockObject {
	s = strings.TrimSpace(s)
	if s == "" {
		s = "—"
	}
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, escapeMax(s, max), false, false)
}

// mrkdwn returns a verbatim mrkdwn object: Slack applies the formatting we
// wrote (labels in *bold*, code spans, our own console links) but neither
// links bare URLs nor parses names and mentions. text must already be
// built from escaped parts.
func mrkdwn(text string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, true)
}

// label returns "*name*" for a field label we wrote (never event data).
func label(name string) string { return "*" + name + "*" }
