package catalog

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// lambdaFunction is the Lambda function type. Its resource policy
// (AWS::Lambda::Permission) and function URL (AWS::Lambda::Url) are
// properties of the function's document, so every row targets the function.
const lambdaFunction = "AWS::Lambda::Function"

const lambdaSource = "lambda.amazonaws.com"

// lambdaEntries are the watched Lambda operations.
//
// Lambda's event names carry the API version (AddPermission20150331v2,
// CreateFunction20150331, CreateFunctionUrlConfig20211031); every row is
// Suffixed so the bare and the versioned names both match. Lambda events
// carry no resources[]. The function is named by requestParameters.functionName
// as a name, a full ARN or a partial ARN (123456789012:function:name), each
// optionally followed by :version or :alias, plus an optional
// requestParameters.qualifier; all are normalised to
// arn:{p}:lambda:{r}:{a}:function:{name}[:{qualifier}]. $LATEST is the
// unqualified function.
func lambdaEntries() []Entry {
	row := func(op string, resolve func(*change.Change) ([]string, error), note string) Entry {
		return Entry{
			Service: lambdaSource, Operation: op, Suffixed: true,
			Targets: []Target{{Type: lambdaFunction, Resolve: resolve}},
			Note:    note,
		}
	}
	const byRequest = "requestParameters.functionName (name, ARN or partial ARN) + requestParameters.qualifier"
	return []Entry{
		row("AddPermission", lambdaPermissionTarget,
			"the Resource of the statement in responseElements.statement (a JSON string), else "+byRequest),
		row("RemovePermission", lambdaRequestTarget(), byRequest),
		row("CreateFunctionUrlConfig", lambdaRequestTarget("responseElements.functionArn"),
			byRequest+", else responseElements.functionArn"),
		row("UpdateFunctionUrlConfig", lambdaRequestTarget("responseElements.functionArn"),
			byRequest+", else responseElements.functionArn"),
		row("DeleteFunctionUrlConfig", lambdaRequestTarget(), byRequest),
		row("CreateFunction", lambdaCreatedFunction,
			"requestParameters.functionName, else responseElements.functionName; the unqualified function "+
				"(the response's functionArn carries the version when publish is set)"),
		row("DeleteFunction", lambdaRequestTarget(), byRequest+" (a qualifier deletes one version)"),
	}
}

// lambdaPermissionTarget resolves AddPermission: the statement the call
// added names the function it was added to in its Resource.
func lambdaPermissionTarget(c *change.Change) ([]string, error) {
	if arn, ok := lambdaStatementResource(c); ok {
		return []string{arn}, nil
	}
	return lambdaRequestTarget()(c)
}

// lambdaStatementResource returns the function ARN in the Resource of the
// JSON statement at responseElements.statement.
func lambdaStatementResource(c *change.Change) (string, bool) {
	raw := Field(c, "responseElements.statement")
	if raw == "" {
		return "", false
	}
	var stmt map[string]any
	if json.Unmarshal([]byte(raw), &stmt) != nil {
		return "", false
	}
	res := stmt["Resource"]
	if list, ok := res.([]any); ok && len(list) == 1 {
		res = list[0]
	}
	s, _ := res.(string)
	if !strings.HasPrefix(s, "arn:") {
		return "", false
	}
	fn, ok := parseLambdaFunction(c, s)
	return fn.arn(), ok
}

// lambdaRequestTarget resolves the function from requestParameters.functionName
// and requestParameters.qualifier, else from the first ARN at fallbacks.
func lambdaRequestTarget(fallbacks ...string) func(*change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		name := Field(c, "requestParameters.functionName")
		if fn, ok := parseLambdaFunction(c, name); ok {
			if q := Field(c, "requestParameters.qualifier"); q != "" {
				fn.qualifier = q
			}
			return []string{fn.arn()}, nil
		}
		if fn, ok := parseLambdaFunction(c, Field(c, fallbacks...)); ok {
			return []string{fn.arn()}, nil
		}
		return nil, fmt.Errorf("lambda function at requestParameters.functionName: %w", ErrNoID)
	}
}

// lambdaCreatedFunction resolves CreateFunction to the unqualified function.
func lambdaCreatedFunction(c *change.Change) ([]string, error) {
	fn, ok := parseLambdaFunction(c, Field(c, "requestParameters.functionName", "responseElements.functionName",
		"responseElements.functionArn"))
	if !ok {
		return nil, fmt.Errorf("lambda function at requestParameters.functionName: %w", ErrNoID)
	}
	fn.qualifier = ""
	return []string{fn.arn()}, nil
}

// lambdaFunctionRef is a parsed function reference.
type lambdaFunctionRef struct {
	partition, region, account, name, qualifier string
}

// arn returns arn:{p}:lambda:{r}:{a}:function:{name}[:{qualifier}].
func (f lambdaFunctionRef) arn() string {
	s := "arn:" + f.partition + ":lambda:" + f.region + ":" + f.account + ":function:" + f.name
	if f.qualifier != "" && f.qualifier != "$LATEST" {
		s += ":" + f.qualifier
	}
	return s
}

// parseLambdaFunction parses a function name in any of the forms Lambda's
// API accepts: my-function, my-function:v1,
// 123456789012:function:my-function[:v1] and
// arn:aws:lambda:us-west-2:123456789012:function:my-function[:v1]. The parts
// a form does not carry come from the change (partition, region, account).
func parseLambdaFunction(c *change.Change, s string) (lambdaFunctionRef, bool) {
	f := lambdaFunctionRef{partition: Partition(c.Region), region: c.Region, account: c.Account}
	parts := strings.Split(s, ":")
	switch {
	case s == "":
		return f, false
	case strings.HasPrefix(s, "arn:"):
		if len(parts) < 7 || len(parts) > 8 || parts[2] != "lambda" || parts[5] != "function" {
			return f, false
		}
		f.partition, f.region, f.account = parts[1], parts[3], parts[4]
		parts = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		if len(parts) > 4 {
			return f, false
		}
		f.account = parts[0]
		parts = parts[2:]
	default:
		if len(parts) > 2 {
			return f, false
		}
	}
	f.name = parts[0]
	if len(parts) == 2 {
		f.qualifier = parts[1]
	}
	if f.name == "" || f.region == "" || f.account == "" {
		return f, false
	}
	return f, true
}
