package iampolicy

import (
	"net/netip"
	"strings"
)

// Condition operators that require the request's value to match one of
// the listed values. Only these can restrict who a statement applies to:
// negated operators (StringNotEquals...) admit everyone else, and the
// ...IfExists forms and ForAllValues: admit requests that lack the key.
var matchOperators = map[string]bool{
	"stringequals":           true,
	"stringequalsignorecase": true,
	"stringlike":             true,
	"arnequals":              true,
	"arnlike":                true,
}

// Kinds of restricting condition keys, by how their values are judged.
const (
	keyAccount = iota + 1 // value is an account ID
	keyARN                // value is an ARN
	keyOther              // any other identifier (org, VPC, endpoint, user)
)

// restrictingKeys are the global condition keys (lower case) that limit a
// statement to known principals or networks. aws:SourceIp is handled on its
// own (IpAddress operator, world CIDRs).
var restrictingKeys = map[string]int{
	"aws:sourceaccount":     keyAccount,
	"aws:sourceowner":       keyAccount,
	"aws:principalaccount":  keyAccount,
	"kms:calleraccount":     keyAccount,
	"aws:sourcearn":         keyARN,
	"aws:principalarn":      keyARN,
	"aws:principalorgid":    keyOther,
	"aws:principalorgpaths": keyOther,
	"aws:sourceorgid":       keyOther,
	"aws:sourceorgpaths":    keyOther,
	"aws:sourcevpc":         keyOther,
	"aws:sourcevpce":        keyOther,
	"aws:userid":            keyOther,
	"aws:username":          keyOther,
}

// condition is one operator/key/values triple of a Condition block.
type condition struct {
	op     string // as written, e.g. "ForAnyValue:StringLike"
	key    string // lower case
	values []string
}

// conditions flattens the Condition element of a statement.
func conditions(stmt map[string]any) []condition {
	c, _ := stmt[keyOf(stmt, "Condition")].(map[string]any)
	var out []condition
	for _, op := range sortedKeys(c) {
		keys, _ := c[op].(map[string]any)
		for _, k := range sortedKeys(keys) {
			out = append(out, condition{op: op, key: strings.ToLower(k), values: strs(keys[k])})
		}
	}
	return out
}

// matchOperator reports whether op (with an optional ForAnyValue: prefix)
// is a positive match that fails when the key is absent, and returns its
// base name in lower case.
func matchOperator(op string) (string, bool) {
	base := strings.ToLower(op)
	if strings.HasPrefix(base, "forallvalues:") || strings.HasSuffix(base, "ifexists") {
		return base, false
	}
	base = strings.TrimPrefix(base, "foranyvalue:")
	return base, true
}

// restricts reports whether one condition limits the statement to known
// callers or networks.
func (c condition) restricts() bool {
	base, ok := matchOperator(c.op)
	if !ok || len(c.values) == 0 {
		return false
	}
	if c.key == "aws:sourceip" {
		if base != "ipaddress" {
			return false
		}
		for _, v := range c.values {
			if IsWorldCIDR(v) {
				return false
			}
		}
		return true
	}
	kind, ok := restrictingKeys[c.key]
	if !ok || !matchOperators[base] {
		return false
	}
	// Values are alternatives: one open value opens the condition.
	for _, v := range c.values {
		if openValue(kind, v) {
			return false
		}
	}
	return true
}

// openValue reports whether a condition value admits anyone: a bare
// wildcard, an account ID with a wildcard, or an ARN whose account or
// whole resource part is a wildcard.
func openValue(kind int, v string) bool {
	v = strings.TrimSpace(v)
	if onlyWildcards(v) {
		return true
	}
	switch kind {
	case keyAccount:
		return hasWildcard(v)
	case keyARN:
		parts := strings.SplitN(v, ":", 6)
		if len(parts) < 6 {
			return hasWildcard(v)
		}
		return hasWildcard(parts[4]) || onlyWildcards(parts[5])
	}
	return false
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

func onlyWildcards(s string) bool { return strings.Trim(s, "*?") == "" }

// Restricted reports whether a statement's Condition limits it to known
// callers or networks: some condition with a positive match operator
// (StringEquals, StringLike, ArnEquals, ArnLike, their ForAnyValue: forms;
// not ...IfExists, not ForAllValues:, not negated operators) on
// aws:SourceArn, aws:SourceAccount, aws:SourceOwner, aws:SourceOrgID,
// aws:SourceOrgPaths, aws:PrincipalOrgID, aws:PrincipalOrgPaths,
// aws:PrincipalAccount, aws:PrincipalArn, kms:CallerAccount,
// aws:SourceVpc, aws:SourceVpce, aws:userid or aws:username whose values
// are all specific (not "*", no wildcard in an account ID or in the account
// of an ARN); or IpAddress on aws:SourceIp with no 0.0.0.0/0 or ::/0.
// Conditions are ANDed, so one restricting condition is enough. Other keys
// (aws:SecureTransport, aws:Referer, s3:x-amz-acl, ...) never restrict.
func Restricted(stmt map[string]any) bool {
	for _, c := range conditions(stmt) {
		if c.restricts() {
			return true
		}
	}
	return false
}

// IsAllow reports whether the statement's Effect is Allow.
func IsAllow(stmt map[string]any) bool {
	e, _ := stmt[keyOf(stmt, "Effect")].(string)
	return strings.EqualFold(strings.TrimSpace(e), "Allow")
}

// principals returns the principal map of a statement element ("Principal"
// or "NotPrincipal") as type → values; a bare "*" is {"AWS": ["*"]}.
func principals(stmt map[string]any, element string) map[string][]string {
	out := map[string][]string{}
	switch p := stmt[keyOf(stmt, element)].(type) {
	case string:
		if p != "" {
			out[PrincipalAWS] = []string{p}
		}
	case []any:
		out[PrincipalAWS] = strs(p)
	case map[string]any:
		for k, v := range p {
			if canon, ok := principalKeys[strings.ToLower(k)]; ok {
				k = canon
			}
			out[k] = append(out[k], strs(v)...)
		}
	}
	return out
}

func hasNotPrincipal(stmt map[string]any) bool {
	for _, v := range principals(stmt, "NotPrincipal") {
		if len(v) > 0 {
			return true
		}
	}
	return false
}

// IsAnyone reports whether an AWS principal value stands for every AWS
// caller: "*" or an ARN whose account is a wildcard.
func IsAnyone(principal string) bool {
	p := strings.TrimSpace(principal)
	if p == "*" {
		return true
	}
	return hasWildcard(AccountOf(p))
}

// AccountOf returns the account ID an AWS principal value names: the value
// itself for a 12-digit account ID, the account field of an ARN, and ""
// for anything else ("*", unique IDs such as AROA..., service names).
func AccountOf(principal string) string {
	p := strings.TrimSpace(principal)
	if isAccountID(p) {
		return p
	}
	if strings.HasPrefix(p, "arn:") {
		parts := strings.SplitN(p, ":", 6)
		if len(parts) == 6 {
			return parts[4]
		}
	}
	return ""
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsPublicStatement reports whether a statement grants access to anyone:
// its Effect is Allow, its Principal includes "*" (Principal "*" or
// {"AWS": "*"}, or an ARN with a wildcard account) or it uses NotPrincipal
// (Allow with NotPrincipal admits everyone not listed), and no condition
// restricts it (see Restricted). Deny statements are never public.
func IsPublicStatement(stmt map[string]any) bool {
	if !IsAllow(stmt) {
		return false
	}
	open := hasNotPrincipal(stmt)
	if !open {
		for _, p := range principals(stmt, "Principal")[PrincipalAWS] {
			if IsAnyone(p) {
				open = true
				break
			}
		}
	}
	return open && !Restricted(stmt)
}

// IsAdminStatement reports whether a statement grants full administrative
// access: Effect Allow, Action "*" or "*:*", and Resource "*". Conditions
// do not change the answer (CIS counts such a statement as administrative
// whatever its conditions); NotAction statements are not counted.
func IsAdminStatement(stmt map[string]any) bool {
	if !IsAllow(stmt) {
		return false
	}
	return containsAny(strs(stmt[keyOf(stmt, "Action")]), "*", "*:*") &&
		containsAny(strs(stmt[keyOf(stmt, "Resource")]), "*")
}

func containsAny(list []string, want ...string) bool {
	for _, v := range list {
		v = strings.TrimSpace(v)
		for _, w := range want {
			if v == w {
				return true
			}
		}
	}
	return false
}

// IsPublic reports whether any statement of the document is public (see
// IsPublicStatement). Deny statements are not subtracted: a document whose
// Allow is public is reported even if a Deny narrows it.
func IsPublic(doc map[string]any) bool {
	for _, s := range Statements(doc) {
		if IsPublicStatement(s) {
			return true
		}
	}
	return false
}

// IsAdmin reports whether any statement of the document is administrative
// (see IsAdminStatement).
func IsAdmin(doc map[string]any) bool {
	for _, s := range Statements(doc) {
		if IsAdminStatement(s) {
			return true
		}
	}
	return false
}

// TrustsExternalAccount reports whether the document lets principals of an
// account other than account in; see ExternalPrincipals.
func TrustsExternalAccount(doc map[string]any, account string) bool {
	return len(ExternalPrincipals(doc, account)) > 0
}

// ExternalPrincipals returns, sorted and without duplicates, the AWS
// principal values through which the document admits callers from outside
// account. A value counts when it sits in an Allow statement that has no
// sts:ExternalId condition (a positive match operator with specific
// values) and
//
//   - it is "*" (or an ARN with a wildcard account), unless a condition
//     limits the statement to account itself (aws:PrincipalAccount,
//     aws:SourceAccount, aws:SourceOwner or kms:CallerAccount equal to
//     account, or aws:PrincipalArn/aws:SourceArn in account); limiting it
//     to an organization (aws:PrincipalOrgID) still lets other accounts in;
//   - or it is an account ID or ARN of another account (with account ""
//     every account ID or ARN counts).
//
// An Allow with NotPrincipal admits everyone not listed and is reported as
// "NotPrincipal". Service and Federated principals and unique IDs
// (AROA..., left behind when a principal is deleted) are not accounts and
// never count.
func ExternalPrincipals(doc map[string]any, account string) []string {
	seen := map[string]bool{}
	for _, s := range Statements(doc) {
		if !IsAllow(s) {
			continue
		}
		conds := conditions(s)
		if hasExternalID(conds) {
			continue
		}
		if hasNotPrincipal(s) {
			seen["NotPrincipal"] = true
		}
		for _, p := range principals(s, "Principal")[PrincipalAWS] {
			p = strings.TrimSpace(p)
			switch {
			case IsAnyone(p):
				if account == "" || !limitedToAccount(conds, account) {
					seen[p] = true
				}
			case AccountOf(p) != "" && AccountOf(p) != account:
				seen[p] = true
			}
		}
	}
	return sortedKeys(seen)
}

// hasExternalID reports whether some condition requires sts:ExternalId.
func hasExternalID(conds []condition) bool {
	for _, c := range conds {
		if c.key != "sts:externalid" {
			continue
		}
		base, ok := matchOperator(c.op)
		if !ok || !matchOperators[base] || len(c.values) == 0 {
			continue
		}
		open := false
		for _, v := range c.values {
			if onlyWildcards(strings.TrimSpace(v)) {
				open = true
			}
		}
		if !open {
			return true
		}
	}
	return false
}

// limitedToAccount reports whether some condition confines callers to
// account.
func limitedToAccount(conds []condition, account string) bool {
	for _, c := range conds {
		if !c.restricts() {
			continue
		}
		kind := restrictingKeys[c.key]
		if kind != keyAccount && kind != keyARN {
			continue
		}
		all := true
		for _, v := range c.values {
			v = strings.TrimSpace(v)
			if kind == keyARN {
				v = AccountOf(v)
			}
			if v != account {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// IsWorldCIDR reports whether s is a CIDR block that covers every address:
// 0.0.0.0/0 or ::/0 (any /0 prefix).
func IsWorldCIDR(s string) bool {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	return err == nil && p.Bits() == 0
}

// strs returns the strings of a value that is a string or a list.
func strs(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []string{x}
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			} else if e != nil {
				out = append(out, scalarString(e))
			}
		}
		return out
	default:
		return []string{scalarString(x)}
	}
}
