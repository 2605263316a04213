package interact

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/baseline"
	"github.com/driftwatch/driftwatch/shared/change"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/slack"
	"github.com/driftwatch/driftwatch/shared/slack/slackfake"
	"github.com/driftwatch/driftwatch/shared/state/sqlite"
)

// hooks is a fake of Slack's response_url endpoint: it records the JSON
// bodies posted to it.
type hooks struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func startHooks(t *testing.T) *hooks {
	h := &hooks{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &m) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, m)
		h.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hooks) posts() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.bodies)
}

// TestSlackActionsOnMoto drives the handler and the worker with the real
// parts (reader, rules, remediations, finding store and lifecycle with the
// Slack notifier) against moto and a fake Slack: requests that fail a check
// and presses by people who may not revert change nothing, in AWS, in the
// store or in Slack; a revert by a named user reverts, resolves the finding
// and updates the alert; an acceptance stores the baseline a baseline rule
// then compares with.
func TestSlackActionsOnMoto(t *testing.T) {
	ctx := context.Background()
	moto := mototest.Start(t)
	cfg, err := moto.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "driftwatch.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	baselines, err := baseline.OpenSQLite(ctx, filepath.Join(dir, "driftwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer baselines.Close()

	rules, err := pack.AWS()
	if err != nil {
		t.Fatal(err)
	}
	rules = append(rules, policy.Rule{ID: "acme-sg-ingress-baseline", Title: "Ingress differs from the approved rules",
		Severity: policy.SeverityMedium, ResourceTypes: []string{"AWS::EC2::SecurityGroup"},
		Kind: policy.KindBaseline, Watch: []string{"SecurityGroupIngress"}})
	eng, err := policy.Compile(rules, policy.WithBaselines(baseline.Source{Store: baselines}))
	if err != nil {
		t.Fatal(err)
	}
	reader := fetchaws.New(cfg, fetchaws.Options{S3PathStyle: true})
	rem := revert.New(cfg, reader, eng, revert.Options{S3PathStyle: true, VerifyAttempts: 2,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	gates, err := revert.NewReverter(rem, revert.Config{Switch: revert.SwitchDryRun})
	if err != nil {
		t.Fatal(err)
	}
	fake := slackfake.Start(t, "xoxb-test")
	notifier, err := slack.New(slack.Config{BotToken: secret.New("xoxb-test"), APIURL: fake.APIURL(), Routing: slack.Routing{Default: "#drift"},
		Retry: slack.Retry{MaxRetries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	lc := &finding.Lifecycle{Store: store, Notifiers: []finding.Notifier{notifier}}
	hk := startHooks(t)
	hkURL, _ := url.Parse(hk.srv.URL)
	worker := &Worker{Findings: store, Reader: reader, Rules: eng, Reverter: gates, Baselines: baselines, Lifecycle: lc,
		Respond: &slack.Responder{AllowURL: func(u *url.URL) bool { return u.Host == hkURL.Host }},
		Access:  Access{Users: []string{alice}}}
	q := &fakeQueue{}
	handler := newHandler(t, store, q)

	// A compliant group, then SSH opened to the world by a developer.
	ec2c := ec2.NewFromConfig(cfg)
	group, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web tier")})
	if err != nil {
		t.Fatal(err)
	}
	gid := aws.ToString(group.GroupId)
	perm := func(port int32) []ec2types.IpPermission {
		return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	}
	if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: group.GroupId, IpPermissions: perm(443)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: group.GroupId, IpPermissions: perm(22)}); err != nil {
		t.Fatal(err)
	}
	ref := resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: "arn:aws:ec2:us-east-1:123456789012:security-group/" + gid, Account: mototest.Account, Region: mototest.Region}
	read := func() resource.Resource {
		t.Helper()
		res, err := reader.Read(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	opened := read()
	ch := &change.Change{Cloud: "aws", EventID: "ev-ssh", Time: time.Now().UTC(), Account: mototest.Account, Region: mototest.Region,
		Service: "ec2.amazonaws.com", Operation: "AuthorizeSecurityGroupIngress",
		Principal: change.Principal{ARN: "arn:aws:iam::123456789012:user/dev", Type: "IAMUser"}}
	if _, err := lc.Apply(ctx, finding.Input{Change: ch, Checks: []finding.Check{{Resource: opened, Verdicts: eng.Evaluate(ctx, policy.Input{Resource: opened, Change: ch})}}}); err != nil {
		t.Fatal(err)
	}
	key := finding.Key{Cloud: "aws", Account: mototest.Account, ResourceID: ref.ID, RuleID: "aws-ec2-security-group-admin-ports-open-ipv4"}
	f, err := store.Get(ctx, key)
	if err != nil || f.Status != finding.StatusOpen || f.SlackTS == "" {
		t.Fatalf("the finding was not opened and announced: %+v, %v", f, err)
	}

	state := func() (doc map[string]any, stored string, slackCalls int) {
		t.Helper()
		f, err := store.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(f)
		return read().Doc, string(b), len(fake.Requests())
	}
	send := func(r *http.Request) int {
		t.Helper()
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w.Code
	}
	responseURL := hk.srv.URL + "/actions/T0001/1/x"
	revertBy := func(user string) string {
		return press{actionID: slack.ActionRevert, value: key.String(), user: user, userName: strings.ToLower(user[2:]), responseURL: responseURL}.payload()
	}
	// carry out the queued jobs, as the asynchronous invocation would.
	drain := func() []Outcome {
		t.Helper()
		var outs []Outcome
		for _, j := range q.jobs {
			out, err := worker.Do(ctx, j)
			if err != nil {
				t.Fatalf("Do(%+v): %v", j, err)
			}
			outs = append(outs, out)
		}
		q.jobs = nil
		return outs
	}

	// Refused: an unauthorised press (verified, queued, refused by the
	// worker), its replay, a bad signature, a stale timestamp.
	docBefore, storedBefore, slackBefore := state()
	now := time.Now()
	mallorys := signed(signingSecret, now, revertBy(mallory))
	replay := signed(signingSecret, now, revertBy(mallory))
	for _, tc := range []struct {
		name string
		r    *http.Request
		want int
	}{
		{"unauthorised user", mallorys, http.StatusOK},
		{"replayed body", replay, http.StatusUnauthorized},
		{"bad signature", signed("not-the-secret", now, revertBy(alice)), http.StatusUnauthorized},
		{"stale timestamp", signed(signingSecret, now.Add(-10*time.Minute), revertBy(alice)), http.StatusUnauthorized},
	} {
		if got := send(tc.r); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	if outs := drain(); len(outs) != 1 || outs[0].Status != StatusRefused {
		t.Fatalf("outcomes %+v, want the unauthorised press refused", outs)
	}
	docAfter, storedAfter, slackAfter := state()
	if !reflect.DeepEqual(docAfter, docBefore) {
		t.Errorf("the security group changed:\nbefore %v\nafter  %v", docBefore, docAfter)
	}
	if storedAfter != storedBefore {
		t.Errorf("the finding changed:\nbefore %s\nafter  %s", storedBefore, storedAfter)
	}
	if slackAfter != slackBefore {
		t.Errorf("Slack got %d calls, want none: %+v", slackAfter-slackBefore, fake.Requests()[slackBefore:])
	}
	posts := hk.posts()
	if len(posts) != 1 || posts[0]["response_type"] != "ephemeral" || posts[0]["replace_original"] != false ||
		!strings.Contains(posts[0]["text"].(string), "Only the people named") {
		t.Fatalf("response_url posts %v, want one ephemeral refusal", posts)
	}

	// Revert now by a named user, in a dry-run deployment.
	if got := send(signed(signingSecret, time.Now(), revertBy(alice))); got != http.StatusOK {
		t.Fatalf("alice's press: status %d", got)
	}
	outs := drain()
	if len(outs) != 1 || outs[0].Status != StatusDone || !strings.Contains(outs[0].Text, "reverted aws-ec2-security-group-admin-ports-open-ipv4") {
		t.Fatalf("outcome %+v, want reverted", outs)
	}
	after := read()
	vs := eng.Evaluate(ctx, policy.Input{Resource: after})
	if v, _ := verdictOf(vs, key.RuleID); v.Result != policy.Pass {
		t.Errorf("re-read: %s %s, want pass", v.Result, v.Message)
	}
	ingress, _ := after.Doc["SecurityGroupIngress"].([]any)
	if len(ingress) != 1 || ingress[0].(map[string]any)["FromPort"] != int64(443) {
		t.Errorf("ingress after the revert %v, want only the HTTPS rule", ingress)
	}
	f, err = store.Get(ctx, key)
	if err != nil || f.Status != finding.StatusResolved || len(f.Actions) != 1 || f.Actions[0].By != "slack:U0ALICE (alice)" ||
		!strings.HasPrefix(f.Actions[0].Result, "slack:U0ALICE (alice) pressed Revert now: reverted") {
		t.Fatalf("finding after the revert: %+v, %v", f, err)
	}
	// The result reached the alert's thread as a note from the lifecycle,
	// with the calls made.
	thread := fake.Thread(f.SlackChannel, f.SlackTS)
	if !slices.ContainsFunc(thread, func(m slackfake.Message) bool {
		return strings.Contains(m.Text, "pressed Revert now: reverted") && strings.Contains(string(m.Blocks), "RevokeSecurityGroupIngress")
	}) {
		t.Errorf("no thread reply with the revert's result: %+v", thread)
	}
	if len(f.Outbox) != 0 {
		t.Errorf("notices left undelivered: %+v", f.Outbox)
	}
	if ups := fake.RequestsTo("/api/chat.update"); len(ups) == 0 || !strings.Contains(string(ups[len(ups)-1].Blocks), "RESOLVED") {
		t.Errorf("the alert was not updated to resolved: %+v", ups)
	}
	posts = hk.posts()[1:]
	if len(posts) != 2 || posts[0]["replace_original"] != true || !strings.Contains(mustJSON(t, posts[0]["blocks"]), "Revert requested by <@U0ALICE>") ||
		posts[1]["response_type"] != "ephemeral" || !strings.Contains(posts[1]["text"].(string), "RevokeSecurityGroupIngress") {
		t.Errorf("response_url posts after the revert: %v", posts)
	}

	// Accept as baseline: the group as it is now becomes approved, and the
	// baseline rule reports a new world-open rule as drift.
	if got := send(signed(signingSecret, time.Now(), press{actionID: slack.ActionAcceptBaseline, value: key.String(), user: alice, responseURL: responseURL}.payload())); got != http.StatusOK {
		t.Fatalf("accept: status %d", got)
	}
	if outs := drain(); len(outs) != 1 || outs[0].Status != StatusDone {
		t.Fatalf("accept outcome %+v", outs)
	}
	if thread := fake.Thread(f.SlackChannel, f.SlackTS); !strings.Contains(thread[len(thread)-1].Text, "accepted the current configuration") {
		t.Errorf("the last thread reply %+v, want the acceptance", thread[len(thread)-1])
	}
	b, err := baselines.Get(ctx, ref.ID)
	if err != nil || !reflect.DeepEqual(b.Doc, after.Doc) {
		t.Fatalf("baseline %+v, %v; want the group as reverted", b, err)
	}
	if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: group.GroupId, IpPermissions: perm(8080)}); err != nil {
		t.Fatal(err)
	}
	v, _ := verdictOf(eng.Evaluate(ctx, policy.Input{Resource: read()}), "acme-sg-ingress-baseline")
	if v.Result != policy.Fail || !strings.Contains(v.Message, `"FromPort":8080`) {
		t.Errorf("baseline rule after a new rule: %s %s", v.Result, v.Message)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
}
