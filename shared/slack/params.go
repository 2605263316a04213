package slack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/driftwatch/driftwatch/shared/iampolicy"
)

// Limits of a request summary.
const (
	maxParamLines  = 10  // parameters shown; the rest are counted
	maxParamLine   = 240 // bytes of one "name: value" line
	maxParamName   = 64  // bytes of a parameter's name
	maxListItems   = 3   // list items shown; the rest are counted
	maxDepth       = 5   // nesting shown; deeper objects become {…}
	maxStatements  = 3   // policy statements shown
	maxPolicyItems = 3   // principals, actions, resources shown per statement
)

// Param is one request parameter as a message shows it.
type Param struct {
	// Name is the parameter's name (a top-level key of requestParameters).
	Name string
	// Value is a compact, truncated rendering of the value: objects as
	// {key: value, …} with sorted keys, lists as [a, b, …+N], and policy
	// documents summarised statement by statement.
	Value string
}

// String returns "name: value".
func (p Param) String() string { return p.Name + ": " + p.Value }

// SummarizeRequest returns a compact summary of a change's request
// parameters (CloudTrail's requestParameters), for a message to show what
// the change did without dumping it: at most 10 parameters in key order,
// each at most 240 bytes, policy documents (an object with a Statement, or
// a JSON or URL-encoded string of one) reduced to "Allow AWS:* s3:GetObject
// on arn:…" per statement, S3's host and XML namespace noise and empty
// values left out. When more parameters exist, a last Param named "…" says
// how many were left out.
//
// req may be the decoded object (map[string]any), JSON text (string,
// []byte, json.RawMessage) or nil. The values are not escaped: the message
// builder escapes them.
func SummarizeRequest(req any) []Param {
	switch r := req.(type) {
	case nil:
		return nil
	case json.RawMessage:
		return SummarizeRequest([]byte(r))
	case string:
		return SummarizeRequest([]byte(r))
	case []byte:
		var v any
		if len(strings.TrimSpace(string(r))) == 0 || json.Unmarshal(r, &v) != nil {
			return nil
		}
		return SummarizeRequest(v)
	case map[string]any:
		var out []Param
		keys := sortedKeys(r)
		for _, k := range keys {
			v := r[k]
			if noise(k, v) {
				continue
			}
			if len(out) == maxParamLines {
				out = append(out, Param{Name: "…", Value: fmt.Sprintf("%d more parameters", countShown(r, keys)-maxParamLines)})
				break
			}
			name := truncate(oneLine(k), maxParamName)
			out = append(out, Param{Name: name, Value: truncate(compact(k, v, 0), maxParamLine-len(name)-2)})
		}
		return out
	default:
		return []Param{{Name: "request", Value: truncate(compact("", r, 0), maxParamLine)}}
	}
}

// countShown counts the parameters of m that are not noise.
func countShown(m map[string]any, keys []string) int {
	n := 0
	for _, k := range keys {
		if !noise(k, m[k]) {
			n++
		}
	}
	return n
}

// noise reports whether a parameter says nothing worth showing: S3's
// host, XML namespace attributes, empty values.
func noise(key string, v any) bool {
	lk := strings.ToLower(key)
	if lk == "host" || strings.HasPrefix(lk, "xmlns") {
		return true
	}
	return empty(v)
}

// empty reports whether v is nil, "", an empty object or list, or a list
// of empty values (S3 records "acl": [""]).
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		return len(x) == 0
	case []any:
		for _, e := range x {
			if !empty(e) {
				return false
			}
		}
		return true
	}
	return false
}

// compact renders v on one line. key is the parameter's name, which helps
// recognise policy documents.
func compact(key string, v any, depth int) string {
	if s, ok := policySummary(key, v); ok {
		return s
	}
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return oneLine(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case json.Number:
		return x.String()
	case map[string]any:
		if depth >= maxDepth {
			return "{…}"
		}
		// EC2 wraps lists as {"items": [...]}: show the list.
		if items, ok := x["items"]; ok && len(x) == 1 {
			return compact(key, items, depth)
		}
		var parts []string
		for _, k := range sortedKeys(x) {
			if noise(k, x[k]) {
				continue
			}
			parts = append(parts, k+": "+compact(k, x[k], depth+1))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		if len(x) == 1 {
			return compact(key, x[0], depth)
		}
		if depth >= maxDepth {
			return fmt.Sprintf("[%d items]", len(x))
		}
		var parts []string
		for i, e := range x {
			if i == maxListItems {
				parts = append(parts, fmt.Sprintf("…+%d", len(x)-maxListItems))
				break
			}
			parts = append(parts, compact(key, e, depth+1))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	default:
		return oneLine(fmt.Sprint(x))
	}
}

// policySummary summarises v when it is a policy document: an object with
// a Statement, or a string (JSON or URL-encoded JSON) of one under a key
// that names a policy or document.
func policySummary(key string, v any) (string, bool) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["Statement"]; !ok {
			return "", false
		}
	case string:
		lk := strings.ToLower(key)
		if !strings.Contains(lk, "policy") && !strings.Contains(lk, "document") {
			return "", false
		}
	default:
		return "", false
	}
	doc, err := iampolicy.Normalize(v)
	if err != nil {
		return "", false
	}
	stmts := iampolicy.Statements(doc)
	if len(stmts) == 0 {
		return "", false
	}
	var parts []string
	for i, st := range stmts {
		if i == maxStatements {
			parts = append(parts, fmt.Sprintf("…+%d", len(stmts)-maxStatements))
			break
		}
		parts = append(parts, statementSummary(st))
	}
	noun := "statements"
	if len(stmts) == 1 {
		noun = "statement"
	}
	return fmt.Sprintf("policy, %d %s: %s", len(stmts), noun, strings.Join(parts, "; ")), true
}

// statementSummary renders one canonical statement as "Effect principals
// actions on resources if conditions".
func statementSummary(st map[string]any) string {
	parts := []string{fmt.Sprint(st["Effect"])}
	if p := principalList(st["Principal"]); p != "" {
		parts = append(parts, p)
	}
	if p := principalList(st["NotPrincipal"]); p != "" {
		parts = append(parts, "not "+p)
	}
	if a := shortList(st["Action"]); a != "" {
		parts = append(parts, a)
	}
	if a := shortList(st["NotAction"]); a != "" {
		parts = append(parts, "not "+a)
	}
	if r := shortList(st["Resource"]); r != "" {
		parts = append(parts, "on "+r)
	}
	if r := shortList(st["NotResource"]); r != "" {
		parts = append(parts, "not on "+r)
	}
	if c, ok := st["Condition"].(map[string]any); ok && len(c) > 0 {
		var conds []string
		for _, op := range sortedKeys(c) {
			keys, _ := c[op].(map[string]any)
			for _, k := range sortedKeys(keys) {
				conds = append(conds, op+" "+k)
			}
		}
		parts = append(parts, "if "+strings.Join(limit(conds), ", "))
	}
	return strings.Join(parts, " ")
}

// principalList renders a canonical principal map as "AWS:a, Service:b".
func principalList(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	var out []string
	for _, kind := range sortedKeys(m) {
		for _, p := range strs(m[kind]) {
			out = append(out, kind+":"+p)
		}
	}
	return strings.Join(limit(out), ", ")
}

// shortList renders a list of strings, the first few and a count.
func shortList(v any) string { return strings.Join(limit(strs(v)), ", ") }

// limit keeps the first maxPolicyItems of list and counts the rest.
func limit(list []string) []string {
	if len(list) <= maxPolicyItems {
		return list
	}
	return append(slices.Clone(list[:maxPolicyItems]), fmt.Sprintf("…+%d", len(list)-maxPolicyItems))
}

// strs returns the strings of a list (or of a single string).
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// truncate cuts s to at most max bytes, on a rune boundary, ending with "…"
// where it cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if cut < 0 {
		cut = 0
	}
	return s[:cut] + ellipsis
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
