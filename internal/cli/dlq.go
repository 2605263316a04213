package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/driftwatch/driftwatch/shared/queue"
)

// DLQAPI is the SQS calls a redrive makes (a *sqs.Client).
type DLQAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// Redrive says what to move.
type Redrive struct {
	// Queue is the URL of the queue the messages go back to; DLQ the URL
	// of the dead-letter queue they come from.
	Queue, DLQ string
	// Max bounds the messages moved (0: until the dead-letter queue is
	// empty).
	Max int
	// Visibility is how long, in seconds, a received message stays hidden
	// from other consumers of the dead-letter queue while it is moved
	// (default 60); a message that could not be moved comes back after it.
	Visibility int32
	// Wait is the long-poll wait of each receive, in seconds (default 1;
	// a short poll may miss messages of a queue that is not empty).
	Wait int32
}

// RedriveResult counts what a redrive did.
type RedriveResult struct {
	// Moved were sent to the queue and deleted from the dead-letter queue.
	Moved int
	// Failed could not be sent (they stay in the dead-letter queue) or
	// were sent but not deleted (they will be delivered twice, which the
	// pipeline's seen-set absorbs).
	Failed int
}

// Run moves messages from the dead-letter queue back to the queue: receive,
// send, and delete only once the send succeeded, so that a failure never
// loses a message. It writes one line per moved message, its ID, a tab and
// the reason the detector parked it for (the driftwatch-reason attribute,
// its lines joined with "; "), and returns an
// error when a call failed. The reason attribute is not carried over (a new
// failure parks the message with a new one); the other attributes are. A
// FIFO queue gets the message's group and deduplication IDs.
func (r Redrive) Run(ctx context.Context, api DLQAPI, w io.Writer) (RedriveResult, error) {
	var res RedriveResult
	var errs []error
	visibility, wait := r.Visibility, r.Wait
	if visibility <= 0 {
		visibility = 60
	}
	if wait <= 0 {
		wait = 1
	}
	fifo := strings.HasSuffix(r.Queue, ".fifo")
	for r.Max <= 0 || res.Moved+res.Failed < r.Max {
		n := int32(10)
		if r.Max > 0 {
			n = min(n, int32(r.Max-res.Moved-res.Failed))
		}
		out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(r.DLQ),
			MaxNumberOfMessages:         n,
			VisibilityTimeout:           visibility,
			WaitTimeSeconds:             wait,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("receive from dead-letter queue %s: %w", r.DLQ, err))
			break
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			if err := r.move(ctx, api, m, fifo, w); err != nil {
				res.Failed++
				errs = append(errs, err)
				continue
			}
			res.Moved++
		}
	}
	return res, errors.Join(errs...)
}

// move sends one message to the queue and deletes it from the dead-letter
// queue.
func (r Redrive) move(ctx context.Context, api DLQAPI, m types.Message, fifo bool, w io.Writer) error {
	id := aws.ToString(m.MessageId)
	in := &sqs.SendMessageInput{QueueUrl: aws.String(r.Queue), MessageBody: m.Body}
	for k, v := range m.MessageAttributes {
		if k == queue.ReasonAttribute {
			continue
		}
		if in.MessageAttributes == nil {
			in.MessageAttributes = map[string]types.MessageAttributeValue{}
		}
		in.MessageAttributes[k] = v
	}
	if fifo {
		group := m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]
		if group == "" {
			group = "driftwatch-redrive"
		}
		dedup := m.Attributes[string(types.MessageSystemAttributeNameMessageDeduplicationId)]
		if dedup == "" {
			dedup = id
		}
		in.MessageGroupId, in.MessageDeduplicationId = aws.String(group), aws.String(dedup)
	}
	if _, err := api.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("send message %s to queue %s (it stays in the dead-letter queue): %w", id, r.Queue, err)
	}
	_, err := api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.DLQ), ReceiptHandle: m.ReceiptHandle})
	if err != nil {
		return fmt.Errorf("delete message %s from dead-letter queue %s after sending it (it will be delivered twice; the detector skips the repeat): %w", id, r.DLQ, err)
	}
	fmt.Fprintf(w, "%s\t%s\n", id, oneLine(reasonOf(m)))
	return nil
}

// oneLine joins the lines of a reason (errors.Join separates its errors
// with newlines) with "; ", so that each message takes one output line.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}

// reasonOf is why the message was parked.
func reasonOf(m types.Message) string {
	if v, ok := m.MessageAttributes[queue.ReasonAttribute]; ok && aws.ToString(v.StringValue) != "" {
		return aws.ToString(v.StringValue)
	}
	reason := "no driftwatch-reason: moved by the queue's redrive policy"
	if n := m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]; n != "" {
		reason += " (received " + n + " times)"
	}
	return reason
}

func dlqCmd(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 || args[0] != "redrive" {
		fmt.Fprint(env.Stderr, "usage: driftwatch dlq redrive --queue URL --dlq URL [--max N]\n")
		return exitUsage
	}
	fl := newFlags("dlq redrive", env)
	var r Redrive
	fl.StringVar(&r.Queue, "queue", "", "URL of the detector's queue the messages go back to")
	fl.StringVar(&r.DLQ, "dlq", "", "URL of the dead-letter queue")
	fl.IntVar(&r.Max, "max", 0, "move at most N messages (0: all)")
	rest, err := parseFlags(fl, args[1:])
	if err != nil {
		return exitUsage
	}
	switch {
	case len(rest) > 0:
		err = fmt.Errorf("unexpected arguments %q", rest)
	case r.Queue == "" || r.DLQ == "":
		err = errors.New("--queue and --dlq are required")
	case r.Queue == r.DLQ:
		err = errors.New("--queue and --dlq are the same queue")
	case r.Max < 0:
		err = errors.New("--max must not be negative")
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch dlq redrive:", err)
		return exitUsage
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch dlq redrive: load AWS configuration:", err)
		return exitFail
	}
	res, err := r.Run(ctx, sqs.NewFromConfig(awsCfg), env.Stdout)
	fmt.Fprintf(env.Stdout, "moved %d message(s) from %s to %s\n", res.Moved, r.DLQ, r.Queue)
	if err != nil {
		fmt.Fprintln(env.Stderr, "driftwatch dlq redrive:", err)
		return exitFail
	}
	return exitOK
}
