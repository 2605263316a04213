package sweep

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"golang.org/x/time/rate"

	"github.com/driftwatch/driftwatch/shared/change"
)

// LookupRate is CloudTrail's LookupEvents quota: two requests per second per
// account and region. A Lookup never exceeds it.
const LookupRate = 2

// lookupPageSize is the largest page LookupEvents returns.
const lookupPageSize = 50

// lookupAPI is the CloudTrail call the catch-up makes.
type lookupAPI interface {
	LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// Lookup lists the write management events CloudTrail recorded in one
// region (the last 90 days are kept), through LookupEvents with
// ReadOnly=false, at most LookupRate requests a second.
type Lookup struct {
	api     lookupAPI
	region  string
	limiter *rate.Limiter
}

// NewLookup returns a Lookup for region ("" for cfg's region) that calls
// CloudTrail with cfg (credentials, endpoint, retryer: the SDK's standard
// retryer also backs off on ThrottlingException).
func NewLookup(cfg aws.Config, region string) *Lookup {
	if region == "" {
		region = cfg.Region
	}
	c := cfg.Copy()
	c.Region = region
	return newLookup(cloudtrail.NewFromConfig(c), region)
}

func newLookup(api lookupAPI, region string) *Lookup {
	return &Lookup{api: api, region: region, limiter: rate.NewLimiter(LookupRate, 1)}
}

// Region is the region the Lookup reads.
func (l *Lookup) Region() string { return l.region }

// Progress is where a Lookup is in its window, after each page. Events are
// returned newest first, so Oldest moves from End towards Start.
type Progress struct {
	Region     string
	Start, End time.Time
	// Oldest is the time of the oldest event seen so far (End before the
	// first event).
	Oldest time.Time
	Pages  int
	Events int
	// Done is set on the last report, when the window is exhausted.
	Done bool
}

// Fraction is how much of the window has been read, from 0 to 1.
func (p Progress) Fraction() float64 {
	if p.Done {
		return 1
	}
	total := p.End.Sub(p.Start)
	if total <= 0 {
		return 0
	}
	f := float64(p.End.Sub(p.Oldest)) / float64(total)
	return min(max(f, 0), 1)
}

// DecodeError is an event LookupEvents returned whose CloudTrailEvent is
// not a CloudTrail record the decoder accepts. The lookup goes on after it.
type DecodeError struct {
	Region  string
	EventID string
	Err     error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("decode CloudTrail event %s from LookupEvents in %s: %v", e.EventID, e.Region, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Changes yields the change of every write event recorded in the region from
// start to end, newest first. An event that does not decode is yielded as a
// *DecodeError and the lookup goes on; a failed LookupEvents call is yielded
// last. progress, if not nil, is told after every page.
func (l *Lookup) Changes(ctx context.Context, start, end time.Time, progress func(Progress)) iter.Seq2[*change.Change, error] {
	return func(yield func(*change.Change, error) bool) {
		p := Progress{Region: l.region, Start: start, End: end, Oldest: end}
		in := &cloudtrail.LookupEventsInput{
			StartTime: aws.Time(start),
			EndTime:   aws.Time(end),
			LookupAttributes: []cttypes.LookupAttribute{{
				AttributeKey: cttypes.LookupAttributeKeyReadOnly, AttributeValue: aws.String("false"),
			}},
			MaxResults: aws.Int32(lookupPageSize),
		}
		for {
			if err := l.limiter.Wait(ctx); err != nil {
				yield(nil, fmt.Errorf("look up CloudTrail events in %s: %w", l.region, err))
				return
			}
			out, err := l.api.LookupEvents(ctx, in)
			if err != nil {
				yield(nil, fmt.Errorf("look up CloudTrail write events in %s from %s to %s: %w",
					l.region, start.Format(time.RFC3339), end.Format(time.RFC3339), err))
				return
			}
			p.Pages++
			for _, ev := range out.Events {
				p.Events++
				if t := aws.ToTime(ev.EventTime); !t.IsZero() && t.Before(p.Oldest) {
					p.Oldest = t
				}
				ch, err := decodeEvent(l.region, ev)
				if !yield(ch, err) {
					return
				}
			}
			in.NextToken = out.NextToken
			p.Done = aws.ToString(out.NextToken) == ""
			if progress != nil {
				progress(p)
			}
			if p.Done {
				return
			}
		}
	}
}

// decodeEvent decodes the CloudTrail record LookupEvents returns as a JSON
// string in CloudTrailEvent.
func decodeEvent(region string, ev cttypes.Event) (*change.Change, error) {
	id := aws.ToString(ev.EventId)
	raw := aws.ToString(ev.CloudTrailEvent)
	if raw == "" {
		return nil, &DecodeError{Region: region, EventID: id, Err: errors.New("the event has no CloudTrailEvent")}
	}
	ch, err := change.DecodeRecord("cloudtrail:LookupEvents:"+region, []byte(raw))
	if err != nil {
		return nil, &DecodeError{Region: region, EventID: id, Err: err}
	}
	return &ch, nil
}
