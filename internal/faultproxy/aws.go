package faultproxy

import (
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// awsProtocol is the wire protocol of an AWS request.
type awsProtocol int

const (
	// protoJSON: awsJson1_0/1_1 (DynamoDB, SQS, KMS, CloudTrail...):
	// POST / with X-Amz-Target.
	protoJSON awsProtocol = iota
	// protoEC2: the EC2 query protocol (form body with Action).
	protoEC2
	// protoQuery: the query protocol (IAM, STS, RDS...).
	protoQuery
	// protoS3: S3's REST-XML.
	protoS3
	// protoRESTXML: other REST-XML services (S3 Control, Route 53,
	// CloudFront).
	protoRESTXML
	// protoRESTJSON: REST-JSON services (Lambda, GuardDuty...).
	protoRESTJSON
)

// AWSService returns the service named in an AWS request's SigV4
// credential scope (Credential=AKID/DATE/REGION/SERVICE/aws4_request), or
// "": "ec2", "dynamodb", "sqs"... Rules use it to match one service.
func AWSService(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// awsOperation returns the operation a JSON or query request names, or "".
func awsOperation(r *http.Request, body []byte) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if i := strings.LastIndexByte(t, '.'); i >= 0 {
			return t[i+1:]
		}
		return t
	}
	if isForm(r) {
		if v, err := url.ParseQuery(string(body)); err == nil {
			return v.Get("Action")
		}
	}
	return ""
}

func isForm(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

func protocolOf(r *http.Request, body []byte) awsProtocol {
	service := AWSService(r)
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		return protoJSON
	case isForm(r) && awsOperation(r, body) != "":
		if service == "ec2" {
			return protoEC2
		}
		return protoQuery
	case service == "s3":
		return protoS3
	case service == "s3control" || service == "route53" || service == "cloudfront":
		return protoRESTXML
	}
	return protoRESTJSON
}

// awsCodes are the error codes of a fault kind per protocol.
var awsCodes = map[awsProtocol]map[Kind]struct {
	status int
	code   string
}{
	protoJSON: {
		Throttle:    {400, "ThrottlingException"},
		ServerError: {500, "InternalFailure"},
		Unavailable: {503, "ServiceUnavailable"},
	},
	protoEC2: {
		Throttle:    {503, "RequestLimitExceeded"},
		ServerError: {500, "InternalError"},
		Unavailable: {503, "Unavailable"},
	},
	protoQuery: {
		Throttle:    {400, "Throttling"},
		ServerError: {500, "InternalFailure"},
		Unavailable: {503, "ServiceUnavailable"},
	},
	protoS3: {
		Throttle:    {503, "SlowDown"},
		ServerError: {500, "InternalError"},
		Unavailable: {503, "ServiceUnavailable"},
	},
	protoRESTXML: {
		Throttle:    {400, "Throttling"},
		ServerError: {500, "InternalFailure"},
		Unavailable: {503, "ServiceUnavailable"},
	},
	protoRESTJSON: {
		Throttle:    {429, "ThrottlingException"},
		ServerError: {500, "InternalFailure"},
		Unavailable: {503, "ServiceUnavailableException"},
	},
}

// awsReply is the answer AWS gives for kind, in the request's protocol.
func awsReply(r *http.Request, body []byte, kind Kind) reply {
	proto := protocolOf(r, body)
	c := awsCodes[proto][kind]
	if kind == Throttle {
		switch AWSService(r) {
		case "lambda":
			c.code = "TooManyRequestsException"
		case "sqs":
			c.code = "RequestThrottled"
		}
	}
	msg := "Injected by faultproxy."
	if kind == Throttle {
		msg = "Rate exceeded"
	}
	id := requestID(r, body)
	a := reply{status: c.status, header: map[string]string{"X-Amzn-Requestid": id, "X-Amz-Request-Id": id}}
	switch proto {
	case protoJSON:
		a.contentType = r.Header.Get("Content-Type")
		if a.contentType == "" {
			a.contentType = "application/x-amz-json-1.0"
		}
		a.body = fmt.Sprintf(`{"__type":%q,"message":%q}`, c.code, msg)
		// DynamoDB signs every answer's body with its CRC32, which the SDK
		// checks.
		a.header["X-Amz-Crc32"] = strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(a.body))), 10)
	case protoEC2:
		a.contentType = "text/xml;charset=UTF-8"
		a.body = fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, c.code, msg, id)
	case protoQuery, protoRESTXML:
		typ := "Sender"
		if kind != Throttle {
			typ = "Receiver"
		}
		a.contentType = "text/xml"
		a.body = fmt.Sprintf(`<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			typ, c.code, msg, id)
	case protoS3:
		a.contentType = "application/xml"
		a.body = fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId><HostId>faultproxy</HostId></Error>`, c.code, msg, id)
	default:
		a.contentType = "application/json"
		a.header["X-Amzn-Errortype"] = c.code
		a.body = fmt.Sprintf(`{"message":%q}`, msg)
		if kind == Throttle {
			a.retryAfter = true
		}
	}
	return a
}

// requestID is a stable request ID for an answer.
func requestID(r *http.Request, body []byte) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(r.Method + r.URL.RequestURI()))
	_, _ = h.Write(body)
	return fmt.Sprintf("faultproxy-%016x", h.Sum64())
}
