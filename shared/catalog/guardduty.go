package catalog

import (
	"fmt"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// guarddutyDetector is the CloudFormation type of a GuardDuty detector.
const guarddutyDetector = "AWS::GuardDuty::Detector"

// guarddutyEntries are the watched GuardDuty operations: the changes that
// suspend or delete a region's detector, and the ones that create or
// re-enable it. The detector ID is in the request, or for CreateDetector in
// the response; the ARN is arn:{p}:guardduty:{r}:{a}:detector/{id}.
func guarddutyEntries() []Entry {
	const svc = "guardduty.amazonaws.com"
	byRequest := guarddutyDetectorARNs("requestParameters.detectorId")
	row := func(op string, resolve func(*change.Change) ([]string, error), note string) Entry {
		return Entry{Service: svc, Operation: op, Targets: []Target{{Type: guarddutyDetector, Resolve: resolve}}, Note: note}
	}
	return []Entry{
		row("CreateDetector", guarddutyDetectorARNs("responseElements.detectorId"), "responseElements.detectorId"),
		row("UpdateDetector", byRequest, "requestParameters.detectorId"),
		row("DeleteDetector", byRequest, "requestParameters.detectorId"),
	}
}

// guarddutyDetectorARNs resolves the detector whose ID is at the first
// non-empty path.
func guarddutyDetectorARNs(paths ...string) func(*change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		id := Field(c, paths...)
		if id == "" {
			return nil, fmt.Errorf("detector id at %s: %w", strings.Join(paths, " or "), ErrNoID)
		}
		// Detector IDs are 32 hex digits; anything but letters and digits
		// (a redaction placeholder such as "...") names no detector.
		if strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			return nil, fmt.Errorf("%q is not a detector id: %w", id, ErrNoID)
		}
		return []string{ARN(c, "guardduty", c.Region, c.Account, "detector/"+id)}, nil
	}
}
