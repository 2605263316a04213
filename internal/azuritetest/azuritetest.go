// Package azuritetest starts Azurite (https://github.com/Azure/Azurite), the
// Azure Storage emulator, on free loopback ports for integration tests and
// gives the connection string that reaches it.
//
// Azurite is found at $AZURITE, else node_modules/.bin/azurite at the module
// root (installed by `make azurite`, which `make test` runs: npm ci with the
// version pinned in package-lock.json), else azurite on PATH. A missing
// Azurite is a test failure that says how to install it, never a skip.
//
// The server keeps everything in memory (--inMemoryPersistence), accepts any
// x-ms-version (--skipApiVersionCheck: the Go SDK may be newer than the
// emulator), ignores headers it does not support (--loose) and sends no
// telemetry. It runs in a temporary directory, so nothing is written into
// the package under test.
package azuritetest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/internal/emulator"
)

// AccountName and AccountKey are Azurite's well-known development account,
// the same for every Azurite installation (documented in Azurite's README;
// not a secret).
const (
	AccountName = "devstoreaccount1"
	AccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Server is a running Azurite.
type Server struct {
	// BlobURL, QueueURL and TableURL are the service endpoints with the
	// account path, e.g. http://127.0.0.1:PORT/devstoreaccount1.
	BlobURL, QueueURL, TableURL string

	mu   sync.Mutex
	stop func() // kills the process and removes its directory; nil once stopped
}

// Binary returns the azurite executable to run, or an error that says how
// to install it.
func Binary() (string, error) {
	return emulator.Find("AZURITE", "node_modules/.bin/azurite", "azurite", "run `make azurite` (npm ci installs the Azurite version "+
		"pinned in package-lock.json into node_modules; `make test` does it), "+
		"or `npm install -g azurite`, or set AZURITE to the azurite executable")
}

// Start starts Azurite and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Launch()
	if err != nil {
		t.Fatalf("start azurite: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Launch starts Azurite outside a test (in TestMain, for a server a package
// shares). The caller must Stop it.
func Launch() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	var ports [3]int
	for i := range ports {
		if ports[i], err = emulator.FreePort(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "azurite-")
	if err != nil {
		return nil, fmt.Errorf("make a working directory for azurite: %w", err)
	}
	cmd := exec.Command(bin,
		"--silent", "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
		"--extentMemoryLimit", "256",
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(ports[0]),
		"--queueHost", "127.0.0.1", "--queuePort", strconv.Itoa(ports[1]),
		"--tableHost", "127.0.0.1", "--tablePort", strconv.Itoa(ports[2]),
	)
	cmd.Dir = dir
	if os.Getenv("AZURITE_LOG") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	base := func(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) + "/" + AccountName }
	s := &Server{BlobURL: base(ports[0]), QueueURL: base(ports[1]), TableURL: base(ports[2])}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, u := range []string{s.BlobURL, s.QueueURL, s.TableURL} {
		for {
			// Any HTTP answer (Azurite says 400 to a bare GET) means the
			// service listens.
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				break
			}
			select {
			case werr := <-exited:
				os.RemoveAll(dir)
				return nil, fmt.Errorf("azurite (%s) exited before it served %s: %v; rerun with AZURITE_LOG=1 to see its output", bin, u, werr)
			default:
			}
			if time.Now().After(deadline) {
				stop()
				return nil, fmt.Errorf("azurite at %s not ready after 60s: %w", u, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	s.stop = stop
	return s, nil
}

// Stop kills the server, waits for it to exit and removes its directory. It
// may be called more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// ConnectionString returns a connection string for the development account
// on this server's endpoints, in the form the Azure SDK for Go parses (it
// does not accept UseDevelopmentStorage=true).
func (s *Server) ConnectionString() string {
	return "DefaultEndpointsProtocol=http;AccountName=" + AccountName + ";AccountKey=" + AccountKey +
		";BlobEndpoint=" + s.BlobURL + ";QueueEndpoint=" + s.QueueURL + ";TableEndpoint=" + s.TableURL + ";"
}
