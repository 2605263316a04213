// Command aws-detector is the driftwatch Lambda function for AWS: it takes
// CloudTrail change events (EventBridge → SQS, or EventBridge directly),
// re-reads the touched resources live and evaluates them against the rules.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/queue"
)

func main() {
	h, err := setup(context.Background())
	if err != nil {
		slog.Error("start detector", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Invoke)
}

// setup builds the handler from the environment and the config file, once
// per cold start.
func setup(ctx context.Context) (*handler, error) {
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
	p, err := pipeline.Build(ctx, pipeline.Options{
		Config: cfg, AWS: awsCfg, S3PathStyle: env.S3PathStyle, Log: log,
		Sinks: pipeline.Sinks{Slack: cfg.Slack != nil, Jira: cfg.Jira != nil, GitHub: cfg.GitHub != nil, Publish: cfg.Publish != nil},
	})
	if err != nil {
		return nil, err
	}
	h := &handler{pipe: p.Pipeline, log: log}
	if env.DeadLetterURL != "" {
		h.park = queue.NewDeadLetter(sqs.NewFromConfig(awsCfg), env.DeadLetterURL)
	}
	return h, nil
}
