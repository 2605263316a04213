package github

import (
	"strings"

	"github.com/driftwatch/driftwatch/shared/ticket"
)

// Markdown renders b as GitHub-flavoured Markdown. Every value from an
// event or a resource is put in a code span (fields) or a fenced code block
// (verdict messages), where GitHub recognises no mention, link, issue
// reference or HTML; the delimiters are longer than any run of backticks in
// the value, so a value cannot close them. driftwatch's own text (headings,
// labels, the rule title) is escaped with escapeText.
func Markdown(b ticket.Body) string {
	var sb strings.Builder
	if b.Heading != "" {
		sb.WriteString("## " + escapeText(b.Heading) + "\n\n")
	}
	if b.Intro != "" {
		sb.WriteString(escapeText(b.Intro) + "\n\n")
	}
	for _, s := range b.Sections {
		if len(s.Fields) == 0 && s.Block == "" {
			continue
		}
		sb.WriteString("### " + escapeText(s.Title) + "\n\n")
		for _, f := range s.Fields {
			v := codeSpan(f.Value)
			if f.Text {
				v = escapeText(f.Value)
			}
			sb.WriteString("- **" + escapeText(f.Name) + ":** " + v + "\n")
		}
		if len(s.Fields) > 0 {
			sb.WriteString("\n")
		}
		if s.Block != "" {
			sb.WriteString(fence(s.Block) + "\n\n")
		}
	}
	return strings.TrimRight(sb.String(), "\n") + "\n"
}

// longestRun returns the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// codeSpan returns s (one line, from ticket.Line) as a Markdown code span.
// Its delimiter is one backtick longer than the longest run of backticks in
// s, and it is padded with a space on each side when s starts or ends with
// a backtick (or with spaces at both ends, which CommonMark would strip).
func codeSpan(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "\n", `\n`) // never reached after ticket.Line
	delim := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") ||
		(strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") && strings.Trim(s, " ") != "") {
		s = " " + s + " "
	}
	return delim + s + delim
}

// fence returns s (from ticket.Block) as a fenced code block whose fence is
// longer than any run of backticks in s, so no line of s can close it.
func fence(s string) string {
	f := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	return f + "text\n" + strings.TrimRight(s, "\n") + "\n" + f
}

// escapeText escapes driftwatch's own text (which includes rule titles
// from rule files) for Markdown: the ASCII punctuation that can start
// emphasis, code, links, images, HTML, entities, tables or strikethrough
// gets a backslash, and an "@" is followed by a word joiner (U+2060) so
// that it cannot form a mention. Values from events never go through it:
// they are shown as code.
func escapeText(s string) string {
	s = ticket.Line(s, 0)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '@':
			b.WriteString("@\u2060")
		case r < 0x80 && strings.ContainsRune("\\`*_{}[]()<>#!|~&", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
