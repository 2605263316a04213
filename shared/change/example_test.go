package change_test

import (
	"errors"
	"fmt"

	"github.com/driftwatch/driftwatch/shared/change"
)

// Decode reads whatever a CloudTrail pipeline hands over (here a JSON Lines
// stream with a raw record, an EventBridge event and an event of another
// kind) and reports bad items without stopping.
func ExampleDecode() {
	input := []byte(`{"eventVersion":"1.09","eventTime":"2024-08-01T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"eu-west-1","recipientAccountId":"111122223333","readOnly":false,"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/deployer/ci","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/deployer","userName":"deployer"}}},"requestParameters":{"bucketName":"reports"}}
{"detail-type":"AWS API Call via CloudTrail","account":"111122223333","region":"us-east-1","detail":{"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","userIdentity":{"type":"Root","accountId":"111122223333"}}}
{"detail-type":"EC2 Instance State-change Notification","detail":{"state":"pending"}}
`)
	changes, errs := change.Decode("events.jsonl", input)
	for _, c := range changes {
		fmt.Printf("%s %s in %s/%s by %s (%s) read-only=%v\n",
			c.Service, c.Operation, c.Account, c.Region, c.Principal.Name, c.Principal.ARN, c.ReadOnly)
	}
	fmt.Println("bucket:", change.String(changes[0].Request(), "bucketName"))
	for _, err := range errs {
		fmt.Println(err, errors.Is(err, change.ErrNotCloudTrail))
	}
	// Output:
	// s3.amazonaws.com PutBucketPolicy in 111122223333/eu-west-1 by deployer (arn:aws:sts::111122223333:assumed-role/deployer/ci) read-only=false
	// ec2.amazonaws.com DescribeInstances in 111122223333/us-east-1 by root (arn:aws:iam::111122223333:root) read-only=true
	// bucket: reports
	// events.jsonl: offset 689 (item 2): expected a CloudTrail record or an EventBridge "AWS API Call via CloudTrail" event, found an EventBridge "EC2 Instance State-change Notification" event true
}
