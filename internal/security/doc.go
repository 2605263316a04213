// Package security holds driftwatch's cross-cutting security tests, which
// run the real pipeline (built from a config, against moto and fake Slack,
// Jira and GitHub servers) and its request handlers:
//
//   - secrets never reach a log: a full run with known token values, its
//     failures included, logs at debug level from every component, and
//     neither the values nor their encodings appear;
//   - the Slack actions endpoint and the Event Grid endpoints refuse
//     unsigned, stale and replayed requests and process nothing for them;
//   - every value a CloudTrail record carries arrives inert in the Slack
//     message, the Jira issue and the GitHub issue (golden files of a
//     hostile record).
//
// The package has no code of its own beyond this comment: it is tests.
package security
