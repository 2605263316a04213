package main

import (
	"os"
	"testing"
)

// TestGeneratedFilesAreFresh fails when template.yaml's watch rules or
// docs/rules.md disagree with the catalog and the rule pack: run
// `make generate`.
func TestGeneratedFilesAreFresh(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.path, func(t *testing.T) {
			cur, err := os.ReadFile("../../" + tg.path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tg.make(cur)
			if err != nil {
				t.Fatal(err)
			}
			if string(cur) != string(want) {
				t.Fatalf("%s is stale: run `make generate`", tg.path)
			}
		})
	}
}

func TestRuleLogicalID(t *testing.T) {
	for in, want := range map[string]string{
		"s3.amazonaws.com":         "WatchS3Rule",
		"cloudtrail.amazonaws.com": "WatchCloudtrailRule",
		"lambda.amazonaws.com":     "WatchLambdaRule",
	} {
		if got := ruleLogicalID(in); got != want {
			t.Errorf("ruleLogicalID(%q) = %q, want %q", in, got, want)
		}
	}
}
