package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/revert"
)

var _ Reverter = (*revert.Reverter)(nil)

// CloudReverter routes each resource to the Reverter of its cloud: ARM
// types (Microsoft.*) to Azure, every other type to AWS. A cloud without a
// Reverter skips its verdicts with a reason.
type CloudReverter struct {
	AWS, Azure Reverter
}

var _ Reverter = CloudReverter{}

// IsAzureType reports whether a resource type is an ARM type
// (Microsoft.Storage/storageAccounts), matched case-insensitively as ARM
// does.
func IsAzureType(typ string) bool {
	return len(typ) >= len("Microsoft.") && strings.EqualFold(typ[:len("Microsoft.")], "Microsoft.")
}

// RevertFailing hands the verdicts to the Reverter of res's cloud.
func (c CloudReverter) RevertFailing(ctx context.Context, res resource.Resource, readErr error, vs []policy.Verdict, ch *change.Change) []revert.Result {
	to, cloud := c.AWS, "AWS"
	if IsAzureType(res.Ref.Type) {
		to, cloud = c.Azure, "Azure"
	}
	if to != nil {
		return to.RevertFailing(ctx, res, readErr, vs, ch)
	}
	var out []revert.Result
	for _, v := range vs {
		if v.Result == policy.Pass {
			continue
		}
		r := revert.Result{Status: revert.StatusSkipped, Resource: v.Resource, RuleID: v.RuleID,
			Reason: fmt.Sprintf("automatic revert of %s resources is not set up in this deployment", cloud)}
		if r.Resource.ID == "" {
			r.Resource = res.Ref
		}
		if v.Rule != nil {
			r.Remediation = v.Rule.Remediation
		}
		out = append(out, r)
	}
	return out
}
