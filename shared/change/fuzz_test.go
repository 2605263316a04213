package change_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
)

// FuzzDecode checks Decode against encoding/json: it never panics, every
// error is a *DecodeError inside the input, valid JSON never yields a
// syntax error, and every change agrees with encoding/json's reading of
// its own Raw record.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed events in %s: %v", eventsDir, err)
	}
	azure, err := filepath.Glob(filepath.Join(azureDir, "*.json"))
	if err != nil || len(azure) == 0 {
		f.Fatalf("no seed events in %s: %v", azureDir, err)
	}
	files = append(files, azure...)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		``, `[]`, `{}`, `[[{"eventName":"A","eventSource":"s"}]]`, `{"Records":[1,"x",null]}`,
		`{"eventName":"\ud83d\ude00\ud800\u00e9","eventSource":"s","readOnly":"true","eventTime":"2024-01-01T00:00:00Z"}`,
		`{"eventName":"A","eventSource":"s","userIdentity":{"arn":"a"},"userIdentity":{"type":"Root"}}`,
		`{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"A","eventSource":"s"},"account":1}`,
		`{"Events":[{"CloudTrailEvent":"{\"eventName\":\"A\",\"eventSource\":\"s\"}"}]}`,
		"{\"eventName\":\"A\",\"eventSource\":\"s\"}\n{bad\n[1e5,-0.5E-3]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		valid := json.Valid(data)
		changes, errs := change.Decode("fuzz", data)
		for _, err := range errs {
			var de *change.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is %T", err, err)
			}
			if de.Offset < 0 || de.Offset > int64(len(data)) || de.Index < -1 || de.Source != "fuzz" || err.Error() == "" {
				t.Fatalf("bad error %#v", de)
			}
			if valid && errors.Is(err, change.ErrSyntax) && !strings.Contains(err.Error(), " string at offset ") {
				t.Fatalf("valid JSON, yet %v", err)
			}
		}
		for i := range changes {
			checkAgainstEncodingJSON(t, &changes[i])
		}

		// DecodeRecord and Decode agree on a lone record or envelope.
		c, err := change.DecodeRecord("fuzz", data)
		if err != nil {
			return
		}
		if bytes.Contains(data, []byte("Record")) || bytes.Contains(data, []byte("Event")) ||
			bytes.Contains(data, []byte(`\u`)) || c.Service == "aws:sqs" {
			return // containers and wrappers: Decode reads more into them
		}
		if len(changes) != 1 || len(errs) != 0 {
			t.Fatalf("DecodeRecord decoded %s; Decode: %d changes, errors %v", c.Operation, len(changes), errs)
		}
		if !reflect.DeepEqual(summarize(&c), summarize(&changes[0])) {
			t.Fatalf("DecodeRecord %+v, Decode %+v", summarize(&c), summarize(&changes[0]))
		}
	})
}

// checkAgainstEncodingJSON compares a change with encoding/json's reading of
// c.Raw.
func checkAgainstEncodingJSON(t *testing.T, c *change.Change) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(c.Raw))
	dec.UseNumber()
	var rec map[string]any
	if err := dec.Decode(&rec); err != nil {
		t.Fatalf("Raw %q is not a JSON object: %v", c.Raw, err)
	}
	if c.Cloud == change.Azure {
		checkAzureAgainstEncodingJSON(t, c, rec)
		return
	}
	text := func(v any) (string, bool) {
		switch v := v.(type) {
		case nil:
			return "", true
		case string:
			return v, true
		case json.Number:
			return v.String(), true
		}
		return "", false
	}
	for key, got := range map[string]string{
		"eventName": c.Operation, "eventSource": c.Service, "eventID": c.EventID, "eventType": c.EventType,
		"errorCode": c.ErrorCode, "errorMessage": c.ErrorMessage, "sourceIPAddress": c.SourceIP, "userAgent": c.UserAgent,
	} {
		if want, ok := text(rec[key]); ok && got != want {
			t.Fatalf("%s: got %q, encoding/json %q", key, got, want)
		}
	}
	for key, got := range map[string]string{"recipientAccountId": c.Account, "awsRegion": c.Region} {
		if want, ok := text(rec[key]); ok && want != "" && got != want {
			t.Fatalf("%s: got %q, encoding/json %q", key, got, want)
		}
	}
	if ro, ok := rec["readOnly"].(bool); ok && ro != c.ReadOnly {
		t.Fatalf("readOnly: got %v, encoding/json %v", c.ReadOnly, ro)
	}
	if id, ok := rec["userIdentity"].(map[string]any); ok {
		if want, ok := text(id["arn"]); ok && want != "" && c.Principal.ARN != want {
			t.Fatalf("userIdentity.arn: got %q, encoding/json %q", c.Principal.ARN, want)
		}
	}
	for key, raw := range map[string]json.RawMessage{"requestParameters": c.RequestJSON, "responseElements": c.ResponseJSON} {
		want, present := rec[key]
		if !present || want == nil {
			if len(raw) != 0 {
				t.Fatalf("%s: got %q for an absent or null value", key, raw)
			}
			continue
		}
		var got any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: raw %q decodes to %v (%v), encoding/json %v", key, raw, got, err, want)
		}
	}
}

// checkAzureAgainstEncodingJSON compares an Azure change with
// encoding/json's reading of its event.
func checkAzureAgainstEncodingJSON(t *testing.T, c *change.Change, ev map[string]any) {
	t.Helper()
	typeKey := "eventType"
	_, spec := ev["specversion"]
	if _, typ := ev["type"]; spec && typ {
		typeKey = "type"
	}
	if got, want := c.EventType, ev[typeKey]; got != want {
		t.Fatalf("%s: got %q, encoding/json %v", typeKey, got, want)
	}
	if id, ok := ev["id"].(string); ok && c.EventID != id {
		t.Fatalf("id: got %q, encoding/json %q", c.EventID, id)
	}
	data, ok := ev["data"].(map[string]any)
	if !ok {
		return // a string or data_base64: decoded from another form
	}
	for key, got := range map[string]string{"operationName": c.Operation, "correlationId": c.CorrelationID} {
		if want, ok := data[key].(string); ok && want != "" && got != want {
			t.Fatalf("data.%s: got %q, encoding/json %q", key, got, want)
		}
	}
	var got any
	dec := json.NewDecoder(bytes.NewReader(c.RequestJSON))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil || !reflect.DeepEqual(got, data) {
		t.Fatalf("RequestJSON %q decodes to %v (%v), encoding/json %v", c.RequestJSON, got, err, data)
	}
}
