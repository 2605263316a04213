package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/driftwatch/driftwatch/shared/secret"
)

// SecretRef says where a secret is, never what it is. It is one of
//
//	env:NAME                                                       an environment variable
//	arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME              a Secrets Manager secret
//	arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME#KEY          one key of a JSON secret
//
// Anything else in a secret field is taken for a pasted secret and fails
// validation, without the value being repeated in the error. The empty
// SecretRef means "not given".
type SecretRef string

// envName is what a POSIX shell accepts as a variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secretARN is a Secrets Manager secret ARN (full or partial, without the
// random suffix), with an optional #key.
var secretARN = regexp.MustCompile(`^arn:(aws[a-z-]*):secretsmanager:([a-z0-9-]+):(\d{12}):secret:([A-Za-z0-9/_+=.@-]+)(?:#(.+))?$`)

// Check reports why r is not a reference. Its messages never contain r
// itself beyond the env: variable name or the ARN, because a value that is
// neither is probably the secret.
func (r SecretRef) Check() error {
	s := string(r)
	switch {
	case s == "":
		return errors.New("empty secret reference")
	case strings.HasPrefix(s, "env:"):
		if name := strings.TrimPrefix(s, "env:"); !envName.MatchString(name) {
			return errors.New("env: must be followed by an environment variable name (letters, digits, _)")
		}
		return nil
	case strings.HasPrefix(s, "arn:"):
		if !secretARN.MatchString(s) {
			return errors.New("not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME, optionally #KEY)")
		}
		return nil
	}
	return errors.New("looks like a literal secret: secrets are given only by reference, env:NAME or a Secrets Manager ARN (the value is not repeated here)")
}

// Env returns the variable name of an env: reference.
func (r SecretRef) Env() (string, bool) {
	name, ok := strings.CutPrefix(string(r), "env:")
	return name, ok && envName.MatchString(name)
}

// ARN returns the secret ARN (without #key), the JSON key ("" for the
// whole secret) and the region of an ARN reference.
func (r SecretRef) ARN() (arn, key, region string, ok bool) {
	m := secretARN.FindStringSubmatch(string(r))
	if m == nil {
		return "", "", "", false
	}
	arn, _, _ = strings.Cut(string(r), "#")
	return arn, m[5], m[2], true
}

// SecretsGetter is the one Secrets Manager call resolution makes;
// *secretsmanager.Client has it.
type SecretsGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Resolver resolves SecretRefs, remembering Secrets Manager values for the
// life of the process so that a warm function does not fetch them per
// event. The zero Resolver reads the process environment. It is safe for
// concurrent use.
type Resolver struct {
	// LookupEnv reads an environment variable (default os.LookupEnv).
	LookupEnv func(string) (string, bool)

	mu    sync.Mutex
	cache map[string]string // secret ARN → SecretString
}

var processResolver Resolver

// Resolve resolves ref with a process-wide Resolver: env: references from
// the environment, ARN references through sm (called in the secret's
// region, once per secret per process). sm may be nil when no reference is
// an ARN.
func Resolve(ctx context.Context, ref SecretRef, sm SecretsGetter) (secret.Secret, error) {
	return processResolver.Resolve(ctx, ref, sm)
}

// Resolve resolves ref; see the package-level Resolve. Errors name the
// reference (a variable name or an ARN), never the value.
func (r *Resolver) Resolve(ctx context.Context, ref SecretRef, sm SecretsGetter) (secret.Secret, error) {
	if err := ref.Check(); err != nil {
		return secret.Secret{}, fmt.Errorf("resolve secret: %w", err)
	}
	if name, ok := ref.Env(); ok {
		lookup := r.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		v, set := lookup(name)
		if !set || v == "" {
			return secret.Secret{}, fmt.Errorf("resolve secret env:%s: environment variable %s is not set or empty", name, name)
		}
		return secret.New(v), nil
	}
	arn, key, region, _ := ref.ARN()
	raw, err := r.fetch(ctx, arn, region, sm)
	if err != nil {
		return secret.Secret{}, err
	}
	if key == "" {
		if raw == "" {
			return secret.Secret{}, fmt.Errorf("resolve secret %s: the secret is empty", arn)
		}
		return secret.New(raw), nil
	}
	var fields map[string]any
	// The decoder's error could quote part of the value: report without it.
	if json.Unmarshal([]byte(raw), &fields) != nil {
		return secret.Secret{}, fmt.Errorf("resolve secret %s#%s: the secret is not a JSON object", arn, key)
	}
	v, ok := fields[key].(string)
	if !ok || v == "" {
		return secret.Secret{}, fmt.Errorf("resolve secret %s#%s: the secret has no non-empty string key %q", arn, key, key)
	}
	return secret.New(v), nil
}

// fetch returns the secret's string, from the cache or Secrets Manager.
func (r *Resolver) fetch(ctx context.Context, arn, region string, sm SecretsGetter) (string, error) {
	r.mu.Lock()
	v, ok := r.cache[arn]
	r.mu.Unlock()
	if ok {
		return v, nil
	}
	if sm == nil {
		return "", fmt.Errorf("resolve secret %s: no Secrets Manager client", arn)
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)},
		func(o *secretsmanager.Options) { o.Region = region })
	if err != nil {
		return "", fmt.Errorf("get value of secret %s: %w", arn, err)
	}
	switch {
	case out.SecretString != nil:
		v = *out.SecretString
	case out.SecretBinary != nil:
		v = string(out.SecretBinary)
	}
	r.mu.Lock()
	if r.cache == nil {
		r.cache = map[string]string{}
	}
	r.cache[arn] = v
	r.mu.Unlock()
	return v, nil
}
