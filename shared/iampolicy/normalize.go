// Package iampolicy reads AWS policy documents (IAM identity policies, role
// trust policies, and the resource policies of S3 buckets, KMS keys, Lambda
// functions and others) and answers the questions rules ask of them: is a
// statement public, does it grant administrator access, does a trust policy
// let another account in.
//
// Normalize turns any of the shapes AWS hands out (a JSON string, the
// URL-encoded JSON string of IAM's Get*/Create* responses, or an already
// decoded object) into one canonical document, so that rule expressions and
// the predicates of this package read a single shape:
//
//	{
//	  "Version": "2012-10-17",
//	  "Id": "",
//	  "Statement": [{
//	    "Sid": "",
//	    "Effect": "Allow",
//	    "Principal":    {"AWS": [...], "Service": [...], "Federated": [...], "CanonicalUser": [...]},
//	    "NotPrincipal": {"AWS": [], "Service": [], "Federated": [], "CanonicalUser": []},
//	    "Action": [...], "NotAction": [],
//	    "Resource": [...], "NotResource": [],
//	    "Condition": {"StringEquals": {"aws:SourceAccount": ["123456789012"]}}
//	  }]
//	}
//
// Every list is a list even where the source had a single string; every key
// above is present in every statement (empty string, empty list or empty map
// when the source had none); Principal "*" becomes {"AWS": ["*"]}; condition
// values are lists of strings (JSON booleans and numbers are written as IAM
// compares them: "true", "false", "3600").
//
// The predicates accept canonical documents and are lenient with
// non-canonical ones (a single string where a list is expected, a bare "*"
// principal), so they can also be applied to documents that were not
// normalised.
package iampolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// ErrEmpty is returned by Normalize for an empty or nil policy.
var ErrEmpty = errors.New("empty policy document")

// Principal types, as IAM writes them.
const (
	PrincipalAWS           = "AWS"
	PrincipalService       = "Service"
	PrincipalFederated     = "Federated"
	PrincipalCanonicalUser = "CanonicalUser"
)

// principalTypes are the principal keys every canonical principal map holds.
var principalTypes = []string{PrincipalAWS, PrincipalService, PrincipalFederated, PrincipalCanonicalUser}

// Element names as IAM writes them; Normalize accepts any letter case.
var (
	docKeys = map[string]string{
		"version":   "Version",
		"id":        "Id",
		"statement": "Statement",
	}
	stmtKeys = map[string]string{
		"sid":          "Sid",
		"effect":       "Effect",
		"principal":    "Principal",
		"notprincipal": "NotPrincipal",
		"action":       "Action",
		"notaction":    "NotAction",
		"resource":     "Resource",
		"notresource":  "NotResource",
		"condition":    "Condition",
	}
	principalKeys = map[string]string{
		"aws":           PrincipalAWS,
		"service":       PrincipalService,
		"federated":     PrincipalFederated,
		"canonicaluser": PrincipalCanonicalUser,
	}
)

// Normalize returns the canonical form (see the package documentation) of a
// policy document given as
//
//   - a JSON string, []byte or json.RawMessage;
//   - a URL-encoded JSON string, as IAM returns trust and inline policies
//     (CreateRole's assumeRolePolicyDocument, GetRolePolicy, ...);
//   - a *string (the SDK's aws.String);
//   - a decoded object (map[string]any), as CloudTrail records some policies.
//
// Unknown top-level and statement elements are kept as they are. It returns
// ErrEmpty for a nil or blank document and an error for anything that is not
// a JSON object.
func Normalize(v any) (map[string]any, error) {
	switch p := v.(type) {
	case nil:
		return nil, ErrEmpty
	case *string:
		if p == nil {
			return nil, ErrEmpty
		}
		return Normalize(*p)
	case string:
		return normalizeText([]byte(p))
	case []byte:
		return normalizeText(p)
	case json.RawMessage:
		return normalizeText(p)
	case map[string]any:
		return normalizeDoc(p)
	default:
		return nil, fmt.Errorf("normalize policy document: unsupported type %T", v)
	}
}

// MustNormalize is Normalize for tests and literals: it panics on error.
func MustNormalize(v any) map[string]any {
	doc, err := Normalize(v)
	if err != nil {
		panic(err)
	}
	return doc
}

func normalizeText(b []byte) (map[string]any, error) {
	// A policy may arrive URL-encoded, and a JSON string may itself hold
	// the document (a stringified policy inside a JSON record); peel at
	// most a few layers.
	for range 4 {
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			return nil, ErrEmpty
		}
		switch b[0] {
		case '{':
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				return nil, fmt.Errorf("decode policy document: %w", err)
			}
			if dec.More() {
				return nil, errors.New("decode policy document: trailing data after the JSON object")
			}
			return normalizeDoc(m)
		case '"':
			var s string
			if err := json.Unmarshal(b, &s); err != nil {
				return nil, fmt.Errorf("decode policy document string: %w", err)
			}
			b = []byte(s)
		case '%':
			// RFC 3986 encoding as IAM uses it: PathUnescape keeps a
			// literal '+' (QueryUnescape would turn it into a space).
			s, err := url.PathUnescape(string(b))
			if err != nil {
				return nil, fmt.Errorf("URL-decode policy document: %w", err)
			}
			b = []byte(s)
		default:
			return nil, fmt.Errorf("decode policy document: not a JSON object (starts with %q)", b[0])
		}
	}
	return nil, errors.New("decode policy document: too many layers of encoding")
}

func normalizeDoc(in map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in)+3)
	for k, v := range in {
		if canon, ok := docKeys[strings.ToLower(k)]; ok {
			k = canon
		}
		out[k] = plain(v)
	}
	out["Version"] = scalarString(out["Version"])
	out["Id"] = scalarString(out["Id"])
	var stmts []any
	switch s := in[keyOf(in, "Statement")].(type) {
	case nil:
		stmts = []any{}
	case map[string]any:
		stmts = []any{s}
	case []any:
		stmts = s
	default:
		return nil, fmt.Errorf("normalize policy document: Statement is %T, want an object or a list", s)
	}
	list := make([]any, 0, len(stmts))
	for i, s := range stmts {
		m, ok := s.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("normalize policy document: Statement[%d] is %T, want an object", i, s)
		}
		list = append(list, normalizeStatement(m))
	}
	out["Statement"] = list
	return out, nil
}

// keyOf returns the key of m that matches canonical name case-insensitively.
func keyOf(m map[string]any, name string) string {
	if _, ok := m[name]; ok {
		return name
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

// NormalizeStatement returns the canonical form of one statement.
func NormalizeStatement(stmt map[string]any) map[string]any { return normalizeStatement(stmt) }

func normalizeStatement(in map[string]any) map[string]any {
	out := make(map[string]any, 9)
	raw := make(map[string]any, len(in))
	for k, v := range in {
		if canon, ok := stmtKeys[strings.ToLower(k)]; ok {
			raw[canon] = v
			continue
		}
		out[k] = plain(v)
	}
	out["Sid"] = scalarString(raw["Sid"])
	out["Effect"] = scalarString(raw["Effect"])
	out["Principal"] = normalizePrincipal(raw["Principal"])
	out["NotPrincipal"] = normalizePrincipal(raw["NotPrincipal"])
	for _, k := range []string{"Action", "NotAction", "Resource", "NotResource"} {
		out[k] = stringList(raw[k])
	}
	out["Condition"] = normalizeCondition(raw["Condition"])
	return out
}

// normalizePrincipal returns a map with every principal type as a list.
// "*" (or {"AWS": "*"}) becomes {"AWS": ["*"]}; an absent principal has
// every list empty.
func normalizePrincipal(v any) map[string]any {
	out := make(map[string]any, 4)
	for _, t := range principalTypes {
		out[t] = []any{}
	}
	switch p := v.(type) {
	case nil:
	case string:
		if p != "" {
			// Only "*" is valid here; anything else is kept as an AWS
			// principal rather than dropped.
			out[PrincipalAWS] = []any{p}
		}
	case []any:
		out[PrincipalAWS] = stringList(p)
	case map[string]any:
		for k, val := range p {
			if canon, ok := principalKeys[strings.ToLower(k)]; ok {
				k = canon
			}
			out[k] = stringList(val)
		}
	}
	return out
}

// normalizeCondition returns {operator: {key: [string values]}}.
func normalizeCondition(v any) map[string]any {
	c, ok := v.(map[string]any)
	if !ok {
		return map[string]any{}
	}
	out := make(map[string]any, len(c))
	for op, keys := range c {
		km, ok := keys.(map[string]any)
		if !ok {
			continue
		}
		nk := make(map[string]any, len(km))
		for k, vals := range km {
			nk[k] = stringList(vals)
		}
		out[op] = nk
	}
	return out
}

// stringList turns a scalar or a list into a list of strings.
func stringList(v any) []any {
	switch x := v.(type) {
	case nil:
		return []any{}
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if e == nil {
				continue
			}
			out = append(out, scalarString(e))
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	default:
		return []any{scalarString(x)}
	}
}

// scalarString writes a JSON scalar the way IAM compares it.
func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// plain converts json.Number values left by decoding into the document value
// types (int64 or float64), recursively.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case int:
		return int64(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	default:
		return v
	}
}

// Statements returns the statements of a policy document, canonical or not.
// A single statement object is returned as a list of one.
func Statements(doc map[string]any) []map[string]any {
	var raw []any
	switch s := doc[keyOf(doc, "Statement")].(type) {
	case map[string]any:
		return []map[string]any{s}
	case []any:
		raw = s
	case []map[string]any:
		return s
	}
	out := make([]map[string]any, 0, len(raw))
	for _, s := range raw {
		if m, ok := s.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// sortedKeys returns the keys of m in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
