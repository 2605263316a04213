// Package iamcheck proves least privilege: it reads the IAM permissions a
// CloudFormation or SAM template grants (template.yaml, deploy/aws/member.yaml)
// and compares them, principal by principal, with the actions driftwatch's
// code declares it calls (shared/fetch/aws's tables, shared/sweep's, and the
// IAM action of every remediation call in shared/revert).
//
// Templates are processed with github.com/awslabs/goformation/v7's intrinsic
// processor for a set of parameter values: it reads the YAML short-form tags
// (!Ref, !If, !Sub...), evaluates the template's Conditions with those values
// and resolves Fn::If, so a statement behind !If [AutoRevertOn, ...] is
// granted only when the parameters turn it on, and a check per parameter
// combination shows that write actions exist only under that condition.
//
// The grants are read from the processed template as plain JSON, not from
// goformation's typed resources, for three reasons: its typed parse rejects
// SAM properties newer than its schema (v7.14.9 fails on a function's
// FunctionUrlConfig.InvokedViaFunctionUrl); its typed Function_Policies keeps
// a mixed list (SAM policy templates beside inline statements beside managed
// policy names) only partly, dropping the names; and its condition evaluator
// replaces any object with a "Condition" key by the condition's value, which
// would turn a conditional resource into a boolean, so Load renames that
// attribute first and drops the resources whose condition is false itself. SAM policy templates are expanded
// from a table of the ones driftwatch may use (SAM's
// policy_templates.json); any other one, and any managed policy, is reported
// because its grants cannot be seen here.
//
// Grants that SAM adds by itself (the execution role's basic logging policy,
// the SQS event source's poller policy, X-Ray for Tracing: Active) are not in
// the template and not checked.
package iamcheck

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7/intrinsics"
	"gopkg.in/yaml.v3"
)

// Grant is one action one statement allows one principal.
type Grant struct {
	// Principal is the logical ID of the function or role.
	Principal string
	// Policy says where the statement is: "Policies[1]", a SAM policy
	// template's name, or an IAM role policy's name.
	Policy string
	Sid    string
	// Action is one entry of the statement's Action list, as written.
	Action string
	// NotAction is set for an Allow with NotAction, which grants everything
	// except the listed actions.
	NotAction bool
}

// Template is a template processed for one set of parameter values.
type Template struct {
	raw map[string]any
}

// resourceCondition is what Load renames a resource's Condition attribute
// to before goformation processes the template: its condition evaluator
// replaces any object with a "Condition" key by the condition's value, which
// is right inside Fn::If and Fn::And but would turn a conditional resource
// into a boolean.
const resourceCondition = "XDriftwatchResourceCondition"

// Load parses a template with the parameter values (others keep their
// defaults), evaluating its Conditions; a resource whose Condition is false
// is left out.
func Load(data []byte, params map[string]string) (*Template, error) {
	data, lists, err := renameResourceConditions(data)
	if err != nil {
		return nil, err
	}
	opts := &intrinsics.ProcessorOptions{
		EvaluateConditions:        true,
		ParameterOverrides:        map[string]any{},
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{"Ref": ref},
	}
	for k, v := range params {
		if !lists[k] {
			opts.ParameterOverrides[k] = v
			continue
		}
		var l []any // a CommaDelimitedList is a list
		for _, e := range strings.Split(v, ",") {
			l = append(l, e)
		}
		opts.ParameterOverrides[k] = l
	}
	processed, err := intrinsics.ProcessYAML(data, opts)
	if err != nil {
		return nil, fmt.Errorf("process template intrinsics: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(processed, &raw); err != nil {
		return nil, fmt.Errorf("read processed template: %w", err)
	}
	conds, _ := raw["Conditions"].(map[string]any)
	for name, v := range conds {
		if _, ok := v.(bool); !ok {
			return nil, fmt.Errorf("condition %s did not evaluate to true or false", name)
		}
	}
	resources, _ := raw["Resources"].(map[string]any)
	for id, r := range resources {
		m, _ := r.(map[string]any)
		name, ok := m[resourceCondition].(string)
		if !ok {
			continue
		}
		v, known := conds[name].(bool)
		if !known {
			return nil, fmt.Errorf("resource %s: condition %s did not evaluate to true or false", id, name)
		}
		if !v {
			delete(resources, id)
		}
	}
	return &Template{raw: raw}, nil
}

// inlineConditions replaces every reference to a condition inside the
// Conditions section (!Condition X, or {Condition: X}) by a copy of X's
// expression. goformation evaluates the conditions in map order, so a
// condition that references another one evaluated later would not resolve.
func inlineConditions(top *yaml.Node) error {
	var conds *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "Conditions" && top.Content[i+1].Kind == yaml.MappingNode {
			conds = top.Content[i+1]
		}
	}
	if conds == nil {
		return nil
	}
	exprs := map[string]*yaml.Node{}
	for i := 0; i+1 < len(conds.Content); i += 2 {
		exprs[conds.Content[i].Value] = conds.Content[i+1]
	}
	var inline func(n *yaml.Node, depth int) (*yaml.Node, error)
	inline = func(n *yaml.Node, depth int) (*yaml.Node, error) {
		if depth > len(exprs)+1 {
			return nil, fmt.Errorf("conditions reference each other in a cycle")
		}
		name := ""
		switch {
		case n.Tag == "!Condition" && n.Kind == yaml.ScalarNode:
			name = n.Value
		case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Condition" && n.Content[1].Kind == yaml.ScalarNode:
			name = n.Content[1].Value
		}
		if name != "" {
			e, ok := exprs[name]
			if !ok {
				return nil, fmt.Errorf("condition %s is not defined", name)
			}
			return inline(e, depth+1)
		}
		c := *n
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, k := range n.Content {
			x, err := inline(k, depth)
			if err != nil {
				return nil, err
			}
			c.Content[i] = x
		}
		return &c, nil
	}
	for i := 1; i < len(conds.Content); i += 2 {
		x, err := inline(conds.Content[i], 0)
		if err != nil {
			return err
		}
		conds.Content[i] = x
	}
	return nil
}

// refPrefix marks a Ref to a resource in the processed template: goformation
// resolves Refs to parameters only, and a policy attached to a role names
// the role with one.
const refPrefix = "Ref::"

// ref resolves Ref like goformation, except that a Ref to a resource becomes
// refPrefix and the resource's logical ID.
func ref(name string, input any, template any) any {
	if id, ok := input.(string); ok {
		tpl, _ := template.(map[string]any)
		res, _ := tpl["Resources"].(map[string]any)
		if _, ok := res[id]; ok {
			return refPrefix + id
		}
		// The execution role SAM generates for a function, <Function>Role.
		if fn, ok := strings.CutSuffix(id, "Role"); ok {
			if r, _ := res[fn].(map[string]any); r != nil && r["Type"] == "AWS::Serverless::Function" {
				return refPrefix + id
			}
		}
	}
	return intrinsics.Ref(name, input, template)
}

// renameResourceConditions renames the Condition attribute of every
// resource (see resourceCondition), keeping the YAML's short-form tags, and
// returns the names of the CommaDelimitedList parameters.
func renameResourceConditions(data []byte) ([]byte, map[string]bool, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("parse template YAML: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("template is not a YAML mapping")
	}
	top := doc.Content[0]
	lists := map[string]bool{}
	if err := inlineConditions(top); err != nil {
		return nil, nil, err
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "Parameters" && top.Content[i+1].Kind == yaml.MappingNode {
			ps := top.Content[i+1]
			for j := 0; j+1 < len(ps.Content); j += 2 {
				p := ps.Content[j+1]
				for k := 0; k+1 < len(p.Content); k += 2 {
					if p.Content[k].Value == "Type" && p.Content[k+1].Value == "CommaDelimitedList" {
						lists[ps.Content[j].Value] = true
					}
				}
			}
		}
		if top.Content[i].Value != "Resources" || top.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		res := top.Content[i+1]
		for j := 1; j < len(res.Content); j += 2 {
			r := res.Content[j]
			if r.Kind != yaml.MappingNode {
				continue
			}
			for k := 0; k+1 < len(r.Content); k += 2 {
				if r.Content[k].Value == "Condition" {
					r.Content[k].Value = resourceCondition
				}
			}
		}
	}
	out, err := yaml.Marshal(&doc)
	return out, lists, err
}

// Parameters returns the template's parameter names with their allowed
// values (nil when any value is allowed).
func (t *Template) Parameters() map[string][]string {
	out := map[string][]string{}
	params, _ := t.raw["Parameters"].(map[string]any)
	for name, p := range params {
		m, _ := p.(map[string]any)
		var vals []string
		allowed, _ := m["AllowedValues"].([]any)
		for _, v := range allowed {
			vals = append(vals, fmt.Sprint(v))
		}
		out[name] = vals
	}
	return out
}

// samTemplates are the SAM policy templates driftwatch's templates may use,
// with the actions SAM expands them to (policy_templates.json of
// aws/serverless-application-model).
var samTemplates = map[string][]string{
	"SQSPollerPolicy":      {"sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch", "sqs:DeleteMessage", "sqs:DeleteMessageBatch", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"},
	"SQSSendMessagePolicy": {"sqs:SendMessage*"},
	"DynamoDBCrudPolicy": {"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:Query",
		"dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"},
	"DynamoDBReadPolicy":                    {"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable"},
	"AWSSecretsManagerGetSecretValuePolicy": {"secretsmanager:GetSecretValue"},
	"CloudWatchPutMetricPolicy":             {"cloudwatch:PutMetricData"},
	"LambdaInvokePolicy":                    {"lambda:InvokeFunction"},
}

// Grants returns every Allow the template's functions and roles have, and
// the problems that make some grants invisible (managed policies, unknown
// SAM policy templates, standalone policy resources).
func (t *Template) Grants() ([]Grant, []Problem) {
	var (
		grants []Grant
		probs  []Problem
	)
	resources, _ := t.raw["Resources"].(map[string]any)
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		res, _ := resources[id].(map[string]any)
		typ, _ := res["Type"].(string)
		props, _ := res["Properties"].(map[string]any)
		switch typ {
		case "AWS::Serverless::Function":
			pols, _ := props["Policies"].([]any)
			if s, ok := props["Policies"].(string); ok {
				pols = []any{s}
			}
			for i, p := range pols {
				g, pr := functionPolicy(id, i, p)
				grants, probs = append(grants, g...), append(probs, pr...)
			}
		case "AWS::IAM::Role":
			g, pr := roleGrants(id, props)
			grants, probs = append(grants, g...), append(probs, pr...)
		case "AWS::IAM::RolePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			roles := stringList(props["Roles"])
			if r, ok := props["RoleName"].(string); ok {
				roles = append(roles, r)
			}
			doc, _ := props["PolicyDocument"].(map[string]any)
			attached := 0
			for _, r := range roles {
				role, ok := strings.CutPrefix(r, refPrefix)
				if !ok {
					continue // a role outside the template
				}
				attached++
				grants = append(grants, statements(principalOfRole(resources, role), id, doc)...)
			}
			if attached == 0 || len(stringList(props["Users"])) > 0 || len(stringList(props["Groups"])) > 0 {
				probs = append(probs, Problem{Principal: id, Kind: Unsupported,
					Detail: typ + " is not attached (only) to roles of this template: its grants cannot be followed"})
			}
		case "AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy":
			probs = append(probs, Problem{Principal: id, Kind: Unsupported, Detail: typ + " grants to users or groups"})
		}
	}
	return grants, probs
}

// principalOfRole returns the principal a role of the template belongs to:
// the function whose role SAM generated (logical ID <Function>Role), or the
// role itself.
func principalOfRole(resources map[string]any, role string) string {
	if fn, ok := strings.CutSuffix(role, "Role"); ok {
		if r, _ := resources[fn].(map[string]any); r != nil && r["Type"] == "AWS::Serverless::Function" {
			return fn
		}
	}
	return role
}

func functionPolicy(id string, i int, p any) ([]Grant, []Problem) {
	where := fmt.Sprintf("Policies[%d]", i)
	switch v := p.(type) {
	case nil:
		return nil, nil // an !If that evaluated to AWS::NoValue
	case string:
		return nil, []Problem{{Principal: id, Kind: Unsupported, Detail: where + ": managed policy " + v + " grants actions this check cannot see"}}
	case map[string]any:
		if _, ok := v["Statement"]; ok {
			return statements(id, where, v), nil
		}
		if len(v) != 1 {
			return nil, []Problem{{Principal: id, Kind: Unsupported, Detail: where + ": not a policy document nor one SAM policy template"}}
		}
		for name := range v {
			acts, ok := samTemplates[name]
			if !ok {
				return nil, []Problem{{Principal: id, Kind: Unsupported, Detail: where + ": SAM policy template " + name + " is not known to this check"}}
			}
			var out []Grant
			for _, a := range acts {
				out = append(out, Grant{Principal: id, Policy: name, Action: a})
			}
			return out, nil
		}
	}
	return nil, []Problem{{Principal: id, Kind: Unsupported, Detail: fmt.Sprintf("%s: unexpected %T", where, p)}}
}

// roleGrants reads an AWS::IAM::Role's inline policies (an entry that an
// !If turned into AWS::NoValue is null).
func roleGrants(id string, props map[string]any) ([]Grant, []Problem) {
	var (
		out   []Grant
		probs []Problem
	)
	for _, arn := range stringList(props["ManagedPolicyArns"]) {
		probs = append(probs, Problem{Principal: id, Kind: Unsupported, Detail: "managed policy " + arn + " grants actions this check cannot see"})
	}
	pols, _ := props["Policies"].([]any)
	for i, p := range pols {
		pol, ok := p.(map[string]any)
		if !ok {
			continue
		}
		doc, _ := pol["PolicyDocument"].(map[string]any)
		name, _ := pol["PolicyName"].(string)
		if name == "" {
			name = fmt.Sprintf("Policies[%d]", i)
		}
		out = append(out, statements(id, name, doc)...)
	}
	return out, probs
}

// statements returns the Allow grants of a policy document.
func statements(id, where string, doc map[string]any) []Grant {
	var out []Grant
	sts, _ := doc["Statement"].([]any)
	if m, ok := doc["Statement"].(map[string]any); ok {
		sts = []any{m}
	}
	for _, s := range sts {
		st, ok := s.(map[string]any)
		if !ok || st["Effect"] != "Allow" {
			continue
		}
		sid, _ := st["Sid"].(string)
		for _, key := range []string{"Action", "NotAction"} {
			for _, a := range stringList(st[key]) {
				out = append(out, Grant{Principal: id, Policy: where, Sid: sid, Action: a, NotAction: key == "NotAction"})
			}
		}
	}
	return out
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Problem kinds.
const (
	// Undeclared: the template grants an action no code of the principal
	// declares.
	Undeclared = "undeclared"
	// Missing: code declares an action the template does not grant.
	Missing = "missing"
	// WildcardWrite: a wildcard that covers write actions ("*", "s3:*",
	// "s3:Put*"), or an Allow with NotAction.
	WildcardWrite = "wildcard-write"
	// Unchecked: a principal with grants that no declaration covers.
	Unchecked = "unchecked"
	// Unsupported: grants the check cannot see (managed policies, unknown
	// SAM policy templates, standalone policy resources).
	Unsupported = "unsupported"
)

// Problem is one disagreement between a template and the code.
type Problem struct {
	Principal string
	Kind      string
	Action    string
	Detail    string
}

func (p Problem) String() string {
	s := p.Principal + ": " + p.Kind
	if p.Action != "" {
		s += " " + p.Action
	}
	if p.Detail != "" {
		s += " (" + p.Detail + ")"
	}
	return s
}

var readVerb = regexp.MustCompile(`^(Get|List|Describe|Head|Lookup)`)

// IsRead reports whether an action (without wildcard) only reads.
func IsRead(action string) bool {
	_, name, _ := strings.Cut(action, ":")
	return readVerb.MatchString(name)
}

// wildcardWrite reports whether an action pattern with a wildcard may match
// a write: "*", "svc:*", or a prefix that is not a read verb.
func wildcardWrite(action string) bool {
	if !strings.ContainsAny(action, "*?") {
		return false
	}
	_, name, ok := strings.Cut(action, ":")
	if !ok {
		return true
	}
	prefix, _, _ := strings.Cut(name, "*")
	prefix, _, _ = strings.Cut(prefix, "?")
	return !readVerb.MatchString(prefix) || !strings.HasPrefix(name, prefix)
}

// Check compares the grants with what each principal needs (its declared
// actions) and returns every problem, sorted. Actions compare without regard
// to case, as IAM does.
func Check(grants []Grant, need map[string][]string) []Problem {
	var probs []Problem
	granted := map[string]map[string]Grant{}
	for _, g := range grants {
		if granted[g.Principal] == nil {
			granted[g.Principal] = map[string]Grant{}
		}
		if g.NotAction {
			probs = append(probs, Problem{Principal: g.Principal, Kind: WildcardWrite, Action: "NotAction " + g.Action,
				Detail: g.Policy + ": Allow with NotAction grants every other action"})
			continue
		}
		granted[g.Principal][strings.ToLower(g.Action)] = g
		if wildcardWrite(g.Action) {
			probs = append(probs, Problem{Principal: g.Principal, Kind: WildcardWrite, Action: g.Action, Detail: g.Policy})
		}
	}
	for p, acts := range granted {
		want, ok := need[p]
		if !ok {
			probs = append(probs, Problem{Principal: p, Kind: Unchecked, Detail: "no declaration of what its code calls"})
			continue
		}
		wantSet := map[string]bool{}
		for _, a := range want {
			wantSet[strings.ToLower(a)] = true
		}
		for low, g := range acts {
			if !wantSet[low] && !wildcardWrite(g.Action) {
				probs = append(probs, Problem{Principal: p, Kind: Undeclared, Action: g.Action, Detail: g.Policy})
			}
		}
	}
	for p, want := range need {
		for _, a := range want {
			if _, ok := granted[p][strings.ToLower(a)]; !ok {
				probs = append(probs, Problem{Principal: p, Kind: Missing, Action: a})
			}
		}
	}
	sort.Slice(probs, func(i, j int) bool { return probs[i].String() < probs[j].String() })
	return probs
}

// RevertActions returns the IAM actions of every remediation call in the
// revert package's sources under dir (shared/revert): the third argument,
// a string literal, of each newCall(service, operation, iamAction, ...).
// The package declares them next to the calls but exports no list.
func RevertActions(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		var bad error
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fn := call.Fun
			if ix, ok := fn.(*ast.IndexListExpr); ok {
				fn = ix.X
			}
			if id, ok := fn.(*ast.Ident); !ok || id.Name != "newCall" || len(call.Args) < 3 {
				return true
			}
			lit, ok := call.Args[2].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				if bad == nil {
					bad = fmt.Errorf("%s: newCall with an IAM action that is not a string literal", fset.Position(call.Pos()))
				}
				return true
			}
			a, err := strconv.Unquote(lit.Value)
			if err == nil {
				set[a] = true
			}
			return true
		})
		if bad != nil {
			return nil, bad
		}
	}
	return slices.Sorted(maps.Keys(set)), nil
}
