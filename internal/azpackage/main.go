// Command azpackage writes the zip package of an Azure Functions custom
// handler app: host.json, every function folder (a directory holding a
// function.json) and the handler binary, at the zip root, which becomes the
// app's wwwroot. `make azure-package` runs it after building the handler.
//
// The handler is stored under the name host.json gives
// (customHandler.description.defaultExecutablePath) with mode 0755 in the
// zip's Unix attributes: a package made without the executable bit starts
// a host that cannot run its handler. Other files are 0644. Entries are
// sorted and dated 2000-01-01, so the same inputs give the same zip.
//
//	go run ./internal/azpackage -dir functions/azure-detector -handler bin/azure-detector/handler -o bin/azure-detector.zip
package main

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	dir := flag.String("dir", "", "function app directory (host.json and function folders)")
	handler := flag.String("handler", "", "the built handler binary (linux/amd64)")
	out := flag.String("o", "", "zip file to write")
	flag.Parse()
	if *dir == "" || *handler == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: azpackage -dir DIR -handler BINARY -o ZIP")
		os.Exit(2)
	}
	entries, err := build(*dir, *handler, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "azpackage:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%d entries)\n", *out, entries)
}

// stamp is the modification time of every entry.
var stamp = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// entry is one file of the package.
type entry struct {
	name string // slash-separated path in the zip
	src  string // file on disk
	mode os.FileMode
}

// build writes the package of the app in dir with the handler binary to
// out and returns the number of entries.
func build(dir, handler, out string) (int, error) {
	exe, err := executablePath(filepath.Join(dir, "host.json"))
	if err != nil {
		return 0, err
	}
	files := []entry{
		{name: "host.json", src: filepath.Join(dir, "host.json"), mode: 0o644},
		{name: exe, src: handler, mode: 0o755},
	}
	functions, err := functionFolders(dir)
	if err != nil {
		return 0, err
	}
	for _, f := range functions {
		files = append(files, entry{name: f + "/function.json", src: filepath.Join(dir, f, "function.json"), mode: 0o644})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 0, fmt.Errorf("make the directory of %s: %w", out, err)
	}
	if err := write(out, files); err != nil {
		os.Remove(out)
		return 0, err
	}
	return len(files), nil
}

// executablePath reads the handler's path from host.json.
func executablePath(hostJSON string) (string, error) {
	b, err := os.ReadFile(hostJSON)
	if err != nil {
		return "", fmt.Errorf("read host.json: %w", err)
	}
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	if err := json.Unmarshal(b, &host); err != nil {
		return "", fmt.Errorf("parse %s: %w", hostJSON, err)
	}
	exe := host.CustomHandler.Description.DefaultExecutablePath
	switch {
	case exe == "":
		return "", fmt.Errorf("%s has no customHandler.description.defaultExecutablePath: not a custom handler app", hostJSON)
	case strings.Contains(exe, "%"):
		return "", fmt.Errorf("%s: defaultExecutablePath %q expands an app setting; the package needs a fixed name", hostJSON, exe)
	}
	clean := path.Clean(strings.ReplaceAll(exe, `\`, "/"))
	if path.IsAbs(clean) || clean == "." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("%s: defaultExecutablePath %q must be a path inside the app", hostJSON, exe)
	}
	return clean, nil
}

// functionFolders returns the subdirectories of dir that hold a
// function.json, sorted.
func functionFolders(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []string
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		fj := filepath.Join(dir, de.Name(), "function.json")
		b, err := os.ReadFile(fj)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", fj, err)
		}
		var fn struct {
			Bindings []json.RawMessage `json:"bindings"`
		}
		if err := json.Unmarshal(b, &fn); err != nil || len(fn.Bindings) == 0 {
			return nil, fmt.Errorf("%s: not a function.json with bindings (%v)", fj, err)
		}
		out = append(out, de.Name())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no function folder (a directory with a function.json)", dir)
	}
	return out, nil
}

// write writes the zip.
func write(out string, files []entry) error {
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	zw := zip.NewWriter(f)
	for _, e := range files {
		if err := add(zw, e); err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return fmt.Errorf("finish %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", out, err)
	}
	return nil
}

func add(zw *zip.Writer, e entry) error {
	src, err := os.Open(e.src)
	if err != nil {
		return fmt.Errorf("open %s: %w", e.src, err)
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", e.src, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", e.src)
	}
	h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: stamp}
	h.SetMode(e.mode) // Unix attributes, made-by Unix: unzip and the Functions host keep them
	w, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("add %s: %w", e.name, err)
	}
	if _, err := io.Copy(w, src); err != nil {
		return fmt.Errorf("add %s: %w", e.name, err)
	}
	return nil
}
