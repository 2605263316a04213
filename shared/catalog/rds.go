package catalog

import (
	"errors"
	"fmt"
	"slices"
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

// rdsInstanceARN are where a response holds the ARN of the DB instance it
// describes: flattened into responseElements, as CloudTrail records it, or
// wrapped as the API returns it.
var rdsInstanceARN = []string{"responseElements.dBInstanceArn", "responseElements.dBInstance.dBInstanceArn"}

// rdsEntries are the watched RDS operations.
//
// RDS events carry no resources[]. The responses of the calls that return a
// DB instance or snapshot hold its description flattened into
// responseElements (dBInstanceArn, dBSnapshotArn, ...), which is the
// preferred ID; otherwise the identifier in the request is turned into an
// ARN. RDS stores identifiers in lowercase and compares them without regard
// to case, so identifiers taken from a request are lowercased.
func rdsEntries() []Entry {
	row := func(typ string) func(op string, resolve func(*change.Change) ([]string, error), note string) Entry {
		return func(op string, resolve func(*change.Change) ([]string, error), note string) Entry {
			return Entry{Service: rdsSource, Operation: op, Targets: []Target{{Type: typ, Resolve: resolve}}, Note: note}
		}
	}
	instance, snapshot, clusterSnapshot := row(rdsDBInstance), row(rdsDBSnapshot), row(rdsDBClusterSnapshot)

	// Calls whose response describes the DB instance they made or changed.
	createdInstance := rdsResolver("db", rdsInstanceARN, "requestParameters.dBInstanceIdentifier")
	const createdNote = "responseElements.dBInstanceArn, else requestParameters.dBInstanceIdentifier (lowercased)"

	snapshotARN := []string{"responseElements.dBSnapshotArn", "responseElements.dBSnapshot.dBSnapshotArn"}
	clusterSnapshotARN := []string{"responseElements.dBClusterSnapshotArn", "responseElements.dBClusterSnapshot.dBClusterSnapshotArn"}

	return []Entry{
		instance("CreateDBInstance", createdInstance, createdNote),
		instance("CreateDBInstanceReadReplica", createdInstance, createdNote+" (the replica)"),
		instance("RestoreDBInstanceFromDBSnapshot", createdInstance, createdNote),
		instance("RestoreDBInstanceFromS3", createdInstance, createdNote),
		instance("RestoreDBInstanceToPointInTime",
			rdsResolver("db", rdsInstanceARN, "requestParameters.targetDBInstanceIdentifier"),
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
// that is already an ARN is kept (in lowercase: every part of an RDS ARN is).
func rdsARN(c *change.Change, kind, id string) string {
	id = strings.ToLower(id)
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	return ARN(c, "rds", c.Region, c.Account, kind+":"+id)
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
// the rename is pending, the other way round). The response may describe the
// instance under either name, so the old name is taken from the request.
func rdsModifiedInstance(c *change.Change) ([]string, error) {
	resolve := rdsResolver("db", rdsInstanceARN, "requestParameters.dBInstanceIdentifier")
	renamed := Field(c, "requestParameters.newDBInstanceIdentifier")
	if renamed == "" {
		return resolve(c)
	}
	ids := []string{rdsARN(c, "db", renamed)}
	if old := Field(c, "requestParameters.dBInstanceIdentifier"); old != "" {
		ids = append(ids, rdsARN(c, "db", old))
	}
	if current, err := resolve(c); err == nil {
		for _, id := range current {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
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
