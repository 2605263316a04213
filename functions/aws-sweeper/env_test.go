package main

import (
	"log/slog"
	"slices"
	"testing"
	"time"
)

func TestLoadEnv(t *testing.T) {
	base := map[string]string{"DRIFTWATCH_TABLE": "findings", "DRIFTWATCH_ACCOUNT_ID": "111111111111"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, e environment)
		wantErr bool
	}{
		{name: "minimal", env: base, check: func(t *testing.T, e environment) {
			if e.Table != "findings" || e.Account != "111111111111" || e.Regions != nil || e.CrossAccount != nil || e.Lag != 0 || e.LogLevel != slog.LevelInfo {
				t.Errorf("environment %+v", e)
			}
		}},
		{name: "lists and durations", env: with("DRIFTWATCH_REGIONS", "us-east-1, eu-west-1,", "DRIFTWATCH_WATCH_RULES", "a,bus|b",
			"DRIFTWATCH_SWEEP_LAG", "20m", "DRIFTWATCH_SWEEP_INITIAL_WINDOW", "72h", "LOG_LEVEL", "debug"), check: func(t *testing.T, e environment) {
			if !slices.Equal(e.Regions, []string{"us-east-1", "eu-west-1"}) || !slices.Equal(e.WatchRules, []string{"a", "bus|b"}) ||
				e.Lag != 20*time.Minute || e.InitialWindow != 72*time.Hour || e.LogLevel != slog.LevelDebug {
				t.Errorf("environment %+v", e)
			}
		}},
		{name: "member role", env: with("DRIFTWATCH_MEMBER_ROLE", "driftwatch-member", "DRIFTWATCH_MEMBER_EXTERNAL_ID", "x"), check: func(t *testing.T, e environment) {
			if e.CrossAccount == nil || e.CrossAccount.Home != "111111111111" || e.CrossAccount.RoleName != "driftwatch-member" || e.CrossAccount.ExternalID != "x" {
				t.Errorf("cross-account %+v", e.CrossAccount)
			}
		}},
		{name: "config file", env: with("DRIFTWATCH_CONFIG", "/etc/driftwatch.yaml"), check: func(t *testing.T, e environment) {
			if e.ConfigPath != "/etc/driftwatch.yaml" {
				t.Errorf("config path %q", e.ConfigPath)
			}
			if _, err := e.config(); err == nil {
				t.Errorf("config() of a missing file succeeded")
			}
		}},
		{name: "no table", env: map[string]string{"DRIFTWATCH_ACCOUNT_ID": "111111111111"}, wantErr: true},
		{name: "no account", env: map[string]string{"DRIFTWATCH_TABLE": "findings"}, wantErr: true},
		{name: "bad lag", env: with("DRIFTWATCH_SWEEP_LAG", "soon"), wantErr: true},
		{name: "negative window", env: with("DRIFTWATCH_SWEEP_INITIAL_WINDOW", "-1h"), wantErr: true},
		{name: "bad log level", env: with("LOG_LEVEL", "loud"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := loadEnv(func(k string) string { return tc.env[k] })
			if (err != nil) != tc.wantErr {
				t.Fatalf("loadEnv error = %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

func TestConfigUsesTheTable(t *testing.T) {
	t.Chdir(t.TempDir()) // no driftwatch.yaml here
	e := environment{Table: "findings", OwnPrincipals: []string{"arn:aws:iam::111111111111:role/ci-*"}}
	cfg, err := e.config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Table != "findings" || !slices.Contains(cfg.OwnPrincipals, "arn:aws:iam::111111111111:role/ci-*") {
		t.Errorf("config store %+v, own principals %v", cfg.Store, cfg.OwnPrincipals)
	}
}
