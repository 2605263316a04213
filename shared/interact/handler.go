// Package interact carries out what people ask of driftwatch from its Slack
// alerts: the buttons Revert now, Acknowledge, Snooze 24 h and Accept as
// baseline (shared/slack puts them on every alert, with the finding key as
// their value).
//
// Slack wants an answer to a button within three seconds, and a revert
// (calls, then re-reads until the rule passes) can take longer. So the work
// is split in two:
//
//   - Handler, an http.Handler behind the function URL, checks the request
//     and answers at once: it verifies Slack's signature (v0, HMAC-SHA256
//     of "v0:timestamp:body" with the signing secret, five-minute window,
//     constant-time compare: slack-go's SecretsVerifier), refuses a replay
//     (the signature is marked in the finding store for longer than the
//     window, with a conditional write, so a replay is refused by any
//     instance), parses the press into a Job, hands it to a Queue and
//     answers 200 with an empty body;
//   - Worker carries the Job out: it checks that the person may do it
//     (Revert now and Accept as baseline are for the users and user groups
//     the config names; anyone else gets an ephemeral refusal and nothing
//     changes), does it, records it on the finding, replaces the alert with
//     its new state and who did what, and tells the person the result.
//
// In the Lambda function the Queue is an asynchronous invocation of the
// function itself; docs/slack-actions.md explains the choice.
package interact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/slack"
)

// Window is how far a request's timestamp may be from the clock (Slack's
// rule, which slack-go's SecretsVerifier applies).
const Window = 5 * time.Minute

// ReplayTTL is how long a request's signature is remembered: a request is
// accepted from Window before its timestamp to Window after it, so its
// mark must outlive both (plus a minute of clock skew between instances).
const ReplayTTL = 2*Window + time.Minute

// MaxBody bounds the request body read (an interaction payload carries the
// whole message, a few tens of kilobytes).
const MaxBody = 1 << 20

// Marker remembers IDs for a while, with a conditional write; finding.Store
// is one (MarkSeen marks processed event IDs).
type Marker interface {
	// MarkSeen marks id for ttl unless it is marked, and reports whether
	// this call made the mark.
	MarkSeen(ctx context.Context, id string, ttl time.Duration) (first bool, err error)
}

// Queue takes a verified press to be carried out after Slack has its
// answer.
type Queue interface {
	Enqueue(ctx context.Context, j Job) error
}

// Job is one verified button press.
type Job struct {
	// ID identifies the request (its signature): a Job delivered twice is
	// carried out once.
	ID string `json:"id"`
	// Action is finding.ActionRevert, ActionAcknowledge, ActionSnooze or
	// ActionAcceptBaseline.
	Action string `json:"action"`
	// Key is the finding key (finding.Key.String), the button's value.
	Key string `json:"key"`
	// UserID, UserName and TeamID say who pressed (Slack's IDs; the name
	// is for display only, never for authorization).
	UserID   string `json:"user_id"`
	UserName string `json:"user_name,omitempty"`
	TeamID   string `json:"team_id,omitempty"`
	// ResponseURL answers the press (replace the alert, tell the person).
	ResponseURL string `json:"response_url"`
	// Channel and MessageTS locate the alert.
	Channel   string `json:"channel,omitempty"`
	MessageTS string `json:"message_ts,omitempty"`
	// At is when the press arrived.
	At time.Time `json:"at"`
}

// By names the person for the record: "slack:U0123ABCD (alice)".
func (j Job) By() string {
	by := slack.UserPrefix + j.UserID
	if j.UserName != "" {
		by += " (" + j.UserName + ")"
	}
	return by
}

// actionOf maps a button's action ID to the action it asks for.
var actionOf = map[string]string{
	slack.ActionRevert:         finding.ActionRevert,
	slack.ActionAcknowledge:    finding.ActionAcknowledge,
	slack.ActionSnooze:         finding.ActionSnooze,
	slack.ActionAcceptBaseline: finding.ActionAcceptBaseline,
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// SigningSecret is the Slack app's signing secret.
	SigningSecret secret.Secret
	// Marks remembers the signatures of accepted requests (the finding
	// store, shared by every instance).
	Marks Marker
	// Queue takes the verified presses.
	Queue Queue
	// Log receives one record per refused or failed request (default:
	// discarded).
	Log *slog.Logger
	// Now is the clock of Job.At (default time.Now). The signature's window
	// is checked against the system clock by slack-go.
	Now func() time.Time
}

// Handler answers Slack's interactivity requests. It is safe for
// concurrent use.
type Handler struct {
	cfg HandlerConfig
}

// NewHandler returns a Handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	switch {
	case cfg.SigningSecret.IsZero():
		return nil, errors.New("slack actions: no signing secret")
	case cfg.Marks == nil:
		return nil, errors.New("slack actions: no store to remember requests in")
	case cfg.Queue == nil:
		return nil, errors.New("slack actions: no queue")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg}, nil
}

// Errors of the checks, for the log.
var (
	errSignature = errors.New("bad or missing signature")
	errStale     = errors.New("timestamp outside the five-minute window")
	errReplay    = errors.New("request already received (replay)")
)

// ServeHTTP implements http.Handler. It answers 200 with an empty body to a
// verified press (the work is queued), 401 to a request that fails the
// signature, its window or the replay check, 400 to a verified request it
// cannot parse, and 500 when it could not remember or queue the request.
// A verified request that is not a driftwatch button gets 200 and is
// ignored.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		h.refuse(ctx, w, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
		return
	}
	if len(body) > MaxBody {
		h.refuse(ctx, w, http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", MaxBody))
		return
	}
	if err := h.verify(r.Header, body); err != nil {
		h.refuse(ctx, w, http.StatusUnauthorized, err)
		return
	}
	sig := strings.TrimPrefix(r.Header.Get("X-Slack-Signature"), "v0=")
	first, err := h.cfg.Marks.MarkSeen(ctx, "slack-request/"+sig, ReplayTTL)
	if err != nil {
		// Without the mark a replay could not be told apart: refuse.
		h.refuse(ctx, w, http.StatusInternalServerError, fmt.Errorf("remember request: %w", err))
		return
	}
	if !first {
		h.refuse(ctx, w, http.StatusUnauthorized, errReplay)
		return
	}
	job, ok, err := h.parse(body)
	if err != nil {
		h.refuse(ctx, w, http.StatusBadRequest, err)
		return
	}
	if !ok {
		w.WriteHeader(http.StatusOK) // another interaction: nothing to do
		return
	}
	job.ID = sig
	if err := h.cfg.Queue.Enqueue(ctx, job); err != nil {
		h.refuse(ctx, w, http.StatusInternalServerError, fmt.Errorf("queue %s of %s by %s: %w", job.Action, job.Key, job.UserID, err))
		return
	}
	h.cfg.Log.InfoContext(ctx, "slack action queued", "action", job.Action, "finding", job.Key, "user", job.UserID)
	w.WriteHeader(http.StatusOK)
}

// refuse answers status with a short reason and logs it.
func (h *Handler) refuse(ctx context.Context, w http.ResponseWriter, status int, err error) {
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	h.cfg.Log.Log(ctx, level, "slack request refused", "status", status, "error", err)
	http.Error(w, http.StatusText(status), status)
}

// verify checks the signature and the timestamp's window with slack-go's
// SecretsVerifier (HMAC-SHA256 of "v0:timestamp:body", compared in constant
// time).
func (h *Handler) verify(header http.Header, body []byte) error {
	sv, err := slackapi.NewSecretsVerifier(header, h.cfg.SigningSecret.Reveal())
	if errors.Is(err, slackapi.ErrExpiredTimestamp) {
		return errStale
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errSignature, err)
	}
	if _, err := sv.Write(body); err != nil {
		return fmt.Errorf("%w: %w", errSignature, err)
	}
	if err := sv.Ensure(); err != nil {
		return errSignature
	}
	return nil
}

// parse reads the press from a verified body: a block_actions payload
// whose action is one of the alert's buttons. ok is false for any other
// interaction.
func (h *Handler) parse(body []byte) (Job, bool, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Job{}, false, fmt.Errorf("parse form: %w", err)
	}
	payload := form.Get("payload")
	if payload == "" {
		return Job{}, false, errors.New("no payload")
	}
	var ic slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &ic); err != nil {
		return Job{}, false, fmt.Errorf("decode payload: %w", err)
	}
	if ic.Type != slackapi.InteractionTypeBlockActions {
		return Job{}, false, nil
	}
	for _, a := range ic.ActionCallback.BlockActions {
		action, ok := actionOf[a.ActionID]
		if !ok || a.BlockID != slack.ActionsBlockID {
			continue
		}
		if _, err := finding.ParseKey(a.Value); err != nil {
			return Job{}, false, fmt.Errorf("button %s: %w", a.ActionID, err)
		}
		if ic.User.ID == "" || ic.ResponseURL == "" {
			return Job{}, false, errors.New("payload without user or response_url")
		}
		name := ic.User.Username
		if name == "" {
			name = ic.User.Name
		}
		channel := ic.Container.ChannelID
		if channel == "" {
			channel = ic.Channel.ID
		}
		return Job{
			Action: action, Key: a.Value,
			UserID: ic.User.ID, UserName: name, TeamID: ic.Team.ID,
			ResponseURL: ic.ResponseURL, Channel: channel, MessageTS: ic.Container.MessageTs,
			At: h.cfg.Now().UTC(),
		}, true, nil
	}
	return Job{}, false, nil
}
