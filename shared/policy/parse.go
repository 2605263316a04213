package policy

import (
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/parser"
	exprpb "google.golang.org/genproto/googleapis/api/expr/v1alpha1"
)

// prattParser is cel-go's hand-written Pratt parser configured like the
// environment's own parser (its macros and the optional-value syntax). It
// parses about ten times faster than the default ANTLR parser, which also
// has to warm up its prediction tables in every new process; parsing is
// most of the start-up cost of compiling the rules.
var prattParser = sync.OnceValues(func() (*parser.Parser, error) {
	env, err := baseEnv()
	if err != nil {
		return nil, err
	}
	return parser.NewParser(
		parser.EnablePrattParser(true),
		parser.Macros(env.Macros()...),
		parser.EnableOptionalSyntax(true),
	)
})

// compileCEL parses and type-checks expr, returning the checked AST or the
// problems found.
func compileCEL(env *cel.Env, expr string) (*cel.Ast, []*common.Error) {
	p, err := prattParser()
	if err != nil {
		return compileANTLR(env, expr)
	}
	src := common.NewTextSource(expr)
	parsed, errs := p.Parse(src)
	if errs != nil && len(errs.GetErrors()) > 0 {
		return nil, errs.GetErrors()
	}
	// cel.Ast can only be built from the protobuf form of a parsed
	// expression.
	pe, err := celast.ExprToProto(parsed.Expr())
	if err != nil {
		return compileANTLR(env, expr)
	}
	info, err := celast.SourceInfoToProto(parsed.SourceInfo())
	if err != nil {
		return compileANTLR(env, expr)
	}
	ast, iss := env.Check(cel.ParsedExprToAstWithSource(&exprpb.ParsedExpr{Expr: pe, SourceInfo: info}, src))
	if iss != nil && iss.Err() != nil {
		return nil, iss.Errors()
	}
	return ast, nil
}

// compileANTLR compiles expr with the environment's own parser.
func compileANTLR(env *cel.Env, expr string) (*cel.Ast, []*common.Error) {
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Errors()
	}
	return ast, nil
}
