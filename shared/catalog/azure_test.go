package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

const testSub = "00000000-1111-2222-3333-444444444444"

// azureChange builds the change of an Azure write of op on the resource
// id, as the decoder would.
func azureChange(op, id string) *change.Change {
	c := &change.Change{Cloud: change.Azure, Account: testSub, Operation: op}
	c.Service, _, _ = strings.Cut(op, "/")
	if parsed, err := change.ParseAzureResourceID(id); err == nil {
		c.EventResources = []change.EventResource{{ARN: parsed.String(), Type: parsed.Type(), AccountID: parsed.Subscription}}
	}
	return c
}

func TestAzureEntries(t *testing.T) {
	const rg = "/subscriptions/" + testSub + "/resourceGroups/rg"
	ref := func(typ, id string) []resource.Ref {
		return []resource.Ref{{Type: typ, ID: id, Account: testSub}}
	}
	tests := []struct {
		name, op, id string
		want         []resource.Ref
		noID         bool
	}{
		{"storage account write", "Microsoft.Storage/storageAccounts/write", rg + "/providers/Microsoft.Storage/storageAccounts/acct",
			ref(azStorageAccount, rg+"/providers/Microsoft.Storage/storageAccounts/acct"), false},
		{"keywords and type in another case", "microsoft.storage/STORAGEACCOUNTS/write",
			"/SUBSCRIPTIONS/" + testSub + "/resourcegroups/rg/providers/microsoft.storage/storageaccounts/acct",
			ref(azStorageAccount, rg+"/providers/Microsoft.Storage/storageAccounts/acct"), false},
		{"NSG rule write touches the parent NSG", "Microsoft.Network/networkSecurityGroups/securityRules/write",
			rg + "/providers/Microsoft.Network/networkSecurityGroups/web/securityRules/ssh",
			ref(azNetworkSecurityGroup, rg+"/providers/Microsoft.Network/networkSecurityGroups/web"), false},
		{"NSG rule delete touches the parent NSG", "Microsoft.Network/networkSecurityGroups/securityRules/delete",
			rg + "/providers/Microsoft.Network/networkSecurityGroups/web/securityRules/ssh",
			ref(azNetworkSecurityGroup, rg+"/providers/Microsoft.Network/networkSecurityGroups/web"), false},
		{"site config write touches the site", "Microsoft.Web/sites/config/write", rg + "/providers/Microsoft.Web/sites/shop/config/web",
			ref(azWebSite, rg+"/providers/Microsoft.Web/sites/shop"), false},
		{"SQL Entra-only setting touches the server", "Microsoft.Sql/servers/azureADOnlyAuthentications/delete",
			rg + "/providers/Microsoft.Sql/servers/db/azureADOnlyAuthentications/Default", ref(azSQLServer, rg+"/providers/Microsoft.Sql/servers/db"), false},
		{"SQL firewall rule is its own resource", "Microsoft.Sql/servers/firewallRules/write", rg + "/providers/Microsoft.Sql/servers/db/firewallRules/all",
			ref(azSQLFirewallRule, rg+"/providers/Microsoft.Sql/servers/db/firewallRules/all"), false},
		{"PostgreSQL firewall rule", "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/write",
			rg + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg/firewallRules/all",
			ref(azPostgresFirewallRule, rg+"/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg/firewallRules/all"), false},
		{"role assignment at a resource's scope", "Microsoft.Authorization/roleAssignments/write",
			rg + "/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Authorization/roleAssignments/ra",
			ref(azRoleAssignment, rg+"/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Authorization/roleAssignments/ra"), false},
		{"resource of another type", "Microsoft.Storage/storageAccounts/write", rg + "/providers/Microsoft.EventGrid/eventSubscriptions/x", nil, true},
		{"no resource in the event", "Microsoft.KeyVault/vaults/write", "", nil, true},
	}
	cat := New(azureEntries())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := azureChange(tt.op, tt.id)
			watched, err := cat.Resolve(ch)
			if !watched {
				t.Fatalf("%s is not watched", tt.op)
			}
			if tt.noID {
				if !errors.Is(err, ErrNoID) {
					t.Fatalf("Resolve error = %v, want ErrNoID (resources %v)", err, ch.Resources)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ch.Resources, tt.want) {
				t.Fatalf("resources %v, want %v", ch.Resources, tt.want)
			}
		})
	}
}

// TestAzureSamples resolves every sample in events/azure through the
// built-in catalog, decoded as the pipeline decodes it.
func TestAzureSamples(t *testing.T) {
	const nsgRG = "/subscriptions/" + testSub + "/resourceGroups/"
	tests := map[string]struct {
		watched bool
		want    []resource.Ref
	}{
		"docs-eventgrid-schema-resource-write-success-storage-account.json": {true, []resource.Ref{{Type: azStorageAccount,
			ID: "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.Storage/storageAccounts/{storage-name}", Account: "{subscription-id}"}}},
		"docs-cloudevents-schema-resource-write-success-storage-account.json": {true, []resource.Ref{{Type: azStorageAccount,
			ID: "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.Storage/storageAccounts/{storage-name}", Account: "{subscription-id}"}}},
		"docs-eventgrid-schema-resource-delete-success-storage-account.json": {true, []resource.Ref{{Type: azStorageAccount,
			ID: "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.Storage/storageAccounts/{storage-name}", Account: "{subscription-id}"}}},
		"docs-cloudevents-schema-resource-delete-success-storage-account.json": {true, []resource.Ref{{Type: azStorageAccount,
			ID: "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.Storage/storageAccounts/{storage-name}", Account: "{subscription-id}"}}},
		"docs-eventgrid-schema-resource-action-success-eventhub-listkeys.json":   {false, nil},
		"docs-cloudevents-schema-resource-action-success-eventhub-listkeys.json": {false, nil},
		"sdk-fixture-resource-write-success-eventgrid-schema.json":               {false, nil},
		"sdk-fixture-resource-action-success-eventgrid-schema.json":              {false, nil},
		"constructed-nsg-security-rule-write-success-eventgrid.json": {true, []resource.Ref{{Type: azNetworkSecurityGroup,
			ID: nsgRG + "app-rg/providers/Microsoft.Network/networkSecurityGroups/web-nsg", Account: testSub}}},
		"constructed-role-assignment-write-success-cloudevents-single.json": {true, []resource.Ref{{Type: azRoleAssignment,
			ID: "/subscriptions/" + testSub + "/providers/Microsoft.Authorization/roleAssignments/3f2b1a09-8c7d-4e6f-9a8b-7c6d5e4f3a2b", Account: testSub}}},
		"constructed-sql-firewall-rule-delete-success-managed-identity.json": {true, []resource.Ref{{Type: azSQLFirewallRule,
			ID: nsgRG + "data-rg/providers/Microsoft.Sql/servers/orders-sql/firewallRules/AllowAll", Account: testSub}}},
		"constructed-key-vault-write-failure-eventgrid.json": {true, []resource.Ref{{Type: azKeyVault,
			ID: nsgRG + "sec-rg/providers/Microsoft.KeyVault/vaults/team-kv", Account: testSub}}},
		"constructed-web-site-config-write-success-cloudevents.json": {true, []resource.Ref{{Type: azWebSite,
			ID: nsgRG + "web-rg/providers/Microsoft.Web/sites/shop-app", Account: testSub}}},
	}
	files, err := filepath.Glob("../../events/azure/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Azure samples: %v", err)
	}
	cat := Default()
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			tt, ok := tests[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			changes, errs := change.Decode(name, data)
			if len(errs) != 0 || len(changes) != 1 {
				t.Fatalf("%d changes, %v", len(changes), errs)
			}
			ch := &changes[0]
			watched, err := cat.Resolve(ch)
			if watched != tt.watched || err != nil {
				t.Fatalf("watched %v (%v), want %v", watched, err, tt.watched)
			}
			if watched && !slices.Equal(ch.Resources, tt.want) {
				t.Fatalf("resources %v, want %v", ch.Resources, tt.want)
			}
		})
	}
}

func TestAzureEntriesCoverTypes(t *testing.T) {
	// The types the issue asks for, and the five the ARM reader adds
	// (docs/documents/azure.md), each with its write and delete.
	types := []string{azStorageAccount, azNetworkSecurityGroup, azKeyVault, azSQLServer, azSQLFirewallRule, azRoleAssignment,
		azWebSite, azContainerRegistry, azCosmosAccount, azManagedCluster, azDisk, azPostgresServer, azPostgresFirewallRule}
	cat := New(azureEntries())
	for _, typ := range types {
		for _, verb := range []string{"write", "delete"} {
			op := typ + "/" + verb
			e, ok := cat.Lookup("", op)
			if !ok {
				t.Errorf("%s not watched", op)
				continue
			}
			if len(e.Targets) != 1 || e.Targets[0].Type != typ || e.Note == "" || e.Cloud != change.Azure {
				t.Errorf("%s: %+v", op, e)
			}
			if ns, _, _ := strings.Cut(op, "/"); e.Service != ns {
				t.Errorf("%s: service %q", op, e.Service)
			}
		}
	}
	for _, op := range []string{"Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.EventHub/namespaces/AuthorizationRules/listKeys/action",
		"Microsoft.Storage/storageAccounts/regenerateKey/action", "Microsoft.Resources/deployments/write"} {
		if _, ok := cat.Lookup("", op); ok {
			t.Errorf("%s is watched", op)
		}
	}
}

func TestAzureLookupDoesNotDisturbAWS(t *testing.T) {
	cat := Default()
	if _, ok := cat.Lookup("s3.amazonaws.com", "putbucketacl"); ok {
		t.Error("AWS lookups became case-insensitive")
	}
	if _, ok := cat.Lookup("s3.amazonaws.com", "PutBucketAcl"); !ok {
		t.Error("PutBucketAcl no longer found")
	}
	if _, ok := cat.Lookup("lambda.amazonaws.com", "AddPermission20150331v2"); !ok {
		t.Error("suffixed Lambda names no longer found")
	}
	if _, ok := cat.Lookup("whatever", "MICROSOFT.KEYVAULT/VAULTS/WRITE"); !ok {
		t.Error("Azure lookup is not case-insensitive")
	}
	for _, p := range cat.Patterns() {
		if strings.HasPrefix(p.Service, "Microsoft.") {
			t.Errorf("EventBridge pattern for Azure service %s", p.Service)
		}
	}
}

func TestAzureOperationsAndFilters(t *testing.T) {
	ops := AzureOperations()
	if !slices.IsSorted(ops) || len(slices.Compact(slices.Clone(ops))) != len(ops) {
		t.Fatalf("not sorted and unique: %v", ops)
	}
	var fromTable []string
	for _, e := range Default().Entries() {
		if e.Cloud == change.Azure {
			fromTable = append(fromTable, e.Operation)
		}
	}
	slices.Sort(fromTable)
	if !slices.Equal(ops, fromTable) {
		t.Fatalf("AzureOperations %v, table %v", ops, fromTable)
	}
	for _, op := range ops {
		if strings.Contains(op, "amazonaws") || !strings.HasPrefix(op, "Microsoft.") {
			t.Errorf("not an Azure operation: %s", op)
		}
	}

	for _, maxValues := range []int{0, 25, 5} {
		filters := Default().AzureFilters(maxValues)
		limit := maxValues
		if limit == 0 {
			limit = 25
		}
		var all []string
		for _, f := range filters {
			if len(f.Operations) == 0 || len(f.Operations) > limit || len(f.EventTypes) != 1 {
				t.Fatalf("max %d: filter %+v", maxValues, f)
			}
			verb := map[string]string{AzureWriteSuccess: "/write", AzureDeleteSuccess: "/delete", AzureActionSuccess: "/action"}[f.EventTypes[0]]
			for _, op := range f.Operations {
				if !strings.HasSuffix(op, verb) {
					t.Errorf("max %d: %s in a %s filter", maxValues, op, f.EventTypes[0])
				}
			}
			all = append(all, f.Operations...)
		}
		slices.Sort(all)
		if !slices.Equal(all, ops) {
			t.Fatalf("max %d: filters cover %v, want %v", maxValues, all, ops)
		}
	}
}

func TestAzureOperationType(t *testing.T) {
	for op, want := range map[string]string{
		"Microsoft.Storage/storageAccounts/write":                      "Microsoft.Storage/storageAccounts",
		"Microsoft.Storage/storageAccounts/listKeys/action":            "Microsoft.Storage/storageAccounts",
		"Microsoft.Network/networkSecurityGroups/securityRules/delete": "Microsoft.Network/networkSecurityGroups/securityRules",
	} {
		if got := azureOperationType(op); got != want {
			t.Errorf("%s: %s, want %s", op, got, want)
		}
	}
}
