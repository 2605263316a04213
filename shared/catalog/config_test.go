package catalog

import (
	"testing"

	"github.com/driftwatch/driftwatch/shared/resource"
)

func TestConfigEntries(t *testing.T) {
	const src = `"eventSource":"config.amazonaws.com"`
	runAuditCases(t, []auditCase{
		{
			name: "StopConfigurationRecorder default",
			rec: `{` + src + `,"eventName":"StopConfigurationRecorder","awsRegion":"us-east-1","recipientAccountId":"1010101010101",
				"requestParameters":{"configurationRecorderName":"default"},"responseElements":null}`,
			want: []resource.Ref{{Type: configRecorder, ID: "arn:aws:config:us-east-1:1010101010101:configuration-recorder/default"}},
		},
		{
			name: "StartConfigurationRecorder",
			rec: `{` + src + `,"eventName":"StartConfigurationRecorder","awsRegion":"eu-west-3","recipientAccountId":"123456789012",
				"requestParameters":{"configurationRecorderName":"main"},"responseElements":null}`,
			want: []resource.Ref{{Type: configRecorder, ID: "arn:aws:config:eu-west-3:123456789012:configuration-recorder/main"}},
		},
		{
			name: "DeleteConfigurationRecorder",
			rec: `{` + src + `,"eventName":"DeleteConfigurationRecorder","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":{"configurationRecorderName":"default"},"responseElements":null}`,
			want: []resource.Ref{{Type: configRecorder, ID: "arn:aws:config:us-east-1:123456789012:configuration-recorder/default"}},
		},
		{
			name: "PutConfigurationRecorder names the recorder in its body",
			rec: `{` + src + `,"eventName":"PutConfigurationRecorder","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":{"configurationRecorder":{"name":"default","roleARN":"arn:aws:iam::123456789012:role/config",
				"recordingGroup":{"allSupported":false,"includeGlobalResourceTypes":false,"resourceTypes":["AWS::EC2::Instance"]}}},
				"responseElements":null}`,
			want: []resource.Ref{{Type: configRecorder, ID: "arn:aws:config:us-east-1:123456789012:configuration-recorder/default"}},
		},
		{
			name: "StopConfigurationRecorder without a name",
			rec: `{` + src + `,"eventName":"StopConfigurationRecorder","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":null,"responseElements":null}`,
			noID: true,
		},
	})
}
