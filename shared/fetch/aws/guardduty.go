package aws

// guarddutyFetchers are the readers of guardduty resource types.
func guarddutyFetchers() map[string]fetchFunc { return nil }
