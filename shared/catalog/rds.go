package catalog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// RDS resource types. CloudFormation has AWS::RDS::DBInstance; it has no
// type for snapshots, so the snapshot types are the names AWS Config and
// Cloud Custodian use.
const (
	rdsDBInstance        = "AWS::RDS::DBInstance"
	rdsDBSnapshot        = "AWS::RDS::DBSnapshot"
	rdsDBClusterSnapshot = "AWS::RDS::DBClusterSnapshot"
)

const rdsSource = "rds.amazonaws.com"

// rdsEntries are the watched RDS operations.
//
// RDS events carry no resources[]. The responses of the calls that return a
// DB instance or snapshot hold its description flattened into
// responseElements (dBInstanceArn, dBSnapshotArn, ...), which is the
// preferred ID; otherwise the identifier in the request is turned into an
// ARN. RDS stores identifiers in lowercase and compares them without regard
// to case, so identifiers taken from a request are lowercased.
func rdsEntries() []Entry {
	instance := func(op string, resolve func(*change.Change) ([]string, error), note string) Entry {
		return Entry{Service: rdsSource, Operation: op, Targets: []Target{{Type: rdsDBInstance, Resolve: resolve}}, Note: note}
	}
	snapshot := func(op string, resolve func(*change.Change) ([]string, error), note string) Entry {
		return Entry{Service: rdsSource, Operation: op, Targets: []Target{{Type: rdsDBSnapshot, Resolve: resolve}}, Note: note}
	}
	clusterSnapshot := func(op string, resolve func(*change.Change) ([]string, error), note string) Entry {
		return Entry{Service: rdsSource, Operation: op, Targets: []Target{{Type: rdsDBClusterSnapshot, Resolve: resolve}}, Note: note}
	}

	// Calls whose response describes the DB instance they made or changed.
	createdInstance := rdsResolver("db", []string{"responseElements.dBInstanceArn", "responseElements.dBInstance.dBInstanceArn"},
		"requestParameters.dBInstanceIdentifier")
	const createdNote = "responseElements.dBInstanceArn, else requestParameters.dBInstanceIdentifier (lowercased)"

	snapshotARN := []string{"responseElements.dBSnapshotArn", "responseElements.dBSnapshot.dBSnapshotArn"}
	clusterSnapshotARN := []string{"responseElements.dBClusterSnapshotArn", "responseElements.dBClusterSnapshot.dBClusterSnapshotArn"}

	return []Entry{
		instance("CreateDBInstance", createdInstance, createdNote),
		instance("CreateDBInstanceReadReplica", createdInstance, createdNote+" (the replica)"),
		instance("RestoreDBInstanceFromDBSnapshot", createdInstance, createdNote),
		instance("RestoreDBInstanceFromS3", createdInstance, createdNote),
		instance("RestoreDBInstanceToPointInTime",
			rdsResolver("db", []string{"responseElements.dBInstanceArn", "responseElements.dBInstance.dBInstanceArn"},
				"requestParameters.targetDBInstanceIdentifier"),
			"responseElements.dBInstanceArn, else requestParameters.targetDBInstanceIdentifier (lowercased)"),
		instance("ModifyDBInstance", rdsModifiedInstance,
			"requestParameters.newDBInstanceIdentifier when the call renames the instance (the new name), and "+
				"responseElements.dBInstanceArn, else requestParameters.dBInstanceIdentifier (the old name, which "+
				"is gone once the rename is applied)"),
		{
			Service: rdsSource, Operation: "DeleteDBInstance",
			Targets: []Target{
				{Type: rdsDBInstance, Resolve: createdInstance},
				{Type: rdsDBSnapshot, Resolve: rdsOptional(rdsResolver("snapshot", nil,
					"requestParameters.finalDBSnapshotIdentifier"))},
			},
			Note: createdNote + "; the final snapshot, when one is taken: requestParameters.finalDBSnapshotIdentifier",
		},

		snapshot("CreateDBSnapshot", rdsResolver("snapshot", snapshotARN, "requestParameters.dBSnapshotIdentifier"),
			"responseElements.dBSnapshotArn, else requestParameters.dBSnapshotIdentifier (lowercased)"),
		snapshot("CopyDBSnapshot", rdsResolver("snapshot", snapshotARN, "requestParameters.targetDBSnapshotIdentifier"),
			"responseElements.dBSnapshotArn, else requestParameters.targetDBSnapshotIdentifier (lowercased): the copy"),
		snapshot("ModifyDBSnapshotAttribute", rdsResolver("snapshot", nil,
			"requestParameters.dBSnapshotIdentifier", "responseElements.dBSnapshotIdentifier"),
			"requestParameters.dBSnapshotIdentifier (lowercased); attributeName restore, valuesToAdd/valuesToRemove "+
				"are account IDs or \"all\" (public)"),
		snapshot("DeleteDBSnapshot", rdsResolver("snapshot", snapshotARN, "requestParameters.dBSnapshotIdentifier"),
			"responseElements.dBSnapshotArn, else requestParameters.dBSnapshotIdentifier (lowercased)"),

		clusterSnapshot("CreateDBClusterSnapshot", rdsResolver("cluster-snapshot", clusterSnapshotARN,
			"requestParameters.dBClusterSnapshotIdentifier"),
			"responseElements.dBClusterSnapshotArn, else requestParameters.dBClusterSnapshotIdentifier (lowercased)"),
		clusterSnapshot("CopyDBClusterSnapshot", rdsResolver("cluster-snapshot", clusterSnapshotARN,
			"requestParameters.targetDBClusterSnapshotIdentifier"),
			"responseElements.dBClusterSnapshotArn, else requestParameters.targetDBClusterSnapshotIdentifier "+
				"(lowercased): the copy"),
		clusterSnapshot("ModifyDBClusterSnapshotAttribute", rdsResolver("cluster-snapshot", nil,
			"requestParameters.dBClusterSnapshotIdentifier", "responseElements.dBClusterSnapshotIdentifier"),
			"requestParameters.dBClusterSnapshotIdentifier (lowercased); attributeName restore, "+
				"valuesToAdd/valuesToRemove are account IDs or \"all\" (public)"),
		clusterSnapshot("DeleteDBClusterSnapshot", rdsResolver("cluster-snapshot", clusterSnapshotARN,
			"requestParameters.dBClusterSnapshotIdentifier"),
			"responseElements.dBClusterSnapshotArn, else requestParameters.dBClusterSnapshotIdentifier (lowercased)"),
	}
}

// rdsARN returns the ARN of an RDS resource of kind (db, snapshot,
// cluster-snapshot) named by id in the change's account and region. An id
// that is already an ARN is returned as it is.
func rdsARN(c *change.Change, kind, id string) string {
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	return ARN(c, "rds", c.Region, c.Account, kind+":"+strings.ToLower(id))
}

// rdsResolver resolves one RDS resource: the first ARN found at arnPaths,
// else an ARN of kind built from the first identifier found at idPaths.
func rdsResolver(kind string, arnPaths []string, idPaths ...string) func(*change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		if arn := Field(c, arnPaths...); strings.HasPrefix(arn, "arn:") {
			return []string{arn}, nil
		}
		id := Field(c, idPaths...)
		if id == "" {
			return nil, fmt.Errorf("rds %s identifier at %v: %w", kind, idPaths, ErrNoID)
		}
		return []string{rdsARN(c, kind, id)}, nil
	}
}

// rdsModifiedInstance resolves the DB instance of ModifyDBInstance. A call
// that renames the instance (newDBInstanceIdentifier) touches two names: the
// new one, which is the instance once the rename is applied, and the old
// one, which then no longer exists. Both are returned, new first, so that a
// re-read checks the renamed instance and finds the old name gone (or, while
// the rename is pending, the other way round).
func rdsModifiedInstance(c *change.Change) ([]string, error) {
	current, err := rdsResolver("db", []string{"responseElements.dBInstanceArn", "responseElements.dBInstance.dBInstanceArn"},
		"requestParameters.dBInstanceIdentifier")(c)
	renamed := Field(c, "requestParameters.newDBInstanceIdentifier")
	if renamed == "" {
		return current, err
	}
	ids := []string{rdsARN(c, "db", renamed)}
	for _, id := range current {
		if id != ids[0] {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// rdsOptional turns a missing ID into no resource: for a target that only
// some calls of an operation touch.
func rdsOptional(resolve func(*change.Change) ([]string, error)) func(*change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		ids, err := resolve(c)
		if errors.Is(err, ErrNoID) {
			return nil, nil
		}
		return ids, err
	}
}
