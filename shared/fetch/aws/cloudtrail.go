package aws

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// cloudtrailAPI is the part of the CloudTrail client the trail fetcher calls.
type cloudtrailAPI interface {
	GetTrail(ctx context.Context, in *cloudtrail.GetTrailInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailOutput, error)
	GetTrailStatus(ctx context.Context, in *cloudtrail.GetTrailStatusInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	GetEventSelectors(ctx context.Context, in *cloudtrail.GetEventSelectorsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error)
	ListTags(ctx context.Context, in *cloudtrail.ListTagsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.ListTagsOutput, error)
}

// cloudtrailFetchers are the readers of cloudtrail resource types.
func cloudtrailFetchers() map[string]fetchFunc {
	return map[string]fetchFunc{"AWS::CloudTrail::Trail": fetchTrail}
}

// fetchTrail reads a trail from its home region, the region of its ARN (a
// trail can only be changed there, and only there does GetTrail describe it
// rather than its shadow).
func fetchTrail(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
	region := regionOf(ref)
	api := client(r, "cloudtrail", region, func(cfg aws.Config) cloudtrailAPI { return cloudtrail.NewFromConfig(cfg) })
	return readTrail(ctx, api, ref.ID, region)
}

// readTrail reads the trail named by id (an ARN or a name) and maps it into
// the trail document. region is the region the client reads, used as the
// home region when the API does not say.
func readTrail(ctx context.Context, api cloudtrailAPI, id, region string) (map[string]any, map[string]string, bool, error) {
	got, err := api.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(id)})
	if errorCodeIs(err, "TrailNotFoundException") {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("get trail %q: %w", id, err)
	}
	if got.Trail == nil {
		return nil, nil, false, fmt.Errorf("get trail %q: response has no trail", id)
	}
	t := got.Trail
	trailARN := aws.ToString(t.TrailARN)
	if trailARN == "" {
		trailARN = id
	}

	status, err := api.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(trailARN)})
	if errorCodeIs(err, "TrailNotFoundException") {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("get status of trail %q: %w", trailARN, err)
	}

	sel, err := api.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(trailARN)})
	if errorCodeIs(err, "TrailNotFoundException") {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("get event selectors of trail %q: %w", trailARN, err)
	}

	tags, err := trailTags(ctx, api, trailARN)
	if errorCodeIs(err, "TrailNotFoundException", "ResourceNotFoundException") {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}

	home := aws.ToString(t.HomeRegion)
	if home == "" {
		home = region
	}
	doc := map[string]any{
		"Name":                       aws.ToString(t.Name),
		"TrailARN":                   trailARN,
		"HomeRegion":                 home,
		"IsLogging":                  aws.ToBool(status.IsLogging),
		"LatestDeliveryError":        aws.ToString(status.LatestDeliveryError),
		"IsMultiRegionTrail":         aws.ToBool(t.IsMultiRegionTrail),
		"IncludeGlobalServiceEvents": aws.ToBool(t.IncludeGlobalServiceEvents),
		"LogFileValidationEnabled":   aws.ToBool(t.LogFileValidationEnabled),
		"KMSKeyId":                   aws.ToString(t.KmsKeyId),
		"S3BucketName":               aws.ToString(t.S3BucketName),
		"S3KeyPrefix":                aws.ToString(t.S3KeyPrefix),
		"SnsTopicARN":                aws.ToString(t.SnsTopicARN),
		"CloudWatchLogsLogGroupArn":  aws.ToString(t.CloudWatchLogsLogGroupArn),
		"CloudWatchLogsRoleArn":      aws.ToString(t.CloudWatchLogsRoleArn),
		"IsOrganizationTrail":        aws.ToBool(t.IsOrganizationTrail),
		"EventSelectors":             managementSelection(sel, aws.ToBool(t.HasCustomEventSelectors)),
	}
	return doc, tags, true, nil
}

// trailTags lists the tags of a trail.
func trailTags(ctx context.Context, api cloudtrailAPI, trailARN string) (map[string]string, error) {
	tags := map[string]string{}
	p := cloudtrail.NewListTagsPaginator(api, &cloudtrail.ListTagsInput{ResourceIdList: []string{trailARN}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tags of trail %q: %w", trailARN, err)
		}
		for _, rt := range page.ResourceTagList {
			for _, tag := range rt.TagsList {
				tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
		}
	}
	return tags, nil
}

// managementSelection summarises which management events a trail logs, from
// its basic or advanced event selectors, into
// {ManagementEvents, ReadWriteType, ExcludeManagementEventSources, Advanced}.
//
// A trail that never had selectors set (hasCustom false) and reports none
// logs all management events, CloudTrail's default. Several selectors add
// up: a ReadOnly and a WriteOnly selector log All; an event source is
// excluded only when every management selector excludes it.
func managementSelection(out *cloudtrail.GetEventSelectorsOutput, hasCustom bool) map[string]any {
	var reads, writes, advanced bool
	var excluded []string
	first := true
	include := func(r, w bool, exclude []string) {
		reads, writes = reads || r, writes || w
		if first {
			excluded, first = slices.Clone(exclude), false
			return
		}
		excluded = slices.DeleteFunc(excluded, func(s string) bool { return !slices.Contains(exclude, s) })
	}
	switch {
	case len(out.AdvancedEventSelectors) > 0:
		advanced = true
		for _, s := range out.AdvancedEventSelectors {
			if r, w, exclude, ok := advancedManagement(s); ok {
				include(r, w, exclude)
			}
		}
	case len(out.EventSelectors) > 0:
		for _, s := range out.EventSelectors {
			if s.IncludeManagementEvents != nil && !*s.IncludeManagementEvents {
				continue
			}
			r, w := true, true
			switch s.ReadWriteType {
			case cttypes.ReadWriteTypeReadOnly:
				w = false
			case cttypes.ReadWriteTypeWriteOnly:
				r = false
			}
			include(r, w, s.ExcludeManagementEventSources)
		}
	case !hasCustom:
		include(true, true, nil)
	}
	rw := ""
	switch {
	case reads && writes:
		rw = string(cttypes.ReadWriteTypeAll)
	case writes:
		rw = string(cttypes.ReadWriteTypeWriteOnly)
	case reads:
		rw = string(cttypes.ReadWriteTypeReadOnly)
	}
	slices.Sort(excluded)
	return map[string]any{
		"ManagementEvents":              reads || writes,
		"ReadWriteType":                 rw,
		"ExcludeManagementEventSources": docStrings(excluded),
		"Advanced":                      advanced,
	}
}

// advancedManagement reads one advanced event selector: ok is true when it
// selects management events (eventCategory equals Management); reads and
// writes say which of them (from the readOnly field), exclude lists the
// event sources it leaves out (eventSource NotEquals).
func advancedManagement(s cttypes.AdvancedEventSelector) (reads, writes bool, exclude []string, ok bool) {
	reads, writes = true, true
	for _, f := range s.FieldSelectors {
		switch aws.ToString(f.Field) {
		case "eventCategory":
			ok = ok || slices.Contains(f.Equals, "Management")
		case "readOnly":
			switch {
			case slices.Contains(f.Equals, "true"), slices.Contains(f.NotEquals, "false"):
				writes = false
			case slices.Contains(f.Equals, "false"), slices.Contains(f.NotEquals, "true"):
				reads = false
			}
		case "eventSource":
			exclude = append(exclude, f.NotEquals...)
		}
	}
	return reads, writes, exclude, ok
}

// regionOf is the region a resource lives in: the region of its ARN, else
// the region of the change that named it.
func regionOf(ref resource.Ref) string {
	if a, err := arn.Parse(ref.ID); err == nil && a.Region != "" {
		return a.Region
	}
	return ref.Region
}

// docStrings converts strings to a document list (never nil).
func docStrings(ss []string) []any {
	out := make([]any, 0, len(ss))
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

// cloudtrailActions are the IAM actions behind the CloudTrail calls above;
// each is named after its operation.
var cloudtrailActions = operationActions{
	"cloudtrail.GetTrail":          {"cloudtrail:GetTrail"},
	"cloudtrail.GetTrailStatus":    {"cloudtrail:GetTrailStatus"},
	"cloudtrail.GetEventSelectors": {"cloudtrail:GetEventSelectors"},
	"cloudtrail.ListTags":          {"cloudtrail:ListTags"},
}
