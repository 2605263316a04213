package slack

import (
	"fmt"
	"log/slog"
)

// redacted is what a Secret shows instead of its value.
const redacted = "[redacted]"

// Secret holds a credential: a bot token, an incoming-webhook URL (whose
// path is the credential) or a signing secret. It never shows its value:
// String, GoString, Format, MarshalText and LogValue all give "[redacted]",
// so a Secret can sit in a config struct that is logged or printed. Reveal
// returns the value, for the one place that sends it.
type Secret struct {
	value string
}

// NewSecret wraps a credential's value (resolved by the caller from an
// environment variable or Secrets Manager).
func NewSecret(value string) Secret { return Secret{value: value} }

// Reveal returns the credential's value. Call it only to send it.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

// String returns "[redacted]" (or "" for an empty secret).
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// GoString returns the redacted form, for %#v.
func (s Secret) GoString() string { return "slack.Secret(" + fmt.Sprintf("%q", s.String()) + ")" }

// Format prints the redacted form whatever the verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = fmt.Fprint(f, s.GoString())
		return
	}
	_, _ = fmt.Fprint(f, s.String())
}

// MarshalText returns the redacted form, so that JSON, YAML or text
// encoders never write the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue implements slog.LogValuer: the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

var (
	_ slog.LogValuer = Secret{}
	_ fmt.Formatter  = Secret{}
)
