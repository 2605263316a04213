package change

import (
	"strconv"
	"strings"
)

// Lookup walks a decoded JSON tree along a dotted path ("a.b.0.c"; a
// numeric segment indexes a list) and returns the value found, or nil.
func Lookup(v any, path string) any {
	for path != "" {
		var seg string
		seg, path, _ = strings.Cut(path, ".")
		switch t := v.(type) {
		case map[string]any:
			v = t[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

// String returns the value at path when it is a non-empty string (numbers
// are formatted), else "".
func String(v any, path string) string {
	switch t := Lookup(v, path).(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}
