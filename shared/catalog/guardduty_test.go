package catalog

import (
	"testing"

	"github.com/driftwatch/driftwatch/shared/resource"
)

func TestGuardDutyEntries(t *testing.T) {
	const src = `"eventSource":"guardduty.amazonaws.com"`
	runAuditCases(t, []auditCase{
		{
			name: "DeleteDetector",
			rec: `{` + src + `,"eventName":"DeleteDetector","awsRegion":"us-east-1","recipientAccountId":"000000000",
				"requestParameters":{"detectorId":"82c919daa523bc69d203c24868c06849"},"responseElements":null}`,
			want: []resource.Ref{{Type: guarddutyDetector, ID: "arn:aws:guardduty:us-east-1:000000000:detector/82c919daa523bc69d203c24868c06849"}},
		},
		{
			name: "UpdateDetector disabling it",
			rec: `{` + src + `,"eventName":"UpdateDetector","awsRegion":"ap-southeast-2","recipientAccountId":"123456789012",
				"requestParameters":{"detectorId":"12abc34d567e8f4912ab3d45e67891f2","enable":false},"responseElements":null}`,
			want: []resource.Ref{{Type: guarddutyDetector, ID: "arn:aws:guardduty:ap-southeast-2:123456789012:detector/12abc34d567e8f4912ab3d45e67891f2"}},
		},
		{
			name: "CreateDetector takes the new ID from the response",
			rec: `{` + src + `,"eventName":"CreateDetector","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":{"enable":true,"findingPublishingFrequency":"SIX_HOURS"},
				"responseElements":{"detectorId":"5ab1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"}}`,
			want: []resource.Ref{{Type: guarddutyDetector, ID: "arn:aws:guardduty:us-east-1:123456789012:detector/5ab1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"}},
		},
		{
			name: "UpdateDetector with a redacted ID (StreamAlert sample)",
			rec: `{` + src + `,"eventName":"UpdateDetector","awsRegion":"us-east-1","recipientAccountId":"123456789123",
				"requestParameters":{"detectorId":"...","enable":false},"responseElements":null}`,
			noID: true,
		},
		{
			name: "CreateDetector with no response (failed or truncated)",
			rec: `{` + src + `,"eventName":"CreateDetector","awsRegion":"us-east-1","recipientAccountId":"123456789012",
				"requestParameters":{"enable":true},"responseElements":null}`,
			noID: true,
		},
	})
}
