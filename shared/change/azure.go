package change

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Azure resource events
//
// Decode and DecodeRecord also read Azure Resource Manager change events as
// Event Grid delivers them from a Microsoft.Resources.Subscriptions or
// Microsoft.Resources.ResourceGroups system topic, in either delivery
// schema, one event or an array of them:
//
//   - Event Grid schema: {"id", "topic", "subject", "eventType",
//     "eventTime", "data", "dataVersion", "metadataVersion"};
//   - CloudEvents 1.0: {"specversion", "id", "source", "subject", "type",
//     "time", "data"} (or "data_base64").
//
// Only the event types Microsoft.Resources.Resource{Write,Delete,Action}
// {Success,Failure,Cancel} are changes. Any other Event Grid event (a
// subscription validation, a blob event...) is a *DecodeError wrapping
// ErrNotCloudTrail, whose name predates Azure: callers skip both alike.
//
// An Azure event becomes a Change with Cloud "azure" and:
//
//   - EventID: id; Time: eventTime or time; EventType: the event type;
//   - Account: data.subscriptionId, else the subscription in the resource
//     ID or the topic; Region: "" (resource events carry no location);
//   - Service: data.resourceProvider (Microsoft.Storage), else the
//     namespace of the operation; Operation: data.operationName
//     (Microsoft.Storage/storageAccounts/write), else
//     data.authorization.action;
//   - ErrorCode: data.status when it is not "Succeeded" ("Failed",
//     "Canceled"), else "Failed" or "Canceled" for a Failure or Cancel
//     event type; ReadOnly is false (Event Grid reports no reads; list-keys
//     style actions are left to the catalog, which does not watch them);
//   - Principal: see AzurePrincipal;
//   - SourceIP: data.httpRequest.clientIpAddress (the address of the ARM
//     request), else the ipaddr claim (where the token was issued);
//   - CorrelationID: data.correlationId;
//   - EventResources: one entry for the resource the event is about
//     (data.resourceUri, else subject), its ARN the canonical ARM ID (see
//     AzureResourceID.String), its Type the ARM type and its AccountID the
//     subscription; absent when the ID does not parse;
//   - RequestJSON (Request): the event's data object, so that rules can
//     read authorization, claims and httpRequest; ResponseJSON is empty;
//   - Raw: the event as delivered.

// Azure principal types (Principal.Type of an Azure change).
const (
	// AzureUser is a user signed in to Microsoft Entra ID.
	AzureUser = "User"
	// AzureServicePrincipal is an application's service principal.
	AzureServicePrincipal = "ServicePrincipal"
	// AzureManagedIdentity is a managed identity (system- or user-assigned).
	AzureManagedIdentity = "ManagedIdentity"
)

// Event Grid event-type prefix of ARM resource events and their outcomes.
const (
	azureEventPrefix = "Microsoft.Resources.Resource"
	azureStatusOK    = "Succeeded"
)

// Claim names: JWT short names and the SAML-style URIs ARM puts in events.
const (
	claimOID      = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	claimTenant   = "http://schemas.microsoft.com/identity/claims/tenantid"
	claimScope    = "http://schemas.microsoft.com/identity/claims/scope"
	claimUPN      = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
	claimUnique   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	claimRoles    = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	expectAzure   = "an Azure resource event (Microsoft.Resources.Resource{Write,Delete,Action}{Success,Failure,Cancel})"
	expectAzureID = "an ARM resource ID"
)

// azureEvent is both delivery schemas' envelope, every field as raw JSON so
// that a field of the wrong type is reported by name.
type azureEvent struct {
	// Both schemas.
	ID, Subject, Data json.RawMessage
	// Event Grid schema.
	Topic, EventType, EventTime, DataVersion json.RawMessage
	// CloudEvents 1.0.
	SpecVersion, Type, Source, Time, DataBase64 json.RawMessage
}

// azureData is the data of a Microsoft.Resources.Resource* event.
type azureData struct {
	Authorization    json.RawMessage `json:"authorization"`
	Claims           json.RawMessage `json:"claims"`
	CorrelationID    json.RawMessage `json:"correlationId"`
	HTTPRequest      json.RawMessage `json:"httpRequest"`
	ResourceProvider json.RawMessage `json:"resourceProvider"`
	ResourceURI      json.RawMessage `json:"resourceUri"`
	OperationName    json.RawMessage `json:"operationName"`
	Status           json.RawMessage `json:"status"`
	SubscriptionID   json.RawMessage `json:"subscriptionId"`
}

// azureAuthorization is data.authorization.
type azureAuthorization struct {
	Scope    json.RawMessage `json:"scope"`
	Action   json.RawMessage `json:"action"`
	Evidence json.RawMessage `json:"evidence"`
}

// azureEvidence is data.authorization.evidence.
type azureEvidence struct {
	PrincipalID   json.RawMessage `json:"principalId"`
	PrincipalType json.RawMessage `json:"principalType"`
}

// azureHTTPRequest is data.httpRequest.
type azureHTTPRequest struct {
	ClientIPAddress json.RawMessage `json:"clientIpAddress"`
}

// azureFields reads the top-level keys of an Azure event.
func azureFields(raw []byte) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	return m, true
}

// azure decodes ob when it is an Azure Event Grid or CloudEvents event. ok
// is false when it is neither, leaving the object to the caller's error.
func (d *decoder) azure(ob *object) (c *Change, derr *DecodeError, ok bool) {
	raw := d.data[ob.start:ob.end:ob.end]
	m, valid := azureFields(raw)
	if !valid {
		return nil, nil, false
	}
	ev := azureEvent{
		ID: m["id"], Subject: m["subject"], Data: m["data"],
		Topic: m["topic"], EventType: m["eventType"], EventTime: m["eventTime"], DataVersion: m["dataVersion"],
		SpecVersion: m["specversion"], Type: m["type"], Source: m["source"], Time: m["time"], DataBase64: m["data_base64"],
	}
	cloudEvent := ev.SpecVersion != nil && ev.Type != nil
	eventGrid := ev.EventType != nil && (ev.Data != nil || ev.Subject != nil || ev.Topic != nil || ev.DataVersion != nil)
	if !cloudEvent && !eventGrid {
		return nil, nil, false
	}
	c, derr = decodeAzure(raw, &ev, cloudEvent)
	if derr != nil {
		derr.Offset += int64(ob.start)
	}
	return c, derr, true
}

// decodeAzure builds the change of one Azure event. Error offsets are
// relative to raw.
func decodeAzure(raw []byte, ev *azureEvent, cloudEvent bool) (*Change, *DecodeError) {
	var f fieldReader
	schema, typeField, timeField, topicField := "Event Grid", "eventType", "eventTime", "topic"
	typeRaw, timeRaw, topicRaw := ev.EventType, ev.EventTime, ev.Topic
	if cloudEvent {
		schema, typeField, timeField, topicField = "CloudEvents", "type", "time", "source"
		typeRaw, timeRaw, topicRaw = ev.Type, ev.Time, ev.Source
	}
	eventType := f.str(typeRaw, typeField)
	if f.err != nil {
		return nil, f.err
	}
	outcome, isResource := azureOutcome(eventType)
	if !isResource {
		return nil, &DecodeError{Expected: expectAzure,
			Found: "a " + schema + " " + strconv.Quote(eventType) + " event", Err: ErrNotCloudTrail}
	}
	c := &Change{Cloud: Azure, EventType: eventType, Raw: raw}
	c.EventID = f.str(ev.ID, "id")
	c.Time = parseTime(f.str(timeRaw, timeField))
	subject := f.str(ev.Subject, "subject")
	topic := f.str(topicRaw, topicField)

	data, dataErr := azureDataObject(ev)
	if dataErr != nil {
		return nil, dataErr
	}
	var dt azureData
	if data != nil {
		if err := json.Unmarshal(data, &dt); err != nil {
			return nil, &DecodeError{Expected: "an object in data", Found: "a malformed object", Err: ErrBadField}
		}
		c.RequestJSON = data
	}
	c.Operation = f.str(dt.OperationName, "data.operationName")
	c.Service = f.str(dt.ResourceProvider, "data.resourceProvider")
	c.Account = f.str(dt.SubscriptionID, "data.subscriptionId")
	c.CorrelationID = f.str(dt.CorrelationID, "data.correlationId")
	status := f.str(dt.Status, "data.status")
	resourceURI := f.str(dt.ResourceURI, "data.resourceUri")

	var auth azureAuthorization
	f.object(dt.Authorization, "data.authorization", &auth)
	if c.Operation == "" {
		c.Operation = f.str(auth.Action, "data.authorization.action")
	}
	var evidence azureEvidence
	f.object(auth.Evidence, "data.authorization.evidence", &evidence)
	var req azureHTTPRequest
	f.object(dt.HTTPRequest, "data.httpRequest", &req)
	c.SourceIP = f.str(req.ClientIPAddress, "data.httpRequest.clientIpAddress")
	claims := f.claims(dt.Claims)
	if f.err != nil {
		return nil, f.err
	}

	switch {
	case status != "" && !strings.EqualFold(status, azureStatusOK):
		c.ErrorCode = status
	case outcome != "":
		c.ErrorCode = outcome
	}
	if c.SourceIP == "" {
		c.SourceIP = claims["ipaddr"]
	}

	id, idErr := ParseAzureResourceID(resourceURI)
	if idErr != nil {
		id, idErr = ParseAzureResourceID(subject)
	}
	if idErr == nil {
		c.EventResources = []EventResource{{ARN: id.String(), AccountID: id.Subscription, Type: id.Type()}}
	}
	if c.Account == "" {
		c.Account = id.Subscription
	}
	if c.Account == "" {
		if t, err := ParseAzureResourceID(topic); err == nil {
			c.Account = t.Subscription
		}
	}
	if c.Service == "" {
		if ns, _, ok := strings.Cut(c.Operation, "/"); ok {
			c.Service = ns
		} else {
			c.Service = id.Namespace
		}
	}
	c.Principal = AzurePrincipal(claims, string(unquoteRaw(evidence.PrincipalID)), string(unquoteRaw(evidence.PrincipalType)))
	return c, nil
}

// azureOutcome says whether t is an ARM resource event type and, for a
// Failure or Cancel event, the error code it implies.
func azureOutcome(t string) (errorCode string, ok bool) {
	if len(t) < len(azureEventPrefix) || !strings.EqualFold(t[:len(azureEventPrefix)], azureEventPrefix) {
		return "", false
	}
	rest := strings.ToLower(t[len(azureEventPrefix):])
	for _, verb := range []string{"write", "delete", "action"} {
		if after, found := strings.CutPrefix(rest, verb); found {
			switch after {
			case "success":
				return "", true
			case "failure":
				return "Failed", true
			case "cancel":
				return "Canceled", true
			}
		}
	}
	return "", false
}

// azureDataObject returns the event's data as a JSON object: data itself,
// a JSON string holding the object, or CloudEvents data_base64. nil when
// the event has none.
func azureDataObject(ev *azureEvent) ([]byte, *DecodeError) {
	data := bytes.TrimSpace(ev.Data)
	switch {
	case len(data) == 0 || string(data) == "null":
		if len(ev.DataBase64) == 0 {
			return nil, nil
		}
		var s string
		if json.Unmarshal(ev.DataBase64, &s) != nil {
			return nil, &DecodeError{Expected: "a base64 string in data_base64", Found: kindOf(ev.DataBase64[0]), Err: ErrBadField}
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, &DecodeError{Expected: "base64 in data_base64", Found: "invalid base64", Err: ErrBadField}
		}
		data = bytes.TrimSpace(b)
	case data[0] == '"':
		var s string
		if json.Unmarshal(data, &s) != nil {
			return nil, &DecodeError{Expected: "an object in data", Found: "a malformed string", Err: ErrBadField}
		}
		data = bytes.TrimSpace([]byte(s))
	}
	if len(data) == 0 || data[0] != '{' || !json.Valid(data) {
		found := "invalid JSON"
		if len(data) > 0 && json.Valid(data) {
			found = kindOf(data[0])
		}
		return nil, &DecodeError{Expected: "an object in data", Found: found, Err: ErrBadField}
	}
	return data, nil
}

// fieldReader reads optional fields, keeping the first field error.
type fieldReader struct{ err *DecodeError }

// str reads a string field: a string, null or absent ("") or a number (its
// literal text). Anything else is a field error.
func (f *fieldReader) str(raw json.RawMessage, name string) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case 'n':
		return ""
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw)
	}
	f.fail(name, "a string", raw)
	return ""
}

// object reads an object field into v. An object serialised as a JSON
// string (older Event Grid payloads did so) is read too.
func (f *fieldReader) object(raw json.RawMessage, name string, v any) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			f.fail(name, "an object", raw)
			return
		}
		s = strings.TrimSpace(s)
		if s == "" || s[0] != '{' {
			return // free text: nothing to read
		}
		raw = json.RawMessage(s)
	}
	if raw[0] != '{' || json.Unmarshal(raw, v) != nil {
		f.fail(name, "an object", raw)
	}
}

// claims reads data.claims into a map of strings. Values that are not
// strings (a list of roles) are kept as their JSON text.
func (f *fieldReader) claims(raw json.RawMessage) map[string]string {
	var m map[string]json.RawMessage
	f.object(raw, "data.claims", &m)
	out := make(map[string]string, len(m))
	for k, v := range m {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || v[0] == 'n':
		case v[0] == '"':
			var s string
			if json.Unmarshal(v, &s) == nil {
				out[k] = s
			}
		default:
			out[k] = string(v)
		}
	}
	return out
}

func (f *fieldReader) fail(name, expected string, raw []byte) {
	if f.err == nil {
		f.err = &DecodeError{Expected: expected + " in " + name, Found: kindOf(raw[0]), Err: ErrBadField}
	}
}

// unquoteRaw returns a JSON string's contents, or nil for anything else.
func unquoteRaw(raw json.RawMessage) []byte {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return []byte(s)
}

// parseTime reads an RFC 3339 time (any number of fractional digits); the
// zero time when s is empty or does not parse.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// AzurePrincipal builds the Principal of an Azure change from the caller's
// token claims (as ARM puts them in data.claims, under either their short
// JWT names or their SAML-style URIs) and, when present, the role
// assignment evidence (authorization.evidence.principalId and
// principalType). It fills:
//
//   - ARN and ID: the object ID (oid claim), else evidence.principalId;
//   - Account: the caller's tenant (tid claim);
//   - AppID: the client (application) ID, appid or azp;
//   - Name: the UPN, else the unique name, else the display name, else
//     the managed identity's resource name;
//   - IssuerARN: the managed identity's resource ID (xms_mirid claim) and
//     IssuerType its ARM type (Microsoft.ManagedIdentity/
//     userAssignedIdentities, or the resource of a system-assigned one);
//   - Type: AzureManagedIdentity when xms_mirid is present; else the idtyp
//     claim (user, app); else AzureUser when the token names a user (upn,
//     unique name, puid) or was delegated (a scope claim); else the
//     evidence's principalType when it is User or ServicePrincipal; else
//     AzureServicePrincipal for an app token (appid without a scope); else
//     "".
func AzurePrincipal(claims map[string]string, evidenceID, evidenceType string) Principal {
	get := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(claims[n]); v != "" {
				return v
			}
		}
		return ""
	}
	p := Principal{
		ARN:     get(claimOID, "oid"),
		Account: get(claimTenant, "tid"),
		AppID:   get("appid", "azp"),
	}
	if p.ARN == "" {
		p.ARN = evidenceID
	}
	p.ID = p.ARN
	upn := get(claimUPN, "upn")
	unique := get(claimUnique, "unique_name")
	p.Name = upn
	if p.Name == "" {
		p.Name = unique
	}
	if p.Name == "" {
		p.Name = get("name")
	}
	if mirid := get("xms_mirid"); mirid != "" {
		p.IssuerARN = mirid
		if id, err := ParseAzureResourceID(mirid); err == nil {
			p.IssuerARN = id.String()
			p.IssuerType = id.Type()
			if p.Name == "" && len(id.Names) > 0 {
				p.Name = id.Names[len(id.Names)-1]
			}
		}
	}
	delegated := get(claimScope, "scp") != ""
	switch idtyp := strings.ToLower(get("idtyp")); {
	case p.IssuerARN != "":
		p.Type = AzureManagedIdentity
	case idtyp == "app":
		p.Type = AzureServicePrincipal
	case idtyp == "user":
		p.Type = AzureUser
	case upn != "" || unique != "" || get("puid") != "" || delegated:
		p.Type = AzureUser
	case strings.EqualFold(evidenceType, AzureUser):
		p.Type = AzureUser
	case strings.EqualFold(evidenceType, AzureServicePrincipal):
		p.Type = AzureServicePrincipal
	case p.AppID != "" && (get(claimRoles, "roles") != "" || p.ARN != ""):
		p.Type = AzureServicePrincipal
	}
	return p
}

// AzureResourceID is an Azure Resource Manager resource ID taken apart:
//
//	/subscriptions/{Subscription}/resourceGroups/{ResourceGroup}/providers/{Namespace}/{Types[0]}/{Names[0]}/{Types[1]}/{Names[1]}...
//
// An extension resource (a role assignment, a diagnostic setting) lives at
// the scope of another ID: {Scope}/providers/{Namespace}/{Types[0]}/{Names[0]}.
// Subscription and resource group IDs parse as the types
// Microsoft.Resources/subscriptions and Microsoft.Resources/resourceGroups.
type AzureResourceID struct {
	// Scope is the canonical ID an extension resource is attached to, ""
	// for a plain resource.
	Scope string
	// Subscription and ResourceGroup are the ones the ID names, outermost
	// first ("" when it names none, as a management group does).
	Subscription, ResourceGroup string
	// Namespace is the resource provider (Microsoft.Storage).
	Namespace string
	// Types and Names are the type and name segments after the namespace,
	// as many of each.
	Types, Names []string
}

// ErrAzureID is the error ParseAzureResourceID wraps.
var ErrAzureID = errors.New("not an ARM resource ID")

// ParseAzureResourceID parses an ARM resource ID. The keywords
// (subscriptions, resourceGroups, providers) match in any case, as ARM
// treats IDs case-insensitively and events differ (resourcegroups vs
// resourceGroups); names keep the case they have. A trailing '/' is
// ignored.
func ParseAzureResourceID(s string) (AzureResourceID, error) {
	var id AzureResourceID
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "/") {
		return id, fmt.Errorf("%w: %q does not start with /", ErrAzureID, s)
	}
	segs := strings.Split(strings.Trim(s, "/"), "/")
	for _, seg := range segs {
		if seg == "" {
			return id, fmt.Errorf("%w: %q has an empty segment", ErrAzureID, s)
		}
	}
	i := 0
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		id.Subscription = segs[1]
		i = 2
		if len(segs) >= 4 && strings.EqualFold(segs[2], "resourceGroups") {
			id.ResourceGroup = segs[3]
			i = 4
		}
	}
	if i == len(segs) {
		switch {
		case id.ResourceGroup != "":
			id.Namespace, id.Types, id.Names = "Microsoft.Resources", []string{"resourceGroups"}, []string{id.ResourceGroup}
		case id.Subscription != "":
			id.Namespace, id.Types, id.Names = "Microsoft.Resources", []string{"subscriptions"}, []string{id.Subscription}
		default:
			return id, fmt.Errorf("%w: %q", ErrAzureID, s)
		}
		return id, nil
	}
	// One or more provider sections, each providers/{namespace} and then
	// type/name pairs; the last section is the resource, the ones before
	// it its scope. Only a type position can start a new section, so a
	// resource named "providers" does not confuse the parse.
	start, last := i, i
	for i < len(segs) {
		if i+1 >= len(segs) || !strings.EqualFold(segs[i], "providers") {
			return AzureResourceID{}, fmt.Errorf("%w: %q: expected providers/{namespace} at segment %d", ErrAzureID, s, i+1)
		}
		j := i + 2
		for j < len(segs) && !strings.EqualFold(segs[j], "providers") {
			j += 2
		}
		if j == i+2 || j > len(segs) {
			return AzureResourceID{}, fmt.Errorf("%w: %q: types and names do not pair up after %s", ErrAzureID, s, segs[i+1])
		}
		last, i = i, j
	}
	if last > start {
		scope, err := ParseAzureResourceID("/" + strings.Join(segs[:last], "/"))
		if err != nil {
			return AzureResourceID{}, err
		}
		id.Scope = scope.String()
	}
	id.Namespace = segs[last+1]
	for k := last + 2; k < len(segs); k += 2 {
		id.Types = append(id.Types, segs[k])
		id.Names = append(id.Names, segs[k+1])
	}
	return id, nil
}

// Type returns the ARM resource type, {Namespace}/{Types...}
// (Microsoft.Network/networkSecurityGroups/securityRules).
func (id AzureResourceID) Type() string {
	if id.Namespace == "" {
		return ""
	}
	return id.Namespace + "/" + strings.Join(id.Types, "/")
}

// String returns the canonical ID: keywords spelt subscriptions,
// resourceGroups and providers, no trailing '/', everything else as
// parsed. Compare IDs with strings.EqualFold all the same: ARM does.
func (id AzureResourceID) String() string {
	var b strings.Builder
	switch {
	case id.Scope != "":
		b.WriteString(id.Scope)
	case id.Subscription != "":
		b.WriteString("/subscriptions/")
		b.WriteString(id.Subscription)
		if id.ResourceGroup != "" {
			b.WriteString("/resourceGroups/")
			b.WriteString(id.ResourceGroup)
		}
	}
	if id.Namespace == "Microsoft.Resources" && id.Scope == "" && len(id.Types) == 1 &&
		(id.Types[0] == "subscriptions" || id.Types[0] == "resourceGroups") {
		return b.String()
	}
	if id.Namespace == "" {
		return b.String()
	}
	b.WriteString("/providers/")
	b.WriteString(id.Namespace)
	for i := range id.Types {
		b.WriteString("/")
		b.WriteString(id.Types[i])
		b.WriteString("/")
		b.WriteString(id.Names[i])
	}
	return b.String()
}

// Ancestor returns the resource of type typ (compared case-insensitively)
// that id is or lies under: the ID itself when it has that type, its
// parent for a child type (a security rule's network security group), and
// so on up. The returned ID spells the namespace and types as typ does.
// ok is false when id is not of, or under, that type.
func (id AzureResourceID) Ancestor(typ string) (AzureResourceID, bool) {
	ns, rest, found := strings.Cut(typ, "/")
	if !found || rest == "" || !strings.EqualFold(ns, id.Namespace) {
		return AzureResourceID{}, false
	}
	types := strings.Split(rest, "/")
	if len(types) > len(id.Types) {
		return AzureResourceID{}, false
	}
	for i, t := range types {
		if !strings.EqualFold(t, id.Types[i]) {
			return AzureResourceID{}, false
		}
	}
	out := id
	out.Namespace = ns
	out.Types = types
	out.Names = append([]string(nil), id.Names[:len(types)]...)
	return out, true
}
