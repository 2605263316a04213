package main

import (
	"fmt"
	"os"

	"log/slog"
	"strconv"
	"strings"

	dwconfig "github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// environment is the detector's configuration, read once at cold start.
type environment struct {
	// OwnPrincipals are ARN patterns of driftwatch's own principals
	// (DRIFTWATCH_OWN_PRINCIPALS, comma-separated).
	OwnPrincipals []string
	// DeadLetterURL is the queue unprocessable messages are parked in
	// (DRIFTWATCH_DLQ_URL).
	DeadLetterURL string
	// MaxReceives is the source queue's maxReceiveCount
	// (DRIFTWATCH_MAX_RECEIVE_COUNT; 0 or unset: unknown), so that a message
	// failing on its last receive is parked with its reason.
	MaxReceives int
	// LogLevel is LOG_LEVEL: debug, info (default), warn or error.
	LogLevel slog.Level
	// S3PathStyle is set when AWS_ENDPOINT_URL points at an emulator.
	S3PathStyle bool
	// ConfigPath is the driftwatch.yaml to read (DRIFTWATCH_CONFIG; default
	// driftwatch.yaml beside the binary when present).
	ConfigPath string
	// Table is the DynamoDB findings table (DRIFTWATCH_TABLE); when set it
	// overrides the config's store.
	Table string
	// Revert is the deployment's revert switch (DRIFTWATCH_REVERT: off,
	// dry-run or on; default dry-run, set from the template's AutoRevert):
	// dry-run notes what would be reverted with the exact calls, on
	// reverts the failing verdicts of rules whose mode is revert.
	Revert revert.Switch
	// Account is the function's own account (DRIFTWATCH_ACCOUNT_ID): the
	// automatic revert acts there only.
	Account string
}

// config reads the config file, if any, and applies the environment's
// overrides.
func (e environment) config() (*dwconfig.Config, error) {
	cfg := dwconfig.Default()
	path := e.ConfigPath
	if path == "" {
		if _, err := os.Stat("driftwatch.yaml"); err == nil {
			path = "driftwatch.yaml"
		}
	}
	if path != "" {
		c, err := dwconfig.Load(path)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	cfg.OwnPrincipals = append(cfg.OwnPrincipals, e.OwnPrincipals...)
	if e.Table != "" {
		cfg.Store = dwconfig.Store{Kind: dwconfig.StoreDynamoDB, Table: e.Table, SeenTTL: cfg.Store.SeenTTL}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func loadEnv(getenv func(string) string) (environment, error) {
	var e environment
	for _, p := range strings.Split(getenv("DRIFTWATCH_OWN_PRINCIPALS"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			e.OwnPrincipals = append(e.OwnPrincipals, p)
		}
	}
	e.DeadLetterURL = getenv("DRIFTWATCH_DLQ_URL")
	if v := getenv("DRIFTWATCH_MAX_RECEIVE_COUNT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return e, fmt.Errorf("DRIFTWATCH_MAX_RECEIVE_COUNT %q: want a whole number of receives", v)
		}
		e.MaxReceives = n
	}
	if lvl := getenv("LOG_LEVEL"); lvl != "" {
		if err := e.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			return e, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", lvl)
		}
	}
	e.S3PathStyle = getenv("AWS_ENDPOINT_URL") != ""
	e.ConfigPath = getenv("DRIFTWATCH_CONFIG")
	e.Table = getenv("DRIFTWATCH_TABLE")
	sw, err := revert.ParseSwitch(strings.TrimSpace(getenv("DRIFTWATCH_REVERT")))
	if err != nil {
		return e, fmt.Errorf("DRIFTWATCH_REVERT: %w", err)
	}
	e.Revert = sw
	e.Account = strings.TrimSpace(getenv("DRIFTWATCH_ACCOUNT_ID"))
	return e, nil
}
