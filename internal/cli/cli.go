// Package cli implements the driftwatch command line: explain, replay,
// policy validate/test and demo. cmd/driftwatch only wires it to the process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// Env is what a command may touch: its streams and its environment.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (os.Getenv in main).
	Getenv func(string) string
}

const usage = `driftwatch: real-time cloud drift detection

Usage:
  driftwatch explain [--format json|table] [--own-principal PATTERN]... PATH...
      Decode CloudTrail events (files, directories or - for stdin), filter noise and
      name the touched resources. No cloud calls.
  driftwatch replay [--format json|table] [--rules DIR] PATH...
      Run the whole pipeline on the events: re-read each touched resource live
      (AWS default credential chain; AWS_ENDPOINT_URL honoured) and print verdicts.
  driftwatch scan [--since 24h] [--regions r1,r2] [--format json|table]
      Look up the account's CloudTrail write events (LookupEvents, no deployment needed),
      re-read each touched resource once and show what fails; progress on a terminal.
  driftwatch policy validate [DIR]
      Compile the built-in rules plus the rules in DIR (*.rules.yaml).
  driftwatch policy test [DIR]
      Run rule tests (*.tests.yaml) for the built-in pack, or for DIR's rules.
  driftwatch watch --azure-namespace ENDPOINT --topic T --subscription S [--once] [--rules DIR]
      Pull Azure resource events from an Event Grid namespace topic subscription, check
      them like replay and print a JSON line per change; acknowledge, release (retry) or
      reject (dead-letter) each event. Key: DRIFTWATCH_EVENTGRID_KEY, else the default
      Azure credential chain (also used for ARM re-reads).
  driftwatch baseline capture|show|diff RESOURCE-ARN
      Approve a resource's live document as its baseline, print it, or compare the live
      resource with it (driftwatch baseline help).
  driftwatch demo
      Start a local AWS emulator (moto), make risky changes and show the verdicts.
  driftwatch dlq redrive --queue URL --dlq URL [--max N]
      Move messages from the detector's dead-letter queue back to its queue, printing
      why each was parked. A message is deleted only after it was sent.
`

// Run runs the command line args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "explain":
		return explain(ctx, args[1:], env)
	case "replay":
		return replay(ctx, args[1:], env)
	case "scan":
		return scan(ctx, args[1:], env)
	case "policy":
		return policyCmd(ctx, args[1:], env)
	case "demo":
		return demoCmd(ctx, args[1:], env)
	case "dlq":
		return dlqCmd(ctx, args[1:], env)
	case "watch":
		return watch(ctx, args[1:], env)
	case "baseline":
		return baselineCmd(ctx, args[1:], env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return exitOK
	}
	fmt.Fprintf(env.Stderr, "driftwatch: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// newFlags returns a flag set that reports to env.Stderr.
func newFlags(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parseFlags parses args allowing flags after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func checkFormat(f string) error {
	if f != "json" && f != "table" {
		return fmt.Errorf("--format must be json or table, not %q", f)
	}
	return nil
}

// input is one file's bytes.
type input struct {
	name string
	data []byte
}

// readInputs reads every path: "-" is stdin, a directory is walked for
// *.json files in lexical order. Unreadable paths are returned as errors;
// the rest are still read.
func readInputs(paths []string, env Env) ([]input, []error) {
	var out []input
	var errs []error
	for _, p := range paths {
		if p == "-" {
			b, err := io.ReadAll(env.Stdin)
			if err != nil {
				errs = append(errs, fmt.Errorf("read stdin: %w", err))
				continue
			}
			out = append(out, input{"<stdin>", b})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !st.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, input{p, b})
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("walk %s: %w", p, err))
		}
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, input{f, b})
		}
	}
	return out, errs
}

var errUsage = errors.New("usage")
