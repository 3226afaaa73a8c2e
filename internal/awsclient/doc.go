// Package awsclient holds what every AWS service client of resingest shares:
// the configuration (default credential chain, an optional local endpoint,
// a transport-only retryer) and the classification of transport-level
// failures as transient. Service packages (sinks/dynamo, sinks/archive, the
// Kinesis source) add their own error codes on top.
package awsclient
