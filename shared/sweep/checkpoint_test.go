package sweep

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/shared/state/dynamo"
)

// checkpointContract checks what every Checkpoints must do.
func checkpointContract(t *testing.T, c Checkpoints) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	steps := []struct {
		name   string
		put    time.Time
		want   time.Time
		wantOK bool
	}{
		{name: "none yet", wantOK: false},
		{name: "first put", put: t0, want: t0, wantOK: true},
		{name: "an older time does not move it back", put: t0.Add(-time.Hour), want: t0, wantOK: true},
		{name: "the same time is kept", put: t0, want: t0, wantOK: true},
		{name: "a newer time moves it", put: t0.Add(time.Nanosecond), want: t0.Add(time.Nanosecond), wantOK: true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if !s.put.IsZero() {
				if err := c.Put(ctx, "a/123456789012/us-east-1", s.put); err != nil {
					t.Fatalf("Put: %v", err)
				}
			}
			got, ok, err := c.Get(ctx, "a/123456789012/us-east-1")
			if err != nil || ok != s.wantOK || !got.Equal(s.want) {
				t.Fatalf("Get = %v, %v, %v; want %v, %v", got, ok, err, s.want, s.wantOK)
			}
		})
	}
	t.Run("names are independent", func(t *testing.T) {
		if _, ok, err := c.Get(ctx, "a/123456789012/eu-west-1"); ok || err != nil {
			t.Fatalf("Get of another name = %v, %v", ok, err)
		}
	})
}

func TestMemoryCheckpoints(t *testing.T) {
	checkpointContract(t, &MemoryCheckpoints{})
}

func TestSQLiteCheckpoints(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "findings.db")
	c, err := OpenSQLiteCheckpoints(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	checkpointContract(t, c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// A second open of the same file sees what the first stored.
	c2, err := OpenSQLiteCheckpoints(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, ok, err := c2.Get(ctx, "a/123456789012/us-east-1"); !ok || err != nil {
		t.Fatalf("reopened Get = %v, %v; want the stored checkpoint", ok, err)
	}
}

func TestDynamoCheckpointsAgainstMoto(t *testing.T) {
	ctx := context.Background()
	srv := moto(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	if err := dynamo.CreateTable(ctx, db, "findings"); err != nil {
		t.Fatal(err)
	}
	checkpointContract(t, NewDynamoCheckpoints(db, "findings"))
}
