// Command generate rewrites the files driftwatch derives from its sources of
// truth: the EventBridge rules in template.yaml (from the catalog) and the
// rule reference docs/rules.md (from the built-in rule pack), the
// catalog reference docs/catalog.md and the Event Grid subscription filters
// of the Azure deployment, deploy/azure/operations.json (from the catalog).
//
// Run it through `make generate`; with -check it changes nothing and exits 1
// when a file is stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
)

func main() {
	check := flag.Bool("check", false, "report stale files instead of writing them")
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	if err := run(*root, *check); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

// target is one generated file: its path and a function from its current
// content to its wanted content.
type target struct {
	path string
	make func(current []byte) ([]byte, error)
}

func targets() []target {
	return []target{
		{"template.yaml", templateWithRules},
		{"deploy/aws/member.yaml", memberWithResources},
		{"docs/rules.md", func([]byte) ([]byte, error) { return rulesReference() }},
		{"docs/catalog.md", func([]byte) ([]byte, error) { return catalogReference() }},
		{"deploy/azure/operations.json", func([]byte) ([]byte, error) { return azureOperations() }},
	}
}

func run(root string, check bool) error {
	stale := 0
	for _, t := range targets() {
		path := root + "/" + t.path
		cur, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("read %s: %w", t.path, err)
		}
		want, err := t.make(cur)
		if err != nil {
			return fmt.Errorf("generate %s: %w", t.path, err)
		}
		if bytes.Equal(cur, want) {
			continue
		}
		if check {
			fmt.Fprintf(os.Stderr, "%s is stale: run `make generate`\n", t.path)
			stale++
			continue
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", t.path, err)
		}
		fmt.Println("wrote", t.path)
	}
	if stale > 0 {
		return fmt.Errorf("%d generated file(s) stale", stale)
	}
	return nil
}
