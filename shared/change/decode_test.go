package change_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
)

// eventsDir holds the repository's sample events.
const eventsDir = "../../events/aws"

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(eventsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// summary is the part of a Change the sample table checks.
type summary struct {
	Service, Operation, Account, Region string
	ReadOnly                            bool
	ErrorCode, EventType                string
	// Principal.Type, ARN, Name, IssuerARN.
	PType, PARN, PName, PIssuer string
}

func summarize(c *change.Change) summary {
	return summary{c.Service, c.Operation, c.Account, c.Region, c.ReadOnly, c.ErrorCode, c.EventType,
		c.Principal.Type, c.Principal.ARN, c.Principal.Name, c.Principal.IssuerARN}
}

const (
	stratusUser = "christophe"
	tfRole      = "terraform-deployer"
	tfSession   = "arn:aws:sts::123456789012:assumed-role/terraform-deployer/github-actions-1722513600"
	tfIssuer    = "arn:aws:iam::123456789012:role/terraform-deployer"
	ssoRole     = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
	ssoSession  = "arn:aws:sts::123456789012:assumed-role/" + ssoRole + "/alice@example.com"
	ssoIssuer   = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/" + ssoRole
	bob         = "arn:aws:iam::123456789012:user/bob"
)

func s(service, op, acct, region string, ro bool, errCode, eventType string, pType, pARN, pName, pIssuer string) summary {
	return summary{service, op, acct, region, ro, errCode, eventType, pType, pARN, pName, pIssuer}
}

func api(service, op, acct, region string, pType, pARN, pName, pIssuer string) summary {
	return s(service, op, acct, region, false, "", "AwsApiCall", pType, pARN, pName, pIssuer)
}

// TestDecodeSamples decodes every file in events/aws and checks what each
// one normalises to. A new sample must be added here.
func TestDecodeSamples(t *testing.T) {
	redacted := func(service, op, acct, region string) summary {
		return api(service, op, acct, region, "...", "...", "", "")
	}
	tests := map[string]struct {
		want []summary
		errs []string // substrings, one per expected error
	}{
		"cloudtrail-delete-trail.json": {want: []summary{api("cloudtrail.amazonaws.com", "DeleteTrail", "847129010505", "megov-westwest-1r", "IAMUser", "arn:aws:iam::847129010505:user/christophe", stratusUser, "")}},
		"cloudtrail-log-file-mixed.json": {want: []summary{
			s("ec2.amazonaws.com", "DescribeInstances", "309303190113", "ca-northsouth-2r", true, "", "AwsApiCall", "IAMUser", "arn:aws:iam::309303190113:user/christophe", stratusUser, ""),
			api("cloudtrail.amazonaws.com", "StopLogging", "143434273843", "apiso-centralnorth-2r", "IAMUser", "arn:aws:iam::143434273843:user/christophe", stratusUser, ""),
			api("ec2.amazonaws.com", "CreateSecurityGroup", "112233445566", "us-east-1", "AssumedRole", "arn:aws:sts::112233445566:assumed-role/Operator/ryan@example.com", "Operator", "arn:aws:iam::112233445566:role/Operator"),
			s("kms.amazonaws.com", "RotateKey", "123456789012", "us-east-2", false, "", "AwsServiceEvent", "", "", "", ""),
			s("organizations.amazonaws.com", "LeaveOrganization", "307578594326", "euiso-south-3r", false, "AccessDenied", "AwsApiCall", "AssumedRole",
				"arn:aws:sts::307578594326:assumed-role/stratus-red-team-leave-org-role/aws-go-sdk-1722587398902687000", "stratus-red-team-leave-org-role",
				"arn:aws:iam::307578594326:role/stratus-red-team-leave-org-role"),
		}},
		"cloudtrail-put-event-selectors-management-events-off.json":  {want: []summary{api("cloudtrail.amazonaws.com", "PutEventSelectors", "958312252124", "cn-northsouth-2r", "IAMUser", "arn:aws:iam::958312252124:user/christophe", stratusUser, "")}},
		"cloudtrail-stop-logging.json":                               {want: []summary{api("cloudtrail.amazonaws.com", "StopLogging", "143434273843", "apiso-centralnorth-2r", "IAMUser", "arn:aws:iam::143434273843:user/christophe", stratusUser, "")}},
		"cloudtrail-update-trail-redacted.json":                      {want: []summary{redacted("cloudtrail.amazonaws.com", "UpdateTrail", "123456789123", "us-west-2")}},
		"config-stop-configuration-recorder-redacted.json":           {want: []summary{redacted("config.amazonaws.com", "StopConfigurationRecorder", "123456789123", "us-west-2")}},
		"ec2-authorize-security-group-egress-all-traffic-world.json": {want: []summary{api("ec2.amazonaws.com", "AuthorizeSecurityGroupEgress", "123456789012", "eu-west-1", "AssumedRole", tfSession, tfRole, tfIssuer)}},
		"ec2-authorize-security-group-ingress-all-traffic-world-ipv4-ipv6.json": {want: []summary{
			// Redacted upstream: account "12345", region "...".
			api("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", "12345", "...", "IAMUser", "...", "...", "")}},
		"ec2-authorize-security-group-ingress-ssh-world-anonymized-cidr.json": {want: []summary{api("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", "032092706103", "us-northeast-1r", "IAMUser", "arn:aws:iam::032092706103:user/christophe", stratusUser, "")}},
		"ec2-create-network-acl-entry-ingress-ssh-world.json":                 {want: []summary{api("ec2.amazonaws.com", "CreateNetworkAclEntry", "123456789012", "eu-west-1", "IAMUser", bob, "bob", "")}},
		"ec2-create-security-group.json":                                      {want: []summary{api("ec2.amazonaws.com", "CreateSecurityGroup", "112233445566", "us-east-1", "AssumedRole", "arn:aws:sts::112233445566:assumed-role/Operator/ryan@example.com", "Operator", "arn:aws:iam::112233445566:role/Operator")}},
		"ec2-delete-transit-gateway-vpc-attachment-eventbridge.json":          {want: []summary{api("ec2.amazonaws.com", "DeleteTransitGatewayVpcAttachment", "012345678912", "us-west-2", "AssumedRole", "arn:aws:sts::012345678912:assumed-role/c7nbot/pmuniswamy", "c7nbot", "arn:aws:iam::012345678912:role/c7nbot")}},
		"ec2-describe-instances-readonly.json":                                {want: []summary{s("ec2.amazonaws.com", "DescribeInstances", "309303190113", "ca-northsouth-2r", true, "", "AwsApiCall", "IAMUser", "arn:aws:iam::309303190113:user/christophe", stratusUser, "")}},
		"ec2-disable-ebs-encryption-by-default.json":                          {want: []summary{api("ec2.amazonaws.com", "DisableEbsEncryptionByDefault", "123456789012", "eu-west-1", "IAMUser", bob, "bob", "")}},
		"ec2-instance-state-change-notification-eventbridge.json": {errs: []string{
			`ec2-instance-state-change-notification-eventbridge.json: offset 0: expected a CloudTrail record or an EventBridge "AWS API Call via CloudTrail" event, found an EventBridge "EC2 Instance State-change Notification" event`}},
		"ec2-modify-image-attribute-public-group-all.json":        {want: []summary{redacted("ec2.amazonaws.com", "ModifyImageAttribute", "123456789123", "us-east-1")}},
		"ec2-modify-image-attribute-share-with-account.json":      {want: []summary{api("ec2.amazonaws.com", "ModifyImageAttribute", "118238665043", "me-south-1r", "IAMUser", "arn:aws:iam::118238665043:user/christophe", stratusUser, "")}},
		"ec2-modify-snapshot-attribute-share-with-account.json":   {want: []summary{api("ec2.amazonaws.com", "ModifySnapshotAttribute", "756680937392", "me-central-3r", "IAMUser", "arn:aws:iam::756680937392:user/christophe", stratusUser, "")}},
		"glue-put-resource-policy-org-condition-eventbridge.json": {want: []summary{api("glue.amazonaws.com", "PutResourcePolicy", "644160558196", "us-east-1", "IAMUser", "arn:aws:iam::644160558196:user/fake@fakeemail.com", "fake@fakeemail.com", "")}},
		"guardduty-update-detector-disable.json":                  {want: []summary{redacted("guardduty.amazonaws.com", "UpdateDetector", "123456789123", "us-east-1")}},
		"iam-attach-group-policy-poweruseraccess.json":            {want: []summary{api("iam.amazonaws.com", "AttachGroupPolicy", "123456789012", "us-east-1", "AssumedRole", ssoSession, ssoRole, ssoIssuer)}},
		"iam-attach-role-policy-administratoraccess.json":         {want: []summary{api("iam.amazonaws.com", "AttachRolePolicy", "123456789012", "us-east-1", "AssumedRole", tfSession, tfRole, tfIssuer)}},
		"iam-attach-user-policy-administratoraccess.json":         {want: []summary{api("iam.amazonaws.com", "AttachUserPolicy", "229654561268", "ap-isob-central-3r", "IAMUser", "arn:aws:iam::229654561268:user/christophe", stratusUser, "")}},
		"iam-create-access-key.json":                              {want: []summary{api("iam.amazonaws.com", "CreateAccessKey", "229654561268", "ap-isob-central-3r", "IAMUser", "arn:aws:iam::229654561268:user/christophe", stratusUser, "")}},
		"iam-create-login-profile.json":                           {want: []summary{api("iam.amazonaws.com", "CreateLoginProfile", "070411556318", "ap-central-2r", "IAMUser", "arn:aws:iam::070411556318:user/christophe", stratusUser, "")}},
		"iam-create-policy-version-set-default.json":              {want: []summary{api("iam.amazonaws.com", "CreatePolicyVersion", "123456789012", "us-east-1", "AssumedRole", tfSession, tfRole, tfIssuer)}},
		"iam-deactivate-mfa-device.json":                          {want: []summary{api("iam.amazonaws.com", "DeactivateMFADevice", "123456789012", "us-east-1", "IAMUser", bob, "bob", "")}},
		"iam-put-group-policy-inline.json":                        {want: []summary{api("iam.amazonaws.com", "PutGroupPolicy", "123456789012", "us-east-1", "AssumedRole", ssoSession, ssoRole, ssoIssuer)}},
		"iam-put-role-policy-inline-admin.json":                   {want: []summary{api("iam.amazonaws.com", "PutRolePolicy", "123456789012", "us-east-1", "AssumedRole", tfSession, tfRole, tfIssuer)}},
		"iam-put-user-policy-aws-compromised-key-quarantine.json": {want: []summary{api("iam.amazonaws.com", "PutUserPolicy", "123456789012", "us-east-1", "IAMUser", "arn:aws:iam::123456789012:user/compromised_user", "compromised_user", "")}},
		"iam-update-account-password-policy-weak.json":            {want: []summary{api("iam.amazonaws.com", "UpdateAccountPasswordPolicy", "123456789012", "us-east-1", "Root", "arn:aws:iam::123456789012:root", "root", "")}},
		"iam-update-assume-role-policy-external-account.json":     {want: []summary{api("iam.amazonaws.com", "UpdateAssumeRolePolicy", "751203476945", "ca-isob-northsouth-1r", "IAMUser", "arn:aws:iam::751203476945:user/christophe", stratusUser, "")}},
		"kms-put-key-policy-public.json":                          {want: []summary{api("kms.amazonaws.com", "PutKeyPolicy", "123456789012", "eu-west-1", "AssumedRole", tfSession, tfRole, tfIssuer)}},
		"kms-rotate-key-service-event.json":                       {want: []summary{s("kms.amazonaws.com", "RotateKey", "123456789012", "us-east-2", false, "", "AwsServiceEvent", "", "", "", "")}},
		"kms-schedule-key-deletion.json":                          {want: []summary{api("kms.amazonaws.com", "ScheduleKeyDeletion", "123456789012", "eu-west-1", "AssumedRole", ssoSession, ssoRole, ssoIssuer)}},
		"lambda-add-permission-public-principal.json":             {want: []summary{api("lambda.amazonaws.com", "AddPermission20150331v2", "880896431042", "ca-centralnorth-1r", "IAMUser", "arn:aws:iam::880896431042:user/christophe", stratusUser, "")}},
		"lambda-create-function-url-config-auth-none.json":        {want: []summary{api("lambda.amazonaws.com", "CreateFunctionUrlConfig20211031", "123456789012", "eu-west-1", "AssumedRole", tfSession, tfRole, tfIssuer)}},
		"organizations-leave-organization-error-accessdenied.json": {want: []summary{s("organizations.amazonaws.com", "LeaveOrganization", "307578594326", "euiso-south-3r", false, "AccessDenied", "AwsApiCall", "AssumedRole",
			"arn:aws:sts::307578594326:assumed-role/stratus-red-team-leave-org-role/aws-go-sdk-1722587398902687000", "stratus-red-team-leave-org-role",
			"arn:aws:iam::307578594326:role/stratus-red-team-leave-org-role")}},
		"rds-modify-db-instance-publicly-accessible.json":          {want: []summary{api("rds.amazonaws.com", "ModifyDBInstance", "123456789012", "eu-west-1", "AssumedRole", ssoSession, ssoRole, ssoIssuer)}},
		"rds-modify-db-snapshot-attribute-share-with-account.json": {want: []summary{api("rds.amazonaws.com", "ModifyDBSnapshotAttribute", "171471557522", "meiso-eastwest-2r", "IAMUser", "arn:aws:iam::171471557522:user/christophe", stratusUser, "")}},
		// No recipientAccountId in this 2016 record: the envelope's account.
		"s3-create-bucket-root-eventbridge.json":     {want: []summary{api("s3.amazonaws.com", "CreateBucket", "619193117841", "us-west-2", "Root", "arn:aws:iam::619193117841:root", "root", "")}},
		"s3-delete-account-public-access-block.json": {want: []summary{api("s3.amazonaws.com", "DeleteAccountPublicAccessBlock", "123456789123", "us-east-1", "...", "...", "", "")}},
		// The envelope's account wins over the caller's userIdentity.accountId.
		"s3-job-created-service-event-eventbridge.json": {want: []summary{s("s3.amazonaws.com", "JobCreated", "123456789012", "us-east-1", false, "", "AwsServiceEvent", "", "", "", "")}},
		// eventTime is redacted to "...": decoded anyway, with a zero Time.
		"s3-put-bucket-acl-allusers-authenticatedusers-read.json": {want: []summary{s("s3.amazonaws.com", "PutBucketAcl", "12345", "us-east-1", false, "", "...", "IAMUser", "...", "...", "")}},
		"s3-put-bucket-acl-owner-full-control-only.json":          {want: []summary{api("s3.amazonaws.com", "PutBucketAcl", "111122223333", "us-west-2", "IAMUser", "arn:aws:iam::111122223333:user/myUserName", "myUserName", "")}},
		"s3-put-bucket-encryption-kms.json":                       {want: []summary{api("s3.amazonaws.com", "PutBucketEncryption", "123456789012", "eu-west-1", "AssumedRole", tfSession, tfRole, tfIssuer)}},
		"s3-put-bucket-policy-public-principal-star.json":         {want: []summary{redacted("s3.amazonaws.com", "PutBucketPolicy", "123456789123", "us-east-1")}},
		"s3-put-bucket-public-access-block-all-disabled.json":     {want: []summary{api("s3.amazonaws.com", "PutBucketPublicAccessBlock", "123456789123", "us-east-1", "...", "...", "", "")}},
		"s3-put-bucket-public-access-block-eventbridge.json":      {want: []summary{api("s3.amazonaws.com", "PutBucketPublicAccessBlock", "123456789123", "us-east-1", "...", "...", "", "")}},
		"s3-put-bucket-versioning-suspended.json":                 {want: []summary{api("s3.amazonaws.com", "PutBucketVersioning", "123456789012", "eu-west-1", "AssumedRole", ssoSession, ssoRole, ssoIssuer)}},
		"sts-get-federation-token-array.json": {want: []summary{
			api("sts.amazonaws.com", "GetFederationToken", "742491224508", "ap-isob-east-1r", "IAMUser", "arn:aws:iam::742491224508:user/stratus-red-team-user-federation-user", "stratus-red-team-user-federation-user", ""),
			s("sts.amazonaws.com", "GetCallerIdentity", "742491224508", "ap-isob-east-1r", true, "", "AwsApiCall", "FederatedUser",
				"arn:aws:sts::742491224508:federated-user/stratus_red_team", "stratus_red_team", "arn:aws:iam::742491224508:user/stratus-red-team-user-federation-user"),
		}},
	}

	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", eventsDir, err)
	}
	for _, f := range files {
		if _, ok := tests[filepath.Base(f)]; !ok {
			t.Errorf("sample %s has no expectations in TestDecodeSamples", filepath.Base(f))
		}
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			changes, errs := change.Decode(name, readEvent(t, name))
			var got []summary
			for i := range changes {
				got = append(got, summarize(&changes[i]))
				if changes[i].Cloud != change.AWS || changes[i].EventID == "" {
					t.Errorf("change %d: Cloud %q, EventID %q", i, changes[i].Cloud, changes[i].EventID)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes:\n got %+v\nwant %+v", got, tt.want)
			}
			if len(errs) != len(tt.errs) {
				t.Fatalf("errors: got %v, want %d", errs, len(tt.errs))
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), tt.errs[i]) {
					t.Errorf("error %d: %q does not contain %q", i, err, tt.errs[i])
				}
			}
		})
	}
}

// TestDecodeFields checks the fields the sample table does not.
func TestDecodeFields(t *testing.T) {
	data := readEvent(t, "kms-schedule-key-deletion.json")
	changes, errs := change.Decode("k", data)
	if len(errs) != 0 || len(changes) != 1 {
		t.Fatalf("Decode: %v %v", changes, errs)
	}
	c := &changes[0]
	want := struct {
		EventID, SourceIP, UserAgent, AccessKeyID, PrincipalID, PrincipalAccount, IssuerType string
		Time                                                                                 time.Time
		Resources                                                                            []change.EventResource
	}{
		"", "AWS Internal", "AWS Internal", "ASIAXMPLSSOSESSION01",
		"AROAXMPLSSOROLEID001:alice@example.com", "123456789012", "Role",
		time.Date(2024, 8, 1, 12, 40, 0, 0, time.UTC),
		[]change.EventResource{{ARN: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", AccountID: "123456789012", Type: "AWS::KMS::Key"}},
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	want.EventID = rec["eventID"].(string)
	got := want
	got.EventID, got.SourceIP, got.UserAgent = c.EventID, c.SourceIP, c.UserAgent
	got.AccessKeyID, got.PrincipalID, got.PrincipalAccount, got.IssuerType = c.Principal.AccessKeyID, c.Principal.ID, c.Principal.Account, c.Principal.IssuerType
	got.Time, got.Resources = c.Time, c.EventResources
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if !bytes.Equal(c.Raw, bytes.TrimSpace(data)) || cap(c.Raw) != len(c.Raw) {
		t.Errorf("Raw is not the record, or could be appended to over the input")
	}
	if got, want := change.String(c.Request(), "pendingWindowInDays"), "7"; got != want {
		t.Errorf("request pendingWindowInDays = %q, want %q", got, want)
	}
	if got, want := change.String(c.Response(), "keyState"), "PendingDeletion"; got != want {
		t.Errorf("response keyState = %q, want %q", got, want)
	}
}

// TestDecodeForms decodes the same records wrapped in every form Decode
// accepts.
func TestDecodeForms(t *testing.T) {
	rec := compact(t, readEvent(t, "cloudtrail-stop-logging.json"))        // StopLogging
	ro := compact(t, readEvent(t, "ec2-describe-instances-readonly.json")) // DescribeInstances
	env := compact(t, readEvent(t, "s3-create-bucket-root-eventbridge.json"))
	logFile := `{"Records":[` + rec + `,` + ro + `]}`
	quoted := func(s string) string { b, _ := json.Marshal(s); return string(b) }

	tests := []struct {
		name  string
		input string
		want  []string // operations
	}{
		{"raw record", rec, []string{"StopLogging"}},
		{"pretty record", string(readEvent(t, "cloudtrail-stop-logging.json")), []string{"StopLogging"}},
		{"eventbridge envelope", env, []string{"CreateBucket"}},
		{"console action envelope", envelope("AWS Console Action via CloudTrail", rec), []string{"StopLogging"}},
		{"service event envelope", envelope("AWS Service Event via CloudTrail", rec), []string{"StopLogging"}},
		{"log file", logFile, []string{"StopLogging", "DescribeInstances"}},
		{"empty log file", `{"Records":[]}`, nil},
		{"array", `[` + rec + `,` + env + `]`, []string{"StopLogging", "CreateBucket"}},
		{"empty array", `[]`, nil},
		{"array of log files and arrays", `[` + logFile + `,[` + env + `,[` + ro + `]]]`, []string{"StopLogging", "DescribeInstances", "CreateBucket", "DescribeInstances"}},
		{"json lines", rec + "\n" + env + "\n" + logFile + "\n", []string{"StopLogging", "CreateBucket", "StopLogging", "DescribeInstances"}},
		{"concatenated", rec + env, []string{"StopLogging", "CreateBucket"}},
		{"crlf lines and byte order mark", "\ufeff" + rec + "\r\n" + ro + "\r\n", []string{"StopLogging", "DescribeInstances"}},
		{"lookup-events output", `{"Events":[{"EventId":"1","EventName":"StopLogging","ReadOnly":"false","CloudTrailEvent":` + quoted(rec) +
			`},{"EventName":"DescribeInstances","CloudTrailEvent":` + quoted(ro) + `}],"NextToken":"x"}`, []string{"StopLogging", "DescribeInstances"}},
		{"sqs event", `{"Records":[{"messageId":"m1","body":` + quoted(env) + `,"eventSource":"aws:sqs","awsRegion":"us-east-1"},` +
			`{"messageId":"m2","body":` + quoted(rec) + `,"eventSource":"aws:sqs"}]}`, []string{"CreateBucket", "StopLogging"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, errs := change.Decode(tt.name, []byte(tt.input))
			if len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.Operation)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("operations: got %q, want %q", got, tt.want)
			}
			var seq []string
			for c, err := range change.DecodeSeq(tt.name, []byte(tt.input)) {
				if err != nil {
					t.Fatalf("DecodeSeq error: %v", err)
				}
				seq = append(seq, c.Operation)
			}
			if !reflect.DeepEqual(seq, got) {
				t.Errorf("DecodeSeq: got %q, Decode got %q", seq, got)
			}
		})
	}
}

// TestDecodeEnvelope checks what an envelope contributes.
func TestDecodeEnvelope(t *testing.T) {
	detail := `{"eventSource":"s3.amazonaws.com","eventName":"PutBucketAcl","eventID":"e1"}`
	data := envelope("AWS API Call via CloudTrail", detail)
	changes, errs := change.Decode("e", []byte(data))
	if len(errs) != 0 || len(changes) != 1 {
		t.Fatalf("Decode: %v %v", changes, errs)
	}
	c := changes[0]
	if c.Account != "111122223333" || c.Region != "eu-central-1" {
		t.Errorf("account, region = %q, %q; want the envelope's 111122223333, eu-central-1", c.Account, c.Region)
	}
	if string(c.Raw) != detail {
		t.Errorf("Raw = %s, want the detail %s", c.Raw, detail)
	}
}

// TestDecodeErrors checks the error cases and that the other items still
// decode.
func TestDecodeErrors(t *testing.T) {
	rec := compact(t, readEvent(t, "cloudtrail-stop-logging.json"))
	state := compact(t, readEvent(t, "ec2-instance-state-change-notification-eventbridge.json"))
	type wantErr struct {
		offset int64
		index  int
		is     error
		text   string // substring of Error()
	}
	tests := []struct {
		name  string
		input string
		ops   []string
		errs  []wantErr
	}{
		{"empty input", "", nil, []wantErr{{0, -1, change.ErrEmpty, "e: offset 0: expected a CloudTrail record"}}},
		{"white space only", " \n\t ", nil, []wantErr{{4, -1, change.ErrEmpty, "found no JSON value"}}},
		{"syntax error in a single record", `{"eventName": "X" "eventSource": "s"}`, nil,
			[]wantErr{{18, -1, change.ErrSyntax, `e: offset 18: invalid JSON: invalid character '"' after object value (expecting ',' or '}')`}}},
		{"truncated", rec[:100], nil, []wantErr{{100, -1, change.ErrSyntax, "unexpected end of input"}}},
		{"non-CloudTrail envelope", state, nil, []wantErr{{0, -1, change.ErrNotCloudTrail,
			`e: offset 0: expected a CloudTrail record or an EventBridge "AWS API Call via CloudTrail" event, found an EventBridge "EC2 Instance State-change Notification" event`}}},
		{"unknown object", `{"foo": 1, "bar": {"eventName": "X"}}`, nil, []wantErr{{0, -1, change.ErrNotCloudTrail,
			`expected a CloudTrail record (eventName, eventSource), an EventBridge event (detail-type, detail) or a CloudTrail log file (Records), found an object with keys "foo", "bar"`}}},
		{"empty object", `{}`, nil, []wantErr{{0, -1, change.ErrNotCloudTrail, "found an empty object"}}},
		{"many keys", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7}`, nil, []wantErr{{0, -1, change.ErrNotCloudTrail, `keys "a", "b", "c", "d", "e" and 2 more`}}},
		{"scalar", `"eventName"`, nil, []wantErr{{0, -1, change.ErrNotCloudTrail, "found a string"}}},
		{"bad item inside an array", `[` + rec + `, 42, ` + state + `, {"x":1}, ` + rec + `]`, []string{"StopLogging", "StopLogging"}, []wantErr{
			{int64(len(rec) + 3), 1, change.ErrNotCloudTrail, "(item 1): expected a CloudTrail record (eventName, eventSource)"},
			{int64(len(rec) + 7), 2, change.ErrNotCloudTrail, `(item 2): expected a CloudTrail record or an EventBridge "AWS API Call via CloudTrail" event`},
			{int64(len(rec) + 9 + len(state)), 3, change.ErrNotCloudTrail, `found an object with keys "x"`},
		}},
		{"bad record inside a log file", `{"Records":[` + rec + `,{"eventName":{"a":1},"eventSource":"s"},` + rec + `]}`, []string{"StopLogging", "StopLogging"}, []wantErr{
			{int64(12 + len(rec) + 14), 1, change.ErrBadField, "(item 1): expected a string in eventName, found an object"},
		}},
		{"syntax error in json lines resumes at the next line", rec + "\n{\"eventName\": tru}\n" + rec + "\n", []string{"StopLogging", "StopLogging"}, []wantErr{
			{int64(len(rec) + 18), 1, change.ErrSyntax, "(item 1): invalid JSON: invalid character '}' in literal true (expecting 'e')"},
		}},
		{"unterminated line resumes at the next object", rec + "\n{\"eventName\": \"x\"\n" + rec, []string{"StopLogging", "StopLogging"}, []wantErr{
			{int64(len(rec) + 19), 1, change.ErrSyntax, "after object value"},
		}},
		{"syntax error inside an array keeps the items before it", `[` + rec + `, {"eventName": x}, ` + rec + `]`, []string{"StopLogging"}, []wantErr{
			{int64(len(rec) + 17), 1, change.ErrSyntax, "invalid character 'x' looking for beginning of value"},
		}},
		{"records not an array", `{"Records": {"eventName": "X"}}`, nil, []wantErr{{12, -1, change.ErrNotCloudTrail, "expected an array in Records, found an object"}}},
		{"envelope without detail", `{"detail-type": "AWS API Call via CloudTrail", "account": "1"}`, nil, []wantErr{{0, -1, change.ErrNotCloudTrail, "found no detail"}}},
		{"envelope with a detail that is not a record", envelope("AWS API Call via CloudTrail", `{"state":"x"}`), nil,
			[]wantErr{{int64(strings.Index(envelope("AWS API Call via CloudTrail", `{"state":"x"}`), `{"state"`)), -1, change.ErrNotCloudTrail, `in detail, found an object with keys "state"`}}},
		{"envelope without detail-type", `{"detail": ` + rec + `}`, nil, []wantErr{{0, -1, change.ErrNotCloudTrail, "found an EventBridge event without detail-type"}}},
		{"user identity of the wrong type", `{"eventName":"X","eventSource":"s","userIdentity":"root"}`, nil,
			[]wantErr{{50, -1, change.ErrBadField, "expected an object in userIdentity, found a string"}}},
		{"readOnly of the wrong type", `{"eventName":"X","eventSource":"s","readOnly":1}`, nil,
			[]wantErr{{46, -1, change.ErrBadField, "expected true or false in readOnly, found a number"}}},
		{"resources of the wrong type", `{"eventName":"X","eventSource":"s","resources":{}}`, nil,
			[]wantErr{{47, -1, change.ErrBadField, "expected an array in resources, found an object"}}},
		{"sqs body that is not JSON", `{"Records":[{"body":"{oops","eventSource":"aws:sqs"},` + rec + `]}`, []string{"StopLogging"},
			[]wantErr{{20, 0, change.ErrSyntax, "in body string at offset 1: invalid JSON: invalid character 'o' looking for beginning of object key string"}}},
		{"s3 event notification", `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put"}]}`, nil,
			[]wantErr{{12, 0, change.ErrNotCloudTrail, `(item 0): expected a CloudTrail record or an EventBridge "AWS API Call via CloudTrail" event, found an "aws:s3" event record`}}},
		{"second value after a single one is a stream", rec + ` 42`, []string{"StopLogging"}, []wantErr{{int64(len(rec) + 1), 1, change.ErrNotCloudTrail, "(item 1): expected"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, errs := change.Decode("e", []byte(tt.input))
			var ops []string
			for _, c := range changes {
				ops = append(ops, c.Operation)
			}
			if !reflect.DeepEqual(ops, tt.ops) {
				t.Errorf("operations: got %q, want %q", ops, tt.ops)
			}
			if len(errs) != len(tt.errs) {
				t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(tt.errs))
			}
			for i, err := range errs {
				var de *change.DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("error %d is %T, not *DecodeError", i, err)
				}
				w := tt.errs[i]
				if de.Offset != w.offset || de.Index != w.index || de.Source != "e" {
					t.Errorf("error %d: source %q, offset %d, index %d; want e, %d, %d (%v)", i, de.Source, de.Offset, de.Index, w.offset, w.index, err)
				}
				if !errors.Is(err, w.is) {
					t.Errorf("error %d: %v is not %v", i, err, w.is)
				}
				if !strings.Contains(err.Error(), w.text) {
					t.Errorf("error %d: %q does not contain %q", i, err, w.text)
				}
			}
		})
	}
}

// TestDecodePrincipal checks the normalisation of every userIdentity type.
func TestDecodePrincipal(t *testing.T) {
	tests := []struct {
		name     string
		region   string
		identity string
		want     change.Principal
	}{
		{"root", "us-east-1",
			`{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"ASIAROOT","userName":"my-alias"}`,
			change.Principal{ARN: "arn:aws:iam::111122223333:root", Type: "Root", ID: "111122223333", Account: "111122223333", Name: "root", AccessKeyID: "ASIAROOT"}},
		{"root without arn in a china region", "cn-north-1",
			`{"type":"Root","principalId":"111122223333","accountId":"111122223333"}`,
			change.Principal{ARN: "arn:aws-cn:iam::111122223333:root", Type: "Root", ID: "111122223333", Account: "111122223333", Name: "root"}},
		{"root without arn or account", "us-gov-west-1", `{"type":"Root"}`,
			change.Principal{ARN: "arn:aws-us-gov:iam::444455556666:root", Type: "Root", Name: "root"}},
		{"iam user", "us-east-1",
			`{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::111122223333:user/ops/alice","accountId":"111122223333","accessKeyId":"AKIA1","userName":"alice"}`,
			change.Principal{ARN: "arn:aws:iam::111122223333:user/ops/alice", Type: "IAMUser", ID: "AIDA1", Account: "111122223333", Name: "alice", AccessKeyID: "AKIA1"}},
		{"iam user without userName", "us-east-1",
			`{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ops/alice"}`,
			change.Principal{ARN: "arn:aws:iam::111122223333:user/ops/alice", Type: "IAMUser", Name: "alice"}},
		{"assumed role with session issuer", "us-east-1",
			`{"type":"AssumedRole","principalId":"AROA1:s","arn":"arn:aws:sts::111122223333:assumed-role/deployer/s","accountId":"111122223333",` +
				`"sessionContext":{"attributes":{"mfaAuthenticated":"false"},"sessionIssuer":{"type":"Role","principalId":"AROA1","arn":"arn:aws:iam::111122223333:role/ci/deployer","accountId":"111122223333","userName":"deployer"}},"invokedBy":"cloudformation.amazonaws.com"}`,
			change.Principal{ARN: "arn:aws:sts::111122223333:assumed-role/deployer/s", Type: "AssumedRole", ID: "AROA1:s", Account: "111122223333",
				Name: "deployer", IssuerARN: "arn:aws:iam::111122223333:role/ci/deployer", IssuerType: "Role", InvokedBy: "cloudformation.amazonaws.com"}},
		{"assumed role without session issuer", "us-east-1",
			`{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/deployer/s","sessionContext":{"attributes":{}}}`,
			change.Principal{ARN: "arn:aws:sts::111122223333:assumed-role/deployer/s", Type: "AssumedRole", Name: "deployer"}},
		{"federated user", "us-east-1",
			`{"type":"FederatedUser","principalId":"111122223333:bob","arn":"arn:aws:sts::111122223333:federated-user/bob","accountId":"111122223333",` +
				`"sessionContext":{"sessionIssuer":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/broker","userName":"broker"}}}`,
			change.Principal{ARN: "arn:aws:sts::111122223333:federated-user/bob", Type: "FederatedUser", ID: "111122223333:bob", Account: "111122223333",
				Name: "bob", IssuerARN: "arn:aws:iam::111122223333:user/broker", IssuerType: "IAMUser"}},
		{"aws service", "us-east-1", `{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}`,
			change.Principal{Type: "AWSService", InvokedBy: "lambda.amazonaws.com"}},
		{"missing type", "us-east-1", `{"accountId":"111122223333","invokedBy":"AWS Internal"}`,
			change.Principal{Account: "111122223333", InvokedBy: "AWS Internal"}},
		{"aws account", "us-east-1", `{"type":"AWSAccount","principalId":"AIDA2","accountId":"777788889999"}`,
			change.Principal{Type: "AWSAccount", ID: "AIDA2", Account: "777788889999"}},
		{"null", "us-east-1", `null`, change.Principal{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := `{"eventName":"X","eventSource":"s","awsRegion":"` + tt.region + `","recipientAccountId":"444455556666","userIdentity":` + tt.identity + `}`
			c, err := change.DecodeRecord("p", []byte(rec))
			if err != nil {
				t.Fatal(err)
			}
			if c.Principal != tt.want {
				t.Errorf("got  %+v\nwant %+v", c.Principal, tt.want)
			}
		})
	}
}

// TestDecodeReadOnly checks the readOnly flag and its inference.
func TestDecodeReadOnly(t *testing.T) {
	tests := []struct {
		op, flag string // flag "" = absent
		want     bool
	}{
		{"PutBucketAcl", "true", true},
		{"DescribeInstances", "false", false},
		{"GetBucketAcl", `"true"`, true},
		{"GetBucketAcl", `"false"`, false},
		{"X", `"TRUE"`, true},
		{"DescribeInstances", "null", true},
		{"DescribeInstances", `"..."`, true},
		{"PutBucketAcl", `"..."`, false},
		{"GetBucketPolicy", "", true},
		{"DescribeSecurityGroups", "", true},
		{"ListBuckets", "", true},
		{"HeadBucket", "", true},
		{"LookupEvents", "", true},
		{"BatchGetItem", "", true},
		{"PutBucketAcl", "", false},
		{"CreateSecurityGroup", "", false},
		{"Getaway", "", false},
		{"Describe", "", false},
		{"Listen", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.op+"/"+tt.flag, func(t *testing.T) {
			rec := `{"eventName":"` + tt.op + `","eventSource":"s"`
			if tt.flag != "" {
				rec += `,"readOnly":` + tt.flag
			}
			c, err := change.DecodeRecord("r", []byte(rec+"}"))
			if err != nil {
				t.Fatal(err)
			}
			if c.ReadOnly != tt.want {
				t.Errorf("ReadOnly = %v, want %v", c.ReadOnly, tt.want)
			}
		})
	}
}

// TestDecodeRecord checks the one-record entry point.
func TestDecodeRecord(t *testing.T) {
	rec := compact(t, readEvent(t, "cloudtrail-stop-logging.json"))
	tests := []struct {
		name, input string
		wantOp      string
		wantErr     error
		text        string
	}{
		{"record", rec, "StopLogging", nil, ""},
		{"record with white space", "\n " + rec + " \n", "StopLogging", nil, ""},
		{"sqs body (envelope)", string(readEvent(t, "s3-create-bucket-root-eventbridge.json")), "CreateBucket", nil, ""},
		{"empty", "  ", "", change.ErrEmpty, "r: offset 2: expected a CloudTrail record or an EventBridge"},
		{"log file", `{"Records":[` + rec + `]}`, "", change.ErrNotCloudTrail, "found a CloudTrail log file"},
		{"array", `[` + rec + `]`, "", change.ErrNotCloudTrail, "found an array"},
		{"two records", rec + rec, "", change.ErrSyntax, "expected a single JSON value"},
		{"syntax error", `{"eventName":}`, "", change.ErrSyntax, "r: offset 13: invalid JSON: invalid character '}' looking for beginning of value"},
		{"not cloudtrail", `{"detail-type":"Scheduled Event","detail":{}}`, "", change.ErrNotCloudTrail, `found an EventBridge "Scheduled Event" event`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := change.DecodeRecord("r", []byte(tt.input))
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				var de *change.DecodeError
				if !errors.As(err, &de) || de.Index != -1 {
					t.Errorf("error %v: not a *DecodeError with Index -1", err)
				}
				if !strings.Contains(err.Error(), tt.text) {
					t.Errorf("error %q does not contain %q", err, tt.text)
				}
				return
			}
			if c.Operation != tt.wantOp {
				t.Errorf("Operation = %q, want %q", c.Operation, tt.wantOp)
			}
		})
	}
}

// TestDecodeLazyBodies checks that request and response stay raw until
// asked for.
func TestDecodeLazyBodies(t *testing.T) {
	tests := []struct {
		name, params  string
		wantRaw       string
		wantBucket    string
		wantNilObject bool
	}{
		{"object", `{"bucketName":"b","acl":[""]}`, `{"bucketName":"b","acl":[""]}`, "b", false},
		{"null", `null`, "", "", true},
		{"absent", ``, "", "", true},
		{"not an object", `"text"`, `"text"`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := `{"eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com"`
			if tt.params != "" {
				rec += `,"requestParameters":` + tt.params + `,"responseElements":` + tt.params
			}
			c, err := change.DecodeRecord("l", []byte(rec+"}"))
			if err != nil {
				t.Fatal(err)
			}
			if string(c.RequestJSON) != tt.wantRaw || string(c.ResponseJSON) != tt.wantRaw {
				t.Errorf("RequestJSON %q, ResponseJSON %q, want %q", c.RequestJSON, c.ResponseJSON, tt.wantRaw)
			}
			if (c.Request() == nil) != tt.wantNilObject || (c.Response() == nil) != tt.wantNilObject {
				t.Errorf("Request() = %v, Response() = %v", c.Request(), c.Response())
			}
			if got := change.String(c.Request(), "bucketName"); got != tt.wantBucket {
				t.Errorf("bucketName = %q, want %q", got, tt.wantBucket)
			}
		})
	}
}

// TestDecodeStrings checks escapes and odd value types in string fields.
func TestDecodeStrings(t *testing.T) {
	rec := `{"eventName":"Put\u0042ucket\"Acl\"","eventSource":"s3.amazonaws.com","recipientAccountId":123456789012,` +
		`"awsRegion":null,"userAgent":"caf\u00e9 \ud83d\ude00 \ud800 ` + "\xff \xe2\x82" + `","eventTime":"2024-08-01T14:04:24.5+02:00"}`
	c, err := change.DecodeRecord("s", []byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]any
	if err := json.Unmarshal([]byte(rec), &ref); err != nil {
		t.Fatal(err)
	}
	got := []any{c.Operation, c.Account, c.Region, c.UserAgent, c.Time}
	want := []any{ref["eventName"], "123456789012", "", ref["userAgent"], time.Date(2024, 8, 1, 12, 4, 24, 5e8, time.UTC)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestDecodeSeqStops checks that breaking out of DecodeSeq stops decoding.
func TestDecodeSeqStops(t *testing.T) {
	rec := compact(t, readEvent(t, "cloudtrail-stop-logging.json"))
	data := []byte(`{"Records":[` + rec + `,` + rec + `,` + rec + `]}` + "\n" + rec)
	n := 0
	for c, err := range change.DecodeSeq("s", data) {
		if err != nil || c == nil {
			t.Fatalf("unexpected error %v", err)
		}
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("got %d changes before break, want 2", n)
	}
}

// TestDecodeDeepNesting checks the nesting limit is an error, not a crash.
func TestDecodeDeepNesting(t *testing.T) {
	tests := []struct {
		name  string
		depth int
		err   error
	}{
		{"at the limit", 10000, nil},
		{"over the limit", 10001, change.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := strings.Repeat("[", tt.depth) + strings.Repeat("]", tt.depth)
			changes, errs := change.Decode("n", []byte(data))
			if len(changes) != 0 {
				t.Fatalf("changes from %d empty arrays", tt.depth)
			}
			if tt.err == nil && len(errs) != 0 || tt.err != nil && (len(errs) != 1 || !errors.Is(errs[0], tt.err)) {
				t.Errorf("errors %v, want %v", errs, tt.err)
			}
			if json.Valid([]byte(data)) != (tt.err == nil) {
				t.Errorf("encoding/json disagrees on depth %d", tt.depth)
			}
		})
	}
}

// compact returns data re-encoded on one line.
func compact(t testing.TB, data []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// envelope wraps a record in an EventBridge event of detail-type dt.
func envelope(dt, detail string) string {
	return fmt.Sprintf(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":%q,"source":"aws.s3",`+
		`"account":"111122223333","time":"2024-08-01T12:00:00Z","region":"eu-central-1","resources":[],"detail":%s}`, dt, detail)
}
