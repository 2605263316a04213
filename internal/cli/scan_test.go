package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/sweep"
	"github.com/driftwatch/driftwatch/shared/sweep/sweeptest"
)

// TestScanAgainstMoto scans an account whose CloudTrail (an httptest
// LookupEvents server, reached through AWS_ENDPOINT_URL_CLOUDTRAIL) holds
// real event shapes pointed at resources in moto (AWS_ENDPOINT_URL).
func TestScanAgainstMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	ct := sweeptest.Start(t, srv.URL)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", ct.URL)
	t.Setenv("AWS_REGION", mototest.Region)
	prev := loadAWSConfig
	loadAWSConfig = sweeptest.Config
	t.Cleanup(func() { loadAWSConfig = prev })
	cfg, err := sweeptest.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}

	ec2c, iamc := ec2.NewFromConfig(cfg), iam.NewFromConfig(cfg)
	sg, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("scan-sg"), Description: aws.String("scan")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("scan-user")}); err != nil {
		t.Fatal(err)
	}
	sgID := aws.ToString(sg.GroupId)
	sgARN := "arn:aws:ec2:us-east-1:" + mototest.Account + ":security-group/" + sgID

	now := time.Now().UTC()
	rec := func(sample, id string, age time.Duration, set map[string]any) []byte {
		m := map[string]any{"eventID": id, "eventTime": now.Add(-age).Format(time.RFC3339), "awsRegion": "us-east-1",
			"recipientAccountId": mototest.Account, "userIdentity.accountId": mototest.Account}
		for k, v := range set {
			m[k] = v
		}
		return sweeptest.Record(t, sweeptest.Sample(t, sample), m)
	}
	const ingress = "ec2-authorize-security-group-ingress-ssh-world-anonymized-cidr.json"
	ct.Add(t,
		rec(ingress, "sg-1h", time.Hour, map[string]any{"requestParameters.groupId": sgID}),
		rec(ingress, "sg-2h", 2*time.Hour, map[string]any{"requestParameters.groupId": sgID}),
		rec("iam-attach-user-policy-administratoraccess.json", "user-3h", 3*time.Hour, map[string]any{"requestParameters.userName": "scan-user"}),
		rec("ec2-describe-instances-readonly.json", "read-1h", time.Hour, nil),
		rec(ingress, "sg-30h", 30*time.Hour, map[string]any{"requestParameters.groupId": sgID}),
	)

	t.Run("json", func(t *testing.T) {
		stdout, stderr, code := run(t, "", "scan", "--since", "24h", "--format", "json")
		if code != exitOK {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		if strings.Contains(stderr, "\r") {
			t.Errorf("progress bar drawn on a non-terminal stderr: %q", stderr)
		}
		events := map[string]bool{}
		var sgFail bool
		sc := bufio.NewScanner(strings.NewReader(stdout))
		for sc.Scan() {
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			keys := make([]string, 0, len(raw))
			for k := range raw {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if want := []string{"event_id", "message", "resource", "result", "rule", "severity"}; !slices.Equal(keys, want) {
				t.Fatalf("line keys %v, want replay's %v", keys, want)
			}
			var l verdictLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatal(err)
			}
			events[l.EventID] = true
			if l.Rule == "aws-ec2-security-group-admin-ports-open-ipv4" && l.Resource.ID == sgARN && l.Result == "fail" {
				sgFail = true
			}
		}
		if !sgFail {
			t.Errorf("no failing verdict for SSH open to the world on %s:\n%s", sgARN, stdout)
		}
		if len(events) != 3 || !events["sg-1h"] || !events["sg-2h"] || !events["user-3h"] {
			t.Errorf("verdicts for events %v, want the three write events of the last 24h", events)
		}
		for _, r := range ct.Requests() {
			if r.Attribute != "ReadOnly=false" || r.Region != "us-east-1" {
				t.Errorf("LookupEvents request %+v, want ReadOnly=false in us-east-1", r)
			}
		}
	})

	t.Run("table", func(t *testing.T) {
		stdout, stderr, code := run(t, "", "scan", "--since", "24h")
		if code != exitOK {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		if !strings.Contains(stdout, "Scanned 3 write events in us-east-1") || !strings.Contains(stdout, "3 watched changes") {
			t.Errorf("summary line missing:\n%s", stdout)
		}
		var ruleRow, resourceRow bool
		for _, line := range strings.Split(stdout, "\n") {
			f := strings.Fields(line)
			if len(f) == 5 && f[0] == "aws-ec2-security-group-admin-ports-open-ipv4" && f[2] == "1" {
				ruleRow = true // one resource fails, however many events touched it
			}
			if len(f) >= 4 && f[0] == sgARN && f[1] == "AWS::EC2::SecurityGroup" && strings.Contains(line, "aws-ec2-security-group-admin-ports-open-ipv4") {
				resourceRow = true
			}
		}
		if !ruleRow || !resourceRow {
			t.Errorf("want a rule row with 1 failing resource and a resource row for %s:\n%s", sgARN, stdout)
		}
	})

	t.Run("a region without events", func(t *testing.T) {
		stdout, stderr, code := run(t, "", "scan", "--regions", "eu-west-1")
		if code != exitOK || !strings.Contains(stdout, "Scanned 0 write events in eu-west-1") || !strings.Contains(stdout, "No watched resource") {
			t.Fatalf("exit %d, stdout:\n%s", code, stdout)
		}
		if !strings.Contains(stderr, "us-east-1") {
			t.Errorf("no note that global-service events live in us-east-1: %q", stderr)
		}
	})
}

func TestScanUsage(t *testing.T) {
	for _, args := range [][]string{
		{"scan", "--since", "soon"},
		{"scan", "--since", "-1h"},
		{"scan", "--since", "2400h"},
		{"scan", "--format", "xml"},
		{"scan", "extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if _, _, code := run(t, "", args...); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
		})
	}
}

func TestProgressBar(t *testing.T) {
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		p    sweep.Progress
		want string
	}{
		{sweep.Progress{Region: "us-east-1", Start: end.Add(-4 * time.Hour), End: end, Oldest: end}, "us-east-1 [..........]   0%  0 events, 0 pages"},
		{sweep.Progress{Region: "us-east-1", Start: end.Add(-4 * time.Hour), End: end, Oldest: end.Add(-time.Hour), Events: 50, Pages: 1}, "us-east-1 [###.......]  25%  50 events, 1 pages"},
		{sweep.Progress{Region: "eu-west-1", Start: end.Add(-4 * time.Hour), End: end, Oldest: end, Done: true, Events: 7, Pages: 1}, "eu-west-1 [##########] 100%  7 events, 1 pages"},
	} {
		if got := progressBar(tc.p, 10); got != tc.want {
			t.Errorf("progressBar = %q, want %q", got, tc.want)
		}
	}
}

// countingReader is a detect.Reader that counts reads.
type countingReader struct {
	reads int
	err   error
}

func (c *countingReader) Read(_ context.Context, ref resource.Ref) (resource.Resource, error) {
	c.reads++
	return resource.Resource{Ref: ref, Exists: c.err == nil}, c.err
}

func TestCachedReaderReadsOnce(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
	}{{"found", nil}, {"failed", errors.New("throttled")}} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &countingReader{err: tc.err}
			c := &cachedReader{r: inner}
			a := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::a"}
			b := resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::b"}
			for _, ref := range []resource.Ref{a, a, b, a} {
				res, err := c.Read(ctx, ref)
				if !errors.Is(err, tc.err) || res.Ref != ref {
					t.Fatalf("Read(%s) = %v, %v", ref.ID, res.Ref, err)
				}
			}
			if inner.reads != 2 {
				t.Errorf("%d reads for 2 distinct resources", inner.reads)
			}
		})
	}
}
