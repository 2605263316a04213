package change_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
)

// azureDir holds the repository's Azure sample events.
const azureDir = "../../events/azure"

func readAzure(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(azureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// azureSummary is the part of an Azure Change the sample table checks.
type azureSummary struct {
	EventID, EventType, Account, Service, Operation, ErrorCode string
	ResourceID, ResourceType                                   string
	PType, PARN, PName, PAppID, PTenant, PIssuer               string
	SourceIP, CorrelationID                                    string
}

func summarizeAzure(c *change.Change) azureSummary {
	s := azureSummary{
		EventID: c.EventID, EventType: c.EventType, Account: c.Account, Service: c.Service, Operation: c.Operation,
		ErrorCode: c.ErrorCode, PType: c.Principal.Type, PARN: c.Principal.ARN, PName: c.Principal.Name,
		PAppID: c.Principal.AppID, PTenant: c.Principal.Account, PIssuer: c.Principal.IssuerARN,
		SourceIP: c.SourceIP, CorrelationID: c.CorrelationID,
	}
	if len(c.EventResources) == 1 {
		s.ResourceID, s.ResourceType = c.EventResources[0].ARN, c.EventResources[0].Type
	}
	return s
}

const (
	sub      = "00000000-1111-2222-3333-444444444444"
	tenant   = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	alice    = "6a3f2c1e-0d9b-4a8f-7e6d-5c4b3a291807"
	docsSA   = "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.Storage/storageAccounts/{storage-name}"
	docsRule = "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.EventHub/namespaces/{namespace}/AuthorizationRules/RootManageSharedAccessKey"
	sdkSub   = "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.EventGrid/eventSubscriptions/LogicAppdd584bdf-8347-49c9-b9a9-d1f980783501"
)

// TestDecodeAzureSamples decodes every file in events/azure and checks what
// each normalises to. A new sample must be added here.
func TestDecodeAzureSamples(t *testing.T) {
	docsUser := azureSummary{PType: "User", PARN: "{ID}", PName: "{user-name}", PAppID: "{ID}", PTenant: "{ID}",
		Account: "{subscription-id}", Service: "Microsoft.Storage", ResourceType: "Microsoft.Storage/storageAccounts", ResourceID: docsSA}
	with := func(base azureSummary, f func(*azureSummary)) azureSummary { f(&base); return base }
	docsWrite := with(docsUser, func(s *azureSummary) {
		s.EventID, s.EventType, s.Operation = "4db48cba-50a2-455a-93b4-de41a3b5b7f6", "Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Storage/storageAccounts/write"
		s.SourceIP, s.CorrelationID = "{IP-address}", "{ID}"
	})
	docsDelete := with(docsUser, func(s *azureSummary) {
		s.EventID, s.EventType, s.Operation = "19a69642-1aad-4a96-a5ab-8d05494513ce", "Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Storage/storageAccounts/delete"
		s.SourceIP, s.CorrelationID = "{IP-address}", "{ID}"
	})
	docsAction := azureSummary{EventID: "{ID}", EventType: "Microsoft.Resources.ResourceActionSuccess", Account: "{subscription-id}",
		Service: "Microsoft.EventHub", Operation: "Microsoft.EventHub/namespaces/AuthorizationRules/listKeys/action",
		ResourceID: docsRule, ResourceType: "Microsoft.EventHub/namespaces/AuthorizationRules",
		PType: "ServicePrincipal", PARN: "{ID}", PAppID: "{ID}", PTenant: "{ID}", SourceIP: "{IP-address}", CorrelationID: "{ID}"}
	sdk := func(eventType string) azureSummary {
		return azureSummary{EventID: "25b3b0d0-d79b-44d5-9963-440d4e6a9bba", EventType: eventType, Account: "{subscription-id}",
			Service: "Microsoft.EventGrid", Operation: "Microsoft.EventGrid/eventSubscriptions/write",
			ResourceID: sdkSub, ResourceType: "Microsoft.EventGrid/eventSubscriptions",
			SourceIP: "ipAddressValue", CorrelationID: "54ef1e39-6a82-44b3-abc1-bdeb6ce4d3c6"}
	}
	tests := map[string]azureSummary{
		"docs-eventgrid-schema-resource-write-success-storage-account.json":   docsWrite,
		"docs-cloudevents-schema-resource-write-success-storage-account.json": docsWrite,
		// The delete's claims lack nothing the write has; its httpRequest
		// IP wins over the ipaddr claim (both are placeholders here).
		"docs-eventgrid-schema-resource-delete-success-storage-account.json":     docsDelete,
		"docs-cloudevents-schema-resource-delete-success-storage-account.json":   docsDelete,
		"docs-eventgrid-schema-resource-action-success-eventhub-listkeys.json":   docsAction,
		"docs-cloudevents-schema-resource-action-success-eventhub-listkeys.json": docsAction,
		"sdk-fixture-resource-write-success-eventgrid-schema.json":               sdk("Microsoft.Resources.ResourceWriteSuccess"),
		"sdk-fixture-resource-action-success-eventgrid-schema.json":              sdk("Microsoft.Resources.ResourceActionSuccess"),
		"constructed-nsg-security-rule-write-success-eventgrid.json": {
			EventID: "0b6d8e7a-5a1f-4c8e-9c41-7d2f3f1e9a01", EventType: "Microsoft.Resources.ResourceWriteSuccess", Account: sub,
			Service: "Microsoft.Network", Operation: "Microsoft.Network/networkSecurityGroups/securityRules/write",
			// resourcegroups in the event; canonical resourceGroups here.
			ResourceID:   "/subscriptions/" + sub + "/resourceGroups/app-rg/providers/Microsoft.Network/networkSecurityGroups/web-nsg/securityRules/allow-ssh",
			ResourceType: "Microsoft.Network/networkSecurityGroups/securityRules",
			PType:        "User", PARN: alice, PName: "alice@example.com", PAppID: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", PTenant: tenant,
			SourceIP: "198.51.100.7", CorrelationID: "2f7c9e1a-3b4d-4e5f-8a6b-7c8d9e0f1a2b",
		},
		"constructed-role-assignment-write-success-cloudevents-single.json": {
			EventID: "7e1d2c3b-4a59-4867-9a5b-4c3d2e1f0a9b", EventType: "Microsoft.Resources.ResourceWriteSuccess", Account: sub,
			Service: "Microsoft.Authorization", Operation: "Microsoft.Authorization/roleAssignments/write",
			ResourceID:   "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleAssignments/3f2b1a09-8c7d-4e6f-9a8b-7c6d5e4f3a2b",
			ResourceType: "Microsoft.Authorization/roleAssignments",
			PType:        "ServicePrincipal", PARN: "c0ffee00-1234-4abc-8def-0123456789ab", PAppID: "5d9a3e2f-1c0b-4a98-8765-4321fedcba98", PTenant: tenant,
			CorrelationID: "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d",
		},
		"constructed-sql-firewall-rule-delete-success-managed-identity.json": {
			EventID: "e4d3c2b1-a098-4f7e-8d6c-5b4a39281706", EventType: "Microsoft.Resources.ResourceDeleteSuccess", Account: sub,
			Service: "Microsoft.Sql", Operation: "Microsoft.Sql/servers/firewallRules/delete",
			ResourceID:   "/subscriptions/" + sub + "/resourceGroups/data-rg/providers/Microsoft.Sql/servers/orders-sql/firewallRules/AllowAll",
			ResourceType: "Microsoft.Sql/servers/firewallRules",
			PType:        "ManagedIdentity", PARN: "d1d1d1d1-2222-4333-8444-555555555555", PName: "driftwatch-detector",
			PAppID: "f00dcafe-0000-4000-8000-00000000beef", PTenant: tenant,
			PIssuer:  "/subscriptions/" + sub + "/resourceGroups/driftwatch-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/driftwatch-detector",
			SourceIP: "20.42.0.1", CorrelationID: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
		},
		"constructed-key-vault-write-failure-eventgrid.json": {
			EventID: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", EventType: "Microsoft.Resources.ResourceWriteFailure", Account: sub,
			Service: "Microsoft.KeyVault", Operation: "Microsoft.KeyVault/vaults/write", ErrorCode: "Failed",
			ResourceID:   "/subscriptions/" + sub + "/resourceGroups/sec-rg/providers/Microsoft.KeyVault/vaults/team-kv",
			ResourceType: "Microsoft.KeyVault/vaults",
			PType:        "User", PARN: alice, PName: "alice@example.com", PAppID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", PTenant: tenant,
			SourceIP: "203.0.113.10", CorrelationID: "6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f",
		},
		"constructed-web-site-config-write-success-cloudevents.json": {
			EventID: "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f", EventType: "Microsoft.Resources.ResourceWriteSuccess", Account: sub,
			Service: "Microsoft.Web", Operation: "Microsoft.Web/sites/config/write",
			ResourceID:   "/subscriptions/" + sub + "/resourceGroups/web-rg/providers/Microsoft.Web/sites/shop-app/config/web",
			ResourceType: "Microsoft.Web/sites/config",
			PType:        "User", PARN: alice, PName: "alice@example.com", PAppID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", PTenant: tenant,
			SourceIP: "203.0.113.10", CorrelationID: "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a",
		},
	}
	files, err := filepath.Glob(filepath.Join(azureDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", azureDir, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			if !ok {
				t.Fatalf("sample %s has no expectation in this table", name)
			}
			changes, errs := change.Decode(name, readAzure(t, name))
			if len(errs) != 0 || len(changes) != 1 {
				t.Fatalf("got %d changes, errors %v; want 1 change", len(changes), errs)
			}
			c := &changes[0]
			if c.Cloud != change.Azure || c.Region != "" || c.ReadOnly {
				t.Errorf("cloud %q region %q read-only %v", c.Cloud, c.Region, c.ReadOnly)
			}
			if got := summarizeAzure(c); got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if c.Time.IsZero() || c.Time.Location() != time.UTC {
				t.Errorf("time %v", c.Time)
			}
			// Request is the event's data; Raw the event.
			if change.String(c.Request(), "operationName") != c.Operation {
				t.Errorf("request.operationName = %q", change.String(c.Request(), "operationName"))
			}
			var raw map[string]any
			if err := json.Unmarshal(c.Raw, &raw); err != nil || raw["id"] != c.EventID {
				t.Errorf("Raw is not the event: %v", err)
			}
			delete(tests, name)
		})
	}
	for name := range tests {
		t.Errorf("table names %s, which is not in %s", name, azureDir)
	}
}

// TestDecodeAzureSchemasAgree checks that the documentation's Event Grid
// and CloudEvents forms of the same event decode to the same change.
func TestDecodeAzureSchemasAgree(t *testing.T) {
	for _, what := range []string{"resource-write-success-storage-account", "resource-delete-success-storage-account", "resource-action-success-eventhub-listkeys"} {
		t.Run(what, func(t *testing.T) {
			eg, _ := change.Decode("eg", readAzure(t, "docs-eventgrid-schema-"+what+".json"))
			ce, _ := change.Decode("ce", readAzure(t, "docs-cloudevents-schema-"+what+".json"))
			if len(eg) != 1 || len(ce) != 1 {
				t.Fatalf("%d and %d changes", len(eg), len(ce))
			}
			a, b := eg[0], ce[0]
			if !a.Time.Equal(b.Time) || summarizeAzure(&a) != summarizeAzure(&b) || !reflect.DeepEqual(a.Principal, b.Principal) {
				t.Fatalf("Event Grid %+v\nCloudEvents %+v", summarizeAzure(&a), summarizeAzure(&b))
			}
		})
	}
}

// azureEvent builds an Event Grid schema event with data fields merged
// over a minimal resource write.
func azureEvent(t *testing.T, eventType string, data map[string]any) []byte {
	t.Helper()
	d := map[string]any{
		"operationName":    "Microsoft.Storage/storageAccounts/write",
		"resourceProvider": "Microsoft.Storage",
		"resourceUri":      "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
		"status":           "Succeeded",
		"subscriptionId":   sub,
	}
	for k, v := range data {
		if v == nil {
			delete(d, k)
		} else {
			d[k] = v
		}
	}
	b, err := json.Marshal(map[string]any{
		"id": "e1", "eventType": eventType, "eventTime": "2026-11-28T10:00:00Z", "dataVersion": "2", "metadataVersion": "1",
		"topic": "/subscriptions/" + sub, "subject": d["resourceUri"], "data": d,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeAzureOutcome(t *testing.T) {
	tests := []struct {
		eventType, status, want string
	}{
		{"Microsoft.Resources.ResourceWriteSuccess", "Succeeded", ""},
		{"Microsoft.Resources.ResourceDeleteSuccess", "", ""},
		{"Microsoft.Resources.ResourceActionSuccess", "succeeded", ""},
		{"Microsoft.Resources.ResourceWriteFailure", "Failed", "Failed"},
		{"Microsoft.Resources.ResourceWriteFailure", "", "Failed"},
		{"Microsoft.Resources.ResourceDeleteCancel", "Canceled", "Canceled"},
		{"Microsoft.Resources.ResourceActionCancel", "", "Canceled"},
		// The status wins when it says more than the type.
		{"Microsoft.Resources.ResourceWriteFailure", "Conflict", "Conflict"},
		{"Microsoft.Resources.ResourceWriteSuccess", "Failed", "Failed"},
		// Event types compare case-insensitively.
		{"microsoft.resources.resourcewritefailure", "", "Failed"},
	}
	for _, tt := range tests {
		t.Run(tt.eventType+"/"+tt.status, func(t *testing.T) {
			c, err := change.DecodeRecord("t", azureEvent(t, tt.eventType, map[string]any{"status": tt.status}))
			if err != nil {
				t.Fatal(err)
			}
			if c.ErrorCode != tt.want || c.EventType != tt.eventType {
				t.Fatalf("error code %q (event type %q), want %q", c.ErrorCode, c.EventType, tt.want)
			}
		})
	}
}

func TestDecodeAzureFields(t *testing.T) {
	const write = "Microsoft.Resources.ResourceWriteSuccess"
	acct := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"
	tests := []struct {
		name  string
		data  map[string]any
		check func(t *testing.T, c *change.Change)
	}{
		{"resourceUri preferred over subject, canonical keywords", map[string]any{
			"resourceUri": "/SUBSCRIPTIONS/" + sub + "/RESOURCEGROUPS/rg/PROVIDERS/Microsoft.Storage/storageAccounts/acct/",
		}, func(t *testing.T, c *change.Change) {
			if got := c.EventResources[0].ARN; got != acct {
				t.Errorf("id %q", got)
			}
		}},
		{"no provider: the operation's namespace", map[string]any{"resourceProvider": nil}, func(t *testing.T, c *change.Change) {
			if c.Service != "Microsoft.Storage" {
				t.Errorf("service %q", c.Service)
			}
		}},
		{"no operationName: authorization.action", map[string]any{
			"operationName": nil, "authorization": map[string]any{"action": "Microsoft.Storage/storageAccounts/delete"},
		}, func(t *testing.T, c *change.Change) {
			if c.Operation != "Microsoft.Storage/storageAccounts/delete" {
				t.Errorf("operation %q", c.Operation)
			}
		}},
		{"no subscriptionId: the resource's subscription", map[string]any{"subscriptionId": nil}, func(t *testing.T, c *change.Change) {
			if c.Account != sub {
				t.Errorf("account %q", c.Account)
			}
		}},
		{"ipaddr claim when there is no httpRequest", map[string]any{"claims": map[string]any{"ipaddr": "192.0.2.1"}}, func(t *testing.T, c *change.Change) {
			if c.SourceIP != "192.0.2.1" {
				t.Errorf("source IP %q", c.SourceIP)
			}
		}},
		{"httpRequest address wins over ipaddr", map[string]any{
			"claims": map[string]any{"ipaddr": "192.0.2.1"}, "httpRequest": map[string]any{"clientIpAddress": "192.0.2.2"},
		}, func(t *testing.T, c *change.Change) {
			if c.SourceIP != "192.0.2.2" {
				t.Errorf("source IP %q", c.SourceIP)
			}
		}},
		{"claims, authorization and httpRequest as JSON strings (older payloads)", map[string]any{
			"claims":        `{"http://schemas.microsoft.com/identity/claims/objectidentifier":"oid-1","upn":"bob@example.com"}`,
			"authorization": `{"action":"x","evidence":{"principalType":"User"}}`,
			"httpRequest":   `{"clientIpAddress":"192.0.2.3"}`,
		}, func(t *testing.T, c *change.Change) {
			if c.Principal.ARN != "oid-1" || c.Principal.Name != "bob@example.com" || c.Principal.Type != "User" || c.SourceIP != "192.0.2.3" {
				t.Errorf("principal %+v source %q", c.Principal, c.SourceIP)
			}
		}},
		{"unparseable resource ID: no event resource, change kept", map[string]any{"resourceUri": "not-an-id"}, func(t *testing.T, c *change.Change) {
			// subject is the same bad value (azureEvent copies it).
			if len(c.EventResources) != 0 || c.Operation == "" {
				t.Errorf("resources %v", c.EventResources)
			}
		}},
		{"evidence principal when the claims have no object ID", map[string]any{
			"authorization": map[string]any{"evidence": map[string]any{"principalId": "p-1", "principalType": "ServicePrincipal"}},
		}, func(t *testing.T, c *change.Change) {
			if c.Principal.ARN != "p-1" || c.Principal.Type != "ServicePrincipal" {
				t.Errorf("principal %+v", c.Principal)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := change.DecodeRecord("t", azureEvent(t, write, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if c.Cloud != change.Azure {
				t.Fatalf("cloud %q", c.Cloud)
			}
			tt.check(t, &c)
		})
	}
}

func TestDecodeAzureDataForms(t *testing.T) {
	data := `{"operationName":"Microsoft.Sql/servers/write","resourceUri":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Sql/servers/db","status":"Succeeded"}`
	quoted, _ := json.Marshal(data)
	b64 := base64.StdEncoding.EncodeToString([]byte(data))
	tests := map[string]string{
		"CloudEvents data object": `{"specversion":"1.0","type":"Microsoft.Resources.ResourceWriteSuccess","source":"/subscriptions/s","id":"1","data":` + data + `}`,
		"CloudEvents data_base64": `{"specversion":"1.0","type":"Microsoft.Resources.ResourceWriteSuccess","source":"/subscriptions/s","id":"1","data_base64":"` + b64 + `"}`,
		"Event Grid data string":  `{"eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"x","id":"1","data":` + string(quoted) + `}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := change.DecodeRecord("t", []byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if c.Operation != "Microsoft.Sql/servers/write" || c.Account != "s" || c.Service != "Microsoft.Sql" ||
				len(c.EventResources) != 1 || c.EventResources[0].Type != "Microsoft.Sql/servers" {
				t.Fatalf("%+v", c)
			}
		})
	}
}

func TestDecodeAzureErrors(t *testing.T) {
	validation := `[{"id":"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66","topic":"/subscriptions/x","subject":"","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6","validationUrl":"https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/x/validate?id=1&t=2&apiVersion=2018-05-01-preview&token=1A1A1A1A"},"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2018-01-25T22:12:19.4556811Z","metadataVersion":"1","dataVersion":"1"}]`
	tests := []struct {
		name, in string
		is       error
		contains string
	}{
		{"subscription validation", validation, change.ErrNotCloudTrail, `Event Grid "Microsoft.EventGrid.SubscriptionValidationEvent" event`},
		{"blob event in CloudEvents", `{"specversion":"1.0","type":"Microsoft.Storage.BlobCreated","source":"/x","id":"1","data":{}}`,
			change.ErrNotCloudTrail, `CloudEvents "Microsoft.Storage.BlobCreated" event`},
		{"resource event type prefix only", `{"eventType":"Microsoft.Resources.ResourceWriteSomething","data":{}}`, change.ErrNotCloudTrail, "ResourceWriteSomething"},
		{"eventType not a string", `{"eventType":{"a":1},"data":{}}`, change.ErrBadField, "a string in eventType"},
		{"data an array", `{"eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"x","data":[1]}`, change.ErrBadField, "an object in data"},
		{"data_base64 not base64", `{"specversion":"1.0","type":"Microsoft.Resources.ResourceWriteSuccess","data_base64":"%%%"}`, change.ErrBadField, "base64"},
		{"operationName a number is its text, claims a list is an error", `{"eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"x","data":{"claims":[1]}}`,
			change.ErrBadField, "an object in data.claims"},
		{"status an object", `{"eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"x","data":{"status":{}}}`, change.ErrBadField, "a string in data.status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, errs := change.Decode("in.json", []byte(tt.in))
			if len(changes) != 0 || len(errs) != 1 {
				t.Fatalf("%d changes, errors %v", len(changes), errs)
			}
			var de *change.DecodeError
			if !errors.As(errs[0], &de) || !errors.Is(errs[0], tt.is) || !strings.Contains(errs[0].Error(), tt.contains) {
				t.Fatalf("error %v, want %v containing %q", errs[0], tt.is, tt.contains)
			}
			if de.Source != "in.json" || de.Offset < 0 || de.Offset >= int64(len(tt.in)) {
				t.Fatalf("error %#v", de)
			}
		})
	}
}

// TestDecodeMixedClouds decodes an array holding an Azure event, a
// CloudTrail record and an EventBridge envelope: the AWS path is untouched
// and the order kept.
func TestDecodeMixedClouds(t *testing.T) {
	az := azureEvent(t, "Microsoft.Resources.ResourceWriteSuccess", nil)
	rec := `{"eventID":"ct","eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","recipientAccountId":"123456789012","awsRegion":"us-east-1","eventType":"AwsApiCall"}`
	in := "[" + string(az) + "," + rec + "," + envelope("AWS API Call via CloudTrail", rec) + "]"
	changes, errs := change.Decode("mixed", []byte(in))
	if len(errs) != 0 || len(changes) != 3 {
		t.Fatalf("%d changes, errors %v", len(changes), errs)
	}
	var clouds []string
	for _, c := range changes {
		clouds = append(clouds, c.Cloud+":"+c.EventID)
	}
	if want := []string{"azure:e1", "aws:ct", "aws:ct"}; !reflect.DeepEqual(clouds, want) {
		t.Fatalf("got %v, want %v", clouds, want)
	}
	if changes[1].EventType != "AwsApiCall" || changes[1].Principal.AppID != "" || changes[1].CorrelationID != "" {
		t.Fatalf("AWS change %+v", changes[1])
	}
}

func TestAzurePrincipal(t *testing.T) {
	tests := []struct {
		name               string
		claims             map[string]string
		evidenceType       string
		wantType, wantName string
	}{
		{"managed identity by xms_mirid", map[string]string{"oid": "o", "appid": "a", "idtyp": "app",
			"xms_mirid": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Web/sites/func-app"}, "ServicePrincipal", "ManagedIdentity", "func-app"},
		{"idtyp app", map[string]string{"oid": "o", "appid": "a", "idtyp": "app"}, "", "ServicePrincipal", ""},
		{"idtyp user", map[string]string{"oid": "o", "idtyp": "user", "name": "Bob"}, "", "User", "Bob"},
		{"upn", map[string]string{"oid": "o", "upn": "bob@example.com", "name": "Bob"}, "", "User", "bob@example.com"},
		{"unique name", map[string]string{"oid": "o", "unique_name": "live.com#bob@example.com"}, "", "User", "live.com#bob@example.com"},
		{"delegated scope without a name claim", map[string]string{"oid": "o", "scp": "user_impersonation"}, "", "User", ""},
		{"evidence decides when claims cannot", map[string]string{"oid": "o"}, "User", "User", ""},
		{"group evidence says nothing of the caller", map[string]string{"oid": "o"}, "Group", "", ""},
		{"app token with roles", map[string]string{"oid": "o", "appid": "a", "roles": "x"}, "", "ServicePrincipal", ""},
		{"nothing known", map[string]string{"claimKey1": "claimValue1"}, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := change.AzurePrincipal(tt.claims, "", tt.evidenceType)
			if p.Type != tt.wantType || p.Name != tt.wantName {
				t.Fatalf("type %q name %q, want %q %q (%+v)", p.Type, p.Name, tt.wantType, tt.wantName, p)
			}
			if p.Type == "ManagedIdentity" && (p.IssuerType != "Microsoft.Web/sites" ||
				p.IssuerARN != "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/func-app") {
				t.Fatalf("issuer %q %q", p.IssuerARN, p.IssuerType)
			}
		})
	}
}

func TestParseAzureResourceID(t *testing.T) {
	const sa = "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/acct"
	tests := []struct {
		in, canonical, typ string
		scope, sub, rg     string
	}{
		{sa, sa, "Microsoft.Storage/storageAccounts", "", "s1", "rg1"},
		{"/SubScriptions/s1/resourcegroups/rg1/Providers/Microsoft.Storage/storageAccounts/acct/", sa, "Microsoft.Storage/storageAccounts", "", "s1", "rg1"},
		{"/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/nsg/securityRules/r1",
			"/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/nsg/securityRules/r1",
			"Microsoft.Network/networkSecurityGroups/securityRules", "", "s1", "rg1"},
		{"/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/ra",
			"/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/ra", "Microsoft.Authorization/roleAssignments", "", "s1", ""},
		{sa + "/providers/Microsoft.Authorization/roleAssignments/ra", sa + "/providers/Microsoft.Authorization/roleAssignments/ra",
			"Microsoft.Authorization/roleAssignments", sa, "s1", "rg1"},
		{"/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/roleAssignments/ra",
			"/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/roleAssignments/ra",
			"Microsoft.Authorization/roleAssignments", "/providers/Microsoft.Management/managementGroups/mg", "", ""},
		{"/subscriptions/s1", "/subscriptions/s1", "Microsoft.Resources/subscriptions", "", "s1", ""},
		{"/subscriptions/s1/resourcegroups/rg1", "/subscriptions/s1/resourceGroups/rg1", "Microsoft.Resources/resourceGroups", "", "s1", "rg1"},
		// A resource named "providers" sits at a name position.
		{"/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Web/sites/providers/config/web",
			"/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Web/sites/providers/config/web", "Microsoft.Web/sites/config", "", "s1", "rg1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := change.ParseAzureResourceID(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if id.String() != tt.canonical || id.Type() != tt.typ || id.Scope != tt.scope || id.Subscription != tt.sub || id.ResourceGroup != tt.rg {
				t.Fatalf("got %q type %q scope %q sub %q rg %q", id.String(), id.Type(), id.Scope, id.Subscription, id.ResourceGroup)
			}
			again, err := change.ParseAzureResourceID(id.String())
			if err != nil || again.String() != id.String() {
				t.Fatalf("canonical form does not round-trip: %q, %v", again.String(), err)
			}
		})
	}
	for _, bad := range []string{"", "subscriptions/s1", "/", "/subscriptions/s1/resourceGroups/rg1/providers", "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Storage",
		"/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts", "/subscriptions/s1/resourceGroups/rg1/foo/bar",
		"/subscriptions/s1//resourceGroups/rg1", "arn:aws:s3:::bucket"} {
		t.Run("bad "+bad, func(t *testing.T) {
			if id, err := change.ParseAzureResourceID(bad); !errors.Is(err, change.ErrAzureID) {
				t.Fatalf("got %+v, %v", id, err)
			}
		})
	}
}

func TestAzureResourceIDAncestor(t *testing.T) {
	const nsg = "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/web-nsg"
	rule, _ := change.ParseAzureResourceID("/subscriptions/s1/resourcegroups/rg1/providers/microsoft.network/NETWORKSECURITYGROUPS/web-nsg/securityRules/ssh")
	tests := []struct {
		typ, want string
		ok        bool
	}{
		{"Microsoft.Network/networkSecurityGroups", nsg, true},
		{"Microsoft.Network/networkSecurityGroups/securityRules", nsg + "/securityRules/ssh", true},
		{"microsoft.network/networksecuritygroups", "/subscriptions/s1/resourceGroups/rg1/providers/microsoft.network/networksecuritygroups/web-nsg", true},
		{"Microsoft.Network/networkSecurityGroups/securityRules/extra", "", false},
		{"Microsoft.Network/virtualNetworks", "", false},
		{"Microsoft.Storage/networkSecurityGroups", "", false},
		{"Microsoft.Network", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			got, ok := rule.Ancestor(tt.typ)
			if ok != tt.ok || (ok && got.String() != tt.want) {
				t.Fatalf("got %q, %v; want %q, %v", got.String(), ok, tt.want, tt.ok)
			}
			if ok && got.Type() != tt.typ {
				t.Fatalf("type %q, want the caller's spelling %q", got.Type(), tt.typ)
			}
		})
	}
	if rule.Names[1] != "ssh" || len(rule.Names) != 2 {
		t.Fatalf("Ancestor modified the receiver: %v", rule.Names)
	}
}
