package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// RDS error codes that mean the resource is gone.
const (
	rdsInstanceNotFound        = "DBInstanceNotFound"
	rdsSnapshotNotFound        = "DBSnapshotNotFound"
	rdsClusterSnapshotNotFound = "DBClusterSnapshotNotFoundFault"
)

// rdsStatusDeleting is the status of a DB instance or snapshot whose
// deletion has begun; it is treated as gone.
const rdsStatusDeleting = "deleting"

// rdsRestoreAttribute is the snapshot attribute that lists the accounts
// allowed to copy or restore a manual snapshot; the value "all" makes it
// public.
const rdsRestoreAttribute = "restore"

// rdsInstanceAPI is the RDS call the DB instance fetcher makes.
type rdsInstanceAPI interface {
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, opts ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
}

// rdsSnapshotAPI is the RDS calls the DB snapshot fetcher makes.
type rdsSnapshotAPI interface {
	DescribeDBSnapshots(ctx context.Context, in *rds.DescribeDBSnapshotsInput, opts ...func(*rds.Options)) (*rds.DescribeDBSnapshotsOutput, error)
	DescribeDBSnapshotAttributes(ctx context.Context, in *rds.DescribeDBSnapshotAttributesInput, opts ...func(*rds.Options)) (*rds.DescribeDBSnapshotAttributesOutput, error)
}

// rdsClusterSnapshotAPI is the RDS calls the DB cluster snapshot fetcher
// makes.
type rdsClusterSnapshotAPI interface {
	DescribeDBClusterSnapshots(ctx context.Context, in *rds.DescribeDBClusterSnapshotsInput, opts ...func(*rds.Options)) (*rds.DescribeDBClusterSnapshotsOutput, error)
	DescribeDBClusterSnapshotAttributes(ctx context.Context, in *rds.DescribeDBClusterSnapshotAttributesInput, opts ...func(*rds.Options)) (*rds.DescribeDBClusterSnapshotAttributesOutput, error)
}

// rdsAPI is every RDS call this package makes (one cached client per
// region serves them all).
type rdsAPI interface {
	rdsInstanceAPI
	rdsSnapshotAPI
	rdsClusterSnapshotAPI
}

// rdsFetchers are the readers of RDS resource types.
func rdsFetchers() map[string]fetchFunc {
	return map[string]fetchFunc{
		"AWS::RDS::DBInstance": func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			region, id, err := rdsIdentifier(ref, "db")
			if err != nil {
				return nil, nil, false, err
			}
			return readDBInstance(ctx, rdsClient(r, region), id)
		},
		"AWS::RDS::DBSnapshot": func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			region, id, err := rdsIdentifier(ref, "snapshot")
			if err != nil {
				return nil, nil, false, err
			}
			return readDBSnapshot(ctx, rdsClient(r, region), id)
		},
		"AWS::RDS::DBClusterSnapshot": func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			region, id, err := rdsIdentifier(ref, "cluster-snapshot")
			if err != nil {
				return nil, nil, false, err
			}
			return readDBClusterSnapshot(ctx, rdsClient(r, region), id)
		},
	}
}

func rdsClient(r *Reader, region string) rdsAPI {
	return client(r, "rds", region, func(cfg aws.Config) rdsAPI { return rds.NewFromConfig(cfg) })
}

// rdsIdentifier splits arn:{p}:rds:{region}:{account}:{kind}:{identifier}
// into its region (the ref's when the ARN has none) and identifier, which
// may itself hold colons (automated snapshots are named rds:...).
func rdsIdentifier(ref resource.Ref, kind string) (region, id string, err error) {
	parts := strings.SplitN(ref.ID, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "rds" || parts[5] != kind || parts[6] == "" {
		return "", "", fmt.Errorf("parse RDS %s ARN %q: want arn:partition:rds:region:account:%s:identifier", kind, ref.ID, kind)
	}
	region = parts[3]
	if region == "" {
		region = ref.Region
	}
	return region, parts[6], nil
}

// readDBInstance reads a DB instance by identifier.
func readDBInstance(ctx context.Context, api rdsInstanceAPI, id string) (map[string]any, map[string]string, bool, error) {
	out, err := api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if errorCodeIs(err, rdsInstanceNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe DB instance %q: %w", id, err)
	}
	if len(out.DBInstances) == 0 {
		return nil, nil, false, nil
	}
	db := out.DBInstances[0]
	status := aws.ToString(db.DBInstanceStatus)
	if status == rdsStatusDeleting {
		return nil, nil, false, nil
	}
	sgs := make([]any, 0, len(db.VpcSecurityGroups))
	for _, sg := range db.VpcSecurityGroups {
		if sg.VpcSecurityGroupId != nil {
			sgs = append(sgs, *sg.VpcSecurityGroupId)
		}
	}
	doc := map[string]any{
		"DBInstanceIdentifier":                  aws.ToString(db.DBInstanceIdentifier),
		"DBInstanceArn":                         aws.ToString(db.DBInstanceArn),
		"DBInstanceClass":                       aws.ToString(db.DBInstanceClass),
		"DBInstanceStatus":                      status,
		"DBClusterIdentifier":                   aws.ToString(db.DBClusterIdentifier),
		"ReadReplicaSourceDBInstanceIdentifier": aws.ToString(db.ReadReplicaSourceDBInstanceIdentifier),
		"Engine":                                aws.ToString(db.Engine),
		"EngineVersion":                         aws.ToString(db.EngineVersion),
		"PubliclyAccessible":                    aws.ToBool(db.PubliclyAccessible),
		"StorageEncrypted":                      aws.ToBool(db.StorageEncrypted),
		"KmsKeyId":                              aws.ToString(db.KmsKeyId),
		"MultiAZ":                               aws.ToBool(db.MultiAZ),
		"BackupRetentionPeriod":                 int64(aws.ToInt32(db.BackupRetentionPeriod)),
		"AutoMinorVersionUpgrade":               aws.ToBool(db.AutoMinorVersionUpgrade),
		"DeletionProtection":                    aws.ToBool(db.DeletionProtection),
		"IAMDatabaseAuthenticationEnabled":      aws.ToBool(db.IAMDatabaseAuthenticationEnabled),
		"VpcSecurityGroups":                     sgs,
	}
	return doc, rdsTags(db.TagList), true, nil
}

// readDBSnapshot reads a manual or automated DB snapshot by identifier, with
// its restore attribute.
func readDBSnapshot(ctx context.Context, api rdsSnapshotAPI, id string) (map[string]any, map[string]string, bool, error) {
	out, err := api.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id)})
	if errorCodeIs(err, rdsSnapshotNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe DB snapshot %q: %w", id, err)
	}
	if len(out.DBSnapshots) == 0 {
		return nil, nil, false, nil
	}
	s := out.DBSnapshots[0]
	status := aws.ToString(s.Status)
	if status == rdsStatusDeleting {
		return nil, nil, false, nil
	}
	attrs, err := api.DescribeDBSnapshotAttributes(ctx, &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: aws.String(id)})
	if errorCodeIs(err, rdsSnapshotNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe attributes of DB snapshot %q: %w", id, err)
	}
	var values []string
	if attrs.DBSnapshotAttributesResult != nil {
		for _, a := range attrs.DBSnapshotAttributesResult.DBSnapshotAttributes {
			if aws.ToString(a.AttributeName) == rdsRestoreAttribute {
				values = append(values, a.AttributeValues...)
			}
		}
	}
	doc := map[string]any{
		"DBSnapshotIdentifier": aws.ToString(s.DBSnapshotIdentifier),
		"DBSnapshotArn":        aws.ToString(s.DBSnapshotArn),
		"DBInstanceIdentifier": aws.ToString(s.DBInstanceIdentifier),
		"Engine":               aws.ToString(s.Engine),
		"SnapshotType":         aws.ToString(s.SnapshotType),
		"Status":               status,
		"Encrypted":            aws.ToBool(s.Encrypted),
		"KmsKeyId":             aws.ToString(s.KmsKeyId),
		"RestoreAttribute":     rdsRestore(values),
	}
	return doc, rdsTags(s.TagList), true, nil
}

// readDBClusterSnapshot reads a DB cluster snapshot by identifier, with its
// restore attribute.
func readDBClusterSnapshot(ctx context.Context, api rdsClusterSnapshotAPI, id string) (map[string]any, map[string]string, bool, error) {
	out, err := api.DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String(id)})
	if errorCodeIs(err, rdsClusterSnapshotNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe DB cluster snapshot %q: %w", id, err)
	}
	if len(out.DBClusterSnapshots) == 0 {
		return nil, nil, false, nil
	}
	s := out.DBClusterSnapshots[0]
	status := aws.ToString(s.Status)
	if status == rdsStatusDeleting {
		return nil, nil, false, nil
	}
	attrs, err := api.DescribeDBClusterSnapshotAttributes(ctx, &rds.DescribeDBClusterSnapshotAttributesInput{DBClusterSnapshotIdentifier: aws.String(id)})
	if errorCodeIs(err, rdsClusterSnapshotNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("describe attributes of DB cluster snapshot %q: %w", id, err)
	}
	var values []string
	if attrs.DBClusterSnapshotAttributesResult != nil {
		for _, a := range attrs.DBClusterSnapshotAttributesResult.DBClusterSnapshotAttributes {
			if aws.ToString(a.AttributeName) == rdsRestoreAttribute {
				values = append(values, a.AttributeValues...)
			}
		}
	}
	doc := map[string]any{
		"DBClusterSnapshotIdentifier": aws.ToString(s.DBClusterSnapshotIdentifier),
		"DBClusterSnapshotArn":        aws.ToString(s.DBClusterSnapshotArn),
		"DBClusterIdentifier":         aws.ToString(s.DBClusterIdentifier),
		"Engine":                      aws.ToString(s.Engine),
		"SnapshotType":                aws.ToString(s.SnapshotType),
		"Status":                      status,
		"StorageEncrypted":            aws.ToBool(s.StorageEncrypted),
		"KmsKeyId":                    aws.ToString(s.KmsKeyId),
		"RestoreAttribute":            rdsRestore(values),
	}
	return doc, rdsTags(s.TagList), true, nil
}

// rdsRestore maps the values of a snapshot's restore attribute to
// {Public, Accounts}: "all" makes the snapshot public, every other value is
// an account it is shared with.
func rdsRestore(values []string) map[string]any {
	public := false
	accounts := make([]any, 0, len(values))
	slices.Sort(values)
	for _, v := range slices.Compact(values) {
		if v == "all" {
			public = true
			continue
		}
		accounts = append(accounts, v)
	}
	return map[string]any{"Public": public, "Accounts": accounts}
}

// rdsTags maps an RDS tag list.
func rdsTags(list []rdstypes.Tag) map[string]string {
	tags := make(map[string]string, len(list))
	for _, t := range list {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags
}

// rdsActions are the IAM actions behind the RDS calls above; each is named
// after its operation.
var rdsActions = operationActions{
	"rds.DescribeDBInstances":                 {"rds:DescribeDBInstances"},
	"rds.DescribeDBSnapshots":                 {"rds:DescribeDBSnapshots"},
	"rds.DescribeDBSnapshotAttributes":        {"rds:DescribeDBSnapshotAttributes"},
	"rds.DescribeDBClusterSnapshots":          {"rds:DescribeDBClusterSnapshots"},
	"rds.DescribeDBClusterSnapshotAttributes": {"rds:DescribeDBClusterSnapshotAttributes"},
}
