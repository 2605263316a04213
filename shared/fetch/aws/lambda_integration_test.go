package aws

import (
	"archive/zip"
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// TestLambdaMoto reads a function from moto through the Reader as
// permissions and a function URL are added and removed.
//
// moto ignores the Qualifier of GetPolicy and GetFunctionUrlConfig (it
// answers for the unqualified function), so the per-alias policy and URL are
// only covered by the fake-based tests.
func TestLambdaMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fnARN := createMotoFunction(ctx, t, cfg, "orders")
	api := lambda.NewFromConfig(cfg)
	r := New(cfg, Options{})
	read := func(t *testing.T, id string) resource.Resource {
		t.Helper()
		ref := resource.Ref{Type: "AWS::Lambda::Function", ID: id, Account: mototest.Account, Region: mototest.Region}
		res, err := r.Read(ctx, ref)
		if err != nil {
			t.Fatalf("read %s: %v", ref, err)
		}
		return res
	}

	t.Run("new function", func(t *testing.T) {
		res := read(t, fnARN)
		if !res.Exists {
			t.Fatal("function does not exist")
		}
		for k, want := range map[string]any{
			"FunctionName": "orders", "FunctionArn": fnARN, "Qualifier": "", "Runtime": "python3.12",
			"Role": "arn:aws:iam::123456789012:role/orders-fn", "PolicyConfigured": false,
			"Policy": map[string]any{"Version": "", "Id": "", "Statement": []any{}},
		} {
			if !reflect.DeepEqual(res.Doc[k], want) {
				t.Errorf("%s = %#v, want %#v", k, res.Doc[k], want)
			}
		}
		if url := res.Doc["FunctionUrl"].(map[string]any); url["Configured"] != false || url["AuthType"] != "" {
			t.Errorf("FunctionUrl = %#v, want not configured", url)
		}
		if !reflect.DeepEqual(res.Tags, map[string]string{"team": "orders"}) {
			t.Errorf("tags = %v", res.Tags)
		}
	})

	t.Run("public permission added and removed", func(t *testing.T) {
		if _, err := api.AddPermission(ctx, &lambda.AddPermissionInput{
			FunctionName: aws.String("orders"), StatementId: aws.String("backdoor"),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*"),
		}); err != nil {
			t.Fatalf("add permission: %v", err)
		}
		res := read(t, fnARN)
		if res.Doc["PolicyConfigured"] != true {
			t.Fatalf("PolicyConfigured = %v", res.Doc["PolicyConfigured"])
		}
		stmts := res.Doc["Policy"].(map[string]any)["Statement"].([]any)
		if len(stmts) != 1 {
			t.Fatalf("statements = %#v", stmts)
		}
		s := stmts[0].(map[string]any)
		if !reflect.DeepEqual(s["Principal"], map[string]any{"AWS": []any{"*"}, "Service": []any{}, "Federated": []any{}, "CanonicalUser": []any{}}) ||
			!reflect.DeepEqual(s["Action"], []any{"lambda:InvokeFunction"}) || s["Sid"] != "backdoor" {
			t.Errorf("statement not normalised: %#v", s)
		}

		if _, err := api.RemovePermission(ctx, &lambda.RemovePermissionInput{
			FunctionName: aws.String(fnARN), StatementId: aws.String("backdoor"),
		}); err != nil {
			t.Fatalf("remove permission: %v", err)
		}
		res = read(t, fnARN)
		if stmts := res.Doc["Policy"].(map[string]any)["Statement"].([]any); len(stmts) != 0 {
			t.Errorf("after removal: statements = %#v", stmts)
		}
	})

	t.Run("function URL", func(t *testing.T) {
		if _, err := api.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{
			FunctionName: aws.String("orders"), AuthType: lambdatypes.FunctionUrlAuthTypeNone,
			Cors: &lambdatypes.Cors{AllowOrigins: []string{"https://shop.example.com"}, AllowMethods: []string{"POST"}},
		}); err != nil {
			t.Fatalf("create function URL: %v", err)
		}
		url := read(t, fnARN).Doc["FunctionUrl"].(map[string]any)
		if url["Configured"] != true || url["AuthType"] != "NONE" || url["Url"] == "" {
			t.Errorf("FunctionUrl = %#v, want configured with auth NONE", url)
		}
		cors := url["Cors"].(map[string]any)
		if !reflect.DeepEqual(cors["AllowOrigins"], []any{"https://shop.example.com"}) || !reflect.DeepEqual(cors["AllowMethods"], []any{"POST"}) {
			t.Errorf("Cors = %#v", cors)
		}

		if _, err := api.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{
			FunctionName: aws.String("orders"), AuthType: lambdatypes.FunctionUrlAuthTypeAwsIam,
		}); err != nil {
			t.Fatalf("update function URL: %v", err)
		}
		if got := read(t, fnARN).Doc["FunctionUrl"].(map[string]any)["AuthType"]; got != "AWS_IAM" {
			t.Errorf("after update: AuthType = %v", got)
		}

		if _, err := api.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String("orders")}); err != nil {
			t.Fatalf("delete function URL: %v", err)
		}
		if got := read(t, fnARN).Doc["FunctionUrl"].(map[string]any)["Configured"]; got != false {
			t.Errorf("after delete: Configured = %v", got)
		}
	})

	t.Run("alias", func(t *testing.T) {
		if _, err := api.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("orders")}); err != nil {
			t.Fatalf("publish version: %v", err)
		}
		if _, err := api.CreateAlias(ctx, &lambda.CreateAliasInput{
			FunctionName: aws.String("orders"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
		}); err != nil {
			t.Fatalf("create alias: %v", err)
		}
		res := read(t, fnARN+":live")
		if !res.Exists || res.Doc["Qualifier"] != "live" || res.Doc["FunctionName"] != "orders" {
			t.Errorf("alias = exists %v, doc %#v", res.Exists, res.Doc)
		}
		res = read(t, fnARN+":1")
		if !res.Exists || res.Doc["Qualifier"] != "1" || res.Doc["FunctionUrl"].(map[string]any)["Configured"] != false {
			t.Errorf("version = exists %v, doc %#v", res.Exists, res.Doc)
		}
	})

	t.Run("deleted function", func(t *testing.T) {
		if _, err := api.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("orders")}); err != nil {
			t.Fatalf("delete function: %v", err)
		}
		if res := read(t, fnARN); res.Exists {
			t.Errorf("deleted function exists: %+v", res)
		}
	})
}

// createMotoFunction creates, in moto, a role for Lambda and a Python
// function named name tagged team=orders, and returns the function's ARN.
func createMotoFunction(ctx context.Context, t *testing.T, cfg aws.Config, name string) string {
	t.Helper()
	role, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(name + "-fn"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatalf("create role: %v", err)
	}
	var code bytes.Buffer
	zw := zip.NewWriter(&code)
	w, err := zw.Create("index.py")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("def handler(event, context):\n    return {}\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	fn, err := lambda.NewFromConfig(cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: lambdatypes.RuntimePython312, Role: role.Role.Arn,
		Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: code.Bytes()},
		Tags: map[string]string{"team": "orders"},
	})
	if err != nil {
		t.Fatalf("create function: %v", err)
	}
	return aws.ToString(fn.FunctionArn)
}
