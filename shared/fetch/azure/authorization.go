package azure

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
)

// builtinRole is a built-in role definition the documents name.
type builtinRole struct {
	name       string
	privileged bool
}

// builtinRoles are built-in Azure role definitions by GUID (the same in
// every tenant). Privileged roles grant write access to everything in
// scope (Owner, Contributor) or the power to grant access
// (User Access Administrator, Role Based Access Control Administrator).
var builtinRoles = map[string]builtinRole{
	"8e3af657-a8ff-443c-a75c-2fe8c4bcb635": {"Owner", true},
	"b24988ac-6180-42a0-ab88-20f7382dd24c": {"Contributor", true},
	"18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": {"User Access Administrator", true},
	"f58310d9-a9f6-439a-9e8d-f62e7b41a168": {"Role Based Access Control Administrator", true},
	"acdd72a7-3385-48ef-bd42-f606fba81ae7": {"Reader", false},
}

// Scope kinds of a role assignment.
const (
	ScopeRoot            = "root"
	ScopeManagementGroup = "managementGroup"
	ScopeSubscription    = "subscription"
	ScopeResourceGroup   = "resourceGroup"
	ScopeResource        = "resource"
)

// roleAssignmentProps maps a role assignment (Microsoft.Authorization/
// roleAssignments): the role (GUID, and the name of well-known built-in
// roles), whether it is privileged, who holds it, and the kind of scope.
func roleAssignmentProps(_ context.Context, _ getFunc, res *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.str("roleDefinitionId", "")
	guid := strings.ToLower(lastSegment(str(p, "roleDefinitionId", "")))
	role := builtinRoles[guid]
	b.set("roleDefinitionGuid", guid)
	b.set("roleName", role.name)
	b.set("privileged", role.privileged)
	b.str("principalId", "")
	b.enum("principalType", "", "User", "Group", "ServicePrincipal", "ForeignGroup", "Device")
	scope := str(p, "scope", "")
	if scope == "" {
		scope = assignmentScope(deref(res.ID))
	}
	b.note("scope")
	b.set("scope", scope)
	b.set("scopeKind", ScopeKind(scope))
	b.str("condition", "")
	b.str("conditionVersion", "")
	b.str("description", "")
	b.str("delegatedManagedIdentityResourceId", "")
	b.str("createdBy", "")
	b.str("createdOn", "")
	b.str("updatedBy", "")
	b.str("updatedOn", "")
	return b.done(), nil
}

// assignmentScope is the scope part of a role assignment ID (the ID up to
// /providers/Microsoft.Authorization/roleAssignments/).
func assignmentScope(id string) string {
	const marker = "/providers/microsoft.authorization/roleassignments/"
	i := strings.Index(strings.ToLower(id), marker)
	if i < 0 {
		return ""
	}
	if i == 0 {
		return "/"
	}
	return id[:i]
}

// ScopeKind classifies an ARM scope: "/" is root (the tenant root
// management group's parent), /providers/Microsoft.Management/
// managementGroups/{id} a management group, /subscriptions/{id} a
// subscription, /subscriptions/{id}/resourceGroups/{name} a resource
// group, anything longer a resource. "" for an empty scope.
func ScopeKind(scope string) string {
	s := strings.Trim(scope, "/")
	if scope == "" {
		return ""
	}
	if s == "" {
		return ScopeRoot
	}
	parts := strings.Split(s, "/")
	switch {
	case len(parts) == 4 && strings.EqualFold(parts[0], "providers") &&
		strings.EqualFold(parts[1], "Microsoft.Management") && strings.EqualFold(parts[2], "managementGroups"):
		return ScopeManagementGroup
	case len(parts) == 2 && strings.EqualFold(parts[0], "subscriptions"):
		return ScopeSubscription
	case len(parts) == 4 && strings.EqualFold(parts[0], "subscriptions") && strings.EqualFold(parts[2], "resourceGroups"):
		return ScopeResourceGroup
	}
	return ScopeResource
}
