package cli

import (
	"context"
	"fmt"

	"github.com/driftwatch/driftwatch/internal/demo"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/detect"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/filter"
)

func demoCmd(ctx context.Context, _ []string, env Env) int {
	if err := runDemo(ctx, env); err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch demo:", err)
		return exitFail
	}
	return exitOK
}

func runDemo(ctx context.Context, env Env) error {
	eng, err := loadEngine("")
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "driftwatch demo: %d rules compiled; starting a local AWS emulator (moto)...\n", len(eng.Rules()))
	srv, err := mototest.Launch()
	if err != nil {
		return err
	}
	defer srv.Stop()
	cfg, err := srv.Config(ctx)
	if err != nil {
		return fmt.Errorf("configure AWS SDK for moto: %w", err)
	}
	fmt.Fprintf(env.Stdout, "moto is up at %s (account %s, region %s)\n", srv.URL, demo.Account, demo.Region)
	cat := catalog.Default()
	flt, err := filter.New(nil, cat.Watched)
	if err != nil {
		return err
	}
	det := &detect.Detector{Filter: flt, Catalog: cat, Rules: eng, Reader: fetchaws.New(cfg, fetchaws.Options{S3PathStyle: true})}
	if err := demo.Run(ctx, env.Stdout, demo.NewClients(cfg), det, demo.Scenarios()); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "Every risky change was caught on live state, and every fix cleared it. moto stopped.")
	return nil
}
