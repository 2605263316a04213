package catalog

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// rdsChange builds an RDS change in account 111122223333, region
// eu-west-1, from requestParameters and responseElements JSON ("" for
// null).
func rdsChange(op, request, response string) *change.Change {
	return &change.Change{
		Cloud: change.AWS, Account: "111122223333", Region: "eu-west-1",
		Service: rdsSource, Operation: op,
		RequestJSON: json.RawMessage(request), ResponseJSON: json.RawMessage(response),
	}
}

func TestRDSEntries(t *testing.T) {
	const (
		db        = "arn:aws:rds:eu-west-1:111122223333:db:"
		snap      = "arn:aws:rds:eu-west-1:111122223333:snapshot:"
		clustSnap = "arn:aws:rds:eu-west-1:111122223333:cluster-snapshot:"
	)
	tests := []struct {
		name     string
		change   *change.Change
		want     []resource.Ref
		wantNoID bool
	}{
		{
			// Shape of a real ModifyDBInstance record (response trimmed): the
			// whole instance description is flattened into responseElements.
			name: "ModifyDBInstance publiclyAccessible, ARN from the response",
			change: rdsChange("ModifyDBInstance",
				`{"allowMajorVersionUpgrade":false,"applyImmediately":true,"dBInstanceIdentifier":"orders-db","publiclyAccessible":true}`,
				`{"dBInstanceArn":"arn:aws:rds:eu-west-1:111122223333:db:orders-db","dBInstanceIdentifier":"orders-db","publiclyAccessible":true}`),
			want: []resource.Ref{{Type: rdsDBInstance, ID: db + "orders-db"}},
		},
		{
			name:   "ModifyDBInstance without a response: identifier lowercased",
			change: rdsChange("ModifyDBInstance", `{"dBInstanceIdentifier":"Orders-DB","deletionProtection":false}`, ""),
			want:   []resource.Ref{{Type: rdsDBInstance, ID: db + "orders-db"}},
		},
		{
			name: "ModifyDBInstance rename touches the new and the old name",
			change: rdsChange("ModifyDBInstance",
				`{"dBInstanceIdentifier":"orders-db","newDBInstanceIdentifier":"Orders-DB-2","applyImmediately":true}`,
				`{"dBInstanceArn":"arn:aws:rds:eu-west-1:111122223333:db:orders-db","dBInstanceIdentifier":"orders-db"}`),
			want: []resource.Ref{
				{Type: rdsDBInstance, ID: db + "orders-db-2"},
				{Type: rdsDBInstance, ID: db + "orders-db"},
			},
		},
		{
			name: "ModifyDBInstance rename already reflected in the response",
			change: rdsChange("ModifyDBInstance",
				`{"dBInstanceIdentifier":"orders-db","newDBInstanceIdentifier":"orders-db-2"}`,
				`{"dBInstanceArn":"arn:aws:rds:eu-west-1:111122223333:db:orders-db-2"}`),
			want: []resource.Ref{
				{Type: rdsDBInstance, ID: db + "orders-db-2"},
				{Type: rdsDBInstance, ID: db + "orders-db"},
			},
		},
		{
			name: "CreateDBInstance prefers the response ARN",
			change: rdsChange("CreateDBInstance",
				`{"dBInstanceIdentifier":"Reports","engine":"postgres","masterUserPassword":"HIDDEN_DUE_TO_SECURITY_REASONS"}`,
				`{"dBInstanceArn":"arn:aws:rds:eu-west-1:111122223333:db:reports","dBInstanceStatus":"creating"}`),
			want: []resource.Ref{{Type: rdsDBInstance, ID: db + "reports"}},
		},
		{
			name:   "RestoreDBInstanceToPointInTime names the target",
			change: rdsChange("RestoreDBInstanceToPointInTime", `{"sourceDBInstanceIdentifier":"reports","targetDBInstanceIdentifier":"reports-pitr"}`, ""),
			want:   []resource.Ref{{Type: rdsDBInstance, ID: db + "reports-pitr"}},
		},
		{
			name:   "RestoreDBInstanceFromDBSnapshot",
			change: rdsChange("RestoreDBInstanceFromDBSnapshot", `{"dBInstanceIdentifier":"restored","dBSnapshotIdentifier":"nightly"}`, ""),
			want:   []resource.Ref{{Type: rdsDBInstance, ID: db + "restored"}},
		},
		{
			name: "DeleteDBInstance with a final snapshot touches both",
			change: rdsChange("DeleteDBInstance",
				`{"dBInstanceIdentifier":"reports","skipFinalSnapshot":false,"finalDBSnapshotIdentifier":"reports-final"}`,
				`{"dBInstanceArn":"arn:aws:rds:eu-west-1:111122223333:db:reports","dBInstanceStatus":"deleting"}`),
			want: []resource.Ref{
				{Type: rdsDBInstance, ID: db + "reports"},
				{Type: rdsDBSnapshot, ID: snap + "reports-final"},
			},
		},
		{
			name: "DeleteDBInstance skipping the final snapshot",
			change: rdsChange("DeleteDBInstance",
				`{"dBInstanceIdentifier":"reports","deleteAutomatedBackups":true,"skipFinalSnapshot":true}`, ""),
			want: []resource.Ref{{Type: rdsDBInstance, ID: db + "reports"}},
		},
		{
			name:     "DeleteDBInstance without an identifier",
			change:   rdsChange("DeleteDBInstance", `{"skipFinalSnapshot":true}`, ""),
			wantNoID: true,
		},
		{
			// Shape of Stratus Red Team's rds-share-snapshot detonation.
			name: "ModifyDBSnapshotAttribute shared with an account",
			change: rdsChange("ModifyDBSnapshotAttribute",
				`{"attributeName":"restore","dBSnapshotIdentifier":"exfiltration","valuesToAdd":["503161813013"]}`,
				`{"dBSnapshotAttributes":[{"attributeName":"restore","attributeValues":["503161813013"]}],"dBSnapshotIdentifier":"exfiltration"}`),
			want: []resource.Ref{{Type: rdsDBSnapshot, ID: snap + "exfiltration"}},
		},
		{
			name: "ModifyDBSnapshotAttribute of an automated snapshot keeps the colon",
			change: rdsChange("ModifyDBSnapshotAttribute",
				`{"attributeName":"restore","dBSnapshotIdentifier":"rds:orders-db-2024-08-01-03-10","valuesToAdd":["all"]}`, ""),
			want: []resource.Ref{{Type: rdsDBSnapshot, ID: snap + "rds:orders-db-2024-08-01-03-10"}},
		},
		{
			name: "ModifyDBSnapshotAttribute given an ARN",
			change: rdsChange("ModifyDBSnapshotAttribute",
				`{"attributeName":"restore","dBSnapshotIdentifier":"arn:aws:rds:eu-west-1:111122223333:snapshot:Nightly","valuesToRemove":["all"]}`, ""),
			want: []resource.Ref{{Type: rdsDBSnapshot, ID: snap + "nightly"}},
		},
		{
			name:     "ModifyDBSnapshotAttribute without an identifier",
			change:   rdsChange("ModifyDBSnapshotAttribute", `{"attributeName":"restore"}`, ""),
			wantNoID: true,
		},
		{
			name: "CreateDBSnapshot prefers the response ARN",
			change: rdsChange("CreateDBSnapshot", `{"dBSnapshotIdentifier":"Nightly","dBInstanceIdentifier":"orders-db"}`,
				`{"dBSnapshotArn":"arn:aws:rds:eu-west-1:111122223333:snapshot:nightly","status":"creating"}`),
			want: []resource.Ref{{Type: rdsDBSnapshot, ID: snap + "nightly"}},
		},
		{
			name: "CopyDBSnapshot names the copy",
			change: rdsChange("CopyDBSnapshot",
				`{"sourceDBSnapshotIdentifier":"arn:aws:rds:us-east-1:111122223333:snapshot:nightly","targetDBSnapshotIdentifier":"nightly-copy"}`, ""),
			want: []resource.Ref{{Type: rdsDBSnapshot, ID: snap + "nightly-copy"}},
		},
		{
			name:   "DeleteDBSnapshot",
			change: rdsChange("DeleteDBSnapshot", `{"dBSnapshotIdentifier":"nightly"}`, ""),
			want:   []resource.Ref{{Type: rdsDBSnapshot, ID: snap + "nightly"}},
		},
		{
			// Shape of a real ModifyDBClusterSnapshotAttribute record.
			name: "ModifyDBClusterSnapshotAttribute",
			change: rdsChange("ModifyDBClusterSnapshotAttribute",
				`{"attributeName":"restore","dBClusterSnapshotIdentifier":"aurora-weekly","valuesToAdd":["all"]}`,
				`{"dBClusterSnapshotAttributes":[{"attributeName":"restore","attributeValues":["all"]}],"dBClusterSnapshotIdentifier":"aurora-weekly"}`),
			want: []resource.Ref{{Type: rdsDBClusterSnapshot, ID: clustSnap + "aurora-weekly"}},
		},
		{
			name: "CreateDBClusterSnapshot",
			change: rdsChange("CreateDBClusterSnapshot", `{"dBClusterSnapshotIdentifier":"aurora-weekly","dBClusterIdentifier":"aurora"}`,
				`{"dBClusterSnapshotArn":"arn:aws:rds:eu-west-1:111122223333:cluster-snapshot:aurora-weekly"}`),
			want: []resource.Ref{{Type: rdsDBClusterSnapshot, ID: clustSnap + "aurora-weekly"}},
		},
		{
			name:   "CopyDBClusterSnapshot names the copy",
			change: rdsChange("CopyDBClusterSnapshot", `{"sourceDBClusterSnapshotIdentifier":"aurora-weekly","targetDBClusterSnapshotIdentifier":"Aurora-Copy"}`, ""),
			want:   []resource.Ref{{Type: rdsDBClusterSnapshot, ID: clustSnap + "aurora-copy"}},
		},
		{
			name:   "DeleteDBClusterSnapshot",
			change: rdsChange("DeleteDBClusterSnapshot", `{"dBClusterSnapshotIdentifier":"aurora-weekly"}`, ""),
			want:   []resource.Ref{{Type: rdsDBClusterSnapshot, ID: clustSnap + "aurora-weekly"}},
		},
	}
	cat := New(rdsEntries())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			watched, err := cat.Resolve(tt.change)
			if !watched {
				t.Fatalf("%s not watched", tt.change.Operation)
			}
			if tt.wantNoID {
				if !errors.Is(err, ErrNoID) {
					t.Fatalf("err = %v, want ErrNoID", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				tt.want[i].Account, tt.want[i].Region = "111122223333", "eu-west-1"
			}
			if !slices.Equal(tt.change.Resources, tt.want) {
				t.Errorf("resources\n got %v\nwant %v", tt.change.Resources, tt.want)
			}
		})
	}
}

func TestRDSPartition(t *testing.T) {
	c := rdsChange("DeleteDBSnapshot", `{"dBSnapshotIdentifier":"nightly"}`, "")
	c.Region = "cn-north-1"
	if _, err := New(rdsEntries()).Resolve(c); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Resources[0].ID, "arn:aws-cn:rds:cn-north-1:111122223333:snapshot:nightly"; got != want {
		t.Errorf("ID = %s, want %s", got, want)
	}
}

// TestRDSEntriesOnSampleEvents resolves the RDS samples of the repository's
// events/aws directory, decoded by the real decoder.
func TestRDSEntriesOnSampleEvents(t *testing.T) {
	tests := []struct {
		file string
		want []resource.Ref
	}{
		{file: "rds-modify-db-instance-publicly-accessible.json", want: []resource.Ref{{Type: rdsDBInstance,
			ID: "arn:aws:rds:eu-west-1:123456789012:db:orders-db", Account: "123456789012", Region: "eu-west-1"}}},
		// Stratus Red Team's detonation: an anonymised (invented) region.
		{file: "rds-modify-db-snapshot-attribute-share-with-account.json", want: []resource.Ref{{Type: rdsDBSnapshot,
			ID: "arn:aws:rds:meiso-eastwest-2r:171471557522:snapshot:exfiltration", Account: "171471557522", Region: "meiso-eastwest-2r"}}},
	}
	cat := New(rdsEntries())
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "events", "aws", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			chs, errs := change.Decode(tt.file, data)
			if len(errs) > 0 || len(chs) != 1 {
				t.Fatalf("decode: %d changes, errors %v", len(chs), errs)
			}
			ch := &chs[0]
			if watched, err := cat.Resolve(ch); !watched || err != nil {
				t.Fatalf("Resolve = %v, %v", watched, err)
			}
			if !slices.Equal(ch.Resources, tt.want) {
				t.Errorf("resources = %v, want %v", ch.Resources, tt.want)
			}
		})
	}
}
