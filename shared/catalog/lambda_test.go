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

// lambdaChange builds a Lambda change in account 111122223333, region
// eu-west-1, from requestParameters and responseElements JSON ("" for
// null).
func lambdaChange(op, request, response string) *change.Change {
	return &change.Change{
		Cloud: change.AWS, Account: "111122223333", Region: "eu-west-1",
		Service: lambdaSource, Operation: op,
		RequestJSON: json.RawMessage(request), ResponseJSON: json.RawMessage(response),
	}
}

func TestLambdaEntries(t *testing.T) {
	const fn = "arn:aws:lambda:eu-west-1:111122223333:function:"
	tests := []struct {
		name     string
		change   *change.Change
		want     []string
		wantNoID bool
	}{
		{
			// Shape of Stratus Red Team's lambda-backdoor-function detonation.
			name: "AddPermission principal * takes the statement's Resource",
			change: lambdaChange("AddPermission20150331v2",
				`{"action":"lambda:InvokeFunction","functionName":"backdoor-func","principal":"*","statementId":"backdoor"}`,
				`{"statement":"{\"Sid\":\"backdoor\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:InvokeFunction\",\"Resource\":\"arn:aws:lambda:eu-west-1:111122223333:function:backdoor-func\"}"}`),
			want: []string{fn + "backdoor-func"},
		},
		{
			name: "AddPermission on an alias: the statement's Resource is qualified",
			change: lambdaChange("AddPermission20150331v2",
				`{"action":"lambda:InvokeFunction","functionName":"orders","qualifier":"live","principal":"sns.amazonaws.com","statementId":"sns"}`,
				`{"statement":"{\"Sid\":\"sns\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"sns.amazonaws.com\"},\"Action\":\"lambda:InvokeFunction\",\"Resource\":\"arn:aws:lambda:eu-west-1:111122223333:function:orders:live\"}"}`),
			want: []string{fn + "orders:live"},
		},
		{
			name:   "AddPermission (old suffix) without a response: name and qualifier",
			change: lambdaChange("AddPermission20150331", `{"functionName":"orders","qualifier":"live","principal":"*"}`, ""),
			want:   []string{fn + "orders:live"},
		},
		{
			name: "AddPermission with an unreadable statement falls back to the request",
			change: lambdaChange("AddPermission20150331v2", `{"functionName":"orders","principal":"*"}`,
				`{"statement":"not json"}`),
			want: []string{fn + "orders"},
		},
		{
			name:   "RemovePermission by full ARN",
			change: lambdaChange("RemovePermission20150331v2", `{"functionName":"arn:aws:lambda:eu-west-1:111122223333:function:orders","statementId":"backdoor"}`, ""),
			want:   []string{fn + "orders"},
		},
		{
			name:   "RemovePermission by partial ARN with a version",
			change: lambdaChange("RemovePermission20150331v2", `{"functionName":"111122223333:function:orders:3","statementId":"backdoor"}`, ""),
			want:   []string{fn + "orders:3"},
		},
		{
			name:   "RemovePermission by partial ARN in another account",
			change: lambdaChange("RemovePermission20150331v2", `{"functionName":"444455556666:function:orders","statementId":"x"}`, ""),
			want:   []string{"arn:aws:lambda:eu-west-1:444455556666:function:orders"},
		},
		{
			name:   "CreateFunctionUrlConfig by name:alias, unsuffixed",
			change: lambdaChange("CreateFunctionUrlConfig", `{"functionName":"orders:live","authType":"NONE"}`, ""),
			want:   []string{fn + "orders:live"},
		},
		{
			name: "CreateFunctionUrlConfig with the API version suffix",
			change: lambdaChange("CreateFunctionUrlConfig20211031", `{"functionName":"orders","authType":"NONE"}`,
				`{"functionUrl":"https://abc.lambda-url.eu-west-1.on.aws/","functionArn":"arn:aws:lambda:eu-west-1:111122223333:function:orders","authType":"NONE"}`),
			want: []string{fn + "orders"},
		},
		{
			name: "UpdateFunctionUrlConfig falls back to the response ARN",
			change: lambdaChange("UpdateFunctionUrlConfig20211031", `{"authType":"AWS_IAM"}`,
				`{"functionArn":"arn:aws:lambda:eu-west-1:111122223333:function:orders","authType":"AWS_IAM"}`),
			want: []string{fn + "orders"},
		},
		{
			name:   "DeleteFunctionUrlConfig with qualifier $LATEST is the function",
			change: lambdaChange("DeleteFunctionUrlConfig", `{"functionName":"orders","qualifier":"$LATEST"}`, ""),
			want:   []string{fn + "orders"},
		},
		{
			name: "CreateFunction with publish is the unqualified function",
			change: lambdaChange("CreateFunction20150331",
				`{"functionName":"orders","publish":true,"runtime":"nodejs20.x","code":{}}`,
				`{"functionArn":"arn:aws:lambda:eu-west-1:111122223333:function:orders:1","functionName":"orders","version":"1"}`),
			want: []string{fn + "orders"},
		},
		{
			name: "DeleteFunction in the GovCloud partition",
			change: func() *change.Change {
				c := lambdaChange("DeleteFunction20150331", `{"functionName":"orders"}`, "")
				c.Region = "us-gov-west-1"
				return c
			}(),
			want: []string{"arn:aws-us-gov:lambda:us-gov-west-1:111122223333:function:orders"},
		},
		{
			name:     "RemovePermission without a function",
			change:   lambdaChange("RemovePermission20150331v2", `{"statementId":"x"}`, ""),
			wantNoID: true,
		},
		{
			name:     "RemovePermission with a malformed ARN",
			change:   lambdaChange("RemovePermission20150331v2", `{"functionName":"arn:aws:s3:::bucket"}`, ""),
			wantNoID: true,
		},
	}
	cat := New(lambdaEntries())
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
			var got []string
			for _, r := range tt.change.Resources {
				if r.Type != lambdaFunction {
					t.Errorf("type %s, want %s", r.Type, lambdaFunction)
				}
				got = append(got, r.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("IDs\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestLambdaSuffixes(t *testing.T) {
	cat := New(lambdaEntries())
	for _, tt := range []struct {
		op    string
		watch bool
	}{
		{"AddPermission20150331v2", true},
		{"AddPermission20150331", true},
		{"AddPermission", true},
		{"RemovePermission20150331v2", true},
		{"CreateFunctionUrlConfig20211031", true},
		{"UpdateFunctionUrlConfig", true},
		{"DeleteFunctionUrlConfig20211031", true},
		{"CreateFunction20150331", true},
		{"DeleteFunction20150331", true},
		{"GetPolicy20150331v2", false},
		{"AddPermissionX", false},
	} {
		t.Run(tt.op, func(t *testing.T) {
			if _, ok := cat.Lookup(lambdaSource, tt.op); ok != tt.watch {
				t.Errorf("Lookup(%s) = %v, want %v", tt.op, ok, tt.watch)
			}
		})
	}
}

// TestLambdaEntriesOnSampleEvents resolves the Lambda samples of the
// repository's events/aws directory, decoded by the real decoder.
func TestLambdaEntriesOnSampleEvents(t *testing.T) {
	tests := []struct {
		file, want, account, region string
	}{
		// Stratus Red Team's lambda-backdoor-function detonation
		// (AddPermission20150331v2): the ID is the statement's Resource.
		{file: "lambda-add-permission-public-principal.json",
			want:    "arn:aws:lambda:ca-centralnorth-1r:880896431042:function:stratus-red-team-backdoor-f-func",
			account: "880896431042", region: "ca-centralnorth-1r"},
		{file: "lambda-create-function-url-config-auth-none.json",
			want:    "arn:aws:lambda:eu-west-1:123456789012:function:orders-webhook",
			account: "123456789012", region: "eu-west-1"},
	}
	cat := New(lambdaEntries())
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
				t.Fatalf("Resolve %s = %v, %v", ch.Operation, watched, err)
			}
			want := []resource.Ref{{Type: lambdaFunction, ID: tt.want, Account: tt.account, Region: tt.region}}
			if !slices.Equal(ch.Resources, want) {
				t.Errorf("resources = %v, want %v", ch.Resources, want)
			}
		})
	}
}
