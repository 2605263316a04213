package detect

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// The RDS scenarios make the risky change against moto through the SDK,
// feed the CloudTrail record that change would produce (the shape of real
// ModifyDBInstance and ModifyDB(Cluster)SnapshotAttribute records, with
// moto's IDs), and check the rule's verdict; then they undo the change and
// check again.

const rdsSource = "rds.amazonaws.com"

func rdsMust(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// rdsInstance creates a DB instance that passes every DB instance rule,
// except that its storage is encrypted only when encrypted is set.
func rdsInstance(t *testing.T, api *rds.Client, prefix string, encrypted bool) string {
	t.Helper()
	id := unique(prefix)
	_, err := api.CreateDBInstance(context.Background(), &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("mysql"),
		MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("not-a-real-password"), AllocatedStorage: aws.Int32(20),
		PubliclyAccessible: aws.Bool(false), StorageEncrypted: aws.Bool(encrypted), BackupRetentionPeriod: aws.Int32(7),
		DeletionProtection: aws.Bool(true), AutoMinorVersionUpgrade: aws.Bool(true),
	})
	rdsMust(t, "create DB instance "+id, err)
	return id
}

// rdsInstanceResponse is a DB instance as CloudTrail records it in the
// responseElements of ModifyDBInstance (the description, flattened, with
// lower-camel-case names).
func rdsInstanceResponse(db *rdstypes.DBInstance) map[string]any {
	sgs := []any{}
	for _, sg := range db.VpcSecurityGroups {
		sgs = append(sgs, map[string]any{"status": aws.ToString(sg.Status), "vpcSecurityGroupId": aws.ToString(sg.VpcSecurityGroupId)})
	}
	return map[string]any{
		"dBInstanceArn":           aws.ToString(db.DBInstanceArn),
		"dBInstanceIdentifier":    aws.ToString(db.DBInstanceIdentifier),
		"dBInstanceClass":         aws.ToString(db.DBInstanceClass),
		"dBInstanceStatus":        aws.ToString(db.DBInstanceStatus),
		"engine":                  aws.ToString(db.Engine),
		"engineVersion":           aws.ToString(db.EngineVersion),
		"publiclyAccessible":      aws.ToBool(db.PubliclyAccessible),
		"storageEncrypted":        aws.ToBool(db.StorageEncrypted),
		"backupRetentionPeriod":   aws.ToInt32(db.BackupRetentionPeriod),
		"autoMinorVersionUpgrade": aws.ToBool(db.AutoMinorVersionUpgrade),
		"deletionProtection":      aws.ToBool(db.DeletionProtection),
		"multiAZ":                 aws.ToBool(db.MultiAZ),
		"pendingModifiedValues":   map[string]any{},
		"vpcSecurityGroups":       sgs,
		"tagList":                 []any{},
	}
}

// rdsModifyInstance calls ModifyDBInstance and returns its CloudTrail record.
func rdsModifyInstance(t *testing.T, api *rds.Client, in *rds.ModifyDBInstanceInput, request map[string]any) []byte {
	t.Helper()
	out, err := api.ModifyDBInstance(context.Background(), in)
	rdsMust(t, "modify DB instance "+aws.ToString(in.DBInstanceIdentifier), err)
	request["dBInstanceIdentifier"] = aws.ToString(in.DBInstanceIdentifier)
	return record(rdsSource, "ModifyDBInstance", request, rdsInstanceResponse(out.DBInstance))
}

// rdsExpectResource asserts the result of one rule for one resource.
func rdsExpectResource(t *testing.T, vs []policy.Verdict, rule, id string, want policy.Result) {
	t.Helper()
	for _, v := range vs {
		if v.RuleID == rule && v.Resource.ID == id {
			if v.Result != want {
				t.Fatalf("rule %s on %s: got %s (%s), want %s", rule, id, v.Result, v.Message, want)
			}
			return
		}
	}
	t.Fatalf("no verdict for rule %s on %s", rule, id)
}

func TestRDSScenarioInstancePublic(t *testing.T) {
	env := newMotoEnv(t)
	api := rds.NewFromConfig(env.cfg)
	const rule = "aws-rds-instance-publicly-accessible"
	id := rdsInstance(t, api, "scn-public-db", true)

	vs := env.feed(t, rdsModifyInstance(t, api, &rds.ModifyDBInstanceInput{
		DBInstanceIdentifier: aws.String(id), PubliclyAccessible: aws.Bool(true), ApplyImmediately: aws.Bool(true),
	}, map[string]any{"allowMajorVersionUpgrade": false, "applyImmediately": true, "publiclyAccessible": true}))
	expect(t, vs, rule, policy.Fail)
	// The rest of the instance is compliant: only the change is reported.
	for _, other := range []string{
		"aws-rds-instance-storage-not-encrypted", "aws-rds-instance-auto-minor-version-upgrade-disabled",
		"aws-rds-instance-backup-retention-too-short", "aws-rds-instance-deletion-protection-disabled",
	} {
		expect(t, vs, other, policy.Pass)
	}

	vs = env.feed(t, rdsModifyInstance(t, api, &rds.ModifyDBInstanceInput{
		DBInstanceIdentifier: aws.String(id), PubliclyAccessible: aws.Bool(false), ApplyImmediately: aws.Bool(true),
	}, map[string]any{"applyImmediately": true, "publiclyAccessible": false}))
	expect(t, vs, rule, policy.Pass)
}

func TestRDSScenarioInstanceWeakened(t *testing.T) {
	env := newMotoEnv(t)
	api := rds.NewFromConfig(env.cfg)
	id := rdsInstance(t, api, "scn-weak-db", true)

	vs := env.feed(t, rdsModifyInstance(t, api, &rds.ModifyDBInstanceInput{
		DBInstanceIdentifier: aws.String(id), BackupRetentionPeriod: aws.Int32(1), DeletionProtection: aws.Bool(false),
		AutoMinorVersionUpgrade: aws.Bool(false), ApplyImmediately: aws.Bool(true),
	}, map[string]any{"applyImmediately": true, "backupRetentionPeriod": 1, "deletionProtection": false, "autoMinorVersionUpgrade": false}))
	expect(t, vs, "aws-rds-instance-backup-retention-too-short", policy.Fail)
	expect(t, vs, "aws-rds-instance-deletion-protection-disabled", policy.Fail)
	expect(t, vs, "aws-rds-instance-auto-minor-version-upgrade-disabled", policy.Fail)

	vs = env.feed(t, rdsModifyInstance(t, api, &rds.ModifyDBInstanceInput{
		DBInstanceIdentifier: aws.String(id), BackupRetentionPeriod: aws.Int32(14), DeletionProtection: aws.Bool(true),
		AutoMinorVersionUpgrade: aws.Bool(true), ApplyImmediately: aws.Bool(true),
	}, map[string]any{"applyImmediately": true, "backupRetentionPeriod": 14, "deletionProtection": true, "autoMinorVersionUpgrade": true}))
	expect(t, vs, "aws-rds-instance-backup-retention-too-short", policy.Pass)
	expect(t, vs, "aws-rds-instance-deletion-protection-disabled", policy.Pass)
	expect(t, vs, "aws-rds-instance-auto-minor-version-upgrade-disabled", policy.Pass)
}

// TestRDSScenarioInstanceRenamed checks that a rename checks the instance
// under its new name and finds the old name gone.
func TestRDSScenarioInstanceRenamed(t *testing.T) {
	env := newMotoEnv(t)
	api := rds.NewFromConfig(env.cfg)
	const rule = "aws-rds-instance-publicly-accessible"
	old := rdsInstance(t, api, "scn-rename-db", true)
	renamed := old + "-new"

	vs := env.feed(t, rdsModifyInstance(t, api, &rds.ModifyDBInstanceInput{
		DBInstanceIdentifier: aws.String(old), NewDBInstanceIdentifier: aws.String(renamed),
		PubliclyAccessible: aws.Bool(true), ApplyImmediately: aws.Bool(true),
	}, map[string]any{"applyImmediately": true, "newDBInstanceIdentifier": renamed, "publiclyAccessible": true}))
	prefix := "arn:aws:rds:" + mototest.Region + ":" + mototest.Account + ":db:"
	rdsExpectResource(t, vs, rule, prefix+renamed, policy.Fail)
	rdsExpectResource(t, vs, rule, prefix+old, policy.Pass)
}

func TestRDSScenarioSnapshotPublic(t *testing.T) {
	env := newMotoEnv(t)
	api := rds.NewFromConfig(env.cfg)
	ctx := context.Background()
	// Encrypted snapshots cannot be made public, so the instance is not.
	db := rdsInstance(t, api, "scn-snap-db", false)
	snap := unique("scn-nightly")
	_, err := api.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBSnapshotIdentifier: aws.String(snap), DBInstanceIdentifier: aws.String(db)})
	rdsMust(t, "create DB snapshot", err)

	modify := func(add, remove []string) []byte {
		t.Helper()
		out, err := api.ModifyDBSnapshotAttribute(ctx, &rds.ModifyDBSnapshotAttributeInput{
			DBSnapshotIdentifier: aws.String(snap), AttributeName: aws.String("restore"), ValuesToAdd: add, ValuesToRemove: remove,
		})
		rdsMust(t, "modify DB snapshot attribute", err)
		req := map[string]any{"attributeName": "restore", "dBSnapshotIdentifier": snap}
		if add != nil {
			req["valuesToAdd"] = add
		}
		if remove != nil {
			req["valuesToRemove"] = remove
		}
		var attrs []any
		for _, a := range out.DBSnapshotAttributesResult.DBSnapshotAttributes {
			attrs = append(attrs, map[string]any{"attributeName": aws.ToString(a.AttributeName), "attributeValues": a.AttributeValues})
		}
		return record(rdsSource, "ModifyDBSnapshotAttribute", req, map[string]any{"dBSnapshotAttributes": attrs, "dBSnapshotIdentifier": snap})
	}

	vs := env.feed(t, modify([]string{"all"}, nil))
	expect(t, vs, "aws-rds-snapshot-public", policy.Fail)
	expect(t, vs, "aws-rds-snapshot-shared-with-other-accounts", policy.Pass)
	expect(t, vs, "aws-rds-snapshot-not-encrypted", policy.Fail)

	vs = env.feed(t, modify([]string{"503161813013"}, []string{"all"}))
	expect(t, vs, "aws-rds-snapshot-public", policy.Pass)
	expect(t, vs, "aws-rds-snapshot-shared-with-other-accounts", policy.Fail)

	vs = env.feed(t, modify(nil, []string{"503161813013"}))
	expect(t, vs, "aws-rds-snapshot-shared-with-other-accounts", policy.Pass)

	_, err = api.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String(snap)})
	rdsMust(t, "delete DB snapshot", err)
	vs = env.feed(t, record(rdsSource, "DeleteDBSnapshot", map[string]any{"dBSnapshotIdentifier": snap}, nil))
	expect(t, vs, "aws-rds-snapshot-not-encrypted", policy.Pass)
}

func TestRDSScenarioClusterSnapshotPublic(t *testing.T) {
	env := newMotoEnv(t)
	api := rds.NewFromConfig(env.cfg)
	ctx := context.Background()
	cluster := unique("scn-aurora")
	_, err := api.CreateDBCluster(ctx, &rds.CreateDBClusterInput{
		DBClusterIdentifier: aws.String(cluster), Engine: aws.String("aurora-postgresql"),
		MasterUsername: aws.String("app"), MasterUserPassword: aws.String("not-a-real-password"),
	})
	rdsMust(t, "create DB cluster", err)
	snap := unique("scn-aurora-weekly")
	_, err = api.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{
		DBClusterSnapshotIdentifier: aws.String(snap), DBClusterIdentifier: aws.String(cluster),
	})
	rdsMust(t, "create DB cluster snapshot", err)

	modify := func(field string, values []string) []byte {
		t.Helper()
		in := &rds.ModifyDBClusterSnapshotAttributeInput{DBClusterSnapshotIdentifier: aws.String(snap), AttributeName: aws.String("restore")}
		if field == "valuesToAdd" {
			in.ValuesToAdd = values
		} else {
			in.ValuesToRemove = values
		}
		out, err := api.ModifyDBClusterSnapshotAttribute(ctx, in)
		rdsMust(t, "modify DB cluster snapshot attribute", err)
		var attrs []any
		for _, a := range out.DBClusterSnapshotAttributesResult.DBClusterSnapshotAttributes {
			attrs = append(attrs, map[string]any{"attributeName": aws.ToString(a.AttributeName), "attributeValues": a.AttributeValues})
		}
		return record(rdsSource, "ModifyDBClusterSnapshotAttribute",
			map[string]any{"attributeName": "restore", "dBClusterSnapshotIdentifier": snap, field: values},
			map[string]any{"dBClusterSnapshotAttributes": attrs, "dBClusterSnapshotIdentifier": snap})
	}

	vs := env.feed(t, modify("valuesToAdd", []string{"all"}))
	expect(t, vs, "aws-rds-cluster-snapshot-public", policy.Fail)

	vs = env.feed(t, modify("valuesToRemove", []string{"all"}))
	expect(t, vs, "aws-rds-cluster-snapshot-public", policy.Pass)
}
