package aws

import (
	"maps"
	"slices"
	"strings"
)

// operationActions maps each AWS SDK operation a family calls, named
// "<package>.<Operation>" after the SDK package's import name (for example
// "s3control.GetPublicAccessBlock"), to the IAM actions that authorise it:
// the operation's own action first, then any action the service checks
// besides (Lambda returns a function's tags from GetFunction only to a
// caller also allowed lambda:ListTags).
//
// IAM action names do not always match operation names (S3's
// GetBucketEncryption is s3:GetEncryptionConfiguration), so every family
// file declares its table next to the calls it makes, and a test checks that
// every SDK operation the package references has an entry and every entry
// is still referenced.
type operationActions map[string][]string

// families are the declaration tables of every fetcher family, plus the
// role assumption of assume.go.
func families() []operationActions {
	return []operationActions{
		s3Actions, ec2Actions, iamActions, cloudtrailActions, kmsActions,
		rdsActions, configActions, guarddutyActions, lambdaActions, assumeActions,
	}
}

// Actions returns the IAM actions a Reader's fetchers need to read every
// resource type it supports, sorted and without duplicates. It does not
// include sts:AssumeRole, which only a Reader with a CrossAccount option
// calls (see AssumeActions). Deployment templates grant exactly these.
func Actions() []string {
	set := map[string]bool{}
	for _, fam := range families() {
		for op, acts := range fam {
			if strings.HasPrefix(op, "sts.") {
				continue
			}
			for _, a := range acts {
				set[a] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// AssumeActions returns the IAM actions a Reader with a CrossAccount option
// needs in its own account to reach member accounts.
func AssumeActions() []string {
	var out []string
	for _, acts := range assumeActions {
		out = append(out, acts...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ActionsFor returns the IAM actions that authorise an SDK operation of the
// package (its import name, "s3control") as the fetchers call it, and
// whether the operation is declared at all.
func ActionsFor(pkg, operation string) ([]string, bool) {
	key := pkg + "." + operation
	for _, fam := range families() {
		if acts, ok := fam[key]; ok {
			return slices.Clone(acts), true
		}
	}
	return nil, false
}
