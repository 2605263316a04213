package main

import (
	"fmt"
	"log/slog"
	"strings"
)

// environment is the detector's configuration, read once at cold start.
type environment struct {
	// OwnPrincipals are ARN patterns of driftwatch's own principals
	// (DRIFTWATCH_OWN_PRINCIPALS, comma-separated).
	OwnPrincipals []string
	// DeadLetterURL is the queue unprocessable messages are parked in
	// (DRIFTWATCH_DLQ_URL).
	DeadLetterURL string
	// LogLevel is LOG_LEVEL: debug, info (default), warn or error.
	LogLevel slog.Level
	// S3PathStyle is set when AWS_ENDPOINT_URL points at an emulator.
	S3PathStyle bool
}

func loadEnv(getenv func(string) string) (environment, error) {
	var e environment
	for _, p := range strings.Split(getenv("DRIFTWATCH_OWN_PRINCIPALS"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			e.OwnPrincipals = append(e.OwnPrincipals, p)
		}
	}
	e.DeadLetterURL = getenv("DRIFTWATCH_DLQ_URL")
	if lvl := getenv("LOG_LEVEL"); lvl != "" {
		if err := e.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			return e, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", lvl)
		}
	}
	e.S3PathStyle = getenv("AWS_ENDPOINT_URL") != ""
	return e, nil
}
