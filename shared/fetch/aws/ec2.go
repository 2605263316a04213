package aws

// ec2Fetchers are the readers of ec2 resource types.
func ec2Fetchers() map[string]fetchFunc { return nil }
