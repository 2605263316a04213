// Command aws-slack-actions is the driftwatch Lambda function behind the
// buttons of the Slack alerts (Revert now, Acknowledge, Snooze 24 h,
// Accept as baseline). Slack posts each press to the function's URL; the
// function verifies the request and answers at once, then carries the
// press out in an asynchronous invocation of itself (shared/interact,
// docs/slack-actions.md).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/driftwatch/driftwatch/shared/baseline"
	dwconfig "github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/interact"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/revert"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/slack"
)

func main() {
	a, err := setup(context.Background())
	if err != nil {
		slog.Error("start slack actions", "error", err)
		os.Exit(1)
	}
	lambda.Start(a.Invoke)
}

// setup builds the handler and the worker from the environment and the
// config file, once per cold start (the signing secret is read from
// Secrets Manager here, once).
func setup(ctx context.Context) (*app, error) {
	env, err := loadEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: env.LogLevel}))
	cfg, err := env.config()
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	sm := secretsmanager.NewFromConfig(awsCfg)
	resolve := func(ctx context.Context, ref dwconfig.SecretRef) (secret.Secret, error) {
		return dwconfig.Resolve(ctx, ref, sm)
	}
	signing, err := resolve(ctx, cfg.Slack.Actions.SigningSecret)
	if err != nil {
		return nil, fmt.Errorf("slack.actions.signing_secret: %w", err)
	}

	// The pipeline gives the store, the reader and the lifecycle with the
	// configured notifiers (so that a finding a revert fixes is resolved in
	// Slack and in its ticket, as after any change).
	p, err := pipeline.Build(ctx, pipeline.Options{
		Config: cfg, AWS: awsCfg, S3PathStyle: env.S3PathStyle, Log: log, Secrets: resolve,
		Sinks: pipeline.Sinks{Slack: true, Jira: cfg.Jira != nil, GitHub: cfg.GitHub != nil, Publish: cfg.Publish != nil},
	})
	if err != nil {
		return nil, err
	}
	store := p.Lifecycle.Store
	var baselines baseline.Store
	switch cfg.Store.Kind {
	case dwconfig.StoreDynamoDB:
		baselines = baseline.NewDynamo(dynamodb.NewFromConfig(awsCfg), cfg.Store.Table)
	default:
		s, err := baseline.OpenSQLite(ctx, cfg.Store.Path)
		if err != nil {
			return nil, err
		}
		baselines = s
	}
	rules, err := pipeline.Rules(cfg)
	if err != nil {
		return nil, err
	}
	eng, err := policy.Compile(rules, policy.WithBaselines(baseline.Source{Store: baselines}))
	if err != nil {
		return nil, fmt.Errorf("compile rules: %w", err)
	}
	reader := p.Detector.Reader
	budget, err := revert.NewStoreBudget(store, 0, 0)
	if err != nil {
		return nil, err
	}
	gates, err := revert.NewReverter(revert.New(awsCfg, reader, eng, revert.Options{S3PathStyle: env.S3PathStyle, Baselines: baseline.Source{Store: baselines}}), revert.Config{
		Switch: env.Switch, Allowlisted: allowlisted(cfg), Budget: budget,
	})
	if err != nil {
		return nil, err
	}
	access := interact.Access{Users: cfg.Slack.Actions.Users, Groups: cfg.Slack.Actions.UserGroups}
	if len(access.Groups) > 0 {
		token, err := resolve(ctx, cfg.Slack.Token)
		if err != nil {
			return nil, fmt.Errorf("slack.token: %w", err)
		}
		n, err := slack.New(slack.Config{BotToken: token, Routing: slack.Routing{Default: cfg.Slack.Routing.Default}})
		if err != nil {
			return nil, err
		}
		access.Members = n.UserGroupMembers
	}
	w := &interact.Worker{
		Findings: store, Reader: reader, Rules: eng, Reverter: gates, Baselines: baselines,
		Lifecycle: p.Lifecycle, Respond: &slack.Responder{}, Access: access, Log: log,
		Details: func(f *finding.Finding) slack.Details {
			if r := eng.Rule(f.RuleID); r != nil {
				return slack.Details{Title: r.Title, CIS: r.References.CIS}
			}
			return slack.Details{}
		},
	}
	h, err := interact.NewHandler(interact.HandlerConfig{
		SigningSecret: signing, Marks: store, Log: log,
		Queue: &selfQueue{api: awslambda.NewFromConfig(awsCfg), function: env.Function},
	})
	if err != nil {
		return nil, err
	}
	log.Info("slack actions ready", "revert_switch", env.Switch, "users", len(access.Users), "user_groups", len(access.Groups))
	return &app{http: h, worker: w}, nil
}

// allowlisted reports whether a principal is on the config's allowlist
// for every rule (entries limited to some rules suppress those findings,
// so they never show buttons).
func allowlisted(cfg *dwconfig.Config) func(string) bool {
	return func(arn string) bool {
		for _, a := range cfg.Allowlist {
			if len(a.Rules) == 0 && a.Principal.Match(arn) {
				return true
			}
		}
		return false
	}
}
