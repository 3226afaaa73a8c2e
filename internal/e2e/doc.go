// Package e2e is the harness of the end-to-end tests: it builds the
// resingest binary, gives each test isolated stores on the local services
// (a fresh Postgres database, a DynamoDB table, a Kafka topic and group),
// writes generated corpora with poison messages mixed in, computes the
// expected final state independently of the pipeline (with `resingest
// parse`), produces to Kafka, runs worker processes, and checks what the
// stores, the audit trail and the dead letters hold afterwards.
//
// It is a normal package (not a _test file) so that the tests of several
// packages share it; only tests import it. It does not import pipeline, so
// that both internal and external test packages of pipeline can use it.
//
// Typical use:
//
//	func TestMain(m *testing.M) { e2e.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		env := e2e.Env(t)                                // isolated stores, migrated
//		c := e2e.WriteCorpus(t, t.TempDir(), 1000, 7, 5) // 1000 good + 5 poison files
//		want := c.Expected(t)                           // newest version per key
//		e2e.Produce(t, env.Brokers, env.Topic, c.Files, true)
//		p := e2e.Start(t, nil, append([]string{"consume", "--exit-when-idle", "3s"}, env.Args()...)...)
//		if err := p.Wait(time.Minute); err != nil { t.Fatal(err) }
//		e2e.AssertStores(t, env, want)
//		e2e.AssertAudit(t, env, c)
//	}
//
// Every function takes the test's testing.TB and fails it (t.Fatal) on
// setup errors; assertions report with t.Errorf and go on. Functions are
// safe for use by parallel tests; a *Stores and a *Process belong to one
// test.
package e2e
