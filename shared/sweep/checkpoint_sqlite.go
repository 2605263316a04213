package sweep

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SQLiteCheckpoints keeps checkpoints in a table of their own,
// sweep_checkpoints (name, at in epoch nanoseconds), in the SQLite file of
// the finding store (shared/state/sqlite), or any other file. The table is
// created if missing; the store's own schema is not touched.
type SQLiteCheckpoints struct {
	db *sql.DB
}

var _ Checkpoints = (*SQLiteCheckpoints)(nil)

// OpenSQLiteCheckpoints opens (creating if needed) the checkpoint table in
// the SQLite database at path (":memory:" for a private one).
func OpenSQLiteCheckpoints(ctx context.Context, path string) (*SQLiteCheckpoints, error) {
	if path == "" {
		return nil, errors.New("open checkpoints: empty SQLite path")
	}
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	db, err := sql.Open("sqlite", "file:"+esc+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("open checkpoints in %s: %w", path, err)
	}
	if path == ":memory:" {
		db.SetMaxOpenConns(1) // every connection to :memory: is its own database
	}
	_, err = db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS sweep_checkpoints (
		name TEXT PRIMARY KEY,
		at   INTEGER NOT NULL
	) WITHOUT ROWID`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create checkpoint table in %s: %w", path, err)
	}
	return &SQLiteCheckpoints{db: db}, nil
}

// Close closes the database.
func (c *SQLiteCheckpoints) Close() error { return c.db.Close() }

// Get reads the checkpoint.
func (c *SQLiteCheckpoints) Get(ctx context.Context, name string) (time.Time, bool, error) {
	var ns int64
	err := c.db.QueryRowContext(ctx, `SELECT at FROM sweep_checkpoints WHERE name = ?`, name).Scan(&ns)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("get checkpoint %s: %w", name, err)
	}
	return time.Unix(0, ns).UTC(), true, nil
}

// Put stores t unless a newer checkpoint is stored, in one statement.
func (c *SQLiteCheckpoints) Put(ctx context.Context, name string, t time.Time) error {
	_, err := c.db.ExecContext(ctx, `INSERT INTO sweep_checkpoints (name, at) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET at = excluded.at WHERE excluded.at > sweep_checkpoints.at`,
		name, t.UnixNano())
	if err != nil {
		return fmt.Errorf("put checkpoint %s: %w", name, err)
	}
	return nil
}
