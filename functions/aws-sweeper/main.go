// Command aws-sweeper is the driftwatch Lambda function that runs on a
// schedule to make sure nothing was missed: it catches up on CloudTrail
// write events since its checkpoint through the detector's pipeline,
// re-checks every open finding (resolving those fixed out of band) and
// checks that the trail and the watch rules are intact (shared/sweep).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/sweep"
)

func main() {
	env, err := loadEnv(os.Getenv)
	if err != nil {
		slog.Error("start sweeper", "error", err)
		os.Exit(1)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: env.LogLevel}))
	sw, err := setup(context.Background(), env, log)
	if err != nil {
		log.Error("start sweeper", "error", err)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context) (sweep.Report, error) {
		rep, err := sw.Run(ctx)
		if err != nil {
			log.ErrorContext(ctx, "sweep incomplete", "report", rep, "error", err)
		} else {
			log.InfoContext(ctx, "sweep done", "report", rep)
		}
		return rep, err
	})
}

// setup builds the sweeper from the environment, once per cold start: the
// detector's pipeline from the same config (rules, exceptions, notifiers,
// the DynamoDB store), reading member accounts through their role when
// DRIFTWATCH_MEMBER_ROLE is set.
func setup(ctx context.Context, env environment, log *slog.Logger) (*sweep.Sweeper, error) {
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
	p.Detector.Reader = fetchaws.New(awsCfg, fetchaws.Options{S3PathStyle: env.S3PathStyle, CrossAccount: env.CrossAccount})
	return sweep.New(awsCfg, sweep.Options{
		Account:       env.Account,
		Regions:       env.Regions,
		Pipeline:      p.Pipeline,
		Checkpoints:   sweep.NewDynamoCheckpoints(dynamodb.NewFromConfig(awsCfg), env.Table),
		Lag:           env.Lag,
		InitialWindow: env.InitialWindow,
		Trail:         env.Trail,
		WatchRules:    env.WatchRules,
	}), nil
}
