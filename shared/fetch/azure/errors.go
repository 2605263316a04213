package azure

import (
	"errors"
	"net/http"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// notFoundCodes are ARM error codes that mean the resource (or its parent
// or resource group) is gone, whatever the status code.
var notFoundCodes = []string{"ResourceNotFound", "ResourceGroupNotFound", "ParentResourceNotFound"}

// versionRejectedCodes are ARM error codes that mean the api-version is
// not offered for the type (in this cloud or region).
var versionRejectedCodes = []string{"NoRegisteredProviderFound", "InvalidApiVersionParameter", "InvalidResourceType"}

// errorCode returns the ARM error code and HTTP status of err, or "" and 0
// when err is not an ARM response error.
func errorCode(err error) (string, int) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode, re.StatusCode
	}
	return "", 0
}

// isNotFound reports whether err says the resource does not exist.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	code, status := errorCode(err)
	return status == http.StatusNotFound || slices.Contains(notFoundCodes, code)
}

// isVersionRejected reports whether err says the api-version is not
// available for the resource type.
func isVersionRejected(err error) bool {
	if err == nil {
		return false
	}
	code, status := errorCode(err)
	return status == http.StatusBadRequest && slices.Contains(versionRejectedCodes, code)
}
