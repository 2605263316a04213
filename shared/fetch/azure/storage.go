package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
)

// storageAccountProps maps a storage account (Microsoft.Storage/
// storageAccounts). Defaults for omitted properties, from the ARM
// reference: allowBlobPublicAccess true (an account that never set it
// permits anonymous access: ARM omits it until it is set, and only
// accounts created since late 2023 are created with false),
// minimumTlsVersion TLS1_0, supportsHttpsTrafficOnly true (the default
// since api-version 2019-04-01), publicNetworkAccess Enabled (governed by
// networkAcls), allowSharedKeyAccess true (null means true),
// allowCrossTenantReplication true (older accounts that never set it
// allow it), networkAcls.defaultAction Allow.
func storageAccountProps(_ context.Context, _ getFunc, _ *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.bool("allowBlobPublicAccess", true)
	b.enum("minimumTlsVersion", "TLS1_0", "TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3")
	b.bool("supportsHttpsTrafficOnly", true)
	b.enum("publicNetworkAccess", "Enabled", "Enabled", "Disabled", "SecuredByPerimeter")
	b.bool("allowSharedKeyAccess", true)
	b.bool("allowCrossTenantReplication", true)
	b.bool("defaultToOAuthAuthentication", false)
	b.bool("isHnsEnabled", false)
	b.bool("isSftpEnabled", false)
	b.bool("isLocalUserEnabled", true)
	b.str("provisioningState", "")
	acls := b.sub("networkAcls")
	acls.enum("defaultAction", "Allow", "Allow", "Deny")
	acls.str("bypass", "AzureServices")
	acls.set("ipRules", mapList(acls.raw, "ipRules", func(o map[string]any) map[string]any {
		return map[string]any{"value": str(o, "value", ""), "action": enum(o, "action", "Allow", "Allow")}
	}))
	acls.set("virtualNetworkRules", mapList(acls.raw, "virtualNetworkRules", func(o map[string]any) map[string]any {
		return map[string]any{"id": str(o, "id", ""), "action": enum(o, "action", "Allow", "Allow"), "state": str(o, "state", "")}
	}))
	acls.set("resourceAccessRules", mapList(acls.raw, "resourceAccessRules", func(o map[string]any) map[string]any {
		return map[string]any{"tenantId": str(o, "tenantId", ""), "resourceId": str(o, "resourceId", "")}
	}))
	enc := b.sub("encryption")
	enc.str("keySource", "Microsoft.Storage")
	enc.bool("requireInfrastructureEncryption", false)
	return b.done(), nil
}
