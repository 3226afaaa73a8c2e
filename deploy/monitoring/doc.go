// Package monitoring holds only the tests of deploy/prometheus (the alert
// rules and their promtool unit tests) and deploy/grafana (the dashboard),
// so that `go test ./...` (make test) runs them: `promtool check rules` and
// `promtool test rules` on the alerts, a check that every metric the alerts
// and the dashboard query is registered in the module's Go source, and the
// dashboard's structure. It has no code of its own.
package monitoring
