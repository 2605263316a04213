package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/driftwatch/driftwatch/shared/interact"
)

// envelope is the payload of the asynchronous invocation that carries a
// Job from the instance that answered Slack to the one that does the work.
type envelope struct {
	Job *interact.Job `json:"driftwatch_slack_job"`
}

// worker carries out a Job (*interact.Worker).
type worker interface {
	Do(ctx context.Context, j interact.Job) (interact.Outcome, error)
}

// app is the function's entry point: the function URL's requests go to
// the HTTP handler, which answers Slack at once and queues the work as an
// asynchronous invocation of this same function, which the worker carries
// out.
type app struct {
	http   http.Handler
	worker worker
}

// Invoke dispatches on the payload's shape: a queued Job, or a function
// URL request.
func (a *app) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var probe struct {
		Job            json.RawMessage `json:"driftwatch_slack_job"`
		RequestContext struct {
			HTTP struct {
				Method string `json:"method"`
			} `json:"http"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, fmt.Errorf("decode invocation payload: %w", err)
	}
	switch {
	case len(probe.Job) > 0:
		var env envelope
		if err := json.Unmarshal(payload, &env); err != nil || env.Job == nil {
			return nil, fmt.Errorf("decode queued slack action: %w", errors.Join(err, errors.New("no job")))
		}
		_, err := a.worker.Do(ctx, *env.Job)
		return nil, err
	case probe.RequestContext.HTTP.Method != "":
		var req events.LambdaFunctionURLRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, fmt.Errorf("decode function URL request: %w", err)
		}
		return serveURL(ctx, a.http, req)
	}
	return nil, errors.New("invocation is neither a function URL request nor a queued slack action")
}

// serveURL runs h on a function URL request and returns its response. The
// function URL answers only when the invocation returns, so h must answer
// quickly (interact.Handler queues the work).
func serveURL(ctx context.Context, h http.Handler, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return events.LambdaFunctionURLResponse{StatusCode: http.StatusBadRequest}, nil
		}
		body = b
	}
	target := ev.RawPath
	if target == "" {
		target = "/"
	}
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	r, err := http.NewRequestWithContext(ctx, ev.RequestContext.HTTP.Method, target, bytes.NewReader(body))
	if err != nil {
		return events.LambdaFunctionURLResponse{StatusCode: http.StatusBadRequest}, nil
	}
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	w := &response{header: http.Header{}}
	h.ServeHTTP(w, r)
	out := events.LambdaFunctionURLResponse{StatusCode: w.status, Headers: map[string]string{}, Body: w.body.String()}
	if out.StatusCode == 0 {
		out.StatusCode = http.StatusOK
	}
	for k, v := range w.header {
		out.Headers[k] = strings.Join(v, ",")
	}
	return out, nil
}

// response collects what a handler writes.
type response struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *response) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

var _ io.Writer = (*response)(nil)

// invoker is the Lambda call the queue makes.
type invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// selfQueue queues a Job as an asynchronous invocation (InvocationType
// Event) of the function itself: Lambda accepts it at once (202) and runs
// it on another instance, which may take the function's whole timeout.
type selfQueue struct {
	api      invoker
	function string
}

var _ interact.Queue = (*selfQueue)(nil)

// Enqueue implements interact.Queue.
func (q *selfQueue) Enqueue(ctx context.Context, j interact.Job) error {
	payload, err := json.Marshal(envelope{Job: &j})
	if err != nil {
		return fmt.Errorf("encode slack action: %w", err)
	}
	out, err := q.api.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(q.function),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		return fmt.Errorf("invoke %s asynchronously: %w", q.function, err)
	}
	if out.StatusCode != http.StatusAccepted {
		return fmt.Errorf("invoke %s asynchronously: status %d, want 202", q.function, out.StatusCode)
	}
	return nil
}
