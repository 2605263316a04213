package github

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/ticket"
)

// Config configures the GitHub Issues notifier. A config loader embeds it
// (the YAML names are its tags) and resolves the token's secret reference
// into Token itself: the token is never read from the file as plain text.
//
//	github:
//	  owner: example
//	  repo: security-findings
//	  token: {env: GITHUB_TOKEN}      # resolved by the loader
//	  base_url: https://github.example.com/api/v3/   # GitHub Enterprise Server only
//	  labels: [driftwatch]
//
// The token needs write access to the repository's issues; setting labels
// on a new issue needs push (or triage) access, and without the finding's
// label a ticket cannot be found again, so the notifier checks it.
type Config struct {
	// Owner is the user or organisation owning Repo.
	Owner string `yaml:"owner"`
	// Repo is the repository issues are opened in.
	Repo string `yaml:"repo"`
	// Token is the resolved token (a fine-grained or classic personal
	// access token, or an app installation token), sent as a Bearer token.
	Token secret.Secret `yaml:"-"`
	// BaseURL is the REST API root of a GitHub Enterprise Server
	// (https://github.example.com/api/v3/); empty means github.com.
	BaseURL string `yaml:"base_url,omitempty"`
	// Labels are added to every issue, besides the finding's label.
	Labels []string `yaml:"labels,omitempty"`
	// Repeats says which repeated changes are commented on the issue:
	// every (default), new_principal or none.
	Repeats ticket.Repeats `yaml:"repeats,omitempty"`
	// Timeout bounds each HTTP request (default 20s).
	Timeout time.Duration `yaml:"timeout,omitempty"`
}

// name is what GitHub accepts in owner and repository names.
var name = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// Validate reports every problem of c, each a *ticket.FieldError naming the
// field by its YAML name.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range []struct{ field, v string }{{"owner", c.Owner}, {"repo", c.Repo}} {
		if err := ticket.Required(f.field, f.v); err != nil {
			add(err)
		} else if !name.MatchString(f.v) || f.v == "." || f.v == ".." {
			add(&ticket.FieldError{Field: f.field, Problem: fmt.Sprintf("%q is not a GitHub name (letters, digits, '.', '_', '-')", f.v)})
		}
	}
	if c.Token.IsZero() {
		add(&ticket.FieldError{Field: "token", Problem: "required (the resolved token is empty)"})
	}
	if c.BaseURL != "" {
		add(ticket.CheckBaseURL("base_url", c.BaseURL))
	}
	add(ticket.CheckLabels("labels", c.Labels))
	add(c.Repeats.Check("repeats"))
	if c.Timeout < 0 {
		add(&ticket.FieldError{Field: "timeout", Problem: "negative"})
	}
	return errors.Join(errs...)
}
