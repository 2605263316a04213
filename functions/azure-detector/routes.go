package main

import (
	"log/slog"
	"net/http"

	"github.com/driftwatch/driftwatch/shared/ingest/eventgrid"
)

// webhookPath is where the Functions host forwards the EventGridWebhook
// function's requests (route "eventgrid" under the default "api" prefix,
// with enableForwardingHttpRequest), and where the webhook listens when the
// binary runs on its own.
const webhookPath = "/api/eventgrid"

// routes serves the two ways in that reach this binary over HTTP: the
// eventGridTrigger invocations of the custom-handler protocol (and the
// host's readiness probe on /), and the plain webhook.
func routes(h *eventgrid.Handler, webhookSecret string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(webhookPath, &eventgrid.Webhook{Handler: h, Secret: webhookSecret, Log: log})
	mux.Handle("/", &eventgrid.Functions{Handler: h, Log: log})
	return mux
}
