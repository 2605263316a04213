package azuritetest

import (
	"net/http"
	"strings"
	"testing"
)

func TestMissingAzuriteSaysHowToInstall(t *testing.T) {
	t.Setenv("AZURITE", "")
	t.Setenv("PATH", t.TempDir())
	t.Chdir(t.TempDir()) // no go.mod above: no node_modules to find
	_, err := Binary()
	if err == nil || !strings.Contains(err.Error(), "make azurite") || !strings.Contains(err.Error(), "npm install") {
		t.Fatalf("Binary() error = %v, want one that says how to install Azurite", err)
	}
	if _, err := Launch(); err == nil {
		t.Fatal("Launch without Azurite succeeded")
	}
}

func TestLaunchOfABrokenBinaryFails(t *testing.T) {
	t.Setenv("AZURITE", "/nonexistent/azurite")
	_, err := Launch()
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/azurite") {
		t.Fatalf("Launch = %v, want an error naming the binary", err)
	}
}

// TestStartServesAndStops starts the real emulator: the three services
// answer, the connection string names them, and Stop (twice) shuts it down.
func TestStartServesAndStops(t *testing.T) {
	s := Start(t)
	for _, u := range []string{s.BlobURL, s.QueueURL, s.TableURL} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		resp.Body.Close()
		if !strings.HasPrefix(resp.Header.Get("Server"), "Azurite") {
			t.Errorf("%s answered as %q, want Azurite", u, resp.Header.Get("Server"))
		}
	}
	cs := s.ConnectionString()
	for _, want := range []string{"AccountName=devstoreaccount1", "AccountKey=" + AccountKey, "TableEndpoint=" + s.TableURL} {
		if !strings.Contains(cs, want) {
			t.Errorf("connection string %q lacks %q", cs, want)
		}
	}
	s.Stop()
	s.Stop()
	if resp, err := http.Get(s.TableURL); err == nil {
		resp.Body.Close()
		t.Error("Azurite still answers after Stop")
	}
}
