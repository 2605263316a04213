package change

import (
	"encoding/json"
	"testing"
)

// TestSkipValueAgreesWithEncodingJSON checks the scanner accepts exactly
// what encoding/json accepts, on the corner cases of the grammar.
func TestSkipValueAgreesWithEncodingJSON(t *testing.T) {
	tests := []string{
		`0`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1E-7`, `-12.5e+3`, `+1`,
		`true`, `tru`, `false`, `nul`, `null`, `True`,
		`""`, `"a"`, `"\u00e9"`, `"\u00g9"`, `"\x"`, `"\/"`, "\"\t\"", "\"\x7f\"", "\"\xff\"", `"abc`, `"\"`,
		`[]`, `[1,]`, `[,1]`, `[1 2]`, `[1,[2,[3]]]`, `[`,
		`{}`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":}`, `{"a":{"b":[{}]}}`, `{`, `{"a"`,
		" [ 1 , { \"a\" : \"b\" } ] ",
	}
	for _, in := range tests {
		t.Run(in, func(t *testing.T) {
			d := []byte(in)
			i := skipSpace(d, 0)
			end, err := -1, (*syntaxError)(nil)
			if i < len(d) {
				end, err = skipValue(d, i, 0)
			}
			got := i < len(d) && err == nil && skipSpace(d, end) == len(d)
			if want := json.Valid(d); got != want {
				t.Errorf("scanner accepts %v (err %v), encoding/json %v", got, err, want)
			}
		})
	}
}

// TestStringValueAgreesWithEncodingJSON checks unquoting, including invalid
// UTF-8 and lone surrogates, which encoding/json turns into U+FFFD.
func TestStringValueAgreesWithEncodingJSON(t *testing.T) {
	tests := []string{
		`"plain"`, `"tab\tnewline\n"`, `"quote\" backslash\\ slash\/"`, `"\b\f\r"`,
		`"\u0041\u00e9\u4e2d"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00\ud83d"`, `"\ud83dx"`, `"\ud83d\u0041"`,
		"\"caf\xc3\xa9\"", "\"bad \xff byte\"", "\"cut \xe2\x82\"", "\"mixed \xff \\n\"", `"\u0000"`,
		`"long string without anything special in it at all, long enough for the eight-byte loop"`,
	}
	for _, in := range tests {
		t.Run(in, func(t *testing.T) {
			d := []byte(in)
			end, flags, err := scanString(d, 0)
			if err != nil || end != len(d) {
				t.Fatalf("scanString: end %d, err %v", end, err)
			}
			var want string
			if err := json.Unmarshal(d, &want); err != nil {
				t.Fatal(err)
			}
			if got := stringValue(d, 0, end, flags); got != want {
				t.Errorf("stringValue = %q, encoding/json %q", got, want)
			}
			dec := decoder{data: d}
			if got := dec.strValue(0, end, flags); got != want {
				t.Errorf("strValue = %q, encoding/json %q", got, want)
			}
		})
	}
}
