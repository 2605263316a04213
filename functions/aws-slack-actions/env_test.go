package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/revert"
)

func TestLoadEnv(t *testing.T) {
	base := map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "stack-slack-actions"}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, e environment)
	}{
		{name: "defaults", env: base, check: func(t *testing.T, e environment) {
			if e.Switch != revert.SwitchDryRun || e.Function != "stack-slack-actions" || e.S3PathStyle {
				t.Errorf("env %+v", e)
			}
		}},
		{name: "everything", env: map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "f", "DRIFTWATCH_REVERT": "off", "LOG_LEVEL": "debug",
			"DRIFTWATCH_SLACK_SIGNING_SECRET": "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-signing", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
			check: func(t *testing.T, e environment) {
				if e.Switch != revert.SwitchOff || !e.S3PathStyle || e.SigningSecret == "" {
					t.Errorf("env %+v", e)
				}
			}},
		{name: "bad switch", env: map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "f", "DRIFTWATCH_REVERT": "yes"}, wantErr: "DRIFTWATCH_REVERT"},
		{name: "literal secret", env: map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "f", "DRIFTWATCH_SLACK_SIGNING_SECRET": "abc123"}, wantErr: "literal secret"},
		{name: "no function name", env: map[string]string{}, wantErr: "AWS_LAMBDA_FUNCTION_NAME"},
		{name: "bad log level", env: map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "f", "LOG_LEVEL": "loud"}, wantErr: "LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := loadEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "abc123") {
					t.Errorf("the error repeats the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, e)
		})
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withActions := write("actions.yaml", "slack:\n  token: env:T\n  routing: {default: '#sec'}\n  actions:\n    signing_secret: env:S\n    users: [U0ALICE]\n")
	noActions := write("plain.yaml", "slack:\n  token: env:T\n  routing: {default: '#sec'}\n")
	noSlack := write("none.yaml", "store: {kind: sqlite}\n")
	tests := []struct {
		name    string
		env     environment
		wantErr string
	}{
		{name: "from the file", env: environment{ConfigPath: withActions, Table: "findings"}},
		{name: "the secret from the environment", env: environment{ConfigPath: noActions, SigningSecret: "env:X"}},
		{name: "the environment's secret wins", env: environment{ConfigPath: withActions, SigningSecret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-signing"}},
		{name: "no actions section", env: environment{ConfigPath: noActions}, wantErr: "no slack.actions"},
		{name: "no slack section", env: environment{ConfigPath: noSlack, SigningSecret: "env:X"}, wantErr: "no slack section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.env.config()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.env.SigningSecret
			if want == "" {
				want = "env:S"
			}
			if cfg.Slack.Actions.SigningSecret != want {
				t.Errorf("signing secret %q, want %q", cfg.Slack.Actions.SigningSecret, want)
			}
			if tt.env.Table != "" && (cfg.Store.Kind != "dynamodb" || cfg.Store.Table != tt.env.Table) {
				t.Errorf("store %+v", cfg.Store)
			}
		})
	}
}
