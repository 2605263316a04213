package aws

// configFetchers are the readers of config resource types.
func configFetchers() map[string]fetchFunc { return nil }
