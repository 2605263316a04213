package slack

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"

	"github.com/driftwatch/driftwatch/shared/policy"
)

// Routing chooses the channel a finding is posted to. Routes are tried in
// order and the first that matches wins; Default takes the rest. It is
// meant to be embedded in the config file (its yaml tags), for example
//
//	routing:
//	  default: "#cloud-drift"
//	  routes:
//	    - rules: ["aws-iam-*"]          # by rule ID (globs)
//	      channel: "#iam-alerts"
//	    - accounts: ["111122223333"]    # by account
//	      channel: "#prod-security"
//	    - min_severity: critical        # by severity: critical only
//	      channel: "#security-oncall"
//
// A route with several conditions matches when all of them hold.
type Routing struct {
	// Default is the channel of findings that no route matches: a channel
	// ID (C0123ABCD, preferred: it survives renames) or a name (#drift).
	Default string `yaml:"default" json:"default"`
	// Routes are tried in order.
	Routes []Route `yaml:"routes,omitempty" json:"routes,omitempty"`
}

// Route sends the findings it matches to a channel. At least one condition
// must be given.
type Route struct {
	// Rules are globs (path.Match syntax: *, ?, [a-z]) over the rule ID,
	// e.g. "aws-s3-*"; the route matches when any glob matches.
	Rules []string `yaml:"rules,omitempty" json:"rules,omitempty"`
	// Accounts are account IDs (or Azure subscription IDs); the route
	// matches when the finding's account is one of them.
	Accounts []string `yaml:"accounts,omitempty" json:"accounts,omitempty"`
	// MinSeverity matches findings at least this severe (critical, high,
	// medium, low, info); a finding with an unknown severity matches no
	// threshold.
	MinSeverity string `yaml:"min_severity,omitempty" json:"min_severity,omitempty"`
	// Channel is where the matched findings go.
	Channel string `yaml:"channel" json:"channel"`
}

// FieldError is a problem with one field of a Routing; Field is its path
// relative to the Routing ("routes[2].min_severity"), for the config loader
// to prefix with where the Routing sits.
type FieldError struct {
	Field   string
	Problem string
}

// Error returns "field: problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// severityRank orders severities, most severe highest.
var severityRank = map[string]int{
	policy.SeverityInfo:     1,
	policy.SeverityLow:      2,
	policy.SeverityMedium:   3,
	policy.SeverityHigh:     4,
	policy.SeverityCritical: 5,
}

// Validate checks the routing and returns every problem, each a
// *FieldError naming its field (errors.Join of them), or nil.
func (r Routing) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if p := channelProblem(r.Default); p != "" {
		bad("default", "%s", p)
	}
	for i, rt := range r.Routes {
		at := fmt.Sprintf("routes[%d]", i)
		if p := channelProblem(rt.Channel); p != "" {
			bad(at+".channel", "%s", p)
		}
		if len(rt.Rules) == 0 && len(rt.Accounts) == 0 && rt.MinSeverity == "" {
			bad(at, "no condition: give rules, accounts or min_severity (the default channel takes the rest)")
		}
		for j, g := range rt.Rules {
			if g == "" {
				bad(fmt.Sprintf("%s.rules[%d]", at, j), "empty glob")
			} else if _, err := path.Match(g, ""); err != nil {
				bad(fmt.Sprintf("%s.rules[%d]", at, j), "bad glob %q: %v", g, err)
			}
		}
		for j, a := range rt.Accounts {
			if strings.TrimSpace(a) == "" {
				bad(fmt.Sprintf("%s.accounts[%d]", at, j), "empty account")
			}
		}
		if rt.MinSeverity != "" {
			if _, ok := severityRank[rt.MinSeverity]; !ok {
				bad(at+".min_severity", "%q is not a severity (critical, high, medium, low, info)", rt.MinSeverity)
			}
		}
	}
	return errors.Join(errs...)
}

// channelProblem says what is wrong with a channel ("" when nothing).
func channelProblem(ch string) string {
	switch {
	case ch == "":
		return "missing channel"
	case len(ch) > 81:
		return fmt.Sprintf("channel %q is longer than 80 characters", ch)
	case strings.IndexFunc(ch, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Sprintf("channel %q contains spaces", ch)
	}
	return ""
}

// Channel returns the channel of a finding of the rule, in the account,
// with the severity: the first matching route's, else Default.
func (r Routing) Channel(ruleID, account, severity string) string {
	for _, rt := range r.Routes {
		if rt.matches(ruleID, account, severity) {
			return rt.Channel
		}
	}
	return r.Default
}

// matches reports whether every condition of the route holds.
func (rt Route) matches(ruleID, account, severity string) bool {
	if len(rt.Rules) == 0 && len(rt.Accounts) == 0 && rt.MinSeverity == "" {
		return false
	}
	if len(rt.Rules) > 0 && !anyGlob(rt.Rules, ruleID) {
		return false
	}
	if len(rt.Accounts) > 0 && !containsTrimmed(rt.Accounts, account) {
		return false
	}
	if rt.MinSeverity != "" {
		have, ok := severityRank[severity]
		if !ok || have < severityRank[rt.MinSeverity] {
			return false
		}
	}
	return true
}

// anyGlob reports whether any glob matches s (a malformed glob matches
// nothing; Validate reports it).
func anyGlob(globs []string, s string) bool {
	for _, g := range globs {
		if ok, err := path.Match(g, s); err == nil && ok {
			return true
		}
	}
	return false
}

// containsTrimmed reports whether list holds s, ignoring surrounding spaces.
func containsTrimmed(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}
