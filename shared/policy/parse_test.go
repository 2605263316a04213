package policy

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"cel.dev/cel-go/common/debug"
)

// TestPrattMatchesANTLR checks that the fast parser yields the same checked
// expression as the environment's own parser, for a set of expressions and
// for every expression of the built-in rules.
func TestPrattMatchesANTLR(t *testing.T) {
	exprs := []string{
		"resource.A == 1 && resource.B.exists(x, x > 2) || !resource.C",
		"resource.L.all(x, x.Grantee.URI in ['a', 'b']) ? 'y' : 'n'",
		"resource.?Missing.orValue('d') == 'd' && resource.M[?'k'].hasValue()",
		"resource.M.all(k, v, v > 0) && resource.L.exists_one(x, x == 1)",
		"cel.bind(x, resource.A, x * x) > 4",
		"size(resource.L.filter(x, x.startsWith('a')).map(x, x.upperAscii())) >= 2",
		"has(resource.A.b) && type(resource.A) == map",
		"-1 < resource.N && resource.N % 2 == 0 && 1.5e3 > 2u",
		`"a\nb" + 'c' + r'\d' != string(b"x")`,
		"now - timestamp(resource.T) > duration('24h')",
		"is_world_cidr(resource.Cidr) && port_in_range(22, -1, -1)",
		"[1, 2, 3].sort() == [1, 2, 3] && sets.contains([1], [1])",
		"{'a': 1, 'b': [1, 2]}.a == 1",
		"resource.L.transformMap(i, v, v * 2).size() == 2",
	}
	files, _ := filepath.Glob("pack/*/*.rules.yaml")
	tmpl := regexp.MustCompile(`\{\{(.*?)\}\}`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rules, err := ParseRules(f, data)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			exprs = append(exprs, r.Condition)
			for _, m := range tmpl.FindAllStringSubmatch(r.Message, -1) {
				exprs = append(exprs, m[1])
			}
		}
	}
	env, err := baseEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range exprs {
		pratt, perrs := compileCEL(env, x)
		antlr, aerrs := compileANTLR(env, x)
		if len(perrs) > 0 || len(aerrs) > 0 {
			t.Errorf("%s: errors: pratt %v, antlr %v", x, perrs, aerrs)
			continue
		}
		ps := debug.ToDebugString(pratt.NativeRep().Expr())
		as := debug.ToDebugString(antlr.NativeRep().Expr())
		if ps == "" || ps != as || !pratt.OutputType().IsExactType(antlr.OutputType()) {
			t.Errorf("%s:\npratt %s (%s)\nantlr %s (%s)", x, ps, pratt.OutputType(), as, antlr.OutputType())
		}
	}
}

// TestPrattErrors checks that syntax errors are reported with positions.
func TestPrattErrors(t *testing.T) {
	env, err := baseEnv()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr      string
		line, col int
	}{
		{"resource.A &&", 1, 13},
		{"resource.A == 'x", 1, 14},
		{"resource.A ==\n  (1 +", 2, 6},
		{"resource.L.exists(x)", 1, 17},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, errs := compileCEL(env, tt.expr)
			if len(errs) == 0 {
				t.Fatal("no error")
			}
			if l, c := errs[0].Location.Line(), errs[0].Location.Column(); l != tt.line || c != tt.col {
				t.Errorf("error %q at %d:%d, want %d:%d", errs[0].Message, l, c, tt.line, tt.col)
			}
		})
	}
}
