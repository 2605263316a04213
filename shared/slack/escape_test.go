package slack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "acme-logs", "acme-logs"},
		{"entities", "a & b < c > d", "a &amp; b &lt; c &gt; d"},
		{"channel mention", "<!channel>", "&lt;!channel&gt;"},
		{"user mention", "<@U123|bob>", "&lt;@U123|bob&gt;"},
		{"channel link", "<#C123|general>", "&lt;#C123|general&gt;"},
		{"hidden link", "<http://evil|click>", "&lt;http://evil|click&gt;"},
		{"already escaped stays visible", "&lt;!here&gt;", "&amp;lt;!here&amp;gt;"},
		{"control characters", "a\tb\rc\x1b[31md\x00e", "a b c [31md e"},
		{"newline kept", "a\nb", "a\nb"},
		{"bidi and zero-width dropped", "ab\u202Ecd\u200Be\uFEFF", "abcde"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEscapeMax(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"fits", "abc", 3, "abc"},
		{"cut", "abcdef", 5, "ab…"},
		{"never splits an entity", "ab<<<<", 9, "ab&lt;…"},
		{"never splits a rune", "ééééé", 6, "é…"},
		{"escaped length counts", "<<", 7, "&lt;…"},
		{"no limit", strings.Repeat("x", 10), -1, strings.Repeat("x", 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := escapeMax(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("escapeMax(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if tt.max >= 0 && len(got) > tt.max {
				t.Errorf("escapeMax(%q, %d) is %d bytes", tt.in, tt.max, len(got))
			}
			if !utf8.ValidString(got) {
				t.Errorf("escapeMax(%q, %d) = %q is not valid UTF-8", tt.in, tt.max, got)
			}
		})
	}
}

func TestCodeSpan(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"value", "sg-0123", "`sg-0123`"},
		{"empty", "  ", "—"},
		{"backticks cannot end the span", "a`<@U1>`b", "`aˋ&lt;@U1&gt;ˋb`"},
		{"triple backticks", "```x```", "`ˋˋˋxˋˋˋ`"},
		{"one line", "a\nb\r\nc", "`a b c`"},
		{"formatting is inert inside", "*b* _i_ ~s~", "`*b* _i_ ~s~`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeSpan(tt.in, 100); got != tt.want {
				t.Errorf("codeSpan(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCodeBlock(t *testing.T) {
	got := codeBlock([]string{"a: ```<!here>```", "b\nc"}, 200)
	want := "```\na: ˋˋˋ&lt;!here&gt;ˋˋˋ\nb c\n```"
	if got != want {
		t.Errorf("codeBlock = %q, want %q", got, want)
	}
}

func TestPlainText(t *testing.T) {
	tx := plainText("<!here> :skull:", 100)
	if tx.Type != "plain_text" || tx.Emoji == nil || *tx.Emoji || tx.Text != "&lt;!here&gt; :skull:" {
		t.Errorf("plainText = %+v (emoji %v)", tx, tx.Emoji)
	}
}
