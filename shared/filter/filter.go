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
	// Failed is a call that returned an error (errorCode set): for Azure,
	// a Failure or Cancel event, or a status other than Succeeded.
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
	azure   bool // some own pattern is an Azure one
	watched func(*change.Change) bool

	total, kept, readOnly, failed, ownPrincipal, unwatched atomic.Int64
}

// New builds a filter. ownPrincipals are patterns in which '*' matches
// any run of characters (including none, '/' and ':'), of three kinds:
//
//   - AWS ARN patterns (arn:...): an AWS change is made by an own principal
//     when one matches its Principal.ARN or its Principal.IssuerARN. So a
//     role pattern (arn:aws:iam::123456789012:role/driftwatch-*) catches
//     every session of the role, and a session pattern
//     (arn:aws:sts::123456789012:assumed-role/driftwatch-*/*) catches the
//     sessions directly;
//   - Azure object or client ID patterns (a GUID, or at least 8 of its hex
//     digits with '*'): an Azure change is made by an own principal when
//     one matches its Principal.ARN (the caller's object ID) or
//     Principal.AppID (its client ID);
//   - Azure resource ID patterns (/subscriptions/... or /providers/...):
//     matched against Principal.IssuerARN, the managed identity's resource
//     ID, so that /subscriptions/*/resourceGroups/driftwatch-rg/providers/
//     Microsoft.ManagedIdentity/userAssignedIdentities/driftwatch catches
//     the detector's identity whatever its object ID.
//
// Azure patterns compare case-insensitively, as Azure does, and apply only
// to Azure changes; ARN patterns only to the others. watched says whether
// an operation is watched (usually a catalog lookup); nil watches
// everything.
func New(ownPrincipals []string, watched func(*change.Change) bool) (*Filter, error) {
	f := &Filter{watched: watched}
	for _, p := range ownPrincipals {
		pat, err := compile(p)
		if err != nil {
			return nil, fmt.Errorf("own principal pattern %q: %w", p, err)
		}
		f.own = append(f.own, pat)
		f.azure = f.azure || pat.fold
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
	case f.isOwn(c):
		return OwnPrincipal
	case c.EventType == "AwsServiceEvent":
		return Unwatched
	case f.watched != nil && !f.watched(c):
		return Unwatched
	}
	return Keep
}

func (f *Filter) isOwn(c *change.Change) bool {
	p := &c.Principal
	if c.Cloud == change.Azure {
		if !f.azure {
			return false
		}
		// Azure IDs compare case-insensitively: fold once, match folded
		// patterns.
		arn, app, issuer := strings.ToLower(p.ARN), strings.ToLower(p.AppID), strings.ToLower(p.IssuerARN)
		for _, pat := range f.own {
			if pat.fold && ((arn != "" && pat.match(arn)) || (app != "" && pat.match(app)) || (issuer != "" && pat.match(issuer))) {
				return true
			}
		}
		return false
	}
	for _, pat := range f.own {
		if !pat.fold && ((p.ARN != "" && pat.match(p.ARN)) || (p.IssuerARN != "" && pat.match(p.IssuerARN))) {
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

// pattern is a compiled glob: the literal parts between '*'s.
type pattern struct {
	parts []string // len 1: no wildcard
	// fold marks an Azure pattern: its parts are lower case and it is
	// matched against lower-cased Azure IDs.
	fold bool
}

// compile checks that p looks like an ARN pattern
// (arn:partition:service:region:account:resource, each part possibly with
// '*'), an Azure object or client ID pattern or an Azure resource ID
// pattern, and compiles it.
func compile(p string) (pattern, error) {
	fold := false
	switch {
	case p == "":
		return pattern{}, fmt.Errorf("empty pattern")
	case strings.TrimSpace(p) != p || strings.ContainsAny(p, " \t\r\n"):
		return pattern{}, fmt.Errorf("contains white space")
	case strings.HasPrefix(p, "arn:"):
		if strings.Count(p, ":") < 5 {
			return pattern{}, fmt.Errorf("not an ARN pattern (arn:partition:service:region:account:resource)")
		}
	case strings.HasPrefix(p, "/"):
		lp := strings.ToLower(p)
		if !strings.HasPrefix(lp, "/subscriptions/") && !strings.HasPrefix(lp, "/providers/") {
			return pattern{}, fmt.Errorf("not an Azure resource ID pattern (/subscriptions/... or /providers/...)")
		}
		fold = true
	case isGUIDPattern(p):
		fold = true
	default:
		return pattern{}, fmt.Errorf("not an ARN pattern (must start with \"arn:\"), an Azure object or client ID " +
			"(a GUID, or 8 or more of its hex digits with *) or an Azure resource ID pattern (must start with \"/\")")
	}
	if fold {
		p = strings.ToLower(p)
	}
	// Collapse runs of '*': they mean the same as one.
	for strings.Contains(p, "**") {
		p = strings.ReplaceAll(p, "**", "*")
	}
	return pattern{parts: strings.Split(p, "*"), fold: fold}, nil
}

// isGUIDPattern reports whether p is a GUID (8-4-4-4-12 hex digits), or a
// glob of hex digits, '-' and '*' with at least 8 hex digits (so that a
// bare "*" can never pass for an Azure principal).
func isGUIDPattern(p string) bool {
	hex := 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			hex++
		case c == '-', c == '*':
		default:
			return false
		}
	}
	if !strings.Contains(p, "*") {
		groups := strings.Split(p, "-")
		if len(groups) != 5 {
			return false
		}
		for i, n := range []int{8, 4, 4, 4, 12} {
			if len(groups[i]) != n {
				return false
			}
		}
	}
	return hex >= 8
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
