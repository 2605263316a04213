package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/driftwatch/driftwatch/internal/iamcheck"
	"github.com/driftwatch/driftwatch/shared/catalog"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
)

const (
	memberBegin = "  # BEGIN GENERATED member resources: `make generate` writes this block from shared/catalog, shared/fetch/aws and shared/revert. Do not edit.\n"
	memberEnd   = "  # END GENERATED member resources\n"
)

// memberWithResources replaces the generated block of deploy/aws/member.yaml:
// one forwarding rule per watched service, with the same event patterns as
// template.yaml's watch rules, and the member role whose read actions are
// the fetchers' declared actions and whose revert actions (a policy that
// exists only when AllowRevert is true) are the remediation calls' actions.
func memberWithResources(cur []byte) ([]byte, error) {
	i := bytes.Index(cur, []byte(memberBegin))
	j := bytes.Index(cur, []byte(memberEnd))
	if i < 0 || j < i {
		return nil, fmt.Errorf("member.yaml lacks the generated-block markers %q ... %q", strings.TrimSpace(memberBegin), strings.TrimSpace(memberEnd))
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	reverts, err := iamcheck.RevertActions(filepath.Join(root, "shared", "revert"))
	if err != nil {
		return nil, fmt.Errorf("read the remediations' IAM actions: %w", err)
	}
	block, err := memberResources(catalog.Default(), fetchaws.Actions(), reverts)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Write(cur[:i+len(memberBegin)])
	out.WriteString(block)
	out.Write(cur[j:])
	return out.Bytes(), nil
}

// forwardLogicalID is the logical ID of a service's forwarding rule.
func forwardLogicalID(service string) string {
	return "Forward" + strings.TrimPrefix(ruleLogicalID(service), "Watch")
}

func memberResources(cat *catalog.Catalog, reads, reverts []string) (string, error) {
	var b strings.Builder
	for _, p := range cat.Patterns() {
		pat, err := json.Marshal(p.Pattern)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, `  %s:
    Type: AWS::Events::Rule
    Properties:
      Description: driftwatch forwards watched %s changes to the central bus
      State: ENABLED
      EventPattern: %s
      Targets:
        - Id: central-bus
          Arn: !Ref CentralEventBusArn
          RoleArn: !GetAtt ForwarderRole.Arn
`, forwardLogicalID(p.Service), p.Service, pat)
	}
	b.WriteString(`  MemberRole:
    Type: AWS::IAM::Role
    Condition: CreateMemberRole
    Properties:
      RoleName: !Ref MemberRoleName
      Description: driftwatch re-reads (and, if allowed, reverts) the resources a change touched
      MaxSessionDuration: 3600
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: CentralDriftwatchFunctions
            Effect: Allow
            Principal:
              AWS: !Sub "arn:${AWS::Partition}:iam::${CentralAccountId}:root"
            Action: sts:AssumeRole
            Condition:
              StringEquals:
                sts:ExternalId: !Ref ExternalId
              ArnLike:
                aws:PrincipalArn: !Sub "arn:${AWS::Partition}:iam::${CentralAccountId}:role/${CentralStackName}-*"
      Policies:
        - PolicyName: driftwatch-read
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Sid: ReadWatchedResources
                Effect: Allow
                Resource: "*"
                Action:
`)
	for _, a := range reads {
		fmt.Fprintf(&b, "                  - %s\n", a)
	}
	if len(reverts) > 0 {
		b.WriteString(`        - !If
          - RevertAllowed
          - PolicyName: driftwatch-revert
            PolicyDocument:
              Version: "2012-10-17"
              Statement:
                - Sid: RevertWatchedResources
                  Effect: Allow
                  Resource: "*"
                  Action:
`)
		for _, a := range reverts {
			fmt.Fprintf(&b, "                    - %s\n", a)
		}
		b.WriteString("          - !Ref AWS::NoValue\n")
	}
	return b.String(), nil
}

// moduleRoot is the directory of go.mod above the working directory (the
// generator runs from the root, its tests from internal/generate).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}
