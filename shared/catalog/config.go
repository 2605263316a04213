package catalog

import (
	"fmt"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// configRecorder is the CloudFormation type of an AWS Config configuration
// recorder.
const configRecorder = "AWS::Config::ConfigurationRecorder"

// configEntries are the watched AWS Config operations: the changes that stop
// or remove a region's configuration recorder, narrow what it records, and
// the ones that restore it.
//
// A recorder is named, one per region (usually "default"); its driftwatch ID
// is arn:{p}:config:{r}:{a}:configuration-recorder/{name}. (AWS Config also
// gives recorders an ARN with a random suffix, but no event carries it.)
func configEntries() []Entry {
	const svc = "config.amazonaws.com"
	byName := configRecorderARNs("requestParameters.configurationRecorderName")
	row := func(op string, resolve func(*change.Change) ([]string, error), note string) Entry {
		return Entry{Service: svc, Operation: op, Targets: []Target{{Type: configRecorder, Resolve: resolve}}, Note: note}
	}
	return []Entry{
		row("PutConfigurationRecorder", configRecorderARNs("requestParameters.configurationRecorder.name"),
			"requestParameters.configurationRecorder.name"),
		row("StopConfigurationRecorder", byName, "requestParameters.configurationRecorderName"),
		row("StartConfigurationRecorder", byName, "requestParameters.configurationRecorderName"),
		row("DeleteConfigurationRecorder", byName, "requestParameters.configurationRecorderName"),
	}
}

// configRecorderARNs resolves the recorder named at the first non-empty path.
func configRecorderARNs(paths ...string) func(*change.Change) ([]string, error) {
	return func(c *change.Change) ([]string, error) {
		name := Field(c, paths...)
		if name == "" {
			return nil, fmt.Errorf("configuration recorder name at %s: %w", strings.Join(paths, " or "), ErrNoID)
		}
		return []string{ARN(c, "config", c.Region, c.Account, "configuration-recorder/"+name)}, nil
	}
}
