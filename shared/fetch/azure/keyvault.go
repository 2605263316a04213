package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
)

// keyVaultProps maps a key vault (Microsoft.KeyVault/vaults). Defaults for
// omitted properties: enableSoftDelete false and enablePurgeProtection
// false (ARM omits them on vaults that never turned them on),
// enableRbacAuthorization false (access policies), publicNetworkAccess
// Enabled, networkAcls.defaultAction Allow (no network rules: every
// network), softDeleteRetentionInDays 90.
func keyVaultProps(_ context.Context, _ getFunc, _ *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.bool("enableSoftDelete", false)
	b.int("softDeleteRetentionInDays", 90)
	b.bool("enablePurgeProtection", false)
	b.bool("enableRbacAuthorization", false)
	b.enum("publicNetworkAccess", "Enabled", "Enabled", "Disabled")
	b.bool("enabledForDeployment", false)
	b.bool("enabledForDiskEncryption", false)
	b.bool("enabledForTemplateDeployment", false)
	b.str("tenantId", "")
	b.str("vaultUri", "")
	b.str("provisioningState", "")
	b.set("accessPolicyCount", int64(len(objects(p, "accessPolicies"))))
	b.set("privateEndpointConnectionCount", int64(len(objects(p, "privateEndpointConnections"))))
	sku := b.sub("sku")
	sku.str("family", "A")
	sku.str("name", "")
	acls := b.sub("networkAcls")
	acls.enum("defaultAction", "Allow", "Allow", "Deny")
	acls.enum("bypass", "AzureServices", "AzureServices", "None")
	acls.set("ipRules", mapList(acls.raw, "ipRules", func(o map[string]any) map[string]any {
		return map[string]any{"value": str(o, "value", "")}
	}))
	acls.set("virtualNetworkRules", mapList(acls.raw, "virtualNetworkRules", func(o map[string]any) map[string]any {
		return map[string]any{"id": str(o, "id", "")}
	}))
	return b.done(), nil
}
