package jira

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/ticket"
)

// maxErrorBody bounds how much of an error response is read for its
// message.
const maxErrorBody = 16 << 10

// client speaks JSON to the Jira Cloud REST API v3.
type client struct {
	base *url.URL
	// auth is the whole Authorization header value.
	auth secret.Secret
	http *http.Client
}

func newClient(baseURL, email string, token secret.Secret, hc *http.Client) (*client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("parse jira base URL: %w", err)
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+token.Reveal()))
	return &client{base: u, auth: secret.New(auth), http: hc}, nil
}

// do sends a request with in (if not nil) as its JSON body and decodes a
// 2xx response into out (if not nil). A non-2xx status is a
// *ticket.HTTPError.
func (c *client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	target := c.base.String() + path // path segments are escaped by the caller
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", c.auth.Reveal())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "driftwatch")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &ticket.HTTPError{Method: method, Path: path, Status: resp.StatusCode, Message: errorMessage(b)}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode %d response: %w", method, path, resp.StatusCode, err)
	}
	return nil
}

// redactURLError drops the URL from a *url.Error (it holds no credentials,
// since they travel in a header, but the path is already in our message).
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorMessage extracts Jira's error collection ({"errorMessages": [...],
// "errors": {"field": "message"}}) from a response body, or returns a
// trimmed prefix of a body of another shape.
func errorMessage(b []byte) string {
	var e struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
	}
	var parts []string
	if json.Unmarshal(b, &e) == nil {
		parts = append(parts, e.ErrorMessages...)
		for _, k := range slices.Sorted(maps.Keys(e.Errors)) {
			parts = append(parts, k+": "+e.Errors[k])
		}
	}
	if len(parts) == 0 {
		parts = append(parts, strings.TrimSpace(string(b)))
	}
	return ticket.Line(strings.Join(parts, "; "), 500)
}
