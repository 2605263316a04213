package ticket_test

import (
	"testing"

	"github.com/driftwatch/driftwatch/shared/ticket"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "arn:aws:s3:::logs", 0, "arn:aws:s3:::logs"},
		{"newlines", "a\nb\r\nc\td", 0, `a\nb\r\nc\td`},
		{"escape and nul", "x\x1b[31m\x00", 0, `x\x1b[31m\x00`},
		{"bidi override", "txt\u202egnp.exe", 0, `txt\u202egnp.exe`},
		{"zero width", "a\u200bb\u2060c", 0, `a\u200bb\u2060c`},
		{"line separator", "a\u2028b\u2029c", 0, `a\u2028b\u2029c`},
		{"C1 control", "a\u0085b", 0, `a\x85b`},
		{"invalid UTF-8", "a\xffb", 0, "a\uFFFDb"},
		{"unicode kept", "bücket-日本", 0, "bücket-日本"},
		{"truncated", "abcdef", 3, "abc…"},
		{"exact length", "abc", 3, "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ticket.Line(tc.in, tc.max); got != tc.want {
				t.Errorf("Line(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func TestBlock(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"keeps newlines", "a\nb", "a\nb"},
		{"normalises CRLF and CR", "a\r\nb\rc", "a\nb\nc"},
		{"escapes the rest", "a\tb\x1b\u202e", `a\tb\x1b\u202e`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ticket.Block(tc.in, 0); got != tc.want {
				t.Errorf("Block(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
