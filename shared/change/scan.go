package change

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small validating JSON scanner. Decode uses it instead of
// encoding/json because it must walk a CloudTrail record once, pick out the
// dozen fields a Change keeps and leave everything else (requestParameters,
// responseElements, tlsDetails...) as raw bytes, at several hundred thousand
// records a second on one core. It accepts exactly the JSON that
// encoding/json accepts (RFC 8259, nesting up to maxDepth) and unquotes
// strings the way encoding/json does (invalid UTF-8 and lone surrogates
// become U+FFFD); FuzzDecode checks both against encoding/json.

// maxDepth is the deepest nesting accepted, the same as encoding/json's.
const maxDepth = 10000

// syntaxError is malformed JSON at a byte offset of the scanned data.
type syntaxError struct {
	off int
	msg string
}

func errAt(off int, format string, args ...any) *syntaxError {
	return &syntaxError{off: off, msg: fmt.Sprintf(format, args...)}
}

// errChar reports an unexpected byte (or the end of the data) at d[i].
func errChar(d []byte, i int, context string) *syntaxError {
	if i >= len(d) {
		return errAt(len(d), "unexpected end of input %s", context)
	}
	return errAt(i, "invalid character %s %s", quoteByte(d[i]), context)
}

func quoteByte(b byte) string {
	if b >= 0x20 && b < 0x7f && b != '\'' {
		return "'" + string(rune(b)) + "'"
	}
	return fmt.Sprintf("0x%02x", b)
}

// plain marks the bytes that can appear unescaped inside a JSON string
// without further checks: printable ASCII other than '"' and '\\'.
var plain = func() (t [256]bool) {
	for b := 0x20; b < 0x80; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\r' || b == '\t' }

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(d []byte, i int) int {
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	return i
}

// String flags returned by scanString.
const (
	strEscaped  = 1 << iota // contains a backslash escape
	strNonASCII             // contains bytes >= 0x80
)

// scanString scans the string starting at d[i] == '"' and returns the index
// just after its closing quote and flags saying whether it needs unquoting.
func scanString(d []byte, i int) (end int, flags uint8, err *syntaxError) {
	j := i + 1
	for {
		// Eight bytes at a time while none is special: '"', '\\', a
		// control character or a byte >= 0x80. Each term is the classic
		// "has a byte less than n" test (little-endian, so the lowest
		// flagged byte comes first in the data).
		for j+8 <= len(d) {
			const ones, highs = 0x0101010101010101, 0x8080808080808080
			x := binary.LittleEndian.Uint64(d[j:])
			q := x ^ (ones * '"')
			b := x ^ (ones * '\\')
			if m := ((x-ones*0x20)&^x | (q-ones)&^q | (b-ones)&^b | x) & highs; m != 0 {
				// The lowest flag is exact: borrows only run upwards.
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		for j < len(d) && plain[d[j]] {
			j++
		}
		if j >= len(d) {
			return 0, 0, errAt(len(d), "unexpected end of input in string")
		}
		switch c := d[j]; {
		case c == '"':
			return j + 1, flags, nil
		case c == '\\':
			flags |= strEscaped
			if j+1 >= len(d) {
				return 0, 0, errAt(len(d), "unexpected end of input in string escape")
			}
			switch d[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				for k := j + 2; k < j+6; k++ {
					if k >= len(d) {
						return 0, 0, errAt(len(d), "unexpected end of input in \\u escape")
					}
					if unhex(d[k]) < 0 {
						return 0, 0, errAt(k, "invalid character %s in \\u escape", quoteByte(d[k]))
					}
				}
				j += 6
			default:
				return 0, 0, errAt(j+1, "invalid character %s in string escape", quoteByte(d[j+1]))
			}
		case c < 0x20:
			return 0, 0, errAt(j, "invalid control character %s in string", quoteByte(c))
		default: // c >= 0x80
			flags |= strNonASCII
			j++
		}
	}
}

func unhex(b byte) rune {
	switch {
	case b >= '0' && b <= '9':
		return rune(b - '0')
	case b >= 'a' && b <= 'f':
		return rune(b - 'a' + 10)
	case b >= 'A' && b <= 'F':
		return rune(b - 'A' + 10)
	}
	return -1
}

// stringValue returns the contents of the string token d[start:end] (quotes
// included) as encoding/json would decode it.
func stringValue(d []byte, start, end int, flags uint8) string {
	body := d[start+1 : end-1]
	if flags == 0 || (flags == strNonASCII && utf8.Valid(body)) {
		return string(body)
	}
	return string(unquote(body))
}

// unquote decodes the body of a scanned (so well-formed) JSON string.
func unquote(s []byte) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(s[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2 = hex4(s[i+2:])
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			b = utf8.AppendRune(b, r) // an invalid byte becomes U+FFFD
			i += size
		}
	}
	return b
}

func hex4(s []byte) rune {
	return unhex(s[0])<<12 | unhex(s[1])<<8 | unhex(s[2])<<4 | unhex(s[3])
}

// scanNumber scans the number starting at d[i].
func scanNumber(d []byte, i int) (int, *syntaxError) {
	j := i
	if d[j] == '-' {
		j++
	}
	switch {
	case j < len(d) && d[j] == '0':
		j++
	case j < len(d) && d[j] >= '1' && d[j] <= '9':
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
	default:
		return 0, errChar(d, j, "in numeric literal")
	}
	if j < len(d) && d[j] == '.' {
		j++
		if j >= len(d) || d[j] < '0' || d[j] > '9' {
			return 0, errChar(d, j, "after decimal point in numeric literal")
		}
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		if j >= len(d) || d[j] < '0' || d[j] > '9' {
			return 0, errChar(d, j, "in exponent of numeric literal")
		}
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
	}
	return j, nil
}

// scanLiteral scans true, false or null at d[i].
func scanLiteral(d []byte, i int, lit string) (int, *syntaxError) {
	for k := 1; k < len(lit); k++ {
		if i+k >= len(d) || d[i+k] != lit[k] {
			return 0, errChar(d, i+k, "in literal "+lit+" (expecting "+quoteByte(lit[k])+")")
		}
	}
	return i + len(lit), nil
}

// skipValue validates the value starting at d[i] (no leading whitespace) at
// nesting depth depth and returns the index just after it.
func skipValue(d []byte, i, depth int) (int, *syntaxError) {
	if i >= len(d) {
		return 0, errAt(len(d), "unexpected end of input looking for a value")
	}
	switch c := d[i]; c {
	case '{':
		if depth >= maxDepth {
			return 0, errAt(i, "exceeded max nesting depth")
		}
		r := objectReader{d: d, i: i + 1, depth: depth + 1}
		for {
			_, ok, err := r.next()
			if err != nil {
				return 0, err
			}
			if !ok {
				return r.i, nil
			}
			if err := r.skip(); err != nil {
				return 0, err
			}
		}
	case '[':
		if depth >= maxDepth {
			return 0, errAt(i, "exceeded max nesting depth")
		}
		r := arrayReader{d: d, i: i + 1}
		for {
			ok, err := r.next()
			if err != nil {
				return 0, err
			}
			if !ok {
				return r.i, nil
			}
			end, err := skipValue(d, r.i, depth+1)
			if err != nil {
				return 0, err
			}
			r.i = end
		}
	case '"':
		end, _, err := scanString(d, i)
		return end, err
	case 't':
		return scanLiteral(d, i, "true")
	case 'f':
		return scanLiteral(d, i, "false")
	case 'n':
		return scanLiteral(d, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return scanNumber(d, i)
		}
		return 0, errChar(d, i, "looking for beginning of value")
	}
}

// objectReader walks the members of an object. Create it with i just after
// the '{'; call next to reach each key, then consume the value (skip, or a
// scan that leaves i after the value); next returns ok == false after the
// closing '}', with i just after it.
type objectReader struct {
	d     []byte
	i     int
	depth int // nesting depth of the object's values
	n     int // members read so far
}

// next advances to the next member and returns its key (unquoted only when
// it has escapes; keys are compared byte for byte). i is left on the value.
func (r *objectReader) next() (key []byte, ok bool, err *syntaxError) {
	d := r.d
	i := skipSpace(d, r.i)
	if r.n > 0 {
		if i < len(d) && d[i] == ',' {
			i = skipSpace(d, i+1)
		} else if i < len(d) && d[i] == '}' {
			r.i = i + 1
			return nil, false, nil
		} else {
			return nil, false, errChar(d, i, "after object value (expecting ',' or '}')")
		}
	} else if i < len(d) && d[i] == '}' {
		r.i = i + 1
		return nil, false, nil
	}
	if i >= len(d) || d[i] != '"' {
		return nil, false, errChar(d, i, "looking for beginning of object key string")
	}
	end, flags, err := scanString(d, i)
	if err != nil {
		return nil, false, err
	}
	key = d[i+1 : end-1]
	if flags != 0 {
		key = []byte(stringValue(d, i, end, flags))
	}
	i = skipSpace(d, end)
	if i >= len(d) || d[i] != ':' {
		return nil, false, errChar(d, i, "after object key (expecting ':')")
	}
	r.i = skipSpace(d, i+1)
	r.n++
	if r.i >= len(d) {
		return nil, false, errAt(len(d), "unexpected end of input looking for a value")
	}
	return key, true, nil
}

// skip consumes the current value.
func (r *objectReader) skip() *syntaxError {
	end, err := skipValue(r.d, r.i, r.depth)
	if err != nil {
		return err
	}
	r.i = end
	return nil
}

// arrayReader walks the elements of an array. Create it with i just after
// the '['; next leaves i on the next element, or returns ok == false after
// the closing ']'. The caller consumes each element and sets i after it.
type arrayReader struct {
	d []byte
	i int
	n int
}

func (r *arrayReader) next() (ok bool, err *syntaxError) {
	d := r.d
	i := skipSpace(d, r.i)
	if r.n > 0 {
		if i < len(d) && d[i] == ',' {
			i = skipSpace(d, i+1)
		} else if i < len(d) && d[i] == ']' {
			r.i = i + 1
			return false, nil
		} else {
			return false, errChar(d, i, "after array element (expecting ',' or ']')")
		}
	} else if i < len(d) && d[i] == ']' {
		r.i = i + 1
		return false, nil
	}
	if i >= len(d) {
		return false, errAt(len(d), "unexpected end of input looking for a value")
	}
	r.i = i
	r.n++
	return true, nil
}

// kindOf names the kind of the value starting with b, for error messages.
func kindOf(b byte) string {
	switch b {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
