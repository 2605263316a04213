package catalog

import (
	"fmt"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// cloudtrailTrail is the CloudFormation type of a CloudTrail trail.
const cloudtrailTrail = "AWS::CloudTrail::Trail"

// cloudtrailEntries are the watched cloudtrail operations: the changes that
// stop, weaken or remove a trail, and the ones that restore it.
//
// A trail can only be changed from its home region, so the awsRegion of a
// successful event is the trail's home region and the ARN built from a bare
// name points there. A name given as a full ARN is used as is.
func cloudtrailEntries() []Entry {
	const svc = "cloudtrail.amazonaws.com"
	byName := trailARNs("requestParameters.name")
	byResponse := trailARNs("responseElements.trailARN", "requestParameters.name")
	row := func(op string, resolve func(*change.Change) ([]string, error), note string) Entry {
		return Entry{Service: svc, Operation: op, Targets: []Target{{Type: cloudtrailTrail, Resolve: resolve}}, Note: note}
	}
	return []Entry{
		row("CreateTrail", byResponse, "responseElements.trailARN, else requestParameters.name (name or ARN)"),
		row("UpdateTrail", byResponse, "responseElements.trailARN, else requestParameters.name (name or ARN)"),
		row("DeleteTrail", byName, "requestParameters.name (name or ARN)"),
		row("StopLogging", byName, "requestParameters.name (name or ARN)"),
		row("StartLogging", byName, "requestParameters.name (name or ARN)"),
		row("PutEventSelectors", trailARNs("responseElements.trailARN", "requestParameters.trailName"),
			"responseElements.trailARN, else requestParameters.trailName (name or ARN)"),
	}
}

// trailARNs resolves a trail from the first non-empty field among paths: an
// ARN is kept, a name becomes arn:{p}:cloudtrail:{r}:{a}:trail/{name}. A
// value that is no trail name (a redaction placeholder such as "...") is no
// ID: reading it would report the trail deleted.
func trailARNs(paths ...string) func(*change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		id := Field(c, paths...)
		if id == "" {
			return nil, fmt.Errorf("trail name at %s: %w", strings.Join(paths, " or "), ErrNoID)
		}
		if strings.HasPrefix(id, "arn:") {
			parts := strings.SplitN(id, ":", 6)
			name, ok := "", len(parts) == 6 && parts[2] == "cloudtrail"
			if ok {
				name, ok = strings.CutPrefix(parts[5], "trail/")
			}
			if !ok || !validTrailName(name) {
				return nil, fmt.Errorf("%q is not a trail ARN: %w", id, ErrNoID)
			}
			return []string{id}, nil
		}
		if !validTrailName(id) {
			return nil, fmt.Errorf("%q is not a trail name: %w", id, ErrNoID)
		}
		return []string{ARN(c, "cloudtrail", c.Region, c.Account, "trail/"+id)}, nil
	}
}

// validTrailName reports whether s follows CloudTrail's naming rules: 3 to
// 128 ASCII letters, digits, periods, underscores and dashes, starting and
// ending with a letter or digit, with no two punctuation marks in a row.
func validTrailName(s string) bool {
	if len(s) < 3 || len(s) > 128 {
		return false
	}
	punct := true // before the first character: forbids a leading mark
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
			punct = false
		case b == '.' || b == '_' || b == '-':
			if punct {
				return false
			}
			punct = true
		default:
			return false
		}
	}
	return !punct
}
