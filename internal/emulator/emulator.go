// Package emulator holds what the local emulators' test harnesses
// (internal/mototest, internal/azuritetest) share: finding the emulator's
// executable in the repository's own install, and a free loopback port.
package emulator

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
)

// Find returns the executable to run: $envVar when set, else rel under the
// module root (where `make test` installs it), else name on PATH; or an
// error carrying hint, which says how to install it.
func Find(envVar, rel, name, hint string) (string, error) {
	if p := os.Getenv(envVar); p != "" {
		return p, nil
	}
	if root, err := ModuleRoot(); err == nil {
		p := filepath.Join(root, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: %s", name, hint)
}

// ModuleRoot returns the nearest directory above the working directory
// that holds a go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
