package revert

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func lambdaRemediations() map[string]remediation {
	fn := []string{"AWS::Lambda::Function"}
	return map[string]remediation{
		"lambda-url-require-iam-auth": {types: fn, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			f, err := parseFunction(t)
			if err != nil {
				return planned{}, err
			}
			return planFunctionURLAuth(r.lambdaClient(f.region), f, t)
		}},
		"lambda-remove-public-permission": {types: fn, plan: func(ctx context.Context, r *Remediator, t *target) (planned, error) {
			f, err := parseFunction(t)
			if err != nil {
				return planned{}, err
			}
			return r.planRemovePermissions(ctx, r.lambdaClient(f.region), f, t)
		}},
	}
}

// lambdaClient returns the Lambda client of a region.
func (r *Remediator) lambdaClient(region string) *lambda.Client {
	return client(r, "lambda", region, func(cfg aws.Config) *lambda.Client { return lambda.NewFromConfig(cfg) })
}

// function is a function ARN split into what Lambda's calls take.
type function struct {
	// arn is the unqualified function ARN, passed as FunctionName.
	arn       string
	qualifier string
	region    string
}

// qualifierParam is the Qualifier parameter (nil for the unqualified
// function).
func (f function) qualifierParam() *string {
	if f.qualifier == "" {
		return nil
	}
	return aws.String(f.qualifier)
}

func (f function) String() string {
	if f.qualifier == "" {
		return f.arn
	}
	return f.arn + ":" + f.qualifier
}

// parseFunction splits arn:{p}:lambda:{r}:{a}:function:{name}[:{qualifier}].
func parseFunction(t *target) (function, error) {
	parts := strings.Split(t.res.Ref.ID, ":")
	if len(parts) < 7 || len(parts) > 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" || parts[6] == "" {
		return function{}, fmt.Errorf("parse Lambda function ARN %q: want arn:partition:lambda:region:account:function:name[:qualifier]", t.res.Ref.ID)
	}
	f := function{arn: strings.Join(parts[:7], ":"), region: parts[3]}
	if len(parts) == 8 && parts[7] != "$LATEST" {
		f.qualifier = parts[7]
	}
	if f.region == "" {
		f.region = t.res.Ref.Region
	}
	return f, nil
}

// lambdaURLAPI is what lambda-url-require-iam-auth calls.
type lambdaURLAPI interface {
	UpdateFunctionUrlConfig(ctx context.Context, in *lambda.UpdateFunctionUrlConfigInput, optFns ...func(*lambda.Options)) (*lambda.UpdateFunctionUrlConfigOutput, error)
}

// planFunctionURLAuth sets the function URL's auth type to AWS_IAM. The
// URL, its CORS settings and invoke mode (not passed, so not changed) and
// the resource policy stay as they are; the console's public-URL
// statements then no longer match any request (they apply to auth type
// NONE only).
func planFunctionURLAuth(api lambdaURLAPI, f function, t *target) (planned, error) {
	switch {
	case !docBool(t.doc(), "FunctionUrl.Configured"):
		return nothing("function %s has no function URL", f)
	case docString(t.doc(), "FunctionUrl.AuthType") != string(lambdatypes.FunctionUrlAuthTypeNone):
		return nothing("function %s's URL already requires %s", f, docString(t.doc(), "FunctionUrl.AuthType"))
	}
	in := &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String(f.arn), Qualifier: f.qualifierParam(), AuthType: lambdatypes.FunctionUrlAuthTypeAwsIam}
	return planned{calls: []Call{newCall("lambda", "UpdateFunctionUrlConfig", "lambda:UpdateFunctionUrlConfig", f.region, api.UpdateFunctionUrlConfig, in)},
		reason: "sets the function URL's auth type to AWS_IAM"}, nil
}

// lambdaPermissionAPI is what lambda-remove-public-permission calls.
type lambdaPermissionAPI interface {
	RemovePermission(ctx context.Context, in *lambda.RemovePermissionInput, optFns ...func(*lambda.Options)) (*lambda.RemovePermissionOutput, error)
}

// planRemovePermissions removes, by statement ID, each statement of the
// resource policy that makes the rule fail on its own; the other
// statements stay.
func (r *Remediator) planRemovePermissions(ctx context.Context, api lambdaPermissionAPI, f function, t *target) (planned, error) {
	stmts := docList(t.doc(), "Policy.Statement")
	bad, err := r.offending(ctx, t, "Policy.Statement", nil, stmts)
	if err != nil {
		return planned{}, err
	}
	if len(bad) == 0 {
		return nothing("no statement of function %s's resource policy makes %s fail", f, t.v.RuleID)
	}
	var calls []Call
	var sids []string
	for _, i := range bad {
		m, _ := stmts[i].(map[string]any)
		sid := docString(m, "Sid")
		if sid == "" {
			return planned{}, fmt.Errorf("statement %d of function %s's resource policy has no Sid to remove it by", i+1, f)
		}
		sids = append(sids, sid)
		in := &lambda.RemovePermissionInput{FunctionName: aws.String(f.arn), Qualifier: f.qualifierParam(), StatementId: aws.String(sid)}
		calls = append(calls, newCall("lambda", "RemovePermission", "lambda:RemovePermission", f.region, api.RemovePermission, in))
	}
	return planned{calls: calls, reason: "removes statement(s) " + strings.Join(sids, ", "),
		backup: map[string]any{"Statements": pick(stmts, bad)}}, nil
}

// pick returns the elements of list at the indexes.
func pick(list []any, idx []int) []any {
	out := make([]any, 0, len(idx))
	for _, i := range idx {
		out = append(out, list[i])
	}
	return out
}
