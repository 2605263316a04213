package sweep

import (
	"maps"
	"slices"
)

// operationActions maps each SDK operation this package calls,
// "<package>.<Operation>", to the IAM actions that authorise it (see
// shared/fetch/aws, which declares the re-read's actions the same way).
var operationActions = map[string][]string{
	"cloudtrail.LookupEvents":   {"cloudtrail:LookupEvents"},
	"cloudtrail.DescribeTrails": {"cloudtrail:DescribeTrails"},
	"cloudtrail.GetTrailStatus": {"cloudtrail:GetTrailStatus"},
	"eventbridge.DescribeRule":  {"events:DescribeRule"},
	"dynamodb.GetItem":          {"dynamodb:GetItem"},
	"dynamodb.PutItem":          {"dynamodb:PutItem"},
}

// Actions returns the IAM actions the sweeper's own calls need (catch-up,
// tamper check, DynamoDB checkpoints), sorted. The re-read of resources
// needs shared/fetch/aws's Actions besides, and the finding store its own.
func Actions() []string {
	set := map[string]bool{}
	for _, acts := range operationActions {
		for _, a := range acts {
			set[a] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
