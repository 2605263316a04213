package main

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// zipSize is one deployed package.
type zipSize struct {
	Function    string
	Target      string // GOOS/GOARCH
	BinaryBytes int64
	ZipBytes    int64
	Contents    string
}

// measureZips builds every function under functions/ as `make build` (and
// sam build) does and zips it as it is deployed: the AWS functions for
// linux/arm64 with the Lambda flags, a zip holding bootstrap (and
// driftwatch.yaml when the repository root has one, as build-<LogicalId>
// copies it); the Azure function for linux/amd64, packaged by
// internal/azpackage as `make azure-package` does.
func measureZips(ctx context.Context, tmp string) ([]zipSize, error) {
	dirs, err := os.ReadDir("functions")
	if err != nil {
		return nil, err
	}
	var out []zipSize
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		name := d.Name()
		dir := filepath.Join(tmp, "zip", name)
		if strings.HasPrefix(name, "azure-") {
			bin := filepath.Join(dir, "handler")
			if err := goBuild(ctx, "linux", "amd64", bin, "./functions/"+name, "-trimpath", "-ldflags=-s -w"); err != nil {
				return nil, err
			}
			zipPath := filepath.Join(dir, name+".zip")
			cmd := exec.CommandContext(ctx, "go", "run", "./internal/azpackage", "-dir", "functions/"+name, "-handler", bin, "-o", zipPath)
			if b, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("azpackage %s: %w\n%s", name, err, b)
			}
			z, err := describeZip(zipPath)
			if err != nil {
				return nil, err
			}
			z.Function, z.Target, z.BinaryBytes = name, "linux/amd64", fileSize(bin)
			out = append(out, z)
			continue
		}
		bin := filepath.Join(dir, "bootstrap")
		if err := goBuild(ctx, "linux", "arm64", bin, "./functions/"+name, lambdaFlags...); err != nil {
			return nil, err
		}
		files := []string{bin}
		if _, err := os.Stat("driftwatch.yaml"); err == nil {
			files = append(files, "driftwatch.yaml")
		}
		zipPath := filepath.Join(dir, name+".zip")
		if err := writeZip(zipPath, files); err != nil {
			return nil, err
		}
		z, err := describeZip(zipPath)
		if err != nil {
			return nil, err
		}
		z.Function, z.Target, z.BinaryBytes = name, "linux/arm64", fileSize(bin)
		out = append(out, z)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Function < out[j].Function })
	return out, nil
}

// writeZip writes files at the zip's root, deflated, executable bits kept.
func writeZip(path string, files []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, src := range files {
		fi, err := os.Stat(src)
		if err != nil {
			f.Close()
			return err
		}
		h, err := zip.FileInfoHeader(fi)
		if err != nil {
			f.Close()
			return err
		}
		h.Method = zip.Deflate
		w, err := zw.CreateHeader(h)
		if err != nil {
			f.Close()
			return err
		}
		in, err := os.Open(src)
		if err != nil {
			f.Close()
			return err
		}
		_, err = io.Copy(w, in)
		in.Close()
		if err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// describeZip returns a zip's size and its entries.
func describeZip(path string) (zipSize, error) {
	r, err := zip.OpenReader(path)
	if err != nil {
		return zipSize{}, err
	}
	defer r.Close()
	var names []string
	for _, f := range r.File {
		names = append(names, f.Name)
	}
	return zipSize{ZipBytes: fileSize(path), Contents: strings.Join(names, ", ")}, nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
