// Package queue parks messages that can never be processed in a
// dead-letter queue, with the reason, so that nothing is lost and an
// operator can see why.
package queue

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// sender is the one SQS call the dead-letter queue makes.
type sender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// DeadLetter is an SQS queue that keeps unprocessable messages.
type DeadLetter struct {
	client sender
	url    string
}

// NewDeadLetter returns a DeadLetter that sends to the queue at url.
func NewDeadLetter(client sender, url string) *DeadLetter {
	return &DeadLetter{client: client, url: url}
}

// ReasonAttribute is the message attribute that carries why a message was
// parked.
const ReasonAttribute = "driftwatch-reason"

// Park sends body to the queue with the reason as a message attribute
// (truncated to 1,000 characters).
func (d *DeadLetter) Park(ctx context.Context, body, reason string) error {
	if len(reason) > 1000 {
		cut := 1000
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut-- // never split a character: the attribute must stay valid UTF-8
		}
		reason = reason[:cut]
	}
	_, err := d.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(d.url),
		MessageBody: aws.String(body),
		MessageAttributes: map[string]types.MessageAttributeValue{
			ReasonAttribute: {DataType: aws.String("String"), StringValue: aws.String(reason)},
		},
	})
	if err != nil {
		return fmt.Errorf("park message in dead-letter queue %s: %w", d.url, err)
	}
	return nil
}
