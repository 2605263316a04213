// Package armtest is an in-memory Azure Resource Manager for tests: an
// httptest server that answers GET, PATCH (JSON merge patch), PUT and
// DELETE on resource IDs the test stored, and GET of resource providers,
// records every request (method, path, api-version, Authorization header,
// body), and refuses requests without the expected bearer token. It lets
// tests drive the real Azure SDK pipeline (credential policy, api-version
// query, long-running operation handling) without a network.
package armtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Token is the bearer token Credential issues and the server requires.
const Token = "armtest-token"

// Request is one request the server received.
type Request struct {
	Method        string
	Path          string
	APIVersion    string
	Authorization string
	Body          []byte
}

// String is "METHOD path?api-version=v".
func (r Request) String() string {
	return r.Method + " " + r.Path + "?api-version=" + r.APIVersion
}

// Failure is an ARM error the server answers instead of serving a request.
type Failure struct {
	Status int
	Code   string
}

// Server is the fake ARM endpoint. Deleting a child resource (an NSG's
// security rule) also removes it from the lists of its parent's
// properties, as ARM does.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	resources map[string]map[string]any // lower(id) → resource body
	versions  map[string]string         // lower(id) → the only api-version accepted
	providers map[string]map[string]any // lower(namespace) → provider body
	failures  map[string][]Failure      // "METHOD lower(id)" → queued failures
	requests  []Request
	async     bool
	ops       int
}

// Start starts a server that stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		resources: map[string]map[string]any{},
		versions:  map[string]string{},
		providers: map[string]map[string]any{},
		failures:  map[string][]Failure{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// ClientOptions point an ARM client at the server: its URL as the
// resource manager endpoint, plain HTTP allowed for the bearer token, no
// retries, and no provider auto-registration.
func (s *Server) ClientOptions() *arm.ClientOptions {
	return &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{
				ActiveDirectoryAuthorityHost: s.URL,
				Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
					cloud.ResourceManager: {Endpoint: s.URL, Audience: "https://management.azure.com"},
				},
			},
			Retry:                           policy.RetryOptions{MaxRetries: -1},
			Transport:                       s.Client(),
			InsecureAllowCredentialWithHTTP: true,
		},
		DisableRPRegistration: true,
	}
}

// Credential is a fake token credential issuing Token.
type Credential struct {
	mu     sync.Mutex
	Scopes [][]string
}

var _ azcore.TokenCredential = (*Credential)(nil)

// GetToken returns Token and records the scopes asked for.
func (c *Credential) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Scopes = append(c.Scopes, opts.Scopes)
	return azcore.AccessToken{Token: Token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// Put stores a resource body under id (its "id" field is set to id when
// missing).
func (s *Server) Put(id string, body map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := clone(body)
	if _, ok := b["id"]; !ok {
		b["id"] = id
	}
	s.resources[strings.ToLower(id)] = b
}

// Get returns the stored body of id, or nil.
func (s *Server) Get(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.resources[strings.ToLower(id)]
	if b == nil {
		return nil
	}
	return clone(b)
}

// AcceptOnly makes the server answer 400 InvalidApiVersionParameter to any
// request for id at another api-version.
func (s *Server) AcceptOnly(id, apiVersion string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions[strings.ToLower(id)] = apiVersion
}

// PutProvider stores the body of GET /subscriptions/{s}/providers/{ns}
// (and of the tenant-scope GET /providers/{ns}).
func (s *Server) PutProvider(namespace string, body map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.providers[strings.ToLower(namespace)] = clone(body)
}

// Fail queues an error answer for the next request of method on id.
func (s *Server) Fail(method, id string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := method + " " + strings.ToLower(id)
	s.failures[k] = append(s.failures[k], f)
}

// SetAsync makes PATCH and DELETE answer as long-running operations do:
// 202 Accepted with an Azure-AsyncOperation status URL that reports
// Succeeded (the change itself is applied at once). The SDK's poller then
// polls that URL (and, after a PATCH, GETs the resource).
func (s *Server) SetAsync(async bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.async = async
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Writes returns the received requests other than GET.
func (s *Server) Writes() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{
		Method:        r.Method,
		Path:          r.URL.Path,
		APIVersion:    r.URL.Query().Get("api-version"),
		Authorization: r.Header.Get("Authorization"),
		Body:          body,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)

	if req.Authorization != "Bearer "+Token {
		writeError(w, http.StatusUnauthorized, "AuthenticationFailed", "missing or wrong bearer token")
		return
	}
	if req.APIVersion == "" {
		writeError(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	id := strings.TrimRight(r.URL.Path, "/")
	key := strings.ToLower(id)
	if strings.HasPrefix(key, opsPath) {
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "Succeeded"})
		return
	}
	if q := s.failures[r.Method+" "+key]; len(q) > 0 {
		s.failures[r.Method+" "+key] = q[1:]
		writeError(w, q[0].Status, q[0].Code, "injected failure")
		return
	}
	if p, ok := s.provider(key); ok {
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
			return
		}
		writeJSON(w, http.StatusOK, p)
		return
	}
	if v, ok := s.versions[key]; ok && v != req.APIVersion {
		writeError(w, http.StatusBadRequest, "InvalidApiVersionParameter",
			fmt.Sprintf("The api-version '%s' is invalid. The supported versions are '%s'.", req.APIVersion, v))
		return
	}
	cur, exists := s.resources[key]
	switch r.Method {
	case http.MethodGet:
		if !exists {
			writeError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("The Resource '%s' was not found.", id))
			return
		}
		writeJSON(w, http.StatusOK, cur)
	case http.MethodPatch:
		if !exists {
			writeError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("The Resource '%s' was not found.", id))
			return
		}
		var patch map[string]any
		if err := json.Unmarshal(body, &patch); err != nil {
			writeError(w, http.StatusBadRequest, "InvalidRequestContent", err.Error())
			return
		}
		next := mergePatch(clone(cur), patch).(map[string]any)
		s.resources[key] = next
		if s.accepted(w, req.APIVersion) {
			return
		}
		writeJSON(w, http.StatusOK, next)
	case http.MethodPut:
		var next map[string]any
		if err := json.Unmarshal(body, &next); err != nil {
			writeError(w, http.StatusBadRequest, "InvalidRequestContent", err.Error())
			return
		}
		next["id"] = id
		s.resources[key] = next
		status := http.StatusOK
		if !exists {
			status = http.StatusCreated
		}
		writeJSON(w, status, next)
	case http.MethodDelete:
		embedded := s.removeEmbedded(key)
		if !exists && !embedded {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if cur == nil {
			cur = map[string]any{"id": id}
		}
		delete(s.resources, key)
		if s.accepted(w, req.APIVersion) {
			return
		}
		writeJSON(w, http.StatusOK, cur)
	default:
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

// removeEmbedded removes the child resource key from the lists of its
// parent's properties, as ARM does when a child resource such as an NSG's
// security rule is deleted, and reports whether it was there.
func (s *Server) removeEmbedded(key string) bool {
	parts := strings.Split(key, "/")
	if len(parts) < 3 {
		return false
	}
	parent := s.resources[strings.Join(parts[:len(parts)-2], "/")]
	props, _ := parent["properties"].(map[string]any)
	found := false
	for k, v := range props {
		l, ok := v.([]any)
		if !ok {
			continue
		}
		kept := make([]any, 0, len(l))
		for _, e := range l {
			if m, ok := e.(map[string]any); ok {
				if id, _ := m["id"].(string); strings.EqualFold(id, key) {
					found = true
					continue
				}
			}
			kept = append(kept, e)
		}
		props[k] = kept
	}
	return found
}

// opsPath is where the long-running operation status URLs live.
const opsPath = "/armtest/operations/"

// accepted answers 202 with an operation status URL when the server is
// asynchronous, and reports whether it did.
func (s *Server) accepted(w http.ResponseWriter, apiVersion string) bool {
	if !s.async {
		return false
	}
	s.ops++
	w.Header().Set("Azure-AsyncOperation", fmt.Sprintf("%s%s%d?api-version=%s", s.URL, opsPath, s.ops, apiVersion))
	w.WriteHeader(http.StatusAccepted)
	return true
}

// provider answers /subscriptions/{s}/providers/{ns} and /providers/{ns}.
func (s *Server) provider(key string) (map[string]any, bool) {
	parts := strings.Split(strings.Trim(key, "/"), "/")
	var ns string
	switch {
	case len(parts) == 4 && parts[0] == "subscriptions" && parts[2] == "providers":
		ns = parts[3]
	case len(parts) == 2 && parts[0] == "providers":
		ns = parts[1]
	default:
		return nil, false
	}
	p, ok := s.providers[ns]
	return p, ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// mergePatch applies an RFC 7386 JSON merge patch.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

func clone(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("armtest: body is not JSON: %v", err))
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

// Example reads an Azure REST API spec example file and returns its
// responses["200"].body.
func Example(t testing.TB, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read example: %v", err)
	}
	var ex struct {
		Responses map[string]struct {
			Body map[string]any `json:"body"`
		} `json:"responses"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&ex); err != nil {
		t.Fatalf("decode example %s: %v", path, err)
	}
	r, ok := ex.Responses["200"]
	if !ok || r.Body == nil {
		t.Fatalf("example %s has no 200 body", path)
	}
	return r.Body
}

// With returns a copy of body with the JSON merge patch applied, for
// building variants of an example ("the same account with
// allowBlobPublicAccess true").
func With(body map[string]any, patch map[string]any) map[string]any {
	return mergePatch(clone(body), clone(patch)).(map[string]any)
}
