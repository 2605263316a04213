package revert

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Reading documents. Documents follow docs/documents/*.md: every property
// is present, integers are int64. The helpers are lenient with types (a
// float64 integer is an integer) and strict with presence where a call
// needs the value.

// docString returns the string at a dotted path, or "".
func docString(doc map[string]any, path string) string {
	s, _ := change.Lookup(doc, path).(string)
	return s
}

// docBool returns the bool at a dotted path, or false.
func docBool(doc map[string]any, path string) bool {
	b, _ := change.Lookup(doc, path).(bool)
	return b
}

// docInt returns the integer at a dotted path, or 0.
func docInt(doc map[string]any, path string) int64 {
	switch n := change.Lookup(doc, path).(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// docList returns the list at a dotted path, or nil.
func docList(doc map[string]any, path string) []any {
	l, _ := change.Lookup(doc, path).([]any)
	return l
}

// docMap returns the map at a dotted path, or nil.
func docMap(doc map[string]any, path string) map[string]any {
	m, _ := change.Lookup(doc, path).(map[string]any)
	return m
}

// required returns the string at path, or an error naming it when it is
// empty.
func required(doc map[string]any, path string) (string, error) {
	if s := docString(doc, path); s != "" {
		return s, nil
	}
	return "", fmt.Errorf("the document has no %s", path)
}

// withPath returns a copy of doc with the value at the dotted path
// replaced by v; the maps along the path are copied, everything else is
// shared (documents are read-only).
func withPath(doc map[string]any, path string, v any) map[string]any {
	out := maps.Clone(doc)
	if out == nil {
		out = map[string]any{}
	}
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		out[head] = v
		return out
	}
	inner, _ := out[head].(map[string]any)
	out[head] = withPath(inner, rest, v)
	return out
}

// regionOf is the region of a resource: its ARN's, else its reference's.
func regionOf(ref resource.Ref) string {
	if a, err := arn.Parse(ref.ID); err == nil && a.Region != "" {
		return a.Region
	}
	return ref.Region
}

// resourceOf returns the resource part of an ARN after prefix
// (arn:p:svc:r:a:<prefix><id> → id), or an error.
func resourceOf(ref resource.Ref, prefix string) (string, error) {
	a, err := arn.Parse(ref.ID)
	if err != nil {
		return "", fmt.Errorf("parse %s ARN %q: %w", ref.Type, ref.ID, err)
	}
	id, ok := strings.CutPrefix(a.Resource, prefix)
	if !ok || id == "" {
		return "", fmt.Errorf("%s ARN %q has no %s{id} resource", ref.Type, ref.ID, prefix)
	}
	return id, nil
}

// Finding the offending parts. A remediation undoes only what makes the
// failing rule fail, judged by the rule itself: each candidate part (an
// ingress rule, an attached policy, a policy statement) is put alone in a
// copy of the document, and it offends when the rule fails on that copy.
// No remediation re-implements a rule's condition.

// result evaluates the verdict's rule on doc, a variant of the target's
// document. An error verdict is an error: no part is removed on a guess.
func (r *Remediator) result(ctx context.Context, t *target, doc map[string]any) (policy.Result, error) {
	res := t.res
	res.Doc = doc
	v, ok := verdictOf(r.rules.Evaluate(ctx, policy.Input{Resource: res, Change: t.ch}), t.v.RuleID)
	switch {
	case !ok:
		return "", fmt.Errorf("rule %s does not apply to %s", t.v.RuleID, res.Ref.Type)
	case v.Result == policy.Error:
		return "", fmt.Errorf("evaluate rule %s on a part of the document: %s", t.v.RuleID, v.Message)
	}
	return v.Result, nil
}

// offending returns the indexes of the candidates that make the rule fail
// on their own: for each candidate, the list at path holds keep plus that
// candidate alone. It then checks that the list without the offending
// candidates (keep plus the others) passes, so that removing them is
// enough; otherwise it returns an error.
func (r *Remediator) offending(ctx context.Context, t *target, path string, keep, candidates []any) ([]int, error) {
	var bad []int
	for i, c := range candidates {
		list := append(append(make([]any, 0, len(keep)+1), keep...), c)
		res, err := r.result(ctx, t, withPath(t.doc(), path, list))
		if err != nil {
			return nil, err
		}
		if res == policy.Fail {
			bad = append(bad, i)
		}
	}
	rest := append(make([]any, 0, len(keep)+len(candidates)), keep...)
	for i, c := range candidates {
		if !slices.Contains(bad, i) {
			rest = append(rest, c)
		}
	}
	res, err := r.result(ctx, t, withPath(t.doc(), path, rest))
	if err != nil {
		return nil, err
	}
	if res != policy.Pass {
		return nil, fmt.Errorf("rule %s would still fail without the %d offending part(s) of %s: it fails for a reason this remediation does not undo", t.v.RuleID, len(bad), path)
	}
	return bad, nil
}
