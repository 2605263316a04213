package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
)

const (
	beginMark = "  # BEGIN GENERATED watch rules: `make generate` writes this block from shared/catalog. Do not edit.\n"
	endMark   = "  # END GENERATED watch rules\n"
)

// templateWithRules replaces the generated block of template.yaml with one
// EventBridge rule per watched service and the queue policy that lets
// exactly those rules send to the detector queue.
func templateWithRules(cur []byte) ([]byte, error) {
	i := bytes.Index(cur, []byte(beginMark))
	j := bytes.Index(cur, []byte(endMark))
	if i < 0 || j < i {
		return nil, fmt.Errorf("template.yaml lacks the generated-block markers %q ... %q", strings.TrimSpace(beginMark), strings.TrimSpace(endMark))
	}
	block, err := watchRules(catalog.Default())
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Write(cur[:i+len(beginMark)])
	out.WriteString(block)
	out.Write(cur[j:])
	return out.Bytes(), nil
}

// ruleLogicalID is the CloudFormation logical ID of a service's rule.
func ruleLogicalID(service string) string {
	name := strings.TrimSuffix(service, ".amazonaws.com")
	var b strings.Builder
	b.WriteString("Watch")
	up := true
	for _, r := range name {
		if r == '-' || r == '.' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	b.WriteString("Rule")
	return b.String()
}

func watchRules(cat *catalog.Catalog) (string, error) {
	var b strings.Builder
	var ids []string
	for _, p := range cat.Patterns() {
		pat, err := json.Marshal(p.Pattern)
		if err != nil {
			return "", err
		}
		if len(pat) > 2048 {
			return "", fmt.Errorf("event pattern for %s is %d characters, over EventBridge's 2,048 default", p.Service, len(pat))
		}
		id := ruleLogicalID(p.Service)
		ids = append(ids, id)
		fmt.Fprintf(&b, `  %s:
    Type: AWS::Events::Rule
    Properties:
      Description: driftwatch watched %s changes
      EventBusName: !If [HasEventBus, !Ref EventBusName, default]
      State: ENABLED
      EventPattern: %s
      Targets:
        - Id: detector-queue
          Arn: !GetAtt DetectorQueue.Arn
`, id, p.Service, pat)
	}
	b.WriteString(`  DetectorQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref DetectorQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: WatchRulesSend
            Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt DetectorQueue.Arn
            Condition:
              ArnEquals:
                aws:SourceArn:
`)
	for _, id := range ids {
		fmt.Fprintf(&b, "                  - !GetAtt %s.Arn\n", id)
	}
	return b.String(), nil
}

// rulesReference renders docs/rules.md from the built-in pack.
func rulesReference() ([]byte, error) {
	rules, err := pack.All()
	if err != nil {
		return nil, err
	}
	ptrs := make([]*policy.Rule, len(rules))
	for i := range rules {
		ptrs[i] = &rules[i]
	}
	return policy.Reference(ptrs), nil
}

// catalogReference renders docs/catalog.md from the catalog.
func catalogReference() ([]byte, error) {
	var b strings.Builder
	entries := catalog.Default().Entries()
	b.WriteString("# Watched operations\n\n")
	b.WriteString("Generated from `shared/catalog` by `make generate`; do not edit.\n\n")
	fmt.Fprintf(&b, "%d operations. Operations marked * carry an API-version suffix in their event names\n", len(entries))
	b.WriteString("(`AddPermission20150331v2`) and are matched by prefix.\n\n")
	svc := ""
	for _, e := range entries {
		if e.Service != svc {
			svc = e.Service
			fmt.Fprintf(&b, "\n## %s\n\n| operation | touches | where the ID is |\n|---|---|---|\n", svc)
		}
		var types []string
		for _, t := range e.Targets {
			types = append(types, "`"+t.Type+"`")
		}
		op := e.Operation
		if e.Suffixed {
			op += "*"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", op, strings.Join(types, ", "), strings.ReplaceAll(e.Note, "|", "\\|"))
	}
	return []byte(b.String()), nil
}
