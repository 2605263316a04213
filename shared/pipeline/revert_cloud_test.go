package pipeline

import (
	"context"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
)

// fakeReverter records the resources it was asked about.
type fakeReverter struct {
	got []string
}

var _ Reverter = (*fakeReverter)(nil)

func (f *fakeReverter) RevertFailing(_ context.Context, res resource.Resource, _ error, vs []policy.Verdict, _ *change.Change) []revert.Result {
	f.got = append(f.got, res.Ref.ID)
	return []revert.Result{{Status: revert.StatusReverted, Resource: res.Ref, RuleID: vs[0].RuleID}}
}

func TestCloudReverter(t *testing.T) {
	fail := []policy.Verdict{{RuleID: "r", Result: policy.Fail, Rule: &policy.Rule{ID: "r", Remediation: "fix"}}, {RuleID: "p", Result: policy.Pass}}
	tests := []struct {
		name       string
		typ        string
		aws, azure bool
		want       string // "aws", "azure" or "skipped"
	}{
		{"AWS type to AWS", "AWS::S3::Bucket", true, true, "aws"},
		{"ARM type to Azure", "Microsoft.Storage/storageAccounts", true, true, "azure"},
		{"ARM type in any case", "microsoft.network/networkSecurityGroups", true, true, "azure"},
		{"Azure without its reverter", "Microsoft.Storage/storageAccounts", true, false, "skipped"},
		{"AWS without its reverter", "AWS::EC2::SecurityGroup", false, true, "skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a, z fakeReverter
			var c CloudReverter
			if tt.aws {
				c.AWS = &a
			}
			if tt.azure {
				c.Azure = &z
			}
			res := resource.Resource{Ref: resource.Ref{Type: tt.typ, ID: "id-1"}, Exists: true}
			out := c.RevertFailing(context.Background(), res, nil, fail, nil)
			got := "skipped"
			switch {
			case len(a.got) == 1 && len(z.got) == 0:
				got = "aws"
			case len(z.got) == 1 && len(a.got) == 0:
				got = "azure"
			case len(a.got)+len(z.got) != 0:
				t.Fatalf("aws %v, azure %v", a.got, z.got)
			}
			if got != tt.want {
				t.Fatalf("routed to %s, want %s", got, tt.want)
			}
			if got == "skipped" && (len(out) != 1 || out[0].Status != revert.StatusSkipped || out[0].Resource.ID != "id-1" ||
				out[0].RuleID != "r" || out[0].Remediation != "fix" || out[0].Reason == "") {
				t.Fatalf("results %+v, want one skipped result for the failing verdict", out)
			}
		})
	}
}
