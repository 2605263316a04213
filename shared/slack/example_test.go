package slack_test

import (
	"fmt"
	"time"

	"github.com/driftwatch/driftwatch/shared/finding"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/slack"
)

// The message a finding would get, rendered for a terminal (what make demo
// shows instead of posting).
func ExampleRenderText() {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	sg := resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc", Account: "123456789012", Region: "eu-west-1"}
	ch := finding.Change{
		EventID: "e1", Time: at, PrincipalARN: "arn:aws:iam::123456789012:user/alice", PrincipalType: "IAMUser",
		SourceIP: "203.0.113.10", UserAgent: "aws-cli/2.15.0", Service: "ec2.amazonaws.com", Operation: "AuthorizeSecurityGroupIngress",
	}
	f := &finding.Finding{
		Key:     finding.Key{Cloud: "aws", Account: sg.Account, ResourceID: sg.ID, RuleID: "aws-ec2-sg-ssh-world"},
		Account: sg.Account, Region: sg.Region, Resource: sg, RuleID: "aws-ec2-sg-ssh-world",
		Severity: "critical", Title: "Security group allows SSH from the internet",
		Message: "sg-0abc allows tcp/22 from 0.0.0.0/0", Count: 1, Occurrence: 1, FirstSeen: at, LastSeen: at,
		Change: ch, OpenedBy: ch,
	}
	n := finding.Notice{Kind: finding.Opened, Occurrence: 1, Change: ch, Message: f.Message, At: at}
	msg := slack.AlertMessage(f, n, slack.Details{
		CIS:     []string{"5.2"},
		Request: map[string]any{"groupId": "sg-0abc", "ipPermissions": map[string]any{"items": []any{map[string]any{"ipProtocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}}}}}},
	})
	fmt.Print(slack.RenderText(msg))
	// Output:
	// 🔴 CRITICAL · Security group allows SSH from the internet
	// ========================================================
	//
	// sg-0abc allows tcp/22 from 0.0.0.0/0
	//
	// Resource: arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc
	//     Open in AWS console: https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-0abc
	// Type: AWS::EC2::SecurityGroup
	// Account: 123456789012
	// Region: eu-west-1
	//
	// Changed by: arn:aws:iam::123456789012:user/alice
	//     IAMUser
	// Source IP: 203.0.113.10
	// User agent: aws-cli/2.15.0
	// When: 2024-05-01 12:00:00 UTC
	//
	// Change ec2:AuthorizeSecurityGroupIngress  (event e1)
	//     groupId: sg-0abc
	//     ipPermissions: {fromPort: 22, ipProtocol: tcp, ipRanges: {cidrIp: 0.0.0.0/0}, toPort: 22}
	//
	// Rule aws-ec2-sg-ssh-world · CIS 5.2 · Finding dw-085a5ebaa4617818
	//
	// [Revert now] [Acknowledge] [Snooze 24 h] [Accept as baseline]
}
