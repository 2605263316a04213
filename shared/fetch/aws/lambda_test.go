package aws

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// lambdaFake is a hand-written lambdaAPI.
type lambdaFake struct {
	getFunction          func(*lambda.GetFunctionInput) (*lambda.GetFunctionOutput, error)
	getPolicy            func(*lambda.GetPolicyInput) (*lambda.GetPolicyOutput, error)
	getFunctionURLConfig func(*lambda.GetFunctionUrlConfigInput) (*lambda.GetFunctionUrlConfigOutput, error)
}

var _ lambdaAPI = (*lambdaFake)(nil)

func (f *lambdaFake) GetFunction(_ context.Context, in *lambda.GetFunctionInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	return f.getFunction(in)
}

func (f *lambdaFake) GetPolicy(_ context.Context, in *lambda.GetPolicyInput, _ ...func(*lambda.Options)) (*lambda.GetPolicyOutput, error) {
	return f.getPolicy(in)
}

func (f *lambdaFake) GetFunctionUrlConfig(_ context.Context, in *lambda.GetFunctionUrlConfigInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionUrlConfigOutput, error) {
	return f.getFunctionURLConfig(in)
}

const testFunctionARN = "arn:aws:lambda:eu-west-1:111122223333:function:orders"

// lambdaPublicPolicy is a function policy as GetPolicy returns it: a JSON
// string, Principal "*" as a bare string.
const lambdaPublicPolicy = `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"backdoor","Effect":"Allow",` +
	`"Principal":"*","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:eu-west-1:111122223333:function:orders"}]}`

func TestReadFunction(t *testing.T) {
	notFound := &lambdatypes.ResourceNotFoundException{Message: aws.String("The resource you requested does not exist.")}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}
	function := &lambda.GetFunctionOutput{
		Configuration: &lambdatypes.FunctionConfiguration{
			FunctionName: aws.String("orders"),
			FunctionArn:  aws.String(testFunctionARN),
			Version:      aws.String("$LATEST"),
			Runtime:      lambdatypes.RuntimePython312,
			PackageType:  lambdatypes.PackageTypeZip,
			Role:         aws.String("arn:aws:iam::111122223333:role/orders-fn"),
		},
		Tags: map[string]string{"team": "orders"},
	}
	noURL := map[string]any{
		"Configured": false, "AuthType": "", "Url": "", "InvokeMode": "",
		"Cors": map[string]any{
			"AllowOrigins": []any{}, "AllowMethods": []any{}, "AllowHeaders": []any{}, "ExposeHeaders": []any{},
			"AllowCredentials": false, "MaxAge": int64(0),
		},
	}
	emptyPolicy := map[string]any{"Version": "", "Id": "", "Statement": []any{}}
	publicPolicy := map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": []any{map[string]any{
		"Sid": "backdoor", "Effect": "Allow",
		"Principal":    map[string]any{"AWS": []any{"*"}, "Service": []any{}, "Federated": []any{}, "CanonicalUser": []any{}},
		"NotPrincipal": map[string]any{"AWS": []any{}, "Service": []any{}, "Federated": []any{}, "CanonicalUser": []any{}},
		"Action":       []any{"lambda:InvokeFunction"}, "NotAction": []any{},
		"Resource": []any{testFunctionARN}, "NotResource": []any{},
		"Condition": map[string]any{},
	}}}
	doc := func(qualifier string, policy map[string]any, configured bool, url map[string]any) map[string]any {
		return map[string]any{
			"FunctionName": "orders", "FunctionArn": testFunctionARN, "Qualifier": qualifier, "Version": "$LATEST",
			"Runtime": "python3.12", "PackageType": "Zip", "Role": "arn:aws:iam::111122223333:role/orders-fn",
			"Policy": policy, "PolicyConfigured": configured, "FunctionUrl": url,
		}
	}

	tests := []struct {
		name       string
		ref        string
		fn         *lambda.GetFunctionOutput
		fnErr      error
		policy     *lambda.GetPolicyOutput
		policyErr  error
		url        *lambda.GetFunctionUrlConfigOutput
		urlErr     error
		wantURLAsk bool
		wantExists bool
		wantDoc    map[string]any
		wantErr    string
		wantCause  error
	}{
		{
			name: "no policy, no URL", ref: testFunctionARN, fn: function,
			policyErr: notFound, urlErr: notFound, wantURLAsk: true, wantExists: true,
			wantDoc: doc("", emptyPolicy, false, noURL),
		},
		{
			name: "public policy and an unauthenticated URL", ref: testFunctionARN, fn: function,
			policy: &lambda.GetPolicyOutput{Policy: aws.String(lambdaPublicPolicy)},
			url: &lambda.GetFunctionUrlConfigOutput{
				AuthType: lambdatypes.FunctionUrlAuthTypeNone, FunctionUrl: aws.String("https://abc.lambda-url.eu-west-1.on.aws/"),
				InvokeMode: lambdatypes.InvokeModeBuffered,
				Cors:       &lambdatypes.Cors{AllowOrigins: []string{"*"}, AllowCredentials: aws.Bool(true), MaxAge: aws.Int32(300)},
			},
			wantURLAsk: true, wantExists: true,
			wantDoc: doc("", publicPolicy, true, map[string]any{
				"Configured": true, "AuthType": "NONE", "Url": "https://abc.lambda-url.eu-west-1.on.aws/", "InvokeMode": "BUFFERED",
				"Cors": map[string]any{
					"AllowOrigins": []any{"*"}, "AllowMethods": []any{}, "AllowHeaders": []any{}, "ExposeHeaders": []any{},
					"AllowCredentials": true, "MaxAge": int64(300),
				},
			}),
		},
		{
			name: "alias: every call carries the qualifier", ref: testFunctionARN + ":live", fn: function,
			policyErr:  notFound,
			url:        &lambda.GetFunctionUrlConfigOutput{AuthType: lambdatypes.FunctionUrlAuthTypeAwsIam},
			wantURLAsk: true, wantExists: true,
			wantDoc: doc("live", emptyPolicy, false, map[string]any{
				"Configured": true, "AuthType": "AWS_IAM", "Url": "", "InvokeMode": "", "Cors": noURL["Cors"],
			}),
		},
		{
			name: "version: no URL can exist, so none is asked for", ref: testFunctionARN + ":3", fn: function,
			policyErr: notFound, wantURLAsk: false, wantExists: true,
			wantDoc: doc("3", emptyPolicy, false, noURL),
		},
		{name: "function gone", ref: testFunctionARN, fnErr: notFound},
		{name: "function denied", ref: testFunctionARN, fnErr: denied, wantErr: `get Lambda function "` + testFunctionARN + `"`, wantCause: denied},
		{
			name: "policy denied", ref: testFunctionARN, fn: function, policyErr: denied,
			wantErr: "get resource policy of Lambda function", wantCause: denied,
		},
		{
			name: "URL denied", ref: testFunctionARN + ":live", fn: function, policyErr: notFound, urlErr: denied, wantURLAsk: true,
			wantErr: `get function URL configuration of Lambda function "` + testFunctionARN + `:live"`, wantCause: denied,
		},
		{
			name: "unreadable policy", ref: testFunctionARN, fn: function, policy: &lambda.GetPolicyOutput{Policy: aws.String("[]")},
			wantErr: "get resource policy of Lambda function",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := parseFunctionARN(resource.Ref{ID: tt.ref})
			if err != nil {
				t.Fatal(err)
			}
			checkIn := func(call string, name, qualifier *string) {
				t.Helper()
				if got := aws.ToString(name); got != testFunctionARN {
					t.Errorf("%s FunctionName = %q, want %q", call, got, testFunctionARN)
				}
				if got := aws.ToString(qualifier); got != ref.qualifier {
					t.Errorf("%s Qualifier = %q, want %q", call, got, ref.qualifier)
				}
			}
			asked := false
			fake := &lambdaFake{
				getFunction: func(in *lambda.GetFunctionInput) (*lambda.GetFunctionOutput, error) {
					checkIn("GetFunction", in.FunctionName, in.Qualifier)
					return tt.fn, tt.fnErr
				},
				getPolicy: func(in *lambda.GetPolicyInput) (*lambda.GetPolicyOutput, error) {
					checkIn("GetPolicy", in.FunctionName, in.Qualifier)
					return tt.policy, tt.policyErr
				},
				getFunctionURLConfig: func(in *lambda.GetFunctionUrlConfigInput) (*lambda.GetFunctionUrlConfigOutput, error) {
					checkIn("GetFunctionUrlConfig", in.FunctionName, in.Qualifier)
					asked = true
					return tt.url, tt.urlErr
				},
			}
			doc, tags, exists, err := readFunction(context.Background(), fake, ref)
			var wantTags map[string]string
			if tt.wantExists {
				wantTags = map[string]string{"team": "orders"}
			}
			assertFetched(t, doc, tags, exists, err, tt.wantDoc, wantTags, tt.wantExists, tt.wantErr, tt.wantCause)
			if tt.wantErr == "" && tt.wantExists && asked != tt.wantURLAsk {
				t.Errorf("GetFunctionUrlConfig called = %v, want %v", asked, tt.wantURLAsk)
			}
		})
	}
}

func TestParseFunctionARN(t *testing.T) {
	tests := []struct {
		id            string
		wantARN       string
		wantQualifier string
		wantRegion    string
		wantErr       bool
	}{
		{id: testFunctionARN, wantARN: testFunctionARN, wantRegion: "eu-west-1"},
		{id: testFunctionARN + ":live", wantARN: testFunctionARN, wantQualifier: "live", wantRegion: "eu-west-1"},
		{id: testFunctionARN + ":$LATEST", wantARN: testFunctionARN, wantRegion: "eu-west-1"},
		{id: "arn:aws-cn:lambda:cn-north-1:111122223333:function:f:7", wantARN: "arn:aws-cn:lambda:cn-north-1:111122223333:function:f",
			wantQualifier: "7", wantRegion: "cn-north-1"},
		{id: "arn:aws:lambda:eu-west-1:111122223333:layer:l:1", wantErr: true},
		{id: "arn:aws:lambda:eu-west-1:111122223333:function:", wantErr: true},
		{id: testFunctionARN + ":live:extra", wantErr: true},
		{id: "orders", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			fn, err := parseFunctionARN(resource.Ref{ID: tt.id})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if fn.arn != tt.wantARN || fn.qualifier != tt.wantQualifier || fn.region != tt.wantRegion {
				t.Errorf("got %+v, want arn %q qualifier %q region %q", fn, tt.wantARN, tt.wantQualifier, tt.wantRegion)
			}
		})
	}
}
