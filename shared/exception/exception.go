// Package exception decides which failing findings are waived: by an
// exception from the config file (rule, resource, optional principal,
// reason, approver, expiry), by a principal allowlist (findings caused by a
// trusted principal's change, such as the Terraform CI role), or, only when
// the config turns them on, by a waiver tag on the resource.
//
// A Waiver implements finding.Waiver. The lifecycle asks it on every
// failing verdict and stores a waived finding as suppressed, with the
// reason: recorded, not announced. An exception that has expired no longer
// waives, so the finding opens again on its next check.
//
// Tag waivers read the resource's tags as the finding carries them
// (finding.Finding.Tags, from the latest failing read).
package exception

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/finding"
)

// maxTagValue bounds the tag value quoted in a reason (AWS allows 256).
const maxTagValue = 256

// Waiver decides whether exceptions, allowlist entries or waiver tags cover
// a finding. It is safe for concurrent use.
type Waiver struct {
	exceptions []config.Exception
	allowlist  []config.Allow
	tagKey     string // "" when tag waivers are off

	// Now is the clock (default time.Now).
	Now func() time.Time
}

var _ finding.Waiver = (*Waiver)(nil)

// New returns a Waiver for the exceptions, allowlist and tag waiver
// settings of a configuration. They are validated the way config.Validate
// does, so that a Waiver built by hand cannot hold a blank pattern that
// would waive everything.
func New(exceptions []config.Exception, allowlist []config.Allow, tags config.TagWaivers) (*Waiver, error) {
	c := config.Default()
	c.Exceptions, c.Allowlist, c.TagWaivers = exceptions, allowlist, tags
	if c.TagWaivers.Key == "" {
		c.TagWaivers.Key = config.DefaultWaiveTag
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("exceptions: %w", err)
	}
	w := &Waiver{exceptions: slices.Clone(exceptions), allowlist: slices.Clone(allowlist)}
	if c.TagWaivers.Enabled {
		w.tagKey = c.TagWaivers.Key
	}
	return w, nil
}

// FromConfig returns the Waiver of c's exceptions, allowlist and tag
// waivers.
func FromConfig(c *config.Config) (*Waiver, error) {
	return New(c.Exceptions, c.Allowlist, c.TagWaivers)
}

// Waive implements finding.Waiver with exceptions, the allowlist and, when
// turned on, waiver tags on the resource. It never fails.
func (w *Waiver) Waive(_ context.Context, f *finding.Finding) (string, bool, error) {
	reason, ok := w.Check(f, f.Tags)
	return reason, ok, nil
}

// Check returns why f is waived, if it is: the first exception in force
// that matches, else the first allowlist entry that matches, else the
// waiver tag among tags (the resource's tags) when tag waivers are on.
func (w *Waiver) Check(f *finding.Finding, tags map[string]string) (string, bool) {
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	resourceID := f.Resource.ID
	if resourceID == "" {
		resourceID = f.Key.ResourceID
	}
	ruleID := f.RuleID
	if ruleID == "" {
		ruleID = f.Key.RuleID
	}
	for _, e := range w.exceptions {
		if !now.Before(e.Expires.End()) || !e.Rule.Match(ruleID) || !e.Resource.Match(resourceID) {
			continue
		}
		if e.Principal != "" && principalOf(f, e.Principal) == "" {
			continue
		}
		return fmt.Sprintf("exception: %s (approved by %s until %s)", e.Reason, e.Approver, e.Expires), true
	}
	for _, a := range w.allowlist {
		if !config.MatchAny(a.Rules, ruleID) {
			continue
		}
		if p := principalOf(f, a.Principal); p != "" {
			return fmt.Sprintf("allowlisted principal %s: %s", p, a.Reason), true
		}
	}
	if w.tagKey != "" {
		if v, ok := tags[w.tagKey]; ok && waivesRule(v, ruleID) {
			if len(v) > maxTagValue {
				v = v[:maxTagValue]
			}
			return fmt.Sprintf("resource tag %s=%s", w.tagKey, v), true
		}
	}
	return "", false
}

// principalOf returns the principal of f's latest change that matches p
// (the caller's ARN, else the role or user behind the session), or "".
func principalOf(f *finding.Finding, p config.Glob) string {
	for _, arn := range []string{f.Change.PrincipalARN, f.Change.IssuerARN} {
		if arn != "" && p.Match(arn) {
			return arn
		}
	}
	return ""
}

// waivesRule reports whether a waiver tag value covers ruleID: "*", or a
// list of rule IDs separated by spaces, commas or slashes (AWS tag values
// do not allow every separator; all three are accepted).
func waivesRule(value, ruleID string) bool {
	ids := strings.FieldsFunc(value, func(r rune) bool {
		return r == ',' || r == '/' || r == ' ' || r == '\t'
	})
	return slices.Contains(ids, "*") || slices.Contains(ids, ruleID)
}
