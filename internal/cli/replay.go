package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/config"

	dwconfig "github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"

	"github.com/driftwatch/driftwatch/shared/change"
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
	rules, err := pack.All()
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
	cfgPath := fl.String("config", "", "driftwatch.yaml (default: ./driftwatch.yaml when present, else built-in defaults)")
	rulesDir := fl.String("rules", "", "directory of extra *.rules.yaml files")
	var sinks pipeline.Sinks
	fl.BoolVar(&sinks.Slack, "slack", false, "announce findings in Slack as the config says")
	fl.BoolVar(&sinks.Jira, "jira", false, "open Jira tickets as the config says")
	fl.BoolVar(&sinks.GitHub, "github", false, "open GitHub issues as the config says")
	fl.BoolVar(&sinks.Publish, "publish", false, "publish findings to EventBridge as the config says")
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
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch replay:", err)
		return exitUsage
	}
	cfg.OwnPrincipals = append(cfg.OwnPrincipals, own...)
	if *rulesDir != "" {
		cfg.Rules.Dirs = append(cfg.Rules.Dirs, *rulesDir)
	}
	if *cfgPath == "" && !fileExists(defaultConfig) {
		// Without a config file, findings live for this run only.
		cfg.Store.Path = sqlite.Memory
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch replay: load AWS configuration:", err)
		return exitFail
	}
	var console *pipeline.Console
	if *format == "table" {
		console = &pipeline.Console{W: env.Stdout}
	}
	opts := pipeline.Options{Config: cfg, AWS: awsCfg, S3PathStyle: customEndpoint(env), Sinks: sinks}
	if console != nil {
		opts.Notifiers = []finding.Notifier{console}
	}
	p, err := pipeline.Build(ctx, opts)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch replay:", err)
		return exitFail
	}
	defer p.Close()
	if console != nil {
		console.Rules = p.Engine.Rule
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
			res, err := p.Handle(ctx, &changes[i])
			if err != nil {
				bad++
				fmt.Fprintf(env.Stderr, "driftwatch replay: %s: event %s: %v\n", in.name, changes[i].EventID, err)
			}
			for _, c := range res.Outcome.Checked {
				if c.Err != nil {
					bad++
					fmt.Fprintf(env.Stderr, "driftwatch replay: %s: %v\n", in.name, c.Err)
				}
			}
			for _, v := range res.Outcome.Verdicts() {
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

// defaultConfig is the config file the CLI reads when --config is not
// given and the file exists.
const defaultConfig = "driftwatch.yaml"

// loadConfig reads path, or ./driftwatch.yaml when path is "" and it
// exists, or returns the defaults.
func loadConfig(path string) (*dwconfig.Config, error) { return dwconfig.Find(path) }

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
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
