// Package pack holds driftwatch's built-in rules and their tests, embedded
// in the binary: one directory per cloud (aws/, azure/), with <family>.rules.yaml
// and <family>.tests.yaml files.
package pack

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/driftwatch/driftwatch/shared/policy"
)

// files holds the rule and test files of every cloud. Add a cloud by
// embedding its directory here and listing it in clouds.
//
//go:embed aws azure
var files embed.FS

// Cloud directories, in the order All returns their rules.
const (
	CloudAWS   = "aws"
	CloudAzure = "azure"
)

var clouds = []string{CloudAWS, CloudAzure}

// FS returns the embedded files: <cloud>/<family>.rules.yaml and
// <cloud>/<family>.tests.yaml.
func FS() fs.FS { return files }

// Rules returns the built-in rules of one cloud directory.
func Rules(cloud string) ([]policy.Rule, error) {
	rules, err := policy.LoadFS(files, cloud+"/*"+policy.RuleFileSuffix)
	if err != nil {
		return nil, fmt.Errorf("load built-in %s rules: %w", cloud, err)
	}
	return rules, nil
}

// Tests returns the built-in rule tests of one cloud directory.
func Tests(cloud string) ([]policy.TestFile, error) {
	tests, err := policy.LoadTestsFS(files, cloud+"/*"+policy.TestFileSuffix)
	if err != nil {
		return nil, fmt.Errorf("load built-in %s rule tests: %w", cloud, err)
	}
	return tests, nil
}

// AWS returns the built-in AWS rules.
func AWS() ([]policy.Rule, error) { return Rules(CloudAWS) }

// AWSTests returns the tests of the built-in AWS rules.
func AWSTests() ([]policy.TestFile, error) { return Tests(CloudAWS) }

// Azure returns the built-in Azure rules.
func Azure() ([]policy.Rule, error) { return Rules(CloudAzure) }

// AzureTests returns the tests of the built-in Azure rules.
func AzureTests() ([]policy.TestFile, error) { return Tests(CloudAzure) }

// All returns the built-in rules of every cloud.
func All() ([]policy.Rule, error) {
	var all []policy.Rule
	var errs []error
	for _, c := range clouds {
		rules, err := Rules(c)
		if err != nil {
			errs = append(errs, err)
		}
		all = append(all, rules...)
	}
	return all, errors.Join(errs...)
}

// AllTests returns the tests of the built-in rules of every cloud.
func AllTests() ([]policy.TestFile, error) {
	var all []policy.TestFile
	var errs []error
	for _, c := range clouds {
		tests, err := Tests(c)
		if err != nil {
			errs = append(errs, err)
		}
		all = append(all, tests...)
	}
	return all, errors.Join(errs...)
}

// Engine compiles every built-in rule with the given options.
func Engine(opts ...policy.Option) (*policy.Engine, error) {
	rules, err := All()
	if err != nil {
		return nil, err
	}
	e, err := policy.Compile(rules, opts...)
	if err != nil {
		return nil, fmt.Errorf("compile built-in rules: %w", err)
	}
	return e, nil
}
