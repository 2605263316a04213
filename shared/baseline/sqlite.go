package baseline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Memory is the path of a private in-memory SQLite database.
const Memory = ":memory:"

// SQLiteStore keeps baselines in a table of a SQLite file, normally the
// findings' file (its own table, baselines, created if absent). It is safe
// for concurrent use, also by several processes.
type SQLiteStore struct {
	db *sql.DB
}

var _ Store = (*SQLiteStore)(nil)

const sqliteSchema = `CREATE TABLE IF NOT EXISTS baselines (
	resource_id   TEXT PRIMARY KEY,
	resource_type TEXT NOT NULL,
	version       INTEGER NOT NULL,
	approved_by   TEXT NOT NULL,
	approved_at   TEXT NOT NULL,
	body          TEXT NOT NULL
) WITHOUT ROWID`

// OpenSQLite opens (creating if needed) the database at path, or a private
// in-memory one for Memory, with the baselines table.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	if path == "" {
		return nil, errors.New("open baseline store: empty SQLite path")
	}
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	db, err := sql.Open("sqlite", "file:"+esc+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open baseline store %s: %w", path, err)
	}
	if path == Memory {
		db.SetMaxOpenConns(1) // every connection to :memory: is its own database
	}
	if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open baseline store %s: create table: %w", path, err)
	}
	return &SQLiteStore{db: db}, nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close baseline store: %w", err)
	}
	return nil
}

// Get returns the baseline of the resource ID.
func (s *SQLiteStore) Get(ctx context.Context, id string) (*Baseline, error) {
	var (
		body    string
		version int64
	)
	err := s.db.QueryRowContext(ctx, "SELECT body, version FROM baselines WHERE resource_id = ?", id).Scan(&body, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get baseline of %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get baseline of %s: %w", id, err)
	}
	return decode(id, []byte(body), version)
}

// Put stores b if the stored version is b.Version.
func (s *SQLiteStore) Put(ctx context.Context, b *Baseline) error {
	next := *b
	next.Version = b.Version + 1
	body, err := encode(&next)
	if err != nil {
		return err
	}
	at := b.ApprovedAt.UTC().Format(time.RFC3339Nano)
	var res sql.Result
	if b.Version == 0 {
		res, err = s.db.ExecContext(ctx, `INSERT INTO baselines (resource_id, resource_type, version, approved_by, approved_at, body)
			VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (resource_id) DO NOTHING`,
			b.Ref.ID, b.Ref.Type, b.ApprovedBy, at, string(body))
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE baselines SET resource_type = ?, version = ?, approved_by = ?, approved_at = ?, body = ?
			WHERE resource_id = ? AND version = ?`,
			b.Ref.Type, next.Version, b.ApprovedBy, at, string(body), b.Ref.ID, b.Version)
	}
	if err != nil {
		return fmt.Errorf("put baseline of %s: %w", b.Ref.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("put baseline of %s: count affected rows: %w", b.Ref.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("put baseline of %s at version %d: %w", b.Ref.ID, b.Version, ErrConflict)
	}
	b.Version = next.Version
	return nil
}
