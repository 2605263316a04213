package azure

import "github.com/driftwatch/driftwatch/shared/revert"

// NewReverter returns revert's Reverter for exec (a Remediator): the same
// gates, in the same order, as for AWS — never on an error verdict or a
// failed read; the rule must name a remediation this package knows (the
// Remediator is a revert.Registry); the rule's mode must be revert unless
// a person asked; no allowlisted principal (the change's Entra object ID,
// or its managed identity's resource ID); the switch; the revert budget.
//
// Changes made by driftwatch's own identity never reach the Reverter (the
// filter drops them), so a revert never triggers another.
func NewReverter(exec revert.Executor, cfg revert.Config) (*revert.Reverter, error) {
	return revert.NewReverter(exec, cfg)
}

var _ revert.Registry = (*Remediator)(nil)

// Known reports whether name is one of this package's remediations.
func (r *Remediator) Known(name string) bool { return Known(name) }

// Manual reports no Azure remediation as manual: each one named is
// automated or refuses with its reason at planning.
func (r *Remediator) Manual(string) (string, bool) { return "", false }
