package aws

// rdsFetchers are the readers of rds resource types.
func rdsFetchers() map[string]fetchFunc { return nil }
