// Package dynamo stores findings in one DynamoDB table, for the AWS
// functions.
//
// Items (partition key pk, sort key sk, both strings):
//
//	pk "finding#<key>"   sk "finding"  status, version, cloud, account, resource_id,
//	                                   rule_id, severity, last_seen, body (the finding as JSON)
//	pk "seen#<event ID>" sk "seen"     expires_at (epoch seconds, the table's TTL attribute)
//
// A global secondary index, by-status (status, pk), lists findings by
// status; event marks have no status attribute, so the index holds findings
// only. Every write is a PutItem with a condition: attribute_not_exists(pk)
// to insert, version = :v to update, and for event marks
// attribute_not_exists(pk) OR expires_at <= :now. DynamoDB deletes expired
// marks within a few days, not at once (and moto never does), so reads also
// compare expires_at with the clock.
package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/driftwatch/driftwatch/shared/finding"
)

// Names in the table.
const (
	// StatusIndex is the global secondary index that lists findings by status.
	StatusIndex = "by-status"
	// TTLAttribute is the table's time-to-live attribute (epoch seconds).
	TTLAttribute = "expires_at"

	findingSK = "finding"
	seenSK    = "seen"
	pageSize  = 100
)

// dynamoAPI is the part of the DynamoDB client the store calls.
type dynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Options tune a Store. The zero value is usable.
type Options struct {
	// Now is the clock for event-mark expiry (default time.Now).
	Now func() time.Time
}

// Store is a finding.Store in one DynamoDB table. It is safe for
// concurrent use.
type Store struct {
	api   dynamoAPI
	table string
	now   func() time.Time
}

var _ finding.Store = (*Store)(nil)

// New returns a store in the table, which must exist with the layout
// CreateTable makes. api is a *dynamodb.Client.
func New(api dynamoAPI, table string, opts Options) *Store {
	s := &Store{api: api, table: table, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

func findingPK(k finding.Key) string { return "finding#" + k.String() }

func seenPK(eventID string) string { return "seen#" + eventID }

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// Get returns the finding with the key (a strongly consistent read).
func (s *Store) Get(ctx context.Context, key finding.Key) (*finding.Finding, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{"pk": str(findingPK(key)), "sk": str(findingSK)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get finding %s from table %s: %w", key, s.table, err)
	}
	if len(out.Item) == 0 {
		return nil, fmt.Errorf("get finding %s: %w", key, finding.ErrNotFound)
	}
	return decode(out.Item)
}

// decode reads a finding item: the body, with the version attribute.
func decode(item map[string]types.AttributeValue) (*finding.Finding, error) {
	pk, _ := item["pk"].(*types.AttributeValueMemberS)
	name := "?"
	if pk != nil {
		name = pk.Value
	}
	body, ok := item["body"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, fmt.Errorf("decode finding item %s: no body", name)
	}
	var f finding.Finding
	if err := json.Unmarshal([]byte(body.Value), &f); err != nil {
		return nil, fmt.Errorf("decode finding item %s: %w", name, err)
	}
	v, err := number(item, "version")
	if err != nil {
		return nil, fmt.Errorf("decode finding item %s: %w", name, err)
	}
	f.Version = v
	return &f, nil
}

func number(item map[string]types.AttributeValue, name string) (int64, error) {
	a, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s missing or not a number", name)
	}
	n, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return n, nil
}

// encode makes the item for f at the given version.
func encode(f *finding.Finding, version int64) (map[string]types.AttributeValue, error) {
	if err := f.Key.Validate(); err != nil {
		return nil, err
	}
	next := *f
	next.Version = version
	b, err := json.Marshal(&next)
	if err != nil {
		return nil, fmt.Errorf("encode finding %s: %w", f.Key, err)
	}
	return map[string]types.AttributeValue{
		"pk":          str(findingPK(f.Key)),
		"sk":          str(findingSK),
		"status":      str(string(f.Status)),
		"version":     num(version),
		"cloud":       str(f.Key.Cloud),
		"account":     str(f.Key.Account),
		"resource_id": str(f.Key.ResourceID),
		"rule_id":     str(f.Key.RuleID),
		"severity":    str(f.Severity),
		"last_seen":   str(f.LastSeen.UTC().Format(time.RFC3339Nano)),
		"body":        str(string(b)),
	}, nil
}

// conditionFailed reports whether err is DynamoDB refusing a write because
// its condition did not hold.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// Insert stores f if its key is new and sets f.Version to 1.
func (s *Store) Insert(ctx context.Context, f *finding.Finding) error {
	item, err := encode(f, 1)
	if err != nil {
		return fmt.Errorf("insert finding: %w", err)
	}
	_, err = s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if conditionFailed(err) {
		return fmt.Errorf("insert finding %s: %w", f.Key, finding.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("insert finding %s into table %s: %w", f.Key, s.table, err)
	}
	f.Version = 1
	return nil
}

// Update replaces the finding if the stored version is f.Version, and
// increments f.Version.
func (s *Store) Update(ctx context.Context, f *finding.Finding) error {
	item, err := encode(f, f.Version+1)
	if err != nil {
		return fmt.Errorf("update finding: %w", err)
	}
	_, err = s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(f.Version)},
	})
	if conditionFailed(err) {
		return fmt.Errorf("update finding %s at version %d: %w", f.Key, f.Version, finding.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update finding %s in table %s: %w", f.Key, s.table, err)
	}
	f.Version++
	return nil
}

// List yields the findings with the status in key order, from the status
// index (eventually consistent: a write of the last second may be missing).
func (s *Store) List(ctx context.Context, status finding.Status) iter.Seq2[*finding.Finding, error] {
	return func(yield func(*finding.Finding, error) bool) {
		p := dynamodb.NewQueryPaginator(s.api, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(StatusIndex),
			KeyConditionExpression:    aws.String("#s = :s"),
			ExpressionAttributeNames:  map[string]string{"#s": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(string(status))},
			Limit:                     aws.Int32(pageSize),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(nil, fmt.Errorf("list %s findings in table %s: %w", status, s.table, err))
				return
			}
			for _, item := range page.Items {
				f, err := decode(item)
				if err != nil {
					err = fmt.Errorf("list %s findings: %w", status, err)
				}
				if !yield(f, err) || err != nil {
					return
				}
			}
		}
	}
}

// Seen reports whether the event ID is marked and the mark has not expired.
func (s *Store) Seen(ctx context.Context, eventID string) (bool, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{"pk": str(seenPK(eventID)), "sk": str(seenSK)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("look up event mark %s in table %s: %w", eventID, s.table, err)
	}
	if len(out.Item) == 0 {
		return false, nil
	}
	exp, err := number(out.Item, TTLAttribute)
	if err != nil {
		return false, fmt.Errorf("read event mark %s: %w", eventID, err)
	}
	return exp > s.now().Unix(), nil
}

// MarkSeen marks the event ID for ttl (rounded up to whole seconds) unless
// an unexpired mark exists, and reports whether it made the mark.
func (s *Store) MarkSeen(ctx context.Context, eventID string, ttl time.Duration) (bool, error) {
	now := s.now()
	exp := now.Add(ttl)
	expSec := exp.Unix()
	if exp.After(time.Unix(expSec, 0)) {
		expSec++
	}
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			"pk": str(seenPK(eventID)), "sk": str(seenSK), TTLAttribute: num(expSec),
		},
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #e <= :now"),
		ExpressionAttributeNames:  map[string]string{"#e": TTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark event %s seen in table %s: %w", eventID, s.table, err)
	}
	return true, nil
}

// tableAPI is the part of the DynamoDB client CreateTable calls.
type tableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTable creates the table with the layout the store needs (on-demand
// billing, the status index, TTL on expires_at), waits until it is active
// and enables TTL. A table that already exists is accepted if it has the
// status index (so a retried call, or a second start, succeeds). It is for
// tests and local setups; deployments declare the same table in
// template.yaml.
func CreateTable(ctx context.Context, api tableAPI, table string) error {
	str := types.ScalarAttributeTypeS
	_, err := api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: str},
			{AttributeName: aws.String("sk"), AttributeType: str},
			{AttributeName: aws.String("status"), AttributeType: str},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(StatusIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("status"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("pk"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	out, err := dynamodb.NewTableExistsWaiter(api).WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 5*time.Minute)
	if err != nil {
		return fmt.Errorf("wait for table %s: %w", table, err)
	}
	if !slices.ContainsFunc(out.Table.GlobalSecondaryIndexes, func(i types.GlobalSecondaryIndexDescription) bool {
		return aws.ToString(i.IndexName) == StatusIndex
	}) {
		return fmt.Errorf("table %s exists without the %s index", table, StatusIndex)
	}
	_, err = api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on table %s: %w", table, err)
	}
	return nil
}
