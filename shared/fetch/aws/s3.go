package aws

// s3Fetchers are the readers of s3 resource types.
func s3Fetchers() map[string]fetchFunc { return nil }
