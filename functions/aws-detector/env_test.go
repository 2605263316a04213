package main

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/driftwatch/driftwatch/shared/revert"
)

func TestLoadEnv(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		want    environment
		wantErr bool
	}{
		{name: "empty", vars: nil, want: environment{Revert: revert.SwitchDryRun}},
		{name: "everything", vars: map[string]string{
			"DRIFTWATCH_OWN_PRINCIPALS":    " arn:aws:iam::1:role/a ,,arn:aws:iam::1:role/b",
			"DRIFTWATCH_DLQ_URL":           "https://sqs.us-east-1.amazonaws.com/1/dlq",
			"DRIFTWATCH_MAX_RECEIVE_COUNT": "5",
			"LOG_LEVEL":                    "debug",
			"AWS_ENDPOINT_URL":             "http://127.0.0.1:5000",
			"DRIFTWATCH_TABLE":             "findings",
			"DRIFTWATCH_REVERT":            "on",
			"DRIFTWATCH_ACCOUNT_ID":        "123456789012",
		}, want: environment{
			OwnPrincipals: []string{"arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"},
			DeadLetterURL: "https://sqs.us-east-1.amazonaws.com/1/dlq", MaxReceives: 5,
			LogLevel: slog.LevelDebug, S3PathStyle: true, Table: "findings",
			Revert: revert.SwitchOn, Account: "123456789012",
		}},
		{name: "revert off", vars: map[string]string{"DRIFTWATCH_REVERT": "off"}, want: environment{Revert: revert.SwitchOff}},
		{name: "revert switch unknown", vars: map[string]string{"DRIFTWATCH_REVERT": "yes"}, wantErr: true},
		{name: "max receive count not a number", vars: map[string]string{"DRIFTWATCH_MAX_RECEIVE_COUNT": "five"}, wantErr: true},
		{name: "negative max receive count", vars: map[string]string{"DRIFTWATCH_MAX_RECEIVE_COUNT": "-1"}, wantErr: true},
		{name: "bad log level", vars: map[string]string{"LOG_LEVEL": "loud"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadEnv(func(k string) string { return tt.vars[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if !slices.Equal(got.OwnPrincipals, tt.want.OwnPrincipals) || got.DeadLetterURL != tt.want.DeadLetterURL ||
				got.MaxReceives != tt.want.MaxReceives || got.LogLevel != tt.want.LogLevel ||
				got.S3PathStyle != tt.want.S3PathStyle || got.Table != tt.want.Table ||
				got.Revert != tt.want.Revert || got.Account != tt.want.Account {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
