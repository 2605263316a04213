package aws

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// TestRDSMoto reads DB instances, DB snapshots and DB cluster snapshots from
// moto through the Reader as they are created, weakened, fixed and deleted.
func TestRDSMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	api := rds.NewFromConfig(cfg)
	r := New(cfg, Options{})
	read := func(t *testing.T, typ, id string) resource.Resource {
		t.Helper()
		ref := resource.Ref{Type: typ, ID: id, Account: mototest.Account, Region: mototest.Region}
		res, err := r.Read(ctx, ref)
		if err != nil {
			t.Fatalf("read %s: %v", ref, err)
		}
		return res
	}
	const arnPrefix = "arn:aws:rds:us-east-1:123456789012:"

	// An identifier given in mixed case is stored, and must be read, in
	// lowercase.
	created, err := api.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("Orders-DB"), DBInstanceClass: aws.String("db.t3.micro"),
		Engine: aws.String("postgres"), MasterUsername: aws.String("app"), MasterUserPassword: aws.String("not-a-real-password"),
		AllocatedStorage: aws.Int32(20), PubliclyAccessible: aws.Bool(false), StorageEncrypted: aws.Bool(true),
		BackupRetentionPeriod: aws.Int32(7), DeletionProtection: aws.Bool(true), MultiAZ: aws.Bool(true),
		Tags: []rdstypes.Tag{{Key: aws.String("team"), Value: aws.String("orders")}},
	})
	if err != nil {
		t.Fatalf("create DB instance: %v", err)
	}
	instanceARN := aws.ToString(created.DBInstance.DBInstanceArn)
	if instanceARN != arnPrefix+"db:orders-db" {
		t.Fatalf("DBInstanceArn = %q", instanceARN)
	}

	t.Run("DB instance", func(t *testing.T) {
		res := read(t, "AWS::RDS::DBInstance", instanceARN)
		if !res.Exists {
			t.Fatal("instance does not exist")
		}
		doc := res.Doc
		for k, want := range map[string]any{
			"DBInstanceIdentifier": "orders-db", "DBInstanceArn": instanceARN, "Engine": "postgres",
			"PubliclyAccessible": false, "StorageEncrypted": true, "MultiAZ": true,
			"BackupRetentionPeriod": int64(7), "DeletionProtection": true, "DBClusterIdentifier": "",
			"ReadReplicaSourceDBInstanceIdentifier": "",
		} {
			if !reflect.DeepEqual(doc[k], want) {
				t.Errorf("%s = %#v, want %#v", k, doc[k], want)
			}
		}
		if sgs, ok := doc["VpcSecurityGroups"].([]any); !ok || len(sgs) == 0 {
			t.Errorf("VpcSecurityGroups = %#v, want a list of IDs", doc["VpcSecurityGroups"])
		}
		if !reflect.DeepEqual(res.Tags, map[string]string{"team": "orders"}) {
			t.Errorf("tags = %v", res.Tags)
		}

		if _, err := api.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{
			DBInstanceIdentifier: aws.String("orders-db"), PubliclyAccessible: aws.Bool(true),
			BackupRetentionPeriod: aws.Int32(1), ApplyImmediately: aws.Bool(true),
		}); err != nil {
			t.Fatalf("modify DB instance: %v", err)
		}
		doc = read(t, "AWS::RDS::DBInstance", instanceARN).Doc
		if doc["PubliclyAccessible"] != true || doc["BackupRetentionPeriod"] != int64(1) {
			t.Errorf("after modify: PubliclyAccessible %v, BackupRetentionPeriod %v", doc["PubliclyAccessible"], doc["BackupRetentionPeriod"])
		}

		if res := read(t, "AWS::RDS::DBInstance", arnPrefix+"db:no-such-db"); res.Exists {
			t.Errorf("missing instance exists: %+v", res)
		}
	})

	t.Run("DB snapshot", func(t *testing.T) {
		snap, err := api.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{
			DBSnapshotIdentifier: aws.String("orders-nightly"), DBInstanceIdentifier: aws.String("orders-db"),
		})
		if err != nil {
			t.Fatalf("create DB snapshot: %v", err)
		}
		snapARN := aws.ToString(snap.DBSnapshot.DBSnapshotArn)
		res := read(t, "AWS::RDS::DBSnapshot", snapARN)
		if !res.Exists {
			t.Fatal("snapshot does not exist")
		}
		for k, want := range map[string]any{
			"DBSnapshotIdentifier": "orders-nightly", "DBSnapshotArn": snapARN, "DBInstanceIdentifier": "orders-db",
			"SnapshotType": "manual", "Encrypted": true,
			"RestoreAttribute": map[string]any{"Public": false, "Accounts": []any{}},
		} {
			if !reflect.DeepEqual(res.Doc[k], want) {
				t.Errorf("%s = %#v, want %#v", k, res.Doc[k], want)
			}
		}

		modify := func(add, remove []string) {
			t.Helper()
			if _, err := api.ModifyDBSnapshotAttribute(ctx, &rds.ModifyDBSnapshotAttributeInput{
				DBSnapshotIdentifier: aws.String("orders-nightly"), AttributeName: aws.String("restore"),
				ValuesToAdd: add, ValuesToRemove: remove,
			}); err != nil {
				t.Fatalf("modify DB snapshot attribute: %v", err)
			}
		}
		modify([]string{"all", "503161813013"}, nil)
		got := read(t, "AWS::RDS::DBSnapshot", snapARN).Doc["RestoreAttribute"]
		if want := map[string]any{"Public": true, "Accounts": []any{"503161813013"}}; !reflect.DeepEqual(got, want) {
			t.Errorf("shared: RestoreAttribute = %#v, want %#v", got, want)
		}
		modify(nil, []string{"all"})
		got = read(t, "AWS::RDS::DBSnapshot", snapARN).Doc["RestoreAttribute"]
		if want := map[string]any{"Public": false, "Accounts": []any{"503161813013"}}; !reflect.DeepEqual(got, want) {
			t.Errorf("made private: RestoreAttribute = %#v, want %#v", got, want)
		}

		if _, err := api.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String("orders-nightly")}); err != nil {
			t.Fatalf("delete DB snapshot: %v", err)
		}
		if res := read(t, "AWS::RDS::DBSnapshot", snapARN); res.Exists {
			t.Errorf("deleted snapshot exists: %+v", res)
		}
	})

	t.Run("DB cluster snapshot", func(t *testing.T) {
		if _, err := api.CreateDBCluster(ctx, &rds.CreateDBClusterInput{
			DBClusterIdentifier: aws.String("aurora"), Engine: aws.String("aurora-postgresql"),
			MasterUsername: aws.String("app"), MasterUserPassword: aws.String("not-a-real-password"),
			StorageEncrypted: aws.Bool(false),
		}); err != nil {
			t.Fatalf("create DB cluster: %v", err)
		}
		snap, err := api.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{
			DBClusterSnapshotIdentifier: aws.String("aurora-weekly"), DBClusterIdentifier: aws.String("aurora"),
			Tags: []rdstypes.Tag{{Key: aws.String("retention"), Value: aws.String("weekly")}},
		})
		if err != nil {
			t.Fatalf("create DB cluster snapshot: %v", err)
		}
		snapARN := aws.ToString(snap.DBClusterSnapshot.DBClusterSnapshotArn)
		if snapARN != arnPrefix+"cluster-snapshot:aurora-weekly" {
			t.Fatalf("DBClusterSnapshotArn = %q", snapARN)
		}
		if _, err := api.ModifyDBClusterSnapshotAttribute(ctx, &rds.ModifyDBClusterSnapshotAttributeInput{
			DBClusterSnapshotIdentifier: aws.String("aurora-weekly"), AttributeName: aws.String("restore"),
			ValuesToAdd: []string{"all"},
		}); err != nil {
			t.Fatalf("modify DB cluster snapshot attribute: %v", err)
		}
		res := read(t, "AWS::RDS::DBClusterSnapshot", snapARN)
		if !res.Exists {
			t.Fatal("cluster snapshot does not exist")
		}
		for k, want := range map[string]any{
			"DBClusterSnapshotIdentifier": "aurora-weekly", "DBClusterSnapshotArn": snapARN, "DBClusterIdentifier": "aurora",
			"Engine": "aurora-postgresql", "StorageEncrypted": false,
			"RestoreAttribute": map[string]any{"Public": true, "Accounts": []any{}},
		} {
			if !reflect.DeepEqual(res.Doc[k], want) {
				t.Errorf("%s = %#v, want %#v", k, res.Doc[k], want)
			}
		}
		if !reflect.DeepEqual(res.Tags, map[string]string{"retention": "weekly"}) {
			t.Errorf("tags = %v", res.Tags)
		}
		if res := read(t, "AWS::RDS::DBClusterSnapshot", arnPrefix+"cluster-snapshot:no-such-snapshot"); res.Exists {
			t.Errorf("missing cluster snapshot exists: %+v", res)
		}
	})

	t.Run("deleted DB instance", func(t *testing.T) {
		if _, err := api.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{
			DBInstanceIdentifier: aws.String("orders-db"), DeletionProtection: aws.Bool(false), ApplyImmediately: aws.Bool(true),
		}); err != nil {
			t.Fatalf("turn deletion protection off: %v", err)
		}
		if _, err := api.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{
			DBInstanceIdentifier: aws.String("orders-db"), SkipFinalSnapshot: aws.Bool(true),
		}); err != nil {
			t.Fatalf("delete DB instance: %v", err)
		}
		if res := read(t, "AWS::RDS::DBInstance", instanceARN); res.Exists {
			t.Errorf("deleted instance exists: %+v", res)
		}
	})
}
