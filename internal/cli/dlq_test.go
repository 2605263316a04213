package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/driftwatch/driftwatch/shared/queue"
)

// fakeSQS is a dead-letter queue and a source queue in memory. Received
// messages stay in the DLQ until deleted; a receive hands out each message
// once (as an SQS visibility timeout longer than the test would).
type fakeSQS struct {
	dlq      []types.Message
	handed   int
	sent     []*sqs.SendMessageInput
	deleted  []string
	calls    []string // "receive", "send <body>", "delete <receipt>"
	sendErr  func(body string) error
	delErr   func(receipt string) error
	receives []int32 // MaxNumberOfMessages asked
}

var _ DLQAPI = (*fakeSQS)(nil)

func (f *fakeSQS) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	f.calls = append(f.calls, "receive")
	f.receives = append(f.receives, in.MaxNumberOfMessages)
	if aws.ToString(in.QueueUrl) != "dlq-url" {
		return nil, fmt.Errorf("receive from %s", aws.ToString(in.QueueUrl))
	}
	if !slices.Contains(in.MessageAttributeNames, "All") {
		return nil, errors.New("message attributes not asked for")
	}
	end := min(f.handed+int(in.MaxNumberOfMessages), len(f.dlq))
	out := &sqs.ReceiveMessageOutput{Messages: f.dlq[f.handed:end]}
	f.handed = end
	return out, nil
}

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	body := aws.ToString(in.MessageBody)
	f.calls = append(f.calls, "send "+body)
	if f.sendErr != nil {
		if err := f.sendErr(body); err != nil {
			return nil, err
		}
	}
	f.sent = append(f.sent, in)
	return &sqs.SendMessageOutput{}, nil
}

func (f *fakeSQS) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	r := aws.ToString(in.ReceiptHandle)
	f.calls = append(f.calls, "delete "+r)
	if aws.ToString(in.QueueUrl) != "dlq-url" {
		return nil, fmt.Errorf("delete from %s", aws.ToString(in.QueueUrl))
	}
	if f.delErr != nil {
		if err := f.delErr(r); err != nil {
			return nil, err
		}
	}
	f.deleted = append(f.deleted, r)
	return &sqs.DeleteMessageOutput{}, nil
}

// parked is a message as the detector parks it.
func parked(i int, reason string) types.Message {
	m := types.Message{
		MessageId: aws.String(fmt.Sprintf("id-%d", i)), ReceiptHandle: aws.String(fmt.Sprintf("rh-%d", i)),
		Body:       aws.String(fmt.Sprintf("body-%d", i)),
		Attributes: map[string]string{"ApproximateReceiveCount": "3"},
		MessageAttributes: map[string]types.MessageAttributeValue{
			"trace": {DataType: aws.String("String"), StringValue: aws.String(fmt.Sprintf("t-%d", i))},
		},
	}
	if reason != "" {
		m.MessageAttributes[queue.ReasonAttribute] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(reason)}
	}
	return m
}

func TestRedriveMovesEveryMessageWithItsReason(t *testing.T) {
	f := &fakeSQS{}
	for i := range 23 {
		f.dlq = append(f.dlq, parked(i, fmt.Sprintf("reason %d", i)))
	}
	f.dlq[7] = parked(7, "read failed\nstore failed") // errors.Join's lines
	f.dlq[5] = parked(5, "")                          // moved by the redrive policy, not parked
	var out bytes.Buffer
	res, err := Redrive{Queue: "queue-url", DLQ: "dlq-url"}.Run(context.Background(), f, &out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 23 || res.Failed != 0 {
		t.Fatalf("result %+v, want 23 moved", res)
	}
	for i, in := range f.sent {
		if aws.ToString(in.QueueUrl) != "queue-url" || aws.ToString(in.MessageBody) != fmt.Sprintf("body-%d", i) {
			t.Fatalf("send %d: %s to %s", i, aws.ToString(in.MessageBody), aws.ToString(in.QueueUrl))
		}
		if _, ok := in.MessageAttributes[queue.ReasonAttribute]; ok {
			t.Errorf("send %d carries the stale reason", i)
		}
		if got := aws.ToString(in.MessageAttributes["trace"].StringValue); got != fmt.Sprintf("t-%d", i) {
			t.Errorf("send %d: trace attribute %q not carried over", i, got)
		}
		if in.MessageGroupId != nil {
			t.Errorf("send %d to a standard queue has a group ID", i)
		}
	}
	// Each delete comes right after the send of the same message.
	for i, c := range f.calls {
		if r, ok := strings.CutPrefix(c, "delete rh-"); ok && (i == 0 || f.calls[i-1] != "send body-"+r) {
			t.Errorf("call %d %q does not follow the message's send (%q)", i, c, f.calls[max(i-1, 0)])
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 23 || lines[0] != "id-0\treason 0" {
		t.Fatalf("output:\n%s", out.String())
	}
	if !strings.Contains(lines[5], "id-5\tno driftwatch-reason: moved by the queue's redrive policy (received 3 times)") {
		t.Errorf("line for the unparked message: %q", lines[5])
	}
	if lines[7] != "id-7\tread failed; store failed" {
		t.Errorf("line for a reason of two lines: %q", lines[7])
	}
	if want := []int32{10, 10, 10, 10}; !slices.Equal(f.receives, want) {
		t.Errorf("receives asked for %v, want %v (the last one finds the queue empty)", f.receives, want)
	}
}

// failOn returns err for the one argument, nil for the others.
func failOn(arg string, err error) func(string) error {
	return func(s string) error {
		if s == arg {
			return err
		}
		return nil
	}
}

func TestRedriveFailures(t *testing.T) {
	boom := errors.New("throttled")
	tests := []struct {
		name        string
		sendErr     func(string) error
		delErr      func(string) error
		wantMoved   int
		wantFailed  int
		wantDeleted []string
		wantErr     string
	}{
		{
			name:      "failed send keeps the message",
			sendErr:   failOn("body-1", boom),
			wantMoved: 2, wantFailed: 1, wantDeleted: []string{"rh-0", "rh-2"},
			wantErr: "send message id-1 to queue queue-url (it stays in the dead-letter queue): throttled",
		},
		{
			name:      "failed delete is reported",
			delErr:    failOn("rh-2", boom),
			wantMoved: 2, wantFailed: 1, wantDeleted: []string{"rh-0", "rh-1"},
			wantErr: "delete message id-2 from dead-letter queue dlq-url after sending it",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSQS{dlq: []types.Message{parked(0, "a"), parked(1, "b"), parked(2, "c")}, sendErr: tt.sendErr, delErr: tt.delErr}
			var out bytes.Buffer
			res, err := Redrive{Queue: "queue-url", DLQ: "dlq-url"}.Run(context.Background(), f, &out)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if res.Moved != tt.wantMoved || res.Failed != tt.wantFailed {
				t.Errorf("result %+v", res)
			}
			if !slices.Equal(f.deleted, tt.wantDeleted) {
				t.Errorf("deleted %v, want %v", f.deleted, tt.wantDeleted)
			}
			if strings.Count(out.String(), "\n") != tt.wantMoved {
				t.Errorf("output lists other messages than the moved ones:\n%s", out.String())
			}
		})
	}
}

func TestRedriveMaxAndFIFO(t *testing.T) {
	f := &fakeSQS{}
	for i := range 15 {
		m := parked(i, "r")
		if i%2 == 0 {
			m.Attributes["MessageGroupId"] = "g"
			m.Attributes["MessageDeduplicationId"] = fmt.Sprintf("d-%d", i)
		}
		f.dlq = append(f.dlq, m)
	}
	res, err := Redrive{Queue: "q.fifo", DLQ: "dlq-url", Max: 12}.Run(context.Background(), f, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 12 || len(f.sent) != 12 {
		t.Fatalf("moved %d (sent %d), want at most 12", res.Moved, len(f.sent))
	}
	if want := []int32{10, 2}; !slices.Equal(f.receives, want) {
		t.Errorf("receives asked for %v, want %v", f.receives, want)
	}
	for i, in := range f.sent {
		group, dedup := aws.ToString(in.MessageGroupId), aws.ToString(in.MessageDeduplicationId)
		wantGroup, wantDedup := "driftwatch-redrive", fmt.Sprintf("id-%d", i)
		if i%2 == 0 {
			wantGroup, wantDedup = "g", fmt.Sprintf("d-%d", i)
		}
		if group != wantGroup || dedup != wantDedup {
			t.Errorf("send %d: group %q dedup %q, want %q %q", i, group, dedup, wantGroup, wantDedup)
		}
	}
}

func TestDLQUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"dlq"},
		{"dlq", "purge"},
		{"dlq", "redrive"},
		{"dlq", "redrive", "--queue", "q"},
		{"dlq", "redrive", "--queue", "q", "--dlq", "q"},
		{"dlq", "redrive", "--queue", "q", "--dlq", "d", "--max", "-1"},
		{"dlq", "redrive", "--queue", "q", "--dlq", "d", "extra"},
	} {
		var stderr bytes.Buffer
		if code := Run(context.Background(), args, Env{Stdout: &bytes.Buffer{}, Stderr: &stderr}); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
		if stderr.Len() == 0 {
			t.Errorf("%q: nothing said on stderr", args)
		}
	}
}
