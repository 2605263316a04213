package change_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
)

// Event Grid delivers the same Azure resource event in two schemas; an
// event decodes alike in both, re-encoded, alone or in a batch.

// azureSchema says which schema the object data is in, as Decode tells
// them apart: "cloudevents" (specversion and type), "eventgrid" (eventType
// and one of data, subject, topic, dataVersion) or "".
func azureSchema(data []byte) (string, map[string]json.RawMessage) {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return "", nil
	}
	has := func(k string) bool { _, ok := m[k]; return ok }
	switch {
	case has("specversion") && has("type"):
		return "cloudevents", m
	case has("eventType") && (has("data") || has("subject") || has("topic") || has("dataVersion")):
		return "eventgrid", m
	}
	return "", m
}

// convertSchema returns the event m in the other schema: Event Grid's eventType,
// eventTime and topic become CloudEvents' type, time and source, or back.
func convertSchema(t *testing.T, m map[string]json.RawMessage, to string) []byte {
	t.Helper()
	out := map[string]json.RawMessage{}
	for k, v := range m {
		switch k {
		case "eventType", "eventTime", "topic", "specversion", "type", "time", "source":
		default:
			out[k] = v
		}
	}
	move := func(from, to string) {
		if v, ok := m[from]; ok {
			out[to] = v
		}
	}
	if to == "cloudevents" {
		out["specversion"] = json.RawMessage(`"1.0"`)
		move("eventType", "type")
		move("eventTime", "time")
		move("topic", "source")
	} else {
		move("type", "eventType")
		move("time", "eventTime")
		move("source", "topic")
		if _, ok := out["dataVersion"]; !ok {
			out["dataVersion"] = json.RawMessage(`""`)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatalf("marshal converted event: %v", err)
	}
	return b
}

// checkAzure checks the properties shared by both schemas for data, an
// event in schema `from`.
func checkAzure(t *testing.T, data []byte, from string) {
	c, ok := decodeOne(t, data)
	if !ok {
		return
	}
	schema, m := azureSchema(data)
	if c.Cloud != change.Azure || schema != from {
		return
	}
	if c.EventResources != nil && (len(c.EventResources) != 1 || c.EventResources[0].ARN == "") {
		t.Fatalf("event resources %+v, want one with an ID", c.EventResources)
	}
	if re := reencode(data); re != nil {
		got, ok := decodeOne(t, re)
		if !ok {
			t.Fatalf("re-encoded event does not decode: %s", re)
		}
		sameChange(t, "re-encoded event", &got, &c)
	}
	to := map[string]string{"eventgrid": "cloudevents", "cloudevents": "eventgrid"}[from]
	other := convertSchema(t, m, to)
	got, ok := decodeOne(t, other)
	if !ok {
		t.Fatalf("the event in the %s schema does not decode: %s", to, other)
	}
	sameChange(t, "the event in the "+to+" schema", &got, &c)

	// A batch (Event Grid's webhook delivery) holds the event as is.
	batch := append(append(append(append([]byte("["), data...), ",\n"...), other...), ']')
	changes, errs := decodeAll(t, batch)
	if len(changes) != 2 || len(errs) != 0 {
		t.Fatalf("a batch of the event in both schemas: %d changes, errors %v", len(changes), errs)
	}
	sameChange(t, "first event of a batch", &changes[0], &c)
	sameChange(t, "second event of a batch", &changes[1], &c)
}

func addAzureSeeds(f *testing.F, schema string) {
	for _, s := range fuzzSeeds(f, azureDir) {
		if got, _ := azureSchema(s); got == schema {
			f.Add(s)
		}
	}
}

// FuzzDecodeEventGrid decodes one event in the Event Grid schema.
func FuzzDecodeEventGrid(f *testing.F) {
	addAzureSeeds(f, "eventgrid")
	for _, s := range []string{
		`{"id":"1","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","data":{"validationCode":"x"},"dataVersion":"2"}`,
		`{"id":"1","eventType":"Microsoft.Resources.ResourceWriteFailure","subject":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/a","data":"{\"status\":\"Failed\"}"}`,
		`{"id":2,"eventType":"microsoft.resources.resourcedeletecancel","topic":"/subscriptions/t","data":{"claims":"{\"oid\":\"o\"}","authorization":{"action":"Microsoft.Sql/servers/delete","evidence":{"principalType":"User"}}}}`,
		`{"eventType":"Microsoft.Resources.ResourceActionSuccess","data":{"resourceUri":"/subscriptions/s/resourceGroups/g/providers/A.B/c/d/e/f","claims":{"roles":["a"],"appid":7}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkAzure(t, data, "eventgrid") })
}

// FuzzDecodeCloudEvents decodes one event in the CloudEvents 1.0 schema;
// data_base64 reads as data does.
func FuzzDecodeCloudEvents(f *testing.F) {
	addAzureSeeds(f, "cloudevents")
	for _, s := range []string{
		`{"specversion":"1.0","type":"Microsoft.Resources.ResourceWriteSuccess","source":"/subscriptions/s","id":"1","data_base64":"eyJvcGVyYXRpb25OYW1lIjoiQS5CL2Mvd3JpdGUifQ=="}`,
		`{"specversion":"1.0","type":"Microsoft.Resources.ResourceWriteSuccess","id":"1","data_base64":"!!"}`,
		`{"specversion":"1.0","type":"Microsoft.Storage.BlobCreated","id":"1","data":{}}`,
		`{"specversion":"1.0","type":"Microsoft.Resources.ResourceDeleteSuccess","subject":"/subscriptions/s/resourcegroups/g","time":"2024-01-01T00:00:00.1234567Z","data":{"httpRequest":"{\"clientIpAddress\":\"1.2.3.4\"}"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAzure(t, data, "cloudevents")
		c, ok := decodeOne(t, data)
		schema, m := azureSchema(data)
		if !ok || c.Cloud != change.Azure || schema != "cloudevents" {
			return
		}
		obj := bytes.TrimSpace(m["data"])
		if len(obj) == 0 || obj[0] != '{' {
			return
		}
		m["data_base64"] = json.RawMessage(`"` + base64.StdEncoding.EncodeToString(obj) + `"`)
		delete(m, "data")
		b64, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeOne(t, b64)
		if !ok {
			t.Fatalf("the event with data_base64 does not decode: %s", b64)
		}
		sameChange(t, "the event with data_base64", &got, &c)
	})
}
