// Package baseline keeps approved baselines: for a resource, the document
// someone accepted as the way it should be ("Accept as baseline" in Slack,
// `driftwatch baseline capture`). Rules of kind baseline (shared/policy)
// compare live documents with them, through Source.
//
// A Store keeps one baseline per resource ID. Every write is conditional on
// the version read (insert if absent, update if unchanged), like the
// finding store, so two approvals at once cannot silently overwrite each
// other. There are two stores, next to the findings:
//
//   - SQLiteStore: a baselines table in the SQLite file of the findings
//     (the CLI, single-host deployments);
//   - DynamoStore: items with partition key "baseline#<resource ID>" in the
//     findings table (the functions). They have no status attribute, so
//     the findings' status index never lists them.
//
// Documents are stored as JSON and read back as documents again: whole
// numbers become int64, others float64 (encoding/json alone would make
// every number a float64, and the document contract says integers are
// int64).
package baseline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Errors a Store returns (wrapped).
var (
	// ErrNotFound: no baseline was approved for the resource.
	ErrNotFound = errors.New("no approved baseline")
	// ErrConflict: Put found another version than the baseline's (someone
	// approved in between).
	ErrConflict = errors.New("baseline version conflict")
	// ErrGone: the resource to approve does not exist.
	ErrGone = errors.New("resource does not exist")
)

// Baseline is the approved document of one resource.
type Baseline struct {
	Ref resource.Ref `json:"ref"`
	// Doc is the document as read when it was approved.
	Doc  map[string]any    `json:"doc"`
	Tags map[string]string `json:"tags,omitempty"`
	// ApprovedBy names who approved it ("slack:U0123ABCD (alice)",
	// "cli:alice"), at ApprovedAt.
	ApprovedBy string    `json:"approved_by"`
	ApprovedAt time.Time `json:"approved_at"`
	// Note says where the approval came from (the finding it was accepted
	// on).
	Note string `json:"note,omitempty"`
	// Version is the store's version of the record: Put writes only if it
	// is still the stored one (0: none is stored).
	Version int64 `json:"version"`
}

// Store keeps baselines by resource ID.
type Store interface {
	// Get returns the baseline of the resource ID, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, resourceID string) (*Baseline, error)
	// Put stores b if the stored version is b.Version (0: if none is
	// stored) and sets b.Version to the new version; otherwise it returns an
	// error wrapping ErrConflict and stores nothing.
	Put(ctx context.Context, b *Baseline) error
}

// Reader reads one resource live (fetch/aws.Reader).
type Reader interface {
	Read(ctx context.Context, ref resource.Ref) (resource.Resource, error)
}

// maxAttempts bounds Approve's retries on conflict.
const maxAttempts = 8

// Approve stores res's current document as its approved baseline,
// replacing any earlier one, and returns what was stored.
func Approve(ctx context.Context, s Store, res resource.Resource, by, note string, at time.Time) (*Baseline, error) {
	if !res.Exists {
		return nil, fmt.Errorf("approve baseline of %s: %w", res.Ref, ErrGone)
	}
	for range maxAttempts {
		var version int64
		cur, err := s.Get(ctx, res.Ref.ID)
		switch {
		case err == nil:
			version = cur.Version
		case !errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("approve baseline of %s: %w", res.Ref, err)
		}
		b := &Baseline{Ref: res.Ref, Doc: res.Doc, Tags: maps.Clone(res.Tags), ApprovedBy: by,
			ApprovedAt: at.UTC(), Note: note, Version: version}
		err = s.Put(ctx, b)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("approve baseline of %s: %w", res.Ref, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("approve baseline of %s: changed concurrently %d times: %w", res.Ref, maxAttempts, ErrConflict)
}

// Capture reads the resource live and approves its document.
func Capture(ctx context.Context, r Reader, s Store, ref resource.Ref, by, note string, at time.Time) (*Baseline, error) {
	res, err := r.Read(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("capture baseline: %w", err)
	}
	return Approve(ctx, s, res, by, note, at)
}

// Compare returns where live differs from the baseline on the paths, or on
// every top-level property when paths is empty (policy.Diff).
func Compare(b *Baseline, live resource.Resource, paths []string) []policy.Difference {
	doc := live.Doc
	if !live.Exists {
		doc = map[string]any{}
	}
	if len(paths) == 0 {
		return policy.DiffAll(b.Doc, doc)
	}
	return policy.Diff(b.Doc, doc, paths)
}

// Source is the policy.BaselineSource of a Store: the approved document of
// a resource, looked up by its ID.
type Source struct {
	Store Store
}

var _ policy.BaselineSource = Source{}

// Approved implements policy.BaselineSource.
func (s Source) Approved(ctx context.Context, ref resource.Ref) (map[string]any, bool, error) {
	b, err := s.Store.Get(ctx, ref.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b.Doc, true, nil
}

// encode returns the baseline's JSON body.
func encode(b *Baseline) ([]byte, error) {
	if b.Ref.ID == "" {
		return nil, errors.New("encode baseline: empty resource ID")
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode baseline of %s: %w", b.Ref, err)
	}
	return body, nil
}

// decode reads a baseline's JSON body, with the store's version.
func decode(id string, body []byte, version int64) (*Baseline, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw struct {
		Baseline
		Doc any `json:"doc"`
	}
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode baseline of %s: %w", id, err)
	}
	b := raw.Baseline
	b.Doc, _ = document(raw.Doc).(map[string]any)
	if b.Doc == nil {
		b.Doc = map[string]any{}
	}
	b.Version = version
	return &b, nil
}

// document turns decoded JSON (with json.Number) into a document value.
func document(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = document(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = document(e)
		}
		return x
	}
	return v
}
