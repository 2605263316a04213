package config_test

import (
	"fmt"

	"github.com/driftwatch/driftwatch/shared/config"
)

func ExampleParse() {
	c, err := config.Parse("driftwatch.yaml", []byte(`
store: {kind: dynamodb, table: driftwatch-findings}
slack:
  token: env:SLACK_BOT_TOKEN
  routing:
    default: "#cloud-security"
    routes:
      - {min_severity: critical, channel: "#security-oncall"}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Store.Kind, c.Store.Table, c.Store.SeenTTL, c.Slack.Mode, c.Slack.Token)

	_, err = config.Parse("driftwatch.yaml", []byte(`
slack:
  token: xoxb-0000-pasted-by-mistake
  routing:
    default: "#cloud-security"
    routes:
      - {min_severity: urgent, channel: "#security-oncall"}
`))
	fmt.Println(err)
	// Output:
	// dynamodb driftwatch-findings 168h0m0s bot env:SLACK_BOT_TOKEN
	// invalid config, 2 problems:
	//	driftwatch.yaml:3: slack.token: looks like a literal secret: secrets are given only by reference, env:NAME or a Secrets Manager ARN (the value is not repeated here)
	//	driftwatch.yaml:7: slack.routing.routes[0].min_severity: "urgent" is not one of critical, high, medium, low, info
}
