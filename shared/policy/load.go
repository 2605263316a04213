package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// RuleFileSuffix and TestFileSuffix name rule and rule-test files.
const (
	RuleFileSuffix = ".rules.yaml"
	TestFileSuffix = ".tests.yaml"
)

// ParseRules reads a rule file: a YAML mapping whose only key, rules, holds
// a list of rules. file names the source in errors and in Rule.File. An
// unknown key anywhere is an error naming the file and line. Rules are not
// validated here; Compile does that.
func ParseRules(file string, data []byte) ([]Rule, error) {
	root, err := parseYAML(file, data)
	if err != nil || root == nil {
		return nil, err
	}
	list, err := topList(file, root, "rules")
	if err != nil || list == nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	var rules []Rule
	var errs []error
	for _, n := range list.Content {
		if err := checkFields(file, n, reflect.TypeFor[Rule]()); err != nil {
			errs = append(errs, err)
			continue
		}
		var r Rule
		if err := n.Decode(&r); err != nil {
			errs = append(errs, yamlError(file, n, err))
			continue
		}
		r.File = file
		r.Line = n.Line
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch n.Content[i].Value {
			case "condition":
				r.conditionPos = scalarSource(lines, n.Content[i+1])
			case "message":
				r.messagePos = scalarSource(lines, n.Content[i+1])
			}
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

// LoadFS reads the rule files of fsys that match the patterns (fs.Glob
// syntax), in lexical order; with no pattern it reads every file named
// *.rules.yaml anywhere in fsys. Rule.File is the path within fsys.
func LoadFS(fsys fs.FS, patterns ...string) ([]Rule, error) {
	files, err := matchFiles(fsys, RuleFileSuffix, patterns)
	if err != nil {
		return nil, err
	}
	var rules []Rule
	var errs []error
	for _, name := range files {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("read rule file: %w", err))
			continue
		}
		rs, err := ParseRules(name, data)
		if err != nil {
			errs = append(errs, err)
		}
		rules = append(rules, rs...)
	}
	return rules, errors.Join(errs...)
}

// LoadDir reads every *.rules.yaml file under dir, recursively. Rule.File
// is the file's path (dir joined with its path below dir).
func LoadDir(dir string) ([]Rule, error) {
	rules, err := LoadFS(os.DirFS(dir))
	for i := range rules {
		rules[i].File = filepath.Join(dir, filepath.FromSlash(rules[i].File))
	}
	if err != nil {
		return rules, fmt.Errorf("load rules from %s: %w", dir, err)
	}
	return rules, nil
}

// matchFiles returns the files of fsys matching patterns, or every file
// with suffix when there are none, sorted.
func matchFiles(fsys fs.FS, suffix string, patterns []string) ([]string, error) {
	seen := map[string]bool{}
	if len(patterns) == 0 {
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, suffix) {
				seen[p] = true
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s files: %w", suffix, err)
		}
	}
	for _, pat := range patterns {
		m, err := fs.Glob(fsys, pat)
		if err != nil {
			return nil, fmt.Errorf("match %q: %w", pat, err)
		}
		for _, p := range m {
			seen[p] = true
		}
	}
	files := make([]string, 0, len(seen))
	for p := range seen {
		files = append(files, p)
	}
	sort.Strings(files)
	return files, nil
}

// parseYAML returns the top node of a YAML document, or nil for an empty
// file.
func parseYAML(file string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, yamlError(file, &doc, err)
		}
		return nil, errors.New(fileLine(file, err.Error()))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// topList checks that root is a mapping whose only key is name and returns
// the list under it (nil when empty).
func topList(file string, root *yaml.Node, name string) (*yaml.Node, error) {
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping with a %q list", file, root.Line, name)
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != name {
			return nil, fmt.Errorf("%s:%d: unknown field %q (want %q)", file, k.Line, k.Value, name)
		}
		list = v
	}
	if list == nil || (list.Kind == yaml.ScalarNode && list.Tag == "!!null") {
		return nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: %q must be a list", file, list.Line, name)
	}
	return list, nil
}

// checkFields reports keys of mapping n (recursively for struct-typed
// fields) that t does not declare in its yaml tags.
func checkFields(file string, n *yaml.Node, t reflect.Type) error {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode {
			var errs []error
			for _, e := range n.Content {
				errs = append(errs, checkFields(file, e, t.Elem()))
			}
			return errors.Join(errs...)
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		return fmt.Errorf("%s:%d: want a mapping", file, n.Line)
	}
	fields := yamlFields(t)
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ft, ok := fields[k.Value]
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: unknown field %q", file, k.Line, k.Value))
			continue
		}
		if err := checkFields(file, n.Content[i+1], ft); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// yamlFields maps the yaml names of t's fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
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

// yamlError prefixes a decoding error with the file and, when the error
// does not carry one, the line of n.
func yamlError(file string, n *yaml.Node, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = fileLine(file, m)
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	return fmt.Errorf("%s:%d: %w", file, n.Line, err)
}

// yamlLine matches the "line N: " that yaml.v3 puts in its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// fileLine rewrites a yaml.v3 message "line N: msg" as "file:N: msg".
func fileLine(file, msg string) string {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return file + ":" + m[1] + ": " + msg[len(m[0]):]
	}
	return file + ": " + msg
}

// sourcePos locates a scalar's text in its file so that positions inside
// the value (a CEL error's line and column) can be reported as file
// positions. segments are the value's source lines: the value is their
// text joined by one character (a newline for literal blocks, a space
// for folded and flow scalars).
type sourcePos struct {
	segments []segment
}

type segment struct {
	line, col int // 1-based file position of the segment's first character
	n         int // length in bytes
}

// scalarSource works out where the characters of scalar n's value sit in
// the file; when the value cannot be matched to its source exactly (escape
// sequences, blank lines in folded blocks) it falls back to the node's own
// position.
func scalarSource(lines []string, n *yaml.Node) sourcePos {
	fallback := sourcePos{segments: []segment{{line: n.Line, col: n.Column, n: len(n.Value)}}}
	if n.Kind != yaml.ScalarNode || n.Line < 1 || n.Line > len(lines) {
		return fallback
	}
	var segs []segment
	var texts []string
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		indent := -1
		for i := n.Line; i < len(lines); i++ { // lines[i] is file line i+1
			l := strings.TrimRight(lines[i], " \t\r")
			if l == "" {
				segs = append(segs, segment{line: i + 1, col: 1})
				texts = append(texts, "")
				continue
			}
			ind := len(l) - len(strings.TrimLeft(l, " "))
			if indent < 0 {
				indent = ind
			}
			if ind < indent {
				break
			}
			segs = append(segs, segment{line: i + 1, col: indent + 1, n: len(l) - indent})
			texts = append(texts, l[indent:])
		}
		for len(texts) > 0 && texts[len(texts)-1] == "" {
			texts, segs = texts[:len(texts)-1], segs[:len(segs)-1]
		}
	case 0, yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		first := n.Column // 1-based column of the first character
		if n.Style != 0 {
			first++
		}
		for i := n.Line - 1; i < len(lines) && len(strings.Join(texts, " ")) < len(n.Value); i++ {
			l := strings.TrimRight(lines[i], " \t\r")
			if i == n.Line-1 {
				if first-1 > len(l) {
					return fallback
				}
				t := l[first-1:]
				if n.Style != 0 {
					t = strings.TrimSuffix(t, string(l[n.Column-1]))
				}
				segs = append(segs, segment{line: i + 1, col: first, n: len(t)})
				texts = append(texts, t)
				continue
			}
			t := strings.TrimLeft(l, " \t")
			if n.Style != 0 {
				t = strings.TrimSuffix(t, string(lines[n.Line-1][n.Column-1]))
			}
			segs = append(segs, segment{line: i + 1, col: len(l) - len(strings.TrimLeft(l, " \t")) + 1, n: len(t)})
			texts = append(texts, t)
		}
	default:
		return fallback
	}
	want := strings.TrimRight(strings.ReplaceAll(n.Value, "\n", " "), " ")
	if strings.Join(texts, " ") != want {
		return fallback
	}
	for i := range segs {
		segs[i].n = len(texts[i])
	}
	return sourcePos{segments: segs}
}

// at returns the file line and 1-based column of byte offset off in the
// value, or ok false when the position is unknown.
func (p sourcePos) at(off int) (line, col int, ok bool) {
	if len(p.segments) == 0 {
		return 0, 0, false
	}
	for i, s := range p.segments {
		if off <= s.n || i == len(p.segments)-1 {
			return s.line, s.col + off, true
		}
		off -= s.n + 1
	}
	return 0, 0, false
}

// offsetOf converts a CEL location (1-based line, 0-based column within
// text) into a byte offset in text.
func offsetOf(text string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	return off + col
}
