package config_test

import (
	"path/filepath"
	"testing"

	"github.com/driftwatch/driftwatch/shared/config"
	"github.com/driftwatch/driftwatch/shared/secret"
	"github.com/driftwatch/driftwatch/shared/slack"
	"github.com/driftwatch/driftwatch/shared/ticket/github"
	"github.com/driftwatch/driftwatch/shared/ticket/jira"
)

// The sections map onto the notifiers' own configurations field by field
// (with the resolved secrets): the example's sections must be accepted by
// the notifiers, and a change on either side breaks this test rather than
// the wiring in main.
func TestSectionsFitNotifiers(t *testing.T) {
	c, err := config.Load(filepath.Join("..", "..", "driftwatch.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	routing := slack.Routing{Default: c.Slack.Routing.Default}
	for _, r := range c.Slack.Routing.Routes {
		routing.Routes = append(routing.Routes, slack.Route(r)) // same fields
	}
	if err := routing.Validate(); err != nil {
		t.Errorf("slack refuses the example's routing: %v", err)
	}
	if got := routing.Channel("aws-iam-root-mfa", "123456789012", "critical"); got != "#iam-alerts" {
		t.Errorf("routing.Channel = %q, want #iam-alerts", got)
	}
	sc := slack.Config{BotToken: secret.New("xoxb-resolved"), Routing: routing}
	if err := sc.Validate(); err != nil {
		t.Errorf("slack refuses the example's section: %v", err)
	}

	j := c.Jira
	jc := jira.Config{
		BaseURL: j.BaseURL, Email: j.Email, APIToken: secret.New("resolved"), Project: j.Project,
		IssueType: j.IssueType, DoneTransition: j.DoneTransition, Resolution: j.Resolution,
		Labels: j.Labels, Priorities: j.Priorities, Timeout: j.Timeout,
	}
	if err := jc.Validate(); err != nil {
		t.Errorf("jira refuses the example's section: %v", err)
	}

	g := c.GitHub
	gc := github.Config{Owner: g.Owner, Repo: g.Repo, Token: secret.New("resolved"), BaseURL: g.BaseURL, Labels: g.Labels, Timeout: g.Timeout}
	if err := gc.Validate(); err != nil {
		t.Errorf("github refuses the example's section: %v", err)
	}
}
