// Package sqlite stores findings in one SQLite file through
// modernc.org/sqlite (pure Go, no cgo): the local default, for the CLI, the
// demo and single-host deployments.
//
// The database runs in WAL mode with a busy timeout, so several processes
// may share the file. The schema is created or migrated on Open (tracked
// with PRAGMA user_version). Conditional writes are single statements:
// INSERT ... ON CONFLICT DO NOTHING and UPDATE ... WHERE version = ?, whose
// affected-row count says whether they won.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/driftwatch/driftwatch/shared/finding"
)

// Memory is the path of a private in-memory database (one connection),
// for tests and one-off runs.
const Memory = ":memory:"

// Options tune a Store. The zero value is usable.
type Options struct {
	// BusyTimeout is how long a write waits for another writer's lock
	// before failing (default 5s).
	BusyTimeout time.Duration
	// Now is the clock for event-mark expiry (default time.Now).
	Now func() time.Time
}

// Store is a finding.Store in one SQLite database. It is safe for
// concurrent use.
type Store struct {
	db    *sql.DB
	now   func() time.Time
	marks atomic.Int64
}

var _ finding.Store = (*Store)(nil)

// purgeEvery is how many MarkSeen calls pass between two deletions of
// expired event marks.
const purgeEvery = 512

// pageSize is how many findings List reads per query.
const pageSize = 100

// migrations[i] moves the schema from user_version i to i+1.
var migrations = []string{
	`CREATE TABLE findings (
		key         TEXT PRIMARY KEY,
		status      TEXT NOT NULL,
		version     INTEGER NOT NULL,
		cloud       TEXT NOT NULL,
		account     TEXT NOT NULL,
		resource_id TEXT NOT NULL,
		rule_id     TEXT NOT NULL,
		severity    TEXT NOT NULL,
		last_seen   TEXT NOT NULL,
		body        TEXT NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX findings_by_status ON findings (status, key);
	CREATE TABLE seen (
		event_id   TEXT PRIMARY KEY,
		expires_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX seen_by_expiry ON seen (expires_at);`,
}

// Open opens (creating if needed) the database at path, or a private
// in-memory one for Memory, and migrates its schema.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open finding store: empty SQLite path")
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	pragmas := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate", busy.Milliseconds())
	dsn := "file:" + escapePath(path) + "?" + pragmas
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open finding store %s: %w", path, err)
	}
	if path == Memory {
		// Every connection to :memory: is its own database.
		db.SetMaxOpenConns(1)
	}
	s := &Store{db: db, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open finding store %s: %w", path, err)
	}
	return s, nil
}

// escapePath makes path safe inside a file: URI, where SQLite decodes %XX
// and a '?' or '#' would end the path.
func escapePath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin schema migration: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program's %d", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", i+1, err)
		}
	}
	if version < len(migrations) {
		// PRAGMA takes no bound parameters; the value is our own integer.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
			return fmt.Errorf("set schema version: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit schema migration: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close finding store: %w", err)
	}
	return nil
}

// Get returns the finding with the key.
func (s *Store) Get(ctx context.Context, key finding.Key) (*finding.Finding, error) {
	var (
		body    string
		version int64
	)
	err := s.db.QueryRowContext(ctx, "SELECT body, version FROM findings WHERE key = ?", key.String()).Scan(&body, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get finding %s: %w", key, finding.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get finding %s: %w", key, err)
	}
	return decode(key.String(), body, version)
}

func decode(key, body string, version int64) (*finding.Finding, error) {
	var f finding.Finding
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		return nil, fmt.Errorf("decode finding %s: %w", key, err)
	}
	f.Version = version
	return &f, nil
}

// row is the columns of one finding.
type row struct {
	key, status, cloud, account, resourceID, ruleID, severity, lastSeen, body string
}

func encode(f *finding.Finding) (row, error) {
	if err := f.Key.Validate(); err != nil {
		return row{}, err
	}
	b, err := json.Marshal(f)
	if err != nil {
		return row{}, fmt.Errorf("encode finding %s: %w", f.Key, err)
	}
	return row{
		key: f.Key.String(), status: string(f.Status), cloud: f.Key.Cloud, account: f.Key.Account,
		resourceID: f.Key.ResourceID, ruleID: f.Key.RuleID, severity: f.Severity,
		lastSeen: f.LastSeen.UTC().Format(time.RFC3339Nano), body: string(b),
	}, nil
}

// Insert stores f if its key is new and sets f.Version to 1.
func (s *Store) Insert(ctx context.Context, f *finding.Finding) error {
	next := *f
	next.Version = 1
	r, err := encode(&next)
	if err != nil {
		return fmt.Errorf("insert finding: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO findings
		(key, status, version, cloud, account, resource_id, rule_id, severity, last_seen, body)
		VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		r.key, r.status, r.cloud, r.account, r.resourceID, r.ruleID, r.severity, r.lastSeen, r.body)
	if err := changedOne(res, err, finding.ErrExists); err != nil {
		return fmt.Errorf("insert finding %s: %w", f.Key, err)
	}
	f.Version = 1
	return nil
}

// Update replaces the finding if the stored version is f.Version, and
// increments f.Version.
func (s *Store) Update(ctx context.Context, f *finding.Finding) error {
	next := *f
	next.Version = f.Version + 1
	r, err := encode(&next)
	if err != nil {
		return fmt.Errorf("update finding: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE findings SET
		status = ?, version = ?, severity = ?, last_seen = ?, body = ?
		WHERE key = ? AND version = ?`,
		r.status, next.Version, r.severity, r.lastSeen, r.body, r.key, f.Version)
	if err := changedOne(res, err, finding.ErrConflict); err != nil {
		return fmt.Errorf("update finding %s at version %d: %w", f.Key, f.Version, err)
	}
	f.Version = next.Version
	return nil
}

// changedOne turns a conditional write's result into nil when it changed a
// row, and into lost when its condition kept it from doing so.
func changedOne(res sql.Result, err error, lost error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("count affected rows: %w", err)
	}
	if n == 0 {
		return lost
	}
	return nil
}

// List yields the findings with the status in key order, reading a page
// at a time so that the caller may write to the store while iterating.
func (s *Store) List(ctx context.Context, status finding.Status) iter.Seq2[*finding.Finding, error] {
	return func(yield func(*finding.Finding, error) bool) {
		after := ""
		for {
			page, err := s.page(ctx, status, after)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, f := range page {
				if !yield(f, nil) {
					return
				}
			}
			if len(page) < pageSize {
				return
			}
			after = page[len(page)-1].Key.String()
		}
	}
}

func (s *Store) page(ctx context.Context, status finding.Status, after string) ([]*finding.Finding, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, body, version FROM findings
		WHERE status = ? AND key > ? ORDER BY key LIMIT ?`, string(status), after, pageSize)
	if err != nil {
		return nil, fmt.Errorf("list %s findings: %w", status, err)
	}
	defer rows.Close()
	var out []*finding.Finding
	for rows.Next() {
		var (
			key, body string
			version   int64
		)
		if err := rows.Scan(&key, &body, &version); err != nil {
			return nil, fmt.Errorf("list %s findings: %w", status, err)
		}
		f, err := decode(key, body, version)
		if err != nil {
			return nil, fmt.Errorf("list %s findings: %w", status, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s findings: %w", status, err)
	}
	return out, nil
}

// Seen reports whether the event ID is marked and the mark has not expired.
func (s *Store) Seen(ctx context.Context, eventID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM seen WHERE event_id = ? AND expires_at > ?",
		eventID, s.now().UnixMilli()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up event mark %s: %w", eventID, err)
	}
	return n > 0, nil
}

// MarkSeen marks the event ID for ttl unless an unexpired mark exists, and
// reports whether it made the mark. Every few hundred calls it also deletes
// expired marks; should that fail, it returns true with the error.
func (s *Store) MarkSeen(ctx context.Context, eventID string, ttl time.Duration) (bool, error) {
	now := s.now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO seen (event_id, expires_at) VALUES (?, ?)
		ON CONFLICT (event_id) DO UPDATE SET expires_at = excluded.expires_at WHERE seen.expires_at <= ?`,
		eventID, now.Add(ttl).UnixMilli(), now.UnixMilli())
	err = changedOne(res, err, errAlreadyMarked)
	if errors.Is(err, errAlreadyMarked) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark event %s seen: %w", eventID, err)
	}
	if s.marks.Add(1)%purgeEvery == 0 {
		if _, err := s.PurgeExpired(ctx); err != nil {
			return true, err
		}
	}
	return true, nil
}

var errAlreadyMarked = errors.New("event already marked")

// PurgeExpired deletes the expired event marks and returns how many.
func (s *Store) PurgeExpired(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM seen WHERE expires_at <= ?", s.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete expired event marks: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("count deleted event marks: %w", err)
	}
	return n, nil
}
