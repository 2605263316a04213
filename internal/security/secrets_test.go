package security

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftwatch/driftwatch/internal/cli"
	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/lambdahandler"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/slack/slackfake"
	"github.com/driftwatch/driftwatch/shared/ticket/jira/jirafake"
)

const (
	jiraEmail   = "driftwatch-bot@example.com"
	jiraProject = "SEC"
	ghOwner     = "acme"
	ghRepo      = "security"
)

// otherS3Rules are the bucket rules besides aws-s3-bucket-public-policy,
// switched off so that one change makes one finding.
var otherS3Rules = []string{
	"aws-s3-bucket-public-acl", "aws-s3-bucket-public-access-block", "aws-s3-bucket-default-encryption",
	"aws-s3-bucket-versioning", "aws-s3-bucket-mfa-delete", "aws-s3-bucket-deny-insecure-transport",
	"aws-s3-bucket-access-logging", "aws-s3-bucket-acls-enabled",
}

// notifierConfig is the part of driftwatch.yaml naming the notifiers and
// their secrets, all by env: reference.
type notifierConfig struct {
	store                     string // SQLite path
	slackTokenEnv, webhookEnv string // one of them
	jiraURL, jiraTokenEnv     string
	ghURL, ghTokenEnv         string
}

func (n notifierConfig) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "store:\n  kind: sqlite\n  path: %q\n", n.store)
	if n.slackTokenEnv != "" {
		fmt.Fprintf(&b, "slack:\n  mode: bot\n  token: env:%s\n  routing:\n    default: \"#drift\"\n", n.slackTokenEnv)
	} else {
		fmt.Fprintf(&b, "slack:\n  mode: webhook\n  webhook_url: env:%s\n", n.webhookEnv)
	}
	fmt.Fprintf(&b, "jira:\n  base_url: %s\n  email: %s\n  api_token: env:%s\n  project: %s\n", n.jiraURL, jiraEmail, n.jiraTokenEnv, jiraProject)
	fmt.Fprintf(&b, "github:\n  owner: %s\n  repo: %s\n  token: env:%s\n  base_url: %s\n", ghOwner, ghRepo, n.ghTokenEnv, n.ghURL)
	fmt.Fprintf(&b, "rules:\n  disabled: [%s]\n", strings.Join(otherS3Rules, ", "))
	return b.String()
}

// publicBucket creates a bucket in moto with a policy that lets anyone read
// it, and returns the CloudTrail record of the PutBucketPolicy call.
func publicBucket(ctx context.Context, t *testing.T, api *s3.Client, bucket string) []byte {
	t.Helper()
	if _, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	policy := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + bucket + "/*",
	}}}
	doc, _ := json.Marshal(policy)
	if _, err := api.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(doc))}); err != nil {
		t.Fatalf("put policy of bucket %s: %v", bucket, err)
	}
	return ctrecord.Build(ctrecord.Call{
		Service: "s3.amazonaws.com", Operation: "PutBucketPolicy", Region: mototest.Region,
		Caller:  ctrecord.Caller{Account: mototest.Account, UserName: "alice"},
		Request: map[string]any{"bucketName": bucket, "bucketPolicy": policy, "host": []string{"s3.amazonaws.com"}, "policy": []string{""}},
	})
}

// secretForms returns the ways a secret could show up in text: itself, its
// URL-escaped form and its base64 encodings; for the Jira token, also the
// Basic credentials built from it.
func secretForms(name, value string) map[string]string {
	forms := map[string]string{
		name:                   value,
		name + " url-escaped":  url.QueryEscape(value),
		name + " base64":       base64.StdEncoding.EncodeToString([]byte(value)),
		name + " base64url":    base64.URLEncoding.EncodeToString([]byte(value)),
		name + " base64 (raw)": base64.RawStdEncoding.EncodeToString([]byte(value)),
		name + " basic auth":   base64.StdEncoding.EncodeToString([]byte(jiraEmail + ":" + value)),
	}
	// The random part alone catches a secret cut short.
	if i := strings.LastIndexAny(value, "-_/"); i >= 0 && len(value)-i > 16 {
		forms[name+" (its random part)"] = value[i+1:]
	}
	return forms
}

// checkNoSecrets fails for every form of every secret found in output.
func checkNoSecrets(t *testing.T, what, output string, secrets map[string]string) {
	t.Helper()
	if output == "" {
		t.Errorf("%s is empty: the search below cannot fail", what)
	}
	for name, value := range secrets {
		for form, s := range secretForms(name, value) {
			if i := strings.Index(output, s); i >= 0 {
				t.Errorf("%s holds %s: …%s…", what, form, output[max(0, i-200):min(len(output), i+len(s)+50)])
			}
		}
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestSecretsNeverLogged runs the detector Lambda's handler over a pipeline
// built from a config that names a Slack bot token, a Jira API token and a
// GitHub token by env: reference, on real changes in moto: first with the
// right tokens (every notifier delivers), then with Slack answering 500
// until the retries run out, then with wrong tokens (Slack invalid_auth,
// Jira and GitHub 401), plus a change whose resource cannot be named. Every
// component logs at debug level to one buffer (the default slog logger
// included); neither the tokens, right or wrong, nor their encodings may
// appear in it.
func TestSecretsNeverLogged(t *testing.T) {
	ctx := background(t)
	secrets := map[string]string{
		"slack token": unique("xoxb-2718-"), "wrong slack token": unique("xoxb-3141-"),
		"jira token": unique("ATATT3x-"), "wrong jira token": unique("ATATT3y-"),
		"github token": unique("ghp_"), "wrong github token": unique("ghp_"),
	}
	for env, name := range map[string]string{
		"DW_SEC_SLACK": "slack token", "DW_SEC_SLACK_WRONG": "wrong slack token",
		"DW_SEC_JIRA": "jira token", "DW_SEC_JIRA_WRONG": "wrong jira token",
		"DW_SEC_GITHUB": "github token", "DW_SEC_GITHUB_WRONG": "wrong github token",
	} {
		t.Setenv(env, secrets[name])
	}
	sl := slackfake.Start(t, secrets["slack token"])
	jf := jirafake.Start(t, jirafake.Options{Email: jiraEmail, Token: secrets["jira token"], Projects: []string{jiraProject}})
	gh := startGitHub(t, secrets["github token"])

	logs := &logBuffer{}
	log := debugLogger(logs)
	captureDefault(t, logs)
	awsCfg, err := moto.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	build := func(suffix string) *pipeline.Built {
		t.Helper()
		nc := notifierConfig{
			store:         filepath.Join(t.TempDir(), "findings.db"),
			slackTokenEnv: "DW_SEC_SLACK" + suffix,
			jiraURL:       jf.URL(), jiraTokenEnv: "DW_SEC_JIRA" + suffix,
			ghURL: gh.BaseURL(), ghTokenEnv: "DW_SEC_GITHUB" + suffix,
		}
		cfg, err := config.Parse("driftwatch.yaml", []byte(nc.yaml()))
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		built, err := pipeline.Build(ctx, pipeline.Options{
			Config: cfg, AWS: awsCfg, S3PathStyle: true, Log: log,
			Sinks:       pipeline.Sinks{Slack: true, Jira: true, GitHub: true},
			SlackAPIURL: sl.APIURL(),
		})
		if err != nil {
			t.Fatalf("build pipeline: %v", err)
		}
		t.Cleanup(func() { _ = built.Close() })
		return built
	}
	api := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	batch := func(h *lambdahandler.Handler, records ...[]byte) int {
		t.Helper()
		bodies := make([][]byte, len(records))
		for i, r := range records {
			bodies[i] = eventBridge(r)
		}
		return len(h.Batch(ctx, sqsBatch(bodies...)).BatchItemFailures)
	}

	// The right tokens: every notifier delivers.
	right := &lambdahandler.Handler{Pipeline: build("").Pipeline, Log: log}
	if failed := batch(right, publicBucket(ctx, t, api, unique("dw-sec-a-"))); failed != 0 {
		t.Fatalf("%d messages failed with the right tokens; log:\n%s", failed, logs)
	}
	if len(sl.RequestsTo("/api/chat.postMessage")) != 1 || len(jf.Issues()) != 1 || len(gh.Issues()) != 1 {
		t.Fatalf("with the right tokens: %d Slack posts, %d Jira issues, %d GitHub issues; want one each",
			len(sl.RequestsTo("/api/chat.postMessage")), len(jf.Issues()), len(gh.Issues()))
	}

	// Slack answers 500 to the first post and its three retries.
	fail := slackfake.Failure{Status: 500}
	sl.Fail("/api/chat.postMessage", fail, fail, fail, fail)
	unresolvable := ctrecord.Build(ctrecord.Call{Service: "s3.amazonaws.com", Operation: "PutBucketPolicy", Region: mototest.Region,
		Caller: ctrecord.Caller{Account: mototest.Account, UserName: "alice"}, Request: map[string]any{"bucketName": "not a bucket!"}})
	if failed := batch(right, publicBucket(ctx, t, api, unique("dw-sec-b-")), unresolvable); failed != 2 {
		t.Errorf("Slack 500 and an unresolvable change: %d messages failed, want 2", failed)
	}

	// Wrong tokens everywhere.
	wrong := &lambdahandler.Handler{Pipeline: build("_WRONG").Pipeline, Log: log}
	if failed := batch(wrong, publicBucket(ctx, t, api, unique("dw-sec-c-"))); failed != 1 {
		t.Errorf("wrong tokens: %d messages failed, want 1", failed)
	}

	out := logs.String()
	for _, evidence := range []string{`"level":"DEBUG"`, "message will be retried", "500", "invalid_auth", "401"} {
		if !strings.Contains(out, evidence) {
			t.Errorf("the log lacks %q: the failures did not run as planned; log:\n%s", evidence, out)
		}
	}
	checkNoSecrets(t, "the log", out, secrets)
	if t.Failed() {
		t.Logf("log:\n%s", out)
	}
}

// TestReplayOutputHasNoSecrets runs `driftwatch replay` with Slack, Jira
// and GitHub switched on, each failing: the incoming webhook (a secret URL)
// refuses connections, and the Jira and GitHub tokens are wrong (401). The
// command's stdout and stderr, which report each failure, must not show
// the webhook URL, the tokens or their encodings.
func TestReplayOutputHasNoSecrets(t *testing.T) {
	ctx := background(t)
	dir := t.TempDir()
	secrets := map[string]string{
		"webhook URL":  "http://" + closedPort(t) + "/services/T0SEC/B0SEC/" + unique("hook"),
		"jira token":   unique("ATATT3x-"),
		"github token": unique("ghp_"),
	}
	t.Setenv("DW_SEC_WEBHOOK", secrets["webhook URL"])
	t.Setenv("DW_SEC_JIRA", secrets["jira token"])
	t.Setenv("DW_SEC_GITHUB", secrets["github token"])
	jf := jirafake.Start(t, jirafake.Options{Email: jiraEmail, Token: unique("right-"), Projects: []string{jiraProject}})
	gh := startGitHub(t, unique("right-"))
	nc := notifierConfig{
		store: filepath.Join(dir, "findings.db"), webhookEnv: "DW_SEC_WEBHOOK",
		jiraURL: jf.URL(), jiraTokenEnv: "DW_SEC_JIRA", ghURL: gh.BaseURL(), ghTokenEnv: "DW_SEC_GITHUB",
	}
	cfgPath := filepath.Join(dir, "driftwatch.yaml")
	if err := os.WriteFile(cfgPath, []byte(nc.yaml()), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": moto.URL, "AWS_REGION": mototest.Region, "AWS_ACCESS_KEY_ID": "testing",
		"AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
	} {
		t.Setenv(k, v)
	}
	awsCfg, err := moto.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	api := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	events := filepath.Join(dir, "events.json")
	if err := os.WriteFile(events, eventBridge(publicBucket(ctx, t, api, unique("dw-sec-cli-"))), 0o600); err != nil {
		t.Fatal(err)
	}

	logs := &logBuffer{}
	captureDefault(t, logs)
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := cli.Run(ctx, []string{"replay", "--config", cfgPath, "--slack", "--jira", "--github", "--format", "json", events},
		cli.Env{Stdout: &stdout, Stderr: &stderr, Getenv: os.Getenv})
	t.Logf("replay: exit %d in %v", code, time.Since(start).Round(time.Millisecond))
	if code == 0 {
		t.Errorf("replay succeeded although every notifier fails; stderr:\n%s", &stderr)
	}
	for _, evidence := range []string{"slack", "401"} {
		if !strings.Contains(strings.ToLower(stderr.String()), evidence) {
			t.Errorf("stderr lacks %q: the failures did not run as planned; stderr:\n%s", evidence, &stderr)
		}
	}
	checkNoSecrets(t, "replay's stderr", stderr.String(), secrets)
	all := stdout.String() + stderr.String() + logs.String()
	for name, value := range secrets {
		for form, s := range secretForms(name, value) {
			if strings.Contains(all, s) {
				t.Errorf("replay's output or log holds %s", form)
			}
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s\nlog:\n%s", &stdout, &stderr, logs)
	}
}
