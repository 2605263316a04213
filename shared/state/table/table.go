// Package table stores findings in one Azure Table Storage table
// (github.com/Azure/azure-sdk-for-go/sdk/data/aztables), for the Azure
// function. It is the Azure counterpart of shared/state/dynamo.
//
// Entities (PartitionKey, RowKey):
//
//	"finding", enc(<key>)       Key, Status, Version (Int64), Cloud, Account, ResourceID,
//	                            RuleID, Severity, LastSeen (DateTime), BodyParts (Int32),
//	                            Body0..BodyN (the finding as JSON, in chunks)
//	"seen",    enc(<event ID>)  EventID, ExpiresAt (DateTime)
//
// enc escapes the characters keys may not hold (/ \ # ? and control
// characters) with an order-preserving code, so RowKey order is key order
// and List is one query on the "finding" partition filtered by Status,
// which the service answers in RowKey order. A finding in one partition is
// strongly consistent and allows about 2,000 entity operations a second,
// far above what change events need. Strings are at most 64 KiB, so the
// JSON body (ASCII: other characters are \u escapes) is split into Body0,
// Body1, ... (an entity holds at most 1 MiB).
//
// Conditional writes: Insert is AddEntity, which fails with
// EntityAlreadyExists when the key is taken. Table Storage has no
// "update if this column has that value", only If-Match on the entity's
// ETag, so the finding's Version is kept as a column and each ETag is tied
// to the version it was read or written at: Update sends If-Match with the
// ETag of f.Version, a 412 is ErrConflict. The store remembers the ETag of
// the versions it last read or wrote (bounded), so the usual Get-then-Update
// costs one round trip each; with no remembered ETag Update reads the
// entity first and refuses when its version is not f.Version. Either way
// the write only lands on the exact entity whose version was checked.
//
// Event marks have an ExpiresAt column. Table Storage has no TTL: reads
// compare ExpiresAt with the clock, MarkSeen overwrites an expired mark
// (If-Match, so two processes cannot both take it) and PurgeExpired, also
// run every few hundred marks, deletes expired ones.
package table

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/driftwatch/driftwatch/shared/finding"
)

// Partition keys and the default table name.
const (
	// FindingPartition holds the findings.
	FindingPartition = "finding"
	// SeenPartition holds the event marks.
	SeenPartition = "seen"
	// DefaultTable is the table name the Bicep deployment creates.
	DefaultTable = "findings"
)

const (
	pageSize = 100
	// chunkBytes bounds one Body property: a string property holds at most
	// 64 KiB of UTF-16, and the body is ASCII (one code unit a byte).
	chunkBytes = 30 * 1024
	// maxChunks keeps an entity under the 1 MiB limit (strings count two
	// bytes a character) with room for its other columns: 15 chunks of 30 Ki
	// characters are 900 KiB.
	maxChunks = 15
	// defaultPurgeEvery is how many MarkSeen calls pass between two purges
	// of expired marks.
	defaultPurgeEvery = 512
	// etagCacheSize bounds the remembered ETags.
	etagCacheSize = 4096
	markAttempts  = 4
)

// tableAPI is the part of the table client the store calls.
type tableAPI interface {
	AddEntity(ctx context.Context, entity []byte, opts *aztables.AddEntityOptions) (aztables.AddEntityResponse, error)
	GetEntity(ctx context.Context, partitionKey, rowKey string, opts *aztables.GetEntityOptions) (aztables.GetEntityResponse, error)
	UpdateEntity(ctx context.Context, entity []byte, opts *aztables.UpdateEntityOptions) (aztables.UpdateEntityResponse, error)
	DeleteEntity(ctx context.Context, partitionKey, rowKey string, opts *aztables.DeleteEntityOptions) (aztables.DeleteEntityResponse, error)
	NewListEntitiesPager(opts *aztables.ListEntitiesOptions) *runtime.Pager[aztables.ListEntitiesResponse]
}

var _ tableAPI = (*aztables.Client)(nil)

// Options tune a Store. The zero value is usable.
type Options struct {
	// Now is the clock for event-mark expiry (default time.Now).
	Now func() time.Time
	// PurgeEvery is how many MarkSeen calls pass between two runs of
	// PurgeExpired (default 512; negative never purges).
	PurgeEvery int
}

// Store is a finding.Store in one Azure Table Storage table. It is safe for
// concurrent use.
type Store struct {
	api        tableAPI
	now        func() time.Time
	purgeEvery int64
	marks      atomic.Int64
	etags      etagCache
}

var _ finding.Store = (*Store)(nil)

// New returns a store in the table api reaches (an *aztables.Client, from
// aztables.NewServiceClient(...).NewClient(name)), which must exist: see
// CreateTable.
func New(api tableAPI, opts Options) *Store {
	s := &Store{api: api, now: opts.Now, purgeEvery: int64(opts.PurgeEvery)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.purgeEvery == 0 {
		s.purgeEvery = defaultPurgeEvery
	}
	s.etags.m = map[string]versionETag{}
	return s
}

// tableCreator is the part of the table client CreateTable calls.
type tableCreator interface {
	CreateTable(ctx context.Context, opts *aztables.CreateTableOptions) (aztables.CreateTableResponse, error)
}

// CreateTable creates the table; one that exists already is accepted. It is
// for tests and local setups: deployments declare the table in Bicep.
func CreateTable(ctx context.Context, api tableCreator) error {
	_, err := api.CreateTable(ctx, nil)
	if err != nil && !hasCode(err, aztables.TableAlreadyExists) {
		return fmt.Errorf("create findings table: %w", err)
	}
	return nil
}

// hasCode reports whether err is a service error with one of the codes.
func hasCode(err error, codes ...aztables.TableErrorCode) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	for _, c := range codes {
		if re.ErrorCode == string(c) {
			return true
		}
	}
	return false
}

// hasStatus reports whether err is a service error with the HTTP status.
func hasStatus(err error, status int) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == status
}

// entityMissing: the entity (not the table) does not exist.
func entityMissing(err error) bool {
	return hasCode(err, aztables.EntityNotFound, aztables.ResourceNotFound)
}

// preconditionFailed: If-Match named another ETag than the stored one.
func preconditionFailed(err error) bool {
	return hasCode(err, aztables.UpdateConditionNotSatisfied) || hasStatus(err, http.StatusPreconditionFailed)
}

// Get returns the finding with the key.
func (s *Store) Get(ctx context.Context, key finding.Key) (*finding.Finding, error) {
	rk := encodeKey(key.String())
	resp, err := s.api.GetEntity(ctx, FindingPartition, rk, nil)
	if entityMissing(err) {
		return nil, fmt.Errorf("get finding %s: %w", key, finding.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get finding %s from the findings table: %w", key, err)
	}
	f, err := decode(resp.Value)
	if err != nil {
		return nil, err
	}
	s.etags.put(rk, f.Version, resp.ETag)
	return f, nil
}

// Insert stores f if its key is new and sets f.Version to 1.
func (s *Store) Insert(ctx context.Context, f *finding.Finding) error {
	body, err := encode(f, 1)
	if err != nil {
		return fmt.Errorf("insert finding: %w", err)
	}
	resp, err := s.api.AddEntity(ctx, body, nil)
	if hasCode(err, aztables.EntityAlreadyExists) {
		return fmt.Errorf("insert finding %s: %w", f.Key, finding.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("insert finding %s into the findings table: %w", f.Key, err)
	}
	f.Version = 1
	s.etags.put(encodeKey(f.Key.String()), 1, resp.ETag)
	return nil
}

// Update replaces the finding if the stored version is f.Version, and
// increments f.Version.
func (s *Store) Update(ctx context.Context, f *finding.Finding) error {
	body, err := encode(f, f.Version+1)
	if err != nil {
		return fmt.Errorf("update finding: %w", err)
	}
	rk := encodeKey(f.Key.String())
	etag, ok := s.etags.get(rk, f.Version)
	if !ok {
		resp, err := s.api.GetEntity(ctx, FindingPartition, rk, nil)
		if entityMissing(err) {
			return fmt.Errorf("update finding %s at version %d: none stored: %w", f.Key, f.Version, finding.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("read finding %s to update it: %w", f.Key, err)
		}
		cur, err := decode(resp.Value)
		if err != nil {
			return err
		}
		if cur.Version != f.Version {
			return fmt.Errorf("update finding %s at version %d: stored version is %d: %w", f.Key, f.Version, cur.Version, finding.ErrConflict)
		}
		etag = resp.ETag
	}
	resp, err := s.api.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
	if preconditionFailed(err) || entityMissing(err) {
		s.etags.drop(rk)
		return fmt.Errorf("update finding %s at version %d: %w", f.Key, f.Version, finding.ErrConflict)
	}
	if err != nil {
		s.etags.drop(rk)
		return fmt.Errorf("update finding %s in the findings table: %w", f.Key, err)
	}
	f.Version++
	s.etags.put(rk, f.Version, resp.ETag)
	return nil
}

// List yields the findings with the status in key order.
func (s *Store) List(ctx context.Context, status finding.Status) iter.Seq2[*finding.Finding, error] {
	return func(yield func(*finding.Finding, error) bool) {
		p := s.api.NewListEntitiesPager(&aztables.ListEntitiesOptions{
			Filter: to.Ptr(fmt.Sprintf("PartitionKey eq '%s' and Status eq '%s'", FindingPartition, quote(string(status)))),
			Top:    to.Ptr(int32(pageSize)),
		})
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(nil, fmt.Errorf("list %s findings in the findings table: %w", status, err))
				return
			}
			for _, e := range page.Entities {
				f, err := decode(e)
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

// quote escapes a string for an OData literal.
func quote(s string) string { return strings.ReplaceAll(s, "'", "''") }

// Seen reports whether the event ID is marked and the mark has not expired.
func (s *Store) Seen(ctx context.Context, eventID string) (bool, error) {
	resp, err := s.api.GetEntity(ctx, SeenPartition, encodeKey(eventID), nil)
	if entityMissing(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up event mark %s in the findings table: %w", eventID, err)
	}
	exp, err := expiresAt(resp.Value)
	if err != nil {
		return false, fmt.Errorf("read event mark %s: %w", eventID, err)
	}
	return exp.After(s.now()), nil
}

// MarkSeen marks the event ID for ttl unless an unexpired mark exists, and
// reports whether it made the mark. Every few hundred calls it also deletes
// expired marks; should that fail, it returns true with the error.
func (s *Store) MarkSeen(ctx context.Context, eventID string, ttl time.Duration) (bool, error) {
	first, err := s.mark(ctx, eventID, ttl)
	if err != nil || !first {
		return first, err
	}
	if s.purgeEvery > 0 && s.marks.Add(1)%s.purgeEvery == 0 {
		if _, err := s.PurgeExpired(ctx); err != nil {
			return true, err
		}
	}
	return true, nil
}

func (s *Store) mark(ctx context.Context, eventID string, ttl time.Duration) (bool, error) {
	rk := encodeKey(eventID)
	for range markAttempts {
		now := s.now()
		body, err := json.Marshal(aztables.EDMEntity{
			Entity: aztables.Entity{PartitionKey: SeenPartition, RowKey: rk},
			Properties: map[string]any{
				"EventID":   eventID,
				"ExpiresAt": aztables.EDMDateTime(now.Add(ttl).UTC()),
			},
		})
		if err != nil {
			return false, fmt.Errorf("encode event mark %s: %w", eventID, err)
		}
		_, err = s.api.AddEntity(ctx, body, nil)
		if err == nil {
			return true, nil
		}
		if !hasCode(err, aztables.EntityAlreadyExists) {
			return false, fmt.Errorf("mark event %s seen in the findings table: %w", eventID, err)
		}
		// Marked before: take the mark over if it expired, on the ETag
		// read, so that one process only wins a race for it.
		resp, err := s.api.GetEntity(ctx, SeenPartition, rk, nil)
		if entityMissing(err) {
			continue // purged meanwhile: add it again
		}
		if err != nil {
			return false, fmt.Errorf("read event mark %s: %w", eventID, err)
		}
		exp, err := expiresAt(resp.Value)
		if err != nil {
			return false, fmt.Errorf("read event mark %s: %w", eventID, err)
		}
		if exp.After(now) {
			return false, nil
		}
		_, err = s.api.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &resp.ETag, UpdateMode: aztables.UpdateModeReplace})
		if err == nil {
			return true, nil
		}
		if !preconditionFailed(err) && !entityMissing(err) {
			return false, fmt.Errorf("renew expired event mark %s: %w", eventID, err)
		}
		// Someone renewed or purged it first: look again.
	}
	return false, fmt.Errorf("mark event %s seen: the mark kept changing: %w", eventID, finding.ErrContention)
}

// PurgeExpired deletes the expired event marks and returns how many. A mark
// renewed while the purge runs is kept (each delete is conditional on the
// ETag listed).
func (s *Store) PurgeExpired(ctx context.Context) (int64, error) {
	now := s.now().UTC()
	p := s.api.NewListEntitiesPager(&aztables.ListEntitiesOptions{
		Filter: to.Ptr(fmt.Sprintf("PartitionKey eq '%s' and ExpiresAt le datetime'%s'", SeenPartition, now.Format(time.RFC3339Nano))),
		Select: to.Ptr("PartitionKey,RowKey,ExpiresAt"),
		Top:    to.Ptr(int32(pageSize)),
	})
	var n int64
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("list expired event marks: %w", err)
		}
		for _, raw := range page.Entities {
			var e aztables.EDMEntity
			if err := json.Unmarshal(raw, &e); err != nil {
				return n, fmt.Errorf("decode event mark: %w", err)
			}
			etag := azcore.ETag(e.ETag)
			opts := &aztables.DeleteEntityOptions{IfMatch: &etag}
			if e.ETag == "" {
				opts = nil // the service always sends it; without one, delete unconditionally
			}
			_, err := s.api.DeleteEntity(ctx, SeenPartition, e.RowKey, opts)
			switch {
			case err == nil:
				n++
			case preconditionFailed(err) || entityMissing(err):
				// renewed or purged by someone else
			default:
				return n, fmt.Errorf("delete expired event mark %s: %w", e.RowKey, err)
			}
		}
	}
	return n, nil
}

// expiresAt reads the ExpiresAt column of an event mark.
func expiresAt(raw []byte) (time.Time, error) {
	var e aztables.EDMEntity
	if err := json.Unmarshal(raw, &e); err != nil {
		return time.Time{}, fmt.Errorf("decode entity: %w", err)
	}
	v, ok := e.Properties["ExpiresAt"].(aztables.EDMDateTime)
	if !ok {
		return time.Time{}, fmt.Errorf("column ExpiresAt missing or not a DateTime (%T)", e.Properties["ExpiresAt"])
	}
	return time.Time(v), nil
}

// encode makes the entity for f at the given version.
func encode(f *finding.Finding, version int64) ([]byte, error) {
	if err := f.Key.Validate(); err != nil {
		return nil, err
	}
	next := *f
	next.Version = version
	b, err := json.Marshal(&next)
	if err != nil {
		return nil, fmt.Errorf("encode finding %s: %w", f.Key, err)
	}
	chunks := split(asciiJSON(b), chunkBytes)
	if len(chunks) > maxChunks {
		return nil, fmt.Errorf("encode finding %s: %d bytes of JSON, more than an entity holds", f.Key, len(b))
	}
	props := map[string]any{
		"Key":        f.Key.String(),
		"Status":     string(f.Status),
		"Version":    aztables.EDMInt64(version),
		"Cloud":      f.Key.Cloud,
		"Account":    f.Key.Account,
		"ResourceID": f.Key.ResourceID,
		"RuleID":     f.Key.RuleID,
		"Severity":   f.Severity,
		"LastSeen":   aztables.EDMDateTime(f.LastSeen.UTC()),
		"BodyParts":  int32(len(chunks)),
	}
	for i, c := range chunks {
		props[fmt.Sprintf("Body%d", i)] = c
	}
	out, err := json.Marshal(aztables.EDMEntity{
		Entity:     aztables.Entity{PartitionKey: FindingPartition, RowKey: encodeKey(f.Key.String())},
		Properties: props,
	})
	if err != nil {
		return nil, fmt.Errorf("encode finding %s: %w", f.Key, err)
	}
	return out, nil
}

// asciiJSON rewrites JSON with every non-ASCII character escaped as \uXXXX
// (in JSON they occur only inside strings, so the document means the same).
// An ASCII body makes a chunk's size in UTF-16 exact, and survives Azurite
// (3.35), which garbles multi-byte characters that straddle the chunks of a
// large request or response body.
func asciiJSON(b []byte) string {
	var out strings.Builder
	out.Grow(len(b))
	for _, r := range string(b) {
		if r < utf8.RuneSelf {
			out.WriteByte(byte(r))
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, "\\u%04x", u)
		}
	}
	return out.String()
}

// split cuts s into pieces of at most n bytes, at rune boundaries.
func split(s string, n int) []string {
	var out []string
	for len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return append(out, s)
}

// decode reads a finding entity: the body chunks, with the Version column.
func decode(raw []byte) (*finding.Finding, error) {
	var e aztables.EDMEntity
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("decode finding entity: %w", err)
	}
	name, _ := e.Properties["Key"].(string)
	parts, ok := e.Properties["BodyParts"].(int32)
	if !ok || parts < 1 {
		return nil, fmt.Errorf("decode finding entity %s: column BodyParts missing or not a positive Int32", name)
	}
	var body strings.Builder
	for i := range int(parts) {
		c, ok := e.Properties[fmt.Sprintf("Body%d", i)].(string)
		if !ok {
			return nil, fmt.Errorf("decode finding entity %s: column Body%d missing", name, i)
		}
		body.WriteString(c)
	}
	var f finding.Finding
	if err := json.Unmarshal([]byte(body.String()), &f); err != nil {
		return nil, fmt.Errorf("decode finding entity %s: %w", name, err)
	}
	v, ok := e.Properties["Version"].(aztables.EDMInt64)
	if !ok {
		return nil, fmt.Errorf("decode finding entity %s: column Version missing or not an Int64", name)
	}
	f.Version = int64(v)
	return &f, nil
}

// versionETag is the ETag of a finding at a version.
type versionETag struct {
	version int64
	etag    azcore.ETag
}

// etagCache remembers, per RowKey, the ETag of the last version this store
// read or wrote. An entry only saves Update a read: a stale one makes the
// write fail its If-Match, never land on another version.
type etagCache struct {
	mu sync.Mutex
	m  map[string]versionETag
}

func (c *etagCache) get(rk string, version int64) (azcore.ETag, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[rk]
	if !ok || v.version != version {
		return "", false
	}
	return v.etag, true
}

func (c *etagCache) put(rk string, version int64, etag azcore.ETag) {
	if etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[rk]; !ok && len(c.m) >= etagCacheSize {
		for k := range c.m { // evict an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[rk] = versionETag{version, etag}
}

func (c *etagCache) drop(rk string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, rk)
}
