package ticket_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/ticket"
)

func TestSecretNeverShowsItself(t *testing.T) {
	const value = "tok-4f1c9e2b7a"
	s := ticket.Secret(value)
	type config struct {
		User  string
		Token ticket.Secret
	}
	cfg := config{User: "bot", Token: s}

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "token", s, "config", cfg)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text, err := s.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, out string }{
		{"%v", fmt.Sprintf("%v", s)},
		{"%s", fmt.Sprintf("%s", s)},
		{"%q", fmt.Sprintf("%q", s)},
		{"%#v", fmt.Sprintf("%#v", s)},
		{"%+v struct", fmt.Sprintf("%+v", cfg)},
		{"%#v struct", fmt.Sprintf("%#v", cfg)},
		{"slog", logged.String()},
		{"json", string(js)},
		{"text", string(text)},
		{"error", fmt.Errorf("call with %v", s).Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.out, value) {
				t.Errorf("output shows the secret: %s", tc.out)
			}
			if !strings.Contains(tc.out, "redacted") {
				t.Errorf("output does not say the value is redacted: %s", tc.out)
			}
		})
	}
	if got := fmt.Sprintf("%x", s); strings.Contains(got, fmt.Sprintf("%x", value)) {
		t.Errorf("%%x shows the secret in hex: %s", got)
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q, want the value", s.Reveal())
	}
	if s.IsZero() || !ticket.Secret("").IsZero() {
		t.Error("IsZero is wrong")
	}
}
