package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/driftwatch/driftwatch/shared/baseline"
	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/detect"
	"github.com/driftwatch/driftwatch/shared/exception"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	fetchazure "github.com/driftwatch/driftwatch/shared/fetch/azure"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
	"github.com/driftwatch/driftwatch/shared/publish"
	"github.com/driftwatch/driftwatch/shared/revert"
	revertazure "github.com/driftwatch/driftwatch/shared/revert/azure"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/slack"
	"github.com/driftwatch/driftwatch/shared/state/dynamo"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"
	"github.com/driftwatch/driftwatch/shared/state/table"
)

// Sinks says which configured notifiers to switch on. The Lambda switches
// on everything the config names; the CLI only what its flags ask for.
type Sinks struct {
	Slack, Jira, GitHub, Publish bool
}

// Options are what Build needs besides the config.
type Options struct {
	Config *config.Config
	// AWS is the SDK configuration for reads, the DynamoDB store, Secrets
	// Manager and EventBridge.
	AWS aws.Config
	// S3PathStyle is set when AWS_ENDPOINT_URL points at an emulator.
	S3PathStyle bool
	// CrossAccount, if set, reads resources of other accounts through the
	// member role assumed there (organisation-wide deployments).
	CrossAccount *fetchaws.CrossAccount
	// Azure, when set, reads ARM resources (and the table store) with this
	// credential; without it Azure resources cannot be read.
	Azure azcore.TokenCredential
	// ARM are the ARM client options (tests point them at a fake server).
	ARM *arm.ClientOptions
	// NoAWS leaves AWS resources without a reader (the Azure function).
	NoAWS bool
	Sinks Sinks
	// Store, if set, replaces the store the config names (tests).
	Store finding.Store
	// Notifiers are added to the configured ones (a console printer, tests).
	Notifiers []finding.Notifier
	// Secrets resolves secret references (default: config.Resolve with
	// Secrets Manager from AWS).
	Secrets func(ctx context.Context, ref config.SecretRef) (secret.Secret, error)
	// SlackAPIURL, JiraBaseURL-style overrides are for tests; empty uses
	// the config's.
	SlackAPIURL string
	// RevertSwitch turns the automatic revert stage on: dry-run reports
	// what would be reverted with the exact calls, on reverts the failing
	// verdicts of rules whose mode is revert. "" and off build no stage
	// (the CLI's default). The stage's Reverter remediates with AWS
	// (unless NoAWS) and with ARM (when Azure is set; see CloudReverter),
	// verifies with the pipeline's reader and rules, allowlists the
	// config's principals (Allowlisted) and spends a revert budget kept
	// in the finding store (revert.NewStoreBudget), shared by every
	// worker of the deployment.
	RevertSwitch revert.Switch
	// Revert, if set, replaces the Reverter RevertSwitch would build
	// (tests).
	Revert Reverter
	// RevertAccount is the account the remediations act in (the
	// deployment's own): resources of other accounts are not reverted.
	// Empty: CrossAccount's home account, else no such check (a
	// single-account deployment).
	RevertAccount string
	Log           *slog.Logger
}

// Built is an assembled pipeline with what it holds open.
type Built struct {
	*Pipeline
	Engine *policy.Engine
	// Close releases the store.
	Close func() error
}

// Rules returns the built-in rules plus those in the config's rule
// directories, without the disabled ones, with mode overrides applied.
func Rules(cfg *config.Config) ([]policy.Rule, error) {
	rules, err := pack.All()
	if err != nil {
		return nil, fmt.Errorf("load built-in rules: %w", err)
	}
	for _, dir := range cfg.Rules.Dirs {
		more, err := policy.LoadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("load rules from %s: %w", dir, err)
		}
		rules = append(rules, more...)
	}
	known := func(id string) bool {
		return slices.ContainsFunc(rules, func(r policy.Rule) bool { return r.ID == id })
	}
	if err := cfg.CheckRuleIDs(known); err != nil {
		return nil, err
	}
	out := rules[:0]
	for _, r := range rules {
		if slices.Contains(cfg.Rules.Disabled, r.ID) {
			continue
		}
		if m, ok := cfg.Rules.ModeOverrides[r.ID]; ok {
			r.Mode = m
		}
		out = append(out, r)
	}
	return out, nil
}

// Build assembles the pipeline the config describes.
func Build(ctx context.Context, opts Options) (*Built, error) {
	cfg := opts.Config
	if cfg == nil {
		cfg = config.Default()
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rules, err := Rules(cfg)
	if err != nil {
		return nil, err
	}
	baselines, closeBaselines, err := openBaselines(ctx, cfg.Store, opts)
	if err != nil {
		return nil, err
	}
	var compileOpts []policy.Option
	if baselines != nil {
		compileOpts = append(compileOpts, policy.WithBaselines(baseline.Source{Store: baselines}))
	}
	eng, err := policy.Compile(rules, compileOpts...)
	if err != nil {
		_ = closeBaselines()
		return nil, fmt.Errorf("compile rules: %w", err)
	}
	cat := catalog.Default()
	flt, err := filter.New(cfg.OwnPrincipals, cat.Watched)
	if err != nil {
		return nil, fmt.Errorf("own_principals: %w", err)
	}
	var router detect.Router
	if !opts.NoAWS {
		router.AWS = fetchaws.New(opts.AWS, fetchaws.Options{S3PathStyle: opts.S3PathStyle, CrossAccount: opts.CrossAccount})
	}
	var azReader *fetchazure.Reader
	if opts.Azure != nil {
		az, err := fetchazure.New(opts.Azure, fetchazure.Options{ClientOptions: opts.ARM})
		if err != nil {
			return nil, fmt.Errorf("azure reader: %w", err)
		}
		router.Azure, azReader = az, az
	}
	det := &detect.Detector{Filter: flt, Catalog: cat, Rules: eng, Reader: router}

	store, closeFindings, err := openStore(ctx, cfg.Store, opts)
	if err != nil {
		_ = closeBaselines()
		return nil, err
	}
	closeStore := func() error { return errors.Join(closeFindings(), closeBaselines()) }
	secrets := opts.Secrets
	if secrets == nil {
		sm := secretsmanager.NewFromConfig(opts.AWS)
		secrets = func(ctx context.Context, ref config.SecretRef) (secret.Secret, error) {
			return config.Resolve(ctx, ref, sm)
		}
	}
	notifiers, err := buildNotifiers(ctx, cfg, opts, eng, secrets)
	if err != nil {
		_ = closeStore()
		return nil, err
	}
	waiver, err := exception.FromConfig(cfg)
	if err != nil {
		_ = closeStore()
		return nil, fmt.Errorf("exceptions: %w", err)
	}
	lc := &finding.Lifecycle{
		Store:     store,
		Notifiers: append(notifiers, opts.Notifiers...),
		Waiver:    waiver,
		SeenTTL:   cfg.Store.SeenTTL,
	}
	rev, err := buildReverter(cfg, opts, router, azReader, eng, store, baselines, log)
	if err != nil {
		_ = closeStore()
		return nil, err
	}
	log.Info("pipeline ready", "rules", len(eng.Rules()), "store", cfg.Store.Kind, "notifiers", names(lc.Notifiers),
		"revert", opts.RevertSwitch)
	p := &Pipeline{Detector: det, Lifecycle: lc, Revert: rev, RevertAccount: opts.RevertAccount}
	if p.RevertAccount == "" && opts.CrossAccount != nil {
		p.RevertAccount = opts.CrossAccount.Home
	}
	return &Built{Pipeline: p, Engine: eng, Close: closeStore}, nil
}

// buildReverter returns the Reverter of the automatic revert stage, or nil
// when the switch builds none: AWS's (unless NoAWS) and Azure's (when an
// Azure credential is set), behind a CloudReverter when there are both.
// They share the switch, the allowlist and the revert budget.
func buildReverter(cfg *config.Config, opts Options, reader revert.Reader, azReader *fetchazure.Reader, eng *policy.Engine, store finding.Store, baselines baseline.Store, log *slog.Logger) (Reverter, error) {
	if opts.Revert != nil {
		return opts.Revert, nil
	}
	if opts.RevertSwitch == "" || opts.RevertSwitch == revert.SwitchOff || (opts.NoAWS && azReader == nil) {
		return nil, nil
	}
	budget, err := revert.NewStoreBudget(store, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("revert budget: %w", err)
	}
	rc := revert.Config{Switch: opts.RevertSwitch, Allowlisted: Allowlisted(cfg), Budget: budget}
	var awsRev, azRev Reverter
	if !opts.NoAWS {
		ro := revert.Options{S3PathStyle: opts.S3PathStyle}
		if baselines != nil {
			ro.Baselines = baseline.Source{Store: baselines} // restore-baseline
		}
		rem := revert.New(opts.AWS, reader, eng, ro)
		g, err := revert.NewReverter(rem, rc)
		if err != nil {
			return nil, fmt.Errorf("automatic revert: %w", err)
		}
		awsRev = g
	}
	if azReader != nil {
		rem, err := revertazure.New(opts.Azure, opts.ARM, azReader, eng, revertazure.Options{ProtectedPrincipals: literalPrincipals(cfg.OwnPrincipals)})
		if err != nil {
			return nil, fmt.Errorf("automatic revert on Azure: %w", err)
		}
		g, err := revertazure.NewReverter(rem, rc)
		if err != nil {
			return nil, fmt.Errorf("automatic revert on Azure: %w", err)
		}
		azRev = g
	}
	if len(cfg.OwnPrincipals) == 0 {
		log.Warn("automatic revert without own_principals: the changes driftwatch's reverts make are checked like any other (no loop guard)",
			"revert", opts.RevertSwitch)
	}
	switch {
	case azRev == nil:
		return awsRev, nil
	case awsRev == nil:
		return azRev, nil
	}
	return CloudReverter{AWS: awsRev, Azure: azRev}, nil
}

// literalPrincipals returns the own-principal entries without wildcards
// (an Entra object ID such as the managed identity's): their role
// assignments are never deleted by a revert.
func literalPrincipals(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		if !strings.ContainsAny(p, "*?") {
			out = append(out, p)
		}
	}
	return out
}

func names(ns []finding.Notifier) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, n.Name())
	}
	return out
}

// openBaselines opens the approved-baseline store beside the findings
// (nil for the Azure table store, which has none yet: baseline rules then
// pass).
func openBaselines(ctx context.Context, c config.Store, opts Options) (baseline.Store, func() error, error) {
	none := func() error { return nil }
	switch c.Kind {
	case config.StoreDynamoDB:
		return baseline.NewDynamo(dynamodb.NewFromConfig(opts.AWS), c.Table), none, nil
	case config.StoreSQLite, "":
		s, err := baseline.OpenSQLite(ctx, c.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("open baseline store %s: %w", c.Path, err)
		}
		return s, s.Close, nil
	}
	return nil, none, nil
}

func openStore(ctx context.Context, c config.Store, opts Options) (finding.Store, func() error, error) {
	if opts.Store != nil {
		return opts.Store, func() error { return nil }, nil
	}
	switch c.Kind {
	case config.StoreDynamoDB:
		return dynamo.New(dynamodb.NewFromConfig(opts.AWS), c.Table, dynamo.Options{}), func() error { return nil }, nil
	case config.StoreTable:
		if opts.Azure == nil {
			return nil, nil, fmt.Errorf("store.kind table needs an Azure credential")
		}
		cl, err := aztables.NewClient(strings.TrimRight(c.Endpoint, "/")+"/"+c.Table, opts.Azure, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("table store %s/%s: %w", c.Endpoint, c.Table, err)
		}
		return table.New(cl, table.Options{}), func() error { return nil }, nil
	default:
		s, err := sqlite.Open(ctx, c.Path, sqlite.Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("open finding store %s: %w", c.Path, err)
		}
		return s, s.Close, nil
	}
}

// buildNotifiers builds the notifiers that are both configured and
// switched on.
func buildNotifiers(ctx context.Context, cfg *config.Config, opts Options, eng *policy.Engine,
	secrets func(context.Context, config.SecretRef) (secret.Secret, error)) ([]finding.Notifier, error) {
	var out []finding.Notifier
	ruleInfo := func(id string) (string, []string) {
		if r := eng.Rule(id); r != nil {
			return r.Title, r.References.CIS
		}
		return "", nil
	}
	if opts.Sinks.Slack {
		if cfg.Slack == nil {
			return nil, fmt.Errorf("slack: switched on but the config has no slack section")
		}
		sc := slack.Config{
			Routing:  slackRouting(cfg.Slack.Routing),
			RuleInfo: ruleInfo,
			Request: func(c finding.Change) any {
				if c.Request == "" {
					return nil
				}
				return c.Request
			},
			APIURL: opts.SlackAPIURL,
		}
		if cfg.Slack.Mode == config.SlackWebhook {
			s, err := secrets(ctx, cfg.Slack.WebhookURL)
			if err != nil {
				return nil, fmt.Errorf("slack.webhook_url: %w", err)
			}
			sc.WebhookURL = secret.New(s.Reveal())
		} else {
			s, err := secrets(ctx, cfg.Slack.Token)
			if err != nil {
				return nil, fmt.Errorf("slack.token: %w", err)
			}
			sc.BotToken = secret.New(s.Reveal())
		}
		n, err := slack.New(sc)
		if err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
		out = append(out, n)
	}
	tickets, err := buildTickets(ctx, cfg, opts, eng, secrets)
	if err != nil {
		return nil, err
	}
	out = append(out, tickets...)
	if opts.Sinks.Publish {
		if cfg.Publish == nil {
			return nil, fmt.Errorf("publish: switched on but the config has no publish section")
		}
		out = append(out, publish.FromConfig(eventbridge.NewFromConfig(opts.AWS), cfg.Publish, eng.Rule))
	}
	return out, nil
}

func slackRouting(r config.SlackRouting) slack.Routing {
	out := slack.Routing{Default: r.Default}
	for _, rt := range r.Routes {
		out.Routes = append(out.Routes, slack.Route(rt))
	}
	return out
}
