package jira

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/ticket"
)

// Defaults of Config.
const (
	DefaultIssueType      = "Task"
	DefaultDoneTransition = "Done"
)

// Config configures the Jira notifier. A config loader embeds it (the YAML
// names are its tags) and resolves the API token's secret reference into
// APIToken itself: the token is never read from the file as plain text.
//
//	jira:
//	  base_url: https://example.atlassian.net
//	  email: driftwatch-bot@example.com
//	  api_token: {env: JIRA_API_TOKEN}   # resolved by the loader
//	  project: SEC
//	  issue_type: Bug
//	  done_transition: Done
//	  resolution: Fixed
//	  labels: [driftwatch, cloud-security]
//	  priorities: {critical: Highest, high: High, medium: Medium, low: Low}
type Config struct {
	// BaseURL is the site, e.g. https://example.atlassian.net (https; http
	// only for a loopback host). A path prefix is kept, so the API gateway
	// form https://api.atlassian.com/ex/jira/{cloudId} works too.
	BaseURL string `yaml:"base_url"`
	// Email is the Atlassian account the API token belongs to (basic auth
	// user name).
	Email string `yaml:"email"`
	// APIToken is the resolved API token (basic auth password).
	APIToken secret.Secret `yaml:"-"`
	// Project is the key of the project tickets are created in ("SEC").
	Project string `yaml:"project"`
	// IssueType is the name of the issue type created (default "Task").
	IssueType string `yaml:"issue_type,omitempty"`
	// DoneTransition names the workflow transition that closes a ticket,
	// matched case-insensitively against each available transition's name
	// and the name of the status it leads to (default "Done").
	DoneTransition string `yaml:"done_transition,omitempty"`
	// Resolution, if set, is the resolution name sent with the done
	// transition, for workflows whose done screen requires one ("Fixed").
	Resolution string `yaml:"resolution,omitempty"`
	// Labels are added to every ticket, besides the finding's label.
	Labels []string `yaml:"labels,omitempty"`
	// Repeats says which repeated changes are commented on the ticket:
	// every (default), new_principal or none.
	Repeats ticket.Repeats `yaml:"repeats,omitempty"`
	// Priorities maps a severity (critical, high, medium, low, info) to the
	// name of a Jira priority; a severity not listed sets no priority.
	Priorities map[string]string `yaml:"priorities,omitempty"`
	// Timeout bounds each HTTP request (default 20s).
	Timeout time.Duration `yaml:"timeout,omitempty"`
}

// projectKey is Jira's default project key pattern: an uppercase letter,
// then uppercase letters, digits or underscores.
var projectKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,254}$`)

var severities = []string{policy.SeverityCritical, policy.SeverityHigh, policy.SeverityMedium, policy.SeverityLow, policy.SeverityInfo}

// Validate reports every problem of c, each a *ticket.FieldError naming the
// field by its YAML name.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := ticket.Required("base_url", c.BaseURL); err != nil {
		add(err)
	} else {
		add(ticket.CheckBaseURL("base_url", c.BaseURL))
	}
	add(ticket.Required("email", c.Email))
	if c.APIToken.IsZero() {
		add(&ticket.FieldError{Field: "api_token", Problem: "required (the resolved token is empty)"})
	}
	if err := ticket.Required("project", c.Project); err != nil {
		add(err)
	} else if !projectKey.MatchString(c.Project) {
		add(&ticket.FieldError{Field: "project", Problem: fmt.Sprintf("%q is not a project key (uppercase letters, digits, underscores, starting with a letter)", c.Project)})
	}
	add(ticket.CheckLabels("labels", c.Labels))
	add(c.Repeats.Check("repeats"))
	for _, sev := range slices.Sorted(maps.Keys(c.Priorities)) {
		prio := c.Priorities[sev]
		if !slices.Contains(severities, sev) {
			add(&ticket.FieldError{Field: "priorities." + sev, Problem: fmt.Sprintf("unknown severity (want one of %s)", strings.Join(severities, ", "))})
		} else if strings.TrimSpace(prio) == "" {
			add(&ticket.FieldError{Field: "priorities." + sev, Problem: "empty priority name"})
		}
	}
	if c.Timeout < 0 {
		add(&ticket.FieldError{Field: "timeout", Problem: "negative"})
	}
	return errors.Join(errs...)
}

func (c *Config) issueType() string {
	if c.IssueType != "" {
		return c.IssueType
	}
	return DefaultIssueType
}

func (c *Config) doneTransition() string {
	if c.DoneTransition != "" {
		return c.DoneTransition
	}
	return DefaultDoneTransition
}
