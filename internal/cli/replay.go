package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
)

// verdictLine is one line of `replay --format json`. Its keys are a public
// contract: do not add or rename them.
type verdictLine struct {
	EventID  string      `json:"event_id"`
	Rule     string      `json:"rule"`
	Severity string      `json:"severity"`
	Resource explainedRe `json:"resource"`
	Result   string      `json:"result"`
	Message  string      `json:"message"`
}

// loadEngine compiles the built-in rules plus the rules under dir ("" for
// none).
func loadEngine(dir string) (*policy.Engine, error) {
	rules, err := pack.AWS()
	if err != nil {
		return nil, fmt.Errorf("load built-in rules: %w", err)
	}
	if dir != "" {
		more, err := policy.LoadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("load rules from %s: %w", dir, err)
		}
		rules = append(rules, more...)
	}
	return policy.Compile(rules)
}

func replay(ctx context.Context, args []string, env Env) int {
	fl := newFlags("replay", env)
	format := fl.String("format", "table", "output format: json or table")
	rulesDir := fl.String("rules", "", "directory of extra *.rules.yaml files")
	var own stringList
	fl.Var(&own, "own-principal", "ARN pattern (* wildcard) of driftwatch's own principals; repeatable")
	paths, err := parseFlags(fl, args)
	if err != nil {
		return exitUsage
	}
	if err := checkFormat(*format); err != nil || len(paths) == 0 {
		if err == nil {
			err = fmt.Errorf("replay needs at least one PATH")
		}
		fmt.Fprintln(env.Stderr, "driftwatch replay:", err)
		return exitUsage
	}
	eng, err := loadEngine(*rulesDir)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch replay:", err)
		return exitFail
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch replay: load AWS configuration:", err)
		return exitFail
	}
	cat := catalog.Default()
	flt, err := filter.New(own, cat.Watched)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch replay:", err)
		return exitUsage
	}
	det := &detect.Detector{
		Filter: flt, Catalog: cat, Rules: eng,
		Reader: fetchaws.New(cfg, fetchaws.Options{S3PathStyle: customEndpoint(env)}),
	}

	inputs, errs := readInputs(paths, env)
	bad := len(errs)
	for _, e := range errs {
		fmt.Fprintln(env.Stderr, "driftwatch replay:", e)
	}
	var lines []verdictLine
	for _, in := range inputs {
		changes, derrs := change.Decode(in.name, in.data)
		bad += len(derrs)
		for _, e := range derrs {
			fmt.Fprintln(env.Stderr, "driftwatch replay:", e)
		}
		for i := range changes {
			out := det.Process(ctx, &changes[i])
			if out.Err != nil {
				bad++
				fmt.Fprintf(env.Stderr, "driftwatch replay: %s: event %s: %v\n", in.name, changes[i].EventID, out.Err)
			}
			for _, c := range out.Checked {
				if c.Err != nil {
					bad++
					fmt.Fprintf(env.Stderr, "driftwatch replay: %s: %v\n", in.name, c.Err)
				}
			}
			for _, v := range out.Verdicts() {
				lines = append(lines, verdictLine{
					EventID: v.EventID, Rule: v.RuleID, Severity: v.Severity,
					Resource: explainedRe{Type: v.Resource.Type, ID: v.Resource.ID},
					Result:   string(v.Result), Message: v.Message,
				})
			}
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetEscapeHTML(false)
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				fmt.Fprintln(env.Stderr, "driftwatch replay: write:", err)
				return exitFail
			}
		}
	} else {
		writeVerdictTable(env.Stdout, lines)
	}
	if bad > 0 {
		return exitFail
	}
	return exitOK
}

// customEndpoint reports whether the AWS endpoint was overridden (an
// emulator such as moto), which needs path-style S3 addressing.
func customEndpoint(env Env) bool {
	return env.Getenv("AWS_ENDPOINT_URL") != "" || env.Getenv("AWS_ENDPOINT_URL_S3") != ""
}

func writeVerdictTable(w io.Writer, lines []verdictLine) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tSEVERITY\tRULE\tRESOURCE\tMESSAGE")
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Result, l.Severity, l.Rule, l.Resource.ID, l.Message)
	}
	tw.Flush()
}
