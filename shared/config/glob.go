package config

import (
	"errors"
	"strings"
)

// Glob is a pattern in which '*' matches any run of characters, including
// none and including '/' and ':'; every other character matches itself,
// case-sensitively, and the pattern must match the whole string. "*" alone
// matches everything. Rule, resource and principal patterns in the file
// are Globs:
//
//	aws-s3-*                                   every S3 rule
//	arn:aws:s3:::logs-*                        buckets whose name starts with logs-
//	arn:aws:iam::123456789012:role/terraform-* a role and its paths
type Glob string

// Match reports whether s matches the whole pattern.
func (g Glob) Match(s string) bool {
	p := string(g)
	if !strings.Contains(p, "*") {
		return s == p
	}
	parts := strings.Split(p, "*")
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	// Matching the literal middle parts leftmost-first is exact when '*'
	// is the only wildcard.
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return true
}

// Check reports why g is not a usable pattern: empty, or with white space
// (which no rule ID, ARN or Azure resource ID contains, so it is a typo).
func (g Glob) Check() error {
	switch {
	case g == "":
		return errors.New("empty pattern")
	case strings.ContainsAny(string(g), " \t\r\n"):
		return errors.New("pattern contains white space")
	}
	return nil
}

// MatchAny reports whether s matches one of the patterns; no patterns
// match everything.
func MatchAny(patterns []Glob, s string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p.Match(s) {
			return true
		}
	}
	return false
}
