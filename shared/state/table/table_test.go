package table

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/driftwatch/driftwatch/internal/azuritetest"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/state/statetest"
)

// azurite is the emulator the integration tests share; each test makes its
// own table.
var azurite *azuritetest.Server

func TestMain(m *testing.M) {
	s, err := azuritetest.Launch()
	if err != nil {
		fmt.Fprintln(os.Stderr, "table store tests need Azurite:", err)
		os.Exit(1)
	}
	azurite = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

var tables atomic.Int64

// newTable creates a fresh table on Azurite and returns a client for it.
func newTable(t *testing.T) *aztables.Client {
	t.Helper()
	svc, err := aztables.NewServiceClientFromConnectionString(azurite.ConnectionString(), &aztables.ClientOptions{
		ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: 1}},
	})
	if err != nil {
		t.Fatalf("table service client: %v", err)
	}
	client := svc.NewClient(fmt.Sprintf("findings%d", tables.Add(1)))
	if err := CreateTable(context.Background(), client); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return client
}

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T, now func() time.Time) finding.Store {
		return New(newTable(t), Options{Now: now})
	})
}

// TestConformanceWithoutETagCache runs the suite with every Update taking
// the read-then-If-Match path, as in a process that did not read the
// finding itself.
func TestConformanceWithoutETagCache(t *testing.T) {
	statetest.Run(t, func(t *testing.T, now func() time.Time) finding.Store {
		return &forgetful{New(newTable(t), Options{Now: now})}
	})
}

// forgetful drops the remembered ETags before every update.
type forgetful struct{ *Store }

func (f *forgetful) Update(ctx context.Context, fi *finding.Finding) error {
	f.etags.mu.Lock()
	clear(f.etags.m)
	f.etags.mu.Unlock()
	return f.Store.Update(ctx, fi)
}

func TestCreateTableTwice(t *testing.T) {
	client := newTable(t)
	if err := CreateTable(context.Background(), client); err != nil {
		t.Errorf("CreateTable of an existing table: %v", err)
	}
}

// TestEntityLayout checks the entities that other tools (Storage Explorer,
// queries by hand) rely on.
func TestEntityLayout(t *testing.T) {
	ctx := context.Background()
	client := newTable(t)
	clock := func() time.Time { return time.Unix(1_700_000_000, 0) }
	s := New(client, Options{Now: clock})
	k := finding.Key{Cloud: "azure", Account: "00000000-0000-0000-0000-000000000001",
		ResourceID: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1",
		RuleID:     "azure-storage-public-blob-access"}
	if err := s.Insert(ctx, statetest.Sample(k)); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if _, err := s.MarkSeen(ctx, "ev/1", 90*time.Minute); err != nil {
		t.Fatalf("MarkSeen: %v", err)
	}
	tests := []struct {
		pk, rk string
		want   map[string]any
	}{
		{FindingPartition, encodeKey(k.String()), map[string]any{
			"Key": k.String(), "Status": "open", "Version": aztables.EDMInt64(1), "RuleID": k.RuleID,
			"ResourceID": k.ResourceID, "Account": k.Account, "Cloud": "azure", "BodyParts": int32(1),
		}},
		{SeenPartition, "ev.11", map[string]any{
			"EventID": "ev/1", "ExpiresAt": aztables.EDMDateTime(time.Unix(1_700_005_400, 0).UTC()),
		}},
	}
	for _, tc := range tests {
		resp, err := client.GetEntity(ctx, tc.pk, tc.rk, nil)
		if err != nil {
			t.Fatalf("GetEntity(%s, %s): %v", tc.pk, tc.rk, err)
		}
		var e aztables.EDMEntity
		if err := json.Unmarshal(resp.Value, &e); err != nil {
			t.Fatal(err)
		}
		for name, want := range tc.want {
			got := e.Properties[name]
			if gt, ok := got.(aztables.EDMDateTime); ok {
				if !time.Time(gt).Equal(time.Time(want.(aztables.EDMDateTime))) {
					t.Errorf("%s/%s: %s = %v, want %v", tc.pk, tc.rk, name, time.Time(gt), time.Time(want.(aztables.EDMDateTime)))
				}
				continue
			}
			if got != want {
				t.Errorf("%s/%s: %s = %#v, want %#v", tc.pk, tc.rk, name, got, want)
			}
		}
	}
}

// TestLargeFinding stores a finding whose JSON exceeds one string property
// (64 KiB of UTF-16) and reads it back whole.
func TestLargeFinding(t *testing.T) {
	ctx := context.Background()
	s := New(newTable(t), Options{})
	k := finding.Key{Cloud: "aws", Account: "123456789012", ResourceID: "arn:aws:s3:::big", RuleID: "r"}
	f := statetest.Sample(k)
	f.Message = strings.Repeat("é€𝄞x", 10_000) // 250 KB as escaped JSON: several Body properties
	if err := s.Insert(ctx, f); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	got, err := s.Get(ctx, k)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Message != f.Message {
		t.Errorf("message of %d bytes read back as %d bytes", len(f.Message), len(got.Message))
	}
	f.Message = "short again"
	if err := s.Update(ctx, f); err != nil {
		t.Fatalf("Update to a small body: %v", err)
	}
	if got, err := s.Get(ctx, k); err != nil || got.Message != "short again" {
		t.Errorf("Get after shrinking = %v, %v", got, err)
	}
	f.Message = strings.Repeat("x", 2<<20)
	if err := s.Update(ctx, f); err == nil || errors.Is(err, finding.ErrConflict) {
		t.Errorf("Update with 2 MiB of JSON: %v, want a size error", err)
	}
}

func TestLongKeys(t *testing.T) {
	ctx := context.Background()
	s := New(newTable(t), Options{})
	base := "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/" + strings.Repeat("rg", 300)
	var keys []finding.Key
	for i := range 3 {
		k := finding.Key{Cloud: "azure", Account: "sub", ResourceID: fmt.Sprintf("%s/r%d", base, i), RuleID: "rule"}
		keys = append(keys, k)
		if err := s.Insert(ctx, statetest.Sample(k)); err != nil {
			t.Fatalf("Insert long key %d: %v", i, err)
		}
	}
	for _, k := range keys {
		f, err := s.Get(ctx, k)
		if err != nil || f.Key != k {
			t.Errorf("Get(long key) = %v, %v", f, err)
		}
	}
	n := 0
	for _, err := range s.List(ctx, finding.StatusOpen) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(keys) {
		t.Errorf("List yielded %d long-key findings, want %d", n, len(keys))
	}
}

func TestPurgeExpired(t *testing.T) {
	ctx := context.Background()
	clock := statetest.NewClock()
	s := New(newTable(t), Options{Now: clock.Now, PurgeEvery: -1})
	for i := range 5 {
		if _, err := s.MarkSeen(ctx, fmt.Sprint("short", i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.MarkSeen(ctx, "long", time.Hour); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	n, err := s.PurgeExpired(ctx)
	if err != nil || n != 5 {
		t.Errorf("PurgeExpired = %d, %v; want 5", n, err)
	}
	if seen, _ := s.Seen(ctx, "long"); !seen {
		t.Error("unexpired mark purged")
	}
	if n, err := s.PurgeExpired(ctx); err != nil || n != 0 {
		t.Errorf("second PurgeExpired = %d, %v; want 0", n, err)
	}
	// A purged mark can be made again.
	if first, err := s.MarkSeen(ctx, "short0", time.Minute); err != nil || !first {
		t.Errorf("MarkSeen after purge = %v, %v; want true", first, err)
	}
}

func TestAutomaticPurge(t *testing.T) {
	ctx := context.Background()
	clock := statetest.NewClock()
	client := newTable(t)
	s := New(client, Options{Now: clock.Now, PurgeEvery: 3})
	if _, err := s.MarkSeen(ctx, "old", time.Minute); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	for _, id := range []string{"a", "b"} { // the third mark purges
		if _, err := s.MarkSeen(ctx, id, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.GetEntity(ctx, SeenPartition, encodeKey("old"), nil); !entityMissing(err) {
		t.Errorf("expired mark still stored after the automatic purge (GetEntity error %v)", err)
	}
}

// fakeTable fails every call with err.
type fakeTable struct{ err error }

var _ tableAPI = (*fakeTable)(nil)

func (f *fakeTable) AddEntity(context.Context, []byte, *aztables.AddEntityOptions) (aztables.AddEntityResponse, error) {
	return aztables.AddEntityResponse{}, f.err
}

func (f *fakeTable) GetEntity(context.Context, string, string, *aztables.GetEntityOptions) (aztables.GetEntityResponse, error) {
	return aztables.GetEntityResponse{}, f.err
}

func (f *fakeTable) UpdateEntity(context.Context, []byte, *aztables.UpdateEntityOptions) (aztables.UpdateEntityResponse, error) {
	return aztables.UpdateEntityResponse{}, f.err
}

func (f *fakeTable) DeleteEntity(context.Context, string, string, *aztables.DeleteEntityOptions) (aztables.DeleteEntityResponse, error) {
	return aztables.DeleteEntityResponse{}, f.err
}

func (f *fakeTable) NewListEntitiesPager(*aztables.ListEntitiesOptions) *runtime.Pager[aztables.ListEntitiesResponse] {
	return runtime.NewPager(runtime.PagingHandler[aztables.ListEntitiesResponse]{
		More: func(aztables.ListEntitiesResponse) bool { return false },
		Fetcher: func(context.Context, *aztables.ListEntitiesResponse) (aztables.ListEntitiesResponse, error) {
			return aztables.ListEntitiesResponse{}, f.err
		},
	})
}

func respErr(status int, code aztables.TableErrorCode) error {
	return &azcore.ResponseError{StatusCode: status, ErrorCode: string(code)}
}

func TestErrorClassification(t *testing.T) {
	ctx := context.Background()
	k := finding.Key{Cloud: "azure", Account: "sub", ResourceID: "/subscriptions/sub/x", RuleID: "r"}
	throttled := respErr(http.StatusServiceUnavailable, "ServerBusy")
	tableMissing := respErr(http.StatusNotFound, aztables.TableNotFound)
	tests := []struct {
		name    string
		err     error
		call    func(s *Store) error
		wantIs  error
		wantNot error
	}{
		{"insert refused", respErr(409, aztables.EntityAlreadyExists), func(s *Store) error { return s.Insert(ctx, statetest.Sample(k)) }, finding.ErrExists, nil},
		{"insert into a missing table", tableMissing, func(s *Store) error { return s.Insert(ctx, statetest.Sample(k)) }, tableMissing, finding.ErrExists},
		{"update of a missing finding", respErr(404, aztables.ResourceNotFound), func(s *Store) error { f := statetest.Sample(k); f.Version = 3; return s.Update(ctx, f) }, finding.ErrConflict, nil},
		{"update in a missing table", tableMissing, func(s *Store) error { f := statetest.Sample(k); f.Version = 3; return s.Update(ctx, f) }, tableMissing, finding.ErrConflict},
		{"update throttled", throttled, func(s *Store) error { return s.Update(ctx, statetest.Sample(k)) }, throttled, finding.ErrConflict},
		{"get missing", respErr(404, aztables.ResourceNotFound), func(s *Store) error { _, err := s.Get(ctx, k); return err }, finding.ErrNotFound, nil},
		{"get from a missing table", tableMissing, func(s *Store) error { _, err := s.Get(ctx, k); return err }, tableMissing, finding.ErrNotFound},
		{"seen missing", respErr(404, aztables.ResourceNotFound), func(s *Store) error {
			seen, err := s.Seen(ctx, "e")
			if seen {
				return errors.New("seen = true")
			}
			return err
		}, nil, nil},
		{"seen throttled", throttled, func(s *Store) error { _, err := s.Seen(ctx, "e"); return err }, throttled, nil},
		{"mark throttled", throttled, func(s *Store) error { _, err := s.MarkSeen(ctx, "e", time.Hour); return err }, throttled, nil},
		{"list throttled", throttled, func(s *Store) error {
			for _, err := range s.List(ctx, finding.StatusOpen) {
				return err
			}
			return nil
		}, throttled, nil},
		{"create existing table", respErr(409, aztables.TableAlreadyExists), func(*Store) error {
			return CreateTable(ctx, creator{respErr(409, aztables.TableAlreadyExists)})
		}, nil, nil},
		{"create refused", respErr(403, "AuthorizationFailure"), func(*Store) error {
			return CreateTable(ctx, creator{respErr(403, "AuthorizationFailure")})
		}, respErr(403, "AuthorizationFailure"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(New(&fakeTable{err: tc.err}, Options{}))
			if tc.wantIs == nil {
				if err != nil {
					t.Fatalf("error = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantIs) && !sameResponseError(err, tc.wantIs) {
				t.Errorf("error = %v, want it to wrap %v", err, tc.wantIs)
			}
			if tc.wantNot != nil && errors.Is(err, tc.wantNot) {
				t.Errorf("error = %v, must not be %v", err, tc.wantNot)
			}
		})
	}
}

// sameResponseError reports whether err wraps a response error with want's
// status and code.
func sameResponseError(err, want error) bool {
	var got, w *azcore.ResponseError
	return errors.As(err, &got) && errors.As(want, &w) && got.StatusCode == w.StatusCode && got.ErrorCode == w.ErrorCode
}

type creator struct{ err error }

func (c creator) CreateTable(context.Context, *aztables.CreateTableOptions) (aztables.CreateTableResponse, error) {
	return aztables.CreateTableResponse{}, c.err
}

// TestTwoProcesses shares a table between two stores, as two function
// instances do: an ETag one remembered goes stale when the other writes,
// and its update is refused instead of overwriting.
func TestTwoProcesses(t *testing.T) {
	ctx := context.Background()
	client := newTable(t)
	a, b := New(client, Options{}), New(client, Options{})
	k := finding.Key{Cloud: "azure", Account: "sub", ResourceID: "/subscriptions/sub/resourceGroups/rg", RuleID: "r"}
	fa := statetest.Sample(k)
	if err := a.Insert(ctx, fa); err != nil { // a remembers version 1
		t.Fatalf("Insert: %v", err)
	}
	fb, err := b.Get(ctx, k)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	fb.Message = "by b"
	if err := b.Update(ctx, fb); err != nil {
		t.Fatalf("b.Update: %v", err)
	}
	fa.Message = "by a"
	if err := a.Update(ctx, fa); !errors.Is(err, finding.ErrConflict) {
		t.Fatalf("a.Update of version 1 after b wrote version 2 = %v, want ErrConflict", err)
	}
	// a has no ETag for version 2: it reads, checks the version, writes.
	fa.Version = 2
	if err := a.Update(ctx, fa); err != nil {
		t.Fatalf("a.Update of version 2: %v", err)
	}
	// b's remembered ETag (version 2) is stale now.
	if err := b.Update(ctx, fb); !errors.Is(err, finding.ErrConflict) {
		t.Fatalf("b.Update of version 2 after a wrote version 3 = %v, want ErrConflict", err)
	}
	got, err := b.Get(ctx, k)
	if err != nil || got.Version != 3 || got.Message != "by a" {
		t.Fatalf("Get = %+v, %v; want version 3 by a", got, err)
	}
	// A version that was never stored is refused without a write.
	got.Version = 7
	if err := New(client, Options{}).Update(ctx, got); !errors.Is(err, finding.ErrConflict) {
		t.Errorf("Update of version 7 = %v, want ErrConflict", err)
	}
}
