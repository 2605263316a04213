package baseline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/state/dynamo"
)

// moto is the server the integration tests share.
var moto *mototest.Server

func TestMain(m *testing.M) {
	s, err := mototest.Launch()
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline tests need moto:", err)
		os.Exit(1)
	}
	moto = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

var tables atomic.Int64

// stores are the Store implementations under test, each fresh.
func stores(t *testing.T) map[string]func(t *testing.T) Store {
	return map[string]func(t *testing.T) Store{
		"sqlite": func(t *testing.T) Store {
			s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "driftwatch.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"sqlite-memory": func(t *testing.T) Store {
			s, err := OpenSQLite(context.Background(), Memory)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"dynamodb": func(t *testing.T) Store {
			ctx := context.Background()
			cfg, err := moto.Config(ctx)
			if err != nil {
				t.Fatal(err)
			}
			client := dynamodb.NewFromConfig(cfg)
			name := fmt.Sprintf("baseline-test-%d", tables.Add(1))
			if err := dynamo.CreateTable(ctx, client, name); err != nil {
				t.Fatal(err)
			}
			return NewDynamo(client, name)
		},
	}
}

func TestStores(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			if _, err := s.Get(ctx, sg.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get of a missing baseline: %v, want ErrNotFound", err)
			}
			b := &Baseline{Ref: sg, Doc: map[string]any{"IpPermissions": []any{map[string]any{"FromPort": int64(443)}}, "Flag": true},
				Tags: map[string]string{"team": "web"}, ApprovedBy: "cli:alice", ApprovedAt: at, Note: "first"}
			if err := s.Put(ctx, b); err != nil || b.Version != 1 {
				t.Fatalf("first Put: %v, version %d", err, b.Version)
			}
			got, err := s.Get(ctx, sg.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, b) {
				t.Errorf("Get after Put:\n got %#v\nwant %#v", got, b)
			}
			stale := &Baseline{Ref: sg, Doc: map[string]any{}, ApprovedBy: "cli:mallory", ApprovedAt: at}
			if err := s.Put(ctx, stale); !errors.Is(err, ErrConflict) {
				t.Fatalf("insert over an existing baseline: %v, want ErrConflict", err)
			}
			stale.Version = 7
			if err := s.Put(ctx, stale); !errors.Is(err, ErrConflict) {
				t.Fatalf("update at a wrong version: %v, want ErrConflict", err)
			}
			next := *got
			next.ApprovedBy, next.Doc = "cli:bob", map[string]any{"Flag": false}
			if err := s.Put(ctx, &next); err != nil || next.Version != 2 {
				t.Fatalf("update at the stored version: %v, version %d", err, next.Version)
			}
			got, err = s.Get(ctx, sg.ID)
			if err != nil || got.ApprovedBy != "cli:bob" || got.Doc["Flag"] != false || got.Version != 2 {
				t.Fatalf("after update: %+v, %v", got, err)
			}
		})
	}
}

// TestConcurrentApprovals checks that approvals racing on one resource all
// land, one after the other (none lost to a blind overwrite).
func TestConcurrentApprovals(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			const n = 6
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					res := liveSG(fmt.Sprintf("by-%d", i))
					if _, err := Approve(context.Background(), s, res, fmt.Sprintf("cli:u%d", i), "", at); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			got, err := s.Get(context.Background(), sg.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != n {
				t.Errorf("version %d after %d approvals, want %d", got.Version, n, n)
			}
		})
	}
}
