package filter_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/filter"
)

const (
	roleARN    = "arn:aws:iam::123456789012:role/service/driftwatch-reverter"
	sessionARN = "arn:aws:sts::123456789012:assumed-role/driftwatch-reverter/revert-42"
)

func write(op string) change.Change {
	return change.Change{Cloud: change.AWS, Service: "s3.amazonaws.com", Operation: op, EventType: "AwsApiCall",
		Principal: change.Principal{Type: "IAMUser", ARN: "arn:aws:iam::123456789012:user/alice"}}
}

func TestCheck(t *testing.T) {
	watchedOps := map[string]bool{"PutBucketAcl": true, "PutBucketPolicy": true}
	watched := func(c *change.Change) bool { return watchedOps[c.Operation] }
	own := []string{"arn:aws:iam::123456789012:role/service/driftwatch-*", "arn:aws:sts::*:assumed-role/breakglass/*"}

	tests := []struct {
		name    string
		change  func(c *change.Change)
		watched func(*change.Change) bool
		want    filter.Reason
	}{
		{"watched write", func(c *change.Change) {}, watched, filter.Keep},
		{"read-only", func(c *change.Change) { c.Operation, c.ReadOnly = "GetBucketAcl", true }, watched, filter.ReadOnly},
		{"read-only wins over failed and own", func(c *change.Change) {
			c.ReadOnly, c.ErrorCode, c.Principal.IssuerARN = true, "AccessDenied", roleARN
		}, watched, filter.ReadOnly},
		{"failed", func(c *change.Change) { c.ErrorCode = "AccessDenied" }, watched, filter.Failed},
		{"failed wins over own", func(c *change.Change) { c.ErrorCode, c.Principal.ARN = "NoSuchBucket", roleARN }, watched, filter.Failed},
		{"own role session, by its issuer", func(c *change.Change) {
			c.Principal = change.Principal{Type: "AssumedRole", ARN: sessionARN, IssuerARN: roleARN}
		}, watched, filter.OwnPrincipal},
		{"own role itself", func(c *change.Change) { c.Principal = change.Principal{Type: "Role", ARN: roleARN} }, watched, filter.OwnPrincipal},
		{"own session pattern", func(c *change.Change) {
			c.Principal = change.Principal{Type: "AssumedRole", ARN: "arn:aws:sts::999988887777:assumed-role/breakglass/bob"}
		}, watched, filter.OwnPrincipal},
		{"own wins over unwatched", func(c *change.Change) { c.Operation, c.Principal.ARN = "DeleteBucket", roleARN }, watched, filter.OwnPrincipal},
		{"similar role is not own", func(c *change.Change) {
			c.Principal = change.Principal{Type: "AssumedRole", ARN: "arn:aws:sts::123456789012:assumed-role/driftwatch-reverter/x",
				IssuerARN: "arn:aws:iam::123456789012:role/driftwatch-reverter"}
		}, watched, filter.Keep},
		{"other account is not own", func(c *change.Change) {
			c.Principal.IssuerARN = "arn:aws:iam::210987654321:role/service/driftwatch-reverter"
		}, watched, filter.Keep},
		{"unwatched operation", func(c *change.Change) { c.Operation = "DeleteBucket" }, watched, filter.Unwatched},
		{"service event", func(c *change.Change) {
			c.EventType, c.Principal = "AwsServiceEvent", change.Principal{InvokedBy: "s3.amazonaws.com"}
		}, watched, filter.Unwatched},
		{"service event with a nil watch list", func(c *change.Change) { c.EventType = "AwsServiceEvent" }, nil, filter.Unwatched},
		{"nil watch list watches everything", func(c *change.Change) { c.Operation = "DeleteBucket" }, nil, filter.Keep},
		{"empty change", func(c *change.Change) { *c = change.Change{} }, watched, filter.Unwatched},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := filter.New(own, tt.watched)
			if err != nil {
				t.Fatal(err)
			}
			c := write("PutBucketAcl")
			tt.change(&c)
			if got := f.Check(&c); got != tt.want {
				t.Errorf("Check = %q, want %q", got, tt.want)
			}
			counts := f.Counts()
			if counts.Total != 1 || counts.Of(tt.want) != 1 {
				t.Errorf("counts %+v: want Total 1 and 1 for %q", counts, tt.want)
			}
		})
	}
}

func TestNewRejectsBadPatterns(t *testing.T) {
	tests := []struct {
		pattern string
		err     string
	}{
		{"", "empty pattern"},
		{"*", "must start with"},
		{"driftwatch-*", "must start with"},
		{"arn:aws:iam", "arn:partition:service:region:account:resource"},
		{"arn:aws:*", "arn:partition:service:region:account:resource"},
		{" arn:aws:iam::1:role/x", "white space"},
		{"arn:aws:iam::1:role/a b", "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			_, err := filter.New([]string{"arn:aws:iam::1:role/ok", tt.pattern}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), `"`+tt.pattern+`"`) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %q should name the pattern and say %q", err, tt.err)
			}
		})
	}
}

func TestPatternMatching(t *testing.T) {
	tests := []struct {
		pattern, arn string
		want         bool
	}{
		{"arn:aws:iam::1:role/x", "arn:aws:iam::1:role/x", true},
		{"arn:aws:iam::1:role/x", "arn:aws:iam::1:role/xy", false},
		{"arn:aws:iam::1:role/x*", "arn:aws:iam::1:role/x", true},
		{"arn:aws:iam::1:role/*", "arn:aws:iam::1:role/path/x", true},
		{"arn:*:iam::*:role/dw", "arn:aws-cn:iam::22:role/dw", true},
		{"arn:*:iam::*:role/dw", "arn:aws:iam::22:role/dwx", false},
		{"arn:aws:iam::1:role/*-reverter-*", "arn:aws:iam::1:role/dw-reverter-eu", true},
		{"arn:aws:iam::1:role/*-reverter-*", "arn:aws:iam::1:role/dw-reverter", false},
		{"arn:aws:iam::1:role/a*a", "arn:aws:iam::1:role/a", false},
		{"arn:aws:iam::1:role/a*a", "arn:aws:iam::1:role/aa", true},
		{"arn:aws:iam::1:role/a**b", "arn:aws:iam::1:role/ab", true},
		{"arn:aws:iam::1:role/x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.arn, func(t *testing.T) {
			f, err := filter.New([]string{tt.pattern}, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := write("PutBucketAcl")
			c.Principal = change.Principal{ARN: tt.arn}
			if got := f.Check(&c) == filter.OwnPrincipal; got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCheckSamples filters the repository's sample events.
func TestCheckSamples(t *testing.T) {
	watched := func(c *change.Change) bool { return !strings.HasPrefix(c.Operation, "JobCreated") }
	own := []string{"arn:aws:iam::123456789012:role/terraform-deployer"}
	tests := []struct {
		file string
		want []filter.Reason
	}{
		{"ec2-describe-instances-readonly.json", []filter.Reason{filter.ReadOnly}},
		{"organizations-leave-organization-error-accessdenied.json", []filter.Reason{filter.Failed}},
		{"iam-attach-role-policy-administratoraccess.json", []filter.Reason{filter.OwnPrincipal}},
		{"iam-attach-group-policy-poweruseraccess.json", []filter.Reason{filter.Keep}},
		{"kms-rotate-key-service-event.json", []filter.Reason{filter.Unwatched}},
		{"s3-job-created-service-event-eventbridge.json", []filter.Reason{filter.Unwatched}},
		{"sts-get-federation-token-array.json", []filter.Reason{filter.Keep, filter.ReadOnly}},
		{"cloudtrail-log-file-mixed.json", []filter.Reason{filter.ReadOnly, filter.Keep, filter.Keep, filter.Unwatched, filter.Failed}},
	}
	f, err := filter.New(own, watched)
	if err != nil {
		t.Fatal(err)
	}
	var want filter.Counts
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("../../events/aws", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			changes, errs := change.Decode(tt.file, data)
			if len(errs) != 0 || len(changes) != len(tt.want) {
				t.Fatalf("Decode: %d changes, errors %v", len(changes), errs)
			}
			for i := range changes {
				if got := f.Check(&changes[i]); got != tt.want[i] {
					t.Errorf("change %d (%s): Check = %q, want %q", i, changes[i].Operation, got, tt.want[i])
				}
			}
		})
		for _, r := range tt.want {
			want.Total++
			switch r {
			case filter.Keep:
				want.Kept++
			case filter.ReadOnly:
				want.ReadOnly++
			case filter.Failed:
				want.Failed++
			case filter.OwnPrincipal:
				want.OwnPrincipal++
			case filter.Unwatched:
				want.Unwatched++
			}
		}
	}
	if got := f.Counts(); got != want {
		t.Errorf("Counts = %+v, want %+v", got, want)
	}
}

// TestCountsConcurrent checks the counters under concurrent Check calls.
func TestCountsConcurrent(t *testing.T) {
	f, err := filter.New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				c := write("PutBucketAcl")
				c.ReadOnly = (i+w)%2 == 0
				f.Check(&c)
			}
		}()
	}
	wg.Wait()
	want := filter.Counts{Total: workers * each, Kept: workers * each / 2, ReadOnly: workers * each / 2}
	if got := f.Counts(); got != want {
		t.Errorf("Counts = %+v, want %+v", got, want)
	}
}
