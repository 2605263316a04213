// Package filter drops the noise in a stream of changes before anything
// expensive happens: read-only calls, failed calls, changes made by
// driftwatch's own principals (so that a revert never triggers another
// check) and operations nobody watches.
package filter

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/driftwatch/driftwatch/shared/change"
)

// Reason says why a change is noise. The empty Reason (Keep) means it is
// not: the change goes on to be checked.
type Reason string

// Reasons, in the order Check tests them.
const (
	// Keep is the empty Reason: check the change.
	Keep Reason = ""
	// ReadOnly is a call that changed nothing (CloudTrail readOnly, or a
	// Get/Describe/List... name when the record has no flag).
	ReadOnly Reason = "read-only"
	// Failed is a call that returned an error (errorCode set).
	Failed Reason = "failed"
	// OwnPrincipal is a change made by one of driftwatch's own principals.
	OwnPrincipal Reason = "own-principal"
	// Unwatched is an operation no rule watches, or an AWS service event
	// (eventType AwsServiceEvent), which no customer principal made.
	Unwatched Reason = "unwatched"
)

// Filter decides which changes are noise. It is safe for concurrent use.
type Filter struct {
	own     []pattern
	watched func(*change.Change) bool

	total, kept, readOnly, failed, ownPrincipal, unwatched atomic.Int64
}

// New builds a filter. ownPrincipals are ARN patterns in which '*' matches
// any run of characters (including none, '/' and ':'); a change is made by
// an own principal when a pattern matches its Principal.ARN or its
// Principal.IssuerARN. So a role pattern
// (arn:aws:iam::123456789012:role/driftwatch-*) catches every session of
// the role, and a session pattern
// (arn:aws:sts::123456789012:assumed-role/driftwatch-*/*) catches the
// sessions directly. watched says whether an operation is watched (usually
// a catalog lookup); nil watches everything.
func New(ownPrincipals []string, watched func(*change.Change) bool) (*Filter, error) {
	f := &Filter{watched: watched}
	for _, p := range ownPrincipals {
		pat, err := compile(p)
		if err != nil {
			return nil, fmt.Errorf("own principal pattern %q: %w", p, err)
		}
		f.own = append(f.own, pat)
	}
	return f, nil
}

// Check returns why c is noise, or Keep. It never fails: a change that is
// missing fields is judged on what it has.
func (f *Filter) Check(c *change.Change) Reason {
	f.total.Add(1)
	r := f.reason(c)
	switch r {
	case ReadOnly:
		f.readOnly.Add(1)
	case Failed:
		f.failed.Add(1)
	case OwnPrincipal:
		f.ownPrincipal.Add(1)
	case Unwatched:
		f.unwatched.Add(1)
	default:
		f.kept.Add(1)
	}
	return r
}

func (f *Filter) reason(c *change.Change) Reason {
	switch {
	case c.ReadOnly:
		return ReadOnly
	case c.ErrorCode != "":
		return Failed
	case f.isOwn(&c.Principal):
		return OwnPrincipal
	case c.EventType == "AwsServiceEvent":
		return Unwatched
	case f.watched != nil && !f.watched(c):
		return Unwatched
	}
	return Keep
}

func (f *Filter) isOwn(p *change.Principal) bool {
	for _, pat := range f.own {
		if (p.ARN != "" && pat.match(p.ARN)) || (p.IssuerARN != "" && pat.match(p.IssuerARN)) {
			return true
		}
	}
	return false
}

// Counts is a snapshot of how many changes a Filter has checked and what
// it decided.
type Counts struct {
	// Total is every change checked.
	Total int64 `json:"total"`
	// Kept is the changes let through (Reason Keep) to be checked by rules.
	Kept int64 `json:"kept"`
	// The rest count each Reason.
	ReadOnly     int64 `json:"read_only"`
	Failed       int64 `json:"failed"`
	OwnPrincipal int64 `json:"own_principal"`
	Unwatched    int64 `json:"unwatched"`
}

// Of returns the count for one reason (Keep: Kept).
func (c Counts) Of(r Reason) int64 {
	switch r {
	case ReadOnly:
		return c.ReadOnly
	case Failed:
		return c.Failed
	case OwnPrincipal:
		return c.OwnPrincipal
	case Unwatched:
		return c.Unwatched
	case Keep:
		return c.Kept
	}
	return 0
}

// Counts returns a snapshot of the counters. Each counter is read
// atomically; a snapshot taken while other goroutines check changes may be
// a few changes apart between counters.
func (f *Filter) Counts() Counts {
	return Counts{
		Total:        f.total.Load(),
		Kept:         f.kept.Load(),
		ReadOnly:     f.readOnly.Load(),
		Failed:       f.failed.Load(),
		OwnPrincipal: f.ownPrincipal.Load(),
		Unwatched:    f.unwatched.Load(),
	}
}

// pattern is a compiled ARN glob: the literal parts between '*'s.
type pattern struct {
	parts []string // len 1: no wildcard
}

// compile checks that p looks like an ARN pattern
// (arn:partition:service:region:account:resource, each part possibly with
// '*') and compiles it.
func compile(p string) (pattern, error) {
	switch {
	case p == "":
		return pattern{}, fmt.Errorf("empty pattern")
	case strings.TrimSpace(p) != p || strings.ContainsAny(p, " \t\r\n"):
		return pattern{}, fmt.Errorf("contains white space")
	case !strings.HasPrefix(p, "arn:"):
		return pattern{}, fmt.Errorf("not an ARN pattern (must start with \"arn:\")")
	case strings.Count(p, ":") < 5:
		return pattern{}, fmt.Errorf("not an ARN pattern (arn:partition:service:region:account:resource)")
	}
	// Collapse runs of '*': they mean the same as one.
	for strings.Contains(p, "**") {
		p = strings.ReplaceAll(p, "**", "*")
	}
	return pattern{parts: strings.Split(p, "*")}, nil
}

// match reports whether s matches the whole pattern. With '*' as the only
// wildcard, matching the literal parts leftmost-first is exact.
func (p pattern) match(s string) bool {
	parts := p.parts
	if len(parts) == 1 {
		return s == parts[0]
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return true
}
