package filter_test

import (
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/filter"
)

const (
	dwObject = "d1d1d1d1-2222-4333-8444-555555555555"
	dwClient = "f00dcafe-0000-4000-8000-00000000beef"
	dwMI     = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/driftwatch-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/driftwatch-detector"
)

func azureWrite() change.Change {
	return change.Change{Cloud: change.Azure, Service: "Microsoft.Storage", Operation: "Microsoft.Storage/storageAccounts/write",
		EventType: "Microsoft.Resources.ResourceWriteSuccess",
		Principal: change.Principal{Type: "User", ARN: "6a3f2c1e-0d9b-4a8f-7e6d-5c4b3a291807", AppID: "04b07795-8ddb-461a-bbee-02f9e1bf7b46"}}
}

func TestCheckAzure(t *testing.T) {
	watched := func(c *change.Change) bool { return strings.HasSuffix(c.Operation, "/write") }
	tests := []struct {
		name   string
		own    []string
		change func(c *change.Change)
		want   filter.Reason
	}{
		{"watched write", nil, func(c *change.Change) {}, filter.Keep},
		{"failure", nil, func(c *change.Change) { c.ErrorCode = "Failed" }, filter.Failed},
		{"cancel", nil, func(c *change.Change) { c.ErrorCode = "Canceled" }, filter.Failed},
		{"secret read (listKeys) is unwatched", nil, func(c *change.Change) {
			c.Operation = "Microsoft.Storage/storageAccounts/listKeys/action"
		}, filter.Unwatched},
		{"own by object ID", []string{dwObject}, func(c *change.Change) { c.Principal.ARN = dwObject }, filter.OwnPrincipal},
		{"own by object ID, other case", []string{strings.ToUpper(dwObject)}, func(c *change.Change) { c.Principal.ARN = dwObject }, filter.OwnPrincipal},
		{"own by client ID", []string{dwClient}, func(c *change.Change) { c.Principal.AppID = dwClient }, filter.OwnPrincipal},
		{"own by client ID glob", []string{"f00dcafe-*"}, func(c *change.Change) { c.Principal.AppID = dwClient }, filter.OwnPrincipal},
		{"own by managed identity resource ID, other case", []string{
			"/subscriptions/*/resourcegroups/driftwatch-rg/providers/microsoft.managedidentity/userassignedidentities/driftwatch-*",
		}, func(c *change.Change) {
			c.Principal = change.Principal{Type: "ManagedIdentity", ARN: dwObject, IssuerARN: dwMI}
		}, filter.OwnPrincipal},
		{"own wins over unwatched", []string{dwObject}, func(c *change.Change) {
			c.Principal.ARN, c.Operation = dwObject, "Microsoft.Storage/storageAccounts/delete"
		}, filter.OwnPrincipal},
		{"failed wins over own", []string{dwObject}, func(c *change.Change) { c.Principal.ARN, c.ErrorCode = dwObject, "Failed" }, filter.Failed},
		{"another identity is not own", []string{dwObject, dwMI}, func(c *change.Change) {}, filter.Keep},
		{"ARN patterns never match Azure principals", []string{"arn:*:*:*:*:*"}, func(c *change.Change) {}, filter.Keep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := filter.New(tt.own, watched)
			if err != nil {
				t.Fatal(err)
			}
			c := azureWrite()
			tt.change(&c)
			if got := f.Check(&c); got != tt.want {
				t.Fatalf("Check = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAzurePatternsSkipAWS checks that an Azure pattern never makes an AWS
// change "own", even when the text would match.
func TestAzurePatternsSkipAWS(t *testing.T) {
	f, err := filter.New([]string{"*12345678*", "/subscriptions/*"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := write("PutBucketAcl")
	c.Principal.ARN = "arn:aws:iam::123456789012:user/12345678"
	c.Principal.IssuerARN = "/subscriptions/x"
	if got := f.Check(&c); got != filter.Keep {
		t.Fatalf("Check = %q", got)
	}
}

func TestNewAzurePatterns(t *testing.T) {
	good := []string{dwObject, strings.ToUpper(dwObject), "d1d1d1d1-*", "*-555555555555", dwMI, "/providers/Microsoft.Management/managementGroups/*"}
	if _, err := filter.New(good, nil); err != nil {
		t.Fatalf("rejected good patterns: %v", err)
	}
	for _, bad := range []struct{ pattern, err string }{
		{"d1d1d1d1", "must start with"},                            // a GUID's first group only, no wildcard
		{"d1d1d1d1-2222-4333-8444-55555555555", "must start with"}, // short last group
		{"abc*", "must start with"},                                // too few hex digits
		{"*-*", "must start with"},
		{"/resourceGroups/rg", "/subscriptions/... or /providers/..."},
		{"/", "/subscriptions/... or /providers/..."},
	} {
		t.Run(bad.pattern, func(t *testing.T) {
			_, err := filter.New([]string{bad.pattern}, nil)
			if err == nil || !strings.Contains(err.Error(), bad.err) || !strings.Contains(err.Error(), `"`+bad.pattern+`"`) {
				t.Fatalf("error %v, want one naming the pattern and saying %q", err, bad.err)
			}
		})
	}
}
