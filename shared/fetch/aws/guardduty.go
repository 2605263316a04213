package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// guarddutyAPI is the part of the GuardDuty client the detector fetcher
// calls.
type guarddutyAPI interface {
	GetDetector(ctx context.Context, in *guardduty.GetDetectorInput, opts ...func(*guardduty.Options)) (*guardduty.GetDetectorOutput, error)
	ListDetectors(ctx context.Context, in *guardduty.ListDetectorsInput, opts ...func(*guardduty.Options)) (*guardduty.ListDetectorsOutput, error)
}

// guarddutyFetchers are the readers of guardduty resource types.
func guarddutyFetchers() map[string]fetchFunc {
	return map[string]fetchFunc{"AWS::GuardDuty::Detector": fetchDetector}
}

// fetchDetector reads a detector in the region of its ARN,
// arn:{p}:guardduty:{r}:{a}:detector/{id}.
func fetchDetector(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
	a, err := arn.Parse(ref.ID)
	if err != nil {
		return nil, nil, false, fmt.Errorf("detector id %q: %w", ref.ID, err)
	}
	id, ok := strings.CutPrefix(a.Resource, "detector/")
	if !ok || id == "" {
		return nil, nil, false, fmt.Errorf("detector id %q: no detector/{id} resource", ref.ID)
	}
	api := client(r, "guardduty", regionOf(ref), func(cfg aws.Config) guarddutyAPI { return guardduty.NewFromConfig(cfg) })
	return readDetector(ctx, api, id)
}

// readDetector reads the detector with the given ID and maps it into the
// detector document.
//
// GuardDuty has no "detector not found" error code: GetDetector on a deleted
// (or foreign) detector fails with the generic BadRequestException (HTTP
// 400, type InvalidInputException), which it also uses for malformed input;
// only the message tells them apart. Rather than match the message, a
// BadRequestException is confirmed with ListDetectors: when the region's
// detectors do not include id, the detector does not exist; otherwise the
// original error stands.
func readDetector(ctx context.Context, api guarddutyAPI, id string) (map[string]any, map[string]string, bool, error) {
	out, err := api.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
	switch {
	case errorCodeIs(err, "ResourceNotFoundException"):
		return nil, nil, false, nil
	case errorCodeIs(err, "BadRequestException"):
		listed, lerr := detectorListed(ctx, api, id)
		if lerr != nil {
			return nil, nil, false, fmt.Errorf("get detector %q: %w (and %w)", id, err, lerr)
		}
		if !listed {
			return nil, nil, false, nil
		}
		return nil, nil, false, fmt.Errorf("get detector %q: %w", id, err)
	case err != nil:
		return nil, nil, false, fmt.Errorf("get detector %q: %w", id, err)
	}

	features := make([]any, 0, len(out.Features))
	for _, f := range out.Features {
		features = append(features, map[string]any{"Name": string(f.Name), "Status": string(f.Status)})
	}
	doc := map[string]any{
		"DetectorId":                 id,
		"Status":                     string(out.Status),
		"FindingPublishingFrequency": string(out.FindingPublishingFrequency),
		"ServiceRole":                aws.ToString(out.ServiceRole),
		"Features":                   features,
		"CreatedAt":                  aws.ToString(out.CreatedAt),
		"UpdatedAt":                  aws.ToString(out.UpdatedAt),
	}
	tags := maps.Clone(out.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	return doc, tags, true, nil
}

// detectorListed reports whether the region's detectors include id.
func detectorListed(ctx context.Context, api guarddutyAPI, id string) (bool, error) {
	p := guardduty.NewListDetectorsPaginator(api, &guardduty.ListDetectorsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, fmt.Errorf("list detectors: %w", err)
		}
		if slices.Contains(page.DetectorIds, id) {
			return true, nil
		}
	}
	return false, nil
}

// guarddutyActions are the IAM actions behind the GuardDuty calls above;
// each is named after its operation. GetDetector returns the detector's
// tags itself: no ListTagsForResource call is made.
var guarddutyActions = operationActions{
	"guardduty.GetDetector":   {"guardduty:GetDetector"},
	"guardduty.ListDetectors": {"guardduty:ListDetectors"},
}
