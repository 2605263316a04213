package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/driftwatch/driftwatch/internal/azuritetest"
	dwconfig "github.com/driftwatch/driftwatch/shared/config"
	fetchazure "github.com/driftwatch/driftwatch/shared/fetch/azure"
	"github.com/driftwatch/driftwatch/shared/fetch/azure/armtest"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
	"github.com/driftwatch/driftwatch/shared/slack/slackfake"
	"github.com/driftwatch/driftwatch/shared/state/table"
)

// The detector end to end, as the Functions host drives it: custom-handler
// invocations on the handler's routes, a fake ARM (armtest) serving
// resources in the shapes of the REST API spec examples, the findings table
// on Azurite, and a fake Slack.

const (
	e2eSub        = "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
	e2eRG         = "/subscriptions/" + e2eSub + "/resourceGroups/app-rg"
	e2eSlackToken = "xoxb-azure-e2e-51d7"
	e2eChannel    = "#azure-drift"
	// e2eIdentity is the Function App's managed identity (object ID): the
	// deployment's own principal.
	e2eIdentity = "d1d1d1d1-2222-4333-8444-555555555555"
	// e2eUser is who makes the changes.
	e2eUser = "a11ce000-1111-4222-8333-444444444444"

	storageVersion = "2023-05-01"
	nsgVersion     = "2023-09-01"
	blobRule       = "azure-storage-blob-public-access"
)

// azurite is the emulator this package's tests share; each deployment has
// its own table.
var azurite struct {
	once sync.Once
	srv  *azuritetest.Server
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if azurite.srv != nil {
		azurite.srv.Stop()
	}
	os.Exit(code)
}

func startAzurite(t *testing.T) *azuritetest.Server {
	t.Helper()
	azurite.once.Do(func() { azurite.srv, azurite.err = azuritetest.Launch() })
	if azurite.err != nil {
		t.Fatalf("start azurite: %v", azurite.err)
	}
	return azurite.srv
}

var tableSeq atomic.Int64

// deployment is one azure-detector: its pipeline behind its HTTP routes,
// with the fakes it talks to.
type deployment struct {
	t     *testing.T
	arm   *armtest.Server
	slack *slackfake.Server
	built *pipeline.Built
	store *table.Store
	http  *httptest.Server
}

// deploy builds the detector the way main does, from the app settings the
// Bicep sets (DRIFTWATCH_AUTO_REVERT among them) and a driftwatch.yaml,
// with only the endpoints pointed at the fakes: ARM at armtest, Slack at
// slackfake, the findings table at Azurite (shared-key auth, which Azurite
// speaks, instead of the managed identity).
func deploy(t *testing.T, autoRevert revert.Switch) *deployment {
	t.Helper()
	ctx := context.Background()
	az := startAzurite(t)
	d := &deployment{t: t, arm: armtest.Start(t), slack: slackfake.Start(t, e2eSlackToken)}

	cfgPath := filepath.Join(t.TempDir(), "driftwatch.yaml")
	cfgYAML := fmt.Sprintf(`
slack:
  mode: bot
  token: env:DW_AZ_E2E_SLACK_TOKEN
  routing:
    default: %q
`, e2eChannel)
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DW_AZ_E2E_SLACK_TOKEN", e2eSlackToken)
	tableName := fmt.Sprintf("findingse2e%d", tableSeq.Add(1))
	settings := map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": "0",
		"DRIFTWATCH_CONFIG":            cfgPath,
		"DRIFTWATCH_OWN_PRINCIPALS":    e2eIdentity,
		"DRIFTWATCH_AUTO_REVERT":       string(autoRevert),
		"DRIFTWATCH_AZURE_CREDENTIAL":  string(fetchazure.CredentialDefault),
		"DRIFTWATCH_TABLE_ENDPOINT":    strings.TrimSuffix(az.TableURL, "/"),
		"DRIFTWATCH_TABLE_NAME":        tableName,
		"DRIFTWATCH_WEBHOOK_SECRET":    "hook-secret",
	}
	env, err := loadEnv(func(k string) string { return settings[k] })
	if err != nil {
		t.Fatal(err)
	}
	opts, err := options(env, nil)
	if err != nil {
		t.Fatalf("options: %v", err)
	}
	if opts.Config.Store.Kind != dwconfig.StoreTable || opts.Config.Store.Table != tableName {
		t.Fatalf("store from the app settings = %+v, want table %s", opts.Config.Store, tableName)
	}
	if opts.RevertSwitch != autoRevert || !opts.Sinks.Slack {
		t.Fatalf("options: revert %q, sinks %+v", opts.RevertSwitch, opts.Sinks)
	}

	svc, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString(), &aztables.ClientOptions{
		ClientOptions: azcore.ClientOptions{Retry: azpolicy.RetryOptions{MaxRetries: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tc := svc.NewClient(tableName)
	if err := table.CreateTable(ctx, tc); err != nil {
		t.Fatal(err)
	}
	d.store = table.New(tc, table.Options{})

	opts.Azure, opts.ARM = &armtest.Credential{}, d.arm.ClientOptions()
	opts.SlackAPIURL = d.slack.APIURL()
	opts.Store = d.store
	d.built, err = pipeline.Build(ctx, opts)
	if err != nil {
		t.Fatalf("build pipeline: %v", err)
	}
	t.Cleanup(func() {
		if err := d.built.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	d.http = httptest.NewServer(routes(&eventgrid.Handler{Processor: d.built.Pipeline}, env.WebhookSecret, nil))
	t.Cleanup(d.http.Close)
	return d
}

// invocation is the custom-handler response.
type invocation struct {
	Status      int
	Outputs     map[string]any
	Logs        []string
	ReturnValue any
	raw         string
}

// invoke POSTs one Event Grid event to the DriftOnResourceEvent function
// as the Functions host does, and returns the handler's answer.
func (d *deployment) invoke(event []byte, invocationID string) (invocation, error) {
	body, err := json.Marshal(map[string]any{
		"Data": map[string]json.RawMessage{eventgrid.DefaultBinding: event},
		"Metadata": map[string]any{"sys": map[string]any{
			"MethodName": eventgrid.DefaultFunction, "UtcNow": "2026-11-28T10:15:04.1234567Z", "RandGuid": invocationID}},
	})
	if err != nil {
		return invocation{}, err
	}
	req, err := http.NewRequest(http.MethodPost, d.http.URL+"/"+eventgrid.DefaultFunction, bytes.NewReader(body))
	if err != nil {
		return invocation{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", invocationID)
	resp, err := d.http.Client().Do(req)
	if err != nil {
		return invocation{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return invocation{}, err
	}
	out := invocation{Status: resp.StatusCode, raw: string(raw)}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return out, fmt.Errorf("content type %q", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return out, fmt.Errorf("response %s: %w", raw, err)
	}
	return out, nil
}

// storageExample is the spec example of a storage account, made compliant
// with every storage rule: tests open one setting at a time.
func storageExample(t *testing.T, id string) map[string]any {
	t.Helper()
	return armtest.With(armtest.Example(t, "../../shared/fetch/azure/testdata/storage-account-get-networkacls-default-allow.json"),
		map[string]any{"id": id, "name": id[strings.LastIndex(id, "/")+1:], "properties": map[string]any{
			"allowBlobPublicAccess": false, "supportsHttpsTrafficOnly": true, "minimumTlsVersion": "TLS1_2",
			"networkAcls": map[string]any{"defaultAction": "Deny"}, "publicNetworkAccess": "Disabled",
			"allowSharedKeyAccess": false, "allowCrossTenantReplication": false,
		}})
}

// nsgExample is the spec example of an NSG with the given custom rules.
func nsgExample(t *testing.T, id string, rules ...map[string]any) map[string]any {
	t.Helper()
	list := make([]any, len(rules))
	for i, r := range rules {
		list[i] = r
	}
	body := armtest.With(armtest.Example(t, "../../shared/fetch/azure/testdata/network-security-group-get-port80-from-any-source.json"),
		map[string]any{"id": id, "name": id[strings.LastIndex(id, "/")+1:]})
	body["properties"].(map[string]any)["securityRules"] = list
	return body
}

// secRule is an NSG security rule as ARM returns it.
func secRule(nsg, name, proto, src, port string, prio int) map[string]any {
	return map[string]any{"name": name, "id": nsg + "/securityRules/" + name, "properties": map[string]any{
		"protocol": proto, "sourcePortRange": "*", "sourceAddressPrefix": src, "destinationPortRange": port,
		"destinationAddressPrefix": "*", "access": "Allow", "priority": prio, "direction": "Inbound", "provisioningState": "Succeeded"}}
}

// resourceEvent returns an Event Grid schema event for a successful ARM
// operation on target (the event's subject and resourceUri), made by
// e2eUser: the documented storage-account write sample with its
// placeholders filled in.
func resourceEvent(t *testing.T, eventID, operation, target string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../events/azure/docs-eventgrid-schema-resource-write-success-storage-account.json")
	if err != nil {
		t.Fatal(err)
	}
	var batch []map[string]any
	if err := json.Unmarshal(b, &batch); err != nil {
		t.Fatal(err)
	}
	ev := batch[0]
	provider := operation[:strings.Index(operation, "/")]
	ev["id"], ev["subject"], ev["topic"] = eventID, target, "/subscriptions/"+e2eSub
	ev["eventTime"] = "2026-11-28T10:15:03.1234567Z"
	data := ev["data"].(map[string]any)
	data["resourceUri"], data["operationName"], data["resourceProvider"] = target, operation, provider
	data["subscriptionId"], data["tenantId"] = e2eSub, "72f988bf-86f1-41af-91ab-2d7cd011db47"
	data["correlationId"] = "c0" + eventID[2:]
	auth := data["authorization"].(map[string]any)
	auth["scope"], auth["action"] = target, operation
	claims := data["claims"].(map[string]any)
	claims["http://schemas.microsoft.com/identity/claims/objectidentifier"] = e2eUser
	claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = "alice@example.com"
	claims["name"], claims["appid"], claims["ipaddr"] = "Alice", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "203.0.113.7"
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// findingOf returns the stored finding of rule on ref.
func (d *deployment) findingOf(ref resource.Ref, rule string) *finding.Finding {
	d.t.Helper()
	k, err := finding.KeyFor(policy.Verdict{RuleID: rule, Resource: ref}, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	f, err := d.store.Get(context.Background(), k)
	if err != nil {
		d.t.Fatalf("get finding %s: %v", k, err)
	}
	return f
}

// TestEndToEndStorageMadePublic: a storage account is made public; the
// Functions host invokes the handler with the write event; the detector
// re-reads the account through ARM, opens a finding, alerts Slack, reverts
// it (switch on, the rule in revert mode) with one PATCH, verifies by a
// re-read and resolves the finding, replacing the alert.
func TestEndToEndStorageMadePublic(t *testing.T) {
	d := deploy(t, revert.SwitchOn)
	id := e2eRG + "/providers/Microsoft.Storage/storageAccounts/dwe2epublic"
	ref := resource.Ref{Type: fetchazure.TypeStorageAccount, ID: id, Account: e2eSub}
	d.arm.Put(id, armtest.With(storageExample(t, id), map[string]any{"properties": map[string]any{"allowBlobPublicAccess": true}}))
	d.arm.AcceptOnly(id, storageVersion)

	// The event names the account in the lower-case resourcegroups form
	// ARM uses in events; ARM IDs are case-insensitive.
	subject := strings.Replace(id, "/resourceGroups/", "/resourcegroups/", 1)
	got, err := d.invoke(resourceEvent(t, "5e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "Microsoft.Storage/storageAccounts/write", subject), "inv-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != http.StatusOK || got.Outputs == nil || len(got.Outputs) != 0 || got.ReturnValue != nil ||
		len(got.Logs) != 1 || !strings.Contains(got.Logs[0], "1 change(s): 0 ignored, 1 checked, 1 verdict(s) not passing") {
		t.Fatalf("host got %d %s", got.Status, got.raw)
	}

	// ARM: read, one PATCH with exactly the property, then the re-read.
	var trace []string
	for _, r := range d.arm.Requests() {
		if !strings.EqualFold(r.Path, id) {
			t.Errorf("request outside the account: %s", r)
			continue
		}
		if r.APIVersion != storageVersion || r.Authorization != "Bearer "+armtest.Token {
			t.Errorf("%s: api-version %q, authorization %q", r, r.APIVersion, r.Authorization)
		}
		trace = append(trace, r.Method)
	}
	if want := []string{"GET", "PATCH", "GET"}; !slices.Equal(trace, want) {
		t.Errorf("ARM requests %v, want %v", trace, want)
	}
	writes := d.arm.Writes()
	if len(writes) != 1 {
		t.Fatalf("writes %v, want one PATCH", writes)
	}
	var body any
	if err := json.Unmarshal(writes[0].Body, &body); err != nil {
		t.Fatalf("PATCH body %s: %v", writes[0].Body, err)
	}
	if b, _ := json.Marshal(body); string(b) != `{"properties":{"allowBlobPublicAccess":false}}` {
		t.Errorf("PATCH body %s", b)
	}
	if v := d.arm.Get(id)["properties"].(map[string]any)["allowBlobPublicAccess"]; v != false {
		t.Errorf("account after the revert: allowBlobPublicAccess %v", v)
	}

	// The finding: opened, reverted by driftwatch, resolved by the re-read.
	f := d.findingOf(ref, blobRule)
	if f == nil {
		t.Fatal("no finding")
	}
	if f.Status != finding.StatusResolved {
		t.Errorf("finding status %s, want resolved", f.Status)
	}
	var reverted bool
	for _, a := range f.Actions {
		if a.Kind == finding.ActionRevert && a.By == pipeline.AutoRevertActor && strings.HasPrefix(a.Result, "reverted "+blobRule) {
			reverted = true
		}
	}
	if !reverted {
		t.Errorf("finding actions %+v: no automatic revert recorded", f.Actions)
	}

	// Slack: one alert for the finding, in the routed channel, replaced
	// by its resolved form; the revert noted in its thread.
	top := d.slack.TopLevel()
	if len(top) != 1 || f.SlackTS == "" || top[0].TS != f.SlackTS || top[0].Channel != slackfake.ChannelID(e2eChannel) {
		t.Fatalf("top-level Slack messages %+v, finding's %s/%s", top, f.SlackChannel, f.SlackTS)
	}
	posts := d.slack.RequestsTo("/api/chat.postMessage")
	if len(posts) == 0 || posts[0].Token != e2eSlackToken || posts[0].ThreadTS != "" ||
		!strings.Contains(posts[0].Text, "Storage account allows anonymous blob access") || !strings.Contains(string(posts[0].Blocks), id) {
		t.Errorf("%d posts; the first is not the alert naming %s", len(posts), id)
	}
	var resolved int
	for _, r := range d.slack.RequestsTo("/api/chat.update") {
		if r.Status == http.StatusOK && r.TS == f.SlackTS && strings.HasPrefix(r.Text, "✅ Resolved") {
			resolved++
		}
	}
	if resolved != 1 {
		t.Errorf("%d updates marked the alert resolved, want 1", resolved)
	}
	var noted bool
	for _, m := range d.slack.Thread(top[0].Channel, top[0].TS) {
		noted = noted || strings.Contains(string(m.Blocks)+m.Text, "allowBlobPublicAccess")
	}
	if !noted {
		t.Errorf("the revert is not noted in the alert's thread: %+v", d.slack.Thread(top[0].Channel, top[0].TS))
	}

	// The same event again (Event Grid redelivers): a duplicate, no
	// second alert, no second write.
	again, err := d.invoke(resourceEvent(t, "5e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "Microsoft.Storage/storageAccounts/write", subject), "inv-2")
	if err != nil || again.Status != http.StatusOK || !strings.Contains(again.raw, "1 ignored") {
		t.Errorf("redelivery: %v %d %s", err, again.Status, again.raw)
	}
	if n := len(d.arm.Writes()); n != 1 || len(d.slack.TopLevel()) != 1 {
		t.Errorf("after the redelivery: %d writes, %d alerts", n, len(d.slack.TopLevel()))
	}
}

// TestDuplicatesOutOfOrder: a batch of storage and NSG events over several
// resources, some failing, each delivered three times in a shuffled order
// by concurrent invocations: exactly one Slack alert per failing
// (resource, rule), every event marked seen, every invocation answered 200.
func TestDuplicatesOutOfOrder(t *testing.T) {
	d := deploy(t, revert.SwitchDryRun)
	ctx := context.Background()
	type res struct {
		ref  resource.Ref
		body map[string]any
		ops  []string // the operations of its events, each on the ID + suffix
	}
	storage := func(name string, patch map[string]any) res {
		id := e2eRG + "/providers/Microsoft.Storage/storageAccounts/" + name
		return res{ref: resource.Ref{Type: fetchazure.TypeStorageAccount, ID: id, Account: e2eSub},
			body: armtest.With(storageExample(t, id), map[string]any{"properties": patch}),
			ops:  []string{"Microsoft.Storage/storageAccounts/write", "Microsoft.Storage/storageAccounts/write"}}
	}
	nsg := func(name string, rules ...func(id string) map[string]any) res {
		id := e2eRG + "/providers/Microsoft.Network/networkSecurityGroups/" + name
		var rs []map[string]any
		for _, r := range rules {
			rs = append(rs, r(id))
		}
		return res{ref: resource.Ref{Type: fetchazure.TypeNetworkSecurityGroup, ID: id, Account: e2eSub}, body: nsgExample(t, id, rs...),
			ops: []string{"Microsoft.Network/networkSecurityGroups/write", "Microsoft.Network/networkSecurityGroups/securityRules/write"}}
	}
	rule := func(name, proto, src, port string, prio int) func(string) map[string]any {
		return func(id string) map[string]any { return secRule(id, name, proto, src, port, prio) }
	}
	resources := []res{
		storage("dwpublic1", map[string]any{"allowBlobPublicAccess": true}),
		storage("dwpublic2", map[string]any{"allowBlobPublicAccess": true, "minimumTlsVersion": "TLS1_0"}),
		storage("dwopennet", map[string]any{"networkAcls": map[string]any{"defaultAction": "Allow"}, "publicNetworkAccess": "Enabled"}),
		storage("dwclean", map[string]any{}),
		nsg("nsg-ssh", rule("allow-ssh", "Tcp", "Internet", "22", 100)),
		nsg("nsg-web", rule("allow-http", "Tcp", "*", "80", 130), rule("allow-rdp", "Tcp", "0.0.0.0/0", "3389", 140)),
		nsg("nsg-clean", rule("allow-https-vnet", "Tcp", "VirtualNetwork", "443", 100)),
	}

	var (
		events [][]byte
		ids    []string
	)
	for i, r := range resources {
		d.arm.Put(r.ref.ID, r.body)
		for j, op := range r.ops {
			target := r.ref.ID
			if strings.HasSuffix(op, "/securityRules/write") {
				target += "/securityRules/rule" + fmt.Sprint(j)
			}
			id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, j)
			ids = append(ids, id)
			events = append(events, resourceEvent(t, id, op, target))
		}
	}

	// The failing (resource, rule) pairs, as the pipeline's own reader
	// and rules judge the resources.
	want := map[finding.Key]bool{}
	var failingResources int
	for _, r := range resources {
		got, err := d.built.Detector.Reader.Read(ctx, r.ref)
		if err != nil {
			t.Fatalf("read %s: %v", r.ref.ID, err)
		}
		n := 0
		for _, v := range d.built.Engine.Evaluate(ctx, policy.Input{Resource: got}) {
			if v.Result == policy.Fail {
				k, err := finding.KeyFor(policy.Verdict{RuleID: v.RuleID, Resource: r.ref}, nil)
				if err != nil {
					t.Fatal(err)
				}
				want[k] = true
				n++
			}
		}
		if n > 0 {
			failingResources++
		}
	}
	if failingResources < 4 || len(want) < 6 {
		t.Fatalf("the batch should fail on several resources and rules: %d resources, %d findings", failingResources, len(want))
	}

	t.Logf("%d events over %d resources (%d failing, %d failing resource-rule pairs)", len(events), len(resources), failingResources, len(want))

	// Three copies of each event, shuffled, delivered by 8 workers.
	var deliveries [][]byte
	for range 3 {
		deliveries = append(deliveries, events...)
	}
	rand.New(rand.NewPCG(5, 11)).Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	work := make(chan int)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed []string
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				got, err := d.invoke(deliveries[i], fmt.Sprintf("inv-%d", i))
				if err != nil || got.Status != http.StatusOK {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("delivery %d: %v %d %s", i, err, got.Status, got.raw))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range deliveries {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, f := range failed {
		t.Error(f)
	}

	for _, id := range ids {
		seen, err := d.store.Seen(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !seen {
			t.Errorf("event %s lost: not marked seen", id)
		}
	}

	// One alert per failing (resource, rule): every open finding is a
	// wanted one with its own alert, and the channel holds exactly those.
	got := map[finding.Key]bool{}
	alerts := map[string]finding.Key{}
	for f, err := range d.store.List(ctx, finding.StatusOpen) {
		if err != nil {
			t.Fatal(err)
		}
		got[f.Key] = true
		if f.SlackTS == "" {
			t.Errorf("finding %s has no Slack alert", f.Key)
			continue
		}
		if other, dup := alerts[f.SlackTS]; dup {
			t.Errorf("findings %s and %s share alert %s", f.Key, other, f.SlackTS)
		}
		alerts[f.SlackTS] = f.Key
	}
	for k := range want {
		if !got[k] {
			t.Errorf("no open finding for %s", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("unexpected open finding %s", k)
		}
	}
	top := d.slack.TopLevel()
	if len(top) != len(want) {
		t.Errorf("%d Slack alerts, want %d (one per failing resource and rule)", len(top), len(want))
	}
	for _, m := range top {
		if _, ok := alerts[m.TS]; !ok {
			t.Errorf("alert %s (%q) belongs to no open finding", m.TS, m.Text)
		}
	}
	if n := len(d.slack.RequestsTo("/api/chat.postMessage")); n < len(want) {
		t.Errorf("%d posts for %d alerts", n, len(want))
	}
	// Dry run: nothing written to ARM.
	if w := d.arm.Writes(); len(w) != 0 {
		t.Errorf("dry run wrote to ARM: %v", w)
	}
}
