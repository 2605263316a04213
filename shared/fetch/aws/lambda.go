package aws

// lambdaFetchers are the readers of lambda resource types.
func lambdaFetchers() map[string]fetchFunc { return nil }
