package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
)

// containerRegistryProps maps a container registry
// (Microsoft.ContainerRegistry/registries). Defaults: adminUserEnabled
// false, anonymousPullEnabled false, publicNetworkAccess Enabled,
// networkRuleSet.defaultAction Allow, networkRuleBypassOptions
// AzureServices.
func containerRegistryProps(_ context.Context, _ getFunc, _ *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.bool("adminUserEnabled", false)
	b.bool("anonymousPullEnabled", false)
	b.enum("publicNetworkAccess", "Enabled", "Enabled", "Disabled")
	b.enum("networkRuleBypassOptions", "AzureServices", "AzureServices", "None")
	b.bool("dataEndpointEnabled", false)
	b.str("loginServer", "")
	b.str("provisioningState", "")
	nrs := b.sub("networkRuleSet")
	nrs.enum("defaultAction", "Allow", "Allow", "Deny")
	nrs.set("ipRules", mapList(nrs.raw, "ipRules", func(o map[string]any) map[string]any {
		return map[string]any{"value": str(o, "value", ""), "action": enum(o, "action", "Allow", "Allow")}
	}))
	return b.done(), nil
}

// cosmosDBAccountProps maps an Azure Cosmos DB account
// (Microsoft.DocumentDB/databaseAccounts). ipRules is the list of
// ipAddressOrRange values. Defaults: publicNetworkAccess Enabled,
// isVirtualNetworkFilterEnabled false, disableLocalAuth false (keys
// accepted), minimalTlsVersion Tls (TLS 1.0).
func cosmosDBAccountProps(_ context.Context, _ getFunc, _ *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.enum("publicNetworkAccess", "Enabled", "Enabled", "Disabled", "SecuredByPerimeter")
	b.bool("isVirtualNetworkFilterEnabled", false)
	ips := []any{}
	for _, o := range objects(p, "ipRules") {
		if s := str(o, "ipAddressOrRange", ""); s != "" {
			ips = append(ips, s)
		}
	}
	b.set("ipRules", ips)
	b.set("virtualNetworkRules", mapList(p, "virtualNetworkRules", func(o map[string]any) map[string]any {
		return map[string]any{"id": str(o, "id", ""), "ignoreMissingVNetServiceEndpoint": boolean(o, "ignoreMissingVNetServiceEndpoint", false)}
	}))
	b.bool("disableLocalAuth", false)
	b.bool("disableKeyBasedMetadataWriteAccess", false)
	b.enum("minimalTlsVersion", "Tls", "Tls", "Tls11", "Tls12")
	b.str("databaseAccountOfferType", "")
	b.str("documentEndpoint", "")
	b.str("provisioningState", "")
	return b.done(), nil
}

// managedClusterProps maps an AKS cluster
// (Microsoft.ContainerService/managedClusters). Defaults: enableRBAC false
// (ARM reports it on every cluster; a cluster without it has no Kubernetes
// RBAC), disableLocalAccounts false, aadProfile absent (configured false),
// apiServerAccessProfile.enablePrivateCluster false with no authorized IP
// ranges (API server reachable from any address), publicNetworkAccess
// Enabled.
func managedClusterProps(_ context.Context, _ getFunc, _ *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.bool("enableRBAC", false)
	b.bool("disableLocalAccounts", false)
	b.enum("publicNetworkAccess", "Enabled", "Enabled", "Disabled")
	b.str("kubernetesVersion", "")
	b.str("currentKubernetesVersion", "")
	b.str("fqdn", "")
	b.str("privateFQDN", "")
	b.str("provisioningState", "")
	aad := b.sub("aadProfile")
	aad.set("configured", has(p, "aadProfile"))
	aad.bool("managed", false)
	aad.bool("enableAzureRBAC", false)
	aad.set("adminGroupObjectIDs", stringList(aad.raw, "adminGroupObjectIDs"))
	api := b.sub("apiServerAccessProfile")
	api.bool("enablePrivateCluster", false)
	api.set("authorizedIPRanges", stringList(api.raw, "authorizedIPRanges"))
	api.bool("disableRunCommand", false)
	api.bool("enableVnetIntegration", false)
	net := b.sub("networkProfile")
	net.str("networkPlugin", "")
	net.str("networkPolicy", "")
	return b.done(), nil
}

// diskProps maps a managed disk (Microsoft.Compute/disks). The attaching
// VM is the document's managedBy. Defaults: networkAccessPolicy AllowAll
// (export or import SAS usable from any network), publicNetworkAccess
// Enabled, dataAccessAuthMode None, encryption.type
// EncryptionAtRestWithPlatformKey.
func diskProps(_ context.Context, _ getFunc, _ *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.enum("networkAccessPolicy", "AllowAll", "AllowAll", "AllowPrivate", "DenyAll")
	b.enum("publicNetworkAccess", "Enabled", "Enabled", "Disabled")
	b.str("diskAccessId", "")
	b.enum("dataAccessAuthMode", "None", "AzureActiveDirectory", "None")
	b.str("diskState", "")
	b.str("osType", "")
	b.int("diskSizeGB", 0)
	b.str("provisioningState", "")
	enc := b.sub("encryption")
	enc.enum("type", "EncryptionAtRestWithPlatformKey", "EncryptionAtRestWithPlatformKey", "EncryptionAtRestWithCustomerKey", "EncryptionAtRestWithPlatformAndCustomerKeys")
	enc.str("diskEncryptionSetId", "")
	b.set("encryptionSettingsEnabled", boolean(obj(p, "encryptionSettingsCollection"), "enabled", false))
	return b.done(), nil
}
