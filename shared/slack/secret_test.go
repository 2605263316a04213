package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretRedacts(t *testing.T) {
	const value = "xoxb-1234-very-secret"
	s := NewSecret(value)
	if s.Reveal() != value {
		t.Fatalf("Reveal = %q", s.Reveal())
	}
	holder := struct {
		Name  string
		Token Secret
	}{"bot", s}
	js, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("cfg", "token", s, "holder", holder)
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "%q": fmt.Sprintf("%q", s),
		"%#v": fmt.Sprintf("%#v", s), "%+v of a struct": fmt.Sprintf("%+v", holder), "%#v of a struct": fmt.Sprintf("%#v", holder),
		"json": string(js), "slog": logs.String(),
	} {
		if strings.Contains(out, "secret") || strings.Contains(out, "1234") {
			t.Errorf("%s shows the secret: %s", name, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s does not say the value is redacted: %s", name, out)
		}
	}
	if NewSecret("").String() != "" || !NewSecret("").IsZero() || s.IsZero() {
		t.Error("empty secret misreported")
	}
}
