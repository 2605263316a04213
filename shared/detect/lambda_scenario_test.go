package detect

import (
	"archive/zip"
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/policy"
)

// The Lambda scenarios feed records named as CloudTrail names Lambda events,
// with the API version suffix (AddPermission20150331v2,
// CreateFunctionUrlConfig20211031), in the shape of real records
// (AddPermission's responseElements.statement is a JSON string).
//
// moto records AddPermission's FunctionUrlAuthType as a statement field
// rather than a condition, so these scenarios do not add the console's
// function URL permissions; the rules' handling of those statements is
// covered by lambda.tests.yaml.

const lambdaSource = "lambda.amazonaws.com"

func lambdaMust(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// lambdaFunction creates a Python function (and its execution role) with a
// unique name and returns the name and ARN.
func lambdaFunction(t *testing.T, env *motoEnv, prefix string) (name, arn string) {
	t.Helper()
	ctx := context.Background()
	name = unique(prefix)
	role, err := iam.NewFromConfig(env.cfg).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(name + "-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	lambdaMust(t, "create role", err)
	var code bytes.Buffer
	zw := zip.NewWriter(&code)
	w, err := zw.Create("index.py")
	lambdaMust(t, "zip code", err)
	_, err = w.Write([]byte("def handler(event, context):\n    return {\"statusCode\": 200}\n"))
	lambdaMust(t, "zip code", err)
	lambdaMust(t, "zip code", zw.Close())
	out, err := lambda.NewFromConfig(env.cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: lambdatypes.RuntimePython312, Role: role.Role.Arn,
		Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: code.Bytes()},
	})
	lambdaMust(t, "create function "+name, err)
	return name, aws.ToString(out.FunctionArn)
}

// lambdaURLResponse is a function URL configuration as CloudTrail records
// it in responseElements.
func lambdaURLResponse(url, arn string, auth lambdatypes.FunctionUrlAuthType) map[string]any {
	return map[string]any{"functionUrl": url, "functionArn": arn, "authType": string(auth), "invokeMode": "BUFFERED"}
}

func TestLambdaScenarioFunctionURL(t *testing.T) {
	env := newMotoEnv(t)
	api := lambda.NewFromConfig(env.cfg)
	ctx := context.Background()
	const rule = "aws-lambda-function-url-auth-none"
	name, arn := lambdaFunction(t, env, "scn-url-fn")

	created, err := api.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{
		FunctionName: aws.String(name), AuthType: lambdatypes.FunctionUrlAuthTypeNone,
		Cors: &lambdatypes.Cors{AllowOrigins: []string{"*"}},
	})
	lambdaMust(t, "create function URL", err)
	url := aws.ToString(created.FunctionUrl)
	vs := env.feed(t, record(lambdaSource, "CreateFunctionUrlConfig20211031",
		map[string]any{"functionName": name, "authType": "NONE", "cors": map[string]any{"allowOrigins": []string{"*"}}},
		lambdaURLResponse(url, arn, created.AuthType)))
	expect(t, vs, rule, policy.Fail)
	// No permission lets the public in yet: the resource-policy rule passes.
	expect(t, vs, "aws-lambda-function-policy-public", policy.Pass)

	updated, err := api.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{
		FunctionName: aws.String(arn), AuthType: lambdatypes.FunctionUrlAuthTypeAwsIam,
	})
	lambdaMust(t, "update function URL", err)
	vs = env.feed(t, record(lambdaSource, "UpdateFunctionUrlConfig20211031",
		map[string]any{"functionName": arn, "authType": "AWS_IAM"},
		lambdaURLResponse(url, arn, updated.AuthType)))
	expect(t, vs, rule, policy.Pass)
}

func TestLambdaScenarioPublicPermission(t *testing.T) {
	env := newMotoEnv(t)
	api := lambda.NewFromConfig(env.cfg)
	ctx := context.Background()
	const rule = "aws-lambda-function-policy-public"
	name, _ := lambdaFunction(t, env, "scn-backdoor-fn")

	// A service permission confined to its source is not public.
	svc, err := api.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String(name), StatementId: aws.String("s3-invoke"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String("arn:aws:s3:::orders-uploads"),
		SourceAccount: aws.String(mototest.Account),
	})
	lambdaMust(t, "add S3 permission", err)
	vs := env.feed(t, record(lambdaSource, "AddPermission20150331v2",
		map[string]any{"action": "lambda:InvokeFunction", "functionName": name, "principal": "s3.amazonaws.com",
			"sourceArn": "arn:aws:s3:::orders-uploads", "sourceAccount": mototest.Account, "statementId": "s3-invoke"},
		map[string]any{"statement": aws.ToString(svc.Statement)}))
	expect(t, vs, rule, policy.Pass)

	// The backdoor of Stratus Red Team's lambda-backdoor-function.
	added, err := api.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String(name), StatementId: aws.String("backdoor"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("*"),
	})
	lambdaMust(t, "add public permission", err)
	vs = env.feed(t, record(lambdaSource, "AddPermission20150331v2",
		map[string]any{"action": "lambda:InvokeFunction", "functionName": name, "principal": "*", "statementId": "backdoor"},
		map[string]any{"statement": aws.ToString(added.Statement)}))
	expect(t, vs, rule, policy.Fail)

	// Removed by partial ARN, one of the name forms Lambda accepts.
	_, err = api.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(name), StatementId: aws.String("backdoor")})
	lambdaMust(t, "remove public permission", err)
	vs = env.feed(t, record(lambdaSource, "RemovePermission20150331v2",
		map[string]any{"functionName": mototest.Account + ":function:" + name, "statementId": "backdoor"}, nil))
	expect(t, vs, rule, policy.Pass)
}
