package aws

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/driftwatch/driftwatch/shared/iampolicy"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// lambdaNotFound is the error code of a function, policy or function URL
// configuration that does not exist.
const lambdaNotFound = "ResourceNotFoundException"

// lambdaAPI is the Lambda calls the function fetcher makes.
type lambdaAPI interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	GetPolicy(ctx context.Context, in *lambda.GetPolicyInput, opts ...func(*lambda.Options)) (*lambda.GetPolicyOutput, error)
	GetFunctionUrlConfig(ctx context.Context, in *lambda.GetFunctionUrlConfigInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionUrlConfigOutput, error)
}

// lambdaFetchers are the readers of Lambda resource types.
func lambdaFetchers() map[string]fetchFunc {
	return map[string]fetchFunc{
		"AWS::Lambda::Function": func(ctx context.Context, r *Reader, ref resource.Ref) (map[string]any, map[string]string, bool, error) {
			fn, err := parseFunctionARN(ref)
			if err != nil {
				return nil, nil, false, err
			}
			api := client(r, "lambda", fn.region, func(cfg aws.Config) lambdaAPI { return lambda.NewFromConfig(cfg) })
			return readFunction(ctx, api, fn)
		},
	}
}

// functionRef is a function ARN split into the parts the Lambda calls take.
type functionRef struct {
	// arn is the unqualified function ARN, passed as FunctionName.
	arn string
	// qualifier is the version or alias ("" for the unqualified function).
	qualifier string
	region    string
}

// parseFunctionARN splits arn:{p}:lambda:{r}:{a}:function:{name}[:{qualifier}].
func parseFunctionARN(ref resource.Ref) (functionRef, error) {
	parts := strings.Split(ref.ID, ":")
	if len(parts) < 7 || len(parts) > 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" || parts[6] == "" {
		return functionRef{}, fmt.Errorf("parse Lambda function ARN %q: want arn:partition:lambda:region:account:function:name[:qualifier]", ref.ID)
	}
	fn := functionRef{arn: strings.Join(parts[:7], ":"), region: parts[3]}
	if len(parts) == 8 && parts[7] != "$LATEST" {
		fn.qualifier = parts[7]
	}
	if fn.region == "" {
		fn.region = ref.Region
	}
	return fn, nil
}

// readFunction reads a function (or one version or alias of it), its
// resource policy and its function URL configuration.
func readFunction(ctx context.Context, api lambdaAPI, fn functionRef) (map[string]any, map[string]string, bool, error) {
	name := fn.arn
	if fn.qualifier != "" {
		name += ":" + fn.qualifier
	}
	out, err := api.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn.arn), Qualifier: lambdaQualifier(fn)})
	if errorCodeIs(err, lambdaNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("get Lambda function %q: %w", name, err)
	}
	if out.Configuration == nil {
		return nil, nil, false, fmt.Errorf("get Lambda function %q: response has no configuration", name)
	}
	conf := out.Configuration

	policy, configured, err := functionPolicy(ctx, api, fn)
	if err != nil {
		return nil, nil, false, fmt.Errorf("get resource policy of Lambda function %q: %w", name, err)
	}
	url, err := functionURL(ctx, api, fn)
	if err != nil {
		return nil, nil, false, fmt.Errorf("get function URL configuration of Lambda function %q: %w", name, err)
	}

	doc := map[string]any{
		"FunctionName":     aws.ToString(conf.FunctionName),
		"FunctionArn":      aws.ToString(conf.FunctionArn),
		"Qualifier":        fn.qualifier,
		"Version":          aws.ToString(conf.Version),
		"Runtime":          string(conf.Runtime),
		"PackageType":      string(conf.PackageType),
		"Role":             aws.ToString(conf.Role),
		"Policy":           policy,
		"PolicyConfigured": configured,
		"FunctionUrl":      url,
	}
	return doc, maps.Clone(out.Tags), true, nil
}

// lambdaQualifier returns the Qualifier parameter of a call about fn.
func lambdaQualifier(fn functionRef) *string {
	if fn.qualifier == "" {
		return nil
	}
	return aws.String(fn.qualifier)
}

// functionPolicy returns the function's resource policy in iampolicy's
// canonical form and whether it has one. A function without a policy has
// the empty canonical document (no statements).
func functionPolicy(ctx context.Context, api lambdaAPI, fn functionRef) (map[string]any, bool, error) {
	out, err := api.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(fn.arn), Qualifier: lambdaQualifier(fn)})
	if errorCodeIs(err, lambdaNotFound) {
		empty, err := iampolicy.Normalize(map[string]any{})
		return empty, false, err
	}
	if err != nil {
		return nil, false, err
	}
	doc, err := iampolicy.Normalize(out.Policy)
	if err != nil {
		return nil, false, err
	}
	return doc, true, nil
}

// functionURL returns the function URL configuration:
// {Configured, AuthType, Url, InvokeMode, Cors}. Only $LATEST and aliases can
// have a URL, so a numbered version is not asked.
func functionURL(ctx context.Context, api lambdaAPI, fn functionRef) (map[string]any, error) {
	url := map[string]any{
		"Configured": false,
		"AuthType":   "",
		"Url":        "",
		"InvokeMode": "",
		"Cors":       functionCors(nil, nil, nil, nil, nil, nil),
	}
	if lambdaIsVersion(fn.qualifier) {
		return url, nil
	}
	out, err := api.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(fn.arn), Qualifier: lambdaQualifier(fn)})
	if errorCodeIs(err, lambdaNotFound) {
		return url, nil
	}
	if err != nil {
		return nil, err
	}
	url["Configured"] = true
	url["AuthType"] = string(out.AuthType)
	url["Url"] = aws.ToString(out.FunctionUrl)
	url["InvokeMode"] = string(out.InvokeMode)
	if c := out.Cors; c != nil {
		url["Cors"] = functionCors(c.AllowOrigins, c.AllowMethods, c.AllowHeaders, c.ExposeHeaders, c.AllowCredentials, c.MaxAge)
	}
	return url, nil
}

// functionCors maps a function URL's CORS settings; absent settings are empty
// lists, false and 0.
func functionCors(origins, methods, headers, expose []string, credentials *bool, maxAge *int32) map[string]any {
	return map[string]any{
		"AllowOrigins":     lambdaStrings(origins),
		"AllowMethods":     lambdaStrings(methods),
		"AllowHeaders":     lambdaStrings(headers),
		"ExposeHeaders":    lambdaStrings(expose),
		"AllowCredentials": aws.ToBool(credentials),
		"MaxAge":           int64(aws.ToInt32(maxAge)),
	}
}

// lambdaStrings converts a string slice to a document list (empty, not nil).
func lambdaStrings(in []string) []any {
	out := make([]any, len(in))
	for i, s := range in {
		out[i] = s
	}
	return out
}

// lambdaIsVersion reports whether a qualifier names a published version.
func lambdaIsVersion(q string) bool {
	if q == "" {
		return false
	}
	for _, r := range q {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// lambdaActions are the IAM actions behind the Lambda calls above.
// iam: GetFunction returns the function's tags only to a caller that is
// also allowed lambda:ListTags (GetFunction API reference, "Tags").
var lambdaActions = operationActions{
	"lambda.GetFunction":          {"lambda:GetFunction", "lambda:ListTags"},
	"lambda.GetPolicy":            {"lambda:GetPolicy"},
	"lambda.GetFunctionUrlConfig": {"lambda:GetFunctionUrlConfig"},
}
