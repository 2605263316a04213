package aws

// kmsFetchers are the readers of kms resource types.
func kmsFetchers() map[string]fetchFunc { return nil }
