// Package mototest starts a moto server (https://github.com/getmoto/moto) on a
// free loopback port for integration tests and gives AWS SDK configurations
// that reach it.
//
// moto is found at $MOTO_SERVER, else .venv/bin/moto_server at the module
// root (created by `make test`), else moto_server on PATH. A missing moto is
// a test failure that says how to install it, never a skip.
package mototest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/internal/emulator"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Account is moto's default account ID.
const Account = "123456789012"

// Region is the region test configurations use.
const Region = "us-east-1"

// Server is a running moto server behind a serialising proxy.
//
// moto answers requests on several threads and does not lock around a
// conditional write, so two racing conditional puts can both succeed, which
// AWS never allows. The proxy hands moto one request at a time, which gives
// each API call the atomicity the real services have; concurrency tests of
// conditional writes then test our code, not the emulator's races.
type Server struct {
	// URL is the endpoint, http://127.0.0.1:PORT (the proxy).
	URL   string
	cmd   *exec.Cmd
	proxy *http.Server
}

// Binary returns the moto_server executable to run, or an error that says
// how to install it.
func Binary() (string, error) {
	return emulator.Find("MOTO_SERVER", ".venv/bin/moto_server", "moto_server", "run `make test` (it creates .venv with moto), "+
		"or `python3 -m venv .venv && .venv/bin/pip install 'moto[server]'`, or set MOTO_SERVER")
}

// Start starts a moto server and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Launch()
	if err != nil {
		t.Fatalf("start moto: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Launch starts a moto server outside a test (for demos and benchmarks).
// The caller must Stop it.
func Launch() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	port, err := emulator.FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
	if os.Getenv("MOTO_LOG") == "" {
		cmd.Stdout, cmd.Stderr = nil, nil
	} else {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{cmd: cmd}
	motoURL := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(motoURL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if err := s.serveProxy(motoURL); err != nil {
				s.Stop()
				return nil, err
			}
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("moto at %s not ready after 60s: %w", s.URL, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serveProxy starts the serialising proxy in front of moto.
func (s *Server) serveProxy(motoURL string) error {
	target, err := url.Parse(motoURL)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the moto proxy: %w", err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var one sync.Mutex
	s.proxy = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A long-polling SQS receive may wait for seconds: it must not
			// hold every other call up.
			if r.Header.Get("X-Amz-Target") != "AmazonSQS.ReceiveMessage" {
				one.Lock()
				defer one.Unlock()
			}
			rp.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = s.proxy.Serve(l) }()
	s.URL = "http://" + l.Addr().String()
	return nil
}

var stopMu sync.Mutex

// Stop kills the server and waits for it to exit.
func (s *Server) Stop() {
	stopMu.Lock()
	defer stopMu.Unlock()
	if s.proxy != nil {
		_ = s.proxy.Close()
		s.proxy = nil
	}
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Reset drops all of moto's state.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset moto: status %d", resp.StatusCode)
	}
}

// Config returns an AWS configuration that reaches the server: static
// credentials, region us-east-1, the server as base endpoint and at most two
// attempts per call (moto answers 500 for calls it does not implement).
//
// Its HTTP client dials the server whatever the request's host: S3 Control
// calls go to {account}.{endpoint host} (the SDK's endpoint rules add the
// account label to a custom endpoint too), and 123456789012.127.0.0.1
// resolves nowhere. moto routes by signature and path, not by host, so
// pinning the dial is enough, and production addressing stays untouched.
func (s *Server) Config(ctx context.Context) (aws.Config, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		return aws.Config{}, fmt.Errorf("parse moto URL: %w", err)
	}
	var d net.Dialer
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, u.Host)
		}
	})
	return config.LoadDefaultConfig(ctx,
		config.WithRegion(Region),
		config.WithBaseEndpoint(s.URL),
		config.WithHTTPClient(hc),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithRetryer(func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 2) }),
	)
}
