// Package state is the home of the finding stores: the implementations of
// finding.Store, which the lifecycle in shared/finding declares.
//
//   - shared/state/sqlite: one SQLite file (modernc.org/sqlite, pure Go), the
//     local default for the CLI and the demo.
//   - shared/state/dynamo: one DynamoDB table, for the AWS functions.
//   - shared/state/table: one Azure Table Storage table (ETag-conditional
//     writes), for the Azure function; tested against Azurite.
//   - shared/state/statetest: the conformance suite every store passes.
//
// The stores know nothing of the lifecycle's rules. They offer the
// conditional writes it builds on (insert if absent, update if the version
// matches, mark an event ID if not marked) and keep the finding as a JSON
// document beside a few columns or attributes for lookups. docs/findings.md
// describes the SQLite and DynamoDB schemas; shared/state/table's package
// comment describes the table layout.
package state
