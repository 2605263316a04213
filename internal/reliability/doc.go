// Package reliability holds the reliability harness, which is all tests:
// the detector's Lambda handler (shared/lambdahandler) fed by a real SQS
// queue with a redrive policy and a dead-letter queue in moto, reading real
// security groups changed in moto, keeping findings in a DynamoDB table in
// moto and announcing them to a fake Slack and a fake Jira, with a
// fault-injecting proxy (internal/faultproxy) in front of moto, Slack and
// Jira. A poller plays Lambda's SQS event source mapping: it receives
// batches, invokes the handler with the JSON Lambda sends, within a function
// timeout, and deletes the messages the handler did not report as failed.
//
// The tests check that under faults every event either completes or lands
// in the dead-letter queue with its reason, that `driftwatch dlq redrive`
// brings those back, and that in the end no event is lost and no alert or
// ticket is duplicated; that duplicated and reordered deliveries to
// concurrent handlers give one alert per finding; and that in a partly
// failed batch only the failed messages return to the queue.
//
// Each test logs its seed; DRIFTWATCH_SEED=N runs it with that seed (the
// faults, the order of deliveries and the principals are drawn from it;
// moto's resource IDs and the event IDs are random, so a rerun is alike,
// not identical). DRIFTWATCH_HARNESS_LOG=1 shows the handler's log.
package reliability
