package eventgrid

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/aznamespaces"
)

// receiver is the part of aznamespaces.ReceiverClient the Puller calls.
type receiver interface {
	ReceiveEvents(ctx context.Context, options *aznamespaces.ReceiveEventsOptions) (aznamespaces.ReceiveEventsResponse, error)
	AcknowledgeEvents(ctx context.Context, lockTokens []string, options *aznamespaces.AcknowledgeEventsOptions) (aznamespaces.AcknowledgeEventsResponse, error)
	ReleaseEvents(ctx context.Context, lockTokens []string, options *aznamespaces.ReleaseEventsOptions) (aznamespaces.ReleaseEventsResponse, error)
	RejectEvents(ctx context.Context, lockTokens []string, options *aznamespaces.RejectEventsOptions) (aznamespaces.RejectEventsResponse, error)
}

var _ receiver = (*aznamespaces.ReceiverClient)(nil)

// PullOptions tune a Puller.
type PullOptions struct {
	// MaxEvents is how many events one receive asks for, 1 to 100
	// (default 10).
	MaxEvents int32
	// MaxWait is how long one receive waits for events, 10 s to 120 s
	// (default 60 s).
	MaxWait time.Duration
	// Log receives a line per settled batch and per error; nil discards.
	Log *slog.Logger
}

// Puller takes events from an Event Grid namespace topic subscription
// (pull delivery) and settles each one by what the Handler said:
//
//   - handled or ignored: acknowledged (gone from the subscription);
//   - a transient failure: released with a delay that grows with the
//     delivery count (10 s, 1 min, 10 min, then 1 h), so the broker
//     delivers it again until the subscription's maxDeliveryCount, then
//     dead-letters it;
//   - input no retry can fix (ErrPermanent): rejected, which dead-letters
//     it when the subscription has a dead-letter destination.
//
// An event whose lock expired before it was settled (a FailedLockToken) is
// delivered again by the broker; the pipeline's deduplication absorbs it.
type Puller struct {
	client  receiver
	handler *Handler
	opts    PullOptions
	log     *slog.Logger
}

// NewPuller returns a Puller that receives with client (an
// *aznamespaces.ReceiverClient) and processes with h.
func NewPuller(client receiver, h *Handler, opts PullOptions) *Puller {
	if opts.MaxEvents < 1 || opts.MaxEvents > 100 {
		opts.MaxEvents = 10
	}
	if opts.MaxWait < 10*time.Second || opts.MaxWait > 120*time.Second {
		opts.MaxWait = 60 * time.Second
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Puller{client: client, handler: h, opts: opts, log: log}
}

// Run receives and settles events until ctx is done (it then returns nil)
// or a receive fails in a way no retry fixes: an authentication,
// authorization or not-found answer (a wrong endpoint, topic or
// subscription, or a missing role). Other receive failures are retried
// with a backoff of 1 s doubling to 30 s.
func (p *Puller) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		_, err := p.Once(ctx)
		switch {
		case err == nil:
			backoff = 0
			continue
		case ctx.Err() != nil:
			return nil
		case fatalReceive(err):
			return err
		}
		backoff = min(max(2*backoff, time.Second), 30*time.Second)
		p.log.WarnContext(ctx, "receive failed; retrying", "error", err, "after", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
	return nil
}

// fatalReceive reports whether a receive error is one no retry fixes.
func fatalReceive(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	}
	return false
}

// Settled counts how one batch was settled.
type Settled struct {
	Acknowledged, Released, Rejected int
	// LockLost counts events whose settlement the broker refused (an
	// expired lock): they will be delivered again.
	LockLost int
}

// Once receives one batch (waiting up to MaxWait), processes its events in
// order and settles them. The error is about receiving or settling; what
// became of each event is in Settled.
func (p *Puller) Once(ctx context.Context) (Settled, error) {
	var s Settled
	wait := int32(p.opts.MaxWait / time.Second)
	resp, err := p.client.ReceiveEvents(ctx, &aznamespaces.ReceiveEventsOptions{MaxEvents: &p.opts.MaxEvents, MaxWaitTime: &wait})
	if err != nil {
		return s, fmt.Errorf("receive events: %w", err)
	}
	var ack, reject []string
	release := map[aznamespaces.ReleaseDelay][]string{}
	for _, d := range resp.Details {
		if d.BrokerProperties == nil || d.BrokerProperties.LockToken == nil {
			continue // cannot be settled; the broker redelivers it
		}
		token := *d.BrokerProperties.LockToken
		count := int32(1)
		if d.BrokerProperties.DeliveryCount != nil {
			count = *d.BrokerProperties.DeliveryCount
		}
		body, err := cloudEventJSON(d.Event)
		if err == nil {
			_, err = p.handler.Handle(ctx, "namespace:"+d.Event.ID, body)
		} else {
			err = fmt.Errorf("%w: %w", ErrPermanent, err)
		}
		switch {
		case err == nil:
			ack = append(ack, token)
		case errors.Is(err, ErrPermanent):
			p.log.ErrorContext(ctx, "event cannot be processed; rejecting it", "event_id", d.Event.ID, "error", err)
			reject = append(reject, token)
		default:
			delay := releaseDelay(count)
			p.log.WarnContext(ctx, "event will be retried", "event_id", d.Event.ID, "delivery_count", count, "delay_s", string(delay), "error", err)
			release[delay] = append(release[delay], token)
		}
	}
	var errs []error
	if len(ack) > 0 {
		r, err := p.client.AcknowledgeEvents(ctx, ack, nil)
		n, lost, err := p.settle(ctx, "acknowledge", len(ack), r.SucceededLockTokens, r.FailedLockTokens, err)
		s.Acknowledged, s.LockLost, errs = s.Acknowledged+n, s.LockLost+lost, append(errs, err)
	}
	if len(reject) > 0 {
		r, err := p.client.RejectEvents(ctx, reject, nil)
		n, lost, err := p.settle(ctx, "reject", len(reject), r.SucceededLockTokens, r.FailedLockTokens, err)
		s.Rejected, s.LockLost, errs = s.Rejected+n, s.LockLost+lost, append(errs, err)
	}
	for _, delay := range aznamespaces.PossibleReleaseDelayValues() {
		tokens := release[delay]
		if len(tokens) == 0 {
			continue
		}
		r, err := p.client.ReleaseEvents(ctx, tokens, &aznamespaces.ReleaseEventsOptions{ReleaseDelayInSeconds: &delay})
		n, lost, err := p.settle(ctx, "release", len(tokens), r.SucceededLockTokens, r.FailedLockTokens, err)
		s.Released, s.LockLost, errs = s.Released+n, s.LockLost+lost, append(errs, err)
	}
	return s, errors.Join(errs...)
}

// settle accounts for one settle call of n tokens: how many were settled,
// how many the broker refused (their events come again), and the call's
// error.
func (p *Puller) settle(ctx context.Context, what string, n int, ok []string, failed []aznamespaces.FailedLockToken, err error) (int, int, error) {
	if err != nil {
		return 0, 0, fmt.Errorf("%s %d event(s): %w", what, n, err)
	}
	for _, f := range failed {
		var code, msg string
		if f.Error != nil {
			code, msg = deref(f.Error.Code), deref(f.Error.Message)
		}
		p.log.WarnContext(ctx, what+" refused; the event will be delivered again", "lock_token", deref(f.LockToken), "code", code, "message", msg)
	}
	return len(ok), len(failed), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// releaseDelay is the release delay after the count-th delivery failed.
func releaseDelay(count int32) aznamespaces.ReleaseDelay {
	switch {
	case count <= 1:
		return aznamespaces.ReleaseDelayTenSeconds
	case count == 2:
		return aznamespaces.ReleaseDelayOneMinute
	case count == 3:
		return aznamespaces.ReleaseDelayTenMinutes
	}
	return aznamespaces.ReleaseDelayOneHour
}

// cloudEventJSON re-serialises a received CloudEvent in structured mode for
// change.Decode: its data as JSON when it is JSON (the SDK hands data over
// as raw bytes), else as data_base64.
func cloudEventJSON(ev messaging.CloudEvent) ([]byte, error) {
	m := map[string]any{"specversion": ev.SpecVersion, "id": ev.ID, "source": ev.Source, "type": ev.Type}
	if ev.Subject != nil {
		m["subject"] = *ev.Subject
	}
	if ev.Time != nil {
		m["time"] = ev.Time.UTC().Format(time.RFC3339Nano)
	}
	switch d := ev.Data.(type) {
	case nil:
	case []byte:
		if json.Valid(d) {
			m["data"] = json.RawMessage(d)
		} else {
			m["data_base64"] = base64.StdEncoding.EncodeToString(d)
		}
	default:
		m["data"] = d
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("re-encode CloudEvent %s: %w", ev.ID, err)
	}
	return b, nil
}
