package sweep

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Checkpoints remember how far the catch-up got, by name (one per account
// and region). A checkpoint only moves forward: Put with an older time than
// the stored one changes nothing, so two sweepers racing never move it back.
type Checkpoints interface {
	// Get returns the checkpoint, and false when there is none yet.
	Get(ctx context.Context, name string) (time.Time, bool, error)
	// Put stores t unless the stored checkpoint is newer.
	Put(ctx context.Context, name string, t time.Time) error
}

// MemoryCheckpoints keeps checkpoints in memory, for tests and one-off runs.
type MemoryCheckpoints struct {
	mu sync.Mutex
	m  map[string]time.Time
}

var _ Checkpoints = (*MemoryCheckpoints)(nil)

// Get returns the checkpoint with the name.
func (c *MemoryCheckpoints) Get(_ context.Context, name string) (time.Time, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[name]
	return t, ok, nil
}

// Put moves the checkpoint forward to t.
func (c *MemoryCheckpoints) Put(_ context.Context, name string, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]time.Time{}
	}
	if cur, ok := c.m[name]; !ok || t.After(cur) {
		c.m[name] = t
	}
	return nil
}

// checkpointAPI is the part of the DynamoDB client DynamoCheckpoints calls.
type checkpointAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// DynamoCheckpoints keeps checkpoints in the findings table of
// shared/state/dynamo, beside the findings, as items
//
//	pk "checkpoint#<name>"  sk "checkpoint"  at (epoch nanoseconds)
//
// They have no status (so the status index never lists them) and no
// expires_at (so TTL never deletes them).
type DynamoCheckpoints struct {
	api   checkpointAPI
	table string
}

var _ Checkpoints = (*DynamoCheckpoints)(nil)

// NewDynamoCheckpoints returns checkpoints in table; api is a
// *dynamodb.Client.
func NewDynamoCheckpoints(api checkpointAPI, table string) *DynamoCheckpoints {
	return &DynamoCheckpoints{api: api, table: table}
}

func checkpointKey(name string) map[string]dbtypes.AttributeValue {
	return map[string]dbtypes.AttributeValue{
		"pk": &dbtypes.AttributeValueMemberS{Value: "checkpoint#" + name},
		"sk": &dbtypes.AttributeValueMemberS{Value: "checkpoint"},
	}
}

// Get reads the checkpoint (strongly consistent).
func (c *DynamoCheckpoints) Get(ctx context.Context, name string) (time.Time, bool, error) {
	out, err := c.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(c.table), Key: checkpointKey(name), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("get checkpoint %s from table %s: %w", name, c.table, err)
	}
	if len(out.Item) == 0 {
		return time.Time{}, false, nil
	}
	n, ok := out.Item["at"].(*dbtypes.AttributeValueMemberN)
	if !ok {
		return time.Time{}, false, fmt.Errorf("checkpoint %s in table %s has no numeric at attribute", name, c.table)
	}
	ns, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("checkpoint %s in table %s: at %q: %w", name, c.table, n.Value, err)
	}
	return time.Unix(0, ns).UTC(), true, nil
}

// Put writes t with a condition that the stored checkpoint is older.
func (c *DynamoCheckpoints) Put(ctx context.Context, name string, t time.Time) error {
	item := checkpointKey(name)
	at := &dbtypes.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixNano(), 10)}
	item["at"] = at
	_, err := c.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(c.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #at < :at"),
		ExpressionAttributeNames:  map[string]string{"#at": "at"},
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":at": at},
	})
	var failed *dbtypes.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil // a newer checkpoint is stored
	}
	if err != nil {
		return fmt.Errorf("put checkpoint %s in table %s: %w", name, c.table, err)
	}
	return nil
}
