package sweep

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestActionsCoverEverySDKCall fails when the package calls an SDK
// operation its table does not declare, or declares one it no longer calls:
// an operation cannot be called without naming its <Operation>Input type.
func TestActionsCoverEverySDKCall(t *testing.T) {
	const prefix = "github.com/aws/aws-sdk-go-v2/service/"
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	called := map[string]bool{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		pkgs := map[string]string{}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			svc, ok := strings.CutPrefix(p, prefix)
			if !ok || strings.Contains(svc, "/") {
				continue
			}
			local := path.Base(p)
			if im.Name != nil {
				local = im.Name.Name
			}
			pkgs[local] = svc
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && pkgs[x.Name] != "" {
					if op, ok := strings.CutSuffix(sel.Sel.Name, "Input"); ok && op != "" {
						called[pkgs[x.Name]+"."+op] = true
					}
				}
			}
			return true
		})
	}
	got, want := slices.Sorted(maps.Keys(called)), slices.Sorted(maps.Keys(operationActions))
	if !slices.Equal(got, want) {
		t.Errorf("the package calls %v, its table declares %v", got, want)
	}
	if acts := Actions(); !slices.Contains(acts, "cloudtrail:LookupEvents") || !slices.Contains(acts, "events:DescribeRule") {
		t.Errorf("Actions() = %v", acts)
	}
}
