// Package change decodes cloud change events (AWS CloudTrail records, as
// delivered by EventBridge, SQS, log files or LookupEvents; Azure Resource
// Manager events as Event Grid delivers them) and normalises them into one
// Change type that the rest of the pipeline reads.
package change

import (
	"encoding/json"
	"time"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// Cloud names.
const (
	AWS   = "aws"
	Azure = "azure"
)

// Principal is who made a change.
type Principal struct {
	// ARN is the caller's ARN (AWS) or object ID (Azure). For an assumed
	// role it is the session ARN (arn:aws:sts::1:assumed-role/Role/session).
	ARN string `json:"arn"`
	// Type is CloudTrail's userIdentity.type: Root, IAMUser, AssumedRole,
	// FederatedUser, AWSService, AWSAccount, Unknown, ...
	Type string `json:"type"`
	// ID is userIdentity.principalId.
	ID string `json:"id,omitempty"`
	// Account is the caller's account, which may differ from the account the
	// change was made in.
	Account string `json:"account,omitempty"`
	// Name is the user name, role name (for assumed roles) or "root".
	Name string `json:"name,omitempty"`
	// IssuerARN is the ARN of the role (with its path) or user that issued
	// the session, for AssumedRole and FederatedUser principals.
	IssuerARN string `json:"issuer_arn,omitempty"`
	// IssuerType is the session issuer's type (Role, IAMUser, Root).
	IssuerType string `json:"issuer_type,omitempty"`
	// InvokedBy is the AWS service that made the call on the caller's behalf.
	InvokedBy string `json:"invoked_by,omitempty"`
	// AccessKeyID is the access key the call was signed with.
	AccessKeyID string `json:"access_key_id,omitempty"`
	// AppID is the Azure caller's application (client) ID: the appid or
	// azp claim. Empty for AWS.
	AppID string `json:"app_id,omitempty"`
}

// EventResource is one entry of CloudTrail's resources[] array. For an
// Azure change it is the resource the event is about: ARN is its canonical
// ARM ID, Type its ARM type and AccountID its subscription.
type EventResource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
}

// Change is one cloud control-plane change, normalised.
type Change struct {
	Cloud   string `json:"cloud"`
	EventID string `json:"event_id"`
	// Time is eventTime in UTC; zero when the record has none that parses
	// as an RFC 3339 time.
	Time      time.Time `json:"time"`
	Account   string    `json:"account"`
	Region    string    `json:"region"`
	Service   string    `json:"service"`   // eventSource: s3.amazonaws.com
	Operation string    `json:"operation"` // eventName: PutBucketAcl
	// EventType is CloudTrail's eventType (AwsApiCall, AwsServiceEvent, ...).
	EventType string `json:"event_type,omitempty"`
	// ReadOnly is CloudTrail's readOnly flag or, when the record has none,
	// inferred from the operation name (Get/Describe/List/Head/Lookup/
	// BatchGet followed by an upper-case letter).
	ReadOnly     bool      `json:"read_only"`
	ErrorCode    string    `json:"error_code"`
	ErrorMessage string    `json:"error_message,omitempty"`
	Principal    Principal `json:"principal"`
	SourceIP     string    `json:"source_ip,omitempty"`
	UserAgent    string    `json:"user_agent,omitempty"`
	// CorrelationID ties together the events of one Azure operation
	// (data.correlationId). Empty for AWS.
	CorrelationID string `json:"correlation_id,omitempty"`
	// RequestJSON is requestParameters as sent (JSON null or absent: empty).
	// Read it through Request, which decodes it once, on first use, so that
	// noise the filter drops never pays for decoding it.
	RequestJSON json.RawMessage `json:"-"`
	// ResponseJSON is responseElements as sent; read it through Response.
	ResponseJSON json.RawMessage `json:"-"`
	// EventResources is CloudTrail's own resources[] array.
	EventResources []EventResource `json:"event_resources,omitempty"`
	// Resources are the resources the change touched, filled by the catalog.
	Resources []resource.Ref `json:"resources"`
	// Raw is the original record (the CloudTrail record, not its envelope).
	Raw json.RawMessage `json:"-"`

	request, response map[string]any
	decoded           uint8
}

// Request returns requestParameters decoded (nil when absent or not an
// object). The map is shared: callers must not modify it.
func (c *Change) Request() map[string]any {
	if c.decoded&1 == 0 {
		c.request = decodeObject(c.RequestJSON)
		c.decoded |= 1
	}
	return c.request
}

// Response returns responseElements decoded (nil when absent or not an
// object). The map is shared: callers must not modify it.
func (c *Change) Response() map[string]any {
	if c.decoded&2 == 0 {
		c.response = decodeObject(c.ResponseJSON)
		c.decoded |= 2
	}
	return c.response
}

func decodeObject(raw json.RawMessage) map[string]any {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}
