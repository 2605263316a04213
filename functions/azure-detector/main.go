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

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/detect"
	fetchazure "github.com/driftwatch/driftwatch/shared/fetch/azure"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
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
	det, err := detector(env)
	if err != nil {
		return err
	}
	h := &eventgrid.Handler{Processor: det, Sink: eventgrid.LogSink{Log: log}, Log: log}
	srv := &http.Server{
		Addr:              ":" + env.Port,
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

// detector builds the pipeline: filter, catalog, ARM reader, Azure rules.
func detector(env environment) (*detect.Detector, error) {
	rules, err := pack.Azure()
	if err != nil {
		return nil, fmt.Errorf("load built-in Azure rules: %w", err)
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
	cred, err := fetchazure.NewCredential(env.Credential, env.ClientID)
	if err != nil {
		return nil, err
	}
	reader, err := fetchazure.New(cred, fetchazure.Options{})
	if err != nil {
		return nil, err
	}
	return &detect.Detector{Filter: flt, Catalog: cat, Reader: reader, Rules: eng}, nil
}
