package aws

// cloudtrailFetchers are the readers of cloudtrail resource types.
func cloudtrailFetchers() map[string]fetchFunc { return nil }
