package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// scalarChecker is implemented by the file's own scalar types (Date) so
// that the walker reports a bad value with its path.
type scalarChecker interface {
	checkScalar(n *yaml.Node) error
}

var (
	durationType      = reflect.TypeFor[time.Duration]()
	scalarCheckerType = reflect.TypeFor[scalarChecker]()
)

// walker checks a YAML tree against the Go type it will be decoded into:
// unknown fields, values of the wrong kind, fields given twice. It records
// every problem with its field path, and the line of every path so that
// later validation problems can point into the file too.
type walker struct {
	problems []Problem
	lines    map[string]int
}

func (w *walker) problem(n *yaml.Node, path, format string, args ...any) {
	w.problems = append(w.problems, Problem{Path: path, Line: n.Line, Msg: fmt.Sprintf(format, args...)})
}

// line returns the line of path, or of its nearest ancestor in the file
// (a missing required field points at its section), or 0.
func (w *walker) line(path string) int {
	for path != "" {
		if l, ok := w.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// reported reports whether the walker found a problem at path or one of
// its ancestors (a validation problem there would repeat it).
func (w *walker) reported(path string) bool {
	for _, p := range w.problems {
		if path == p.Path || strings.HasPrefix(path, p.Path+".") || strings.HasPrefix(path, p.Path+"[") {
			return true
		}
	}
	return false
}

// walk checks node n, found at path, against type t.
func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if _, seen := w.lines[path]; !seen {
		w.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value leaves the field at its zero value
	}
	if reflect.PointerTo(t).Implements(scalarCheckerType) {
		if n.Kind != yaml.ScalarNode {
			w.problem(n, path, "want a single value, not %s", kindName(n))
			return
		}
		if err := reflect.New(t).Interface().(scalarChecker).checkScalar(n); err != nil {
			w.problem(n, path, "%v", err)
		}
		return
	}
	switch {
	case t == durationType:
		w.duration(n, path)
		return
	case t.Kind() == reflect.Pointer:
		w.walk(n, t.Elem(), path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		fields := yamlFields(t)
		w.mapping(n, path, func(k, v *yaml.Node, p string) {
			ft, ok := fields[k.Value]
			if !ok {
				w.problem(k, p, "unknown field (known fields of %s: %s)", describe(path), strings.Join(sortedKeys(fields), ", "))
				return
			}
			w.walk(v, ft, p)
		})
	case reflect.Map:
		w.mapping(n, path, func(_, v *yaml.Node, p string) { w.walk(v, t.Elem(), p) })
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.problem(n, path, "want a list, not %s", kindName(n))
			return
		}
		for i, e := range n.Content {
			w.walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.problem(n, path, "want a single value, not %s", kindName(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			w.problem(n, path, "want true or false, not %s", describeValue(n))
		}
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			w.problem(n, path, "want a whole number, not %s", describeValue(n))
		}
	default:
		panic(fmt.Sprintf("config: walker meets unexpected type %s at %s", t, path))
	}
}

// mapping calls f for each key and value of mapping n, after checking that
// keys are plain and given once; YAML merge keys (<<) are followed.
func (w *walker) mapping(n *yaml.Node, path string, f func(k, v *yaml.Node, path string)) {
	if n.Kind != yaml.MappingNode {
		w.problem(n, path, "want a mapping (key: value lines), not %s", kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.problem(k, path, "a key must be a single value, not %s", kindName(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			if v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			for _, m := range merged {
				w.mapping(m, path, f)
			}
			continue
		}
		p := join(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			w.problem(k, p, "given twice (lines %d and %d)", line, k.Line)
			continue
		}
		seen[k.Value] = k.Line
		w.lines[p] = k.Line
		f(k, v, p)
	}
}

func (w *walker) duration(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		w.problem(n, path, "want a duration with a unit such as 72h or 90m, not %s", describeValue(n))
		return
	}
	if _, err := time.ParseDuration(n.Value); err != nil {
		w.problem(n, path, "%q is not a duration such as 72h or 90m", n.Value)
	}
}

// yamlFields maps the yaml names of struct t's fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// plainKey is a map key that needs no quoting in a path.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_:-]+$`)

// join appends a field or map key to a path.
func join(path, key string) string {
	if !plainKey.MatchString(key) {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a single value"
}

// describeValue names what n holds, quoting short scalars.
func describeValue(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	if len(n.Value) > 40 {
		return "a long value"
	}
	return fmt.Sprintf("%q", n.Value)
}
