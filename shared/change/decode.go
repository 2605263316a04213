package change

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors a DecodeError wraps; test for them with errors.Is.
var (
	// ErrSyntax means the input is not valid JSON.
	ErrSyntax = errors.New("invalid JSON")
	// ErrEmpty means the input holds no JSON value at all.
	ErrEmpty = errors.New("empty input")
	// ErrNotCloudTrail means a well-formed JSON value is not a CloudTrail
	// record, an EventBridge CloudTrail event or a log file: for example an
	// EventBridge event of another detail-type. Callers usually skip these.
	ErrNotCloudTrail = errors.New("not a CloudTrail event")
	// ErrBadField means a CloudTrail record has a field of the wrong JSON
	// type (eventName an object, userIdentity a string...).
	ErrBadField = errors.New("malformed CloudTrail record field")
)

// DecodeError is one item of the input that could not be decoded.
type DecodeError struct {
	// Source names the input (a file name, "sqs:<message id>"...).
	Source string
	// Offset is the byte offset in the input of the offending value (the
	// item, the bad field's value, or the byte where the JSON breaks).
	Offset int64
	// Index is the item's position, from 0, in the sequence of items the
	// input holds: the values of a stream, the elements of an array and
	// the entries of a log file's Records, flattened in order. It is -1
	// when the input is a single item, or the error is not about an item.
	Index int
	// Expected says what the decoder was looking for; empty for JSON
	// syntax errors, which Err describes.
	Expected string
	// Found says what it found instead.
	Found string
	// Err is ErrSyntax, ErrEmpty, ErrNotCloudTrail or ErrBadField, possibly
	// wrapped with detail.
	Err error
}

// Error reads like
// `events/x.json: offset 1234 (item 3): expected ..., found ...`.
func (e *DecodeError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	b.WriteString("offset ")
	b.WriteString(strconv.FormatInt(e.Offset, 10))
	if e.Index >= 0 {
		b.WriteString(" (item ")
		b.WriteString(strconv.Itoa(e.Index))
		b.WriteString(")")
	}
	b.WriteString(": ")
	switch {
	case e.Expected != "":
		b.WriteString("expected ")
		b.WriteString(e.Expected)
		if e.Found != "" {
			b.WriteString(", found ")
			b.WriteString(e.Found)
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("cannot decode")
	}
	return b.String()
}

// Unwrap returns Err.
func (e *DecodeError) Unwrap() error { return e.Err }

// Texts shared by several errors.
const (
	expectItem = "a CloudTrail record (eventName, eventSource), an EventBridge event " +
		"(detail-type, detail) or a CloudTrail log file (Records)"
	expectCloudTrail = `a CloudTrail record or an EventBridge "AWS API Call via CloudTrail" event`
)

// cloudTrailDetailTypes are the EventBridge detail-types whose detail is a
// CloudTrail record. Decode accepts them all; the filter decides which
// matter.
var cloudTrailDetailTypes = map[string]bool{
	"AWS API Call via CloudTrail":        true,
	"AWS Console Action via CloudTrail":  true,
	"AWS Service Event via CloudTrail":   true,
	"AWS Console Sign In via CloudTrail": true,
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Decode decodes every CloudTrail record in data. data may hold, in any
// mix and nesting:
//
//   - a raw CloudTrail record;
//   - an EventBridge event whose detail-type is "AWS API Call via
//     CloudTrail" (or the console-action, service-event and sign-in
//     CloudTrail detail-types); its account and region fill in for a
//     record that lacks them;
//   - a CloudTrail log file, {"Records": [...]};
//   - a JSON array of any of these;
//   - several JSON values one after another (JSON Lines or concatenated);
//   - CloudTrail LookupEvents output ({"Events": [{"CloudTrailEvent":
//     "<record as a string>"}]}) and a Lambda SQS event whose message
//     bodies are EventBridge events or records.
//
// Decode returns the changes in input order and one *DecodeError per item
// it could not decode; a bad item never stops the others. After a JSON
// syntax error it resumes at the next line that starts with '{' or '['.
// Raw, RequestJSON and ResponseJSON of the changes share data's memory:
// do not modify data while the changes are in use.
func Decode(src string, data []byte) ([]Change, []error) {
	var (
		changes []Change
		errs    []error
	)
	d := decoder{src: src, data: data, yield: func(c *Change, err error) bool {
		if err != nil {
			errs = append(errs, err)
		} else {
			changes = append(changes, *c)
		}
		return true
	}}
	d.run()
	return changes, errs
}

// DecodeSeq is Decode as an iterator: it yields each change (err nil) or
// each *DecodeError (c nil) as soon as it is decoded, so a large log file
// never needs a slice of all its changes. Every yielded *Change is new.
func DecodeSeq(src string, data []byte) iter.Seq2[*Change, error] {
	return func(yield func(*Change, error) bool) {
		d := decoder{src: src, data: data, yield: yield}
		d.run()
	}
}

// DecodeRecord decodes exactly one CloudTrail record, or one EventBridge
// CloudTrail event, such as an SQS message body, an EventBridge target
// payload or a LookupEvents CloudTrailEvent string. Errors are
// *DecodeError with Index -1. Raw, RequestJSON and ResponseJSON share raw's
// memory.
func DecodeRecord(src string, raw []byte) (Change, error) {
	d := decoder{src: src, data: raw}
	c, err := d.single()
	if err != nil {
		err.Source = src
		err.Index = -1
		return Change{}, err
	}
	return *c, nil
}

// decoder holds the state of one Decode, DecodeSeq or DecodeRecord.
type decoder struct {
	src   string
	data  []byte
	yield func(*Change, error) bool
	n     int  // items reported so far: the next item's index
	first bool // the top-level value being read is the first one
	done  bool // yield asked to stop

	// win is a string copy of data[winStart:winStart+len(win)]; field
	// strings are cut from it, so that a record costs one string copy
	// rather than one allocation per field.
	win      string
	winStart int
}

// arenaWindow is how much of the input one string copy covers.
const arenaWindow = 32 << 10

// text returns data[start:end] as a string.
func (d *decoder) text(start, end int) string {
	if start < d.winStart || end > d.winStart+len(d.win) {
		if end-start > arenaWindow/4 {
			return string(d.data[start:end])
		}
		d.winStart = start
		d.win = string(d.data[start:min(start+arenaWindow, len(d.data))])
	}
	return d.win[start-d.winStart : end-d.winStart]
}

// strValue returns the contents of the scanned string token
// data[start:end] as encoding/json would decode it.
func (d *decoder) strValue(start, end int, flags uint8) string {
	if flags == 0 || (flags == strNonASCII && utf8.Valid(d.data[start+1:end-1])) {
		return d.text(start+1, end-1)
	}
	return string(unquote(d.data[start+1 : end-1]))
}

func (d *decoder) emit(c *Change) {
	d.n++
	if !d.yield(c, nil) {
		d.done = true
	}
}

func (d *decoder) fail(e *DecodeError, index int) {
	e.Source = d.src
	e.Index = index
	d.n++
	if !d.yield(nil, e) {
		d.done = true
	}
}

// index returns the Index of an item that ends at end: -1 when it is the
// whole input, else the next position.
func (d *decoder) index(top bool, end int) int {
	if top && d.first && skipSpace(d.data, end) == len(d.data) {
		return -1
	}
	return d.n
}

func syntaxErr(e *syntaxError) *DecodeError {
	return &DecodeError{Offset: int64(e.off), Err: fmt.Errorf("%w: %s", ErrSyntax, e.msg)}
}

// run decodes the whole input, a stream of top-level values.
func (d *decoder) run() {
	data := d.data
	i := 0
	if bytes.HasPrefix(data, utf8BOM) {
		i = len(utf8BOM)
	}
	i = skipSpace(data, i)
	if i == len(data) {
		d.fail(&DecodeError{Offset: int64(i), Expected: expectItem, Found: "no JSON value", Err: ErrEmpty}, -1)
		return
	}
	d.first = true
	for i < len(data) && !d.done {
		end, serr := d.value(i, 0, true)
		if serr != nil {
			next := resync(data, i, serr.off)
			index := d.n
			if d.first && d.n == 0 && next < 0 {
				index = -1
			}
			d.fail(syntaxErr(serr), index)
			if next < 0 {
				return
			}
			end = next
		}
		d.first = false
		i = skipSpace(data, end)
	}
}

// resync returns where to resume after a syntax error at off in the value
// that started at start: the next line that starts with '{' or '[', or -1.
func resync(d []byte, start, off int) int {
	if off > start && off < len(d) && off > 0 && d[off-1] == '\n' && (d[off] == '{' || d[off] == '[') {
		return off
	}
	for off < len(d) {
		j := bytes.IndexByte(d[off:], '\n')
		if j < 0 {
			return -1
		}
		off += j + 1
		if off < len(d) && (d[off] == '{' || d[off] == '[') {
			return off
		}
	}
	return -1
}

// value decodes the item (or container of items) at d.data[i].
func (d *decoder) value(i, depth int, top bool) (int, *syntaxError) {
	switch d.data[i] {
	case '{':
		return d.object(i, depth, top)
	case '[':
		return d.array(i, depth)
	}
	end, serr := skipValue(d.data, i, depth)
	if serr != nil {
		return 0, serr
	}
	d.fail(&DecodeError{Offset: int64(i), Expected: expectItem, Found: kindOf(d.data[i]), Err: ErrNotCloudTrail},
		d.index(top, end))
	return end, nil
}

// array decodes each element of the array at d.data[i] as an item.
func (d *decoder) array(i, depth int) (int, *syntaxError) {
	if depth >= maxDepth {
		return 0, errAt(i, "exceeded max nesting depth")
	}
	r := arrayReader{d: d.data, i: i + 1}
	for {
		ok, serr := r.next()
		if serr != nil || !ok {
			return r.i, serr
		}
		end, serr := d.value(r.i, depth+1, false)
		if serr != nil {
			return 0, serr
		}
		r.i = end
		if d.done {
			return r.i, nil
		}
	}
}

// object decodes the object at d.data[i] as an item: a record, an
// envelope, a wrapper (SQS message, LookupEvents event) or a container
// (log file, LookupEvents output) whose items it decodes in turn.
func (d *decoder) object(i, depth int, top bool) (int, *syntaxError) {
	ob, serr := d.scanObject(i, depth, true)
	if serr != nil {
		return 0, serr
	}
	if d.done {
		return ob.end, nil
	}
	var (
		c    *Change
		derr *DecodeError
	)
	switch {
	case ob.body >= 0 && ob.c.Service == "aws:sqs":
		c, derr = d.wrapped(ob.body, "body")
	case ob.ctEvent >= 0 && !ob.hasName && !ob.hasSource:
		c, derr = d.wrapped(ob.ctEvent, "CloudTrailEvent")
	case ob.records && !ob.hasName && !ob.hasSource && !ob.isEnvelope():
		if ob.recordsErr == nil {
			return ob.end, nil // its items are already decoded
		}
		derr = ob.recordsErr
	default:
		c, derr = d.classify(ob, depth)
	}
	if derr != nil {
		d.fail(derr, d.index(top, ob.end))
	} else {
		d.emit(c)
	}
	return ob.end, nil
}

// single decodes the one record or envelope that is the whole of d.data.
func (d *decoder) single() (*Change, *DecodeError) {
	data := d.data
	i := 0
	if bytes.HasPrefix(data, utf8BOM) {
		i = len(utf8BOM)
	}
	i = skipSpace(data, i)
	if i == len(data) {
		return nil, &DecodeError{Offset: int64(i), Expected: expectCloudTrail, Found: "no JSON value", Err: ErrEmpty}
	}
	if data[i] != '{' {
		if _, serr := skipValue(data, i, 0); serr != nil {
			return nil, syntaxErr(serr)
		}
		return nil, &DecodeError{Offset: int64(i), Expected: expectCloudTrail, Found: kindOf(data[i]), Err: ErrNotCloudTrail}
	}
	ob, serr := d.scanObject(i, 0, false)
	if serr != nil {
		return nil, syntaxErr(serr)
	}
	if j := skipSpace(data, ob.end); j < len(data) {
		return nil, &DecodeError{Offset: int64(j), Expected: "a single JSON value",
			Found: "more data after it (use Decode for streams)", Err: ErrSyntax}
	}
	return d.classify(ob, 0)
}

// classify turns a scanned object into a change when it is a record or a
// CloudTrail envelope.
func (d *decoder) classify(ob *object, depth int) (*Change, *DecodeError) {
	switch {
	case ob.hasName || ob.hasSource:
		if ob.badField != nil {
			return nil, ob.badField
		}
		if strings.HasPrefix(ob.c.Service, "aws:") {
			// Lambda-style event records (S3 notifications, SQS, SNS...)
			// also have eventSource and eventName, as "aws:s3".
			return nil, &DecodeError{Offset: int64(ob.start), Expected: expectCloudTrail,
				Found: "an " + strconv.Quote(ob.c.Service) + " event record", Err: ErrNotCloudTrail}
		}
		return ob.finish(d.data[ob.start:ob.end:ob.end], "", ""), nil
	case ob.isEnvelope():
		return d.envelope(ob, depth)
	case ob.records:
		return nil, &DecodeError{Offset: int64(ob.start), Expected: expectCloudTrail,
			Found: "a CloudTrail log file (Records; use Decode for several records)", Err: ErrNotCloudTrail}
	}
	if c, derr, ok := d.azure(ob); ok { // Event Grid and CloudEvents: azure.go
		return c, derr
	}
	return nil, &DecodeError{Offset: int64(ob.start), Expected: expectItem,
		Found: describeObject(d.data, ob.start), Err: ErrNotCloudTrail}
}

// envelope decodes the record in an EventBridge event's detail.
func (d *decoder) envelope(ob *object, depth int) (*Change, *DecodeError) {
	if !cloudTrailDetailTypes[ob.detailType] {
		found := "an EventBridge event without detail-type"
		if ob.hasDetailType {
			found = "an EventBridge " + strconv.Quote(ob.detailType) + " event"
		}
		return nil, &DecodeError{Offset: int64(ob.start), Expected: expectCloudTrail, Found: found, Err: ErrNotCloudTrail}
	}
	if ob.detail < 0 {
		return nil, &DecodeError{Offset: int64(ob.start), Expected: "a CloudTrail record in detail",
			Found: "no detail", Err: ErrNotCloudTrail}
	}
	if d.data[ob.detail] != '{' {
		return nil, &DecodeError{Offset: int64(ob.detail), Expected: "a CloudTrail record in detail",
			Found: kindOf(d.data[ob.detail]), Err: ErrNotCloudTrail}
	}
	rec, serr := d.scanObject(ob.detail, depth+1, false)
	if serr != nil { // cannot happen: the envelope was validated
		return nil, syntaxErr(serr)
	}
	if !rec.hasName && !rec.hasSource {
		return nil, &DecodeError{Offset: int64(rec.start), Expected: "a CloudTrail record (eventName, eventSource) in detail",
			Found: describeObject(d.data, rec.start), Err: ErrNotCloudTrail}
	}
	if rec.badField != nil {
		return nil, rec.badField
	}
	return rec.finish(d.data[rec.start:rec.end:rec.end], ob.envAccount, ob.envRegion), nil
}

// wrapped decodes the record or envelope held in the JSON string at
// d.data[off] (an SQS message body, a LookupEvents CloudTrailEvent).
func (d *decoder) wrapped(off int, key string) (*Change, *DecodeError) {
	end, flags, _ := scanString(d.data, off) // validated by scanObject
	inner := d.data[off+1 : end-1]
	if flags != 0 {
		inner = unquote(inner)
	}
	sub := decoder{src: d.src, data: inner}
	c, derr := sub.single()
	if derr != nil {
		// Offsets inside an unquoted string do not map onto the input:
		// point at the string and say where in it.
		inOff := derr.Offset
		derr.Offset = int64(off)
		if derr.Expected == "" {
			derr.Err = fmt.Errorf("in %s string at offset %d: %w", key, inOff, derr.Err)
		} else {
			derr.Expected += " in " + key
		}
		return nil, derr
	}
	return c, nil
}

// describeObject lists the first keys of the (valid) object at d[i].
func describeObject(d []byte, i int) string {
	r := objectReader{d: d, i: i + 1, depth: 1}
	var keys []string
	n := 0
	for {
		key, ok, err := r.next()
		if err != nil || !ok {
			break
		}
		if n < 5 {
			keys = append(keys, strconv.Quote(string(key)))
		}
		n++
		if r.skip() != nil {
			break
		}
	}
	switch {
	case n == 0:
		return "an empty object"
	case n > len(keys):
		return fmt.Sprintf("an object with keys %s and %d more", strings.Join(keys, ", "), n-len(keys))
	}
	return "an object with keys " + strings.Join(keys, ", ")
}

// object is what one pass over a JSON object learned: the record fields a
// Change keeps, and the keys that make it an envelope, a wrapper or a
// container.
type object struct {
	c          Change
	id         identity
	start, end int

	hasName, hasSource, hasReadOnly bool
	badField                        *DecodeError // first record field of the wrong type

	// EventBridge envelope.
	detailType            string
	hasDetailType         bool
	detail                int // offset of detail's value, -1 when absent
	envAccount, envRegion string

	// Wrappers and containers.
	ctEvent    int // offset of a CloudTrailEvent string, -1 when absent
	body       int // offset of a body string, -1 when absent
	records    bool
	recordsErr *DecodeError
}

func (ob *object) isEnvelope() bool { return ob.hasDetailType || ob.detail >= 0 }

func (ob *object) fieldErr(off int, expected, found string) {
	if ob.badField == nil {
		ob.badField = &DecodeError{Offset: int64(off), Expected: expected, Found: found, Err: ErrBadField}
	}
}

// finish completes the change of a record object.
func (ob *object) finish(raw []byte, envAccount, envRegion string) *Change {
	c := &ob.c
	c.Cloud = AWS
	c.Raw = raw
	// recipientAccountId is the account the call acted on; so is the
	// envelope's account. userIdentity.accountId is the caller's, which
	// differs for cross-account calls: the last resort.
	if c.Account == "" {
		c.Account = envAccount
	}
	if c.Account == "" {
		c.Account = ob.id.accountID
	}
	if c.Region == "" {
		c.Region = envRegion
	}
	if !ob.hasReadOnly {
		c.ReadOnly = inferReadOnly(c.Operation)
	}
	c.Principal = ob.id.principal(c.Account, c.Region)
	return c
}

// scanObject reads the object at d.data[i] in one pass. With items set,
// the arrays in Records and Events are decoded as items on the way.
func (d *decoder) scanObject(i, depth int, items bool) (*object, *syntaxError) {
	if depth >= maxDepth {
		return nil, errAt(i, "exceeded max nesting depth")
	}
	ob := &object{start: i, detail: -1, ctEvent: -1, body: -1}
	r := objectReader{d: d.data, i: i + 1, depth: depth + 1}
	c := &ob.c
	for {
		key, ok, serr := r.next()
		if serr != nil {
			return nil, serr
		}
		if !ok {
			break
		}
		switch string(key) {
		case "eventName":
			c.Operation, serr = d.str(&r, ob, "eventName")
			ob.hasName = true
		case "eventSource":
			c.Service, serr = d.str(&r, ob, "eventSource")
			ob.hasSource = true
		case "eventID":
			c.EventID, serr = d.str(&r, ob, "eventID")
		case "eventTime":
			serr = d.time(&r, ob)
		case "eventType":
			c.EventType, serr = d.str(&r, ob, "eventType")
		case "recipientAccountId":
			c.Account, serr = d.str(&r, ob, "recipientAccountId")
		case "awsRegion":
			c.Region, serr = d.str(&r, ob, "awsRegion")
		case "readOnly":
			serr = d.readOnly(&r, ob)
		case "errorCode":
			c.ErrorCode, serr = d.str(&r, ob, "errorCode")
		case "errorMessage":
			c.ErrorMessage, serr = d.str(&r, ob, "errorMessage")
		case "sourceIPAddress":
			c.SourceIP, serr = d.str(&r, ob, "sourceIPAddress")
		case "userAgent":
			c.UserAgent, serr = d.str(&r, ob, "userAgent")
		case "requestParameters":
			c.RequestJSON, serr = d.raw(&r)
		case "responseElements":
			c.ResponseJSON, serr = d.raw(&r)
		case "resources":
			serr = d.resources(&r, ob)
		case "userIdentity":
			serr = d.identity(&r, ob)

		case "detail-type":
			ob.detailType, serr = d.str(&r, ob, "detail-type")
			ob.hasDetailType = true
		case "detail":
			ob.detail = r.i
			serr = r.skip()
		case "account":
			ob.envAccount, serr = d.str(&r, ob, "account")
		case "region":
			ob.envRegion, serr = d.str(&r, ob, "region")

		case "Records", "Events":
			ob.records = true
			switch {
			case !items:
				serr = r.skip()
			case d.data[r.i] == '[':
				r.i, serr = d.array(r.i, r.depth)
			default:
				if ob.recordsErr == nil {
					ob.recordsErr = &DecodeError{Offset: int64(r.i), Expected: "an array in " + string(key),
						Found: kindOf(d.data[r.i]), Err: ErrNotCloudTrail}
				}
				serr = r.skip()
			}
		case "CloudTrailEvent", "body":
			if d.data[r.i] == '"' {
				if key[0] == 'b' {
					ob.body = r.i
				} else {
					ob.ctEvent = r.i
				}
			}
			serr = r.skip()
		default:
			serr = r.skip()
		}
		if serr != nil {
			return nil, serr
		}
		if d.done {
			break
		}
	}
	ob.end = r.i
	return ob, nil
}

// str reads a string field. null reads as "", and a number as its literal
// text (some redacted samples carry account IDs as numbers); anything else
// is a field error.
func (d *decoder) str(r *objectReader, ob *object, name string) (string, *syntaxError) {
	data, i := r.d, r.i
	switch c := data[i]; {
	case c == '"':
		end, flags, serr := scanString(data, i)
		if serr != nil {
			return "", serr
		}
		r.i = end
		return d.strValue(i, end, flags), nil
	case c == 'n':
		end, serr := scanLiteral(data, i, "null")
		r.i = end
		return "", serr
	case c == '-' || (c >= '0' && c <= '9'):
		end, serr := scanNumber(data, i)
		if serr != nil {
			return "", serr
		}
		r.i = end
		return d.text(i, end), nil
	}
	ob.fieldErr(i, "a string in "+name, kindOf(data[i]))
	return "", r.skip()
}

// raw reads a value as raw JSON; null reads as nil.
func (d *decoder) raw(r *objectReader) ([]byte, *syntaxError) {
	start := r.i
	if err := r.skip(); err != nil {
		return nil, err
	}
	if d.data[start] == 'n' {
		return nil, nil
	}
	return d.data[start:r.i:r.i], nil
}

// time reads eventTime. A string that is not an RFC 3339 time (redacted
// samples have "...") leaves Time zero rather than losing the change.
func (d *decoder) time(r *objectReader, ob *object) *syntaxError {
	ob.c.Time = time.Time{} // a repeated key replaces the earlier value
	s, serr := d.str(r, ob, "eventTime")
	if serr != nil || s == "" {
		return serr
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		ob.c.Time = t.UTC()
	}
	return nil
}

// readOnly reads the readOnly flag: a boolean, or the string "true" or
// "false" as LookupEvents and some exporters write it. null, or another
// string (a redacted "..."), counts as absent: the flag is then inferred.
func (d *decoder) readOnly(r *objectReader, ob *object) *syntaxError {
	data, i := r.d, r.i
	ob.c.ReadOnly, ob.hasReadOnly = false, false
	var serr *syntaxError
	switch data[i] {
	case 't':
		r.i, serr = scanLiteral(data, i, "true")
		ob.c.ReadOnly, ob.hasReadOnly = true, true
	case 'f':
		r.i, serr = scanLiteral(data, i, "false")
		ob.c.ReadOnly, ob.hasReadOnly = false, true
	case 'n':
		r.i, serr = scanLiteral(data, i, "null")
	case '"':
		var s string
		s, serr = d.str(r, ob, "readOnly")
		switch {
		case strings.EqualFold(s, "true"):
			ob.c.ReadOnly, ob.hasReadOnly = true, true
		case strings.EqualFold(s, "false"):
			ob.c.ReadOnly, ob.hasReadOnly = false, true
		}
	default:
		ob.fieldErr(i, "true or false in readOnly", kindOf(data[i]))
		serr = r.skip()
	}
	return serr
}

// resources reads CloudTrail's resources[] array.
func (d *decoder) resources(r *objectReader, ob *object) *syntaxError {
	data, i := r.d, r.i
	ob.c.EventResources = nil
	switch data[i] {
	case 'n':
		return r.skip()
	case '[':
	default:
		ob.fieldErr(i, "an array in resources", kindOf(data[i]))
		return r.skip()
	}
	if r.depth >= maxDepth {
		return errAt(i, "exceeded max nesting depth")
	}
	a := arrayReader{d: data, i: i + 1}
	for {
		ok, serr := a.next()
		if serr != nil {
			return serr
		}
		if !ok {
			break
		}
		if data[a.i] != '{' {
			ob.fieldErr(a.i, "an object in resources[]", kindOf(data[a.i]))
			if a.i, serr = skipValue(data, a.i, r.depth+1); serr != nil {
				return serr
			}
			continue
		}
		if r.depth+1 >= maxDepth {
			return errAt(a.i, "exceeded max nesting depth")
		}
		var res EventResource
		o := objectReader{d: data, i: a.i + 1, depth: r.depth + 2}
		for {
			key, ok, serr := o.next()
			if serr != nil {
				return serr
			}
			if !ok {
				break
			}
			switch string(key) {
			case "ARN":
				res.ARN, serr = d.str(&o, ob, "resources[].ARN")
			case "accountId":
				res.AccountID, serr = d.str(&o, ob, "resources[].accountId")
			case "type":
				res.Type, serr = d.str(&o, ob, "resources[].type")
			default:
				serr = o.skip()
			}
			if serr != nil {
				return serr
			}
		}
		a.i = o.i
		ob.c.EventResources = append(ob.c.EventResources, res)
	}
	r.i = a.i
	return nil
}

// identity reads userIdentity.
func (d *decoder) identity(r *objectReader, ob *object) *syntaxError {
	data, i := r.d, r.i
	ob.id = identity{}
	switch data[i] {
	case 'n':
		return r.skip()
	case '{':
	default:
		ob.fieldErr(i, "an object in userIdentity", kindOf(data[i]))
		return r.skip()
	}
	if r.depth >= maxDepth {
		return errAt(i, "exceeded max nesting depth")
	}
	id := &ob.id
	o := objectReader{d: data, i: i + 1, depth: r.depth + 1}
	for {
		key, ok, serr := o.next()
		if serr != nil {
			return serr
		}
		if !ok {
			break
		}
		switch string(key) {
		case "type":
			id.typ, serr = d.str(&o, ob, "userIdentity.type")
		case "principalId":
			id.principalID, serr = d.str(&o, ob, "userIdentity.principalId")
		case "arn":
			id.arn, serr = d.str(&o, ob, "userIdentity.arn")
		case "accountId":
			id.accountID, serr = d.str(&o, ob, "userIdentity.accountId")
		case "accessKeyId":
			id.accessKeyID, serr = d.str(&o, ob, "userIdentity.accessKeyId")
		case "userName":
			id.userName, serr = d.str(&o, ob, "userIdentity.userName")
		case "invokedBy":
			id.invokedBy, serr = d.str(&o, ob, "userIdentity.invokedBy")
		case "sessionContext":
			serr = d.sessionContext(&o, ob)
		default:
			serr = o.skip()
		}
		if serr != nil {
			return serr
		}
	}
	r.i = o.i
	return nil
}

// sessionContext reads userIdentity.sessionContext.sessionIssuer.
func (d *decoder) sessionContext(r *objectReader, ob *object) *syntaxError {
	data, i := r.d, r.i
	id := &ob.id
	id.issuerType, id.issuerARN, id.issuerName = "", "", ""
	if data[i] != '{' || r.depth >= maxDepth {
		return r.skip()
	}
	o := objectReader{d: data, i: i + 1, depth: r.depth + 1}
	for {
		key, ok, serr := o.next()
		if serr != nil {
			return serr
		}
		if !ok {
			break
		}
		if string(key) != "sessionIssuer" {
			if serr = o.skip(); serr != nil {
				return serr
			}
			continue
		}
		id.issuerType, id.issuerARN, id.issuerName = "", "", ""
		if data[o.i] != '{' || o.depth >= maxDepth {
			if serr = o.skip(); serr != nil {
				return serr
			}
			continue
		}
		s := objectReader{d: data, i: o.i + 1, depth: o.depth + 1}
		for {
			key, ok, serr := s.next()
			if serr != nil {
				return serr
			}
			if !ok {
				break
			}
			switch string(key) {
			case "type":
				id.issuerType, serr = d.str(&s, ob, "sessionIssuer.type")
			case "arn":
				id.issuerARN, serr = d.str(&s, ob, "sessionIssuer.arn")
			case "userName":
				id.issuerName, serr = d.str(&s, ob, "sessionIssuer.userName")
			default:
				serr = s.skip()
			}
			if serr != nil {
				return serr
			}
		}
		o.i = s.i
	}
	r.i = o.i
	return nil
}
