package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	dwconfig "github.com/driftwatch/driftwatch/shared/config"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
)

// environment is the sweeper's configuration, read once at cold start.
type environment struct {
	// Table is the DynamoDB findings table (DRIFTWATCH_TABLE, as for the
	// detector), which also keeps the catch-up checkpoints.
	Table string
	// ConfigPath is the driftwatch.yaml to read (DRIFTWATCH_CONFIG; default
	// driftwatch.yaml beside the binary when present): rules, exceptions and
	// notifiers, as for the detector.
	ConfigPath string
	// Account is the function's own account (DRIFTWATCH_ACCOUNT_ID).
	Account string
	// Regions are caught up one after another (DRIFTWATCH_REGIONS,
	// comma-separated; default the function's region).
	Regions []string
	// Trail is the trail the tamper check requires (DRIFTWATCH_TRAIL; empty
	// accepts any multi-region logging trail).
	Trail string
	// WatchRules are the EventBridge watch rules the tamper check requires
	// to be enabled (DRIFTWATCH_WATCH_RULES, comma-separated; a rule on a
	// custom bus is "bus|name", as CloudFormation's Ref returns it).
	WatchRules []string
	// OwnPrincipals are ARN patterns of driftwatch's own principals
	// (DRIFTWATCH_OWN_PRINCIPALS, comma-separated), as for the detector.
	OwnPrincipals []string
	// Lag and InitialWindow tune the catch-up (DRIFTWATCH_SWEEP_LAG,
	// DRIFTWATCH_SWEEP_INITIAL_WINDOW, Go durations; 0 = the defaults).
	Lag, InitialWindow time.Duration
	// CrossAccount is set when DRIFTWATCH_MEMBER_ROLE names the role to
	// assume in member accounts.
	CrossAccount *fetchaws.CrossAccount
	// LogLevel is LOG_LEVEL: debug, info (default), warn or error.
	LogLevel slog.Level
	// S3PathStyle is set when AWS_ENDPOINT_URL points at an emulator.
	S3PathStyle bool
}

func list(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func loadEnv(getenv func(string) string) (environment, error) {
	e := environment{
		Table:         getenv("DRIFTWATCH_TABLE"),
		ConfigPath:    getenv("DRIFTWATCH_CONFIG"),
		Account:       getenv(fetchaws.EnvAccountID),
		Regions:       list(getenv("DRIFTWATCH_REGIONS")),
		Trail:         getenv("DRIFTWATCH_TRAIL"),
		WatchRules:    list(getenv("DRIFTWATCH_WATCH_RULES")),
		OwnPrincipals: list(getenv("DRIFTWATCH_OWN_PRINCIPALS")),
		S3PathStyle:   getenv("AWS_ENDPOINT_URL") != "",
	}
	if e.Table == "" {
		return e, fmt.Errorf("DRIFTWATCH_TABLE is not set: the sweeper needs the findings table")
	}
	if e.Account == "" {
		return e, fmt.Errorf("%s is not set", fetchaws.EnvAccountID)
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"DRIFTWATCH_SWEEP_LAG", &e.Lag}, {"DRIFTWATCH_SWEEP_INITIAL_WINDOW", &e.InitialWindow}} {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil || dur <= 0 {
			return e, fmt.Errorf("%s %q: want a positive duration such as 15m", d.name, v)
		}
		*d.dst = dur
	}
	if lvl := getenv("LOG_LEVEL"); lvl != "" {
		if err := e.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			return e, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", lvl)
		}
	}
	ca, err := fetchaws.CrossAccountFromEnv(getenv)
	if err != nil {
		return e, err
	}
	e.CrossAccount = ca
	return e, nil
}

// config reads the config file, if any, and points its store at the table.
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
	cfg.Store = dwconfig.Store{Kind: dwconfig.StoreDynamoDB, Table: e.Table, SeenTTL: cfg.Store.SeenTTL}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}
