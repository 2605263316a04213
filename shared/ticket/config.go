package ticket

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/driftwatch/driftwatch/shared/finding"
)

// FieldError is a problem with one configuration field. Field is the
// field's YAML name relative to the struct that was validated
// ("project", "labels[2]"); a config loader that embeds the struct
// prefixes its own path.
type FieldError struct {
	Field   string
	Problem string
}

// Error returns "field: problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Required returns a FieldError when v is empty.
func Required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return &FieldError{Field: field, Problem: "required"}
	}
	return nil
}

// CheckBaseURL validates a service's base URL: absolute, https (http only
// for a loopback host, as in tests), no query, fragment or credentials.
func CheckBaseURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return &FieldError{Field: field, Problem: fmt.Sprintf("not a URL: %v", err)}
	}
	switch {
	case u.Host == "":
		return &FieldError{Field: field, Problem: fmt.Sprintf("%q is not an absolute URL", raw)}
	case u.User != nil:
		return &FieldError{Field: field, Problem: "must not carry credentials"}
	case u.RawQuery != "" || u.Fragment != "":
		return &FieldError{Field: field, Problem: "must not have a query or fragment"}
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return &FieldError{Field: field, Problem: fmt.Sprintf("scheme %q: want https", u.Scheme)}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckLabels validates extra labels: non-empty, at most 50 characters
// (GitHub's limit; Jira takes 255), no whitespace (Jira splits labels on
// it).
func CheckLabels(field string, labels []string) error {
	for i, l := range labels {
		name := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case l == "":
			return &FieldError{Field: name, Problem: "empty label"}
		case len([]rune(l)) > 50:
			return &FieldError{Field: name, Problem: "longer than 50 characters"}
		case strings.ContainsFunc(l, func(r rune) bool { return r <= ' ' || r == 0x7f }):
			return &FieldError{Field: name, Problem: fmt.Sprintf("label %q contains whitespace or a control character", l)}
		}
	}
	return nil
}

// Repeats says which repeated changes of an open finding are commented on
// its ticket.
type Repeats string

// Repeat policies.
const (
	// RepeatsEvery comments on every change that keeps the finding failing
	// (the default).
	RepeatsEvery Repeats = "every"
	// RepeatsNewPrincipal comments only when another principal than the
	// one of the newest recorded change made it.
	RepeatsNewPrincipal Repeats = "new_principal"
	// RepeatsNone never comments on repeats.
	RepeatsNone Repeats = "none"
)

// Comment reports whether a notice of kind (finding.Repeated or
// finding.RepeatedNewPrincipal) gets a comment. A note (finding.Noted),
// which is not a repeat, always does.
func (r Repeats) Comment(kind finding.Kind) bool {
	if kind == finding.Noted {
		return true
	}
	switch r {
	case RepeatsNone:
		return false
	case RepeatsNewPrincipal:
		return kind == finding.RepeatedNewPrincipal
	}
	return true
}

// Check validates r as the value of field.
func (r Repeats) Check(field string) error {
	switch r {
	case "", RepeatsEvery, RepeatsNewPrincipal, RepeatsNone:
		return nil
	}
	return &FieldError{Field: field, Problem: fmt.Sprintf("%q: want %s, %s or %s", string(r), RepeatsEvery, RepeatsNewPrincipal, RepeatsNone)}
}
