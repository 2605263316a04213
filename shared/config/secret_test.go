package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/secret"
)

func TestSecretRefCheck(t *testing.T) {
	tests := []struct {
		ref     string
		wantErr string
	}{
		{"env:SLACK_BOT_TOKEN", ""},
		{"env:_x1", ""},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:driftwatch/slack-AbCdEf", ""},
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:jira#api_token", ""},
		{"arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x", ""},
		{"", "empty"},
		{"env:", "environment variable name"},
		{"env:1BAD", "environment variable name"},
		{"env:A B", "environment variable name"},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/x", "not a Secrets Manager secret ARN"},
		{"arn:aws:secretsmanager:us-east-1:1234:secret:x", "not a Secrets Manager secret ARN"},
		{"xoxb-123-456-abcdef", "looks like a literal secret"},
		{"https://hooks.slack.com/services/T000/B000/XXXX", "looks like a literal secret"},
		{"SLACK_BOT_TOKEN", "looks like a literal secret"},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			err := config.SecretRef(tc.ref).Check()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Check() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Check() = %v, want an error containing %q", err, tc.wantErr)
			case err != nil && strings.HasPrefix(tc.wantErr, "looks like") && strings.Contains(err.Error(), tc.ref):
				t.Errorf("Check() repeats the value: %v", err)
			}
		})
	}
}

func TestSecretRedacts(t *testing.T) {
	s := secret.New("xoxb-very-secret")
	holder := struct {
		Name  string
		Token secret.Secret
	}{"slack", s}

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("configured", "token", s, "holder", holder)
	js, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", s),
		"%s":   fmt.Sprintf("%s", s),
		"%q":   fmt.Sprintf("%q", s),
		"%+v":  fmt.Sprintf("%+v", holder),
		"%#v":  fmt.Sprintf("%#v", holder),
		"json": string(js),
		"slog": logs.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, "very-secret") {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s = %s, want [redacted] in it", name, out)
		}
	}
	if s.Reveal() != "xoxb-very-secret" {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
}

func TestResolveEnv(t *testing.T) {
	env := map[string]string{"SLACK_TOKEN": "xoxb-1", "EMPTY": ""}
	r := &config.Resolver{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	got, err := r.Resolve(context.Background(), "env:SLACK_TOKEN", nil)
	if err != nil || got.Reveal() != "xoxb-1" {
		t.Errorf("Resolve(env:SLACK_TOKEN) = %q, %v", got.Reveal(), err)
	}
	for _, ref := range []config.SecretRef{"env:MISSING", "env:EMPTY"} {
		if _, err := r.Resolve(context.Background(), ref, nil); err == nil || !strings.Contains(err.Error(), "not set or empty") {
			t.Errorf("Resolve(%s) = %v, want a not-set error", ref, err)
		}
	}
	if _, err := r.Resolve(context.Background(), "xoxb-literal", nil); err == nil || strings.Contains(err.Error(), "xoxb") {
		t.Errorf("Resolve(literal) = %v, want an error without the value", err)
	}
	if _, err := r.Resolve(context.Background(), "arn:aws:secretsmanager:us-east-1:123456789012:secret:x", nil); err == nil {
		t.Error("Resolve(ARN) without a client succeeded")
	}
}

// countingGetter counts the calls that reach Secrets Manager.
type countingGetter struct {
	next  config.SecretsGetter
	calls atomic.Int32
}

var _ config.SecretsGetter = (*countingGetter)(nil)

func (c *countingGetter) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.calls.Add(1)
	return c.next.GetSecretValue(ctx, in, optFns...)
}

func TestResolveSecretsManager(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	create := func(name, value string) string {
		t.Helper()
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
		if err != nil {
			t.Fatalf("create secret %s: %v", name, err)
		}
		return aws.ToString(out.ARN)
	}
	plain := create("driftwatch/slack", "xoxb-from-secrets-manager")
	jsonARN := create("driftwatch/jira", `{"api_token":"jira-token","email":"a@example.com","n":1}`)
	notJSON := create("driftwatch/github", "ghp_not_json")

	counting := &countingGetter{next: sm}
	r := &config.Resolver{}
	tests := []struct {
		name    string
		ref     string
		want    string
		wantErr string
	}{
		{"whole secret", plain, "xoxb-from-secrets-manager", ""},
		{"JSON key", jsonARN + "#api_token", "jira-token", ""},
		{"another key of the cached secret", jsonARN + "#email", "a@example.com", ""},
		{"missing key", jsonARN + "#password", "", `no non-empty string key "password"`},
		{"non-string key", jsonARN + "#n", "", `no non-empty string key "n"`},
		{"key of a non-JSON secret", notJSON + "#token", "", "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Resolve(ctx, config.SecretRef(tc.ref), counting)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Resolve = %v, want an error containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "ghp_") || strings.Contains(err.Error(), "jira-token") {
					t.Errorf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil || got.Reveal() != tc.want {
				t.Errorf("Resolve = %q, %v; want %q", got.Reveal(), err, tc.want)
			}
		})
	}
	if n := counting.calls.Load(); n != 3 {
		t.Errorf("%d GetSecretValue calls for 3 secrets, want 3 (one per secret, then cached)", n)
	}

	// The cache lives as long as the Resolver: a rotated value is seen by
	// a new process (a new Resolver), not by this one.
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(plain), SecretString: aws.String("xoxb-rotated")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Resolve(ctx, config.SecretRef(plain), counting); got.Reveal() != "xoxb-from-secrets-manager" {
		t.Errorf("cached Resolve = %q, want the first value", got.Reveal())
	}
	if got, err := (&config.Resolver{}).Resolve(ctx, config.SecretRef(plain), sm); err != nil || got.Reveal() != "xoxb-rotated" {
		t.Errorf("fresh Resolve = %q, %v; want the rotated value", got.Reveal(), err)
	}

	// A secret in another region is read there, whatever the client's
	// region.
	euOut, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("driftwatch/eu"), SecretString: aws.String("eu-value")},
		func(o *secretsmanager.Options) { o.Region = "eu-west-1" })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(euOut.ARN), ":eu-west-1:") {
		t.Fatalf("secret ARN %s is not in eu-west-1", aws.ToString(euOut.ARN))
	}
	if got, err := r.Resolve(ctx, config.SecretRef(aws.ToString(euOut.ARN)), sm); err != nil || got.Reveal() != "eu-value" {
		t.Errorf("Resolve(eu-west-1 secret) = %q, %v; want eu-value", got.Reveal(), err)
	}

	// A secret that does not exist: the API error is wrapped, classifiable.
	missing := "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
	_, err = r.Resolve(ctx, config.SecretRef(missing), sm)
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("Resolve(missing) = %v, want a wrapped ResourceNotFoundException", err)
	}
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Resolve(missing) = %v, want the ARN named", err)
	}
}
