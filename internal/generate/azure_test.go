package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/catalog"
)

// readRepo reads a file of the repository (tests run in internal/generate).
func readRepo(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// loadWatch reads deploy/azure/operations.json as the deployment does.
func loadWatch(t *testing.T) azureWatch {
	t.Helper()
	var w azureWatch
	if err := json.Unmarshal([]byte(readRepo(t, "deploy/azure/operations.json")), &w); err != nil {
		t.Fatalf("operations.json: %v", err)
	}
	return w
}

// TestAzureWatchCoversCatalog checks the generated event-subscription
// filters against the catalog and Event Grid's limits: every watched
// operation in exactly one subscription, under the right event type, at
// most 25 values a subscription, valid and distinct names.
func TestAzureWatchCoversCatalog(t *testing.T) {
	w := loadWatch(t)
	want := catalog.Default().AzureOperations()
	if len(want) == 0 {
		t.Fatal("the catalog has no Azure operations")
	}
	seen := map[string]string{}
	names := map[string]bool{}
	nameRE := regexp.MustCompile(`^[A-Za-z0-9-]{3,64}$`)
	for _, s := range w.Subscriptions {
		if !nameRE.MatchString(s.Name) || names[s.Name] {
			t.Errorf("subscription name %q: invalid or repeated", s.Name)
		}
		names[s.Name] = true
		if n := len(s.Operations); n == 0 || n > maxFilterValues {
			t.Errorf("%s: %d filter values, Event Grid allows 1 to %d per subscription", s.Name, n, maxFilterValues)
		}
		if len(s.IncludedEventTypes) == 0 {
			t.Errorf("%s: no included event types (it would receive every event type)", s.Name)
		}
		for _, op := range s.Operations {
			low := strings.ToLower(op) // StringIn compares case-insensitively
			if prev, dup := seen[low]; dup {
				t.Errorf("%s is in %s and %s: it would be delivered twice", op, prev, s.Name)
			}
			seen[low] = s.Name
			if !slices.Contains(s.IncludedEventTypes, successTypeOf(op)) {
				t.Errorf("%s: operation %s needs event type %s, subscription includes %v", s.Name, op, successTypeOf(op), s.IncludedEventTypes)
			}
		}
	}
	for _, op := range want {
		if _, ok := seen[strings.ToLower(op)]; !ok {
			t.Errorf("catalog operation %s is in no event subscription", op)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("the subscriptions filter %d operations, the catalog watches %d", len(seen), len(want))
	}
}

// successTypeOf is the Event Grid event type of a successful operation.
func successTypeOf(op string) string {
	switch strings.ToLower(op[strings.LastIndexByte(op, '/')+1:]) {
	case "delete":
		return catalog.AzureDeleteSuccess
	case "action":
		return catalog.AzureActionSuccess
	}
	return catalog.AzureWriteSuccess
}

// TestAzureWatchSplitsLargeCatalogs checks the split on a catalog larger
// than one subscription holds.
func TestAzureWatchSplitsLargeCatalogs(t *testing.T) {
	var entries []catalog.Entry
	for i := range 60 {
		entries = append(entries, catalog.Entry{Cloud: "azure", Service: "Microsoft.Test",
			Operation: "Microsoft.Test/things" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "/write"})
	}
	w, err := azureWatchFor(catalog.New(entries))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range w.Subscriptions {
		if len(s.Operations) > maxFilterValues {
			t.Errorf("%s has %d values", s.Name, len(s.Operations))
		}
		total += len(s.Operations)
	}
	if len(w.Subscriptions) != 3 || total != 60 || w.Subscriptions[2].Name != "driftwatch-write-3" {
		t.Errorf("60 write operations gave %d subscriptions (%d values), want 3 named driftwatch-write-1..3", len(w.Subscriptions), total)
	}
}

// bicepBlock returns the body of the resource or module declared with the
// symbolic name (from its first '{' or '[' to the matching close).
func bicepBlock(t *testing.T, src, symbolic string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^(resource|module) ` + regexp.QuoteMeta(symbolic) + ` '[^']+'( existing)? = `)
	loc := re.FindStringIndex(src)
	if loc == nil {
		t.Fatalf("no resource %s", symbolic)
	}
	depth := 0
	for i := loc[1]; i < len(src); i++ {
		switch src[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return src[loc[0] : i+1]
			}
		}
	}
	t.Fatalf("resource %s is not closed", symbolic)
	return ""
}

// TestEventsBicepUsesGeneratedFilters checks that modules/events.bicep
// builds its event subscriptions from operations.json, one per entry, with
// exactly the filter the generator sized (one StringIn filter on
// data.operationName: its values are the subscription's only advanced-filter
// values), and delivers to the function that has the Event Grid trigger.
func TestEventsBicepUsesGeneratedFilters(t *testing.T) {
	src := readRepo(t, "deploy/azure/modules/events.bicep")
	if !regexp.MustCompile(`var watch = loadJsonContent\('\.\./operations\.json'\)`).MatchString(src) {
		t.Error("events.bicep does not load ../operations.json into var watch")
	}
	sub := bicepBlock(t, src, "subscriptions")
	for _, want := range []string{
		"for s in watch.subscriptions:",
		"name: s.name",
		"includedEventTypes: s.includedEventTypes",
		"operatorType: 'StringIn'",
		"key: 'data.operationName'",
		"values: s.operations",
		"endpointType: 'AzureFunction'",
		"resourceId: '${functionAppId}/functions/${functionName}'",
		"eventDeliverySchema: 'EventGridSchema'",
		"maxDeliveryAttempts: maxDeliveryAttempts",
		"deadLetterWithResourceIdentity:",
		"blobContainerName: deadLetterContainerName",
	} {
		if !strings.Contains(sub, want) {
			t.Errorf("event subscriptions lack %q", want)
		}
	}
	if n := strings.Count(sub, "operatorType:"); n != 1 {
		t.Errorf("event subscriptions have %d advanced filters, want the one StringIn (more would AND, and share the 25 values)", n)
	}
	topic := bicepBlock(t, src, "topic")
	if !strings.Contains(topic, "topicType: 'Microsoft.Resources.Subscriptions'") || !strings.Contains(topic, "source: subscription().id") {
		t.Error("the system topic is not the subscription's Microsoft.Resources.Subscriptions topic")
	}

	// The function the subscriptions deliver to exists, with an Event Grid
	// trigger.
	main := readRepo(t, "deploy/azure/main.bicep")
	m := regexp.MustCompile(`param functionName string = '([^']+)'`).FindStringSubmatch(main)
	if m == nil {
		t.Fatal("main.bicep has no functionName parameter with a default")
	}
	var fn struct {
		Bindings []struct {
			Type, Direction string
		} `json:"bindings"`
	}
	if err := json.Unmarshal([]byte(readRepo(t, "functions/azure-detector/"+m[1]+"/function.json")), &fn); err != nil {
		t.Fatalf("function %s: %v", m[1], err)
	}
	if !slices.ContainsFunc(fn.Bindings, func(b struct{ Type, Direction string }) bool {
		return b.Type == "eventGridTrigger" && b.Direction == "in"
	}) {
		t.Errorf("function %s has no eventGridTrigger input binding: Event Grid would refuse the subscription", m[1])
	}
}

// TestEventGridFilterOnSamples evaluates the generated filters as Event
// Grid does (event type included, and data.operationName equal to a value,
// ignoring case) on the sample events: a watched, successful operation
// reaches exactly one subscription; anything else reaches none.
func TestEventGridFilterOnSamples(t *testing.T) {
	w := loadWatch(t)
	watched := map[string]bool{}
	for _, op := range catalog.Default().AzureOperations() {
		watched[strings.ToLower(op)] = true
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "azure", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events in events/azure (%v)", err)
	}
	delivered := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var events []map[string]json.RawMessage
		if err := json.Unmarshal(b, &events); err != nil {
			var one map[string]json.RawMessage
			if err := json.Unmarshal(b, &one); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			events = []map[string]json.RawMessage{one}
		}
		for _, ev := range events {
			var eventType string
			for _, k := range []string{"eventType", "type"} { // Event Grid schema, CloudEvents
				if raw, ok := ev[k]; ok {
					_ = json.Unmarshal(raw, &eventType)
				}
			}
			var data struct {
				OperationName string `json:"operationName"`
			}
			_ = json.Unmarshal(ev["data"], &data)
			matches := 0
			for _, s := range w.Subscriptions {
				if slices.Contains(s.IncludedEventTypes, eventType) &&
					slices.ContainsFunc(s.Operations, func(op string) bool { return strings.EqualFold(op, data.OperationName) }) {
					matches++
				}
			}
			want := 0
			if watched[strings.ToLower(data.OperationName)] && strings.HasSuffix(eventType, "Success") {
				want = 1
			}
			if matches != want {
				t.Errorf("%s: %s %s reaches %d subscriptions, want %d", filepath.Base(f), eventType, data.OperationName, matches, want)
			}
			delivered += matches
		}
	}
	if delivered == 0 {
		t.Error("no sample event reaches the function: the test would pass on an empty filter")
	}
}

// TestSubscriptionRolesBicep checks the role split: Reader always, write
// roles only with autoRevert on, and role-assignment deletion only with
// both switches.
func TestSubscriptionRolesBicep(t *testing.T) {
	src := readRepo(t, "deploy/azure/modules/subscription-roles.bicep")
	if !strings.Contains(src, "targetScope = 'subscription'") {
		t.Error("subscription-roles.bicep is not at subscription scope")
	}
	reader := bicepBlock(t, src, "readerRole")
	if strings.Contains(reader, "if (") || !strings.Contains(reader, "reader)") {
		t.Error("the Reader assignment must be unconditional and use the Reader role")
	}
	if !strings.Contains(src, "var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'") {
		t.Error("Reader role ID changed")
	}
	if w := bicepBlock(t, src, "revertRoles"); !strings.Contains(w, "if (autoRevert == 'on')") {
		t.Error("write roles are not conditional on autoRevert == 'on'")
	}
	rbac := bicepBlock(t, src, "roleAssignmentRevert")
	if !strings.Contains(rbac, "if (autoRevert == 'on' && revertRoleAssignments == 'on')") ||
		!strings.Contains(rbac, `ActionMatches{\'Microsoft.Authorization/roleAssignments/write\'}`) {
		t.Error("role-assignment deletion must need both switches and be conditioned against creating assignments")
	}
	main := readRepo(t, "deploy/azure/main.bicep")
	if !strings.Contains(main, "targetScope = 'subscription'") || !regexp.MustCompile(`param autoRevert string = 'off'`).MatchString(main) {
		t.Error("main.bicep must be at subscription scope with autoRevert off by default")
	}
}
