package catalog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// Azure resource types: ARM types, as docs/documents/azure.md lists them.
// IDs are ARM resource IDs in canonical form (change.AzureResourceID).
const (
	azStorageAccount       = "Microsoft.Storage/storageAccounts"
	azNetworkSecurityGroup = "Microsoft.Network/networkSecurityGroups"
	azKeyVault             = "Microsoft.KeyVault/vaults"
	azSQLServer            = "Microsoft.Sql/servers"
	azSQLFirewallRule      = "Microsoft.Sql/servers/firewallRules"
	azRoleAssignment       = "Microsoft.Authorization/roleAssignments"
	azWebSite              = "Microsoft.Web/sites"
	azContainerRegistry    = "Microsoft.ContainerRegistry/registries"
	azCosmosAccount        = "Microsoft.DocumentDB/databaseAccounts"
	azManagedCluster       = "Microsoft.ContainerService/managedClusters"
	azDisk                 = "Microsoft.Compute/disks"
	azPostgresServer       = "Microsoft.DBforPostgreSQL/flexibleServers"
	azPostgresFirewallRule = "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"
)

// Azure notes: where the ID comes from.
const (
	azSelfNote   = "the event's resource: data.resourceUri, else subject"
	azParentNote = "the %s that the event's resource (data.resourceUri, else subject) lies under"
)

// azureEntries are the watched Azure operations (operationName), each with
// the ARM type it touches. A child resource's operation (an NSG security
// rule, a site's config, a SQL server's Entra-only setting) touches its
// parent, whose document holds the child; a firewall rule is a resource of
// its own (its document says whether it admits the whole Internet) and a
// server-wide setting such as public network access comes with the
// server's own write.
//
// Secret reads and other actions (listKeys/action, regenerateKey/action)
// are not configuration changes and are deliberately absent, so the filter
// reports them as unwatched.
func azureEntries() []Entry {
	rows := []struct{ op, typ string }{
		{"Microsoft.Storage/storageAccounts/write", azStorageAccount},
		{"Microsoft.Storage/storageAccounts/delete", azStorageAccount},

		{"Microsoft.Network/networkSecurityGroups/write", azNetworkSecurityGroup},
		{"Microsoft.Network/networkSecurityGroups/delete", azNetworkSecurityGroup},
		{"Microsoft.Network/networkSecurityGroups/securityRules/write", azNetworkSecurityGroup},
		{"Microsoft.Network/networkSecurityGroups/securityRules/delete", azNetworkSecurityGroup},

		{"Microsoft.KeyVault/vaults/write", azKeyVault},
		{"Microsoft.KeyVault/vaults/delete", azKeyVault},

		{"Microsoft.Sql/servers/write", azSQLServer},
		{"Microsoft.Sql/servers/delete", azSQLServer},
		{"Microsoft.Sql/servers/azureADOnlyAuthentications/write", azSQLServer},
		{"Microsoft.Sql/servers/azureADOnlyAuthentications/delete", azSQLServer},
		{"Microsoft.Sql/servers/firewallRules/write", azSQLFirewallRule},
		{"Microsoft.Sql/servers/firewallRules/delete", azSQLFirewallRule},

		{"Microsoft.Authorization/roleAssignments/write", azRoleAssignment},
		{"Microsoft.Authorization/roleAssignments/delete", azRoleAssignment},

		{"Microsoft.Web/sites/write", azWebSite},
		{"Microsoft.Web/sites/delete", azWebSite},
		{"Microsoft.Web/sites/config/write", azWebSite},

		{"Microsoft.ContainerRegistry/registries/write", azContainerRegistry},
		{"Microsoft.ContainerRegistry/registries/delete", azContainerRegistry},

		{"Microsoft.DocumentDB/databaseAccounts/write", azCosmosAccount},
		{"Microsoft.DocumentDB/databaseAccounts/delete", azCosmosAccount},

		{"Microsoft.ContainerService/managedClusters/write", azManagedCluster},
		{"Microsoft.ContainerService/managedClusters/delete", azManagedCluster},

		{"Microsoft.Compute/disks/write", azDisk},
		{"Microsoft.Compute/disks/delete", azDisk},

		{"Microsoft.DBforPostgreSQL/flexibleServers/write", azPostgresServer},
		{"Microsoft.DBforPostgreSQL/flexibleServers/delete", azPostgresServer},
		{"Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/write", azPostgresFirewallRule},
		{"Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/delete", azPostgresFirewallRule},
	}
	out := make([]Entry, 0, len(rows))
	for _, r := range rows {
		ns, _, _ := strings.Cut(r.op, "/")
		note := azSelfNote
		if !strings.EqualFold(azureOperationType(r.op), r.typ) {
			note = fmt.Sprintf(azParentNote, r.typ)
		}
		out = append(out, Entry{
			Cloud:     change.Azure,
			Service:   ns,
			Operation: r.op,
			Targets:   []Target{{Type: r.typ, Resolve: azureResourceID(r.typ)}},
			Note:      note,
		})
	}
	return out
}

// azureOperationType returns the ARM type an operation acts on: the
// operation without its verb (…/write → …).
func azureOperationType(op string) string {
	i := strings.LastIndexByte(op, '/')
	if i < 0 {
		return op
	}
	if strings.EqualFold(op[i+1:], "action") {
		// …/listKeys/action: drop the action's name too.
		if j := strings.LastIndexByte(op[:i], '/'); j >= 0 {
			i = j
		}
	}
	return op[:i]
}

// azureResourceID resolves the resource of ARM type typ that an Azure
// change touched: the event's resource itself, or the ancestor of that
// type it lies under (a security rule's network security group). Keywords
// are canonical and the type's segments spelt as typ spells them; names
// keep the event's case.
func azureResourceID(typ string) func(c *change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		if len(c.EventResources) == 0 || c.EventResources[0].ARN == "" {
			return nil, fmt.Errorf("%w: the event names no ARM resource (data.resourceUri, subject)", ErrNoID)
		}
		id, err := change.ParseAzureResourceID(c.EventResources[0].ARN)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoID, err)
		}
		anc, ok := id.Ancestor(typ)
		if !ok {
			return nil, fmt.Errorf("%w: %s (%s) is neither a %s nor under one", ErrNoID, id, id.Type(), typ)
		}
		return []string{anc.String()}, nil
	}
}

// AzureOperations returns the operationName of every watched Azure
// operation of the built-in catalog, sorted: the values of the Event Grid
// advanced filter (StringIn on data.operationName) that keeps unwatched
// events from reaching the function. See Catalog.AzureFilters for the
// per-subscription limit.
func AzureOperations() []string { return Default().AzureOperations() }

// AzureOperations returns the operationName of every Azure row, sorted.
func (c *Catalog) AzureOperations() []string {
	var out []string
	for _, e := range c.entries {
		if e.Cloud == change.Azure {
			out = append(out, e.Operation)
		}
	}
	sort.Strings(out)
	return out
}

// Azure event types of successful resource operations, by verb.
const (
	AzureWriteSuccess  = "Microsoft.Resources.ResourceWriteSuccess"
	AzureDeleteSuccess = "Microsoft.Resources.ResourceDeleteSuccess"
	AzureActionSuccess = "Microsoft.Resources.ResourceActionSuccess"
)

// AzureFilter is the filter of one Event Grid event subscription: the
// event types it includes (filter.includedEventTypes) and the operation
// names of a StringIn advanced filter on data.operationName.
type AzureFilter struct {
	EventTypes []string
	Operations []string
}

// AzureFilters splits the watched Azure operations into event-subscription
// filters of at most maxValues operation names each, one event type
// (write, delete, action) per filter. Event Grid allows 25 advanced-filter
// values in all per event subscription, and filters AND together, so the
// watched operations (more than 25) need several subscriptions to the same
// endpoint: one per returned filter. maxValues < 1 means 25.
func (c *Catalog) AzureFilters(maxValues int) []AzureFilter {
	if maxValues < 1 {
		maxValues = 25
	}
	byType := map[string][]string{}
	for _, op := range c.AzureOperations() {
		t := AzureWriteSuccess
		switch verb := strings.ToLower(op[strings.LastIndexByte(op, '/')+1:]); verb {
		case "delete":
			t = AzureDeleteSuccess
		case "action":
			t = AzureActionSuccess
		}
		byType[t] = append(byType[t], op)
	}
	var out []AzureFilter
	for _, t := range []string{AzureWriteSuccess, AzureDeleteSuccess, AzureActionSuccess} {
		ops := byType[t]
		for len(ops) > 0 {
			n := min(maxValues, len(ops))
			out = append(out, AzureFilter{EventTypes: []string{t}, Operations: ops[:n:n]})
			ops = ops[n:]
		}
	}
	return out
}
