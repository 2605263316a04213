package aws

// iamFetchers are the readers of iam resource types.
func iamFetchers() map[string]fetchFunc { return nil }
