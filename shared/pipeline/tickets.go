package pipeline

import (
	"context"
	"fmt"

	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/ticket/github"
	"github.com/driftwatch/driftwatch/shared/ticket/jira"
)

// buildTickets builds the Jira and GitHub notifiers that are configured and
// switched on.
func buildTickets(ctx context.Context, cfg *config.Config, opts Options, eng *policy.Engine,
	secrets func(context.Context, config.SecretRef) (secret.Secret, error)) ([]finding.Notifier, error) {
	var out []finding.Notifier
	if opts.Sinks.Jira {
		c := cfg.Jira
		if c == nil {
			return nil, fmt.Errorf("jira: switched on but the config has no jira section")
		}
		tok, err := secrets(ctx, c.APIToken)
		if err != nil {
			return nil, fmt.Errorf("jira.api_token: %w", err)
		}
		n, err := jira.New(jira.Config{
			BaseURL: c.BaseURL, Email: c.Email, APIToken: secret.New(tok.Reveal()), Project: c.Project,
			IssueType: c.IssueType, DoneTransition: c.DoneTransition, Resolution: c.Resolution,
			Labels: c.Labels, Priorities: c.Priorities, Timeout: c.Timeout,
		}, jira.Options{Rules: eng})
		if err != nil {
			return nil, fmt.Errorf("jira: %w", err)
		}
		out = append(out, n)
	}
	if opts.Sinks.GitHub {
		c := cfg.GitHub
		if c == nil {
			return nil, fmt.Errorf("github: switched on but the config has no github section")
		}
		tok, err := secrets(ctx, c.Token)
		if err != nil {
			return nil, fmt.Errorf("github.token: %w", err)
		}
		n, err := github.New(github.Config{
			Owner: c.Owner, Repo: c.Repo, Token: secret.New(tok.Reveal()), BaseURL: c.BaseURL,
			Labels: c.Labels, Timeout: c.Timeout,
		}, github.Options{Rules: eng})
		if err != nil {
			return nil, fmt.Errorf("github: %w", err)
		}
		out = append(out, n)
	}
	return out, nil
}
