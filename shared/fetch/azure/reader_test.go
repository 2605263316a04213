package azure

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/driftwatch/driftwatch/shared/fetch/azure/armtest"
	"github.com/driftwatch/driftwatch/shared/resource"
)

func newTestReader(t *testing.T, srv *armtest.Server, opts Options) *Reader {
	t.Helper()
	opts.ClientOptions = srv.ClientOptions()
	r, err := New(&armtest.Credential{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// lookup walks a document by dotted path; list elements are addressed by
// index ("securityRules.0.priority").
func lookup(t *testing.T, doc map[string]any, path string) any {
	t.Helper()
	var cur any = doc
	for _, k := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[k]
			if !ok {
				t.Fatalf("%s: no key %q in %v", path, k, c)
			}
			cur = v
		case []any:
			i := 0
			for _, ch := range k {
				i = i*10 + int(ch-'0')
			}
			if i >= len(c) {
				t.Fatalf("%s: index %d out of %d", path, i, len(c))
			}
			cur = c[i]
		default:
			t.Fatalf("%s: cannot descend into %T at %q", path, cur, k)
		}
	}
	return cur
}

const (
	storageID = "/subscriptions/{subscription-id}/resourceGroups/res9407/providers/Microsoft.Storage/storageAccounts/sto8596"
	nsgID     = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/testnsg"
	vaultID   = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sample-resource-group/providers/Microsoft.KeyVault/vaults/sample-vault"
	fwID      = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/firewallrulecrudtest-12/providers/Microsoft.Sql/servers/firewallrulecrudtest-6285/firewallRules/firewallrulecrudtest-2304"
	raID      = "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/providers/Microsoft.Authorization/roleAssignments/b0f43c54-e787-4862-89b1-a653fa9cf747"
	acrID     = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.ContainerRegistry/registries/myRegistry"
	diskID    = "/subscriptions/{subscriptionId}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/disks/myManagedDisk"
	siteID    = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/testrg123/providers/Microsoft.Web/sites/sitef6141"
	mgRAID    = "/providers/Microsoft.Management/managementGroups/contoso-root/providers/Microsoft.Authorization/roleAssignments/6f1c5c4e-0000-4b4c-9a59-1f2b3c4d5e6f"
	sqlID     = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg/providers/Microsoft.Sql/servers/sqlcrudtest-4645"
	cosmosID  = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.DocumentDB/databaseAccounts/ddb1"
	aksID     = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1"
	pgID      = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/testrg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pgtestsvc1"
	ruleID    = nsgID + "/securityRules/ssh-anywhere"
)

// TestReadTypedDocuments serves real ARM example bodies (testdata/) and
// bodies derived from them, reads each through the SDK, and checks the
// request (one GET per resource at the pinned api-version with the bearer
// token) and the document.
func TestReadTypedDocuments(t *testing.T) {
	nsgBody := armtest.Example(t, "testdata/network-security-group-get-port80-from-any-source.json")
	raBody := armtest.Example(t, "testdata/role-assignment-get-subscription-scope.json")
	cases := []struct {
		name  string
		typ   string
		id    string
		store map[string]map[string]any // id → body
		gets  []string                  // expected "path?api-version=v"
		want  map[string]any            // dotted path → value
		tags  map[string]string
	}{
		{
			name:  "storage account without allowBlobPublicAccess and minimumTlsVersion (spec example)",
			typ:   TypeStorageAccount,
			id:    storageID,
			store: map[string]map[string]any{storageID: armtest.Example(t, "testdata/storage-account-get-networkacls-default-allow.json")},
			gets:  []string{storageID + "?api-version=2023-05-01"},
			want: map[string]any{
				"name": "sto8596", "kind": "Storage", "resourceGroup": "res9407", "sku.name": "Standard_GRS",
				"properties.allowBlobPublicAccess":                      true,
				"properties.minimumTlsVersion":                          "TLS1_0",
				"properties.supportsHttpsTrafficOnly":                   false,
				"properties.networkAcls.defaultAction":                  "Allow",
				"properties.networkAcls.bypass":                         "AzureServices",
				"properties.publicNetworkAccess":                        "Enabled",
				"properties.allowSharedKeyAccess":                       true,
				"properties.isHnsEnabled":                               true,
				"properties.encryption.keySource":                       "Microsoft.Storage",
				"properties.networkAcls.ipRules":                        []any{},
				"properties.defaulted.0":                                "allowBlobPublicAccess",
				"properties.networkAcls.resourceAccessRules.0.tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
			},
			tags: map[string]string{"key1": "value1", "key2": "value2"},
		},
		{
			name:  "storage account after the TLS 1.2 / public access off update (spec example)",
			typ:   TypeStorageAccount,
			id:    storageID,
			store: map[string]map[string]any{storageID: armtest.Example(t, "testdata/storage-account-update-response-tls12-blob-public-access-off.json")},
			gets:  []string{storageID + "?api-version=2023-05-01"},
			want: map[string]any{
				"properties.allowBlobPublicAccess": false,
				"properties.minimumTlsVersion":     "TLS1_2",
				"properties.allowSharedKeyAccess":  true,
				"properties.isSftpEnabled":         true,
			},
		},
		{
			name:  "NSG with port 80 from any source and the default rules (spec example)",
			typ:   TypeNetworkSecurityGroup,
			id:    nsgID,
			store: map[string]map[string]any{nsgID: nsgBody},
			gets:  []string{nsgID + "?api-version=2023-09-01"},
			want: map[string]any{
				"properties.securityRules.0.name":                    "rule1",
				"properties.securityRules.0.priority":                int64(130),
				"properties.securityRules.0.protocol":                "*",
				"properties.securityRules.0.access":                  "Allow",
				"properties.securityRules.0.direction":               "Inbound",
				"properties.securityRules.0.sourceAddressPrefixes":   []any{"*"},
				"properties.securityRules.0.destinationPortRanges":   []any{"80"},
				"properties.securityRules.0.destinationPorts":        []any{map[string]any{"from": int64(80), "to": int64(80)}},
				"properties.securityRules.0.fromInternet":            true,
				"properties.securityRules.0.default":                 false,
				"properties.defaultSecurityRules.0.name":             "AllowVnetInBound",
				"properties.defaultSecurityRules.0.fromInternet":     false,
				"properties.defaultSecurityRules.0.default":          true,
				"properties.defaultSecurityRules.2.destinationPorts": []any{map[string]any{"from": int64(0), "to": int64(65535)}},
				"properties.defaultSecurityRules.5.priority":         int64(65500),
				"properties.subnets":                                 []any{},
			},
		},
		{
			name: "NSG rule for SSH from a prefix list including Internet (derived from the spec example)",
			typ:  TypeNetworkSecurityGroup,
			id:   nsgID,
			store: map[string]map[string]any{nsgID: armtest.With(nsgBody, map[string]any{"properties": map[string]any{"securityRules": []any{
				map[string]any{"name": "ssh", "id": nsgID + "/securityRules/ssh", "properties": map[string]any{
					"protocol": "tcp", "sourcePortRange": "*", "sourceAddressPrefixes": []any{"10.0.0.0/8", "Internet"},
					"destinationPortRanges": []any{"22", "8000-8080"}, "destinationAddressPrefix": "*",
					"access": "allow", "priority": 100, "direction": "inbound"}},
			}}})},
			gets: []string{nsgID + "?api-version=2023-09-01"},
			want: map[string]any{
				"properties.securityRules.0.protocol":              "Tcp",
				"properties.securityRules.0.access":                "Allow",
				"properties.securityRules.0.direction":             "Inbound",
				"properties.securityRules.0.sourceAddressPrefixes": []any{"10.0.0.0/8", "Internet"},
				"properties.securityRules.0.fromInternet":          true,
				"properties.securityRules.0.destinationPorts": []any{
					map[string]any{"from": int64(22), "to": int64(22)}, map[string]any{"from": int64(8000), "to": int64(8080)}},
			},
		},
		{
			name: "security rule read on its own",
			typ:  TypeSecurityRule,
			id:   ruleID,
			store: map[string]map[string]any{ruleID: {"name": "ssh-anywhere", "type": TypeSecurityRule, "properties": map[string]any{
				"protocol": "Tcp", "sourceAddressPrefix": "0.0.0.0/0", "destinationPortRange": "22", "access": "Allow", "priority": 300, "direction": "Inbound"}}},
			gets: []string{ruleID + "?api-version=2023-09-01"},
			want: map[string]any{
				"properties.networkSecurityGroupId": nsgID,
				"properties.fromInternet":           true,
				"properties.destinationPorts":       []any{map[string]any{"from": int64(22), "to": int64(22)}},
			},
		},
		{
			name:  "key vault without purge protection, soft delete or network ACLs (spec example)",
			typ:   TypeKeyVault,
			id:    vaultID,
			store: map[string]map[string]any{vaultID: armtest.Example(t, "testdata/key-vault-get-public-network-enabled-no-purge-protection.json")},
			gets:  []string{vaultID + "?api-version=2023-07-01"},
			want: map[string]any{
				"properties.publicNetworkAccess":       "Enabled",
				"properties.enablePurgeProtection":     false,
				"properties.enableSoftDelete":          false,
				"properties.enableRbacAuthorization":   false,
				"properties.networkAcls.defaultAction": "Allow",
				"properties.accessPolicyCount":         int64(1),
				"properties.sku.name":                  "standard",
				"properties.enabledForDeployment":      true,
				"properties.vaultUri":                  "https://sample-vault.vault.azure.net",
				"properties.softDeleteRetentionInDays": int64(90),
			},
		},
		{
			name:  "SQL firewall rule 0.0.0.0-0.0.0.0 (spec example)",
			typ:   TypeSQLFirewallRule,
			id:    fwID,
			store: map[string]map[string]any{fwID: armtest.Example(t, "testdata/sql-server-firewall-rule-get-allow-azure-services-0.0.0.0.json")},
			gets:  []string{fwID + "?api-version=2021-11-01"},
			want: map[string]any{
				"properties.startIpAddress":         "0.0.0.0",
				"properties.allowsAllAzureServices": true,
				"properties.allowsAllInternet":      false,
				"properties.addressCount":           int64(1),
				"properties.defaulted":              []any{},
			},
		},
		{
			name: "SQL server without minimal TLS version",
			typ:  TypeSQLServer,
			id:   sqlID,
			store: map[string]map[string]any{sqlID: {"name": "sqlcrudtest-4645", "type": TypeSQLServer, "location": "japaneast", "kind": "v12.0",
				"properties": map[string]any{"administratorLogin": "dummylogin", "version": "12.0", "state": "Ready",
					"fullyQualifiedDomainName": "sqlcrudtest-4645.database.windows.net", "publicNetworkAccess": "Enabled"}}},
			gets: []string{sqlID + "?api-version=2021-11-01"},
			want: map[string]any{
				"properties.publicNetworkAccess":                      "Enabled",
				"properties.minimalTlsVersion":                        "None",
				"properties.administrators.azureADOnlyAuthentication": false,
			},
		},
		{
			name:  "role assignment at subscription scope (spec example)",
			typ:   TypeRoleAssignment,
			id:    raID,
			store: map[string]map[string]any{raID: raBody},
			gets:  []string{raID + "?api-version=2022-04-01"},
			want: map[string]any{
				"location":                      "",
				"subscriptionId":                "a925f2f7-5c63-4b7b-8799-25a5f97bc3b2",
				"properties.roleDefinitionGuid": "0b5fe924-9a61-425c-96af-cfe6e287ca2d",
				"properties.roleName":           "",
				"properties.privileged":         false,
				"properties.principalType":      "User",
				"properties.scope":              "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2",
				"properties.scopeKind":          ScopeSubscription,
			},
		},
		{
			name: "Owner at management-group scope (derived from the spec example)",
			typ:  TypeRoleAssignment,
			id:   mgRAID,
			store: map[string]map[string]any{mgRAID: armtest.With(raBody, map[string]any{"id": mgRAID, "properties": map[string]any{
				"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635",
				"scope":            nil, "principalType": "ServicePrincipal"}})},
			gets: []string{mgRAID + "?api-version=2022-04-01"},
			want: map[string]any{
				"subscriptionId":        "",
				"properties.roleName":   "Owner",
				"properties.privileged": true,
				"properties.scope":      "/providers/Microsoft.Management/managementGroups/contoso-root",
				"properties.scopeKind":  ScopeManagementGroup,
			},
		},
		{
			name: "App Service site and its web config (spec examples)",
			typ:  TypeWebSite,
			id:   siteID,
			store: map[string]map[string]any{
				siteID:                 armtest.Example(t, "testdata/web-site-create-response-https-only-off.json"),
				siteID + "/config/web": armtest.Example(t, "testdata/web-site-config-get-ftps-all-allowed.json"),
			},
			gets: []string{siteID + "?api-version=2023-12-01", siteID + "/config/web?api-version=2023-12-01"},
			want: map[string]any{
				"kind":                                "app",
				"properties.httpsOnly":                false,
				"properties.publicNetworkAccess":      "Enabled",
				"properties.siteConfig.minTlsVersion": "1.2",
				"properties.siteConfig.ftpsState":     "AllAllowed",
				"properties.siteConfig.http20Enabled": false,
				"properties.clientCertEnabled":        false,
			},
		},
		{
			name:  "container registry (spec example)",
			typ:   TypeContainerRegistry,
			id:    acrID,
			store: map[string]map[string]any{acrID: armtest.Example(t, "testdata/container-registry-get-admin-user-disabled.json")},
			gets:  []string{acrID + "?api-version=2023-07-01"},
			want: map[string]any{
				"sku.name":                                "Standard",
				"properties.adminUserEnabled":             false,
				"properties.anonymousPullEnabled":         false,
				"properties.publicNetworkAccess":          "Enabled",
				"properties.networkRuleSet.defaultAction": "Allow",
				"properties.defaulted":                    []any{"anonymousPullEnabled"},
			},
			tags: map[string]string{"key": "value"},
		},
		{
			name:  "managed disk attached to a VM (spec example)",
			typ:   TypeDisk,
			id:    diskID,
			store: map[string]map[string]any{diskID: armtest.Example(t, "testdata/disk-get-network-access-unset.json")},
			gets:  []string{diskID + "?api-version=2023-04-02"},
			want: map[string]any{
				"managedBy":                            "/subscriptions/123caaa-123v-v211-a49f-f88ccac5bf88/resourceGroups/ResourceGroupName/providers/Microsoft.Compute/virtualMachines/TestVM414689371c88843d65ec",
				"properties.networkAccessPolicy":       "AllowAll",
				"properties.diskSizeGB":                int64(10),
				"properties.encryption.type":           "EncryptionAtRestWithPlatformKey",
				"properties.encryptionSettingsEnabled": true,
			},
		},
		{
			name: "Cosmos DB account open to all networks (constructed with the spec's property names)",
			typ:  TypeCosmosDBAccount,
			id:   cosmosID,
			store: map[string]map[string]any{cosmosID: {"name": "ddb1", "type": TypeCosmosDBAccount, "kind": "GlobalDocumentDB", "location": "West US",
				"properties": map[string]any{"databaseAccountOfferType": "Standard", "publicNetworkAccess": "Enabled",
					"ipRules":                       []any{map[string]any{"ipAddressOrRange": "23.43.230.120"}, map[string]any{"ipAddressOrRange": "110.12.240.0/12"}},
					"isVirtualNetworkFilterEnabled": false, "disableLocalAuth": false}}},
			gets: []string{cosmosID + "?api-version=2024-05-15"},
			want: map[string]any{
				"properties.ipRules":           []any{"23.43.230.120", "110.12.240.0/12"},
				"properties.disableLocalAuth":  false,
				"properties.minimalTlsVersion": "Tls",
			},
		},
		{
			name: "AKS cluster with a public API server (constructed with the spec's property names)",
			typ:  TypeManagedCluster,
			id:   aksID,
			store: map[string]map[string]any{aksID: {"name": "clustername1", "type": TypeManagedCluster, "location": "location1",
				"properties": map[string]any{"kubernetesVersion": "1.29.2", "enableRBAC": true, "disableLocalAccounts": false,
					"apiServerAccessProfile": map[string]any{"authorizedIPRanges": []any{"192.168.0.0/16"}}}}},
			gets: []string{aksID + "?api-version=2024-02-01"},
			want: map[string]any{
				"properties.enableRBAC":                                  true,
				"properties.aadProfile.configured":                       false,
				"properties.apiServerAccessProfile.enablePrivateCluster": false,
				"properties.apiServerAccessProfile.authorizedIPRanges":   []any{"192.168.0.0/16"},
			},
		},
		{
			name: "PostgreSQL flexible server (constructed with the spec's property names)",
			typ:  TypePostgreSQLFlexibleServer,
			id:   pgID,
			store: map[string]map[string]any{pgID: {"name": "pgtestsvc1", "type": TypePostgreSQLFlexibleServer, "location": "westus",
				"sku": map[string]any{"name": "Standard_D4s_v3", "tier": "GeneralPurpose"},
				"properties": map[string]any{"version": "16", "state": "Ready", "network": map[string]any{"publicNetworkAccess": "Enabled"},
					"backup": map[string]any{"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"}}}},
			gets: []string{pgID + "?api-version=2022-12-01"},
			want: map[string]any{
				"sku.tier":                               "GeneralPurpose",
				"properties.network.publicNetworkAccess": "Enabled",
				"properties.authConfig.passwordAuth":     "Enabled",
				"properties.backup.backupRetentionDays":  int64(7),
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := armtest.Start(t)
			for id, b := range tc.store {
				srv.Put(id, b)
			}
			r := newTestReader(t, srv, Options{})
			ref := resource.Ref{Type: tc.typ, ID: tc.id, Account: "sub"}
			got, err := r.Read(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Exists || got.Ref != ref {
				t.Fatalf("Read = exists %v ref %v, want exists true ref %v", got.Exists, got.Ref, ref)
			}
			var gets []string
			for _, req := range srv.Requests() {
				if req.Authorization != "Bearer "+armtest.Token {
					t.Errorf("%s: Authorization %q", req, req.Authorization)
				}
				gets = append(gets, req.Method+" "+req.Path+"?api-version="+req.APIVersion)
			}
			var want []string
			for _, g := range tc.gets {
				want = append(want, "GET "+g)
			}
			if !slices.Equal(gets, want) {
				t.Errorf("requests\n got %q\nwant %q", gets, want)
			}
			for path, w := range tc.want {
				if g := lookup(t, got.Doc, path); !reflect.DeepEqual(g, w) {
					t.Errorf("%s = %#v, want %#v", path, g, w)
				}
			}
			if tc.tags != nil && !reflect.DeepEqual(got.Tags, tc.tags) {
				t.Errorf("tags = %v, want %v", got.Tags, tc.tags)
			}
			assertDocumentValues(t, "doc", got.Doc)
		})
	}
}

// assertDocumentValues fails on any value outside the document types
// (string, bool, int64, float64, []any, map[string]any, nil).
func assertDocumentValues(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case string, bool, int64, float64, nil:
	case []any:
		for i, e := range x {
			assertDocumentValues(t, path+"."+string(rune('0'+i%10)), e)
		}
	case map[string]any:
		for k, e := range x {
			assertDocumentValues(t, path+"."+k, e)
		}
	default:
		t.Errorf("%s has type %T", path, v)
	}
}

func TestReadGone(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*armtest.Server)
		ref   resource.Ref
	}{
		{"404 ResourceNotFound", func(*armtest.Server) {}, resource.Ref{Type: TypeStorageAccount, ID: storageID}},
		{"404 ResourceGroupNotFound", func(s *armtest.Server) {
			s.Fail(http.MethodGet, nsgID, armtest.Failure{Status: http.StatusNotFound, Code: "ResourceGroupNotFound"})
		}, resource.Ref{Type: TypeNetworkSecurityGroup, ID: nsgID}},
		{"site deleted between its read and its config read", func(s *armtest.Server) {
			s.Put(siteID, armtest.Example(t, "testdata/web-site-create-response-https-only-off.json"))
		}, resource.Ref{Type: TypeWebSite, ID: siteID}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := armtest.Start(t)
			tc.setup(srv)
			got, err := newTestReader(t, srv, Options{}).Read(context.Background(), tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got.Exists || got.Doc != nil || got.Ref != tc.ref {
				t.Errorf("Read = %+v, want a resource that does not exist", got)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		code   string
	}{
		{"forbidden", http.StatusForbidden, "AuthorizationFailed"},
		{"throttled", http.StatusTooManyRequests, "TooManyRequests"},
		{"server error", http.StatusInternalServerError, "InternalServerError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := armtest.Start(t)
			srv.Put(vaultID, armtest.Example(t, "testdata/key-vault-get-public-network-enabled-no-purge-protection.json"))
			srv.Fail(http.MethodGet, vaultID, armtest.Failure{Status: tc.status, Code: tc.code})
			_, err := newTestReader(t, srv, Options{}).Read(context.Background(), resource.Ref{Type: TypeKeyVault, ID: vaultID})
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tc.status || re.ErrorCode != tc.code {
				t.Fatalf("err = %v, want ARM %d %s", err, tc.status, tc.code)
			}
			if !strings.Contains(err.Error(), "read Microsoft.KeyVault/vaults") {
				t.Errorf("error does not say what was read: %v", err)
			}
		})
	}
	t.Run("bad ID", func(t *testing.T) {
		srv := armtest.Start(t)
		_, err := newTestReader(t, srv, Options{}).Read(context.Background(), resource.Ref{Type: TypeKeyVault, ID: "not-an-id"})
		if !errors.Is(err, ErrBadID) {
			t.Fatalf("err = %v, want ErrBadID", err)
		}
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("%d requests for a bad ID", n)
		}
	})
}

// providerBody is the shape of GET /subscriptions/{s}/providers/{ns}.
func providerBody(ns string, types ...map[string]any) map[string]any {
	l := make([]any, len(types))
	for i, t := range types {
		l[i] = t
	}
	return map[string]any{"id": "/subscriptions/sub/providers/" + ns, "namespace": ns, "registrationState": "Registered", "resourceTypes": l}
}

func TestReadUnpinnedTypeUsesProviderDefault(t *testing.T) {
	const pipID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/pip1"
	const pip2 = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/pip2"
	srv := armtest.Start(t)
	srv.PutProvider("Microsoft.Network", providerBody("Microsoft.Network",
		map[string]any{"resourceType": "publicIPAddresses", "apiVersions": []any{"2024-05-01", "2024-07-01-preview", "2023-11-01"}, "defaultApiVersion": "2020-03-01"},
		map[string]any{"resourceType": "virtualNetworks", "apiVersions": []any{"2024-05-01"}}))
	body := map[string]any{"name": "pip1", "type": "Microsoft.Network/publicIPAddresses", "location": "westus",
		"properties": map[string]any{"ipAddress": "20.1.2.3", "idleTimeoutInMinutes": 4, "dnsSettings": map[string]any{"fqdn": "x.westus.cloudapp.azure.com"}, "ratio": 0.5}}
	srv.Put(pipID, body)
	srv.Put(pip2, body)
	r := newTestReader(t, srv, Options{})
	for _, id := range []string{pipID, pip2} {
		got, err := r.Read(context.Background(), resource.Ref{Type: "Microsoft.Network/publicIPAddresses", ID: id})
		if err != nil {
			t.Fatal(err)
		}
		props := got.Doc["properties"].(map[string]any)
		if props["idleTimeoutInMinutes"] != int64(4) || props["ratio"] != 0.5 || lookup(t, got.Doc, "properties.dnsSettings.fqdn") != "x.westus.cloudapp.azure.com" {
			t.Errorf("generic properties = %#v", props)
		}
		if _, ok := props["defaulted"]; ok {
			t.Errorf("generic document has defaulted: %v", props)
		}
	}
	var seen []string
	for _, req := range srv.Requests() {
		seen = append(seen, req.String())
	}
	want := []string{
		"GET /subscriptions/sub/providers/Microsoft.Network?api-version=" + srv.Requests()[0].APIVersion,
		"GET " + pipID + "?api-version=2020-03-01",
		"GET " + pip2 + "?api-version=2020-03-01", // the provider answer is cached
	}
	if !slices.Equal(seen, want) {
		t.Errorf("requests\n got %q\nwant %q", seen, want)
	}
	v, err := r.APIVersion(context.Background(), "microsoft.network/VIRTUALNETWORKS", "sub")
	if err != nil || v != "2024-05-01" {
		t.Errorf("APIVersion(virtualNetworks) = %q, %v; want the cached newest stable 2024-05-01", v, err)
	}
}

func TestReadRetriesRejectedPinnedVersion(t *testing.T) {
	srv := armtest.Start(t)
	srv.Put(vaultID, armtest.Example(t, "testdata/key-vault-get-public-network-enabled-no-purge-protection.json"))
	srv.AcceptOnly(vaultID, "2022-07-01")
	srv.PutProvider("Microsoft.KeyVault", providerBody("Microsoft.KeyVault",
		map[string]any{"resourceType": "vaults", "apiVersions": []any{"2022-07-01"}, "defaultApiVersion": "2022-07-01"}))
	got, err := newTestReader(t, srv, Options{}).Read(context.Background(), resource.Ref{Type: TypeKeyVault, ID: vaultID})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Exists {
		t.Fatal("vault not read")
	}
	var versions []string
	for _, req := range srv.Requests() {
		if strings.EqualFold(req.Path, vaultID) {
			versions = append(versions, req.APIVersion)
		}
	}
	if !slices.Equal(versions, []string{"2023-07-01", "2022-07-01"}) {
		t.Errorf("vault read at %v, want the pinned version then the provider default", versions)
	}
}

func TestReadAPIVersionOverride(t *testing.T) {
	srv := armtest.Start(t)
	srv.Put(vaultID, armtest.Example(t, "testdata/key-vault-get-public-network-enabled-no-purge-protection.json"))
	r := newTestReader(t, srv, Options{APIVersions: map[string]string{"microsoft.keyvault/VAULTS": "2024-11-01"}})
	if _, err := r.Read(context.Background(), resource.Ref{Type: TypeKeyVault, ID: vaultID}); err != nil {
		t.Fatal(err)
	}
	if v := srv.Requests()[0].APIVersion; v != "2024-11-01" {
		t.Errorf("api-version = %s, want the override", v)
	}
}

func TestReadTypeFromID(t *testing.T) {
	srv := armtest.Start(t)
	srv.Put(fwID, armtest.Example(t, "testdata/sql-server-firewall-rule-get-allow-azure-services-0.0.0.0.json"))
	got, err := newTestReader(t, srv, Options{}).Read(context.Background(), resource.Ref{ID: strings.ToUpper(fwID[:14]) + fwID[14:]})
	if err != nil {
		t.Fatal(err)
	}
	if lookup(t, got.Doc, "properties.allowsAllAzureServices") != true {
		t.Errorf("firewall rule not typed from its ID: %v", got.Doc)
	}
}

func TestReaderTypesArePinned(t *testing.T) {
	r := newReader(nil, nil, nil)
	for _, typ := range r.Types() {
		if _, ok := pinnedAPIVersions[typ]; !ok {
			t.Errorf("%s has a typed document but no pinned api-version", typ)
		}
	}
}

func TestParsePortRange(t *testing.T) {
	cases := []struct {
		in       string
		from, to int64
		ok       bool
	}{
		{"*", 0, 65535, true}, {"22", 22, 22, true}, {" 3389 ", 3389, 3389, true},
		{"1000-2000", 1000, 2000, true}, {"2000-1000", 0, 0, false}, {"http", 0, 0, false}, {"", 0, 0, false},
	}
	for _, c := range cases {
		f, to, ok := parsePortRange(c.in)
		if f != c.from || to != c.to || ok != c.ok {
			t.Errorf("parsePortRange(%q) = %d, %d, %v; want %d, %d, %v", c.in, f, to, ok, c.from, c.to, c.ok)
		}
	}
}

func TestIsInternetPrefix(t *testing.T) {
	for in, want := range map[string]bool{
		"*": true, "Internet": true, "internet": true, "Any": true, "0.0.0.0/0": true, "::/0": true, "0.0.0.0": true,
		"10.0.0.0/8": false, "VirtualNetwork": false, "AzureLoadBalancer": false, "203.0.113.7": false, "": false,
	} {
		if got := isInternetPrefix(in); got != want {
			t.Errorf("isInternetPrefix(%q) = %v", in, got)
		}
	}
}

func TestScopeKind(t *testing.T) {
	for in, want := range map[string]string{
		"/":                                  ScopeRoot,
		"":                                   "",
		"/subscriptions/s":                   ScopeSubscription,
		"/subscriptions/s/resourceGroups/rg": ScopeResourceGroup,
		"/subscriptions/s/resourcegroups/rg/providers/Microsoft.Storage/storageAccounts/a": ScopeResource,
		"/providers/Microsoft.Management/managementGroups/mg1":                             ScopeManagementGroup,
		"/providers/microsoft.management/managementgroups/mg1":                             ScopeManagementGroup,
	} {
		if got := ScopeKind(in); got != want {
			t.Errorf("ScopeKind(%q) = %q, want %q", in, got, want)
		}
	}
	if got := assignmentScope("/providers/Microsoft.Authorization/roleAssignments/x"); got != "/" {
		t.Errorf("root assignment scope = %q", got)
	}
}

func TestIPv4Count(t *testing.T) {
	for _, c := range []struct {
		s, e string
		n    int64
	}{
		{"0.0.0.0", "255.255.255.255", 1 << 32}, {"0.0.0.0", "0.0.0.0", 1}, {"10.0.0.0", "10.0.0.255", 256},
		{"10.0.0.9", "10.0.0.1", 0}, {"::1", "::2", 0}, {"x", "10.0.0.1", 0},
	} {
		if got := ipv4Count(c.s, c.e); got != c.n {
			t.Errorf("ipv4Count(%s, %s) = %d, want %d", c.s, c.e, got, c.n)
		}
	}
}

func TestNewCredential(t *testing.T) {
	if c, err := NewCredential(CredentialManagedIdentity, "11111111-2222-3333-4444-555555555555"); err != nil || c == nil {
		t.Errorf("managed identity: %v, %v", c, err)
	}
	if _, err := NewCredential(CredentialDefault, "11111111-2222-3333-4444-555555555555"); err == nil {
		t.Error("default credential with a client ID: want an error")
	}
	if _, err := NewCredential("certificate", ""); err == nil {
		t.Error("unknown kind: want an error")
	}
}
