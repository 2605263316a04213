// Package resource holds the cloud-neutral description of a watched resource:
// the reference that names it and the plain document that policies read.
//
// Documents never carry SDK types. They are JSON-like trees made only of
// string, bool, int64, float64, []any, map[string]any and nil, with property
// names close to CloudFormation's (AWS) or ARM's (Azure). A property that is
// "not configured" is an explicit value (false, "", an empty list), never a
// missing key, so that policy expressions do not trip on absent fields.
package resource

// Ref names one resource.
type Ref struct {
	// Type is the CloudFormation type name for AWS (AWS::S3::Bucket) or the
	// ARM type for Azure (Microsoft.Storage/storageAccounts).
	Type string `json:"type"`
	// ID is the ARN (AWS) or the ARM resource ID (Azure).
	ID string `json:"id"`
	// Account is the AWS account ID or the Azure subscription ID.
	Account string `json:"account,omitempty"`
	// Region is the AWS region (empty for global resources such as IAM and
	// S3 bucket ARNs carry none, but the region of the event is kept here).
	Region string `json:"region,omitempty"`
}

// String returns "type id".
func (r Ref) String() string { return r.Type + " " + r.ID }

// Resource is the live state of one resource as read from the cloud API.
type Resource struct {
	Ref Ref `json:"ref"`
	// Exists is false when the cloud says the resource is gone; Doc is then nil.
	Exists bool `json:"exists"`
	// Doc is the document policies read.
	Doc map[string]any `json:"doc,omitempty"`
	// Tags are the resource's tags, empty when it has none.
	Tags map[string]string `json:"tags,omitempty"`
}
