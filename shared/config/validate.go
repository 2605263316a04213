package config

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/driftwatch/driftwatch/shared/filter"
)

// Problem is one thing wrong with the file.
type Problem struct {
	// Path is the field path, such as slack.routing.routes[2].channel
	// ("" for the file as a whole).
	Path string
	// Line is the line in the file, when known (0 otherwise).
	Line int
	// Msg says what is wrong.
	Msg string
}

// String returns "path: msg".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// Error lists every problem found in a file.
type Error struct {
	// File is the name given to Parse or Load ("" for Validate).
	File     string
	Problems []Problem
}

// Error returns one line per problem, "file:line: path: msg".
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		var pos string
		switch {
		case e.File != "" && p.Line > 0:
			pos = fmt.Sprintf("%s:%d: ", e.File, p.Line)
		case e.File != "":
			pos = e.File + ": "
		}
		lines[i] = pos + p.String()
	}
	if len(lines) == 1 {
		return "invalid config " + lines[0]
	}
	return fmt.Sprintf("invalid config, %d problems:\n\t%s", len(lines), strings.Join(lines, "\n\t"))
}

// Severities, highest first: the values of min_severity.
var Severities = []string{"critical", "high", "medium", "low", "info"}

// Modes are the values of rules.mode_overrides.
var Modes = []string{"alert", "ticket", "revert"}

// problems collects validation problems.
type problems []Problem

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (ps *problems) oneOf(path, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		ps.add(path, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
}

func (ps *problems) required(path, v string) bool {
	if strings.TrimSpace(v) == "" {
		ps.add(path, "required")
		return false
	}
	return true
}

func (ps *problems) glob(path string, g Glob) {
	if err := g.Check(); err != nil {
		ps.add(path, "%v", err)
	}
}

func (ps *problems) secret(path string, r SecretRef) {
	if err := r.Check(); err != nil {
		ps.add(path, "%v", err)
	}
}

func (ps *problems) noSpace(path, v, what string) {
	if strings.ContainsAny(v, " \t\r\n") {
		ps.add(path, "%s %q contains white space", what, v)
	}
}

var (
	jiraProject = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,254}$`)
	githubName  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
	busName     = regexp.MustCompile(`^[A-Za-z0-9/._-]{1,256}$`)
	busARN      = regexp.MustCompile(`^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9/._-]{1,256}$`)
)

// Validate checks the configuration (with defaults applied, as Parse
// returns it) and returns an *Error listing every problem, or nil.
func (c *Config) Validate() error {
	var ps problems
	for i, p := range c.OwnPrincipals {
		if _, err := filter.New([]string{p}, nil); err != nil {
			ps.add(fmt.Sprintf("own_principals[%d]", i), "%v", errors.Unwrap(err))
		}
	}
	c.Store.validate(&ps)
	if c.Slack != nil {
		c.Slack.validate(&ps)
	}
	if c.Jira != nil {
		c.Jira.validate(&ps)
	}
	if c.GitHub != nil {
		c.GitHub.validate(&ps)
	}
	if c.Publish != nil {
		c.Publish.validate(&ps)
	}
	for i, e := range c.Exceptions {
		e.validate(&ps, fmt.Sprintf("exceptions[%d]", i))
	}
	for i, a := range c.Allowlist {
		a.validate(&ps, fmt.Sprintf("allowlist[%d]", i))
	}
	if c.TagWaivers.Enabled {
		if ps.required("tag_waivers.key", c.TagWaivers.Key) {
			ps.noSpace("tag_waivers.key", c.TagWaivers.Key, "tag key")
		}
	}
	c.Rules.validate(&ps)
	if len(ps) > 0 {
		return &Error{Problems: ps}
	}
	return nil
}

func (s *Store) validate(ps *problems) {
	ps.oneOf("store.kind", s.Kind, []string{StoreSQLite, StoreDynamoDB, StoreTable})
	switch s.Kind {
	case StoreSQLite:
		ps.required("store.path", s.Path)
		if s.Table != "" {
			ps.add("store.table", "applies to kinds dynamodb and table only")
		}
	case StoreDynamoDB, StoreTable:
		ps.required("store.table", s.Table)
		if s.Path != "" {
			ps.add("store.path", "applies to kind sqlite only")
		}
	}
	if s.Kind == StoreTable {
		ps.required("store.endpoint", s.Endpoint)
	} else if s.Endpoint != "" {
		ps.add("store.endpoint", "applies to kind table only")
	}
	if s.SeenTTL <= 0 {
		ps.add("store.seen_ttl", "must be positive, not %s", s.SeenTTL)
	}
}

func (s *Slack) validate(ps *problems) {
	ps.oneOf("slack.mode", s.Mode, []string{SlackBot, SlackWebhook})
	switch s.Mode {
	case SlackBot:
		if ps.required("slack.token", string(s.Token)) {
			ps.secret("slack.token", s.Token)
		}
		if s.WebhookURL != "" {
			ps.add("slack.webhook_url", "applies to mode webhook only")
		}
		if ps.required("slack.routing.default", s.Routing.Default) {
			ps.channel("slack.routing.default", s.Routing.Default)
		}
	case SlackWebhook:
		if ps.required("slack.webhook_url", string(s.WebhookURL)) {
			ps.secret("slack.webhook_url", s.WebhookURL)
		}
		if s.Token != "" {
			ps.add("slack.token", "applies to mode bot only")
		}
		if s.Routing.Default != "" || len(s.Routing.Routes) > 0 {
			ps.add("slack.routing", "applies to mode bot only (a webhook posts to its own channel)")
		}
	}
	if s.Actions != nil {
		s.Actions.validate(ps, s.Mode)
	}
	for i, r := range s.Routing.Routes {
		p := fmt.Sprintf("slack.routing.routes[%d]", i)
		if len(r.Rules) == 0 && len(r.Accounts) == 0 && r.MinSeverity == "" {
			ps.add(p, "no condition: give rules, accounts or min_severity (the default channel takes the rest)")
		}
		for j, g := range r.Rules {
			if _, err := path.Match(g, ""); g == "" || err != nil {
				ps.add(fmt.Sprintf("%s.rules[%d]", p, j), "%q is not a glob (path.Match syntax: *, ?, [a-z])", g)
			}
		}
		for j, a := range r.Accounts {
			ps.required(fmt.Sprintf("%s.accounts[%d]", p, j), a)
		}
		if r.MinSeverity != "" {
			ps.oneOf(p+".min_severity", r.MinSeverity, Severities)
		}
		if ps.required(p+".channel", r.Channel) {
			ps.channel(p+".channel", r.Channel)
		}
	}
}

var (
	slackUserID  = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	slackGroupID = regexp.MustCompile(`^S[A-Z0-9]{2,20}$`)
)

func (a *SlackActions) validate(ps *problems, mode string) {
	if ps.required("slack.actions.signing_secret", string(a.SigningSecret)) {
		ps.secret("slack.actions.signing_secret", a.SigningSecret)
	}
	seen := map[string]bool{}
	for i, u := range a.Users {
		p := fmt.Sprintf("slack.actions.users[%d]", i)
		switch {
		case !slackUserID.MatchString(u):
			ps.add(p, "%q is not a Slack user ID (U0123ABCD or W0123ABCD; names change, IDs do not)", u)
		case seen[u]:
			ps.add(p, "%q is listed twice", u)
		}
		seen[u] = true
	}
	for i, g := range a.UserGroups {
		p := fmt.Sprintf("slack.actions.user_groups[%d]", i)
		switch {
		case !slackGroupID.MatchString(g):
			ps.add(p, "%q is not a Slack user-group ID (S0123ABCD)", g)
		case seen[g]:
			ps.add(p, "%q is listed twice", g)
		}
		seen[g] = true
	}
	if len(a.UserGroups) > 0 && mode != SlackBot {
		ps.add("slack.actions.user_groups", "needs mode bot: group membership is read with the bot token")
	}
}

// channel checks a Slack channel ID or name.
func (ps *problems) channel(path, ch string) {
	switch {
	case len(ch) > 81:
		ps.add(path, "channel %q is longer than 80 characters", ch)
	case strings.ContainsAny(ch, " \t\r\n"):
		ps.add(path, "channel %q contains white space", ch)
	}
}

// checkURL checks an API base URL: absolute, https (http only for a
// loopback host, as in tests), no credentials in it.
func checkURL(ps *problems, path, raw string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		ps.add(path, "%q is not an absolute http(s) URL", raw)
		return
	}
	if u.User != nil {
		ps.add(path, "must not carry credentials; give them in their own field, by reference")
		return
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		ps.add(path, "must use https (http is accepted for localhost only)")
	}
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

func (j *Jira) validate(ps *problems) {
	if ps.required("jira.base_url", j.BaseURL) {
		checkURL(ps, "jira.base_url", j.BaseURL)
	}
	if ps.required("jira.email", j.Email) && !strings.Contains(j.Email, "@") {
		ps.add("jira.email", "%q is not an email address", j.Email)
	}
	if ps.required("jira.api_token", string(j.APIToken)) {
		ps.secret("jira.api_token", j.APIToken)
	}
	if ps.required("jira.project", j.Project) && !jiraProject.MatchString(j.Project) {
		ps.add("jira.project", "%q is not a project key (upper-case letters, digits, _; starting with a letter)", j.Project)
	}
	ps.required("jira.issue_type", j.IssueType)
	ps.required("jira.done_transition", j.DoneTransition)
	for i, l := range j.Labels {
		p := fmt.Sprintf("jira.labels[%d]", i)
		if ps.required(p, l) {
			ps.noSpace(p, l, "label")
		}
	}
	for _, sev := range sortedKeys(j.Priorities) {
		p := join("jira.priorities", sev)
		ps.oneOf(p, sev, Severities)
		ps.required(p, j.Priorities[sev])
	}
	if j.Timeout < 0 {
		ps.add("jira.timeout", "negative")
	}
}

func (g *GitHub) validate(ps *problems) {
	if ps.required("github.owner", g.Owner) && !githubName.MatchString(g.Owner) {
		ps.add("github.owner", "%q is not a GitHub user or organisation name", g.Owner)
	}
	if ps.required("github.repo", g.Repo) && !githubName.MatchString(g.Repo) {
		ps.add("github.repo", "%q is not a repository name (give the owner in github.owner)", g.Repo)
	}
	if ps.required("github.token", string(g.Token)) {
		ps.secret("github.token", g.Token)
	}
	if g.BaseURL != "" {
		checkURL(ps, "github.base_url", g.BaseURL)
	}
	for i, l := range g.Labels {
		ps.required(fmt.Sprintf("github.labels[%d]", i), l)
	}
	if g.Timeout < 0 {
		ps.add("github.timeout", "negative")
	}
}

func (p *Publish) validate(ps *problems) {
	if ps.required("publish.event_bus", p.EventBus) &&
		!busName.MatchString(p.EventBus) && !busARN.MatchString(p.EventBus) {
		ps.add("publish.event_bus", "%q is neither an event bus name nor an event bus ARN", p.EventBus)
	}
	if ps.required("publish.source", p.Source) {
		switch {
		case len(p.Source) > 256:
			ps.add("publish.source", "longer than 256 characters")
		case strings.HasPrefix(p.Source, "aws."):
			ps.add("publish.source", "%q: sources starting with aws. are reserved for AWS services", p.Source)
		}
	}
}

func (e *Exception) validate(ps *problems, path string) {
	if ps.required(path+".rule", string(e.Rule)) {
		ps.glob(path+".rule", e.Rule)
	}
	if ps.required(path+".resource", string(e.Resource)) {
		ps.glob(path+".resource", e.Resource)
	}
	if e.Principal != "" {
		ps.glob(path+".principal", e.Principal)
	}
	ps.required(path+".reason", e.Reason)
	ps.required(path+".approver", e.Approver)
	if e.Expires.IsZero() {
		ps.add(path+".expires", "required (the last day the exception holds, YYYY-MM-DD)")
	}
	if e.Rule == "*" && e.Resource == "*" && e.Principal == "" {
		ps.add(path, "waives every finding; narrow rule, resource or principal")
	}
}

func (a *Allow) validate(ps *problems, path string) {
	if ps.required(path+".principal", string(a.Principal)) {
		if _, err := filter.New([]string{string(a.Principal)}, nil); err != nil {
			ps.add(path+".principal", "%v", errors.Unwrap(err))
		}
	}
	ps.required(path+".reason", a.Reason)
	for i, r := range a.Rules {
		ps.glob(fmt.Sprintf("%s.rules[%d]", path, i), r)
	}
}

func (r *Rules) validate(ps *problems) {
	for i, d := range r.Dirs {
		ps.required(fmt.Sprintf("rules.dirs[%d]", i), d)
	}
	seen := map[string]bool{}
	for i, id := range r.Disabled {
		p := fmt.Sprintf("rules.disabled[%d]", i)
		if ps.required(p, id) && seen[id] {
			ps.add(p, "%q is listed twice", id)
		}
		seen[id] = true
	}
	for _, id := range sortedKeys(r.ModeOverrides) {
		ps.oneOf(join("rules.mode_overrides", id), r.ModeOverrides[id], Modes)
	}
}

// CheckRuleIDs reports the rule IDs that rules.disabled and
// rules.mode_overrides name but known does not, once the rules are loaded:
// a typo there would otherwise silently leave a rule on.
func (c *Config) CheckRuleIDs(known func(id string) bool) error {
	var ps problems
	for i, id := range c.Rules.Disabled {
		if !known(id) {
			ps.add(fmt.Sprintf("rules.disabled[%d]", i), "no rule %q", id)
		}
	}
	for _, id := range sortedKeys(c.Rules.ModeOverrides) {
		if !known(id) {
			ps.add(join("rules.mode_overrides", id), "no rule %q", id)
		}
	}
	if len(ps) > 0 {
		return &Error{Problems: ps}
	}
	return nil
}
