package table

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Table Storage keys (PartitionKey, RowKey) are at most 1 KiB of UTF-16,
// that is 512 code units, and may not contain / \ # ? or the control
// characters U+0000-U+001F and U+007F-U+009F.
const (
	maxKeyUnits = 512
	// longKeyPrefix is how many code units of a too-long key's encoding
	// are kept before its hash.
	longKeyPrefix = 440
)

// escapeGroups are the runs of consecutive code points the encoding
// escapes. Each rune of a run is written as the run's escape character (an
// allowed character of the run) followed by the rune's offset in the run,
// in hexadecimal of fixed width: '"' → `"0`, '#' → `"1`. Since every run is
// consecutive, its codes start with a character inside it and no character
// outside it falls between its ends, the codes form an order-preserving
// prefix code: comparing two encodings compares the original strings by
// code point.
var escapeGroups = []struct {
	lo, hi, esc rune
	width       int // hex digits after the escape character
}{
	{0x00, 0x20, ' ', 2}, // controls and space (space is escaped to sort above them)
	{'"', '#', '"', 1},
	{'$', '%', '$', 1},  // '%' is allowed but mishandled by some proxies and SDKs
	{'&', '\'', '&', 1}, // the SDK doubles "'" in keys it sends in a body
	{'.', '/', '.', 1},
	{'>', '?', '>', 1},
	{'[', '\\', '[', 1},
	{'~', 0x9F, '~', 2}, // '~', DEL and the C1 controls U+0080-U+009F
}

// encodeKey maps s to a string Table Storage accepts as a PartitionKey or
// RowKey, one to one. Keys whose encoding fits in 512 code units keep the
// order of s (byte order of the UTF-8, which is code point order; the
// service compares UTF-16 code units, which differ only between characters
// above U+FFFF and U+E000-U+FFFF). A longer encoding is cut to 440 code
// units and followed by "~Y" and the SHA-256 of s, which no shorter
// encoding contains: such keys stay unique, and sort by their first 440
// encoded units, then by hash. The empty string (never a finding key, which
// Key.Validate refuses) encodes as "~", which no other string does, out of
// order.
func encodeKey(s string) string {
	if s == "" {
		return "~"
	}
	var b strings.Builder
	units, cut := 0, -1
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		code := escape(r)
		if r == utf8.RuneError && size == 1 {
			// Not UTF-8 (no key that went through JSON has this): a unique
			// code, outside the order.
			code = fmt.Sprintf("~X%02X", s[i])
		}
		i += size
		if code == "" {
			b.WriteRune(r)
			units += utf16.RuneLen(r)
		} else {
			b.WriteString(code) // ASCII: one code unit per byte
			units += len(code)
		}
		if units <= longKeyPrefix {
			cut = b.Len()
		}
	}
	if units <= maxKeyUnits {
		return b.String()
	}
	sum := sha256.Sum256([]byte(s))
	return b.String()[:cut] + "~Y" + hex.EncodeToString(sum[:])
}

// escape returns the code of an escaped rune, or "" for a rune written as
// itself.
func escape(r rune) string {
	for _, g := range escapeGroups {
		if r >= g.lo && r <= g.hi {
			return fmt.Sprintf("%c%0*X", g.esc, g.width, r-g.lo)
		}
	}
	return ""
}
