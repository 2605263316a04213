package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverShowsItsValue(t *testing.T) {
	const value = "xoxb-very-secret-token"
	s := New(value)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("cfg", "token", s)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("cfg", "token", s)
	js, err := json.Marshal(struct{ T Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{fmt.Sprint(s), fmt.Sprintf("%v %s %q %+v %#v %x", s, s, s, s, s, s), string(js), logs.String(),
		fmt.Sprintf("%v", struct{ T Secret }{s}), fmt.Errorf("call failed with %v", s).Error()}
	for _, o := range outs {
		if strings.Contains(o, value) {
			t.Errorf("value leaked: %s", o)
		}
		if !strings.Contains(o, Redacted) {
			t.Errorf("no redaction marker in %q", o)
		}
	}
	if s.Reveal() != value || s.IsZero() || !New("").IsZero() {
		t.Fatal("Reveal/IsZero")
	}
}
