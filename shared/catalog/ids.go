package catalog

import (
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// Partition returns the AWS partition of a region: aws-cn for cn-*,
// aws-us-gov for us-gov-*, else aws.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// ARN builds arn:{partition}:{service}:{region}:{account}:{res}, taking the
// partition from the change's region.
func ARN(c *change.Change, service, region, account, res string) string {
	return "arn:" + Partition(c.Region) + ":" + service + ":" + region + ":" + account + ":" + res
}

// Field returns the first non-empty string found at the given paths, each
// rooted at "requestParameters." or "responseElements." (dotted, with
// numeric list indexes), or "".
func Field(c *change.Change, paths ...string) string {
	for _, p := range paths {
		var v string
		switch {
		case strings.HasPrefix(p, "requestParameters."):
			v = change.String(c.Request(), strings.TrimPrefix(p, "requestParameters."))
		case strings.HasPrefix(p, "responseElements."):
			v = change.String(c.Response(), strings.TrimPrefix(p, "responseElements."))
		}
		if v != "" {
			return v
		}
	}
	return ""
}

// EventResourceARNs returns the ARNs in CloudTrail's resources[] whose type
// is typ.
func EventResourceARNs(c *change.Change, typ string) []string {
	var out []string
	for _, r := range c.EventResources {
		if r.Type == typ && r.ARN != "" {
			out = append(out, r.ARN)
		}
	}
	return out
}
