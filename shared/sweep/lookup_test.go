package sweep

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/time/rate"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/sweep/sweeptest"
)

// fastLookup returns a Lookup of the server without the rate limit, so that
// tests of many pages do not wait.
func fastLookup(t *testing.T, srv *sweeptest.Server) *Lookup {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", srv.URL)
	cfg, err := sweeptest.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l := NewLookup(cfg, "us-east-1")
	l.limiter = rate.NewLimiter(rate.Inf, 1)
	return l
}

func ec2Record(t *testing.T, id string, at time.Time) []byte {
	return sweeptest.Record(t, sweeptest.Sample(t, "ec2-authorize-security-group-ingress-ssh-world-anonymized-cidr.json"), map[string]any{
		"eventID": id, "eventTime": at.UTC().Format(time.RFC3339), "awsRegion": "us-east-1",
	})
}

func TestLookupChanges(t *testing.T) {
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	start := end.Add(-2 * time.Hour)
	srv := sweeptest.Start(t, "")
	// 120 write events in the window, one a minute back from end, and
	// events outside it or read-only that must not come back.
	for i := range 120 {
		srv.Add(t, ec2Record(t, fmt.Sprintf("in-%03d", i), end.Add(-time.Duration(i)*time.Minute)))
	}
	srv.Add(t,
		ec2Record(t, "before-start", start.Add(-time.Minute)),
		ec2Record(t, "after-end", end.Add(time.Minute)),
		sweeptest.Record(t, sweeptest.Sample(t, "ec2-describe-instances-readonly.json"), map[string]any{
			"eventID": "read-only", "eventTime": end.Add(-10 * time.Minute).Format(time.RFC3339),
		}),
	)
	l := fastLookup(t, srv)

	var (
		got      []*change.Change
		progress []Progress
	)
	for ch, err := range l.Changes(context.Background(), start, end, func(p Progress) { progress = append(progress, p) }) {
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		got = append(got, ch)
	}
	if len(got) != 120 {
		t.Fatalf("got %d changes, want the 120 write events of the window", len(got))
	}
	for i, ch := range got {
		if want := fmt.Sprintf("in-%03d", i); ch.EventID != want {
			t.Fatalf("change %d is %s, want %s (newest first)", i, ch.EventID, want)
		}
		if ch.Operation != "AuthorizeSecurityGroupIngress" || ch.Service != "ec2.amazonaws.com" || ch.ReadOnly {
			t.Fatalf("change %d decoded as %s %s read-only=%v", i, ch.Service, ch.Operation, ch.ReadOnly)
		}
	}
	// Pages are counted by their token: the SDK's retryer may repeat a
	// request whose answer it did not get.
	pages := map[string]bool{}
	for i, r := range srv.Requests() {
		if r.Attribute != "ReadOnly=false" || r.MaxResults != 50 || !r.StartTime.Equal(start) || !r.EndTime.Equal(end) {
			t.Errorf("request %d = %+v, want ReadOnly=false, 50 results, the window", i, r)
		}
		pages[r.NextToken] = true
	}
	if len(pages) != 3 || !pages[""] {
		t.Fatalf("requested pages %v, want 3 pages of at most 50, the first without a token", pages)
	}
	if len(progress) != 3 || !progress[2].Done || progress[2].Events != 120 || progress[2].Fraction() != 1 {
		t.Fatalf("progress = %+v", progress)
	}
	if f := progress[0].Fraction(); f < 0.40 || f > 0.42 {
		t.Errorf("after the first page (events back to 49 minutes before end of 120), Fraction = %v", f)
	}
}

func TestLookupDecodeErrorsDoNotStop(t *testing.T) {
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := sweeptest.Start(t, "")
	srv.Add(t,
		ec2Record(t, "good-1", end.Add(-time.Minute)),
		sweeptest.Record(t, ec2Record(t, "bad", end.Add(-2*time.Minute)), map[string]any{"userIdentity": "not an object"}),
		ec2Record(t, "good-2", end.Add(-3*time.Minute)),
	)
	var ids []string
	var decodeErrs []*DecodeError
	for ch, err := range fastLookup(t, srv).Changes(context.Background(), end.Add(-time.Hour), end, nil) {
		var de *DecodeError
		switch {
		case errors.As(err, &de):
			decodeErrs = append(decodeErrs, de)
		case err != nil:
			t.Fatalf("Changes: %v", err)
		default:
			ids = append(ids, ch.EventID)
		}
	}
	if len(ids) != 2 || ids[0] != "good-1" || ids[1] != "good-2" {
		t.Errorf("changes %v, want good-1 and good-2", ids)
	}
	if len(decodeErrs) != 1 || decodeErrs[0].EventID != "bad" || !errors.Is(decodeErrs[0], change.ErrBadField) {
		t.Errorf("decode errors %v, want one for event bad wrapping change.ErrBadField", decodeErrs)
	}
}

func TestLookupAPIErrorEndsTheSequence(t *testing.T) {
	srv := sweeptest.Start(t, "")
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	n := 0
	var last error
	// A start after the end is refused by CloudTrail (InvalidTimeRangeException).
	for _, err := range fastLookup(t, srv).Changes(context.Background(), end, end.Add(-time.Hour), nil) {
		n++
		last = err
	}
	if n != 1 || errorCode(last) != "InvalidTimeRangeException" {
		t.Fatalf("got %d items, last error %v; want one InvalidTimeRangeException", n, last)
	}
}

func TestLookupRespectsTheRateLimit(t *testing.T) {
	l := NewLookup(aws.Config{Region: "eu-west-1"}, "")
	if l.Region() != "eu-west-1" {
		t.Errorf("Region() = %q, want the config's", l.Region())
	}
	if l.limiter.Limit() != LookupRate || l.limiter.Burst() != 1 {
		t.Errorf("limiter allows %v/s with burst %d, want %v/s with burst 1", l.limiter.Limit(), l.limiter.Burst(), float64(LookupRate))
	}
	// Three requests in a row: the third is not allowed before one second.
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, want := range []time.Duration{0, 500 * time.Millisecond, time.Second} {
		r := l.limiter.ReserveN(at, 1)
		if d := r.DelayFrom(at); d != want {
			t.Errorf("request %d waits %v, want %v", i, d, want)
		}
	}
}

func TestProgressFraction(t *testing.T) {
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	start := end.Add(-4 * time.Hour)
	for _, tc := range []struct {
		name string
		p    Progress
		want float64
	}{
		{"nothing read", Progress{Start: start, End: end, Oldest: end}, 0},
		{"a quarter", Progress{Start: start, End: end, Oldest: end.Add(-time.Hour)}, 0.25},
		{"older than start", Progress{Start: start, End: end, Oldest: start.Add(-time.Hour)}, 1},
		{"done early", Progress{Start: start, End: end, Oldest: end, Done: true}, 1},
		{"empty window", Progress{Start: end, End: end, Oldest: end}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Fraction(); got != tc.want {
				t.Errorf("Fraction() = %v, want %v", got, tc.want)
			}
		})
	}
}
