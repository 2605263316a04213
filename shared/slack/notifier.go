package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/secret"
)

// Mode is how a Notifier reaches Slack.
type Mode string

// Modes.
const (
	// ModeBot uses a bot token and the Web API: chat.postMessage for a new
	// finding, chat.update to keep the alert current and mark it resolved,
	// thread replies for repeats and resolutions.
	ModeBot Mode = "bot"
	// ModeWebhook posts to an incoming webhook, which can only post: no
	// update of the alert, no threads, one fixed channel. An alert is
	// posted when a finding opens, another post when it is changed again
	// by a different principal, another when it is resolved, and one per
	// note; the first alert keeps its buttons after the finding is
	// resolved.
	ModeWebhook Mode = "webhook"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = slackapi.APIURL

// Defaults of Config.
const (
	DefaultTimeout    = 15 * time.Second
	DefaultMaxRetries = 3
	DefaultMaxWait    = 20 * time.Second
	DefaultBackoff    = 500 * time.Millisecond
)

// Config configures a Notifier. Exactly one of BotToken and WebhookURL is
// set; main builds it from the config file and the secrets it names.
type Config struct {
	// BotToken (xoxb-…) selects bot-token mode.
	BotToken secret.Secret
	// WebhookURL (https://hooks.slack.com/services/…) selects
	// incoming-webhook mode. Routing does not apply: a webhook posts to the
	// channel it was created for.
	WebhookURL secret.Secret
	// Routing picks the channel of each finding (bot-token mode).
	Routing Routing
	// RuleInfo, if set, returns a rule's title (used when the finding has
	// none) and its CIS benchmark ids, which findings do not carry.
	RuleInfo func(ruleID string) (title string, cis []string)
	// Request, if set, returns the request parameters of a change (decoded
	// CloudTrail requestParameters or JSON text, nil when unknown), which
	// findings do not store; messages summarise them.
	Request func(c finding.Change) any
	// APIURL is the Web API's base URL (default DefaultAPIURL); tests point
	// it at a local server.
	APIURL string
	// HTTPClient sends the requests (default: a client with a 15 s timeout).
	HTTPClient *http.Client
	// Retry bounds the retries of rate-limited and failed calls.
	Retry Retry
}

// Retry bounds how a Notifier retries a call that Slack refused for now:
// a 429 is retried after its Retry-After, a 5xx (or an internal_error,
// fatal_error, service_unavailable or request_timeout answer) after an
// exponential backoff; any other error is returned at once. The total wait
// should stay below the finding lifecycle's delivery lease.
type Retry struct {
	// MaxRetries is the number of retries after the first attempt
	// (default 3; negative: none).
	MaxRetries int
	// MaxWait is the longest wait before a retry (default 20 s): a
	// Retry-After above it fails the call at once, to be retried later by
	// the lifecycle; a backoff is capped at it.
	MaxWait time.Duration
	// Backoff is the first wait after a server error, doubled at each
	// retry (default 500 ms).
	Backoff time.Duration
}

func (r Retry) maxRetries() int {
	switch {
	case r.MaxRetries < 0:
		return 0
	case r.MaxRetries == 0:
		return DefaultMaxRetries
	}
	return r.MaxRetries
}

func (r Retry) maxWait() time.Duration {
	if r.MaxWait > 0 {
		return r.MaxWait
	}
	return DefaultMaxWait
}

func (r Retry) backoff() time.Duration {
	if r.Backoff > 0 {
		return r.Backoff
	}
	return DefaultBackoff
}

// mode returns the mode the config selects.
func (c Config) mode() Mode {
	if !c.BotToken.IsZero() {
		return ModeBot
	}
	return ModeWebhook
}

// LogValue implements slog.LogValuer: the mode and routing, never a secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("mode", string(c.mode())),
		slog.String("api_url", c.APIURL),
		slog.String("default_channel", c.Routing.Default),
		slog.Int("routes", len(c.Routing.Routes)),
	)
}

// Validate reports what is wrong with the config, without showing a
// secret.
func (c Config) Validate() error {
	switch {
	case c.BotToken.IsZero() && c.WebhookURL.IsZero():
		return errors.New("slack: neither a bot token nor a webhook URL is set")
	case !c.BotToken.IsZero() && !c.WebhookURL.IsZero():
		return errors.New("slack: both a bot token and a webhook URL are set; choose one")
	case !c.BotToken.IsZero():
		if !strings.HasPrefix(c.BotToken.Reveal(), "xox") {
			return errors.New("slack: the bot token does not look like a Slack token (xoxb-…)")
		}
		if err := c.Routing.Validate(); err != nil {
			return fmt.Errorf("slack routing: %w", err)
		}
	default:
		if err := checkWebhookURL(c.WebhookURL.Reveal()); err != nil {
			return err
		}
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("slack: API URL %q is not an http(s) URL", c.APIURL)
		}
	}
	return nil
}

// checkWebhookURL requires https (http only to a loopback host, for tests);
// its errors never show the URL, which is a credential.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("slack: the webhook URL is not a URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return errors.New("slack: the webhook URL must be https")
}

// Notifier announces findings in Slack. It implements finding.Notifier
// and is safe for concurrent use.
type Notifier struct {
	cfg  Config
	api  *slackapi.Client // bot-token mode
	http *http.Client
}

var _ finding.Notifier = (*Notifier)(nil)

// New returns a Notifier for a validated cfg.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Notifier{cfg: cfg, http: cfg.HTTPClient}
	if n.http == nil {
		n.http = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.mode() == ModeBot {
		api := cfg.APIURL
		if api == "" {
			api = DefaultAPIURL
		}
		if !strings.HasSuffix(api, "/") {
			api += "/"
		}
		n.api = slackapi.New(cfg.BotToken.Reveal(), slackapi.OptionHTTPClient(n.http), slackapi.OptionAPIURL(api))
	}
	return n, nil
}

// Name returns "slack", the notifier's name in finding.Notice.Done.
func (s *Notifier) Name() string { return "slack" }

// Mode returns how the notifier reaches Slack.
func (s *Notifier) Mode() Mode { return s.cfg.mode() }

// Opened posts the alert of a new finding to its routed channel and
// returns the post's channel ID and timestamp (no refs in webhook mode).
func (s *Notifier) Opened(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	msg := AlertMessage(f, n, s.details(f, n.Change))
	if s.api == nil {
		return finding.Refs{}, s.webhook(ctx, f, "alert", msg)
	}
	return s.postNew(ctx, f, "alert", msg)
}

// Repeated tells that a change kept the finding failing. In bot-token mode
// it updates the alert (occurrence count, latest change) and, for a
// different principal (n.Kind RepeatedNewPrincipal), replies in its
// thread; a finding never posted to Slack gets its alert posted now. In
// webhook mode only a different principal is posted.
//
// A note (n.Kind Noted) is a thread reply (NoteMessage) and leaves the
// alert as it is; see Notifier.Noted.
func (s *Notifier) Repeated(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	if n.Kind == finding.Noted {
		return s.Noted(ctx, f, n)
	}
	newPrincipal := n.Kind == finding.RepeatedNewPrincipal
	if s.api == nil {
		if !newPrincipal {
			return finding.Refs{}, nil
		}
		return finding.Refs{}, s.webhook(ctx, f, "repeat", RepeatMessage(f, n, s.details(f, n.Change)))
	}
	if f.SlackTS == "" || f.SlackChannel == "" {
		return s.postNew(ctx, f, "alert", AlertMessage(f, n, s.details(f, f.OpenedBy)))
	}
	refs := slackRefs(f)
	if n.Occurrence == 0 || n.Occurrence == f.Occurrence {
		posted, err := s.updateOrRepost(ctx, f, "alert", AlertMessage(f, n, s.details(f, f.OpenedBy)))
		if err != nil {
			return finding.Refs{}, err
		}
		if posted.SlackTS != f.SlackTS {
			return posted, nil // the alert was gone and is posted anew, up to date
		}
	}
	if newPrincipal {
		if _, _, err := s.post(ctx, f, "repeat", f.SlackChannel, f.SlackTS, RepeatMessage(f, n, s.details(f, n.Change))); err != nil {
			return finding.Refs{}, err
		}
	}
	return refs, nil
}

// Resolved marks the finding resolved: in bot-token mode it replaces the
// alert with its resolved version (no buttons) and replies in the thread;
// in webhook mode, and when the alert cannot be found, it posts the
// resolved version.
func (s *Notifier) Resolved(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	d := s.details(f, n.Change)
	msg := ResolvedMessage(f, n, d)
	if s.api == nil {
		return finding.Refs{}, s.webhook(ctx, f, "resolution", msg)
	}
	if f.SlackTS == "" || f.SlackChannel == "" {
		return s.postNew(ctx, f, "resolution", msg)
	}
	refs, err := s.updateOrRepost(ctx, f, "resolution", msg)
	if err != nil || refs.SlackTS != f.SlackTS {
		return refs, err
	}
	if _, _, err := s.post(ctx, f, "resolution reply", f.SlackChannel, f.SlackTS, ResolvedReply(f, n, d)); err != nil {
		return finding.Refs{}, err
	}
	return refs, nil
}

// Noted tells a note about the finding (a revert's result): in bot-token
// mode a reply in the alert's thread, broadcast to the channel when the
// note asks for a high or critical alert (a flapping resource); a finding
// without an alert in Slack gets the note as a post of its own in its
// routed channel (which does not become its alert). In webhook mode the
// note is posted. The alert itself is not updated.
func (s *Notifier) Noted(ctx context.Context, f *finding.Finding, n finding.Notice) (finding.Refs, error) {
	msg := NoteMessage(f, n, s.details(f, n.Change))
	if s.api == nil {
		return finding.Refs{}, s.webhook(ctx, f, "note", msg)
	}
	if f.SlackTS == "" || f.SlackChannel == "" {
		channel := s.cfg.Routing.Channel(f.RuleID, f.Account, f.Severity)
		_, _, err := s.post(ctx, f, "note", channel, "", msg)
		return finding.Refs{}, err
	}
	opts := messageOptions(msg, f.SlackTS)
	if n.Severity == policy.SeverityHigh || n.Severity == policy.SeverityCritical {
		opts = append(opts, slackapi.MsgOptionBroadcast())
	}
	err := s.call(ctx, func(ctx context.Context) error {
		_, _, err := s.api.PostMessageContext(ctx, f.SlackChannel, opts...)
		return err
	})
	if slackError(err) == "thread_not_found" || slackError(err) == "message_not_found" {
		// The alert was deleted: the note goes to the channel.
		_, _, err = s.post(ctx, f, "note", f.SlackChannel, "", msg)
	}
	if err != nil {
		return finding.Refs{}, fmt.Errorf("post slack note of finding %s to channel %s: %w", f.Key, f.SlackChannel, err)
	}
	return slackRefs(f), nil
}

// slackRefs returns the finding's Slack refs.
func slackRefs(f *finding.Finding) finding.Refs {
	return finding.Refs{SlackChannel: f.SlackChannel, SlackTS: f.SlackTS}
}

// details looks up what the finding does not carry.
func (s *Notifier) details(f *finding.Finding, ch finding.Change) Details {
	var d Details
	if s.cfg.RuleInfo != nil {
		d.Title, d.CIS = s.cfg.RuleInfo(f.RuleID)
	}
	if s.cfg.Request != nil && ch != (finding.Change{}) {
		d.Request = s.cfg.Request(ch)
	}
	return d
}

// postNew posts msg as a new message in the finding's routed channel.
func (s *Notifier) postNew(ctx context.Context, f *finding.Finding, what string, msg Message) (finding.Refs, error) {
	channel := s.cfg.Routing.Channel(f.RuleID, f.Account, f.Severity)
	ch, ts, err := s.post(ctx, f, what, channel, "", msg)
	if err != nil {
		return finding.Refs{}, err
	}
	return finding.Refs{SlackChannel: ch, SlackTS: ts}, nil
}

// updateOrRepost replaces the finding's alert with msg; when Slack no
// longer has it (deleted by someone), it posts msg anew and returns the new
// refs.
func (s *Notifier) updateOrRepost(ctx context.Context, f *finding.Finding, what string, msg Message) (finding.Refs, error) {
	err := s.call(ctx, func(ctx context.Context) error {
		_, _, _, err := s.api.UpdateMessageContext(ctx, f.SlackChannel, f.SlackTS, messageOptions(msg, "")...)
		return err
	})
	if err == nil {
		return slackRefs(f), nil
	}
	if slackError(err) == "message_not_found" {
		return s.postNew(ctx, f, what, msg)
	}
	return finding.Refs{}, fmt.Errorf("update slack %s of finding %s (channel %s, ts %s): %w", what, f.Key, f.SlackChannel, f.SlackTS, err)
}

// post sends msg to channel (in the thread of threadTS when set) and
// returns the channel ID and the message's timestamp.
func (s *Notifier) post(ctx context.Context, f *finding.Finding, what, channel, threadTS string, msg Message) (string, string, error) {
	var ch, ts string
	err := s.call(ctx, func(ctx context.Context) error {
		var err error
		ch, ts, err = s.api.PostMessageContext(ctx, channel, messageOptions(msg, threadTS)...)
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("post slack %s of finding %s to channel %s: %w", what, f.Key, channel, err)
	}
	return ch, ts, nil
}

// messageOptions are the chat.postMessage / chat.update arguments for msg:
// the blocks and the notification text, with link and media unfurling off
// and Slack's parsing of names and mentions off.
func messageOptions(msg Message, threadTS string) []slackapi.MsgOption {
	opts := []slackapi.MsgOption{
		slackapi.MsgOptionText(msg.Text, false),
		slackapi.MsgOptionBlocks(msg.Blocks...),
		slackapi.MsgOptionParse(false),
		slackapi.MsgOptionLinkNames(false),
		slackapi.MsgOptionDisableLinkUnfurl(),
		slackapi.MsgOptionDisableMediaUnfurl(),
	}
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	return opts
}

// webhook posts msg to the incoming webhook.
func (s *Notifier) webhook(ctx context.Context, f *finding.Finding, what string, msg Message) error {
	off := false
	body := &slackapi.WebhookMessage{
		Text:        msg.Text,
		Blocks:      &slackapi.Blocks{BlockSet: msg.Blocks},
		Parse:       "none",
		UnfurlLinks: &off,
		UnfurlMedia: &off,
	}
	err := s.call(ctx, func(ctx context.Context) error {
		return redactURL(slackapi.PostWebhookCustomHTTPContext(ctx, s.cfg.WebhookURL.Reveal(), s.http, body))
	})
	if err != nil {
		return fmt.Errorf("post slack %s of finding %s to the incoming webhook: %w", what, f.Key, err)
	}
	return nil
}

// redactURL replaces an error that carries a *url.Error with one that does
// not show the URL: the webhook URL is a credential, and net/http puts it in
// its errors (and slack-go's wrapping has already formatted it into its
// message). The cause stays in the chain.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, secret.Redacted, ue.Err)
	}
	return err
}

// slackError returns the Web API's error code in err ("" when none).
func slackError(err error) string {
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// call runs fn, retrying as s.cfg.Retry allows while ctx lasts.
func (s *Notifier) call(ctx context.Context, fn func(context.Context) error) error {
	backoff := s.cfg.Retry.backoff()
	maxWait := s.cfg.Retry.maxWait()
	for attempt := 0; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		wait, retry := retryWait(err, &backoff, maxWait)
		switch {
		case !retry:
			return err
		case attempt >= s.cfg.Retry.maxRetries():
			return fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		case wait > maxWait:
			return fmt.Errorf("slack asks to wait %s, longer than %s: %w", wait, maxWait, err)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return fmt.Errorf("slack asks to wait %s, past the deadline: %w", wait, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (stopped waiting to retry: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// retryWait says whether err is worth retrying and after how long: a 429's
// Retry-After (at least a second), or the backoff for a server error,
// which it then doubles (up to maxWait, plus up to 20 % jitter).
func retryWait(err error, backoff *time.Duration, maxWait time.Duration) (time.Duration, bool) {
	var rl *slackapi.RateLimitedError
	if errors.As(err, &rl) {
		return max(rl.RetryAfter, time.Second), true
	}
	next := func() time.Duration {
		w := *backoff
		*backoff = min(2**backoff, maxWait)
		return w + rand.N(w/5+1)
	}
	var sc slackapi.StatusCodeError
	if errors.As(err, &sc) {
		switch {
		case sc.Code == http.StatusTooManyRequests: // without Retry-After
			return max(next(), time.Second), true
		case sc.Code >= 500:
			return next(), true
		}
		return 0, false
	}
	switch slackError(err) {
	case "ratelimited":
		return max(next(), time.Second), true
	case "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return next(), true
	}
	return 0, false
}
