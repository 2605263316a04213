package change_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
)

// The fuzz targets of this file check one input form each, with properties
// stronger than "no panic" (FuzzDecode, in fuzz_test.go, checks Decode on
// anything against encoding/json):
//
//   - every error is a *DecodeError naming the source and an offset inside
//     the input, wrapping one of the package's sentinel errors;
//   - what decodes decodes to the same normalised fields after a round
//     trip: re-encoded by encoding/json, re-wrapped in another envelope
//     (EventBridge, an SQS message, LookupEvents), or regrouped in another
//     container (log file, array, JSON Lines).
//
// `go test` runs the seeds (events/ and testdata/fuzz/<Target>/); `make
// fuzz` runs each target for FUZZTIME.

// fuzzSource names the input in fuzzed decodes.
const fuzzSource = "fuzz.json"

// normalised is every field Decode fills, in comparable form: the raw JSON
// fields as canonical JSON, the time as text.
type normalised struct {
	Cloud, EventID, Time                           string
	Account, Region, Service, Operation, EventType string
	ReadOnly                                       bool
	ErrorCode, ErrorMessage                        string
	Principal                                      change.Principal
	SourceIP, UserAgent, CorrelationID             string
	Request, Response                              string
	EventResources                                 []change.EventResource
}

func normalise(c *change.Change) normalised {
	n := normalised{
		Cloud: c.Cloud, EventID: c.EventID,
		Account: c.Account, Region: c.Region, Service: c.Service, Operation: c.Operation, EventType: c.EventType,
		ReadOnly: c.ReadOnly, ErrorCode: c.ErrorCode, ErrorMessage: c.ErrorMessage, Principal: c.Principal,
		SourceIP: c.SourceIP, UserAgent: c.UserAgent, CorrelationID: c.CorrelationID,
		Request: canonicalJSON(c.RequestJSON), Response: canonicalJSON(c.ResponseJSON),
	}
	if !c.Time.IsZero() {
		n.Time = c.Time.UTC().Format(time.RFC3339Nano)
	}
	if len(c.EventResources) > 0 {
		n.EventResources = c.EventResources
	}
	return n
}

// canonicalJSON returns raw as encoding/json reads and writes it (numbers
// kept as written, keys sorted, the last of duplicate keys), "" for none.
func canonicalJSON(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "invalid: " + string(raw)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return "unmarshalable: " + string(raw)
	}
	return string(out)
}

// reencode returns data as encoding/json reads and writes it, or nil when
// it is not one valid JSON value.
func reencode(data []byte) []byte {
	if !json.Valid(data) {
		return nil
	}
	out := canonicalJSON(data)
	if strings.HasPrefix(out, "invalid: ") || strings.HasPrefix(out, "unmarshalable: ") {
		return nil
	}
	return []byte(out)
}

// sentinels are the errors a DecodeError wraps.
var sentinels = []error{change.ErrSyntax, change.ErrEmpty, change.ErrNotCloudTrail, change.ErrBadField}

// checkDecodeError fails unless err is a *DecodeError that names src and an
// offset within data, wraps a sentinel error and says so in its message.
// single is set for DecodeRecord, whose errors have Index -1.
func checkDecodeError(t *testing.T, err error, src string, data []byte, single bool) *change.DecodeError {
	t.Helper()
	var de *change.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is a %T, not a *change.DecodeError", err, err)
	}
	if de.Source != src {
		t.Fatalf("error %v names source %q, want %q", err, de.Source, src)
	}
	if de.Offset < 0 || de.Offset > int64(len(data)) {
		t.Fatalf("error %v: offset %d outside the input (%d bytes)", err, de.Offset, len(data))
	}
	if single && de.Index != -1 {
		t.Fatalf("DecodeRecord error %v has index %d, want -1", err, de.Index)
	}
	if de.Index < -1 {
		t.Fatalf("error %v has index %d", err, de.Index)
	}
	wraps := false
	for _, s := range sentinels {
		wraps = wraps || errors.Is(err, s)
	}
	if !wraps {
		t.Fatalf("error %v wraps none of the package's errors (Err %v)", err, de.Err)
	}
	if want := src + ": offset " + strconv.FormatInt(de.Offset, 10); !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %q does not start with %q", err, want)
	}
	return de
}

// decodeOne decodes data with DecodeRecord, checking its error.
func decodeOne(t *testing.T, data []byte) (change.Change, bool) {
	t.Helper()
	c, err := change.DecodeRecord(fuzzSource, data)
	if err != nil {
		checkDecodeError(t, err, fuzzSource, data, true)
		return change.Change{}, false
	}
	if c.Cloud != change.AWS && c.Cloud != change.Azure {
		t.Fatalf("change of cloud %q", c.Cloud)
	}
	return c, true
}

// decodeAll decodes data with Decode, checking its errors and their
// indexes: each error's Index is -1 only when the input is that one item,
// else the item's position, increasing.
func decodeAll(t *testing.T, data []byte) ([]change.Change, []error) {
	t.Helper()
	changes, errs := change.Decode(fuzzSource, data)
	items := len(changes) + len(errs)
	last := -1
	for _, err := range errs {
		de := checkDecodeError(t, err, fuzzSource, data, false)
		switch {
		case de.Index == -1 && items != 1:
			t.Fatalf("error %v has index -1 in an input of %d items", err, items)
		case de.Index == -1:
		case de.Index <= last || de.Index >= items:
			t.Fatalf("error %v: index %d after %d, in an input of %d items", err, de.Index, last, items)
		default:
			last = de.Index
		}
	}
	return changes, errs
}

// sameChange fails unless got normalises to want.
func sameChange(t *testing.T, what string, got, want *change.Change) {
	t.Helper()
	g, w := normalise(got), normalise(want)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s decodes differently:\n got %+v\nwant %+v", what, g, w)
	}
}

// sameChanges fails unless got and want hold the same changes in order and
// as many errors.
func sameChanges(t *testing.T, what string, got []change.Change, gotErrs []error, want []change.Change, wantErrs []error) {
	t.Helper()
	if len(got) != len(want) || len(gotErrs) != len(wantErrs) {
		t.Fatalf("%s: %d changes and %d errors (%v), want %d and %d (%v)", what,
			len(got), len(gotErrs), gotErrs, len(want), len(wantErrs), wantErrs)
	}
	for i := range got {
		sameChange(t, fmt.Sprintf("%s: change %d", what, i), &got[i], &want[i])
	}
}

// jsonString returns s as a JSON string.
func jsonString(s []byte) []byte {
	out, _ := json.Marshal(string(s))
	return out
}

// ebEnvelope returns an EventBridge CloudTrail event around record, with the
// account and region of c (which, being what record decodes to, a record
// field always overrides or repeats).
func ebEnvelope(record []byte, account, region string) []byte {
	acct, _ := json.Marshal(account)
	reg, _ := json.Marshal(region)
	return fmt.Appendf(nil, `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718",`+
		`"detail-type":"AWS API Call via CloudTrail","source":"aws.fuzz","account":%s,`+
		`"time":"2024-01-01T00:00:00Z","region":%s,"resources":[],"detail":%s}`, acct, reg, record)
}

// trimmed is data without a UTF-8 BOM and surrounding white space.
func trimmed(data []byte) []byte {
	return bytes.TrimSpace(bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF}))
}

// fuzzSeeds returns the sample events: each file, and each item in it
// (array elements, log file records, envelope details), once.
func fuzzSeeds(f *testing.F, dirs ...string) [][]byte {
	f.Helper()
	var seeds [][]byte
	seen := map[string]bool{}
	add := func(b []byte) {
		if !seen[string(b)] {
			seen[string(b)] = true
			seeds = append(seeds, b)
		}
	}
	var items func(raw json.RawMessage)
	items = func(raw json.RawMessage) {
		raw = trimmed(raw)
		if len(raw) == 0 {
			return
		}
		switch raw[0] {
		case '[':
			var elems []json.RawMessage
			if json.Unmarshal(raw, &elems) == nil {
				for _, e := range elems {
					add(trimmed(e))
					items(e)
				}
			}
		case '{':
			var obj map[string]json.RawMessage
			if json.Unmarshal(raw, &obj) != nil {
				return
			}
			for _, key := range []string{"Records", "detail"} {
				if v, ok := obj[key]; ok {
					add(trimmed(v))
					items(v)
				}
			}
		}
	}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil || len(files) == 0 {
			f.Fatalf("no seed events in %s: %v", dir, err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			add(data)
			items(data)
		}
	}
	return seeds
}

// itemKind says what a JSON value is: "record", "envelope", "container" (log
// file or LookupEvents output), "array", "other".
func itemKind(data []byte) string {
	data = trimmed(data)
	if len(data) > 0 && data[0] == '[' {
		return "array"
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return "other"
	}
	has := func(k string) bool { _, ok := obj[k]; return ok }
	switch {
	case has("eventName") || has("eventSource"):
		return "record"
	case has("detail-type") || has("detail"):
		return "envelope"
	case has("Records") || has("Events"):
		return "container"
	}
	return "other"
}

// checkRewraps checks that the record c was decoded from (c.Raw) decodes
// alike in every envelope a record travels in: an EventBridge event (given
// c's account and region, which a record field overrides or repeats), an
// SQS message of a Lambda batch (its body a JSON string holding the record
// or the EventBridge event), and LookupEvents output (the record a JSON
// string). Bare, the record decodes as it does on its own.
func checkRewraps(t *testing.T, c *change.Change) {
	t.Helper()
	if c.Cloud != change.AWS {
		return
	}
	alone, ok := decodeOne(t, c.Raw)
	if !ok {
		t.Fatalf("the record %s does not decode on its own", c.Raw)
	}
	eb := ebEnvelope(c.Raw, c.Account, c.Region)
	got, ok := decodeOne(t, eb)
	if !ok {
		t.Fatalf("record in an EventBridge envelope does not decode: %s", eb)
	}
	sameChange(t, "record in an EventBridge envelope", &got, c)

	wrappers := []struct {
		name, format string
		want         *change.Change
	}{
		{"record in an SQS message", `{"Records":[{"messageId":"m-1","eventSource":"aws:sqs","awsRegion":"us-east-1","body":%[1]s}]}`, &alone},
		{"EventBridge event in an SQS message", `{"Records":[{"messageId":"m-1","eventSource":"aws:sqs","body":%[2]s}]}`, c},
		{"record in LookupEvents output", `{"Events":[{"EventId":"e-1","EventName":"X","CloudTrailEvent":%[1]s}]}`, &alone},
	}
	for _, w := range wrappers {
		data := fmt.Appendf(nil, w.format, jsonString(c.Raw), jsonString(eb))
		changes, errs := decodeAll(t, data)
		if len(changes) != 1 || len(errs) != 0 {
			t.Fatalf("%s: %d changes, errors %v", w.name, len(changes), errs)
		}
		sameChange(t, w.name, &changes[0], w.want)
	}
}

// FuzzDecodeCloudTrailRecord decodes one raw CloudTrail record (an SQS
// body, a LookupEvents CloudTrailEvent). What decodes decodes the same
// re-encoded and in each envelope; errors are *DecodeError.
func FuzzDecodeCloudTrailRecord(f *testing.F) {
	for _, s := range fuzzSeeds(f, eventsDir) {
		if itemKind(s) == "record" {
			f.Add(s)
		}
	}
	for _, s := range []string{
		`{"eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","recipientAccountId":123456789012,"awsRegion":null}`,
		`{"eventName":"GetX","eventSource":"s","readOnly":"FALSE","userIdentity":{"type":"Root","accountId":"1"}}`,
		`{"eventName":"A","eventSource":"s","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/s","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::1:role/p/R"}}}}`,
		`{"eventName":"A","eventSource":"s","resources":[{"ARN":"arn:x","accountId":"1","type":"AWS::S3::Bucket"}],"requestParameters":{"a":[1,2.50,"\u003c"]}}`,
		"\ufeff {\"eventName\":\"\\ud800\",\"eventSource\":\"s\",\"eventTime\":\"2024-02-29T23:59:59+01:00\"} ",
		`{"eventName":"A","eventSource":"aws:s3"}`,
		`{"eventName":{},"eventSource":"s"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ok := decodeOne(t, data)
		if !ok || c.Cloud != change.AWS {
			return
		}
		if !bytes.Equal(c.Raw, trimmed(data)) {
			return // an envelope: FuzzDecodeEventBridge
		}
		if re := reencode(data); re != nil {
			got, ok := decodeOne(t, re)
			if !ok {
				t.Fatalf("re-encoded record does not decode: %s", re)
			}
			sameChange(t, "re-encoded record", &got, &c)
		}
		checkRewraps(t, &c)
	})
}

// FuzzDecodeEventBridge decodes one EventBridge event. Only the CloudTrail
// detail-types decode; the record in detail decodes alike on its own
// (given the envelope's account and region) and re-encoded.
func FuzzDecodeEventBridge(f *testing.F) {
	for _, s := range fuzzSeeds(f, eventsDir) {
		switch itemKind(s) {
		case "envelope":
			f.Add(s)
		case "record":
			f.Add(ebEnvelope(s, "123456789012", "us-east-1"))
		}
	}
	for _, s := range []string{
		`{"detail-type":"AWS Console Sign In via CloudTrail","account":"1","region":"r","detail":{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com"}}`,
		`{"detail-type":"EC2 Instance State-change Notification","detail":{"instance-id":"i-1","state":"running"}}`,
		`{"detail-type":"AWS API Call via CloudTrail","detail":"{}"}`,
		`{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"A","eventSource":"s"},"detail":{"eventName":"B","eventSource":"s"}}`,
		`{"detail":{"eventName":"A","eventSource":"s"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ok := decodeOne(t, data)
		if !ok || c.Cloud != change.AWS || bytes.Equal(c.Raw, trimmed(data)) {
			return // not an envelope: FuzzDecodeCloudTrailRecord
		}
		var env struct {
			DetailType *string `json:"detail-type"`
		}
		if err := json.Unmarshal(data, &env); err != nil || env.DetailType == nil {
			t.Fatalf("decoded an envelope without a detail-type string (%v): %s", err, data)
		}
		switch *env.DetailType {
		case "AWS API Call via CloudTrail", "AWS Console Action via CloudTrail",
			"AWS Service Event via CloudTrail", "AWS Console Sign In via CloudTrail":
		default:
			t.Fatalf("decoded an EventBridge %q event", *env.DetailType)
		}
		if !bytes.Contains(data, c.Raw) {
			t.Fatalf("Raw %q is not part of the input", c.Raw)
		}
		if re := reencode(data); re != nil {
			got, ok := decodeOne(t, re)
			if !ok {
				t.Fatalf("re-encoded envelope does not decode: %s", re)
			}
			sameChange(t, "re-encoded envelope", &got, &c)
		}
		// The record alone lacks at most the envelope's account and region.
		alone, ok := decodeOne(t, c.Raw)
		if !ok {
			t.Fatalf("the detail %s does not decode on its own", c.Raw)
		}
		if alone.Account == c.Account && alone.Region == c.Region {
			sameChange(t, "the detail on its own", &alone, &c)
		} else {
			alone.Account, alone.Region, alone.Principal = c.Account, c.Region, c.Principal
			sameChange(t, "the detail on its own (but account, region and principal)", &alone, &c)
		}
		checkRewraps(t, &c)
	})
}

// FuzzDecodeLogFile decodes CloudTrail log files ({"Records": [...]}):
// every item yields one change or one error, errors in item order; the
// same records decode alike as a log file, a JSON array and JSON Lines,
// and each alike on its own.
func FuzzDecodeLogFile(f *testing.F) {
	for _, s := range fuzzSeeds(f, eventsDir) {
		switch itemKind(s) {
		case "container":
			f.Add(s)
		case "array":
			f.Add(append(append([]byte(`{"Records":`), s...), '}'))
		case "record":
			f.Add(append(append([]byte(`{"Records":[`), s...), "]}"...))
		}
	}
	for _, s := range []string{
		`{"Records":[]}`,
		`{"Records":[{"eventName":"A","eventSource":"s"},1,"x",null,{},[{"eventName":"B","eventSource":"s"}]]}`,
		`{"Records":[{"eventName":"A","eventSource":"s"}],"Records":[{"eventName":"B","eventSource":"s"}]}`,
		`{"Records":{"eventName":"A"}}`,
		"{\"Records\":[{\"eventName\":\"A\",\"eventSource\":\"s\"},\n{\"eventName\":\n",
		`{"Events":[{"CloudTrailEvent":"{\"eventName\":\"A\",\"eventSource\":\"s\"}"},{"CloudTrailEvent":"{"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		changes, errs := decodeAll(t, data)
		if itemKind(data) != "container" {
			return
		}
		var top map[string]json.RawMessage
		if json.Unmarshal(data, &top) != nil {
			return
		}
		if _, ok := top["CloudTrailEvent"]; ok {
			return // a LookupEvents event, not a container
		}
		if _, ok := top["Events"]; ok {
			return
		}
		var records []json.RawMessage
		if json.Unmarshal(top["Records"], &records) != nil {
			return // Records is not an array: one error, checked above
		}
		// Each record on its own.
		var want []change.Change
		var wantErrs []error
		for _, r := range records {
			cs, es := decodeAll(t, r)
			want = append(want, cs...)
			wantErrs = append(wantErrs, es...)
		}
		var logFile, array, lines bytes.Buffer
		logFile.WriteString(`{"Records":[`)
		array.WriteString(`[`)
		for i, r := range records {
			var compact bytes.Buffer
			if err := json.Compact(&compact, r); err != nil {
				t.Fatalf("compact record %d: %v", i, err)
			}
			if i > 0 {
				logFile.WriteByte(',')
				array.WriteByte(',')
				lines.WriteByte('\n')
			}
			logFile.Write(compact.Bytes())
			array.Write(compact.Bytes())
			lines.Write(compact.Bytes())
		}
		logFile.WriteString(`]}`)
		array.WriteString(`]`)
		for _, form := range []struct {
			name string
			data []byte
		}{{"log file", logFile.Bytes()}, {"JSON array", array.Bytes()}} {
			got, gotErrs := decodeAll(t, form.data)
			sameChanges(t, "records as a "+form.name, got, gotErrs, want, wantErrs)
		}
		if len(records) > 0 {
			got, gotErrs := decodeAll(t, lines.Bytes())
			sameChanges(t, "records as JSON Lines", got, gotErrs, want, wantErrs)
		}
		if uniqueKeys(data) {
			sameChanges(t, "the log file", changes, errs, want, wantErrs)
		}
	})
}

// uniqueKeys reports whether data is a JSON object whose keys are distinct
// (encoding/json keeps the last of duplicate keys; Decode reads a log
// file's records as it goes, so it decodes every Records array).
func uniqueKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, _ := tok.(string)
		if seen[key] {
			return false
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return true
}
