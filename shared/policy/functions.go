package policy

import (
	"fmt"
	"math"
	"net/netip"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/driftwatch/driftwatch/shared/iampolicy"
)

// Functions available to conditions and message expressions, besides
// standard CEL, the cel-go extension libraries strings, sets, lists, math,
// encoders (base64.encode/decode, json), two-variable comprehensions
// (all(k, v, ...), transformMap...), cel.bind, and optional values
// (resource.?Field.orValue(x)). Numbers compare across int and double
// (resource.MinimumPasswordLength >= 14 holds for 14 and 14.0).
//
// Policy documents (see package iampolicy; canonical form preferred, a JSON
// or URL-encoded string, or null, also accepted where a document is
// expected):
//
//	is_public_statement(stmt map) bool
//	    Allow statement whose principal is everyone ("*", or NotPrincipal)
//	    and that no condition restricts (aws:SourceArn, aws:SourceAccount,
//	    aws:SourceOwner, aws:PrincipalOrgID, aws:PrincipalOrgPaths,
//	    aws:PrincipalAccount, aws:PrincipalArn, kms:CallerAccount,
//	    aws:SourceVpc, aws:SourceVpce, aws:userid, aws:username with
//	    specific values, or aws:SourceIp without 0.0.0.0/0 or ::/0).
//	    aws:SecureTransport alone does not restrict. Deny is never public.
//	is_admin_statement(stmt map) bool
//	    Allow statement with Action "*" or "*:*" on Resource "*".
//	policy_is_public(doc) bool
//	    some statement of the document is_public_statement.
//	policy_is_admin(doc) bool
//	    some statement of the document is_admin_statement.
//	trusts_external_account(doc, account string) bool
//	    an Allow statement without an sts:ExternalId condition admits an
//	    account other than account: another account's ID or ARN, "*" (unless
//	    conditions confine it to account), or NotPrincipal.
//	external_principals(doc, account string) list(string)
//	    the principals that make trusts_external_account true, sorted; for
//	    messages.
//	normalize_policy(doc) map
//	    the canonical form of a policy document given as a string or map.
//
// Networks:
//
//	is_world_cidr(cidr string) bool
//	    0.0.0.0/0 or ::/0 (any /0); false for anything else, including
//	    text that is not a CIDR.
//	cidr_contains(cidr string, addr string) bool
//	    addr (an address or a CIDR block) lies within cidr; false when
//	    either does not parse.
//	port_in_range(port int, from int, to int) bool
//	    from <= port <= to, or every port when from or to is -1 (as EC2
//	    writes "all traffic"); ints and whole doubles accepted.
//	port_in_range(port int, from int, to int, protocol string) bool
//	    as above, and every port when protocol is "-1" or "all"; false for
//	    ICMP ("icmp", "icmpv6", "1", "58"), whose from/to are not ports.
func functionOptions() []cel.EnvOption {
	dyn, str, boolT := cel.DynType, cel.StringType, cel.BoolType
	return []cel.EnvOption{
		cel.Function("is_public_statement",
			cel.Overload("is_public_statement_dyn", []*cel.Type{dyn}, boolT,
				cel.UnaryBinding(statementPredicate(iampolicy.IsPublicStatement)))),
		cel.Function("is_admin_statement",
			cel.Overload("is_admin_statement_dyn", []*cel.Type{dyn}, boolT,
				cel.UnaryBinding(statementPredicate(iampolicy.IsAdminStatement)))),
		cel.Function("policy_is_public",
			cel.Overload("policy_is_public_dyn", []*cel.Type{dyn}, boolT,
				cel.UnaryBinding(documentPredicate(iampolicy.IsPublic)))),
		cel.Function("policy_is_admin",
			cel.Overload("policy_is_admin_dyn", []*cel.Type{dyn}, boolT,
				cel.UnaryBinding(documentPredicate(iampolicy.IsAdmin)))),
		cel.Function("trusts_external_account",
			cel.Overload("trusts_external_account_dyn_string", []*cel.Type{dyn, str}, boolT,
				cel.BinaryBinding(func(d, a ref.Val) ref.Val {
					doc, err := documentArg(d)
					if err != nil {
						return types.WrapErr(fmt.Errorf("trusts_external_account: %w", err))
					}
					return types.Bool(iampolicy.TrustsExternalAccount(doc, string(a.(types.String))))
				}))),
		cel.Function("external_principals",
			cel.Overload("external_principals_dyn_string", []*cel.Type{dyn, str}, cel.ListType(str),
				cel.BinaryBinding(func(d, a ref.Val) ref.Val {
					doc, err := documentArg(d)
					if err != nil {
						return types.WrapErr(fmt.Errorf("external_principals: %w", err))
					}
					return types.NewStringList(types.DefaultTypeAdapter,
						iampolicy.ExternalPrincipals(doc, string(a.(types.String))))
				}))),
		cel.Function("normalize_policy",
			cel.Overload("normalize_policy_dyn", []*cel.Type{dyn}, cel.MapType(str, dyn),
				cel.UnaryBinding(func(d ref.Val) ref.Val {
					doc, err := documentArg(d)
					if err != nil {
						return types.WrapErr(fmt.Errorf("normalize_policy: %w", err))
					}
					doc, err = iampolicy.Normalize(doc)
					if err != nil {
						return types.WrapErr(fmt.Errorf("normalize_policy: %w", err))
					}
					return types.NewStringInterfaceMap(types.DefaultTypeAdapter, doc)
				}))),
		cel.Function("is_world_cidr",
			cel.Overload("is_world_cidr_string", []*cel.Type{str}, boolT,
				cel.UnaryBinding(func(s ref.Val) ref.Val {
					return types.Bool(iampolicy.IsWorldCIDR(string(s.(types.String))))
				}))),
		cel.Function("cidr_contains",
			cel.Overload("cidr_contains_string_string", []*cel.Type{str, str}, boolT,
				cel.BinaryBinding(func(c, a ref.Val) ref.Val {
					return types.Bool(cidrContains(string(c.(types.String)), string(a.(types.String))))
				}))),
		cel.Function("port_in_range",
			cel.Overload("port_in_range_dyn_dyn_dyn", []*cel.Type{dyn, dyn, dyn}, boolT,
				cel.FunctionBinding(func(args ...ref.Val) ref.Val { return portInRange(args[0], args[1], args[2], "") })),
			cel.Overload("port_in_range_dyn_dyn_dyn_string", []*cel.Type{dyn, dyn, dyn, str}, boolT,
				cel.FunctionBinding(func(args ...ref.Val) ref.Val {
					p, ok := args[3].(types.String)
					if !ok {
						return types.NoSuchOverloadErr()
					}
					return portInRange(args[0], args[1], args[2], string(p))
				}))),
	}
}

// statementPredicate adapts a statement predicate to a CEL function.
func statementPredicate(f func(map[string]any) bool) func(ref.Val) ref.Val {
	return func(v ref.Val) ref.Val {
		m, err := mapArg(v)
		if err != nil {
			return types.WrapErr(err)
		}
		return types.Bool(f(m))
	}
}

// documentPredicate adapts a document predicate to a CEL function.
func documentPredicate(f func(map[string]any) bool) func(ref.Val) ref.Val {
	return func(v ref.Val) ref.Val {
		doc, err := documentArg(v)
		if err != nil {
			return types.WrapErr(err)
		}
		return types.Bool(f(doc))
	}
}

// documentArg returns a policy document argument as a Go map: a map as is,
// a string normalised, null as an empty document.
func documentArg(v ref.Val) (map[string]any, error) {
	switch x := v.(type) {
	case types.Null:
		return map[string]any{}, nil
	case types.String:
		if strings.TrimSpace(string(x)) == "" {
			return map[string]any{}, nil
		}
		doc, err := iampolicy.Normalize(string(x))
		if err != nil {
			return nil, err
		}
		return doc, nil
	}
	return mapArg(v)
}

// mapArg returns a map argument as a Go map without copying when the value
// wraps one (as documents do).
func mapArg(v ref.Val) (map[string]any, error) {
	if m, ok := v.Value().(map[string]any); ok {
		return m, nil
	}
	if _, ok := v.(traits.Mapper); !ok {
		return nil, fmt.Errorf("want a map, got %s", v.Type().TypeName())
	}
	m, _ := nativeValue(v).(map[string]any)
	return m, nil
}

// nativeValue converts a CEL value into a document value (string, bool,
// int64, float64, []any, map[string]any, nil).
func nativeValue(v ref.Val) any {
	switch x := v.Value().(type) {
	case map[string]any, []any, string, bool, int64, float64, nil:
		return x
	}
	switch x := v.(type) {
	case types.Int:
		return int64(x)
	case types.Uint:
		return int64(x)
	case types.Double:
		return float64(x)
	case types.Null:
		return nil
	case traits.Mapper:
		out := map[string]any{}
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			out[fmt.Sprint(nativeValue(k))] = nativeValue(x.Get(k))
		}
		return out
	case traits.Lister:
		n, _ := x.Size().(types.Int)
		out := make([]any, 0, int(n))
		for it := x.Iterator(); it.HasNext() == types.True; {
			out = append(out, nativeValue(it.Next()))
		}
		return out
	}
	return v.Value()
}

// portNumber reads a port argument: an int, uint or whole double.
func portNumber(v ref.Val) (int64, bool) {
	switch x := v.(type) {
	case types.Int:
		return int64(x), true
	case types.Uint:
		return int64(x), true
	case types.Double:
		f := float64(x)
		if f != math.Trunc(f) {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

func portInRange(port, from, to ref.Val, protocol string) ref.Val {
	p, ok1 := portNumber(port)
	f, ok2 := portNumber(from)
	t, ok3 := portNumber(to)
	if !ok1 || !ok2 || !ok3 {
		return types.NewErr("port_in_range: want numbers, got %s, %s, %s",
			port.Type().TypeName(), from.Type().TypeName(), to.Type().TypeName())
	}
	switch strings.ToLower(strings.TrimSpace(protocol)) {
	case "-1", "all":
		return types.True
	case "icmp", "icmpv6", "1", "58":
		return types.False
	}
	if f == -1 || t == -1 {
		return types.True
	}
	return types.Bool(f <= p && p <= t)
}

// cidrContains reports whether addr (an address or a prefix) lies within
// the prefix cidr.
func cidrContains(cidr, addr string) bool {
	outer, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	if err != nil {
		return false
	}
	addr = strings.TrimSpace(addr)
	if inner, err := netip.ParsePrefix(addr); err == nil {
		return inner.Bits() >= outer.Bits() && outer.Contains(inner.Masked().Addr())
	}
	a, err := netip.ParseAddr(addr)
	return err == nil && outer.Contains(a)
}
