package baseline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// dynamoAPI is the part of the DynamoDB client the store calls.
type dynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// sortKey is the sort key of baseline items.
const sortKey = "baseline"

// DynamoStore keeps baselines in the findings table (shared/state/dynamo's
// layout: string keys pk and sk), one item per resource:
//
//	pk "baseline#<resource ID>"  sk "baseline"  version, resource_type,
//	                                            approved_by, approved_at, body (JSON)
//
// Writes are PutItem with attribute_not_exists(pk) (first approval) or
// version = :v (a later one). Items have no status, so the findings' status
// index does not hold them. It is safe for concurrent use.
type DynamoStore struct {
	api   dynamoAPI
	table string
}

var _ Store = (*DynamoStore)(nil)

// NewDynamo returns a store in the table; api is a *dynamodb.Client.
func NewDynamo(api dynamoAPI, table string) *DynamoStore {
	return &DynamoStore{api: api, table: table}
}

func dynamoKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "baseline#" + id},
		"sk": &types.AttributeValueMemberS{Value: sortKey},
	}
}

// Get returns the baseline of the resource ID (a strongly consistent read).
func (s *DynamoStore) Get(ctx context.Context, id string) (*Baseline, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: dynamoKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get baseline of %s from table %s: %w", id, s.table, err)
	}
	if len(out.Item) == 0 {
		return nil, fmt.Errorf("get baseline of %s: %w", id, ErrNotFound)
	}
	body, ok := out.Item["body"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, fmt.Errorf("decode baseline item of %s: no body", id)
	}
	v, ok := out.Item["version"].(*types.AttributeValueMemberN)
	if !ok {
		return nil, fmt.Errorf("decode baseline item of %s: no version", id)
	}
	version, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("decode baseline item of %s: version: %w", id, err)
	}
	return decode(id, []byte(body.Value), version)
}

// Put stores b if the stored version is b.Version.
func (s *DynamoStore) Put(ctx context.Context, b *Baseline) error {
	next := *b
	next.Version = b.Version + 1
	body, err := encode(&next)
	if err != nil {
		return err
	}
	item := dynamoKey(b.Ref.ID)
	item["version"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(next.Version, 10)}
	item["resource_type"] = &types.AttributeValueMemberS{Value: b.Ref.Type}
	item["approved_by"] = &types.AttributeValueMemberS{Value: b.ApprovedBy}
	item["approved_at"] = &types.AttributeValueMemberS{Value: b.ApprovedAt.UTC().Format(time.RFC3339Nano)}
	item["body"] = &types.AttributeValueMemberS{Value: string(body)}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}
	if b.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": "version"}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(b.Version, 10)},
		}
	}
	_, err = s.api.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("put baseline of %s at version %d: %w", b.Ref.ID, b.Version, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("put baseline of %s into table %s: %w", b.Ref.ID, s.table, err)
	}
	b.Version = next.Version
	return nil
}
