package dynamo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/state/statetest"
)

// moto is the server the integration tests share; each test makes its own
// table.
var moto *mototest.Server

func TestMain(m *testing.M) {
	s, err := mototest.Launch()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dynamo tests need moto:", err)
		os.Exit(1)
	}
	moto = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

var tables atomic.Int64

// newTable creates a fresh table on moto and returns a client for it.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := moto.Config(ctx)
	if err != nil {
		t.Fatalf("moto config: %v", err)
	}
	client := dynamodb.NewFromConfig(cfg)
	name := fmt.Sprintf("driftwatch-test-%d", tables.Add(1))
	if err := CreateTable(ctx, client, name); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return client, name
}

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T, now func() time.Time) finding.Store {
		client, table := newTable(t)
		return New(client, table, Options{Now: now})
	})
}

func TestCreateTableLayout(t *testing.T) {
	ctx := context.Background()
	client, table := newTable(t)
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	if len(out.Table.GlobalSecondaryIndexes) != 1 || aws.ToString(out.Table.GlobalSecondaryIndexes[0].IndexName) != StatusIndex {
		t.Errorf("indexes = %+v, want %s", out.Table.GlobalSecondaryIndexes, StatusIndex)
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTimeToLive: %v", err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != TTLAttribute || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL = %+v, want enabled on %s", d, TTLAttribute)
	}
	if err := CreateTable(ctx, client, table); err != nil {
		t.Errorf("CreateTable of an existing table: %v", err)
	}
	// A table of the same name without the index is refused.
	if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table + "-bare"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	}); err != nil {
		t.Fatalf("create a bare table: %v", err)
	}
	if err := CreateTable(ctx, client, table+"-bare"); err == nil || !strings.Contains(err.Error(), "without the by-status index") {
		t.Errorf("CreateTable over a table without the index: %v", err)
	}
}

// TestItemLayout checks the items that other tools (the console, a
// template's TTL and index) rely on.
func TestItemLayout(t *testing.T) {
	ctx := context.Background()
	client, table := newTable(t)
	s := New(client, table, Options{Now: func() time.Time { return time.Unix(1_700_000_000, 0) }})
	k := finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: "arn:aws:s3:::logs", RuleID: "aws-s3-bucket-public-acl"}
	if err := s.Insert(ctx, statetest.Sample(k)); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if _, err := s.MarkSeen(ctx, "ev-1", 90*time.Minute); err != nil {
		t.Fatalf("MarkSeen: %v", err)
	}
	tests := []struct {
		pk, sk string
		want   map[string]string
	}{
		{"finding#aws/123456789012/arn:aws:s3:::logs/aws-s3-bucket-public-acl", "finding",
			map[string]string{"status": "open", "version": "1", "rule_id": "aws-s3-bucket-public-acl", "resource_id": "arn:aws:s3:::logs", "account": "123456789012"}},
		{"seen#ev-1", "seen", map[string]string{"expires_at": "1700005400"}},
	}
	for _, tc := range tests {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
			Key: map[string]types.AttributeValue{"pk": str(tc.pk), "sk": str(tc.sk)}})
		if err != nil || len(out.Item) == 0 {
			t.Fatalf("GetItem(%s): %v, %d attributes", tc.pk, err, len(out.Item))
		}
		for name, want := range tc.want {
			var got string
			switch v := out.Item[name].(type) {
			case *types.AttributeValueMemberS:
				got = v.Value
			case *types.AttributeValueMemberN:
				got = v.Value
			}
			if got != want {
				t.Errorf("%s: attribute %s = %q, want %q", tc.pk, name, got, want)
			}
		}
	}
}

// fakeDynamo fails every call with err.
type fakeDynamo struct{ err error }

var _ dynamoAPI = (*fakeDynamo)(nil)

func (f *fakeDynamo) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, f.err
}

func (f *fakeDynamo) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, f.err
}

func (f *fakeDynamo) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, f.err
}

func TestErrorClassification(t *testing.T) {
	ctx := context.Background()
	k := finding.Key{Cloud: "aws", Account: "1", ResourceID: "arn:aws:s3:::b", RuleID: "r"}
	throttled := &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Message: "slow down"}
	tests := []struct {
		name    string
		err     error
		call    func(s *Store) error
		wantIs  error
		wantNot error
	}{
		{"insert refused", &types.ConditionalCheckFailedException{}, func(s *Store) error { return s.Insert(ctx, statetest.Sample(k)) }, finding.ErrExists, nil},
		{"update refused", &types.ConditionalCheckFailedException{}, func(s *Store) error { f := statetest.Sample(k); f.Version = 3; return s.Update(ctx, f) }, finding.ErrConflict, nil},
		{"insert throttled", throttled, func(s *Store) error { return s.Insert(ctx, statetest.Sample(k)) }, throttled, finding.ErrExists},
		{"update throttled", throttled, func(s *Store) error { return s.Update(ctx, statetest.Sample(k)) }, throttled, finding.ErrConflict},
		{"get throttled", throttled, func(s *Store) error { _, err := s.Get(ctx, k); return err }, throttled, finding.ErrNotFound},
		{"mark refused", &types.ConditionalCheckFailedException{}, func(s *Store) error {
			first, err := s.MarkSeen(ctx, "e", time.Hour)
			if first {
				return errors.New("first = true")
			}
			return err
		}, nil, nil},
		{"mark throttled", throttled, func(s *Store) error { _, err := s.MarkSeen(ctx, "e", time.Hour); return err }, throttled, nil},
		{"list throttled", throttled, func(s *Store) error {
			for _, err := range s.List(ctx, finding.StatusOpen) {
				return err
			}
			return nil
		}, throttled, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(New(&fakeDynamo{err: tc.err}, "tbl", Options{}))
			if tc.wantIs == nil {
				if err != nil {
					t.Fatalf("error = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantIs) {
				t.Errorf("error = %v, want it to wrap %v", err, tc.wantIs)
			}
			if tc.wantNot != nil && errors.Is(err, tc.wantNot) {
				t.Errorf("error = %v, must not be %v", err, tc.wantNot)
			}
		})
	}
}
