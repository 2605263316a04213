package security

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftwatch/driftwatch/internal/cli"
	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/lambdahandler"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/slack"
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

// worldSSH creates a security group in moto, opens SSH to the world in
// it, and returns the CloudTrail record of the AuthorizeSecurityGroupIngress
// call.
func worldSSH(ctx context.Context, t *testing.T, api *ec2.Client) []byte {
	t.Helper()
	sg, err := api.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(unique("dw-sec-")), Description: aws.String("security test"),
	})
	if err != nil {
		t.Fatalf("create security group: %v", err)
	}
	id := aws.ToString(sg.GroupId)
	_, err = api.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId,
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	if err != nil {
		t.Fatalf("open SSH in %s: %v", id, err)
	}
	items := func(xs ...any) map[string]any { return map[string]any{"items": xs} }
	return ctrecord.Build(ctrecord.Call{
		Service: "ec2.amazonaws.com", Operation: "AuthorizeSecurityGroupIngress", Region: mototest.Region,
		Caller: ctrecord.Caller{Account: mototest.Account, UserName: "alice"},
		Request: map[string]any{"groupId": id, "ipPermissions": items(map[string]any{
			"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": map[string]any{}, "prefixListIds": map[string]any{},
			"ipRanges": items(map[string]any{"cidrIp": "0.0.0.0/0"}), "ipv6Ranges": map[string]any{},
		})},
		Response: map[string]any{"_return": true},
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
	// build builds a pipeline whose notifiers read their tokens from the
	// variables named.
	build := func(slackEnv, jiraEnv, githubEnv string) *pipeline.Built {
		t.Helper()
		nc := notifierConfig{
			store:         filepath.Join(t.TempDir(), "findings.db"),
			slackTokenEnv: slackEnv,
			jiraURL:       jf.URL(), jiraTokenEnv: jiraEnv,
			ghURL: gh.BaseURL(), ghTokenEnv: githubEnv,
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

	// The right tokens: every notifier delivers. A second delivery of the
	// change and a read-only change are skipped, with a debug line each.
	right := &lambdahandler.Handler{Pipeline: build("DW_SEC_SLACK", "DW_SEC_JIRA", "DW_SEC_GITHUB").Pipeline, Log: log}
	record := publicBucket(ctx, t, api, unique("dw-sec-a-"))
	readOnly := ctrecord.Build(ctrecord.Call{Service: "s3.amazonaws.com", Operation: "GetBucketPolicy", Region: mototest.Region,
		Caller: ctrecord.Caller{Account: mototest.Account, UserName: "alice"}, Request: map[string]any{"bucketName": "b"}})
	if failed := batch(right, record, record, readOnly); failed != 0 {
		t.Fatalf("%d messages failed with the right tokens; log:\n%s", failed, logs)
	}
	if len(sl.RequestsTo("/api/chat.postMessage")) != 1 || len(jf.Issues()) != 1 || len(gh.Issues()) != 1 {
		t.Fatalf("with the right tokens: %d Slack posts, %d Jira issues, %d GitHub issues; want one each",
			len(sl.RequestsTo("/api/chat.postMessage")), len(jf.Issues()), len(gh.Issues()))
	}

	// Slack answers 500 to the first post and each of its retries; a
	// change whose bucket the record does not name cannot be processed.
	for range slack.DefaultMaxRetries + 1 {
		sl.Fail("/api/chat.postMessage", slackfake.Failure{Status: http.StatusInternalServerError})
	}
	unresolvable := ctrecord.Build(ctrecord.Call{Service: "s3.amazonaws.com", Operation: "PutBucketPolicy", Region: mototest.Region,
		Caller: ctrecord.Caller{Account: mototest.Account, UserName: "alice"}, Request: map[string]any{"bucketName": "not a bucket!"}})
	if failed := batch(right, publicBucket(ctx, t, api, unique("dw-sec-b-")), unresolvable); failed != 2 {
		t.Errorf("Slack 500 and an unresolvable change: %d messages failed, want 2", failed)
	}

	// A wrong token for each notifier in turn (a notice goes through the
	// notifiers in order, and stops at the first that fails).
	for _, envs := range [][3]string{
		{"DW_SEC_SLACK_WRONG", "DW_SEC_JIRA", "DW_SEC_GITHUB"},
		{"DW_SEC_SLACK", "DW_SEC_JIRA_WRONG", "DW_SEC_GITHUB"},
		{"DW_SEC_SLACK", "DW_SEC_JIRA", "DW_SEC_GITHUB_WRONG"},
	} {
		h := &lambdahandler.Handler{Pipeline: build(envs[0], envs[1], envs[2]).Pipeline, Log: log}
		if failed := batch(h, publicBucket(ctx, t, api, unique("dw-sec-c-"))); failed != 1 {
			t.Errorf("tokens %v: %d messages failed, want 1", envs, failed)
		}
	}

	out := logs.String()
	for _, evidence := range []string{`"level":"DEBUG"`, "duplicate delivery skipped", "change ignored", "message will be retried",
		"500 Internal Server Error", "invalid_auth", "through jira", "through github", "401"} {
		if !strings.Contains(out, evidence) {
			t.Errorf("the log lacks %q: the failures did not run as planned; log:\n%s", evidence, out)
		}
	}
	checkNoSecrets(t, "the log", out, secrets)
	if t.Failed() {
		t.Logf("log:\n%s", out)
	}
}

// TestReplayOutputHasNoSecrets runs `driftwatch replay` on a real change
// with one notifier switched on at a time, each failing: the incoming
// webhook (a secret URL) refuses connections, the Jira and GitHub tokens
// are wrong (401). The command's stdout and stderr, which report each
// failure, and anything logged through slog must not show the webhook URL,
// the tokens or their encodings.
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
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": moto.URL, "AWS_REGION": mototest.Region, "AWS_ACCESS_KEY_ID": "testing",
		"AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
	} {
		t.Setenv(k, v)
	}
	awsCfg, err := moto.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An EC2 change: the CLI's own AWS configuration cannot reach moto's
	// S3 Control (the SDK puts the account in the host name), which bucket
	// reads need.
	events := filepath.Join(dir, "events.json")
	if err := os.WriteFile(events, eventBridge(worldSSH(ctx, t, ec2.NewFromConfig(awsCfg))), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	captureDefault(t, logs)

	tests := []struct {
		flag, evidence string
	}{
		{"--slack", "connection refused"},
		{"--jira", "401"},
		{"--github", "401"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			run := t.TempDir()
			nc := notifierConfig{
				store: filepath.Join(run, "findings.db"), webhookEnv: "DW_SEC_WEBHOOK",
				jiraURL: jf.URL(), jiraTokenEnv: "DW_SEC_JIRA", ghURL: gh.BaseURL(), ghTokenEnv: "DW_SEC_GITHUB",
			}
			cfgPath := filepath.Join(run, "driftwatch.yaml")
			if err := os.WriteFile(cfgPath, []byte(nc.yaml()), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := cli.Run(ctx, []string{"replay", "--config", cfgPath, tt.flag, "--format", "json", events},
				cli.Env{Stdout: &stdout, Stderr: &stderr, Getenv: os.Getenv})
			if code == 0 || !strings.Contains(stderr.String(), tt.evidence) {
				t.Errorf("replay %s: exit %d, stderr lacks %q: the failure did not run as planned; stderr:\n%s",
					tt.flag, code, tt.evidence, &stderr)
			}
			checkNoSecrets(t, "replay's stderr", stderr.String(), secrets)
			checkNoSecrets(t, "replay's stdout", stdout.String(), secrets)
		})
	}
	for name, value := range secrets {
		for form, s := range secretForms(name, value) {
			if strings.Contains(logs.String(), s) {
				t.Errorf("the log holds %s", form)
			}
		}
	}
}
