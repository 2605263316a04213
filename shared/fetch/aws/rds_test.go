package aws

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// rdsFake is a hand-written rdsAPI.
type rdsFake struct {
	describeDBInstances                 func(*rds.DescribeDBInstancesInput) (*rds.DescribeDBInstancesOutput, error)
	describeDBSnapshots                 func(*rds.DescribeDBSnapshotsInput) (*rds.DescribeDBSnapshotsOutput, error)
	describeDBSnapshotAttributes        func(*rds.DescribeDBSnapshotAttributesInput) (*rds.DescribeDBSnapshotAttributesOutput, error)
	describeDBClusterSnapshots          func(*rds.DescribeDBClusterSnapshotsInput) (*rds.DescribeDBClusterSnapshotsOutput, error)
	describeDBClusterSnapshotAttributes func(*rds.DescribeDBClusterSnapshotAttributesInput) (*rds.DescribeDBClusterSnapshotAttributesOutput, error)
}

var _ rdsAPI = (*rdsFake)(nil)

func (f *rdsFake) DescribeDBInstances(_ context.Context, in *rds.DescribeDBInstancesInput, _ ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error) {
	return f.describeDBInstances(in)
}

func (f *rdsFake) DescribeDBSnapshots(_ context.Context, in *rds.DescribeDBSnapshotsInput, _ ...func(*rds.Options)) (*rds.DescribeDBSnapshotsOutput, error) {
	return f.describeDBSnapshots(in)
}

func (f *rdsFake) DescribeDBSnapshotAttributes(_ context.Context, in *rds.DescribeDBSnapshotAttributesInput, _ ...func(*rds.Options)) (*rds.DescribeDBSnapshotAttributesOutput, error) {
	return f.describeDBSnapshotAttributes(in)
}

func (f *rdsFake) DescribeDBClusterSnapshots(_ context.Context, in *rds.DescribeDBClusterSnapshotsInput, _ ...func(*rds.Options)) (*rds.DescribeDBClusterSnapshotsOutput, error) {
	return f.describeDBClusterSnapshots(in)
}

func (f *rdsFake) DescribeDBClusterSnapshotAttributes(_ context.Context, in *rds.DescribeDBClusterSnapshotAttributesInput, _ ...func(*rds.Options)) (*rds.DescribeDBClusterSnapshotAttributesOutput, error) {
	return f.describeDBClusterSnapshotAttributes(in)
}

var errRDSAccessDenied = &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}

func TestReadDBInstance(t *testing.T) {
	available := rdstypes.DBInstance{
		DBInstanceIdentifier:             aws.String("orders-db"),
		DBInstanceArn:                    aws.String("arn:aws:rds:eu-west-1:111122223333:db:orders-db"),
		DBInstanceClass:                  aws.String("db.t3.micro"),
		DBInstanceStatus:                 aws.String("available"),
		Engine:                           aws.String("mysql"),
		EngineVersion:                    aws.String("8.0.32"),
		PubliclyAccessible:               aws.Bool(true),
		StorageEncrypted:                 aws.Bool(true),
		KmsKeyId:                         aws.String("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
		MultiAZ:                          aws.Bool(false),
		BackupRetentionPeriod:            aws.Int32(7),
		AutoMinorVersionUpgrade:          aws.Bool(true),
		DeletionProtection:               aws.Bool(true),
		IAMDatabaseAuthenticationEnabled: aws.Bool(false),
		VpcSecurityGroups: []rdstypes.VpcSecurityGroupMembership{
			{VpcSecurityGroupId: aws.String("sg-4e483165"), Status: aws.String("active")},
		},
		TagList: []rdstypes.Tag{{Key: aws.String("team"), Value: aws.String("orders")}},
	}
	tests := []struct {
		name       string
		out        *rds.DescribeDBInstancesOutput
		err        error
		wantExists bool
		wantDoc    map[string]any
		wantTags   map[string]string
		wantErr    string
	}{
		{
			name:       "available instance",
			out:        &rds.DescribeDBInstancesOutput{DBInstances: []rdstypes.DBInstance{available}},
			wantExists: true,
			wantDoc: map[string]any{
				"DBInstanceIdentifier":                  "orders-db",
				"DBInstanceArn":                         "arn:aws:rds:eu-west-1:111122223333:db:orders-db",
				"DBInstanceClass":                       "db.t3.micro",
				"DBInstanceStatus":                      "available",
				"DBClusterIdentifier":                   "",
				"ReadReplicaSourceDBInstanceIdentifier": "",
				"Engine":                                "mysql",
				"EngineVersion":                         "8.0.32",
				"PubliclyAccessible":                    true,
				"StorageEncrypted":                      true,
				"KmsKeyId":                              "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
				"MultiAZ":                               false,
				"BackupRetentionPeriod":                 int64(7),
				"AutoMinorVersionUpgrade":               true,
				"DeletionProtection":                    true,
				"IAMDatabaseAuthenticationEnabled":      false,
				"VpcSecurityGroups":                     []any{"sg-4e483165"},
			},
			wantTags: map[string]string{"team": "orders"},
		},
		{
			name: "Aurora member with nothing set",
			out: &rds.DescribeDBInstancesOutput{DBInstances: []rdstypes.DBInstance{{
				DBInstanceIdentifier: aws.String("aurora-1"),
				DBClusterIdentifier:  aws.String("aurora"),
				DBInstanceStatus:     aws.String("creating"),
			}}},
			wantExists: true,
			wantDoc: map[string]any{
				"DBInstanceIdentifier":                  "aurora-1",
				"DBInstanceArn":                         "",
				"DBInstanceClass":                       "",
				"DBInstanceStatus":                      "creating",
				"DBClusterIdentifier":                   "aurora",
				"ReadReplicaSourceDBInstanceIdentifier": "",
				"Engine":                                "",
				"EngineVersion":                         "",
				"PubliclyAccessible":                    false,
				"StorageEncrypted":                      false,
				"KmsKeyId":                              "",
				"MultiAZ":                               false,
				"BackupRetentionPeriod":                 int64(0),
				"AutoMinorVersionUpgrade":               false,
				"DeletionProtection":                    false,
				"IAMDatabaseAuthenticationEnabled":      false,
				"VpcSecurityGroups":                     []any{},
			},
			wantTags: map[string]string{},
		},
		{
			name: "deleting instance is gone",
			out: &rds.DescribeDBInstancesOutput{DBInstances: []rdstypes.DBInstance{{
				DBInstanceIdentifier: aws.String("orders-db"), DBInstanceStatus: aws.String("deleting"),
			}}},
		},
		{name: "typed not-found fault", err: &rdstypes.DBInstanceNotFoundFault{Message: aws.String("DBInstance orders-db not found.")}},
		{name: "generic not-found code", err: &smithy.GenericAPIError{Code: "DBInstanceNotFound"}},
		{name: "empty answer", out: &rds.DescribeDBInstancesOutput{}},
		{name: "access denied", err: errRDSAccessDenied, wantErr: `describe DB instance "orders-db"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &rdsFake{describeDBInstances: func(in *rds.DescribeDBInstancesInput) (*rds.DescribeDBInstancesOutput, error) {
				if got := aws.ToString(in.DBInstanceIdentifier); got != "orders-db" {
					t.Errorf("DBInstanceIdentifier = %q", got)
				}
				return tt.out, tt.err
			}}
			doc, tags, exists, err := readDBInstance(context.Background(), fake, "orders-db")
			assertFetched(t, doc, tags, exists, err, tt.wantDoc, tt.wantTags, tt.wantExists, tt.wantErr, tt.err)
		})
	}
}

func TestReadDBSnapshot(t *testing.T) {
	snapshot := rdstypes.DBSnapshot{
		DBSnapshotIdentifier: aws.String("nightly"),
		DBSnapshotArn:        aws.String("arn:aws:rds:eu-west-1:111122223333:snapshot:nightly"),
		DBInstanceIdentifier: aws.String("orders-db"),
		Engine:               aws.String("postgres"),
		SnapshotType:         aws.String("manual"),
		Status:               aws.String("available"),
		Encrypted:            aws.Bool(false),
		TagList:              []rdstypes.Tag{{Key: aws.String("backup"), Value: aws.String("nightly")}},
	}
	attrs := func(values ...string) *rds.DescribeDBSnapshotAttributesOutput {
		return &rds.DescribeDBSnapshotAttributesOutput{DBSnapshotAttributesResult: &rdstypes.DBSnapshotAttributesResult{
			DBSnapshotIdentifier: aws.String("nightly"),
			DBSnapshotAttributes: []rdstypes.DBSnapshotAttribute{
				{AttributeName: aws.String("restore"), AttributeValues: values},
			},
		}}
	}
	doc := func(restore map[string]any) map[string]any {
		return map[string]any{
			"DBSnapshotIdentifier": "nightly",
			"DBSnapshotArn":        "arn:aws:rds:eu-west-1:111122223333:snapshot:nightly",
			"DBInstanceIdentifier": "orders-db",
			"Engine":               "postgres",
			"SnapshotType":         "manual",
			"Status":               "available",
			"Encrypted":            false,
			"KmsKeyId":             "",
			"RestoreAttribute":     restore,
		}
	}
	tests := []struct {
		name       string
		out        *rds.DescribeDBSnapshotsOutput
		err        error
		attrs      *rds.DescribeDBSnapshotAttributesOutput
		attrsErr   error
		wantExists bool
		wantDoc    map[string]any
		wantErr    string
	}{
		{
			name: "private", out: &rds.DescribeDBSnapshotsOutput{DBSnapshots: []rdstypes.DBSnapshot{snapshot}},
			attrs: attrs(), wantExists: true,
			wantDoc: doc(map[string]any{"Public": false, "Accounts": []any{}}),
		},
		{
			name: "public and shared, duplicates dropped", out: &rds.DescribeDBSnapshotsOutput{DBSnapshots: []rdstypes.DBSnapshot{snapshot}},
			attrs: attrs("503161813013", "all", "444455556666", "503161813013"), wantExists: true,
			wantDoc: doc(map[string]any{"Public": true, "Accounts": []any{"444455556666", "503161813013"}}),
		},
		{
			name: "no attributes result", out: &rds.DescribeDBSnapshotsOutput{DBSnapshots: []rdstypes.DBSnapshot{snapshot}},
			attrs: &rds.DescribeDBSnapshotAttributesOutput{}, wantExists: true,
			wantDoc: doc(map[string]any{"Public": false, "Accounts": []any{}}),
		},
		{name: "not found", err: &rdstypes.DBSnapshotNotFoundFault{}},
		{
			name: "deleted between the calls", out: &rds.DescribeDBSnapshotsOutput{DBSnapshots: []rdstypes.DBSnapshot{snapshot}},
			attrsErr: &rdstypes.DBSnapshotNotFoundFault{},
		},
		{name: "describe denied", err: errRDSAccessDenied, wantErr: `describe DB snapshot "nightly"`},
		{
			name: "attributes denied", out: &rds.DescribeDBSnapshotsOutput{DBSnapshots: []rdstypes.DBSnapshot{snapshot}},
			attrsErr: errRDSAccessDenied, wantErr: `describe attributes of DB snapshot "nightly"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &rdsFake{
				describeDBSnapshots: func(in *rds.DescribeDBSnapshotsInput) (*rds.DescribeDBSnapshotsOutput, error) {
					if got := aws.ToString(in.DBSnapshotIdentifier); got != "nightly" {
						t.Errorf("DBSnapshotIdentifier = %q", got)
					}
					return tt.out, tt.err
				},
				describeDBSnapshotAttributes: func(in *rds.DescribeDBSnapshotAttributesInput) (*rds.DescribeDBSnapshotAttributesOutput, error) {
					if got := aws.ToString(in.DBSnapshotIdentifier); got != "nightly" {
						t.Errorf("DBSnapshotIdentifier = %q", got)
					}
					return tt.attrs, tt.attrsErr
				},
			}
			doc, tags, exists, err := readDBSnapshot(context.Background(), fake, "nightly")
			wantTags := map[string]string(nil)
			if tt.wantExists {
				wantTags = map[string]string{"backup": "nightly"}
			}
			wantErrIs := tt.err
			if wantErrIs == nil {
				wantErrIs = tt.attrsErr
			}
			assertFetched(t, doc, tags, exists, err, tt.wantDoc, wantTags, tt.wantExists, tt.wantErr, wantErrIs)
		})
	}
}

func TestReadDBClusterSnapshot(t *testing.T) {
	snapshot := rdstypes.DBClusterSnapshot{
		DBClusterSnapshotIdentifier: aws.String("aurora-weekly"),
		DBClusterSnapshotArn:        aws.String("arn:aws:rds:eu-west-1:111122223333:cluster-snapshot:aurora-weekly"),
		DBClusterIdentifier:         aws.String("aurora"),
		Engine:                      aws.String("aurora-postgresql"),
		SnapshotType:                aws.String("manual"),
		Status:                      aws.String("available"),
		StorageEncrypted:            aws.Bool(true),
		KmsKeyId:                    aws.String("arn:aws:kms:eu-west-1:111122223333:key/k"),
	}
	tests := []struct {
		name       string
		out        *rds.DescribeDBClusterSnapshotsOutput
		err        error
		values     []string
		wantExists bool
		wantDoc    map[string]any
		wantErr    string
	}{
		{
			name: "public", out: &rds.DescribeDBClusterSnapshotsOutput{DBClusterSnapshots: []rdstypes.DBClusterSnapshot{snapshot}},
			values: []string{"all"}, wantExists: true,
			wantDoc: map[string]any{
				"DBClusterSnapshotIdentifier": "aurora-weekly",
				"DBClusterSnapshotArn":        "arn:aws:rds:eu-west-1:111122223333:cluster-snapshot:aurora-weekly",
				"DBClusterIdentifier":         "aurora",
				"Engine":                      "aurora-postgresql",
				"SnapshotType":                "manual",
				"Status":                      "available",
				"StorageEncrypted":            true,
				"KmsKeyId":                    "arn:aws:kms:eu-west-1:111122223333:key/k",
				"RestoreAttribute":            map[string]any{"Public": true, "Accounts": []any{}},
			},
		},
		{name: "not found", err: &rdstypes.DBClusterSnapshotNotFoundFault{}},
		{name: "denied", err: errRDSAccessDenied, wantErr: `describe DB cluster snapshot "aurora-weekly"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &rdsFake{
				describeDBClusterSnapshots: func(in *rds.DescribeDBClusterSnapshotsInput) (*rds.DescribeDBClusterSnapshotsOutput, error) {
					if got := aws.ToString(in.DBClusterSnapshotIdentifier); got != "aurora-weekly" {
						t.Errorf("DBClusterSnapshotIdentifier = %q", got)
					}
					return tt.out, tt.err
				},
				describeDBClusterSnapshotAttributes: func(*rds.DescribeDBClusterSnapshotAttributesInput) (*rds.DescribeDBClusterSnapshotAttributesOutput, error) {
					return &rds.DescribeDBClusterSnapshotAttributesOutput{DBClusterSnapshotAttributesResult: &rdstypes.DBClusterSnapshotAttributesResult{
						DBClusterSnapshotAttributes: []rdstypes.DBClusterSnapshotAttribute{
							{AttributeName: aws.String("restore"), AttributeValues: tt.values},
						},
					}}, nil
				},
			}
			doc, tags, exists, err := readDBClusterSnapshot(context.Background(), fake, "aurora-weekly")
			wantTags := map[string]string(nil)
			if tt.wantExists {
				wantTags = map[string]string{}
			}
			assertFetched(t, doc, tags, exists, err, tt.wantDoc, wantTags, tt.wantExists, tt.wantErr, tt.err)
		})
	}
}

func TestRDSIdentifier(t *testing.T) {
	tests := []struct {
		id, kind, wantRegion, wantID string
		wantErr                      bool
	}{
		{id: "arn:aws:rds:eu-west-1:111122223333:db:orders-db", kind: "db", wantRegion: "eu-west-1", wantID: "orders-db"},
		{id: "arn:aws:rds:eu-west-1:111122223333:snapshot:rds:orders-db-2024-08-01-03-10", kind: "snapshot",
			wantRegion: "eu-west-1", wantID: "rds:orders-db-2024-08-01-03-10"},
		{id: "arn:aws-cn:rds:cn-north-1:111122223333:cluster-snapshot:weekly", kind: "cluster-snapshot", wantRegion: "cn-north-1", wantID: "weekly"},
		{id: "arn:aws:rds::111122223333:db:orders-db", kind: "db", wantRegion: "ref-region", wantID: "orders-db"},
		{id: "arn:aws:rds:eu-west-1:111122223333:snapshot:nightly", kind: "db", wantErr: true},
		{id: "arn:aws:rds:eu-west-1:111122223333:db:", kind: "db", wantErr: true},
		{id: "orders-db", kind: "db", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			region, id, err := rdsIdentifier(resource.Ref{ID: tt.id, Region: "ref-region"}, tt.kind)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if region != tt.wantRegion || id != tt.wantID {
				t.Errorf("got (%q, %q), want (%q, %q)", region, id, tt.wantRegion, tt.wantID)
			}
		})
	}
}

// assertFetched asserts the outcome of a fetch: the error (its text and the
// wrapped cause), existence, document and tags.
func assertFetched(t *testing.T, doc map[string]any, tags map[string]string, exists bool, err error,
	wantDoc map[string]any, wantTags map[string]string, wantExists bool, wantErr string, cause error) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v, want it to mention %q", err, wantErr)
		}
		if cause != nil && !errors.Is(err, cause) {
			t.Errorf("err = %v does not wrap %v", err, cause)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if exists != wantExists {
		t.Fatalf("exists = %v, want %v", exists, wantExists)
	}
	if !reflect.DeepEqual(doc, wantDoc) {
		t.Errorf("doc\n got %#v\nwant %#v", doc, wantDoc)
	}
	if !reflect.DeepEqual(tags, wantTags) {
		t.Errorf("tags = %v, want %v", tags, wantTags)
	}
}
