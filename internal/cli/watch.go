package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/driftwatch/driftwatch/shared/pipeline"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/aznamespaces"

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/detect"
	fetchazure "github.com/driftwatch/driftwatch/shared/fetch/azure"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
)

// eventGridKeyEnv names the environment variable that may hold the
// namespace's shared access key; without it watch signs in with the
// default Azure credential chain.
const eventGridKeyEnv = "DRIFTWATCH_EVENTGRID_KEY"

// watchLine is one line of `watch` output: the change as explain shows it,
// plus the verdicts of its touched resources.
type watchLine struct {
	explained
	Verdicts []verdictLine `json:"verdicts"`
}

// watchOptions are watch's parsed flags.
type watchOptions struct {
	endpoint, topic, subscription string
	maxEvents                     int
	maxWait                       time.Duration
	once                          bool
	rulesDir                      string
	own                           []string
}

// watchDeps are the cloud clients watch builds from its flags and
// environment; tests replace them.
type watchDeps struct {
	receiver func(o watchOptions, env Env) (*aznamespaces.ReceiverClient, error)
	reader   func(env Env) (detect.Reader, error)
}

var defaultWatchDeps = watchDeps{
	receiver: func(o watchOptions, env Env) (*aznamespaces.ReceiverClient, error) {
		if key := env.Getenv(eventGridKeyEnv); key != "" {
			return aznamespaces.NewReceiverClientWithSharedKeyCredential(o.endpoint, o.topic, o.subscription, azcore.NewKeyCredential(key), nil)
		}
		cred, err := fetchazure.NewCredential(fetchazure.CredentialDefault, "")
		if err != nil {
			return nil, err
		}
		return aznamespaces.NewReceiverClient(o.endpoint, o.topic, o.subscription, cred, nil)
	},
	reader: func(Env) (detect.Reader, error) {
		cred, err := fetchazure.NewCredential(fetchazure.CredentialDefault, "")
		if err != nil {
			return nil, err
		}
		return fetchazure.New(cred, fetchazure.Options{})
	},
}

func watch(ctx context.Context, args []string, env Env) int {
	fl := newFlags("watch", env)
	var o watchOptions
	fl.StringVar(&o.endpoint, "azure-namespace", "", "Event Grid namespace endpoint (https://<namespace>.<region>-1.eventgrid.azure.net)")
	fl.StringVar(&o.topic, "topic", "", "namespace topic")
	fl.StringVar(&o.subscription, "subscription", "", "event subscription of the topic (pull delivery)")
	fl.IntVar(&o.maxEvents, "max-events", 10, "events per receive, 1-100")
	fl.DurationVar(&o.maxWait, "max-wait", 60*time.Second, "how long a receive waits for events, 10s-120s")
	fl.BoolVar(&o.once, "once", false, "receive and settle one batch, then exit")
	fl.StringVar(&o.rulesDir, "rules", "", "directory of extra *.rules.yaml files")
	var own stringList
	fl.Var(&own, "own-principal", "pattern of driftwatch's own principals (Azure object/client ID or managed identity resource ID); repeatable")
	rest, err := parseFlags(fl, args)
	if err != nil {
		return exitUsage
	}
	o.own = own
	switch {
	case len(rest) > 0:
		err = fmt.Errorf("unexpected argument %q", rest[0])
	case o.endpoint == "" || o.topic == "" || o.subscription == "":
		err = fmt.Errorf("--azure-namespace, --topic and --subscription are required")
	case o.maxEvents < 1 || o.maxEvents > 100:
		err = fmt.Errorf("--max-events must be 1 to 100, not %d", o.maxEvents)
	case o.maxWait < 10*time.Second || o.maxWait > 120*time.Second:
		err = fmt.Errorf("--max-wait must be 10s to 120s, not %s", o.maxWait)
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch watch:", err)
		return exitUsage
	}
	return runWatch(ctx, o, defaultWatchDeps, env)
}

// runWatch pulls from the namespace subscription and prints one line per
// change until ctx is done (or after one batch with --once).
func runWatch(ctx context.Context, o watchOptions, deps watchDeps, env Env) int {
	fail := func(err error) int {
		fmt.Fprintln(env.Stderr, "driftwatch watch:", err)
		return exitFail
	}
	det, err := watchDetector(o, deps, env)
	if err != nil {
		return fail(err)
	}
	client, err := deps.receiver(o, env)
	if err != nil {
		return fail(fmt.Errorf("Event Grid namespace client: %w", err))
	}
	out := &printer{det: det, enc: json.NewEncoder(env.Stdout)}
	out.enc.SetEscapeHTML(false)
	puller := eventgrid.NewPuller(client, &eventgrid.Handler{Processor: out}, eventgrid.PullOptions{
		MaxEvents: int32(o.maxEvents), MaxWait: o.maxWait,
	})
	if o.once {
		s, err := puller.Once(ctx)
		fmt.Fprintf(env.Stderr, "driftwatch watch: %d acknowledged, %d released, %d rejected, %d lock(s) lost\n",
			s.Acknowledged, s.Released, s.Rejected, s.LockLost)
		if err != nil {
			return fail(err)
		}
		return exitOK
	}
	if err := puller.Run(ctx); err != nil {
		return fail(err)
	}
	return exitOK
}

// watchDetector builds the pipeline: filter, catalog, ARM reader, the
// built-in Azure rules plus --rules.
func watchDetector(o watchOptions, deps watchDeps, env Env) (*detect.Detector, error) {
	rules, err := pack.Azure()
	if err != nil {
		return nil, err
	}
	if o.rulesDir != "" {
		more, err := policy.LoadDir(o.rulesDir)
		if err != nil {
			return nil, fmt.Errorf("load rules from %s: %w", o.rulesDir, err)
		}
		rules = append(rules, more...)
	}
	eng, err := policy.Compile(rules)
	if err != nil {
		return nil, fmt.Errorf("compile rules: %w", err)
	}
	cat := catalog.Default()
	flt, err := filter.New(o.own, cat.Watched)
	if err != nil {
		return nil, fmt.Errorf("--own-principal: %w", err)
	}
	reader, err := deps.reader(env)
	if err != nil {
		return nil, fmt.Errorf("ARM reader: %w", err)
	}
	return &detect.Detector{Filter: flt, Catalog: cat, Reader: reader, Rules: eng}, nil
}

// printer is the Processor of watch: the detector, and a JSON line per
// change on the way out.
type printer struct {
	det *detect.Detector
	mu  sync.Mutex
	enc *json.Encoder
}

var _ eventgrid.Processor = (*printer)(nil)

// Handle checks the change (no findings store: watch prints) and prints it.
func (p *printer) Handle(ctx context.Context, ch *change.Change) (pipeline.Result, error) {
	out := p.det.Process(ctx, ch)
	line := watchLine{explained: explainRow(ch, out), Verdicts: []verdictLine{}}
	for _, v := range out.Verdicts() {
		line.Verdicts = append(line.Verdicts, verdictLine{
			EventID: v.EventID, Rule: v.RuleID, Severity: v.Severity,
			Resource: explainedRe{Type: v.Resource.Type, ID: v.Resource.ID},
			Result:   string(v.Result), Message: v.Message,
		})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// A failed write to stdout is not the event's fault: the event is
	// settled by what the pipeline said.
	_ = p.enc.Encode(line)
	if out.Err != nil {
		return pipeline.Result{Outcome: out}, fmt.Errorf("%w: %w", pipeline.ErrUnresolvable, out.Err)
	}
	return pipeline.Result{Outcome: out}, nil
}

// explainRow is the explain line of an outcome.
func explainRow(ch *change.Change, out detect.Outcome) explained {
	row := explained{
		Cloud: ch.Cloud, EventID: ch.EventID, Account: ch.Account, Region: ch.Region,
		Service: ch.Service, Operation: ch.Operation, Principal: ch.Principal.ARN,
		ReadOnly: ch.ReadOnly, ErrorCode: ch.ErrorCode, Ignored: string(out.Ignored),
		Resources: []explainedRe{},
	}
	if !ch.Time.IsZero() {
		row.Time = ch.Time.UTC().Format(time.RFC3339)
	}
	for _, r := range ch.Resources {
		row.Resources = append(row.Resources, explainedRe{Type: r.Type, ID: r.ID})
	}
	return row
}
