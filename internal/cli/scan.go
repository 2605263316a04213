package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/mattn/go-isatty"

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/detect"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/sweep"
)

const scanUsage = `Usage: driftwatch scan [--since 24h] [--regions r1,r2] [--format table|json] [--rules DIR] [--own-principal PATTERN]...

Look up the write events CloudTrail recorded in the account (LookupEvents, the last 90 days
at most, 2 requests a second), re-read every resource they touched once, and evaluate the
rules: what driftwatch would have said, without deploying anything. Uses the default AWS
credential chain; AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_CLOUDTRAIL are honoured.

IAM and other global services record their events in us-east-1 only.

`

// loadAWSConfig loads the AWS configuration scan uses (a test replaces it).
var loadAWSConfig = func(ctx context.Context) (aws.Config, error) { return config.LoadDefaultConfig(ctx) }

func scan(ctx context.Context, args []string, env Env) int {
	fl := newFlags("scan", env)
	fl.Usage = func() {
		fmt.Fprint(env.Stderr, scanUsage)
		fl.PrintDefaults()
	}
	since := fl.Duration("since", 24*time.Hour, "how far back to look (CloudTrail keeps 90 days)")
	regionList := fl.String("regions", "", "comma-separated regions (default: the configured region)")
	format := fl.String("format", "table", "output format: json or table")
	rulesDir := fl.String("rules", "", "directory of extra *.rules.yaml files")
	var own stringList
	fl.Var(&own, "own-principal", "ARN pattern (* wildcard) of principals whose changes are ignored; repeatable")
	rest, err := parseFlags(fl, args)
	if err != nil {
		return exitUsage
	}
	usageErr := func(err error) int {
		fmt.Fprintln(env.Stderr, "driftwatch scan:", err)
		return exitUsage
	}
	switch {
	case len(rest) > 0:
		return usageErr(fmt.Errorf("unexpected argument %q", rest[0]))
	case checkFormat(*format) != nil:
		return usageErr(checkFormat(*format))
	case *since <= 0 || *since > 90*24*time.Hour:
		return usageErr(fmt.Errorf("--since %s: want a duration up to 2160h (90 days), such as 24h", *since))
	}
	eng, err := loadEngine(*rulesDir)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch scan:", err)
		return exitFail
	}
	cat := catalog.Default()
	flt, err := filter.New(own, cat.Watched)
	if err != nil {
		return usageErr(err)
	}
	cfg, err := loadAWSConfig(ctx)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch scan: load AWS configuration:", err)
		return exitFail
	}
	regions := splitList(*regionList)
	if len(regions) == 0 && cfg.Region != "" {
		regions = []string{cfg.Region}
	}
	if len(regions) == 0 {
		return usageErr(errors.New("no region: pass --regions or set AWS_REGION"))
	}
	if !slices.Contains(regions, "us-east-1") {
		fmt.Fprintln(env.Stderr, "driftwatch scan: note: IAM and other global services record their events in us-east-1, which is not scanned")
	}

	s := &scanner{
		env: env,
		det: &detect.Detector{Filter: flt, Catalog: cat, Rules: eng,
			Reader: &cachedReader{r: fetchaws.New(cfg, fetchaws.Options{S3PathStyle: customEndpoint(env)})}},
		seen:     map[string]bool{},
		progress: progressWriter(env.Stderr),
	}
	end := time.Now().UTC()
	start := end.Add(-*since)
	for _, region := range regions {
		s.region(ctx, sweep.NewLookup(cfg, region), start, end)
	}

	if *format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetEscapeHTML(false)
		for _, l := range s.lines {
			if err := enc.Encode(l); err != nil {
				fmt.Fprintln(env.Stderr, "driftwatch scan: write:", err)
				return exitFail
			}
		}
	} else {
		s.summary(env.Stdout, regions, start)
	}
	if s.bad > 0 {
		return exitFail
	}
	return exitOK
}

// scanner runs the pipeline over the events of a scan and keeps its results.
type scanner struct {
	env      Env
	det      *detect.Detector
	progress io.Writer // nil: no progress bar
	seen     map[string]bool

	events, watched, ignored int
	bad                      int
	lines                    []verdictLine
	verdicts                 []policy.Verdict
}

// region scans one region's events.
func (s *scanner) region(ctx context.Context, l *sweep.Lookup, start, end time.Time) {
	var bar func(sweep.Progress)
	if s.progress != nil {
		bar = func(p sweep.Progress) { fmt.Fprint(s.progress, "\r"+progressBar(p, 30)) }
		bar(sweep.Progress{Region: l.Region(), Start: start, End: end, Oldest: end})
		defer fmt.Fprintln(s.progress)
	}
	for ch, err := range l.Changes(ctx, start, end, bar) {
		var de *sweep.DecodeError
		switch {
		case errors.As(err, &de):
			s.events++
			s.warn(err)
			continue
		case err != nil:
			s.warn(err)
			return
		}
		s.events++
		if s.seen[ch.EventID] {
			continue
		}
		s.seen[ch.EventID] = true
		out := s.det.Process(ctx, ch)
		switch {
		case out.Ignored != "":
			s.ignored++
			continue
		case out.Err != nil:
			s.warn(fmt.Errorf("event %s (%s %s): %w", ch.EventID, ch.Service, ch.Operation, out.Err))
			continue
		}
		s.watched++
		for _, c := range out.Checked {
			if c.Err != nil {
				s.warn(c.Err)
			}
		}
		for _, v := range out.Verdicts() {
			s.verdicts = append(s.verdicts, v)
			s.lines = append(s.lines, verdictLine{
				EventID: v.EventID, Rule: v.RuleID, Severity: v.Severity,
				Resource: explainedRe{Type: v.Resource.Type, ID: v.Resource.ID},
				Result:   string(v.Result), Message: v.Message,
			})
		}
	}
}

// warn reports a problem on stderr, on its own line even under the
// progress bar, and counts it.
func (s *scanner) warn(err error) {
	s.bad++
	prefix := ""
	if s.progress != nil {
		prefix = "\r\033[K"
	}
	fmt.Fprintf(s.env.Stderr, "%sdriftwatch scan: %v\n", prefix, err)
}

// summary writes the scan's result: per rule how many resources fail, pass
// or could not be checked, then every failing resource with its rules. A
// resource is read once per scan, so each (rule, resource) counts once
// however many events touched it.
func (s *scanner) summary(w io.Writer, regions []string, start time.Time) {
	fmt.Fprintf(w, "Scanned %d write events in %s since %s: %d watched changes, %d ignored.\n",
		s.events, strings.Join(regions, ", "), start.Format(time.RFC3339), s.watched, s.ignored)
	if len(s.verdicts) == 0 {
		fmt.Fprintln(w, "No watched resource was changed.")
		return
	}
	type counts struct {
		severity             string
		fail, pass, errors   int
		failing, passing, ko map[string]bool
	}
	byRule := map[string]*counts{}
	failing := map[resource.Ref][]string{}
	for _, v := range s.verdicts {
		c := byRule[v.RuleID]
		if c == nil {
			c = &counts{severity: v.Severity, failing: map[string]bool{}, passing: map[string]bool{}, ko: map[string]bool{}}
			byRule[v.RuleID] = c
		}
		id := v.Resource.ID
		switch v.Result {
		case policy.Fail:
			if !c.failing[id] {
				c.failing[id] = true
				c.fail++
				failing[v.Resource] = append(failing[v.Resource], v.RuleID)
			}
		case policy.Pass:
			if !c.passing[id] {
				c.passing[id] = true
				c.pass++
			}
		default:
			if !c.ko[id] {
				c.ko[id] = true
				c.errors++
			}
		}
	}
	rules := make([]string, 0, len(byRule))
	for id := range byRule {
		rules = append(rules, id)
	}
	slices.SortFunc(rules, func(a, b string) int {
		if d := byRule[b].fail - byRule[a].fail; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tFAILED\tPASSED\tERRORS")
	for _, id := range rules {
		c := byRule[id]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", id, c.severity, c.fail, c.pass, c.errors)
	}
	tw.Flush()
	if len(failing) == 0 {
		fmt.Fprintln(w, "\nNo resource fails a rule.")
		return
	}
	refs := make([]resource.Ref, 0, len(failing))
	for r := range failing {
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b resource.Ref) int { return strings.Compare(a.ID, b.ID) })
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tTYPE\tFAILED\tRULES")
	for _, r := range refs {
		ids := failing[r]
		slices.Sort(ids)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.ID, r.Type, len(ids), strings.Join(ids, ", "))
	}
	tw.Flush()
}

// progressWriter returns w when it is a terminal (the progress bar redraws
// a line with \r), else nil.
func progressWriter(w io.Writer) io.Writer {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return nil
	}
	return w
}

// progressBar renders one line of progress: how much of the region's
// window has been read (events come newest first), and how many events.
func progressBar(p sweep.Progress, width int) string {
	f := p.Fraction()
	n := int(f*float64(width) + 0.5)
	return fmt.Sprintf("%s [%s%s] %3d%%  %d events, %d pages",
		p.Region, strings.Repeat("#", n), strings.Repeat(".", width-n), int(f*100+0.5), p.Events, p.Pages)
}

// splitList splits a comma-separated flag value.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// cachedReader reads each resource once per scan: every event on a
// resource is judged against the same current state.
type cachedReader struct {
	r  detect.Reader
	mu sync.Mutex
	m  map[resource.Ref]cachedRead
}

type cachedRead struct {
	res resource.Resource
	err error
}

func (c *cachedReader) Read(ctx context.Context, ref resource.Ref) (resource.Resource, error) {
	c.mu.Lock()
	got, ok := c.m[ref]
	c.mu.Unlock()
	if ok {
		return got.res, got.err
	}
	res, err := c.r.Read(ctx, ref)
	c.mu.Lock()
	if c.m == nil {
		c.m = map[resource.Ref]cachedRead{}
	}
	c.m[ref] = cachedRead{res, err}
	c.mu.Unlock()
	return res, err
}
