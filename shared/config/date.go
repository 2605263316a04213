package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// dateLayout is how dates are written in the file.
const dateLayout = "2006-01-02"

// Date is a calendar day written YYYY-MM-DD, such as an exception's expiry.
// The zero Date means "not given".
type Date struct {
	t time.Time // midnight UTC of the day
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date YYYY-MM-DD", s)
	}
	return Date{t: t}, nil
}

// MustDate is ParseDate for literals in tests and examples; it panics on a
// bad date.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// IsZero reports whether d was not given.
func (d Date) IsZero() bool { return d.t.IsZero() }

// String returns YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(dateLayout)
}

// Start returns midnight UTC at the start of the day.
func (d Date) Start() time.Time { return d.t }

// End returns midnight UTC at the end of the day (the start of the next):
// something that lasts "until d" holds while now is before End.
func (d Date) End() time.Time { return d.t.AddDate(0, 0, 1) }

// UnmarshalYAML reads YYYY-MM-DD (quoted or not).
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	// A *yaml.TypeError lets decoding go on with the other fields.
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a date YYYY-MM-DD", n.Line)}}
	}
	if n.ShortTag() == "!!null" {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

// MarshalYAML writes YYYY-MM-DD.
func (d Date) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalText writes YYYY-MM-DD (for JSON too).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD; empty text is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// checkScalar lets the file walker report a bad date with its path before
// decoding.
func (*Date) checkScalar(n *yaml.Node) error {
	if n.ShortTag() == "!!null" {
		return nil
	}
	_, err := ParseDate(n.Value)
	return err
}
