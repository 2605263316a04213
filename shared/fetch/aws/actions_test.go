package aws

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sdkServicePrefix is where the SDK's service packages live.
const sdkServicePrefix = "github.com/aws/aws-sdk-go-v2/service/"

// iamPrefixOf is the IAM service prefix of each SDK package this package
// calls, where the two differ.
var iamPrefixOf = map[string]string{"s3control": "s3", "configservice": "config"}

// sdkOperationsReferenced parses the package's non-test sources and returns
// every SDK operation they reference, "<package>.<Operation>", with the file
// that references it: an operation cannot be called (directly, through an
// interface, a paginator or a waiter) without naming its <Operation>Input
// type, and the consumer-side interfaces name it in their method signatures.
func sdkOperationsReferenced(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		pkgs := map[string]string{} // local name → SDK package name
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			svc, ok := strings.CutPrefix(p, sdkServicePrefix)
			if !ok || strings.Contains(svc, "/") {
				continue // not a service package (types, internal, ...)
			}
			local := path.Base(p)
			if im.Name != nil {
				local = im.Name.Name
			}
			pkgs[local] = svc
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			svc, ok := pkgs[x.Name]
			if !ok {
				return true
			}
			if op, ok := strings.CutSuffix(sel.Sel.Name, "Input"); ok && op != "" {
				ops[svc+"."+op] = name
			}
			return true
		})
	}
	return ops
}

// TestDeclaredActionsCoverEverySDKCall fails when a fetcher calls an SDK
// operation that no family table declares (a template built from Actions()
// would miss its permission), or when a table declares an operation no code
// calls any more (a template would grant too much).
func TestDeclaredActionsCoverEverySDKCall(t *testing.T) {
	referenced := sdkOperationsReferenced(t)
	if len(referenced) < 20 {
		t.Fatalf("found only %d SDK operations in the package's sources: the scan is broken", len(referenced))
	}
	declared := map[string]bool{}
	for _, fam := range families() {
		for op := range fam {
			if declared[op] {
				t.Errorf("operation %s is declared by two family tables", op)
			}
			declared[op] = true
		}
	}
	for _, op := range slices.Sorted(maps.Keys(referenced)) {
		if !declared[op] {
			t.Errorf("%s calls %s, but no operationActions table declares its IAM action", referenced[op], op)
		}
	}
	for _, op := range slices.Sorted(maps.Keys(declared)) {
		if _, ok := referenced[op]; !ok {
			t.Errorf("%s is declared but no code calls it: remove it from its table", op)
		}
	}
}

var actionName = regexp.MustCompile(`^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$`)

// TestDeclaredActionsAreWellFormed checks every declared action: a service
// prefix that matches its SDK package, no wildcard, and only read actions
// in a package that must never write.
func TestDeclaredActionsAreWellFormed(t *testing.T) {
	readVerb := regexp.MustCompile(`^(Get|List|Describe|Head)`)
	for _, fam := range families() {
		for op, acts := range fam {
			pkg, _, _ := strings.Cut(op, ".")
			want := pkg
			if p, ok := iamPrefixOf[pkg]; ok {
				want = p
			}
			if len(acts) == 0 {
				t.Errorf("%s declares no action", op)
			}
			for _, a := range acts {
				if !actionName.MatchString(a) {
					t.Errorf("%s: action %q is not service:Action without wildcards", op, a)
					continue
				}
				prefix, name, _ := strings.Cut(a, ":")
				if prefix != want {
					t.Errorf("%s: action %q has prefix %q, want %q", op, a, prefix, want)
				}
				if pkg != "sts" && !readVerb.MatchString(name) {
					t.Errorf("%s: action %q is not a read action; writes belong to the revert package", op, a)
				}
			}
		}
	}
}

func TestActions(t *testing.T) {
	got := Actions()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Actions() is not sorted and unique: %v", got)
	}
	for _, a := range []string{"s3:GetEncryptionConfiguration", "s3:GetAccountPublicAccessBlock", "lambda:ListTags", "guardduty:ListDetectors"} {
		if !slices.Contains(got, a) {
			t.Errorf("Actions() lacks %s", a)
		}
	}
	if slices.Contains(got, "sts:AssumeRole") {
		t.Errorf("Actions() includes sts:AssumeRole, which only cross-account readers need")
	}
	if got := AssumeActions(); !slices.Equal(got, []string{"sts:AssumeRole"}) {
		t.Errorf("AssumeActions() = %v", got)
	}
	for _, tc := range []struct {
		pkg, op string
		want    []string
		ok      bool
	}{
		{"s3", "GetBucketEncryption", []string{"s3:GetEncryptionConfiguration"}, true},
		{"s3control", "GetPublicAccessBlock", []string{"s3:GetAccountPublicAccessBlock"}, true},
		{"s3", "GetPublicAccessBlock", []string{"s3:GetBucketPublicAccessBlock"}, true},
		{"lambda", "GetFunction", []string{"lambda:GetFunction", "lambda:ListTags"}, true},
		{"s3", "PutBucketAcl", nil, false},
	} {
		t.Run(tc.pkg+"."+tc.op, func(t *testing.T) {
			got, ok := ActionsFor(tc.pkg, tc.op)
			if ok != tc.ok || !slices.Equal(got, tc.want) {
				t.Errorf("ActionsFor(%q, %q) = %v, %v; want %v, %v", tc.pkg, tc.op, got, ok, tc.want, tc.ok)
			}
		})
	}
}
