package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/shared/baseline"
	dwconfig "github.com/driftwatch/driftwatch/shared/config"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

const baselineUsage = `Usage:
  driftwatch baseline capture [--config F] [--type T] [--account A] [--by NAME] [--note TEXT] RESOURCE-ARN
      Read the resource live and store its document as its approved baseline.
  driftwatch baseline show [--config F] RESOURCE-ARN
      Print the approved baseline (JSON).
  driftwatch baseline diff [--config F] [--type T] [--account A] [--watch PATH]... [--format table|json] RESOURCE-ARN
      Read the resource live and compare it with its approved baseline, on the watched
      paths (default: every property). Exit status 1 when they differ.
The baselines live in the config's store (store.kind sqlite: store.path, default
./driftwatch.db; dynamodb: store.table). The type is inferred from the ARN unless --type is given.
`

// baselineAWSConfig loads the AWS configuration of the baseline commands (a
// test replaces it).
var baselineAWSConfig = func(ctx context.Context) (aws.Config, error) { return config.LoadDefaultConfig(ctx) }

func baselineCmd(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, baselineUsage)
		return exitUsage
	}
	sub, args := args[0], args[1:]
	fl := newFlags("baseline "+sub, env)
	cfgPath := fl.String("config", "", "driftwatch.yaml (default: ./driftwatch.yaml when present, else built-in defaults)")
	typ := fl.String("type", "", "resource type (default: inferred from the ARN)")
	account := fl.String("account", "", "account of a resource whose ARN names none (an S3 bucket)")
	by := fl.String("by", "", `who approves (default "cli:$USER")`)
	note := fl.String("note", "", "why the baseline is approved")
	format := fl.String("format", "table", "diff output: table or json")
	var watch stringList
	fl.Var(&watch, "watch", "document path to compare (dotted, such as PublicAccessBlock); repeatable")
	switch sub {
	case "capture", "show", "diff":
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, baselineUsage)
		return exitOK
	default:
		fmt.Fprintf(env.Stderr, "driftwatch baseline: unknown subcommand %q\n\n%s", sub, baselineUsage)
		return exitUsage
	}
	pos, err := parseFlags(fl, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintf(env.Stderr, "driftwatch baseline %s: want one RESOURCE-ARN\n\n%s", sub, baselineUsage)
		return exitUsage
	}
	if err := checkFormat(*format); err != nil {
		fmt.Fprintf(env.Stderr, "driftwatch baseline %s: %v\n", sub, err)
		return exitUsage
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(env.Stderr, "driftwatch baseline %s: %v\n", sub, err)
		return exitUsage
	}
	b := &baselineRun{env: env, id: pos[0], typ: *typ, account: *account}
	if err := b.open(ctx, cfg); err != nil {
		fmt.Fprintf(env.Stderr, "driftwatch baseline %s: %v\n", sub, err)
		return exitFail
	}
	defer b.close()
	switch sub {
	case "capture":
		who := *by
		if who == "" {
			who = "cli:" + env.Getenv("USER")
		}
		err = b.capture(ctx, who, *note)
	case "show":
		err = b.show(ctx)
	case "diff":
		var differ bool
		differ, err = b.diff(ctx, watch, *format)
		if err == nil && differ {
			return exitFail
		}
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "driftwatch baseline %s: %v\n", sub, err)
		return exitFail
	}
	return exitOK
}

// baselineRun is one baseline command: the store, and what reads live.
type baselineRun struct {
	env              Env
	id, typ, account string
	store            baseline.Store
	close            func()
	aws              aws.Config
	reader           *fetchaws.Reader
}

// open opens the config's store and prepares the live reader.
func (b *baselineRun) open(ctx context.Context, cfg *dwconfig.Config) error {
	var err error
	b.aws, err = baselineAWSConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	b.reader = fetchaws.New(b.aws, fetchaws.Options{S3PathStyle: customEndpoint(b.env)})
	b.close = func() {}
	switch cfg.Store.Kind {
	case dwconfig.StoreDynamoDB:
		b.store = baseline.NewDynamo(dynamodb.NewFromConfig(b.aws), cfg.Store.Table)
	default:
		s, err := baseline.OpenSQLite(ctx, cfg.Store.Path)
		if err != nil {
			return err
		}
		b.store, b.close = s, func() { s.Close() }
	}
	return nil
}

// ref names the resource: its type from the ARN, or --type.
func (b *baselineRun) ref() (resource.Ref, error) {
	if b.typ != "" {
		return resource.Ref{Type: b.typ, ID: b.id, Account: b.account, Region: b.aws.Region}, nil
	}
	ref, err := baseline.RefOf(b.id, b.account, b.aws.Region)
	if err != nil {
		return ref, err
	}
	for _, t := range b.reader.Types() {
		if t == ref.Type {
			return ref, nil
		}
	}
	return ref, fmt.Errorf("resource type %s cannot be read", ref.Type)
}

// read reads the resource live.
func (b *baselineRun) read(ctx context.Context) (resource.Resource, error) {
	ref, err := b.ref()
	if err != nil {
		return resource.Resource{}, err
	}
	return b.reader.Read(ctx, ref)
}

func (b *baselineRun) capture(ctx context.Context, by, note string) error {
	res, err := b.read(ctx)
	if err != nil {
		return err
	}
	approved, err := baseline.Approve(ctx, b.store, res, by, note, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(b.env.Stdout, "captured the baseline of %s (%s): version %d, %d properties, approved by %s\n",
		approved.Ref.ID, approved.Ref.Type, approved.Version, len(approved.Doc), approved.ApprovedBy)
	return nil
}

func (b *baselineRun) show(ctx context.Context) error {
	approved, err := b.store.Get(ctx, b.id)
	if errors.Is(err, baseline.ErrNotFound) {
		return fmt.Errorf("%s has no approved baseline (capture one with driftwatch baseline capture)", b.id)
	}
	if err != nil {
		return err
	}
	return writeJSON(b.env.Stdout, approved)
}

// diff compares the live resource with its baseline and reports whether
// they differ.
func (b *baselineRun) diff(ctx context.Context, watch []string, format string) (bool, error) {
	approved, err := b.store.Get(ctx, b.id)
	if errors.Is(err, baseline.ErrNotFound) {
		return false, fmt.Errorf("%s has no approved baseline (capture one with driftwatch baseline capture)", b.id)
	}
	if err != nil {
		return false, err
	}
	if b.typ == "" {
		b.typ = approved.Ref.Type
	}
	if b.account == "" {
		b.account = approved.Ref.Account
	}
	live, err := b.read(ctx)
	if err != nil {
		return false, err
	}
	diffs := baseline.Compare(approved, live, watch)
	if format == "json" {
		if diffs == nil {
			diffs = []policy.Difference{}
		}
		return len(diffs) > 0, writeJSON(b.env.Stdout, diffs)
	}
	writeDiffTable(b.env.Stdout, approved, live, diffs)
	return len(diffs) > 0, nil
}

// writeDiffTable prints differences for people.
func writeDiffTable(w io.Writer, approved *baseline.Baseline, live resource.Resource, diffs []policy.Difference) {
	when := approved.ApprovedAt.UTC().Format("2006-01-02 15:04 UTC")
	if len(diffs) == 0 {
		fmt.Fprintf(w, "%s matches the baseline approved by %s on %s\n", approved.Ref.ID, approved.ApprovedBy, when)
		return
	}
	if !live.Exists {
		fmt.Fprintf(w, "%s no longer exists\n", approved.Ref.ID)
	}
	fmt.Fprintf(w, "%s differs from the baseline approved by %s on %s (%d difference(s)):\n", approved.Ref.ID, approved.ApprovedBy, when, len(diffs))
	for _, d := range diffs {
		if !d.List {
			fmt.Fprintf(w, "  %s: %s → %s\n", d.Path, compactJSON(d.Approved), compactJSON(d.Live))
			continue
		}
		for _, e := range d.Removed {
			fmt.Fprintf(w, "  %s: - %s\n", d.Path, compactJSON(e))
		}
		for _, e := range d.Added {
			fmt.Fprintf(w, "  %s: + %s\n", d.Path, compactJSON(e))
		}
	}
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
