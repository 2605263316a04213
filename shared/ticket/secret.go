package ticket

import "log/slog"

// redacted is what a Secret shows instead of its value.
const redacted = "[redacted]"

// Secret holds a credential (an API token) that must never be logged,
// printed or serialised. Its String, GoString, LogValue, MarshalJSON and
// MarshalText methods all return "[redacted]"; only Reveal returns the
// value, for the one place that puts it in an Authorization header.
//
// Configuration files never hold the value itself: the config loader
// resolves a secret reference (an environment variable name, a Secrets
// Manager ARN) and stores the result here, which is why fields of this type
// carry the yaml tag "-".
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String returns "[redacted]", so that fmt's %v, %s and %q never show the
// value.
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (s Secret) GoString() string { return redacted }

// LogValue returns "[redacted]": a Secret logged through log/slog shows
// nothing of its value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns "[redacted]" as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[redacted]" (YAML and other text encoders use it).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
