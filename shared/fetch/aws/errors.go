package aws

import (
	"errors"
	"slices"

	"github.com/aws/smithy-go"
)

// errorCode returns the AWS API error code of err, or "" when err is not an
// AWS API error.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// errorCodeIs reports whether err is an AWS API error with one of codes.
func errorCodeIs(err error, codes ...string) bool {
	c := errorCode(err)
	return c != "" && slices.Contains(codes, c)
}
