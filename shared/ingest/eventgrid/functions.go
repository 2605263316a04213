package eventgrid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// Defaults of the Functions custom handler.
const (
	// DefaultFunction is the function's name: its folder holds the
	// function.json with the eventGridTrigger, and the host POSTs each
	// invocation to /DefaultFunction.
	DefaultFunction = "DriftOnResourceEvent"
	// DefaultBinding is the trigger binding's name in function.json: the
	// key of the event in the invocation's Data.
	DefaultBinding = "event"
	// maxBody bounds a request body. Event Grid events are at most 1 MB;
	// an invocation wraps one event, a webhook delivery a batch of up to
	// about 1 MB.
	maxBody = 4 << 20
)

// Parker keeps a delivery that no retry can process (a dead-letter blob or
// queue), with the reason. Park must keep body durably before it returns
// nil.
type Parker interface {
	Park(ctx context.Context, body []byte, reason string) error
}

// Functions serves the Azure Functions custom-handler protocol for one
// function whose trigger is an eventGridTrigger:
//
//   - POST /{Function} with {"Data": {"{Binding}": <event>}, "Metadata":
//     {...}}: the host invokes the function once per event; the event may
//     be a JSON object or a JSON string holding one.
//   - GET /: readiness (any answer will do; this one is 200).
//
// The reply is {"Outputs": {}, "Logs": [...], "ReturnValue": null}; Logs
// go to Application Insights. The status tells the host the outcome: 200
// when the event was handled or ignored; 500 when a retry may help, which
// fails the invocation so that Event Grid retries it (Event Grid cannot be
// told to dead-letter at once through a Function). An event that can never
// be processed is handed to Park when set, then acknowledged (200); without
// Park it fails too, so that Event Grid retries it up to the subscription's
// maxDeliveryAttempts and then dead-letters it: it is never dropped.
type Functions struct {
	Handler *Handler
	// Function is the function's name, the route (default DefaultFunction).
	Function string
	// Binding is the trigger binding's name (default DefaultBinding).
	Binding string
	// Park keeps permanent failures; nil leaves them to Event Grid's
	// retries and dead-lettering.
	Park Parker
	// Log receives a line per invocation; nil discards.
	Log *slog.Logger
}

// invokeRequest is what the host POSTs.
type invokeRequest struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// invokeResponse is what the host expects back.
type invokeResponse struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// ServeHTTP implements http.Handler.
func (f *Functions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fn := f.Function
	if fn == "" {
		fn = DefaultFunction
	}
	switch {
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		w.WriteHeader(http.StatusOK)
		return
	case !strings.EqualFold(strings.Trim(r.URL.Path, "/"), fn):
		http.NotFound(w, r)
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	status, logs := f.invoke(w, r)
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lvl := slog.LevelInfo
	if status != http.StatusOK {
		lvl = slog.LevelError
	}
	log.Log(r.Context(), lvl, "invocation", "function", fn, "invocation_id", invocationID(r), "status", status, "logs", logs)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An encoding error here means the host went away: nothing to do.
	_ = json.NewEncoder(w).Encode(invokeResponse{Outputs: map[string]any{}, Logs: logs})
}

// invocationID is the host's invocation ID header, if any.
func invocationID(r *http.Request) string {
	return r.Header.Get("X-Azure-Functions-InvocationId")
}

// invoke handles one invocation and returns the status and log lines.
func (f *Functions) invoke(w http.ResponseWriter, r *http.Request) (int, []string) {
	ctx := r.Context()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return http.StatusRequestEntityTooLarge, []string{"driftwatch: read invocation: " + err.Error()}
	}
	event, err := f.event(body)
	if err != nil {
		// A request the host would never send: fail it, loudly.
		return http.StatusBadRequest, []string{"driftwatch: " + err.Error()}
	}
	src := "invocation"
	if id := invocationID(r); id != "" {
		src = "invocation:" + id
	}
	rep, err := f.Handler.Handle(ctx, src, event)
	logs := []string{"driftwatch: " + rep.String()}
	switch {
	case err == nil:
		return http.StatusOK, logs
	case errors.Is(err, ErrPermanent) && f.Park != nil:
		if perr := f.Park.Park(ctx, event, err.Error()); perr != nil {
			return http.StatusInternalServerError, append(logs, "driftwatch: cannot process event: "+err.Error(),
				"driftwatch: park event: "+perr.Error())
		}
		return http.StatusOK, append(logs, "driftwatch: event parked: "+err.Error())
	case errors.Is(err, ErrPermanent):
		return http.StatusInternalServerError, append(logs, "driftwatch: cannot process event (Event Grid will retry, then dead-letter it): "+err.Error())
	}
	return http.StatusInternalServerError, append(logs, "driftwatch: will be retried: "+err.Error())
}

// event extracts the trigger's event from an invocation body: Data[Binding]
// (the binding name matched in any case; the only entry when there is one),
// an object or array as is, or the JSON held in a string.
func (f *Functions) event(body []byte) ([]byte, error) {
	var req invokeRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("invocation is not a custom-handler request: %w", err)
	}
	binding := f.Binding
	if binding == "" {
		binding = DefaultBinding
	}
	var raw json.RawMessage
	for k, v := range req.Data {
		if strings.EqualFold(k, binding) {
			raw = v
		}
	}
	if raw == nil && len(req.Data) == 1 {
		for _, v := range req.Data {
			raw = v
		}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("invocation has no Data.%s", binding)
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("Data.%s: %w", binding, err)
		}
		return []byte(s), nil
	}
	return raw, nil
}
