package azure

import (
	"math"
	"strconv"
	"strings"
)

// The helpers below read ARM JSON decoded by encoding/json (map[string]any,
// []any, string, bool, float64, nil) and return document values with the
// house types (int64 for integers). Every helper returns its default when
// the key is absent, null or of another JSON type, so that a document never
// misses a key.

// obj returns m[key] as an object, or an empty object.
func obj(m map[string]any, key string) map[string]any {
	if v, ok := m[key].(map[string]any); ok {
		return v
	}
	return map[string]any{}
}

// has reports whether m holds a non-null value for key.
func has(m map[string]any, key string) bool {
	v, ok := m[key]
	return ok && v != nil
}

// str returns m[key] as a string, or def.
func str(m map[string]any, key, def string) string {
	if v, ok := m[key].(string); ok {
		return v
	}
	return def
}

// enum returns m[key] in the casing of the first of allowed that equals it
// case-insensitively (ARM accepts "enabled" for "Enabled"), the value as
// written when none does, or def when the key is absent or empty.
func enum(m map[string]any, key, def string, allowed ...string) string {
	v, ok := m[key].(string)
	if !ok || v == "" {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return a
		}
	}
	return v
}

// boolean returns m[key] as a bool, or def. ARM sometimes writes booleans
// as the strings "true"/"false"; those are accepted too.
func boolean(m map[string]any, key string, def bool) bool {
	switch v := m[key].(type) {
	case bool:
		return v
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return def
}

// integer returns m[key] as an int64, or def when absent or not a whole
// number.
func integer(m map[string]any, key string, def int64) int64 {
	switch v := m[key].(type) {
	case float64:
		if v == math.Trunc(v) && !math.IsInf(v, 0) {
			return int64(v)
		}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return def
}

// objects returns the objects of the list m[key] ([] when absent).
func objects(m map[string]any, key string) []map[string]any {
	l, _ := m[key].([]any)
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		if o, ok := e.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

// stringList returns the non-empty strings of the list m[key] as a document
// list ([] when absent).
func stringList(m map[string]any, key string) []any {
	l, _ := m[key].([]any)
	out := make([]any, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// idList returns the "id" of each object of the list m[key] (sub-resource
// references such as {"id": "/subscriptions/..."}), [] when absent.
func idList(m map[string]any, key string) []any {
	out := []any{}
	for _, o := range objects(m, key) {
		if id := str(o, "id", ""); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// mapList applies f to each object of the list m[key].
func mapList(m map[string]any, key string, f func(map[string]any) map[string]any) []any {
	objs := objects(m, key)
	out := make([]any, 0, len(objs))
	for _, o := range objs {
		out = append(out, f(o))
	}
	return out
}

// normalize converts decoded JSON into document values: whole float64
// numbers become int64, other numbers stay float64, and lists and objects
// are converted recursively.
func normalize(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

// lastSegment returns the part of an ID after its last "/".
func lastSegment(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}
