// Package sweep makes sure nothing was missed while the real-time detector
// was down, throttled or cut off, and that the real-time path is intact. The
// sweeper function (functions/aws-sweeper) runs it on a schedule; `driftwatch
// scan` uses its Lookup from a laptop.
//
// A Sweeper run has three parts:
//
//   - CatchUp: CloudTrail LookupEvents (ReadOnly=false) since the region's
//     checkpoint, at most LookupRate requests a second, each change fed
//     through the same Pipeline as the detector (the finding store's seen
//     marks make the overlap with the detector harmless). The window is read
//     in slices, oldest first, and the checkpoint moves after each slice, but
//     never past now minus Lag: CloudTrail makes events visible to
//     LookupEvents minutes after they happen, and the next run reads the
//     last Lag again.
//   - Recheck: every open finding's resource is re-read and its rules
//     re-evaluated, so a finding fixed out of band is resolved, and notices
//     owed by a crashed deliverer are delivered.
//   - Tamper: a multi-region trail is logging and every watch rule is
//     enabled, else a high-severity finding (TrailTamperRule,
//     WatchRuleTamperRule).
package sweep

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/smithy-go"

	"github.com/driftwatch/driftwatch/shared/pipeline"
)

// Defaults of Options.
const (
	// DefaultLag: CloudTrail typically delivers an event to LookupEvents
	// within 15 minutes of the call.
	DefaultLag = 15 * time.Minute
	// DefaultInitialWindow is how far back the first run of a region reads.
	DefaultInitialWindow = 24 * time.Hour
	// DefaultSlice is the size of the windows the catch-up reads and
	// checkpoints one after another.
	DefaultSlice = 6 * time.Hour
	// lookupRetention is how far back LookupEvents can read.
	lookupRetention = 90 * 24 * time.Hour
)

// Options configure a Sweeper.
type Options struct {
	// Account is the account the sweeper runs in: it names checkpoints and
	// the tamper findings' resources. Required.
	Account string
	// Regions are caught up one after another (default: the config's
	// region). Global services (IAM) record their events in us-east-1.
	Regions []string
	// Pipeline is the detector's pipeline (shared/pipeline): the catch-up
	// feeds it the changes, the re-check uses its Detector's Reader and
	// Rules, and every part applies verdicts through its Lifecycle (whose
	// Store lists the open findings and remembers processed events).
	// Required.
	Pipeline *pipeline.Pipeline
	// Checkpoints remember how far each region was caught up. Required for
	// CatchUp.
	Checkpoints Checkpoints
	// Lag, InitialWindow and Slice tune the catch-up (defaults DefaultLag,
	// DefaultInitialWindow, DefaultSlice).
	Lag, InitialWindow, Slice time.Duration
	// Trail is the name or ARN of the trail the tamper check requires to be
	// multi-region and logging; empty accepts any such trail.
	Trail string
	// WatchRules are the EventBridge rules the tamper check requires to be
	// enabled: "name" on the default bus, or "bus|name".
	WatchRules []string
	// Now is the clock of the catch-up windows (default time.Now).
	// Observation times come from the Pipeline's clock.
	Now func() time.Time
}

// Sweeper runs catch-up, re-check and tamper check. It is safe for one run
// at a time.
type Sweeper struct {
	opts      Options
	cfgRegion string
	lookup    func(region string) *Lookup
	trails    trailAPI
	rules     rulesAPI
}

// New returns a Sweeper that calls CloudTrail and EventBridge with cfg.
func New(cfg aws.Config, opts Options) *Sweeper {
	return &Sweeper{
		opts:      opts,
		cfgRegion: cfg.Region,
		lookup:    func(region string) *Lookup { return NewLookup(cfg, region) },
		trails:    cloudtrail.NewFromConfig(cfg),
		rules:     eventbridge.NewFromConfig(cfg),
	}
}

// Report is what one run did.
type Report struct {
	CatchUp []RegionReport `json:"catch_up"`
	Recheck RecheckReport  `json:"recheck"`
	Tamper  TamperReport   `json:"tamper"`
}

// RegionReport is what the catch-up of one region did.
type RegionReport struct {
	Region string `json:"region"`
	// From and To bound the window read.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Checkpoint is where the region's checkpoint stands after the run.
	Checkpoint time.Time `json:"checkpoint,omitzero"`
	// Events is every event LookupEvents returned, counted by what the
	// pipeline did with it.
	Events     int `json:"events"`
	Applied    int `json:"applied"`
	Duplicates int `json:"duplicates"`
	Ignored    int `json:"ignored"`
	Unresolved int `json:"unresolved"`
	// Failed events could not be processed (a read or a store write
	// failed); DecodeErrors did not decode.
	Failed       int `json:"failed"`
	DecodeErrors int `json:"decode_errors"`
	// Complete is set when the whole window was read.
	Complete bool `json:"complete"`
}

// Run runs the catch-up of every region, then the re-check, then the tamper
// check; a part that fails does not stop the others. The error joins every
// failure, so that the function's error metric (and its alarm) sees it.
func (s *Sweeper) Run(ctx context.Context) (Report, error) {
	var (
		rep  Report
		errs []error
	)
	regions := s.opts.Regions
	if len(regions) == 0 {
		regions = []string{s.cfgRegion}
	}
	for _, region := range regions {
		r, err := s.CatchUp(ctx, region)
		rep.CatchUp = append(rep.CatchUp, r)
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	if rep.Recheck, err = s.Recheck(ctx); err != nil {
		errs = append(errs, err)
	}
	if rep.Tamper, err = s.Tamper(ctx); err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// CheckpointName is the name of a region's catch-up checkpoint.
func CheckpointName(account, region string) string {
	return "cloudtrail-lookup/" + account + "/" + region
}

// CatchUp feeds the write events recorded in region since its checkpoint
// through the pipeline, slice by slice, moving the checkpoint after each.
// An event that cannot be processed is counted and reported in the error,
// without holding the checkpoint back (the detector's own queue retries
// it); a failed LookupEvents call stops the region where it is.
func (s *Sweeper) CatchUp(ctx context.Context, region string) (RegionReport, error) {
	rep := RegionReport{Region: region}
	if s.opts.Checkpoints == nil {
		return rep, errors.New("catch up: no checkpoint store")
	}
	name := CheckpointName(s.opts.Account, region)
	now := s.now()
	horizon := now.Add(-durationOr(s.opts.Lag, DefaultLag))
	cp, ok, err := s.opts.Checkpoints.Get(ctx, name)
	if err != nil {
		return rep, fmt.Errorf("catch up %s: %w", region, err)
	}
	start := now.Add(-durationOr(s.opts.InitialWindow, DefaultInitialWindow))
	if ok {
		start = cp
		rep.Checkpoint = cp
	}
	if oldest := now.Add(-lookupRetention); start.Before(oldest) {
		start = oldest
	}
	rep.From, rep.To = start, now
	lookup := s.lookup(region)
	slice := durationOr(s.opts.Slice, DefaultSlice)
	var failures []error
	for a := start; a.Before(now); {
		b := a.Add(slice)
		if b.After(now) {
			b = now
		}
		for ch, err := range lookup.Changes(ctx, a, b, nil) {
			var de *DecodeError
			switch {
			case errors.As(err, &de):
				rep.Events++
				rep.DecodeErrors++
				failures = append(failures, err)
				continue
			case err != nil:
				return rep, errors.Join(append(failures, err)...)
			}
			rep.Events++
			res, err := s.opts.Pipeline.Handle(ctx, ch)
			switch {
			case errors.Is(err, pipeline.ErrUnresolvable):
				rep.Unresolved++
			case err != nil:
				rep.Failed++
				failures = append(failures, fmt.Errorf("catch up event %s in %s: %w", ch.EventID, region, err))
			case res.Duplicate:
				rep.Duplicates++
			case res.Outcome.Ignored != "":
				rep.Ignored++
			case res.Incomplete():
				rep.Failed++
				failures = append(failures, fmt.Errorf("catch up event %s in %s: some touched resources could not be read", ch.EventID, region))
			default:
				rep.Applied++
			}
		}
		next := b
		if next.After(horizon) {
			next = horizon
		}
		if !ok || next.After(cp) {
			if err := s.opts.Checkpoints.Put(ctx, name, next); err != nil {
				return rep, errors.Join(append(failures, fmt.Errorf("catch up %s: %w", region, err))...)
			}
			cp, ok = next, true
			rep.Checkpoint = next
		}
		a = b
	}
	rep.Complete = true
	if len(failures) > 0 {
		return rep, fmt.Errorf("catch up %s: %d of %d events not processed: %w", region, len(failures), rep.Events, errors.Join(failures...))
	}
	return rep, nil
}

func (s *Sweeper) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// observed is the time a read starts, on the pipeline's clock (which
// stamps the findings' CheckedAt), not the window clock Options.Now.
func (s *Sweeper) observed() time.Time {
	if s.opts.Pipeline.Now != nil {
		return s.opts.Pipeline.Now()
	}
	return time.Now()
}

// region is the region the tamper check looks at: the sweeper's own.
func (s *Sweeper) region() string { return s.cfgRegion }

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// errorCode returns the AWS API error code of err, or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
