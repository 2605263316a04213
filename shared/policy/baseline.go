package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// KindBaseline is the kind of a rule that compares a resource with its
// approved baseline instead of evaluating a condition:
//
//	rules:
//	  - id: acme-sg-web-baseline
//	    title: Web security group differs from its approved rules
//	    severity: medium
//	    resource_types: [AWS::EC2::SecurityGroup]
//	    kind: baseline
//	    watch: [SecurityGroupIngress, SecurityGroupEgress]
//
// The rule passes when the resource has no approved baseline, or when the
// live document equals the approved one on every watched path; it fails
// otherwise, and its message (the rendered message template, or the title)
// ends with the differences as JSON (see Diff). A baseline that cannot be
// looked up gives an Error verdict. Baselines come from Input.Baseline or,
// when that is nil, from the engine's BaselineSource (WithBaselines).
const KindBaseline = "baseline"

// MaxDifferences bounds the differences a baseline verdict's message lists.
const MaxDifferences = 50

// BaselineSource looks up the approved document of a resource
// (shared/baseline keeps them).
type BaselineSource interface {
	// Approved returns the approved document of the resource, and false
	// when none was approved.
	Approved(ctx context.Context, ref resource.Ref) (doc map[string]any, ok bool, err error)
}

// WithBaselines makes the engine look up the approved documents of baseline
// rules in src (when Input.Baseline is nil). Without it, a baseline rule
// passes unless the input carries a baseline.
func WithBaselines(src BaselineSource) Option {
	return func(c *config) { c.baselines = src }
}

// checkKind validates the kind of r and its watch paths, and reports whether
// r is a condition rule (whose condition is then compiled).
func checkKind(r *Rule, bad func(format string, args ...any)) (conditional bool) {
	switch r.Kind {
	case "":
		if len(r.Watch) > 0 {
			bad("watch applies to rules of kind %s only", KindBaseline)
		}
		return true
	case KindBaseline:
		if strings.TrimSpace(r.Condition) != "" {
			bad("a rule of kind %s has watch paths, not a condition", KindBaseline)
		}
		if len(r.Watch) == 0 {
			bad("a rule of kind %s needs watch: the document paths to compare", KindBaseline)
		}
		for _, p := range r.Watch {
			if err := checkPath(p); err != nil {
				bad("watch %q: %v", p, err)
			}
		}
		return false
	}
	bad("kind %q is not %s (or empty, for a rule with a condition)", r.Kind, KindBaseline)
	return false
}

// checkPath checks a dotted document path.
func checkPath(p string) error {
	if strings.ContainsAny(p, " \t\r\n") {
		return fmt.Errorf("contains white space")
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return fmt.Errorf("empty segment (want Name or Name.Sub)")
		}
	}
	return nil
}

// approved is the baseline of one evaluation, looked up once.
type approved struct {
	doc map[string]any
	ok  bool
	err error
}

// baseline returns the approved document of the activation's resource.
func (a *activation) baseline(ctx context.Context, src BaselineSource) *approved {
	if a.approved != nil {
		return a.approved
	}
	switch {
	case a.in.Baseline != nil:
		a.approved = &approved{doc: a.in.Baseline, ok: true}
	case src == nil:
		a.approved = &approved{}
	default:
		doc, ok, err := src.Approved(ctx, a.in.Resource.Ref)
		a.approved = &approved{doc: doc, ok: ok, err: err}
	}
	return a.approved
}

// evaluateBaseline evaluates a baseline rule; v is the verdict to fill.
func (e *Engine) evaluateBaseline(ctx context.Context, c *compiled, in *Input, act *activation, v Verdict) Verdict {
	b := act.baseline(ctx, e.baselines)
	switch {
	case b.err != nil:
		v.Result, v.Message = Error, "look up the approved baseline: "+b.err.Error()
		return v
	case !b.ok:
		v.Result, v.Message = Pass, strings.TrimSpace(c.rule.Title)+" — no approved baseline"
		return v
	}
	diffs := Diff(b.doc, in.Resource.Doc, c.rule.Watch)
	if len(diffs) == 0 {
		v.Result, v.Message = Pass, strings.TrimSpace(c.rule.Title)+" — as approved"
		return v
	}
	v.Result, v.Message = Fail, c.render(ctx, act)+" — "+DiffMessage(diffs)
	return v
}

// DiffMessage describes differences for a verdict message: the paths, then
// the differences as JSON (at most MaxDifferences of them).
func DiffMessage(diffs []Difference) string {
	paths := make([]string, 0, len(diffs))
	for _, d := range diffs {
		paths = append(paths, d.Path)
	}
	shown, more := diffs, ""
	if len(diffs) > MaxDifferences {
		shown, more = diffs[:MaxDifferences], fmt.Sprintf(" (and %d more)", len(diffs)-MaxDifferences)
		paths = paths[:MaxDifferences]
	}
	js, err := json.Marshal(shown)
	if err != nil {
		js = []byte(fmt.Sprintf("%q", err.Error()))
	}
	return fmt.Sprintf("differs from its approved baseline on %s%s: %s", strings.Join(paths, ", "), more, js)
}

// Difference is one place where a live document differs from the approved
// one. Its JSON form is {"path", "approved", "live"} for a value (an absent
// value is null), or {"path", "added", "removed"} for a list.
type Difference struct {
	// Path is the dotted path of the value.
	Path string
	// Approved and Live are the two values (nil when absent), for a
	// difference that is not between two lists.
	Approved, Live any
	// List is set when both values are lists; Added holds the elements only
	// the live list has, Removed those only the approved list has.
	List           bool
	Added, Removed []any
}

// MarshalJSON implements json.Marshaler.
func (d Difference) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	var err error
	if d.List {
		err = enc.Encode(struct {
			Path    string `json:"path"`
			Added   []any  `json:"added"`
			Removed []any  `json:"removed"`
		}{d.Path, nonNil(d.Added), nonNil(d.Removed)})
	} else {
		err = enc.Encode(struct {
			Path     string `json:"path"`
			Approved any    `json:"approved"`
			Live     any    `json:"live"`
		}{d.Path, d.Approved, d.Live})
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), err
}

func nonNil(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

// Diff compares the approved and live documents at each dotted path and
// returns where they differ, in path order. Maps are compared key by key
// (a difference names the innermost differing key); lists are compared as
// multisets, at every depth: the same elements in another order are no
// difference, since the order in which cloud APIs list rules and grants
// carries no meaning. Numbers compare by value (1 equals 1.0).
func Diff(approved, live map[string]any, paths []string) []Difference {
	var out []Difference
	for _, p := range paths {
		a, aok := lookup(approved, p)
		l, lok := lookup(live, p)
		diff(p, a, aok, l, lok, &out)
	}
	return out
}

// DiffAll compares the two documents on every top-level property either has.
func DiffAll(approved, live map[string]any) []Difference {
	keys := slices.Sorted(maps.Keys(approved))
	for k := range live {
		if _, ok := approved[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return Diff(approved, live, keys)
}

// lookup returns the value at a dotted path of doc.
func lookup(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, seg := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func diff(path string, a any, aok bool, l any, lok bool, out *[]Difference) {
	if aok == lok && canonical(a) == canonical(l) {
		return
	}
	am, aMap := a.(map[string]any)
	lm, lMap := l.(map[string]any)
	if aok && lok && aMap && lMap {
		keys := slices.Sorted(maps.Keys(am))
		for k := range lm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			av, aok := am[k]
			lv, lok := lm[k]
			diff(path+"."+k, av, aok, lv, lok, out)
		}
		return
	}
	al, aList := a.([]any)
	ll, lList := l.([]any)
	if aok && lok && aList && lList {
		added, removed := delta(al, ll)
		*out = append(*out, Difference{Path: path, List: true, Added: added, Removed: removed})
		return
	}
	*out = append(*out, Difference{Path: path, Approved: a, Live: l})
}

// delta returns the elements of live missing from approved (added) and the
// elements of approved missing from live (removed), counting duplicates.
func delta(approved, live []any) (added, removed []any) {
	count := map[string]int{}
	for _, e := range approved {
		count[canonical(content(e))]++
	}
	for _, e := range live {
		k := canonical(content(e))
		if count[k] > 0 {
			count[k]--
			continue
		}
		added = append(added, e)
	}
	for _, e := range approved {
		k := canonical(content(e))
		if count[k] > 0 {
			count[k]--
			removed = append(removed, e)
		}
	}
	return added, removed
}

// AssignedKeys are the keys of list elements that the cloud assigns anew
// when an identical element is created again (a security group rule's
// RuleId): they identify an element, they are not its content, so list
// elements are compared without them. A rule revoked and authorized again
// with the same content is no drift.
var AssignedKeys = []string{"RuleId"}

// canonical returns a text that is equal for equal values: JSON with map
// keys sorted (encoding/json sorts them), lists sorted by their elements'
// canonical texts (without their AssignedKeys), numbers by value.
func canonical(v any) string {
	b, err := json.Marshal(sortedLists(v))
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

func sortedLists(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = sortedLists(e)
		}
		return out
	case []any:
		keys := make([]string, len(x))
		for i, e := range x {
			keys[i] = canonical(content(e))
		}
		sort.Strings(keys)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = json.RawMessage(k)
		}
		return out
	}
	return v
}

// content returns a list element without its AssignedKeys.
func content(e any) any {
	m, ok := e.(map[string]any)
	if !ok {
		return e
	}
	var out map[string]any
	for _, k := range AssignedKeys {
		if _, has := m[k]; has {
			if out == nil {
				out = maps.Clone(m)
			}
			delete(out, k)
		}
	}
	if out == nil {
		return m
	}
	return out
}
