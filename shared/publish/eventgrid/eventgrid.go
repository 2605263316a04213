// Package eventgrid puts findings on an Azure Event Grid topic (a custom
// topic or domain, "Event Grid Basic") as CloudEvents 1.0, so that Logic
// Apps, Sentinel playbooks, functions or webhooks can subscribe to them. It
// is the Azure counterpart of shared/publish's EventBridge Publisher and
// sends the same documented FindingEvent.
//
// Each transition is one CloudEvent:
//
//	{"specversion": "1.0", "type": "driftwatch.finding", "source": "driftwatch",
//	 "id": "dw-87dc2048e05edc6d-4", "subject": "<resource ID>", "time": "<notice time>",
//	 "datacontenttype": "application/json", "data": {<publish.FindingEvent>}}
//
// The id is the finding's label and the notice's sequence number, so a
// notice delivered again after a crash carries the same id and subscribers
// can deduplicate on it. Subscribers filter with Event Grid's advanced
// filters on data.severity, data.transition or data.rule (keys two levels
// deep), or on the subject (the resource ID).
//
// A Publisher is a finding.Notifier named "eventgrid". Put it after the
// ticket notifiers in Lifecycle.Notifiers so that events carry the tickets
// opened for the transition.
package eventgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/publish"
)

// Name is the Publisher's notifier name (finding.Notice.Done).
const Name = "eventgrid"

// EventType is the CloudEvents type of every event.
const EventType = "driftwatch.finding"

const (
	// maxBatchSize bounds one publish request: Event Grid accepts an array
	// of up to 1 MB, each event up to 1 MB, and answers 413 above. Events
	// are billed per 64 KB, so a finding event (a few KB) costs one.
	maxBatchSize = 1_000_000
	// maxEventSize leaves room for the array's brackets and commas.
	maxEventSize = maxBatchSize - 1024
	// truncMark ends a cut message.
	truncMark = " …[truncated]"
)

// publishAPI is the Event Grid call the Publisher makes.
type publishAPI interface {
	PublishCloudEvents(ctx context.Context, events []messaging.CloudEvent, opts *azeventgrid.PublishCloudEventsOptions) (azeventgrid.PublishCloudEventsResponse, error)
}

var _ publishAPI = (*azeventgrid.Client)(nil)

// Options configure a Publisher.
type Options struct {
	// Source is the events' source (default driftwatch).
	Source string
	// Rules looks a rule up by ID for its CIS references (an
	// (*policy.Engine).Rule method value); nil leaves cis empty.
	Rules func(id string) *policy.Rule
}

// Publisher sends FindingEvents to an Event Grid topic. It is safe for
// concurrent use. Throttling (429) and server errors are retried by the
// client's pipeline (azcore's retry policy); what still fails is returned.
type Publisher struct {
	api  publishAPI
	opts Options
}

var _ finding.Notifier = (*Publisher)(nil)

// New returns a Publisher that sends through api (an *azeventgrid.Client).
func New(api publishAPI, opts Options) *Publisher {
	if opts.Source == "" {
		opts.Source = config.DefaultSource
	}
	return &Publisher{api: api, opts: opts}
}

// NewWithKey returns a Publisher for the topic endpoint
// (https://<topic>.<region>-1.eventgrid.azure.net/api/events) that
// authenticates with a topic access key (the aeg-sas-key header). client
// may be nil.
func NewWithKey(endpoint, key string, client *azcore.ClientOptions, opts Options) (*Publisher, error) {
	c, err := azeventgrid.NewClientWithSharedKeyCredential(endpoint, azcore.NewKeyCredential(key), clientOptions(client))
	if err != nil {
		return nil, fmt.Errorf("event grid client for %s: %w", endpoint, err)
	}
	return New(c, opts), nil
}

// NewWithCredential returns a Publisher for the topic endpoint that
// authenticates with Microsoft Entra ID (a managed identity holding the
// EventGrid Data Sender role on the topic, which may then disable local
// keys). client may be nil.
func NewWithCredential(endpoint string, cred azcore.TokenCredential, client *azcore.ClientOptions, opts Options) (*Publisher, error) {
	c, err := azeventgrid.NewClient(endpoint, cred, clientOptions(client))
	if err != nil {
		return nil, fmt.Errorf("event grid client for %s: %w", endpoint, err)
	}
	return New(c, opts), nil
}

func clientOptions(c *azcore.ClientOptions) *azeventgrid.ClientOptions {
	if c == nil {
		return nil
	}
	return &azeventgrid.ClientOptions{ClientOptions: *c}
}

// Name returns "eventgrid".
func (p *Publisher) Name() string { return Name }

// Opened publishes an opened event.
func (p *Publisher) Opened(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	return finding.Refs{}, p.Publish(ctx, p.Event(f, n))
}

// Repeated publishes a repeated event.
func (p *Publisher) Repeated(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	return finding.Refs{}, p.Publish(ctx, p.Event(f, n))
}

// Resolved publishes a resolved event.
func (p *Publisher) Resolved(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	return finding.Refs{}, p.Publish(ctx, p.Event(f, n))
}

// Event returns the event of notice n of finding f, with the rule's CIS
// references when Options.Rules knows the rule.
func (p *Publisher) Event(f *finding.Finding, n finding.Notice) publish.FindingEvent {
	var rule *policy.Rule
	if p.opts.Rules != nil {
		rule = p.opts.Rules(f.RuleID)
	}
	return publish.NewEvent(f, n, rule)
}

// sized is a CloudEvent with its encoded size.
type sized struct {
	ev   messaging.CloudEvent
	size int
	name string // for errors: the finding key and transition
}

// Publish sends events in as few requests as the 1 MB limit allows. It
// returns an error naming every event that could not be sent; events of
// other requests were sent. A request Event Grid refuses is refused whole.
func (p *Publisher) Publish(ctx context.Context, events ...publish.FindingEvent) error {
	var (
		pending []sized
		errs    []error
	)
	for _, e := range events {
		s, err := p.cloudEvent(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pending = append(pending, s)
	}
	for _, batch := range batches(pending) {
		evs := make([]messaging.CloudEvent, len(batch))
		names := make([]string, len(batch))
		for i, s := range batch {
			evs[i], names[i] = s.ev, s.name
		}
		if _, err := p.api.PublishCloudEvents(ctx, evs, nil); err != nil {
			errs = append(errs, fmt.Errorf("publish %d event(s) to event grid (%s): %w", len(evs), strings.Join(names, ", "), err))
		}
	}
	return errors.Join(errs...)
}

// cloudEvent returns the CloudEvent of e and its encoded size, cutting the
// message short (and setting message_truncated) if the event would exceed
// Event Grid's size limit.
func (p *Publisher) cloudEvent(e publish.FindingEvent) (sized, error) {
	name := e.Key + " (" + e.Transition + ")"
	ev := messaging.CloudEvent{
		ID:              fmt.Sprintf("%s-%d", e.Label, e.NoticeSeq),
		Source:          p.opts.Source,
		SpecVersion:     "1.0",
		Type:            EventType,
		DataContentType: to.Ptr("application/json"),
	}
	if e.Resource.ID != "" {
		ev.Subject = to.Ptr(e.Resource.ID)
	}
	if at, err := time.Parse(time.RFC3339Nano, e.At); err == nil {
		ev.Time = &at
	}
	for {
		// Measured as the client sends it (json.Marshal, which escapes
		// HTML characters).
		ev.Data = e
		b, err := json.Marshal(ev)
		if err != nil {
			return sized{}, fmt.Errorf("publish event for %s: encode cloud event: %w", name, err)
		}
		over := len(b) - maxEventSize
		if over <= 0 {
			return sized{ev: ev, size: len(b), name: name}, nil
		}
		if e.Message == "" || (e.MessageTruncated && e.Message == truncMark) {
			return sized{}, fmt.Errorf("publish event for %s: %d bytes over the %d-byte event limit without its message", name, over, maxEventSize)
		}
		e.Message = cut(strings.TrimSuffix(e.Message, truncMark), over+len(truncMark)) + truncMark
		e.MessageTruncated = true
	}
}

// batches splits events into requests of at most maxBatchSize bytes (the
// array's brackets and commas included).
func batches(events []sized) [][]sized {
	var (
		out  [][]sized
		cur  []sized
		size int
	)
	for _, s := range events {
		if len(cur) > 0 && size+s.size+1 > maxBatchSize {
			out = append(out, cur)
			cur, size = nil, 0
		}
		if len(cur) == 0 {
			size = 2 // []
		} else {
			size++ // ,
		}
		cur = append(cur, s)
		size += s.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// cut returns s without at least its last n bytes, on a rune boundary (the
// caller re-measures the encoded event and loops).
func cut(s string, n int) string {
	if n >= len(s) {
		return ""
	}
	i := len(s) - n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
