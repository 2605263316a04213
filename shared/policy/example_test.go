package policy_test

import (
	"context"
	"fmt"
	"log"

	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

func ExampleEngine() {
	rules, err := policy.ParseRules("example.rules.yaml", []byte(`
rules:
  - id: aws-iam-password-length
    title: Password policy requires at least 14 characters
    severity: medium
    resource_types: [AWS::IAM::AccountPasswordPolicy]
    condition: resource.Configured && resource.MinimumPasswordLength >= 14
    message: >-
      Account {{ ref.account }} allows passwords of {{ resource.MinimumPasswordLength }} characters
    references:
      cis: ["1.8"]
`))
	if err != nil {
		log.Fatal(err)
	}
	engine, err := policy.Compile(rules)
	if err != nil {
		log.Fatal(err)
	}

	for _, length := range []int64{8, 16} {
		verdicts := engine.Evaluate(context.Background(), policy.Input{
			Resource: resource.Resource{
				Ref: resource.Ref{
					Type:    "AWS::IAM::AccountPasswordPolicy",
					ID:      "arn:aws:iam::123456789012:account-password-policy",
					Account: "123456789012",
				},
				Exists: true,
				Doc:    map[string]any{"Configured": true, "MinimumPasswordLength": length},
			},
		})
		for _, v := range verdicts {
			fmt.Printf("%s %s: %s\n", v.RuleID, v.Result, v.Message)
		}
	}
	// Output:
	// aws-iam-password-length fail: Account 123456789012 allows passwords of 8 characters
	// aws-iam-password-length pass: Password policy requires at least 14 characters — compliant
}
