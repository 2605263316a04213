package publish_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/publish"
	"github.com/driftwatch/driftwatch/shared/resource"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fakeEvents is a PutEvents fake: put decides each call's answer; calls
// records the requests.
type fakeEvents struct {
	mu    sync.Mutex
	calls []*eventbridge.PutEventsInput
	put   func(call int, in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error)
}

func (f *fakeEvents) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, in)
	n := len(f.calls)
	f.mu.Unlock()
	if f.put != nil {
		return f.put(n, in)
	}
	return ok(in), nil
}

// ok answers every entry with an event ID.
func ok(in *eventbridge.PutEventsInput) *eventbridge.PutEventsOutput {
	out := &eventbridge.PutEventsOutput{}
	for range in.Entries {
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("id")})
	}
	return out
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

var bucket = resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::logs", Account: "123456789012", Region: "us-east-1"}

func sampleFinding() *finding.Finding {
	key := finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: bucket.ID, RuleID: "aws-s3-bucket-public-acl"}
	opened := finding.Change{
		EventID: "6d5e8c7a-0000-4000-8000-000000000001", Time: t0,
		PrincipalARN: "arn:aws:sts::123456789012:assumed-role/Admin/alice", PrincipalType: "AssumedRole",
		IssuerARN: "arn:aws:iam::123456789012:role/Admin", SourceIP: "198.51.100.7", UserAgent: "aws-cli/2.15.0",
		Service: "s3.amazonaws.com", Operation: "PutBucketAcl",
	}
	return &finding.Finding{
		Key: key, Cloud: "aws", Account: key.Account, Region: "us-east-1", Resource: bucket, RuleID: key.RuleID,
		Severity: "high", Title: "S3 bucket ACL grants access to everyone", Status: finding.StatusOpen,
		Message: "Bucket logs grants READ to AllUsers", FirstSeen: t0, LastSeen: t0, CheckedAt: t0, Count: 1, Occurrence: 1,
		Change: opened, OpenedBy: opened,
	}
}

func rules(id string) *policy.Rule {
	if id != "aws-s3-bucket-public-acl" {
		return nil
	}
	return &policy.Rule{ID: id, Title: "S3 bucket ACL grants access to everyone", Severity: "high",
		References: policy.References{CIS: []string{"2.1.4"}}}
}

// TestEventGolden pins the public detail shape.
func TestEventGolden(t *testing.T) {
	f := sampleFinding()
	bob := finding.Change{EventID: "6d5e8c7a-0000-4000-8000-000000000002", Time: t0.Add(time.Minute),
		PrincipalARN: "arn:aws:iam::123456789012:user/bob", PrincipalType: "IAMUser", SourceIP: "203.0.113.9",
		UserAgent: `<script>alert("x")</script> & "quotes"`, Service: "s3.amazonaws.com", Operation: "PutBucketAcl"}
	resolved := f.Clone()
	resolved.Tickets = map[string]string{"jira": "SEC-42", "github": "example-org/findings#7"}
	resolved.Count, resolved.LastSeen = 2, t0.Add(time.Minute)
	tests := []struct {
		name   string
		f      *finding.Finding
		notice finding.Notice
		rules  func(string) *policy.Rule
	}{
		{"opened", f, finding.Notice{Seq: 1, Kind: finding.Opened, Occurrence: 1, Change: f.Change, Message: f.Message, At: t0.Add(3 * time.Second)}, rules},
		{"repeated_new_principal", f, finding.Notice{Seq: 2, Kind: finding.RepeatedNewPrincipal, Occurrence: 1, Change: bob, Message: f.Message, At: t0.Add(time.Minute)}, rules},
		{"resolved", resolved, finding.Notice{Seq: 3, Kind: finding.Resolved, Occurrence: 1, Reason: finding.ReasonFixed,
			Change:  finding.Change{EventID: "fix", Time: t0.Add(time.Hour), PrincipalARN: "arn:aws:iam::123456789012:user/alice"},
			Message: "ok", At: t0.Add(time.Hour)}, nil},
		{"scan", f, finding.Notice{Seq: 1, Kind: finding.Opened, Occurrence: 1, Message: f.Message, At: t0}, rules},
		{"noted_flapping", f, finding.Notice{Seq: 4, Kind: finding.Noted, Occurrence: 1, Severity: policy.SeverityHigh, At: t0.Add(2 * time.Minute),
			Note: "skipped: aws-s3-bucket-public-acl on arn:aws:s3:::logs (s3-remove-public-acl-grants): flapping — revert paused: " +
				"arn:aws:s3:::logs was already reverted 3 times in the last 1h0m0s\n  s3:PutBucketAcl {\"Bucket\":\"logs<script>\"}"}, rules},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeEvents{}
			p := publish.New(fake, publish.Options{EventBus: "security", Rules: tc.rules})
			if err := p.Publish(context.Background(), p.Event(tc.f, tc.notice)); err != nil {
				t.Fatal(err)
			}
			if len(fake.calls) != 1 || len(fake.calls[0].Entries) != 1 {
				t.Fatalf("calls = %+v, want one call with one entry", fake.calls)
			}
			detail := []byte(aws.ToString(fake.calls[0].Entries[0].Detail))
			var indented bytes.Buffer
			if err := json.Indent(&indented, detail, "", "  "); err != nil {
				t.Fatalf("detail is not JSON: %v\n%s", err, detail)
			}
			got := indented.Bytes()
			golden := filepath.Join("testdata", tc.name+".json")
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(got)+"\n" != string(want) {
				t.Errorf("detail differs from %s (go test -update rewrites it):\n%s", golden, got)
			}
		})
	}
}

func TestEntryFields(t *testing.T) {
	fake := &fakeEvents{}
	f := sampleFinding()
	n := finding.Notice{Seq: 1, Kind: finding.Opened, Occurrence: 1, Change: f.Change, At: t0}
	tests := []struct {
		name          string
		opts          publish.Options
		f             *finding.Finding
		wantBus       *string
		wantSource    string
		wantResources []string
	}{
		{"named bus, default source", publish.Options{EventBus: "security"}, f, aws.String("security"), "driftwatch", []string{bucket.ID}},
		{"bus ARN, own source", publish.Options{EventBus: "arn:aws:events:us-east-1:123456789012:event-bus/sec", Source: "acme.driftwatch"}, f,
			aws.String("arn:aws:events:us-east-1:123456789012:event-bus/sec"), "acme.driftwatch", []string{bucket.ID}},
		{"default bus", publish.Options{}, f, nil, "driftwatch", []string{bucket.ID}},
		{"azure resource: no ARN to list", publish.Options{}, func() *finding.Finding {
			g := f.Clone()
			g.Resource.ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa"
			return g
		}(), nil, "driftwatch", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake.calls = nil
			p := publish.New(fake, tc.opts)
			if _, err := p.Opened(context.Background(), tc.f, n); err != nil {
				t.Fatal(err)
			}
			e := fake.calls[0].Entries[0]
			if aws.ToString(e.EventBusName) != aws.ToString(tc.wantBus) || (e.EventBusName == nil) != (tc.wantBus == nil) {
				t.Errorf("EventBusName = %v, want %v", aws.ToString(e.EventBusName), aws.ToString(tc.wantBus))
			}
			if aws.ToString(e.Source) != tc.wantSource || aws.ToString(e.DetailType) != "driftwatch Finding" {
				t.Errorf("Source, DetailType = %q, %q", aws.ToString(e.Source), aws.ToString(e.DetailType))
			}
			if strings.Join(e.Resources, ",") != strings.Join(tc.wantResources, ",") {
				t.Errorf("Resources = %q, want %q", e.Resources, tc.wantResources)
			}
			if e.Time == nil || !e.Time.Equal(t0) {
				t.Errorf("Time = %v, want %v", e.Time, t0)
			}
		})
	}
	if publish.New(fake, publish.Options{}).Name() != "eventbridge" {
		t.Error(`Name() is not "eventbridge"`)
	}
}

// events returns n distinct events with messages of size bytes.
func events(n, size int) []publish.FindingEvent {
	out := make([]publish.FindingEvent, n)
	for i := range out {
		f := sampleFinding()
		f.Key.ResourceID = f.Key.ResourceID + "-" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		f.Resource.ID = f.Key.ResourceID
		f.Message = strings.Repeat("m", size)
		out[i] = publish.NewEvent(f, finding.Notice{Seq: 1, Kind: finding.Opened, Occurrence: 1, At: t0}, nil)
	}
	return out
}

// entrySize is EventBridge's documented entry size.
func entrySize(e types.PutEventsRequestEntry) int {
	n := len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	if e.Time != nil {
		n += 14
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

func TestBatching(t *testing.T) {
	tests := []struct {
		name      string
		n, size   int
		wantCalls []int // entries per call
	}{
		{"one", 1, 10, []int{1}},
		{"ten", 10, 10, []int{10}},
		{"twenty-three small", 23, 100, []int{10, 10, 3}},
		{"large events, two per request", 5, 100 * 1024, []int{2, 2, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeEvents{}
			p := publish.New(fake, publish.Options{})
			evs := events(tc.n, tc.size)
			if err := p.Publish(context.Background(), evs...); err != nil {
				t.Fatal(err)
			}
			var got []int
			seen := map[string]bool{}
			for _, c := range fake.calls {
				got = append(got, len(c.Entries))
				total := 0
				for _, e := range c.Entries {
					total += entrySize(e)
					var fe publish.FindingEvent
					if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &fe); err != nil {
						t.Fatal(err)
					}
					seen[fe.Key] = true
				}
				if total > 256*1024 {
					t.Errorf("a request of %d bytes", total)
				}
			}
			if jsonInts(got) != jsonInts(tc.wantCalls) {
				t.Errorf("entries per call = %v, want %v", got, tc.wantCalls)
			}
			if len(seen) != tc.n {
				t.Errorf("%d distinct events sent, want %d", len(seen), tc.n)
			}
		})
	}
}

func jsonInts(v []int) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestTruncation(t *testing.T) {
	tests := []struct {
		name    string
		message string
	}{
		{"plain", strings.Repeat("a", 400*1024)},
		{"escapes expand", strings.Repeat("\"\x01\\", 120*1024)},
		{"multi-byte runes", strings.Repeat("é€😀", 40*1024)},
		{"just over", strings.Repeat("b", 256*1024-100)},
		{"invalid UTF-8", strings.Repeat("\xff<&>\u2028", 100*1024)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeEvents{}
			p := publish.New(fake, publish.Options{EventBus: "security"})
			f := sampleFinding()
			if err := p.Publish(context.Background(), publish.NewEvent(f, finding.Notice{Seq: 1, Kind: finding.Opened, Message: tc.message, At: t0}, nil)); err != nil {
				t.Fatal(err)
			}
			e := fake.calls[0].Entries[0]
			if n := entrySize(e); n > 256*1024 {
				t.Errorf("entry of %d bytes, over 256 KB", n)
			}
			var fe publish.FindingEvent
			if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &fe); err != nil {
				t.Fatal(err)
			}
			if !fe.MessageTruncated || !strings.HasSuffix(fe.Message, "…[truncated]") || !utf8.ValidString(fe.Message) {
				t.Errorf("message_truncated = %v, message ends %q", fe.MessageTruncated, fe.Message[max(0, len(fe.Message)-40):])
			}
			// encoding/json writes invalid UTF-8 as U+FFFD.
			if !strings.HasPrefix(strings.ToValidUTF8(tc.message, "\uFFFD"), strings.TrimSuffix(fe.Message, " …[truncated]")) {
				t.Error("the truncated message is not a prefix of the message")
			}
			if n := entrySize(e); n < 255*1024 {
				t.Errorf("entry of %d bytes: the message was cut more than needed", n)
			}
		})
	}
	// A message that fits is left alone.
	fake := &fakeEvents{}
	if err := publish.New(fake, publish.Options{}).Publish(context.Background(), events(1, 200*1024)...); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(aws.ToString(fake.calls[0].Entries[0].Detail), "truncated\":true") {
		t.Error("a 200 KB message was truncated")
	}
}

func TestFailures(t *testing.T) {
	evs := events(3, 10)
	failEntry := func(i int, code string) func(int, *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
		return func(_ int, in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
			out := ok(in)
			if i < len(in.Entries) {
				out.FailedEntryCount = 1
				out.Entries[i] = types.PutEventsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("no")}
			}
			return out, nil
		}
	}
	tests := []struct {
		name      string
		put       func(int, *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error)
		wantCalls []int  // entries per call
		wantErr   string // "" = success
		notInErr  string
	}{
		{"all accepted", nil, []int{3}, "", ""},
		{"one entry refused", failEntry(1, "AccessDeniedException"), []int{3},
			"publish event for " + evs[1].Key + " (opened): entry failed after 1 attempt(s): AccessDeniedException: no", evs[0].Key + " "},
		{"throttled once, then sent", func(call int, in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
			if call == 1 {
				return failEntry(2, "ThrottlingException")(call, in)
			}
			return ok(in), nil
		}, []int{3, 1}, "", ""},
		{"throttled every time", failEntry(0, "ThrottlingException"), []int{3, 1, 1},
			"publish event for " + evs[0].Key + " (opened): entry failed after 3 attempt(s): ThrottlingException", ""},
		{"request fails", func(int, *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
			return nil, errors.New("connection reset")
		}, []int{3}, "put 3 event(s) on bus security: connection reset", ""},
		{"answer without entries", func(int, *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
			return &eventbridge.PutEventsOutput{FailedEntryCount: 1}, nil
		}, []int{3}, "1 failed, and the answer has 0 entries", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeEvents{put: tc.put}
			p := publish.New(fake, publish.Options{EventBus: "security", Backoff: time.Microsecond})
			err := p.Publish(context.Background(), evs...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Publish = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Publish = %v, want an error containing %q", err, tc.wantErr)
			case tc.notInErr != "" && strings.Contains(err.Error(), tc.notInErr):
				t.Errorf("error names an entry that was sent: %v", err)
			}
			var got []int
			for _, c := range fake.calls {
				got = append(got, len(c.Entries))
			}
			if jsonInts(got) != jsonInts(tc.wantCalls) {
				t.Errorf("entries per call = %v, want %v", got, tc.wantCalls)
			}
		})
	}
}

// A notifier error makes the lifecycle deliver the notice again.
func TestNotifierError(t *testing.T) {
	fake := &fakeEvents{put: func(int, *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
		return nil, errors.New("boom")
	}}
	f := sampleFinding()
	refs, err := publish.New(fake, publish.Options{}).Resolved(context.Background(), f, finding.Notice{Kind: finding.Resolved, Reason: "fixed"})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Resolved = %v, want the request error", err)
	}
	if refs.SlackTS != "" || refs.Tickets != nil {
		t.Errorf("Resolved returned refs %+v", refs)
	}
}
