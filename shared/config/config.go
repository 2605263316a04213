// Package config reads driftwatch.yaml, the one configuration file of the
// CLI and the cloud functions: driftwatch's own principals, the finding
// store, Slack, Jira, GitHub, the EventBridge bus findings are published
// to, exceptions and allowlists, and rule settings.
//
// Parse and Load decode the file strictly (an unknown field is an error
// naming its path), fill in defaults and validate, so that a bad file fails
// at start-up with every problem listed as "field.path: problem":
//
//	driftwatch.yaml:14: slack.routing.routes[2].min_severity: "urgent" is not one of critical, high, medium, low, info
//
// Secrets are never in the file, only references to them (SecretRef:
// env:NAME or a Secrets Manager ARN); Resolve turns a reference into a
// Secret, which redacts itself when printed or logged.
//
// The sections are plain data. The packages that act on them take them as
// they are: shared/exception compiles Exceptions, Allowlist and
// TagWaivers; shared/publish takes Publish; the Slack and ticket packages
// take their sections. docs/config.md documents every field and
// driftwatch.example.yaml at the repository root is a complete example.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultFile is the file name the CLI and the functions look for.
const DefaultFile = "driftwatch.yaml"

// Defaults.
const (
	DefaultStorePath      = "driftwatch.db"
	DefaultSeenTTL        = 7 * 24 * time.Hour
	DefaultIssueType      = "Task"
	DefaultDoneTransition = "Done"
	DefaultEventBus       = "default"
	DefaultSource         = "driftwatch"
	DefaultWaiveTag       = "driftwatch:waive"
)

// Store kinds.
const (
	StoreSQLite   = "sqlite"
	StoreDynamoDB = "dynamodb"
	StoreTable    = "table"
)

// Slack modes.
const (
	SlackBot     = "bot"
	SlackWebhook = "webhook"
)

// Config is the whole file. Optional sections are pointers: nil means the
// section is absent and the integration is off.
type Config struct {
	// OwnPrincipals are ARN patterns of driftwatch's own roles: their
	// changes are not checked, so a revert does not trigger another check.
	OwnPrincipals []string `yaml:"own_principals"`
	// Store is where findings are kept.
	Store Store `yaml:"store"`
	// Slack, Jira, GitHub and Publish turn on the integrations.
	Slack   *Slack   `yaml:"slack"`
	Jira    *Jira    `yaml:"jira"`
	GitHub  *GitHub  `yaml:"github"`
	Publish *Publish `yaml:"publish"`
	// Exceptions waive findings, each for a reason, by an approver, until
	// a date.
	Exceptions []Exception `yaml:"exceptions"`
	// Allowlist suppresses findings caused by trusted principals' changes.
	Allowlist []Allow `yaml:"allowlist"`
	// TagWaivers lets a resource tag waive rules on the resource (off by
	// default: tags are mutable).
	TagWaivers TagWaivers `yaml:"tag_waivers"`
	// Rules adds rule files and turns rules off or changes their mode.
	Rules Rules `yaml:"rules"`
}

// Store says where findings and processed event IDs are kept.
type Store struct {
	// Kind is sqlite (default), dynamodb or table (Azure Table Storage).
	Kind string `yaml:"kind"`
	// Path is the SQLite file (sqlite; default driftwatch.db, relative to
	// the config file's directory when loaded with Load).
	Path string `yaml:"path"`
	// Table is the DynamoDB table name or ARN (dynamodb; required), or the
	// Azure table name (table; required).
	Table string `yaml:"table"`
	// Endpoint is the Azure Table service URL, e.g.
	// https://ACCOUNT.table.core.windows.net (table; required). The store
	// authenticates with the function's managed identity.
	Endpoint string `yaml:"endpoint"`
	// SeenTTL is how long a processed event ID is remembered (default
	// 168h). It must exceed the longest redelivery delay of the event
	// source.
	SeenTTL time.Duration `yaml:"seen_ttl"`
}

// Slack is the Slack integration.
type Slack struct {
	// Mode is bot (default: chat.postMessage, updates and thread replies)
	// or webhook (post only, to the webhook's own channel).
	Mode string `yaml:"mode"`
	// Token is the bot token (bot mode).
	Token SecretRef `yaml:"token"`
	// WebhookURL is the incoming-webhook URL (webhook mode); the URL is a
	// credential, so it is a reference too.
	WebhookURL SecretRef `yaml:"webhook_url"`
	// Routing chooses the channel of each finding (bot mode).
	Routing SlackRouting `yaml:"routing"`
	// Actions makes the alerts' buttons work (Revert now, Acknowledge,
	// Snooze 24 h, Accept as baseline): the slack-actions function
	// verifies Slack's requests with the signing secret and lets only the
	// named users and groups revert or accept.
	Actions *SlackActions `yaml:"actions"`
}

// SlackActions configures the handling of the alerts' buttons.
type SlackActions struct {
	// SigningSecret is the Slack app's signing secret (required).
	SigningSecret SecretRef `yaml:"signing_secret"`
	// Users are the Slack user IDs (U…, W…) who may press Revert now and
	// Accept as baseline. Anyone in the channel may acknowledge or snooze.
	Users []string `yaml:"users"`
	// UserGroups are Slack user-group IDs (S…) whose members may too (bot
	// mode: membership is read with usergroups.users.list, scope
	// usergroups:read).
	UserGroups []string `yaml:"user_groups"`
}

// SlackRouting chooses a channel per finding: the first route that
// matches, else the default channel. It has the shape of slack.Routing.
type SlackRouting struct {
	// Default is the channel (ID such as C0123ABCD, or #name) of findings
	// no route matches. Required in bot mode.
	Default string `yaml:"default"`
	// Routes are tried in order.
	Routes []SlackRoute `yaml:"routes"`
}

// SlackRoute sends matching findings to a channel. Every condition given
// must hold, and at least one must be given. Its fields are those of
// slack.Route, so slack.Route(r) converts it.
type SlackRoute struct {
	// Rules are globs over the rule ID (path.Match syntax: *, ?, [a-z]);
	// any may match.
	Rules []string `yaml:"rules"`
	// Accounts are account IDs (AWS accounts, Azure subscriptions); the
	// finding's must be one of them.
	Accounts []string `yaml:"accounts"`
	// MinSeverity matches findings of this severity or higher.
	MinSeverity string `yaml:"min_severity"`
	// Channel is where matching findings go.
	Channel string `yaml:"channel"`
}

// Jira is the Jira Cloud ticket integration.
type Jira struct {
	// BaseURL is the site, https://example.atlassian.net.
	BaseURL string `yaml:"base_url"`
	// Email and APIToken authenticate (basic auth).
	Email    string    `yaml:"email"`
	APIToken SecretRef `yaml:"api_token"`
	// Project is the project key (SEC).
	Project string `yaml:"project"`
	// IssueType is the issue type name (default Task).
	IssueType string `yaml:"issue_type"`
	// DoneTransition is the transition name that closes an issue (default
	// Done).
	DoneTransition string `yaml:"done_transition"`
	// Resolution, if set, is the resolution name sent with the done
	// transition, for workflows whose done screen requires one (Fixed).
	Resolution string `yaml:"resolution"`
	// Labels are added to every issue, beside the finding's label.
	Labels []string `yaml:"labels"`
	// Priorities maps a severity (critical, high, medium, low, info) to a
	// Jira priority name; a severity not listed sets no priority.
	Priorities map[string]string `yaml:"priorities"`
	// Timeout bounds each HTTP request (0: the ticket client's default).
	Timeout time.Duration `yaml:"timeout"`
}

// GitHub is the GitHub Issues ticket integration.
type GitHub struct {
	// Owner and Repo name the repository issues are opened in.
	Owner string `yaml:"owner"`
	Repo  string `yaml:"repo"`
	// Token is a token that may write issues of the repository.
	Token SecretRef `yaml:"token"`
	// BaseURL is the API of a GitHub Enterprise Server
	// (https://github.example.com/api/v3/); empty is github.com.
	BaseURL string `yaml:"base_url"`
	// Labels are added to every issue, beside the finding's label.
	Labels []string `yaml:"labels"`
	// Timeout bounds each HTTP request (0: the ticket client's default).
	Timeout time.Duration `yaml:"timeout"`
}

// Publish is the EventBridge bus findings are published to.
type Publish struct {
	// EventBus is the bus name or ARN (default: the account's default bus).
	EventBus string `yaml:"event_bus"`
	// Source is the events' source (default driftwatch).
	Source string `yaml:"source"`
}

// Exception waives one rule on matching resources until a date.
type Exception struct {
	// Rule matches rule IDs.
	Rule Glob `yaml:"rule"`
	// Resource matches resource IDs (ARNs, Azure resource IDs).
	Resource Glob `yaml:"resource"`
	// Principal, if given, limits the exception to findings whose latest
	// change was made by a matching principal (the caller's ARN or, for a
	// session, the role behind it).
	Principal Glob `yaml:"principal"`
	// Reason and Approver say why and who agreed; both are required.
	Reason   string `yaml:"reason"`
	Approver string `yaml:"approver"`
	// Expires is the last day the exception holds (through 23:59:59 UTC);
	// required.
	Expires Date `yaml:"expires"`
}

// Allow suppresses findings whose latest change was made by a principal,
// such as the CI role that applies reviewed infrastructure code. The
// findings are still recorded, as suppressed.
type Allow struct {
	// Principal is an ARN pattern matched against the caller's ARN and the
	// role behind a session.
	Principal Glob `yaml:"principal"`
	// Reason is required.
	Reason string `yaml:"reason"`
	// Rules limits the entry to matching rule IDs (none: every rule).
	Rules []Glob `yaml:"rules"`
}

// TagWaivers lets a tag on a resource waive rules on it.
type TagWaivers struct {
	// Enabled turns tag waivers on (default off).
	Enabled bool `yaml:"enabled"`
	// Key is the tag key (default driftwatch:waive); its value is "*" or
	// rule IDs separated by spaces, commas or slashes.
	Key string `yaml:"key"`
}

// Rules are rule settings.
type Rules struct {
	// Dirs hold more *.rules.yaml files, beside the built-in pack
	// (relative to the config file's directory when loaded with Load).
	Dirs []string `yaml:"dirs"`
	// Disabled rule IDs are not evaluated.
	Disabled []string `yaml:"disabled"`
	// ModeOverrides replaces rules' mode (alert, ticket or revert).
	ModeOverrides map[string]string `yaml:"mode_overrides"`
}

// Find loads the config file at path or, when path is "", the
// DefaultFile in the working directory if there is one; with neither it
// returns Default(). The CLI and every function read their config this way.
func Find(path string) (*Config, error) {
	if path == "" {
		st, err := os.Stat(DefaultFile)
		if err != nil || st.IsDir() {
			return Default(), nil
		}
		path = DefaultFile
	}
	return Load(path)
}

// Default returns the configuration of an empty file.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

// Load reads, decodes, completes and validates the file at path. Relative
// paths in it (store.path, rules.dirs) are made relative to the file's
// directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if c.Store.Kind == StoreSQLite && c.Store.Path != "" && !filepath.IsAbs(c.Store.Path) {
		c.Store.Path = filepath.Join(dir, c.Store.Path)
	}
	for i, d := range c.Rules.Dirs {
		if !filepath.IsAbs(d) {
			c.Rules.Dirs[i] = filepath.Join(dir, d)
		}
	}
	return c, nil
}

// Parse decodes data (name is used in errors), fills in defaults and
// validates. A returned error is an *Error listing every problem found.
func Parse(name string, data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse config %s: %w", name, err)
	}
	c := &Config{}
	w := walker{lines: map[string]int{}}
	if len(doc.Content) > 0 && doc.Content[0].ShortTag() != "!!null" {
		// Check the shape first, to report every unknown field and
		// misplaced value with its path; then decode strictly. When the
		// shape is wrong, decode what can be decoded, to report the
		// validation problems of the rest in the same go.
		w.walk(doc.Content[0], reflect.TypeFor[Config](), "")
		if len(w.problems) == 0 {
			if err := decodeStrict(data, c); err != nil {
				return nil, fmt.Errorf("decode config %s: %w", name, err)
			}
		} else {
			_ = yaml.Unmarshal(data, c) // the walker reported what fails
		}
	}
	c.applyDefaults()
	ps := w.problems
	var verr *Error
	if err := c.Validate(); errors.As(err, &verr) {
		for _, p := range verr.Problems {
			if !w.reported(p.Path) {
				p.Line = w.line(p.Path)
				ps = append(ps, p)
			}
		}
	}
	if len(ps) > 0 {
		slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
		return nil, &Error{File: name, Problems: ps}
	}
	return c, nil
}

// decodeStrict decodes the one YAML document of data into c, rejecting
// fields c does not declare.
func decodeStrict(data []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("the file holds more than one YAML document")
	}
	return nil
}

// applyDefaults fills in what the file left out.
func (c *Config) applyDefaults() {
	if c.Store.Kind == "" {
		c.Store.Kind = StoreSQLite
	}
	if c.Store.Kind == StoreSQLite && c.Store.Path == "" {
		c.Store.Path = DefaultStorePath
	}
	if c.Store.SeenTTL == 0 {
		c.Store.SeenTTL = DefaultSeenTTL
	}
	if c.Slack != nil && c.Slack.Mode == "" {
		c.Slack.Mode = SlackBot
	}
	if c.Jira != nil {
		if c.Jira.IssueType == "" {
			c.Jira.IssueType = DefaultIssueType
		}
		if c.Jira.DoneTransition == "" {
			c.Jira.DoneTransition = DefaultDoneTransition
		}
	}
	if c.Publish != nil {
		if c.Publish.EventBus == "" {
			c.Publish.EventBus = DefaultEventBus
		}
		if c.Publish.Source == "" {
			c.Publish.Source = DefaultSource
		}
	}
	if c.TagWaivers.Key == "" {
		c.TagWaivers.Key = DefaultWaiveTag
	}
}
