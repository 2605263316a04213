package azure

// pinnedAPIVersions is the api-version the Reader uses per ARM type: a
// stable version that returns every property the typed documents read.
// Types not listed are read at their provider's default api-version.
// Override with Options.APIVersions.
var pinnedAPIVersions = map[string]string{
	TypeStorageAccount:             "2023-05-01",
	TypeNetworkSecurityGroup:       "2023-09-01",
	TypeSecurityRule:               "2023-09-01",
	TypeKeyVault:                   "2023-07-01",
	TypeSQLServer:                  "2021-11-01",
	TypeSQLFirewallRule:            "2021-11-01",
	TypeRoleAssignment:             "2022-04-01",
	TypeWebSite:                    "2023-12-01",
	TypeWebSiteConfig:              "2023-12-01",
	TypeContainerRegistry:          "2023-07-01",
	TypeCosmosDBAccount:            "2024-05-15",
	TypeManagedCluster:             "2024-02-01",
	TypeDisk:                       "2023-04-02",
	TypePostgreSQLFlexibleServer:   "2022-12-01",
	TypePostgreSQLFlexibleFirewall: "2022-12-01",
}

// ARM types with typed documents.
const (
	TypeStorageAccount             = "Microsoft.Storage/storageAccounts"
	TypeNetworkSecurityGroup       = "Microsoft.Network/networkSecurityGroups"
	TypeSecurityRule               = "Microsoft.Network/networkSecurityGroups/securityRules"
	TypeKeyVault                   = "Microsoft.KeyVault/vaults"
	TypeSQLServer                  = "Microsoft.Sql/servers"
	TypeSQLFirewallRule            = "Microsoft.Sql/servers/firewallRules"
	TypeRoleAssignment             = "Microsoft.Authorization/roleAssignments"
	TypeWebSite                    = "Microsoft.Web/sites"
	TypeContainerRegistry          = "Microsoft.ContainerRegistry/registries"
	TypeCosmosDBAccount            = "Microsoft.DocumentDB/databaseAccounts"
	TypeManagedCluster             = "Microsoft.ContainerService/managedClusters"
	TypeDisk                       = "Microsoft.Compute/disks"
	TypePostgreSQLFlexibleServer   = "Microsoft.DBforPostgreSQL/flexibleServers"
	TypePostgreSQLFlexibleFirewall = "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"

	// TypeWebSiteConfig is the /config/web child a site's document reads
	// its siteConfig from (not a document of its own).
	TypeWebSiteConfig = "Microsoft.Web/sites/config"
)

// typeSpecs maps each typed ARM type to its property mapper.
func typeSpecs() map[string]typeSpec {
	return map[string]typeSpec{
		TypeStorageAccount:             {props: storageAccountProps},
		TypeNetworkSecurityGroup:       {props: networkSecurityGroupProps},
		TypeSecurityRule:               {props: securityRuleProps},
		TypeKeyVault:                   {props: keyVaultProps},
		TypeSQLServer:                  {props: sqlServerProps},
		TypeSQLFirewallRule:            {props: firewallRuleProps},
		TypeRoleAssignment:             {props: roleAssignmentProps},
		TypeWebSite:                    {props: webSiteProps},
		TypeContainerRegistry:          {props: containerRegistryProps},
		TypeCosmosDBAccount:            {props: cosmosDBAccountProps},
		TypeManagedCluster:             {props: managedClusterProps},
		TypeDisk:                       {props: diskProps},
		TypePostgreSQLFlexibleServer:   {props: postgreSQLFlexibleServerProps},
		TypePostgreSQLFlexibleFirewall: {props: firewallRuleProps},
	}
}
