package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	dwconfig "github.com/driftwatch/driftwatch/shared/config"
	fetchazure "github.com/driftwatch/driftwatch/shared/fetch/azure"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// environment is the detector's configuration, read once at start-up from
// the Function App's application settings.
type environment struct {
	// Port is FUNCTIONS_CUSTOMHANDLER_PORT, where the Functions host
	// expects the handler (default 8080, as when run on its own).
	Port string
	// OwnPrincipals are patterns of driftwatch's own principals
	// (DRIFTWATCH_OWN_PRINCIPALS, comma-separated): the managed identity's
	// object or client ID, or its resource ID, so that its reverts are not
	// checked again.
	OwnPrincipals []string
	// WebhookSecret is the shared secret of the webhook route
	// (DRIFTWATCH_WEBHOOK_SECRET, usually a Key Vault reference). Empty:
	// the route answers 401 to everything.
	WebhookSecret string
	// Credential is how the ARM reader authenticates
	// (DRIFTWATCH_AZURE_CREDENTIAL: managed-identity or default). Default:
	// managed-identity when the platform provides one (IDENTITY_ENDPOINT
	// set), else the default chain.
	Credential fetchazure.CredentialKind
	// ClientID selects a user-assigned managed identity (AZURE_CLIENT_ID);
	// empty uses the system-assigned one.
	ClientID string
	// LogLevel is LOG_LEVEL: debug, info (default), warn or error.
	LogLevel slog.Level
	// ConfigPath is the driftwatch.yaml to read (DRIFTWATCH_CONFIG; default
	// driftwatch.yaml beside the handler when present).
	ConfigPath string
	// TableEndpoint and TableName name the findings table
	// (DRIFTWATCH_TABLE_ENDPOINT, DRIFTWATCH_TABLE_NAME); when set they
	// override the config's store.
	TableEndpoint, TableName string
	// EventGridEndpoint is the topic findings are published to
	// (DRIFTWATCH_EVENTGRID_ENDPOINT; empty: not published).
	EventGridEndpoint string
	// AutoRevert is the automatic revert switch (DRIFTWATCH_AUTO_REVERT:
	// off, dry-run or on; default dry-run): on reverts the failing
	// verdicts of rules in revert mode through ARM, dry-run only reports
	// the calls it would make.
	AutoRevert revert.Switch
}

// config reads the config file, if any, and applies the app settings'
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
	if e.TableEndpoint != "" {
		name := e.TableName
		if name == "" {
			name = "findings"
		}
		cfg.Store = dwconfig.Store{Kind: dwconfig.StoreTable, Endpoint: e.TableEndpoint, Table: name, SeenTTL: cfg.Store.SeenTTL}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// LogValue keeps the webhook secret out of logs.
func (e environment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("port", e.Port), slog.Any("own_principals", e.OwnPrincipals),
		slog.Bool("webhook_secret_set", e.WebhookSecret != ""), slog.String("credential", string(e.Credential)),
		slog.String("client_id", e.ClientID), slog.String("log_level", e.LogLevel.String()),
		slog.String("auto_revert", string(e.AutoRevert)))
}

func loadEnv(getenv func(string) string) (environment, error) {
	e := environment{Port: getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), WebhookSecret: getenv("DRIFTWATCH_WEBHOOK_SECRET")}
	if e.Port == "" {
		e.Port = "8080"
	}
	for _, p := range strings.Split(getenv("DRIFTWATCH_OWN_PRINCIPALS"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			e.OwnPrincipals = append(e.OwnPrincipals, p)
		}
	}
	switch kind := fetchazure.CredentialKind(getenv("DRIFTWATCH_AZURE_CREDENTIAL")); kind {
	case fetchazure.CredentialDefault, fetchazure.CredentialManagedIdentity:
		e.Credential = kind
	case "":
		e.Credential = fetchazure.CredentialDefault
		if getenv("IDENTITY_ENDPOINT") != "" {
			e.Credential = fetchazure.CredentialManagedIdentity
		}
	default:
		return e, fmt.Errorf("DRIFTWATCH_AZURE_CREDENTIAL %q: want %q or %q", kind, fetchazure.CredentialManagedIdentity, fetchazure.CredentialDefault)
	}
	if e.Credential == fetchazure.CredentialManagedIdentity {
		e.ClientID = getenv("AZURE_CLIENT_ID")
	}
	e.ConfigPath = getenv("DRIFTWATCH_CONFIG")
	e.TableEndpoint, e.TableName = getenv("DRIFTWATCH_TABLE_ENDPOINT"), getenv("DRIFTWATCH_TABLE_NAME")
	e.EventGridEndpoint = getenv("DRIFTWATCH_EVENTGRID_ENDPOINT")
	sw, err := revert.ParseSwitch(strings.TrimSpace(getenv("DRIFTWATCH_AUTO_REVERT")))
	if err != nil {
		return e, fmt.Errorf("DRIFTWATCH_AUTO_REVERT: %w", err)
	}
	e.AutoRevert = sw
	if lvl := getenv("LOG_LEVEL"); lvl != "" {
		if err := e.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			return e, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", lvl)
		}
	}
	return e, nil
}
