// Command aws-detector is the driftwatch Lambda function for AWS: it takes
// CloudTrail change events (EventBridge → SQS, or EventBridge directly),
// re-reads the touched resources live and evaluates them against the rules,
// and, as the revert switch (DRIFTWATCH_REVERT) says, reverts the failing
// verdicts of rules whose mode is revert (or notes what it would revert).
// Its own changes are never checked: the template lists its role among
// the own principals (DRIFTWATCH_OWN_PRINCIPALS), which the filter drops.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/driftwatch/driftwatch/shared/lambdahandler"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/queue"
)

func main() {
	h, err := setup(context.Background())
	if err != nil {
		slog.Error("start detector", "error", err)
		os.Exit(1)
	}
	if os.Getenv("DRIFTWATCH_READY_PROBE") == "1" {
		// Cold-start benchmark (internal/benchreport): stop once ready
		// to handle the first event, without the Lambda runtime.
		fmt.Println("ready")
		return
	}
	lambda.Start(h.Invoke)
}

// setup builds the handler from the environment and the config file, once
// per cold start.
func setup(ctx context.Context) (*lambdahandler.Handler, error) {
	env, err := loadEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: env.LogLevel}))
	cfg, err := env.config()
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	cross, err := fetchaws.CrossAccountFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	p, err := pipeline.Build(ctx, pipeline.Options{
		Config: cfg, AWS: awsCfg, S3PathStyle: env.S3PathStyle, CrossAccount: cross, Log: log,
		RevertSwitch: env.Revert, RevertAccount: env.Account,
		Sinks: pipeline.Sinks{Slack: cfg.Slack != nil, Jira: cfg.Jira != nil, GitHub: cfg.GitHub != nil, Publish: cfg.Publish != nil},
	})
	if err != nil {
		return nil, err
	}
	h := &lambdahandler.Handler{Pipeline: p.Pipeline, MaxReceives: env.MaxReceives, Log: log}
	if env.DeadLetterURL != "" {
		h.DeadLetter = queue.NewDeadLetter(sqs.NewFromConfig(awsCfg), env.DeadLetterURL)
	}
	return h, nil
}
