package table

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
)

// forbidden reports whether Table Storage refuses r in a key, or the store
// avoids it.
func forbidden(r rune) bool {
	return r <= 0x1F || (r >= 0x7F && r <= 0x9F) || strings.ContainsRune(`/\#?'%`, r)
}

func TestEncodeKeyExamples(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "~"},
		{"abc-123", "abc-123"},
		{"aws/123/arn:aws:s3:::b/r", "aws.1123.1arn:aws:s3:::b.1r"},
		{"a b\tc", "a 20b 09c"},
		{`#?\'%~.`, `"1>1[1&1$1~00.0`},
		{"x\u0085y\u007f", "x~07y~01"},
		{"é€𝄞", "é€𝄞"},
		{"bad\xffutf8", "bad~XFFutf8"},
	}
	for _, tc := range tests {
		if got := encodeKey(tc.in); got != tc.want {
			t.Errorf("encodeKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// alphabet has every escaped character, their neighbours and some
// multi-byte runes.
var alphabet = []rune("\x00\x01\x1f !\"#$%&'()-./0:=>?@AZ[\\]az{}~\x7f\u0080\u009f\u00a0é€𝄞")

func randomString(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range rng.IntN(n + 1) {
		b.WriteRune(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

// TestEncodeKeyPreservesOrder checks, on random strings over every escaped
// character and its neighbours, that encodings compare like the strings,
// are distinct for distinct strings and hold no forbidden character.
func TestEncodeKeyPreservesOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		a, b := randomString(rng, 12), randomString(rng, 12)
		if a == "" || b == "" {
			continue // "~", out of order by design
		}
		if rng.IntN(4) == 0 { // share a prefix often
			b = a + randomString(rng, 3)
		}
		ea, eb := encodeKey(a), encodeKey(b)
		if got, want := strings.Compare(ea, eb), strings.Compare(a, b); got != want {
			t.Fatalf("compare(%q, %q) = %d, compare of encodings %q, %q = %d", a, b, want, ea, eb, got)
		}
		for _, r := range ea {
			if forbidden(r) {
				t.Fatalf("encodeKey(%q) = %q holds %U", a, ea, r)
			}
		}
	}
}

func TestEncodeKeyLong(t *testing.T) {
	long := strings.Repeat("/", 300) // 600 code units encoded
	tests := []string{
		long + "a",
		long + "b",
		strings.Repeat("𝄞", 300), // 600 UTF-16 units, 1200 bytes
		strings.Repeat("a", 512),
		strings.Repeat("a", 513),
	}
	seen := map[string]string{}
	for _, in := range tests {
		got := encodeKey(in)
		if n := len(utf16.Encode([]rune(got))); n > maxKeyUnits {
			t.Errorf("encodeKey(%d bytes) has %d UTF-16 units, over %d", len(in), n, maxKeyUnits)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("encodeKey gives %q for both %q and %q", got, prev, in)
		}
		seen[got] = in
	}
	if got := encodeKey(strings.Repeat("a", 512)); got != strings.Repeat("a", 512) {
		t.Errorf("a key of exactly 512 units was shortened to %q", got)
	}
	if got := encodeKey(strings.Repeat("a", 513)); !strings.Contains(got, "~Y") {
		t.Errorf("a key of 513 units kept as %q", got)
	}
}

func TestSplit(t *testing.T) {
	s := strings.Repeat("a€", 10) // 4 bytes per pair
	for _, n := range []int{3, 4, 5, 100} {
		parts := split(s, n)
		if strings.Join(parts, "") != s {
			t.Errorf("split(%d) lost bytes: %q", n, parts)
		}
		for _, p := range parts {
			if len(p) > n || !utf8Valid(p) {
				t.Errorf("split(%d) part %q: %d bytes or cut inside a rune", n, p, len(p))
			}
		}
	}
}

func utf8Valid(s string) bool { return !strings.ContainsRune(s, '\uFFFD') }
