package azure

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// ARM types the remediations apply to (the names of fetch/azure).
const (
	typeStorageAccount     = "Microsoft.Storage/storageAccounts"
	typeWebSite            = "Microsoft.Web/sites"
	typeNSG                = "Microsoft.Network/networkSecurityGroups"
	typeSecurityRule       = "Microsoft.Network/networkSecurityGroups/securityRules"
	typeSQLFirewallRule    = "Microsoft.Sql/servers/firewallRules"
	typePostgreSQLFirewall = "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"
	typeRoleAssignment     = "Microsoft.Authorization/roleAssignments"
)

// Remediation names.
const (
	DisableBlobPublicAccess = "azure-storage-disable-blob-public-access"
	StorageMinTLS12         = "azure-storage-min-tls-1-2"
	StorageHTTPSOnly        = "azure-storage-enable-https-only"
	AppServiceHTTPSOnly     = "azure-appservice-enable-https-only"
	DeleteOffendingNSGRules = "azure-nsg-delete-offending-rules"
	DeleteOpenFirewallRule  = "azure-delete-open-firewall-rule"
	DeleteRoleAssignment    = "azure-delete-role-assignment"
	armService              = "armresources"
	opUpdate                = "BeginUpdateByID"
	opDelete                = "BeginDeleteByID"
)

// remediation is one entry of the registry.
type remediation struct {
	types []string
	plan  func(ctx context.Context, r *Remediator, t *target) (planned, error)
}

// target is what a plan is computed for.
type target struct {
	res resource.Resource
	v   policy.Verdict
	ch  *change.Change
}

// planned is what a plan function returns.
type planned struct {
	calls  []revert.Call
	reason string
	backup map[string]any
}

func nothing(format string, args ...any) (planned, error) {
	return planned{reason: fmt.Sprintf(format, args...)}, nil
}

var registry = sync.OnceValue(func() map[string]remediation {
	return map[string]remediation{
		DisableBlobPublicAccess: {types: []string{typeStorageAccount}, plan: patchProperty(
			"allowBlobPublicAccess", false, "Microsoft.Storage/storageAccounts/write",
			func(p map[string]any) bool { return p["allowBlobPublicAccess"] == false })},
		StorageMinTLS12: {types: []string{typeStorageAccount}, plan: patchProperty(
			"minimumTlsVersion", "TLS1_2", "Microsoft.Storage/storageAccounts/write",
			func(p map[string]any) bool {
				return p["minimumTlsVersion"] == "TLS1_2" || p["minimumTlsVersion"] == "TLS1_3"
			})},
		StorageHTTPSOnly: {types: []string{typeStorageAccount}, plan: patchProperty(
			"supportsHttpsTrafficOnly", true, "Microsoft.Storage/storageAccounts/write",
			func(p map[string]any) bool { return p["supportsHttpsTrafficOnly"] == true })},
		AppServiceHTTPSOnly: {types: []string{typeWebSite}, plan: patchProperty(
			"httpsOnly", true, "Microsoft.Web/sites/write",
			func(p map[string]any) bool { return p["httpsOnly"] == true })},
		DeleteOffendingNSGRules: {types: []string{typeNSG}, plan: planDeleteNSGRules},
		DeleteOpenFirewallRule:  {types: []string{typeSQLFirewallRule, typePostgreSQLFirewall}, plan: planDeleteOpenFirewallRule},
		DeleteRoleAssignment:    {types: []string{typeRoleAssignment}, plan: planDeleteRoleAssignment},
	}
})

// Names returns the name of every Azure remediation, sorted.
func Names() []string {
	names := slices.Collect(maps.Keys(registry()))
	sort.Strings(names)
	return names
}

// Known reports whether an Azure remediation has the name.
func Known(name string) bool {
	_, ok := registry()[name]
	return ok
}

// Types returns the ARM types a remediation applies to.
func Types(name string) []string {
	return slices.Clone(registry()[name].types)
}

// properties returns the document's typed properties.
func properties(doc map[string]any) map[string]any {
	p, _ := doc["properties"].(map[string]any)
	return p
}

// resourceID is the ID a write addresses: the document's (as ARM returned
// it), else the reference's.
func resourceID(t *target) string {
	if id, _ := t.res.Doc["id"].(string); id != "" {
		return id
	}
	return t.res.Ref.ID
}

// subscriptionOf returns the subscription of a document or reference.
func subscriptionOf(t *target) string {
	if s, _ := t.res.Doc["subscriptionId"].(string); s != "" {
		return s
	}
	return t.res.Ref.Account
}

// updateCall describes PATCH {id} {"properties": props}.
func updateCall(id, version, action string, props map[string]any) revert.Call {
	return revert.Call{
		Service: armService, Operation: opUpdate, IAMAction: action,
		Params: map[string]any{
			"method": http.MethodPatch, "resourceId": id, "apiVersion": version,
			"parameters": map[string]any{"properties": props},
		},
	}
}

// deleteCall describes DELETE {id}.
func deleteCall(id, version, action string) revert.Call {
	return revert.Call{
		Service: armService, Operation: opDelete, IAMAction: action,
		Params: map[string]any{"method": http.MethodDelete, "resourceId": id, "apiVersion": version},
	}
}

// patchProperty plans a PATCH of one top-level property. It refuses when
// the property already has a compliant value, and when the rule would
// still fail with the new value (a rule that fails for another reason is
// not this remediation's to undo).
func patchProperty(prop string, value any, action string, compliant func(map[string]any) bool) func(context.Context, *Remediator, *target) (planned, error) {
	return func(ctx context.Context, r *Remediator, t *target) (planned, error) {
		props := properties(t.res.Doc)
		if props == nil {
			return planned{}, fmt.Errorf("the document has no properties")
		}
		if compliant(props) {
			return nothing("%s is already %v", prop, props[prop])
		}
		fixed := maps.Clone(props)
		fixed[prop] = value
		fixed["defaulted"] = slices.DeleteFunc(append([]any{}, anyList(props["defaulted"])...), func(d any) bool { return d == prop })
		doc := maps.Clone(t.res.Doc)
		doc["properties"] = fixed
		res, err := r.result(ctx, t, doc)
		if err != nil {
			return planned{}, err
		}
		if res != policy.Pass {
			return planned{}, fmt.Errorf("rule %s would still fail with %s set to %v: it fails for a reason this remediation does not undo", t.v.RuleID, prop, value)
		}
		version, err := r.reader.APIVersion(ctx, t.res.Ref.Type, subscriptionOf(t))
		if err != nil {
			return planned{}, err
		}
		return planned{
			calls:  []revert.Call{updateCall(resourceID(t), version, action, map[string]any{prop: value})},
			reason: fmt.Sprintf("set %s to %v (was %v)", prop, value, props[prop]),
		}, nil
	}
}

// result evaluates the verdict's rule on doc, a variant of the target's
// document. An error verdict is an error: nothing is changed on a guess.
func (r *Remediator) result(ctx context.Context, t *target, doc map[string]any) (policy.Result, error) {
	res := t.res
	res.Doc = doc
	v, ok := verdictOf(r.rules.Evaluate(ctx, policy.Input{Resource: res, Change: t.ch}), t.v.RuleID)
	switch {
	case !ok:
		return "", fmt.Errorf("rule %s does not apply to %s", t.v.RuleID, res.Ref.Type)
	case v.Result == policy.Error:
		return "", fmt.Errorf("evaluate rule %s on a variant of the document: %s", t.v.RuleID, v.Message)
	}
	return v.Result, nil
}

// planDeleteNSGRules deletes the custom security rules that make the
// failing rule fail on their own: each custom rule is put alone in a copy
// of the NSG document and judged by the rule. The NSG without them must
// pass, or nothing is deleted.
func planDeleteNSGRules(ctx context.Context, r *Remediator, t *target) (planned, error) {
	props := properties(t.res.Doc)
	rules := anyList(props["securityRules"])
	if len(rules) == 0 {
		return nothing("the NSG has no custom security rules")
	}
	var bad, keep []any
	for _, c := range rules {
		res, err := r.result(ctx, t, withRules(t.res.Doc, []any{c}))
		if err != nil {
			return planned{}, err
		}
		if res == policy.Fail {
			bad = append(bad, c)
		} else {
			keep = append(keep, c)
		}
	}
	if len(bad) == 0 {
		return nothing("no custom security rule makes %s fail on its own", t.v.RuleID)
	}
	res, err := r.result(ctx, t, withRules(t.res.Doc, keep))
	if err != nil {
		return planned{}, err
	}
	if res != policy.Pass {
		return planned{}, fmt.Errorf("rule %s would still fail without the %d offending security rule(s): it fails for a reason this remediation does not undo", t.v.RuleID, len(bad))
	}
	version, err := r.reader.APIVersion(ctx, typeSecurityRule, subscriptionOf(t))
	if err != nil {
		return planned{}, err
	}
	nsg := strings.TrimRight(resourceID(t), "/")
	out := planned{backup: map[string]any{"securityRules": bad}}
	var names []string
	for _, b := range bad {
		rule, _ := b.(map[string]any)
		name, _ := rule["name"].(string)
		if isDefault, _ := rule["default"].(bool); isDefault || name == "" {
			return planned{}, fmt.Errorf("security rule %q is a default rule or has no name: not deleted", name)
		}
		id, _ := rule["id"].(string)
		if id == "" {
			id = nsg + "/securityRules/" + name
		}
		out.calls = append(out.calls, deleteCall(id, version, "Microsoft.Network/networkSecurityGroups/securityRules/delete"))
		names = append(names, name)
	}
	out.reason = "delete security rule(s) " + strings.Join(names, ", ")
	return out, nil
}

// withRules returns a copy of an NSG document with its custom rules
// replaced.
func withRules(doc map[string]any, rules []any) map[string]any {
	props := maps.Clone(properties(doc))
	props["securityRules"] = append([]any{}, rules...)
	out := maps.Clone(doc)
	out["properties"] = props
	return out
}

// planDeleteOpenFirewallRule deletes a server firewall rule that spans
// 0.0.0.0–255.255.255.255, and nothing else.
func planDeleteOpenFirewallRule(ctx context.Context, r *Remediator, t *target) (planned, error) {
	props := properties(t.res.Doc)
	start, _ := props["startIpAddress"].(string)
	end, _ := props["endIpAddress"].(string)
	if start != "0.0.0.0" || end != "255.255.255.255" {
		return nothing("only a firewall rule spanning 0.0.0.0-255.255.255.255 is deleted automatically; this one spans %s-%s", start, end)
	}
	version, err := r.reader.APIVersion(ctx, t.res.Ref.Type, subscriptionOf(t))
	if err != nil {
		return planned{}, err
	}
	action := "Microsoft.Sql/servers/firewallRules/delete"
	if strings.EqualFold(t.res.Ref.Type, typePostgreSQLFirewall) {
		action = "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/delete"
	}
	name, _ := t.res.Doc["name"].(string)
	return planned{
		calls:  []revert.Call{deleteCall(resourceID(t), version, action)},
		reason: fmt.Sprintf("delete firewall rule %s (%s-%s)", name, start, end),
		backup: map[string]any{"name": name, "startIpAddress": start, "endIpAddress": end},
	}, nil
}

// planDeleteRoleAssignment deletes a role assignment, unless its principal
// is protected.
func planDeleteRoleAssignment(ctx context.Context, r *Remediator, t *target) (planned, error) {
	props := properties(t.res.Doc)
	principal, _ := props["principalId"].(string)
	if principal == "" {
		return planned{}, fmt.Errorf("the role assignment document has no principalId")
	}
	if slices.ContainsFunc(r.opts.ProtectedPrincipals, func(p string) bool { return strings.EqualFold(p, principal) }) {
		return nothing("principal %s is protected: its role assignments are never deleted", principal)
	}
	version, err := r.reader.APIVersion(ctx, typeRoleAssignment, subscriptionOf(t))
	if err != nil {
		return planned{}, err
	}
	backup := map[string]any{}
	for _, k := range []string{"roleDefinitionId", "principalId", "principalType", "scope", "condition", "conditionVersion", "description"} {
		backup[k] = props[k]
	}
	role, _ := props["roleName"].(string)
	if role == "" {
		role, _ = props["roleDefinitionId"].(string)
	}
	scope, _ := props["scope"].(string)
	return planned{
		calls:  []revert.Call{deleteCall(resourceID(t), version, "Microsoft.Authorization/roleAssignments/delete")},
		reason: fmt.Sprintf("delete the assignment of %s to %s at %s", role, principal, scope),
		backup: backup,
	}, nil
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}
