package policy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// DefaultCostLimit is the CEL cost budget of one expression evaluation
// (roughly the number of operations). It is generous for any policy
// document AWS accepts and stops runaway comprehensions.
const DefaultCostLimit = 1_000_000

// interruptCheckFrequency is how many comprehension iterations pass
// between checks of the context.
const interruptCheckFrequency = 100

// Option configures Compile.
type Option func(*config)

type config struct {
	costLimit uint64
	now       func() time.Time
	baselines BaselineSource
}

// WithCostLimit sets the CEL cost budget of each evaluation of a condition
// or message expression (default DefaultCostLimit). An evaluation that
// exceeds it yields an Error verdict.
func WithCostLimit(limit uint64) Option {
	return func(c *config) { c.costLimit = limit }
}

// WithClock sets the clock that gives the now variable when Input.Now is
// zero (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// CompileError is a rule that does not validate or whose expression does
// not compile. Line and Column are 1-based positions in File when the rule
// was loaded from a file (else within the expression); they are 0 when
// unknown.
type CompileError struct {
	File   string
	Rule   string
	Line   int
	Column int
	Msg    string
}

// Error returns "file:line:col: rule id: message".
func (e *CompileError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, "rule %s: ", e.Rule)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Input is what one evaluation reads.
type Input struct {
	// Resource is the live state; rules whose resource_types include its
	// Ref.Type are evaluated.
	Resource resource.Resource
	// Change is the change that triggered the check, if any.
	Change *change.Change
	// Previous is the previous document, if known.
	Previous map[string]any
	// Now is the evaluation time seen as the now variable (zero: the
	// engine's clock).
	Now time.Time
	// Baseline is the resource's approved document, for rules of kind
	// baseline; nil asks the engine's BaselineSource (WithBaselines).
	Baseline map[string]any
}

// Engine holds compiled rules. It is safe for concurrent use.
type Engine struct {
	rules  []*compiled
	byType map[string][]*compiled
	types  []string
	now    func() time.Time
	env    *cel.Env
	// baselines looks up approved documents for baseline rules.
	baselines BaselineSource
}

// compiled is one rule ready to run.
type compiled struct {
	rule      *Rule
	condition cel.Program
	message   []messagePart
	pass      string // message of a pass verdict
}

var (
	validSeverity = map[string]bool{SeverityCritical: true, SeverityHigh: true, SeverityMedium: true, SeverityLow: true, SeverityInfo: true}
	validMode     = map[string]bool{ModeAlert: true, ModeTicket: true, ModeRevert: true}
	ruleIDPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// Variable names seen by expressions.
const (
	varResource    = "resource"
	varRef         = "ref"
	varTags        = "tags"
	varChange      = "change"
	varPrevious    = "previous"
	varHasPrevious = "has_previous"
	varNow         = "now"
)

// baseEnv is the CEL environment shared by every engine (it is immutable).
var baseEnv = sync.OnceValues(newEnv)

func newEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.Variable(varResource, cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable(varRef, cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable(varTags, cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable(varChange, cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable(varPrevious, cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable(varHasPrevious, cel.BoolType),
		cel.Variable(varNow, cel.TimestampType),
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Lists(),
		ext.Math(),
		ext.Encoders(),
		ext.Bindings(),
		ext.TwoVarComprehensions(),
	}
	opts = append(opts, functionOptions()...)
	return cel.NewEnv(opts...)
}

// Compile validates the rules and compiles every condition and message
// expression. It returns every problem found, each a *CompileError, joined
// with errors.Join. Rules are validated as follows: id non-empty,
// kebab-case and unique; title non-empty; severity one of the Severity
// constants; mode empty (alert) or a Mode constant; deleted empty (pass),
// pass or fail; resource_types and condition non-empty; the condition of
// type bool (or dyn, checked at run time); kind empty, or baseline with
// watch paths and no condition. The engine keeps its own copies
// of the rules, with Mode and Deleted defaulted.
func Compile(rules []Rule, opts ...Option) (*Engine, error) {
	cfg := config{costLimit: DefaultCostLimit, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	env, err := baseEnv()
	if err != nil {
		return nil, fmt.Errorf("create CEL environment: %w", err)
	}
	cp := &compiler{env: env, progOpts: []cel.ProgramOption{
		cel.EvalOptions(cel.OptOptimize),
		cel.CostLimit(cfg.costLimit),
		cel.InterruptCheckFrequency(interruptCheckFrequency),
	}}
	e := &Engine{byType: map[string][]*compiled{}, now: cfg.now, env: env, baselines: cfg.baselines}

	// Compile rules in parallel: parsing and checking CEL dominates
	// start-up, and the environment is safe for concurrent use.
	type result struct {
		c    *compiled
		errs []error
	}
	results := make([]result, len(rules))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(rules)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(rules) {
					return
				}
				r := rules[i] // copy: the engine owns its rules
				r.ResourceTypes = slices.Clone(r.ResourceTypes)
				r.References.CIS = slices.Clone(r.References.CIS)
				r.References.URLs = slices.Clone(r.References.URLs)
				c, errs := cp.rule(&r)
				results[i] = result{c, errs}
			}
		})
	}
	wg.Wait()

	var errs []error
	seen := map[string]*Rule{}
	for _, res := range results {
		c, rerrs := res.c, res.errs
		r := c.rule
		if r.ID != "" {
			if first, dup := seen[r.ID]; dup {
				rerrs = append(rerrs, ruleError(r, fmt.Sprintf("duplicate rule id (first defined at %s:%d)", first.File, first.Line)))
			} else {
				seen[r.ID] = r
			}
		}
		if len(rerrs) > 0 {
			errs = append(errs, rerrs...)
			continue
		}
		e.rules = append(e.rules, c)
		for _, t := range r.ResourceTypes {
			if !slices.Contains(e.byType[t], c) {
				e.byType[t] = append(e.byType[t], c)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for t := range e.byType {
		e.types = append(e.types, t)
	}
	sort.Strings(e.types)
	return e, nil
}

func ruleError(r *Rule, msg string) *CompileError {
	return &CompileError{File: r.File, Rule: r.ID, Line: r.Line, Msg: msg}
}

// compiler compiles the expressions of rules, once per distinct text.
type compiler struct {
	env      *cel.Env
	progOpts []cel.ProgramOption

	mu    sync.Mutex
	cache map[string]checked
}

// checked is a compiled expression and its type.
type checked struct {
	prg cel.Program
	out *cel.Type
}

// rule validates one rule and compiles its expressions.
func (cp *compiler) rule(r *Rule) (*compiled, []error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, ruleError(r, fmt.Sprintf(format, args...)))
	}
	switch {
	case r.ID == "":
		bad("id is empty")
	case !ruleIDPattern.MatchString(r.ID):
		bad("id %q is not kebab-case (lower-case letters, digits and single dashes)", r.ID)
	}
	if strings.TrimSpace(r.Title) == "" {
		bad("title is empty")
	}
	if !validSeverity[r.Severity] {
		bad("severity %q is not one of critical, high, medium, low, info", r.Severity)
	}
	if r.Mode == "" {
		r.Mode = ModeAlert
	} else if !validMode[r.Mode] {
		bad("mode %q is not one of alert, ticket, revert", r.Mode)
	}
	switch r.Deleted {
	case "":
		r.Deleted = Pass
	case Pass, Fail:
	default:
		bad("deleted %q is not pass or fail", r.Deleted)
	}
	if len(r.ResourceTypes) == 0 {
		bad("resource_types is empty")
	}
	for _, t := range r.ResourceTypes {
		if strings.TrimSpace(t) == "" {
			bad("resource_types has an empty entry")
		}
	}
	c := &compiled{rule: r, pass: strings.TrimSpace(r.Title) + " — compliant"}
	switch {
	case !checkKind(r, bad): // a baseline rule: no condition
	case strings.TrimSpace(r.Condition) == "":
		bad("condition is empty")
	default:
		prg, err := cp.expr(r, r.Condition, r.conditionPos, 0, true)
		if err != nil {
			errs = append(errs, err)
		}
		c.condition = prg
	}
	parts, perrs := cp.message(r)
	errs = append(errs, perrs...)
	c.message = parts
	return c, errs
}

// expr compiles one expression; offset is where the expression starts
// within the text that pos locates (the condition, or the message
// template). Expressions that compile are cached by text: rules often
// repeat the same message expression.
func (cp *compiler) expr(r *Rule, expr string, pos sourcePos, offset int, wantBool bool) (cel.Program, error) {
	cp.mu.Lock()
	c, ok := cp.cache[expr]
	cp.mu.Unlock()
	if !ok {
		ast, issues := compileCEL(cp.env, expr)
		if len(issues) > 0 {
			var errs []error
			for _, e := range issues {
				ce := &CompileError{File: r.File, Rule: r.ID, Msg: e.Message}
				line, col := e.Location.Line(), e.Location.Column()
				if fl, fc, ok := pos.at(offset + offsetOf(expr, line, col)); ok && r.File != "" {
					ce.Line, ce.Column = fl, fc
				} else {
					ce.Line, ce.Column = line, col+1
					if r.File != "" { // position within the expression, not the file
						ce.Msg = fmt.Sprintf("%s (expression line %d, column %d)", e.Message, line, col+1)
						ce.Line, ce.Column = r.Line, 0
					}
				}
				errs = append(errs, ce)
			}
			return nil, errors.Join(errs...)
		}
		prg, err := cp.env.Program(ast, cp.progOpts...)
		if err != nil {
			return nil, ruleError(r, fmt.Sprintf("plan expression: %v", err))
		}
		c = checked{prg: prg, out: ast.OutputType()}
		cp.mu.Lock()
		if cp.cache == nil {
			cp.cache = map[string]checked{}
		}
		cp.cache[expr] = c
		cp.mu.Unlock()
	}
	if wantBool && !c.out.IsExactType(types.BoolType) && !c.out.IsExactType(types.DynType) {
		ce := &CompileError{File: r.File, Rule: r.ID, Line: r.Line, Msg: fmt.Sprintf("condition has type %s, want bool", c.out)}
		if fl, fc, ok := pos.at(offset); ok && r.File != "" {
			ce.Line, ce.Column = fl, fc
		}
		return nil, ce
	}
	return c.prg, nil
}

// Rules returns the engine's rules in the order they were given.
func (e *Engine) Rules() []*Rule {
	out := make([]*Rule, len(e.rules))
	for i, c := range e.rules {
		out[i] = c.rule
	}
	return out
}

// RulesFor returns the rules that apply to resources of type typ.
func (e *Engine) RulesFor(typ string) []*Rule {
	cs := e.byType[typ]
	out := make([]*Rule, len(cs))
	for i, c := range cs {
		out[i] = c.rule
	}
	return out
}

// Rule returns the rule with the given id, or nil.
func (e *Engine) Rule(id string) *Rule {
	if c := e.compiled(id); c != nil {
		return c.rule
	}
	return nil
}

func (e *Engine) compiled(id string) *compiled {
	for _, c := range e.rules {
		if c.rule.ID == id {
			return c
		}
	}
	return nil
}

// Types returns the resource types some rule applies to, sorted.
func (e *Engine) Types() []string { return slices.Clone(e.types) }

// Evaluate runs every rule that applies to in.Resource.Ref.Type and returns
// one verdict per rule, in rule order. For a resource that no longer
// exists each rule gives its deleted result without evaluating. A
// condition that fails to evaluate (missing key, wrong type, cost limit,
// cancelled ctx) gives an Error verdict, never a pass.
func (e *Engine) Evaluate(ctx context.Context, in Input) []Verdict {
	cs := e.byType[in.Resource.Ref.Type]
	if len(cs) == 0 {
		return nil
	}
	out := make([]Verdict, 0, len(cs))
	act := e.newActivation(&in)
	for _, c := range cs {
		out = append(out, e.evaluate(ctx, c, &in, act))
	}
	return out
}

// evaluate runs one compiled rule.
func (e *Engine) evaluate(ctx context.Context, c *compiled, in *Input, act *activation) Verdict {
	v := Verdict{Rule: c.rule, RuleID: c.rule.ID, Severity: c.rule.Severity, Resource: in.Resource.Ref}
	if !in.Resource.Exists {
		v.Result, v.Message = c.rule.Deleted, "resource no longer exists"
		return v
	}
	if c.rule.Kind == KindBaseline {
		return e.evaluateBaseline(ctx, c, in, act, v)
	}
	out, err := eval(ctx, c.condition, act)
	if err != nil {
		v.Result, v.Message = Error, "evaluate condition: "+err.Error()
		return v
	}
	ok, isBool := out.(types.Bool)
	switch {
	case !isBool:
		v.Result, v.Message = Error, fmt.Sprintf("evaluate condition: result is %s, want bool", out.Type().TypeName())
	case bool(ok):
		v.Result, v.Message = Pass, c.pass
	default:
		v.Result, v.Message = Fail, c.render(ctx, act)
	}
	return v
}

// eval runs a program, under ctx when ctx can be cancelled (watching a
// context costs a goroutine-safe child context per evaluation).
func eval(ctx context.Context, prg cel.Program, act *activation) (ref.Val, error) {
	if ctx.Done() == nil {
		out, _, err := prg.Eval(act)
		return out, err
	}
	out, _, err := prg.ContextEval(ctx, act)
	return out, err
}
