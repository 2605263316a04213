package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/driftwatch/driftwatch/shared/catalog"
)

// eventPatterns returns each rule's EventPattern line of a template's
// generated block, keyed by the service (the pattern's eventSource).
func eventPatterns(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^      EventPattern: (.*"eventSource":\["([a-z0-9.-]+)"\].*)$`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out[m[2]] = m[1]
	}
	return out
}

// TestMemberForwardsWhatTheCentralStackWatches fails when the member
// accounts' forwarding rules and the central watch rules match different
// events.
func TestMemberForwardsWhatTheCentralStackWatches(t *testing.T) {
	central := eventPatterns(t, "../../template.yaml")
	member := eventPatterns(t, "../../deploy/aws/member.yaml")
	if len(central) == 0 || len(central) != len(member) {
		t.Fatalf("template.yaml watches %d services, member.yaml forwards %d", len(central), len(member))
	}
	for svc, pat := range central {
		if member[svc] != pat {
			t.Errorf("%s: member.yaml forwards\n  %s\nbut template.yaml watches\n  %s", svc, member[svc], pat)
		}
	}
}

// TestSweeperChecksEveryWatchRule fails when the sweeper's
// DRIFTWATCH_WATCH_RULES does not name exactly the template's watch rules,
// so that the tamper check covers each.
func TestSweeperChecksEveryWatchRule(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(n *yaml.Node, key string) *yaml.Node {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
		return nil
	}
	resources := get(doc.Content[0], "Resources")
	var rules []string
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id := resources.Content[i].Value
		if strings.HasPrefix(id, "Watch") && get(resources.Content[i+1], "Type").Value == "AWS::Events::Rule" {
			rules = append(rules, id)
		}
	}
	join := get(get(get(get(get(resources, "SweeperFunction"), "Properties"), "Environment"), "Variables"), "DRIFTWATCH_WATCH_RULES")
	if join == nil || join.Tag != "!Join" || len(join.Content) != 2 {
		t.Fatalf("SweeperFunction's DRIFTWATCH_WATCH_RULES is not a !Join of the watch rules")
	}
	var refs []string
	for _, n := range join.Content[1].Content {
		if n.Tag != "!Ref" {
			t.Fatalf("DRIFTWATCH_WATCH_RULES holds %s %q, want only !Ref of watch rules", n.Tag, n.Value)
		}
		refs = append(refs, n.Value)
	}
	slices.Sort(rules)
	slices.Sort(refs)
	if len(rules) == 0 || !slices.Equal(rules, refs) {
		t.Errorf("DRIFTWATCH_WATCH_RULES names %v, the template's watch rules are %v", refs, rules)
	}
}

func TestMemberResourcesWithoutReverts(t *testing.T) {
	for _, tc := range []struct {
		reverts []string
		want    bool
	}{{nil, false}, {[]string{"s3:PutBucketAcl"}, true}} {
		block, err := memberResources(catalog.New(nil), []string{"s3:GetBucketAcl"}, tc.reverts)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(block, "RevertAllowed"); got != tc.want {
			t.Errorf("reverts %v: revert policy generated = %v, want %v:\n%s", tc.reverts, got, tc.want, block)
		}
	}
}
