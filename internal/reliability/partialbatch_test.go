package reliability

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/faultproxy"
)

// TestPartialBatchFailureReturnsOnlyFailedItems hands the handler one SQS
// batch of ten messages: six changes whose groups read fine, three whose
// every EC2 read fails (500s and dropped connections, outlasting the SDK's
// retries) and one that is not an event. The handler must name exactly the
// three failed reads in batchItemFailures; the poller deletes the rest, as
// Lambda's event source mapping does; the unreadable message is parked with
// its reason. After the visibility timeout exactly those three come back
// from the queue, received twice, and with the faults gone they complete.
func TestPartialBatchFailureReturnsOnlyFailedItems(t *testing.T) {
	start := time.Now()
	ctx := context.Background()
	const visibility = 6
	h := newHarness(t, options{maxReceives: 5, visibility: visibility, timeout: 5 * time.Second, reserve: time.Second, batchSize: 10, workers: 1})
	suffix := ctrecord.UUID()[:6]

	var (
		evs     []event
		failing []string // group IDs whose reads fail
		bad     = "{\"detail-type\": \"AWS API Call via CloudTrail\", \"detail\": ["
	)
	for i := range 9 {
		g, _ := h.createGroup(fmt.Sprintf("part-%02d-%s", i, suffix))
		evs = append(evs, h.authorize(g, perm{"tcp", 22, "0.0.0.0/0"}))
		if i%3 == 1 {
			failing = append(failing, g.id)
		}
	}
	h.awsProxy.Set(faultproxy.Faults{}, faultproxy.Rule{Name: "failing reads",
		Match: func(r *http.Request, body []byte) bool {
			return faultproxy.AWSService(r) == "ec2" && slices.ContainsFunc(failing, func(id string) bool { return bytes.Contains(body, []byte(id)) })
		},
		Faults: faultproxy.Faults{Rate: 1, Kinds: []faultproxy.Kind{faultproxy.ServerError, faultproxy.Drop}}})

	ids := h.send(append(bodiesOf(evs), bad))
	byMessage := map[string]event{}
	for i, e := range evs {
		byMessage[ids[i]] = e
	}
	badID := ids[len(ids)-1]
	var wantFailed []string
	for id, e := range byMessage {
		if slices.ContainsFunc(failing, func(g string) bool { return strings.Contains(e.body, g) }) {
			wantFailed = append(wantFailed, id)
		}
	}
	slices.Sort(wantFailed)

	// One batch of all ten.
	recv, err := h.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(h.queueURL), MaxNumberOfMessages: 10,
		WaitTimeSeconds: 1, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	must(t, "receive the batch", err)
	received := time.Now()
	if len(recv.Messages) != 10 {
		t.Fatalf("received %d messages in one batch, want 10", len(recv.Messages))
	}
	st := &drainStats{}
	failed, err := h.invoke(ctx, recv.Messages, st)
	must(t, "invoke", err)
	if got := slices.Sorted(maps.Keys(failed)); !slices.Equal(got, wantFailed) {
		t.Fatalf("batchItemFailures %v, want exactly the failed reads %v", got, wantFailed)
	}
	if st.deleted.Load() != 7 {
		t.Errorf("%d messages deleted, want the 6 processed and the parked one", st.deleted.Load())
	}
	dlq := h.peekDLQ()
	if len(dlq) != 1 || dlq[0].body != bad || !strings.Contains(dlq[0].reason, "permanent") {
		t.Errorf("dead-letter queue %+v, want only the unreadable message, parked as permanent", dlq)
	}
	var done []event
	for id, e := range byMessage {
		if !failed[id] {
			done = append(done, e)
		}
	}
	if missing := h.unseen(done); len(missing) > 0 {
		t.Errorf("%d processed events not marked seen", len(missing))
	}
	if n := len(h.slack.TopLevel()); n != len(done) {
		t.Errorf("%d Slack alerts after the batch, want one per processed group: %d", n, len(done))
	}

	// After the visibility timeout only the failed messages come back.
	time.Sleep(time.Until(received.Add(visibility*time.Second + 500*time.Millisecond)))
	again, err := h.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(h.queueURL), MaxNumberOfMessages: 10,
		WaitTimeSeconds: 1, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	must(t, "receive again", err)
	var back []string
	for _, m := range again.Messages {
		back = append(back, aws.ToString(m.MessageId))
		if n := m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]; n != "2" {
			t.Errorf("message %s came back with receive count %s, want 2", aws.ToString(m.MessageId), n)
		}
	}
	slices.Sort(back)
	if !slices.Equal(back, wantFailed) {
		t.Errorf("messages back on the queue %v, want only the failed ones %v (the bad one was %s)", back, wantFailed, badID)
	}
	if n := h.queueAttribute(h.queueURL, sqstypes.QueueAttributeNameApproximateNumberOfMessages); n != "0" {
		t.Errorf("%s more messages visible on the queue", n)
	}

	// Without the faults they complete.
	h.awsProxy.Set(faultproxy.Faults{})
	failed, err = h.invoke(ctx, again.Messages, st)
	must(t, "invoke again", err)
	if len(failed) > 0 {
		t.Errorf("failures %v without faults", slices.Sorted(maps.Keys(failed)))
	}
	if missing := h.unseen(evs); len(missing) > 0 {
		t.Errorf("%d of %d events not marked seen", len(missing), len(evs))
	}
	empty, err := h.queueEmpty(ctx)
	must(t, "queue attributes", err)
	if !empty {
		t.Error("the queue is not empty")
	}
	fs := h.findings()
	if len(fs) != len(evs) {
		t.Errorf("%d findings, want one per group: %d", len(fs), len(evs))
	}
	h.checkAnnounced(fs)
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}
