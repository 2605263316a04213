package policy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// messagePart is literal text, an expression (prg), or a field path
// (root and path: resource.Acl.Owner).
type messagePart struct {
	text string
	prg  cel.Program
	root string
	path []string
}

// pathRoots are the variables a message field path may start from, with
// the number of fields it may have (0: any).
var pathRoots = map[string]int{varResource: 0, varPrevious: 0, varChange: 0, varRef: 1, varTags: 1}

// celReserved are identifiers CEL does not accept as field names.
var celReserved = map[string]bool{
	"as": true, "break": true, "const": true, "continue": true, "else": true, "for": true,
	"function": true, "if": true, "import": true, "let": true, "loop": true, "package": true,
	"namespace": true, "return": true, "var": true, "void": true, "while": true,
	"in": true, "true": true, "false": true, "null": true,
}

// fieldPath reports whether expr is a plain field path such as
// resource.Acl.Owner, and splits it.
func fieldPath(expr string) (root string, path []string, ok bool) {
	parts := strings.Split(strings.TrimSpace(expr), ".")
	limit, ok := pathRoots[parts[0]]
	if !ok || len(parts) < 2 || (limit > 0 && len(parts)-1 > limit) {
		return "", nil, false
	}
	for _, p := range parts[1:] {
		if !isIdent(p) || celReserved[p] {
			return "", nil, false
		}
	}
	return parts[0], parts[1:], true
}

// isIdent reports whether s is a CEL identifier: [_a-zA-Z][_a-zA-Z0-9]*.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return true
}

// lookup evaluates a field path part against the activation.
func (p messagePart) lookup(act *activation) (ref.Val, error) {
	v, _ := act.ResolveName(p.root)
	val := v.(ref.Val)
	for _, f := range p.path {
		m, ok := val.(traits.Mapper)
		if !ok {
			return nil, fmt.Errorf("no such key: %s (%s is not a map)", f, val.Type().TypeName())
		}
		next, found := m.Find(types.String(f))
		if !found {
			return nil, fmt.Errorf("no such key: %s", f)
		}
		if types.IsError(next) {
			return nil, next.(*types.Err)
		}
		val = next
	}
	return val, nil
}

// message splits the message template into text and {{ expr }} parts and
// compiles the expressions. A plain field path rooted at a map variable
// (resource.Name, ref.id) is not compiled but looked up directly: most
// message expressions are such paths, and compiling them would double
// start-up time.
func (cp *compiler) message(r *Rule) ([]messagePart, []error) {
	var parts []messagePart
	var errs []error
	msg := r.Message
	base := 0
	for {
		i := strings.Index(msg, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(msg[i+2:], "}}")
		if j < 0 {
			ce := ruleError(r, "message: {{ without }}")
			if fl, fc, ok := r.messagePos.at(base + i); ok && r.File != "" {
				ce.Line, ce.Column = fl, fc
			}
			errs = append(errs, ce)
			break
		}
		if i > 0 {
			parts = append(parts, messagePart{text: msg[:i]})
		}
		expr := msg[i+2 : i+2+j]
		if strings.TrimSpace(expr) == "" {
			errs = append(errs, ruleError(r, "message: empty {{ }}"))
		} else {
			if root, path, ok := fieldPath(expr); ok {
				parts = append(parts, messagePart{root: root, path: path})
			} else {
				prg, err := cp.expr(r, expr, r.messagePos, base+i+2, false)
				if err != nil {
					errs = append(errs, err)
				}
				parts = append(parts, messagePart{prg: prg})
			}
		}
		msg = msg[i+2+j+2:]
		base += i + 2 + j + 2
	}
	if msg != "" {
		parts = append(parts, messagePart{text: msg})
	}
	return parts, errs
}

// render fills the message template; an expression that fails to evaluate
// is rendered as <error: ...>. An empty template renders as the title.
func (c *compiled) render(ctx context.Context, act *activation) string {
	if len(c.message) == 0 {
		return c.rule.Title
	}
	var b strings.Builder
	for _, p := range c.message {
		var out ref.Val
		var err error
		switch {
		case p.prg != nil:
			out, err = eval(ctx, p.prg, act)
		case p.root != "":
			out, err = p.lookup(act)
		default:
			b.WriteString(p.text)
			continue
		}
		if err != nil {
			fmt.Fprintf(&b, "<error: %v>", err)
			continue
		}
		writeValue(&b, out)
	}
	return strings.TrimSpace(b.String())
}

// writeValue renders a CEL value for a message: strings as they are, lists
// joined by ", ", maps as {key: value, ...} with sorted keys, null as
// "null".
func writeValue(b *strings.Builder, v ref.Val) {
	if s, ok := v.(types.String); ok {
		b.WriteString(string(s))
		return
	}
	switch n := nativeValue(v).(type) {
	case []any:
		for i, e := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			writeNative(b, e)
		}
	default:
		writeNative(b, n)
	}
}

func writeNative(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeNative(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteString(": ")
			writeNative(b, x[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, x)
	}
}
