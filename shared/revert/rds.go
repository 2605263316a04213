package revert

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// rdsMinimumBackupRetention is the retention (days) the backup rule asks
// for.
const rdsMinimumBackupRetention = 7

func rdsRemediations() map[string]remediation {
	instance := []string{"AWS::RDS::DBInstance"}
	modify := func(f func(api rdsModifyAPI, id, region string, t *target) (planned, error)) func(context.Context, *Remediator, *target) (planned, error) {
		return func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region, id, err := rdsIdentifier(t, "db")
			if err != nil {
				return planned{}, err
			}
			return f(r.rdsClient(region), id, region, t)
		}
	}
	return map[string]remediation{
		"rds-disable-public-access":             {types: instance, plan: modify(planRDSPrivate)},
		"rds-enable-auto-minor-version-upgrade": {types: instance, plan: modify(planRDSAutoMinorUpgrade)},
		"rds-enable-deletion-protection":        {types: instance, plan: modify(planRDSDeletionProtection)},
		"rds-set-backup-retention":              {types: instance, plan: modify(planRDSBackupRetention)},
		"rds-make-snapshot-private": {types: []string{"AWS::RDS::DBSnapshot"}, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region, id, err := rdsIdentifier(t, "snapshot")
			if err != nil {
				return planned{}, err
			}
			return planRDSSnapshotPrivate(r.rdsClient(region), id, region, t)
		}},
		"rds-make-cluster-snapshot-private": {types: []string{"AWS::RDS::DBClusterSnapshot"}, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			region, id, err := rdsIdentifier(t, "cluster-snapshot")
			if err != nil {
				return planned{}, err
			}
			return planRDSClusterSnapshotPrivate(r.rdsClient(region), id, region, t)
		}},
	}
}

// rdsClient returns the RDS client of a region.
func (r *Remediator) rdsClient(region string) *rds.Client {
	return client(r, "rds", region, func(cfg aws.Config) *rds.Client { return rds.NewFromConfig(cfg) })
}

// rdsIdentifier splits arn:{p}:rds:{region}:{account}:{kind}:{identifier}.
func rdsIdentifier(t *target, kind string) (region, id string, err error) {
	parts := strings.SplitN(t.res.Ref.ID, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "rds" || parts[5] != kind || parts[6] == "" {
		return "", "", fmt.Errorf("parse RDS %s ARN %q: want arn:partition:rds:region:account:%s:identifier", kind, t.res.Ref.ID, kind)
	}
	region = parts[3]
	if region == "" {
		region = t.res.Ref.Region
	}
	return region, parts[6], nil
}

// rdsModifyAPI is what the DB instance remediations call.
type rdsModifyAPI interface {
	ModifyDBInstance(ctx context.Context, in *rds.ModifyDBInstanceInput, optFns ...func(*rds.Options)) (*rds.ModifyDBInstanceOutput, error)
}

// The DB instance remediations never pass ApplyImmediately: it would also
// apply every modification pending for the maintenance window (an instance
// class change, an engine upgrade), with their outages. The settings they
// change take effect without it: PubliclyAccessible and DeletionProtection
// immediately, AutoMinorVersionUpgrade and a retention change between two
// non-zero values as soon as possible.

func rdsModify(api rdsModifyAPI, region string, in *rds.ModifyDBInstanceInput, reason string) planned {
	return planned{calls: []Call{newCall("rds", "ModifyDBInstance", "rds:ModifyDBInstance", region, api.ModifyDBInstance, in)}, reason: reason}
}

// planRDSPrivate makes the instance not publicly accessible.
func planRDSPrivate(api rdsModifyAPI, id, region string, t *target) (planned, error) {
	if !docBool(t.doc(), "PubliclyAccessible") {
		return nothing("DB instance %s is not publicly accessible", id)
	}
	return rdsModify(api, region, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), PubliclyAccessible: aws.Bool(false)},
		"sets PubliclyAccessible to false"), nil
}

// planRDSAutoMinorUpgrade turns automatic minor version upgrades on.
func planRDSAutoMinorUpgrade(api rdsModifyAPI, id, region string, t *target) (planned, error) {
	if docBool(t.doc(), "AutoMinorVersionUpgrade") {
		return nothing("DB instance %s already upgrades minor versions automatically", id)
	}
	return rdsModify(api, region, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), AutoMinorVersionUpgrade: aws.Bool(true)},
		"sets AutoMinorVersionUpgrade to true"), nil
}

// planRDSDeletionProtection turns deletion protection on.
func planRDSDeletionProtection(api rdsModifyAPI, id, region string, t *target) (planned, error) {
	if docBool(t.doc(), "DeletionProtection") {
		return nothing("DB instance %s already has deletion protection", id)
	}
	return rdsModify(api, region, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), DeletionProtection: aws.Bool(true)},
		"sets DeletionProtection to true"), nil
}

// planRDSBackupRetention raises a short (non-zero) backup retention to 7
// days. Turning automated backups on from 0 days causes an outage and an
// immediate backup, so an instance without backups is left to a person.
func planRDSBackupRetention(api rdsModifyAPI, id, region string, t *target) (planned, error) {
	days := docInt(t.doc(), "BackupRetentionPeriod")
	switch {
	case days >= rdsMinimumBackupRetention:
		return nothing("DB instance %s keeps backups %d days", id, days)
	case days == 0:
		return nothing("DB instance %s has automated backups off: turning them on causes an outage and an immediate backup, "+
			"so it is left to a person (ModifyDBInstance BackupRetentionPeriod in a maintenance window)", id)
	}
	return rdsModify(api, region, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), BackupRetentionPeriod: aws.Int32(rdsMinimumBackupRetention)},
		fmt.Sprintf("raises BackupRetentionPeriod from %d to %d days", days, rdsMinimumBackupRetention)), nil
}

// rdsSnapshotAttributeAPI is what rds-make-snapshot-private calls.
type rdsSnapshotAttributeAPI interface {
	ModifyDBSnapshotAttribute(ctx context.Context, in *rds.ModifyDBSnapshotAttributeInput, optFns ...func(*rds.Options)) (*rds.ModifyDBSnapshotAttributeOutput, error)
}

// planRDSSnapshotPrivate removes "all" from the snapshot's restore
// attribute; the accounts it is shared with stay.
func planRDSSnapshotPrivate(api rdsSnapshotAttributeAPI, id, region string, t *target) (planned, error) {
	if !docBool(t.doc(), "RestoreAttribute.Public") {
		return nothing("DB snapshot %s is not public", id)
	}
	in := &rds.ModifyDBSnapshotAttributeInput{DBSnapshotIdentifier: aws.String(id), AttributeName: aws.String("restore"), ValuesToRemove: []string{"all"}}
	return planned{calls: []Call{newCall("rds", "ModifyDBSnapshotAttribute", "rds:ModifyDBSnapshotAttribute", region, api.ModifyDBSnapshotAttribute, in)},
		reason: "removes all from the restore attribute"}, nil
}

// rdsClusterSnapshotAttributeAPI is what rds-make-cluster-snapshot-private
// calls.
type rdsClusterSnapshotAttributeAPI interface {
	ModifyDBClusterSnapshotAttribute(ctx context.Context, in *rds.ModifyDBClusterSnapshotAttributeInput, optFns ...func(*rds.Options)) (*rds.ModifyDBClusterSnapshotAttributeOutput, error)
}

// planRDSClusterSnapshotPrivate removes "all" from the cluster snapshot's
// restore attribute; the accounts it is shared with stay.
func planRDSClusterSnapshotPrivate(api rdsClusterSnapshotAttributeAPI, id, region string, t *target) (planned, error) {
	if !docBool(t.doc(), "RestoreAttribute.Public") {
		return nothing("DB cluster snapshot %s is not public", id)
	}
	in := &rds.ModifyDBClusterSnapshotAttributeInput{DBClusterSnapshotIdentifier: aws.String(id), AttributeName: aws.String("restore"), ValuesToRemove: []string{"all"}}
	return planned{calls: []Call{newCall("rds", "ModifyDBClusterSnapshotAttribute", "rds:ModifyDBClusterSnapshotAttribute", region, api.ModifyDBClusterSnapshotAttribute, in)},
		reason: "removes all from the restore attribute"}, nil
}
