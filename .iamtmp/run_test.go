package iamtmp

import (
	"os"
	"testing"

	"github.com/driftwatch/driftwatch/shared/policy"
)

func TestIAMPack(t *testing.T) {
	rules, err := policy.LoadFS(os.DirFS("../shared/policy/pack/aws"), "iam.rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := policy.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := policy.LoadTestsFS(os.DirFS("../shared/policy/pack/aws"), "iam.tests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range policy.RunTests(e, tests...) {
		if !r.Passed {
			t.Error(r)
		} else if testing.Verbose() {
			t.Log(r, "|", r.Message)
		}
	}
	if c := policy.Coverage(e, tests...); len(c) > 0 {
		t.Errorf("uncovered: %v", c)
	}
}
