package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	dwconfig "github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// environment is the function's configuration, read once per cold start.
type environment struct {
	// ConfigPath is the driftwatch.yaml to read (DRIFTWATCH_CONFIG; default
	// driftwatch.yaml beside the binary when present). Its slack.actions
	// section names who may revert and accept.
	ConfigPath string
	// Table is the DynamoDB findings table (DRIFTWATCH_TABLE); when set it
	// overrides the config's store.
	Table string
	// SigningSecret is a reference to the Slack app's signing secret
	// (DRIFTWATCH_SLACK_SIGNING_SECRET: a Secrets Manager ARN or env:NAME);
	// when set it overrides slack.actions.signing_secret.
	SigningSecret dwconfig.SecretRef
	// Switch is the deployment's revert switch (DRIFTWATCH_REVERT: off,
	// dry-run or on; default dry-run). Revert now reverts unless it is off.
	Switch revert.Switch
	// Function is the function's own name (AWS_LAMBDA_FUNCTION_NAME, set by
	// Lambda), which the queue invokes.
	Function string
	// LogLevel is LOG_LEVEL: debug, info (default), warn or error.
	LogLevel slog.Level
	// S3PathStyle is set when AWS_ENDPOINT_URL points at an emulator.
	S3PathStyle bool
}

func loadEnv(getenv func(string) string) (environment, error) {
	e := environment{
		ConfigPath:    getenv("DRIFTWATCH_CONFIG"),
		Table:         getenv("DRIFTWATCH_TABLE"),
		SigningSecret: dwconfig.SecretRef(getenv("DRIFTWATCH_SLACK_SIGNING_SECRET")),
		Function:      getenv("AWS_LAMBDA_FUNCTION_NAME"),
		S3PathStyle:   getenv("AWS_ENDPOINT_URL") != "",
	}
	sw, err := revert.ParseSwitch(getenv("DRIFTWATCH_REVERT"))
	if err != nil {
		return e, fmt.Errorf("DRIFTWATCH_REVERT: %w", err)
	}
	e.Switch = sw
	if lvl := getenv("LOG_LEVEL"); lvl != "" {
		if err := e.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			return e, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", lvl)
		}
	}
	if e.SigningSecret != "" {
		if err := e.SigningSecret.Check(); err != nil {
			return e, fmt.Errorf("DRIFTWATCH_SLACK_SIGNING_SECRET: %w", err)
		}
	}
	if e.Function == "" {
		return e, errors.New("AWS_LAMBDA_FUNCTION_NAME is not set: the function queues its work by invoking itself")
	}
	return e, nil
}

// config reads the config file, if any, and applies the environment's
// overrides. The result has a slack.actions section.
func (e environment) config() (*dwconfig.Config, error) {
	cfg := dwconfig.Default()
	path := e.ConfigPath
	if path == "" {
		if _, err := os.Stat(dwconfig.DefaultFile); err == nil {
			path = dwconfig.DefaultFile
		}
	}
	if path != "" {
		c, err := dwconfig.Load(path)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	if e.Table != "" {
		cfg.Store = dwconfig.Store{Kind: dwconfig.StoreDynamoDB, Table: e.Table, SeenTTL: cfg.Store.SeenTTL}
	}
	if e.SigningSecret != "" {
		if cfg.Slack == nil {
			return nil, errors.New("DRIFTWATCH_SLACK_SIGNING_SECRET is set but the config has no slack section (the alerts come from it)")
		}
		if cfg.Slack.Actions == nil {
			cfg.Slack.Actions = &dwconfig.SlackActions{}
		}
		cfg.Slack.Actions.SigningSecret = e.SigningSecret
	}
	if cfg.Slack == nil || cfg.Slack.Actions == nil {
		return nil, errors.New("the config has no slack.actions section: nothing to verify Slack's requests with")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}
