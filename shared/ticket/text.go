package ticket

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on the length of untrusted values in a ticket, in runes. Jira
// rejects a description longer than 32,767 characters and GitHub a body
// longer than 65,536, and a user agent or a policy document can be long.
const (
	// MaxValue bounds a one-line value (an ARN, a user agent).
	MaxValue = 512
	// MaxBlock bounds a multi-line block (the verdict message).
	MaxBlock = 4000
	// MaxTitle bounds a ticket's title (Jira's summary takes 255).
	MaxTitle = 250
)

// ellipsis marks a truncated value.
const ellipsis = "…"

// Line returns s as one inert line of at most max runes (no limit when max
// <= 0): invalid UTF-8 becomes U+FFFD, and every control or invisible
// formatting character (newlines, tabs, escape, bidirectional overrides,
// zero-width characters, line and paragraph separators) is replaced by a
// visible Go-style escape such as \n or \u202e, so that a value can neither
// start a new line in a rendered ticket nor hide or reorder text.
func Line(s string, max int) string {
	return clean(s, max, false)
}

// Block is Line for multi-line text: it keeps newlines (after turning
// \r\n and \r into \n) and escapes every other control or formatting
// character.
func Block(s string, max int) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return clean(s, max, true)
}

func clean(s string, max int, keepNewline bool) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if max > 0 && n >= max {
			b.WriteString(ellipsis)
			break
		}
		n++
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(unicode.ReplacementChar)
		case r == '\n' && keepNewline:
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			if r <= 0xff {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
