// Package publish puts findings on an Amazon EventBridge bus, so that SIEMs
// and Security Hub automations can subscribe to them with a rule such as
//
//	{"source": ["driftwatch"], "detail-type": ["driftwatch Finding"],
//	 "detail": {"severity": ["critical", "high"], "transition": ["opened"]}}
//
// A Publisher is a finding.Notifier named "eventbridge": the lifecycle
// hands it every transition worth announcing (opened, repeated, resolved)
// and every note (noted: a revert's result) through the finding's outbox,
// and it sends one event per transition or note. The
// event's detail is a FindingEvent, a documented, versioned JSON shape.
// Put the Publisher after the ticket notifiers in Lifecycle.Notifiers so
// that events carry the tickets opened for the transition.
package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// DetailType is the detail-type of every event.
const DetailType = "driftwatch Finding"

// Name is the Publisher's notifier name (finding.Notice.Done).
const Name = "eventbridge"

const (
	// maxEntries is the most entries one PutEvents call takes.
	maxEntries = 10
	// maxEntrySize bounds one entry, computed as EventBridge does (Time 14
	// bytes, then the UTF-8 bytes of Source, DetailType, Detail and each
	// Resources element). EventBridge now accepts up to 1 MB per request,
	// but 256 KB stays the limit of many targets and of older partitions,
	// so events stay under it, and so does each request.
	maxEntrySize   = 256 * 1024
	maxRequestSize = 256 * 1024
	// maxAttempts bounds the sends of an entry that fails retryably.
	maxAttempts = 3
	// truncMark ends a cut message.
	truncMark = " …[truncated]"
)

// eventsAPI is the EventBridge call the Publisher makes.
type eventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Options configure a Publisher.
type Options struct {
	// EventBus is the bus name or ARN ("" or "default": the account's
	// default bus).
	EventBus string
	// Source is the events' source (default driftwatch).
	Source string
	// Rules looks a rule up by ID for its CIS references (an
	// (*policy.Engine).Rule method value); nil leaves cis empty.
	Rules func(id string) *policy.Rule
	// Backoff is the wait before the first resend of entries EventBridge
	// throttled or failed internally; it doubles per attempt (default
	// 100ms).
	Backoff time.Duration
}

// Publisher sends FindingEvents to an EventBridge bus. It is safe for
// concurrent use.
type Publisher struct {
	api  eventsAPI
	opts Options
}

var _ finding.Notifier = (*Publisher)(nil)

// New returns a Publisher that sends through api (an
// *eventbridge.Client).
func New(api eventsAPI, opts Options) *Publisher {
	if opts.Source == "" {
		opts.Source = config.DefaultSource
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 100 * time.Millisecond
	}
	return &Publisher{api: api, opts: opts}
}

// FromConfig returns the Publisher of the publish section of the config.
func FromConfig(api eventsAPI, c *config.Publish, rules func(id string) *policy.Rule) *Publisher {
	return New(api, Options{EventBus: c.EventBus, Source: c.Source, Rules: rules})
}

// Name returns "eventbridge".
func (p *Publisher) Name() string { return Name }

// Opened publishes an opened event.
func (p *Publisher) Opened(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	return finding.Refs{}, p.Publish(ctx, p.Event(f, n))
}

// Repeated publishes a repeated event, or a noted event for a note.
func (p *Publisher) Repeated(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	return finding.Refs{}, p.Publish(ctx, p.Event(f, n))
}

// Resolved publishes a resolved event.
func (p *Publisher) Resolved(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	return finding.Refs{}, p.Publish(ctx, p.Event(f, n))
}

// Event returns the event of notice n of finding f, with the rule's CIS
// references when Options.Rules knows the rule.
func (p *Publisher) Event(f *finding.Finding, n finding.Notice) FindingEvent {
	var rule *policy.Rule
	if p.opts.Rules != nil {
		rule = p.opts.Rules(f.RuleID)
	}
	return NewEvent(f, n, rule)
}

// entry is one event ready to send.
type entry struct {
	req  types.PutEventsRequestEntry
	size int
	name string // for errors: the finding key and transition
}

// Publish sends events, up to ten per PutEvents call and within the size
// limits, resending entries EventBridge throttled or failed internally. It
// returns an error naming every event that could not be sent; the others
// were sent.
func (p *Publisher) Publish(ctx context.Context, events ...FindingEvent) error {
	var (
		pending []entry
		errs    []error
	)
	for _, e := range events {
		en, err := p.entry(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pending = append(pending, en)
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		var retry []entry
		for _, batch := range batches(pending) {
			failed, err := p.put(ctx, batch)
			if err != nil {
				return errors.Join(append(errs, err)...)
			}
			for _, f := range failed {
				if retryable(f.code) && attempt < maxAttempts {
					retry = append(retry, f.entry)
					continue
				}
				errs = append(errs, fmt.Errorf("publish event for %s: entry failed after %d attempt(s): %s: %s", f.name, attempt, f.code, f.msg))
			}
		}
		pending = retry
		if len(pending) > 0 {
			if err := sleep(ctx, p.opts.Backoff<<(attempt-1)); err != nil {
				for _, en := range pending {
					errs = append(errs, fmt.Errorf("publish event for %s: %w", en.name, err))
				}
				break
			}
		}
	}
	return errors.Join(errs...)
}

// failure is an entry EventBridge refused.
type failure struct {
	entry
	code, msg string
}

// put sends one batch and returns the entries that failed.
func (p *Publisher) put(ctx context.Context, batch []entry) ([]failure, error) {
	in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(batch))}
	for i, en := range batch {
		in.Entries[i] = en.req
	}
	out, err := p.api.PutEvents(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("put %d event(s) on bus %s: %w", len(batch), p.bus(), err)
	}
	if out.FailedEntryCount == 0 {
		return nil, nil
	}
	// Result entries are in request order.
	if len(out.Entries) != len(batch) {
		return nil, fmt.Errorf("put %d event(s) on bus %s: %d failed, and the answer has %d entries", len(batch), p.bus(), out.FailedEntryCount, len(out.Entries))
	}
	var failed []failure
	for i, r := range out.Entries {
		if r.ErrorCode == nil && r.EventId != nil {
			continue
		}
		failed = append(failed, failure{entry: batch[i], code: aws.ToString(r.ErrorCode), msg: aws.ToString(r.ErrorMessage)})
	}
	return failed, nil
}

func (p *Publisher) bus() string {
	if p.opts.EventBus == "" {
		return config.DefaultEventBus
	}
	return p.opts.EventBus
}

// retryable reports whether an entry error code is worth a resend (the
// codes the API documents as retryable).
func retryable(code string) bool {
	return code == "ThrottlingException" || code == "InternalFailure" || code == "InternalException"
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// batches splits entries into PutEvents calls: at most maxEntries each and
// at most maxRequestSize bytes in all.
func batches(entries []entry) [][]entry {
	var (
		out  [][]entry
		cur  []entry
		size int
	)
	for _, en := range entries {
		if len(cur) == maxEntries || (len(cur) > 0 && size+en.size > maxRequestSize) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, en)
		size += en.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// entry builds the request entry of e, cutting its message short if the
// entry would exceed maxEntrySize.
func (p *Publisher) entry(e FindingEvent) (entry, error) {
	name := e.Key + " (" + e.Transition + ")"
	en := entry{name: name, req: types.PutEventsRequestEntry{
		Source:     aws.String(p.opts.Source),
		DetailType: aws.String(DetailType),
	}}
	if p.opts.EventBus != "" {
		en.req.EventBusName = aws.String(p.opts.EventBus)
	}
	if strings.HasPrefix(e.Resource.ID, "arn:") {
		en.req.Resources = []string{e.Resource.ID}
	}
	if at, err := time.Parse(time.RFC3339Nano, e.At); err == nil {
		en.req.Time = aws.Time(at)
	}
	fixed := len(p.opts.Source) + len(DetailType)
	for _, r := range en.req.Resources {
		fixed += len(r)
	}
	if en.req.Time != nil {
		fixed += 14
	}
	detail, err := marshal(e)
	if err != nil {
		return entry{}, fmt.Errorf("publish event for %s: %w", name, err)
	}
	for over := fixed + len(detail) - maxEntrySize; over > 0; over = fixed + len(detail) - maxEntrySize {
		if e.Message == "" || (e.MessageTruncated && e.Message == truncMark) {
			return entry{}, fmt.Errorf("publish event for %s: %d bytes over the %d-byte entry limit without its message", name, over, maxEntrySize)
		}
		e.Message = cut(strings.TrimSuffix(e.Message, truncMark), over+len(truncMark)) + truncMark
		e.MessageTruncated = true
		if detail, err = marshal(e); err != nil {
			return entry{}, fmt.Errorf("publish event for %s: %w", name, err)
		}
	}
	en.req.Detail = aws.String(string(detail))
	en.size = fixed + len(detail)
	return en, nil
}

// cut returns the longest prefix of s, on a rune boundary, whose JSON
// encoding is at least n bytes shorter than s's. It estimates the encoded
// length of each rune as encoding/json writes it; the caller re-measures
// and loops, so an estimate that is off costs a pass, not a wrong result.
func cut(s string, n int) string {
	total := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		total += jsonLen(r, size)
		i += size
	}
	budget := total - n
	used := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if used += jsonLen(r, size); used > budget {
			return s[:i]
		}
		i += size
	}
	return s
}

// jsonLen is the length of rune r (size bytes in the source) in a JSON
// string written without HTML escaping.
func jsonLen(r rune, size int) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20 || r == '\u2028' || r == '\u2029' || (r == utf8.RuneError && size == 1):
		return 6
	}
	return size
}

// marshal encodes e without HTML escaping (the detail is not HTML, and
// escaping would make it harder to read and larger).
func marshal(e FindingEvent) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
