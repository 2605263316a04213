// Command azure-detector is driftwatch's detector for Azure, run as an
// Azure Functions custom handler: the Functions host invokes it for each
// Azure Resource Manager change event of an Event Grid system topic
// (function DriftOnResourceEvent, an eventGridTrigger), and Event Grid can
// also deliver straight to its webhook route. It re-reads the touched
// resources through ARM and evaluates them against the rules. This file
// only wires; the ways in live in shared/ingest/eventgrid.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	fetchazure "github.com/driftwatch/driftwatch/shared/fetch/azure"
	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	egpublish "github.com/driftwatch/driftwatch/shared/publish/eventgrid"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		slog.Error("azure detector", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, err := loadEnv(os.Getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: env.LogLevel}))
	p, err := build(ctx, env, log)
	if err != nil {
		return err
	}
	defer p.Close()
	h := &eventgrid.Handler{Processor: p.Pipeline, Log: log}
	srv := &http.Server{
		Addr:              "127.0.0.1:" + env.Port, // only the Functions host, on this machine, talks to the handler
		Handler:           routes(h, env.WebhookSecret, log),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("azure detector listening", "env", env)
	select {
	case err := <-errc:
		return fmt.Errorf("serve on port %s: %w", env.Port, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// build assembles the pipeline: filter, catalog, ARM reader, rules, the
// findings table, the notifiers the config names, Event Grid publishing
// when a topic is set, and the automatic revert stage.
func build(ctx context.Context, env environment, log *slog.Logger) (*pipeline.Built, error) {
	opts, err := options(env, log)
	if err != nil {
		return nil, err
	}
	return pipeline.Build(ctx, opts)
}

// options are the pipeline's options for env: the managed identity (or
// the default chain) for ARM, the table store and publishing, the
// notifiers the config names, and the revert switch.
func options(env environment, log *slog.Logger) (pipeline.Options, error) {
	cfg, err := env.config()
	if err != nil {
		return pipeline.Options{}, err
	}
	cred, err := fetchazure.NewCredential(env.Credential, env.ClientID)
	if err != nil {
		return pipeline.Options{}, err
	}
	opts := pipeline.Options{
		Config: cfg, Azure: cred, NoAWS: true, Log: log,
		Sinks:        pipeline.Sinks{Slack: cfg.Slack != nil, Jira: cfg.Jira != nil, GitHub: cfg.GitHub != nil},
		RevertSwitch: env.AutoRevert,
	}
	if env.EventGridEndpoint != "" {
		pub, err := egpublish.NewWithCredential(env.EventGridEndpoint, cred, nil, egpublish.Options{})
		if err != nil {
			return pipeline.Options{}, err
		}
		opts.Notifiers = append(opts.Notifiers, pub)
	}
	return opts, nil
}
