package main

import (
	"archive/zip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const hostJSON = `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}}}`

// app makes a function app directory with the given files.
func app(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func binary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "built")
	if err := os.WriteFile(p, []byte("\x7fELF fake handler"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPackageLayoutAndModes(t *testing.T) {
	dir := app(t, map[string]string{
		"host.json":                          hostJSON,
		"DriftOnResourceEvent/function.json": `{"bindings":[{"type":"eventGridTrigger","direction":"in","name":"event"}]}`,
		"EventGridWebhook/function.json":     `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"}]}`,
		"testdata/ignored.json":              `{}`,
		"main.go":                            "package main",
		"local.settings.json":                `{"Values":{}}`,
	})
	out := filepath.Join(t.TempDir(), "out", "app.zip")
	n, err := build(dir, binary(t), out)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	got := map[string]os.FileMode{}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		got[f.Name] = f.Mode()
		if f.Name == "handler" {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if string(b) != "\x7fELF fake handler" {
				t.Errorf("handler content %q", b)
			}
		}
		if !f.Modified.Equal(stamp) {
			t.Errorf("%s dated %v, want %v", f.Name, f.Modified, stamp)
		}
	}
	wantNames := []string{"DriftOnResourceEvent/function.json", "EventGridWebhook/function.json", "handler", "host.json"}
	if !reflect.DeepEqual(names, wantNames) || n != len(wantNames) {
		t.Errorf("entries %v (n=%d), want %v", names, n, wantNames)
	}
	if got["handler"] != 0o755 {
		t.Errorf("handler mode %v, want -rwxr-xr-x", got["handler"])
	}
	if got["host.json"] != 0o644 {
		t.Errorf("host.json mode %v, want -rw-r--r--", got["host.json"])
	}
	// Info-ZIP's unzip, where present, sees the same bits (what a Linux
	// host extracting the package sees).
	if unzip, err := exec.LookPath("unzip"); err == nil {
		listing, err := exec.Command(unzip, "-Z", out).CombinedOutput()
		if err != nil {
			t.Fatalf("unzip -Z: %v\n%s", err, listing)
		}
		for _, line := range strings.Split(string(listing), "\n") {
			if strings.HasSuffix(line, " handler") && !strings.HasPrefix(line, "-rwxr-xr-x") {
				t.Errorf("unzip -Z lists the handler as %q", line)
			}
		}
	}
}

func TestPackageIsReproducible(t *testing.T) {
	dir := app(t, map[string]string{"host.json": hostJSON, "F/function.json": `{"bindings":[{}]}`})
	bin := binary(t)
	a, b := filepath.Join(t.TempDir(), "a.zip"), filepath.Join(t.TempDir(), "b.zip")
	for _, out := range []string{a, b} {
		if _, err := build(dir, bin, out); err != nil {
			t.Fatal(err)
		}
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if string(ba) != string(bb) {
		t.Error("two builds of the same inputs differ")
	}
}

func TestPackageErrors(t *testing.T) {
	fn := `{"bindings":[{"type":"eventGridTrigger"}]}`
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no host.json", map[string]string{"F/function.json": fn}, "read host.json"},
		{"not a custom handler", map[string]string{"host.json": `{"version":"2.0"}`, "F/function.json": fn}, "not a custom handler"},
		{"executable outside the app", map[string]string{"host.json": `{"customHandler":{"description":{"defaultExecutablePath":"../x"}}}`, "F/function.json": fn}, "inside the app"},
		{"executable from a setting", map[string]string{"host.json": `{"customHandler":{"description":{"defaultExecutablePath":"%EXE%"}}}`, "F/function.json": fn}, "fixed name"},
		{"no function", map[string]string{"host.json": hostJSON}, "no function folder"},
		{"bad function.json", map[string]string{"host.json": hostJSON, "F/function.json": `{}`}, "not a function.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x.zip")
			_, err := build(app(t, tc.files), binary(t), out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("build error = %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a failed build left a zip behind")
			}
		})
	}
	t.Run("missing handler", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "x.zip")
		_, err := build(app(t, map[string]string{"host.json": hostJSON, "F/function.json": fn}), filepath.Join(t.TempDir(), "nope"), out)
		if err == nil {
			t.Fatal("build with a missing handler succeeded")
		}
		if _, err := os.Stat(out); err == nil {
			t.Error("a failed build left a zip behind")
		}
	})
}
