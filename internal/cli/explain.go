package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/filter"
)

// explained is one line of `explain --format json`. Its keys are a public
// contract: do not add or rename them.
type explained struct {
	Cloud     string        `json:"cloud"`
	EventID   string        `json:"event_id"`
	Time      string        `json:"time"`
	Account   string        `json:"account"`
	Region    string        `json:"region"`
	Service   string        `json:"service"`
	Operation string        `json:"operation"`
	Principal string        `json:"principal"`
	ReadOnly  bool          `json:"read_only"`
	ErrorCode string        `json:"error_code"`
	Resources []explainedRe `json:"resources"`
	Ignored   string        `json:"ignored"`
}

type explainedRe struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func explain(_ context.Context, args []string, env Env) int {
	fl := newFlags("explain", env)
	format := fl.String("format", "table", "output format: json or table")
	var own stringList
	fl.Var(&own, "own-principal", "ARN pattern (* wildcard) of driftwatch's own principals; repeatable")
	paths, err := parseFlags(fl, args)
	if err != nil {
		return exitUsage
	}
	if err := checkFormat(*format); err != nil || len(paths) == 0 {
		if err == nil {
			err = fmt.Errorf("explain needs at least one PATH")
		}
		fmt.Fprintln(env.Stderr, "driftwatch explain:", err)
		return exitUsage
	}
	cat := catalog.Default()
	flt, err := filter.New(own, cat.Watched)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch explain:", err)
		return exitUsage
	}

	inputs, errs := readInputs(paths, env)
	bad := len(errs)
	for _, e := range errs {
		fmt.Fprintln(env.Stderr, "driftwatch explain:", e)
	}
	var rows []explained
	for _, in := range inputs {
		changes, derrs := change.Decode(in.name, in.data)
		bad += len(derrs)
		for _, e := range derrs {
			fmt.Fprintln(env.Stderr, "driftwatch explain:", e)
		}
		for i := range changes {
			ch := &changes[i]
			row, warn := explainOne(ch, flt, cat)
			if warn != nil {
				fmt.Fprintf(env.Stderr, "driftwatch explain: %s: event %s: %v\n", in.name, ch.EventID, warn)
			}
			rows = append(rows, row)
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				fmt.Fprintln(env.Stderr, "driftwatch explain: write:", err)
				return exitFail
			}
		}
	} else {
		writeExplainTable(env.Stdout, rows)
	}
	if bad > 0 {
		return exitFail
	}
	return exitOK
}

// explainOne classifies one change. The touched resources are named
// whenever the operation is in the catalog, even for ignored changes, so a
// reader sees what a failed call tried to touch; a missing ID is a warning.
func explainOne(ch *change.Change, flt *filter.Filter, cat *catalog.Catalog) (explained, error) {
	reason := flt.Check(ch)
	var warn error
	if _, err := cat.Resolve(ch); err != nil && reason == "" {
		warn = err
	}
	row := explained{
		Cloud: ch.Cloud, EventID: ch.EventID, Account: ch.Account, Region: ch.Region,
		Service: ch.Service, Operation: ch.Operation, Principal: ch.Principal.ARN,
		ReadOnly: ch.ReadOnly, ErrorCode: ch.ErrorCode, Ignored: string(reason),
		Resources: []explainedRe{},
	}
	if !ch.Time.IsZero() {
		row.Time = ch.Time.UTC().Format(time.RFC3339)
	}
	for _, r := range ch.Resources {
		row.Resources = append(row.Resources, explainedRe{Type: r.Type, ID: r.ID})
	}
	return row, warn
}

func writeExplainTable(w io.Writer, rows []explained) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACCOUNT\tREGION\tOPERATION\tPRINCIPAL\tRESOURCES\tVERDICT")
	for _, r := range rows {
		var res []string
		for _, x := range r.Resources {
			res = append(res, x.Type+" "+x.ID)
		}
		verdict := "check"
		if r.Ignored != "" {
			verdict = "ignored: " + r.Ignored
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time, r.Account, r.Region,
			shortService(r.Service)+":"+r.Operation, dash(r.Principal), dash(strings.Join(res, ", ")), verdict)
	}
	tw.Flush()
}

func shortService(s string) string { return strings.TrimSuffix(s, ".amazonaws.com") }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
