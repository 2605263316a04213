// Package ctrecord builds CloudTrail records in the shape CloudTrail writes
// them (event version 1.09), for the demo and the scenario tests, which make
// real API calls against an emulator that writes no trail of its own.
package ctrecord

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"
)

// Caller is who made the call.
type Caller struct {
	Account  string
	UserName string
	// SourceIP and UserAgent default to documentation values.
	SourceIP  string
	UserAgent string
}

// Call is one API call to record.
type Call struct {
	Service   string // eventSource, e.g. s3.amazonaws.com
	Operation string // eventName
	Region    string
	Caller    Caller
	// Request and Response are requestParameters and responseElements
	// (nil becomes JSON null, as CloudTrail writes it).
	Request  map[string]any
	Response map[string]any
	// Time defaults to now.
	Time time.Time
}

// Build returns the CloudTrail record of call, as JSON.
func Build(call Call) []byte {
	c := call.Caller
	if c.SourceIP == "" {
		c.SourceIP = "203.0.113.10"
	}
	if c.UserAgent == "" {
		c.UserAgent = "aws-cli/2.17.0 Python/3.11.9 Linux/6.1 exe/x86_64"
	}
	t := call.Time
	if t.IsZero() {
		t = time.Now()
	}
	rec := map[string]any{
		"eventVersion": "1.09",
		"userIdentity": map[string]any{
			"type":        "IAMUser",
			"principalId": "AIDA" + randomHex(8),
			"arn":         "arn:aws:iam::" + c.Account + ":user/" + c.UserName,
			"accountId":   c.Account,
			"accessKeyId": "AKIA" + randomHex(8),
			"userName":    c.UserName,
		},
		"eventTime":          t.UTC().Format(time.RFC3339),
		"eventSource":        call.Service,
		"eventName":          call.Operation,
		"awsRegion":          call.Region,
		"sourceIPAddress":    c.SourceIP,
		"userAgent":          c.UserAgent,
		"requestParameters":  call.Request,
		"responseElements":   call.Response,
		"requestID":          UUID(),
		"eventID":            UUID(),
		"readOnly":           false,
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": c.Account,
		"eventCategory":      "Management",
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(fmt.Sprintf("ctrecord: marshal record: %v", err)) // only JSON-safe values are put in
	}
	return b
}

// UUID returns a random version-4 UUID.
func UUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%X", b)
}
