package eventgrid

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// Where a webhook request carries the shared secret.
const (
	// SecretHeader is the header that may carry the secret: set it with
	// the event subscription's deliveryAttributeMappings (type Static,
	// isSecret true).
	SecretHeader = "X-Driftwatch-Key"
	// SecretQuery is the query parameter that may carry it: part of the
	// endpoint URL (https://host/eventgrid?key=...), which Event Grid also
	// uses for the validation handshakes, so this is the form that works
	// for both.
	SecretQuery = "key"
)

// Event Grid's handshake names.
const (
	validationEventType = "Microsoft.EventGrid.SubscriptionValidationEvent"
	aegEventType        = "Aeg-Event-Type"
	aegValidation       = "SubscriptionValidation"
)

// Webhook serves an Event Grid webhook event subscription (endpoint type
// WebHook), in either delivery schema:
//
//   - every request must carry Secret, in the SecretHeader header or the
//     SecretQuery query parameter (compared in constant time); without it
//     the answer is 401 and nothing is read or processed. (Entra ID
//     bearer-token validation, Event Grid's other option, is not built.)
//   - Event Grid schema handshake: a POST of a
//     Microsoft.EventGrid.SubscriptionValidationEvent (header
//     aeg-event-type: SubscriptionValidation) is answered 200
//     {"validationResponse": "<validationCode>"};
//   - CloudEvents abuse protection: an OPTIONS request with
//     WebHook-Request-Origin is answered 200 with WebHook-Allowed-Origin
//     set to that origin (and WebHook-Allowed-Rate: *);
//   - a delivery (POST of one event or an array) goes to the Handler: 200
//     when handled; 400 when it can never be processed, which Event Grid
//     does not retry but dead-letters; 503 when a retry may help.
type Webhook struct {
	Handler *Handler
	// Secret is the shared secret. Empty rejects every request.
	Secret string
	// Log receives a line per refused or failed request; nil discards.
	Log *slog.Logger
}

// LogValue keeps the secret out of logs.
func (wh *Webhook) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("secret_set", wh.Secret != ""))
}

// ServeHTTP implements http.Handler.
func (wh *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := wh.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx := r.Context()
	if !wh.authorized(r) {
		log.WarnContext(ctx, "webhook request without the shared secret", "remote", r.RemoteAddr, "method", r.Method)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch r.Method {
	case http.MethodOptions:
		origin := r.Header.Get("WebHook-Request-Origin")
		if origin == "" {
			http.Error(w, "missing WebHook-Request-Origin", http.StatusBadRequest)
			return
		}
		w.Header().Set("WebHook-Allowed-Origin", origin)
		w.Header().Set("WebHook-Allowed-Rate", "*")
		w.Header().Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusOK)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "delivery too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read delivery", http.StatusBadRequest)
		return
	}
	if strings.EqualFold(r.Header.Get(aegEventType), aegValidation) || bytes.Contains(body, []byte(validationEventType)) {
		code, ok := validationCode(body)
		switch {
		case ok:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": code})
			return
		case strings.EqualFold(r.Header.Get(aegEventType), aegValidation):
			http.Error(w, "subscription validation without a validation code", http.StatusBadRequest)
			return
		}
	}
	rep, err := wh.Handler.Handle(ctx, "webhook", body)
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, rep.String()+"\n")
	case errors.Is(err, ErrPermanent):
		log.ErrorContext(ctx, "delivery cannot be processed; Event Grid dead-letters it", "error", err, "report", rep.String())
		http.Error(w, "delivery cannot be processed", http.StatusBadRequest)
	default:
		log.WarnContext(ctx, "delivery will be retried", "error", err, "report", rep.String())
		http.Error(w, "delivery failed; retry", http.StatusServiceUnavailable)
	}
}

// authorized reports whether r carries the secret. Both sides are hashed
// first so that the comparison takes the same time whatever the lengths.
func (wh *Webhook) authorized(r *http.Request) bool {
	if wh.Secret == "" {
		return false
	}
	got := r.Header.Get(SecretHeader)
	if got == "" {
		got = r.URL.Query().Get(SecretQuery)
	}
	if got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(wh.Secret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// validationCode returns the code of the subscription validation event in
// body (an array of events, or one).
func validationCode(body []byte) (string, bool) {
	type event struct {
		EventType string `json:"eventType"`
		Type      string `json:"type"`
		Data      struct {
			ValidationCode string `json:"validationCode"`
		} `json:"data"`
	}
	var events []event
	if json.Unmarshal(body, &events) != nil {
		var one event
		if json.Unmarshal(body, &one) != nil {
			return "", false
		}
		events = []event{one}
	}
	for _, e := range events {
		if (e.EventType == validationEventType || e.Type == validationEventType) && e.Data.ValidationCode != "" {
			return e.Data.ValidationCode, true
		}
	}
	return "", false
}
