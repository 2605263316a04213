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

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/detect"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
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

// setup builds the handler from the environment, once per cold start.
func setup(ctx context.Context) (*handler, error) {
	env, err := loadEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: env.LogLevel}))
	rules, err := pack.AWS()
	if err != nil {
		return nil, fmt.Errorf("load built-in rules: %w", err)
	}
	eng, err := policy.Compile(rules)
	if err != nil {
		return nil, fmt.Errorf("compile rules: %w", err)
	}
	cat := catalog.Default()
	flt, err := filter.New(env.OwnPrincipals, cat.Watched)
	if err != nil {
		return nil, fmt.Errorf("own principals: %w", err)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	h := &handler{
		det:  &detect.Detector{Filter: flt, Catalog: cat, Rules: eng, Reader: fetchaws.New(cfg, fetchaws.Options{S3PathStyle: env.S3PathStyle})},
		sink: logSink{log: log},
		log:  log,
	}
	if env.DeadLetterURL != "" {
		h.park = queue.NewDeadLetter(sqs.NewFromConfig(cfg), env.DeadLetterURL)
	}
	return h, nil
}
