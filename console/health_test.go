package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resingest/resingest/console"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks/dynamo"
)

// TestHealthLagAndLeases: the health page shows a consumer group's lag per
// partition, read from the real local Kafka broker (10 records on
// partition 0 of which the group committed 4: lag 6; 3 on partition 1,
// none committed: lag 3), and the Kinesis shard leases of a real lease
// table.
func TestHealthLagAndLeases(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newFixture(t)
	topic, group := testenv.UniqueName("console-lag"), testenv.UniqueName("console-group")
	cl, err := kgo.NewClient(kgo.SeedBrokers(testenv.KafkaBrokers(t)...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	for i := range 13 {
		p := int32(0)
		if i >= 10 {
			p = 1
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: topic, Partition: 0, At: 4, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, group, offs); err != nil {
		t.Fatal(err)
	}

	dc, err := dynamo.NewClient(ctx, testenv.DynamoEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	leases := lease.NewTable(dc, testenv.UniqueName("console-leases"))
	if err := leases.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Create(ctx, lease.Lease{Key: "shardId-000000000007", Checkpoint: "49590338271490256608559692538361571095921575989136588898"}); err != nil {
		t.Fatal(err)
	}

	srv, err := console.New(console.Options{
		Postgres: f.pg, Dynamo: f.dyn, Verifiers: []console.Verifier{f.tokens},
		Lag: console.KafkaLag{Admin: adm, Group: group}, Leases: leases,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	rec := newRecorder(t, srv, f.token(t, console.RoleOps), "/health")
	if rec.code != http.StatusOK {
		t.Fatalf("status %d:\n%s", rec.code, rec.body)
	}
	for _, want := range []string{
		fmt.Sprintf("<tr><td>%s</td><td>0</td><td>4</td><td>10</td><td>6</td></tr>", topic),
		fmt.Sprintf("<tr><td>%s</td><td>1</td><td>-1</td><td>3</td><td>3</td></tr>", topic),
		"<td>shardId-000000000007</td><td>-</td><td><code>49590338271490256608559692538361571095921575989136588898</code></td>",
	} {
		if !strings.Contains(rec.body, want) {
			t.Errorf("the health page lacks %s:\n%s", want, section(rec.body, `id="lag"`))
		}
	}
}

type recorded struct {
	code int
	body string
}

func newRecorder(t *testing.T, h http.Handler, token, path string) recorded {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://console.test"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	w := &responseRecorder{header: http.Header{}}
	h.ServeHTTP(w, req)
	return recorded{code: w.code, body: w.body.String()}
}

type responseRecorder struct {
	header http.Header
	code   int
	body   strings.Builder
}

func (r *responseRecorder) Header() http.Header { return r.header }
func (r *responseRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *responseRecorder) WriteHeader(code int) { r.code = code }

// section is the part of a page from marker on (for failure messages).
func section(body, marker string) string {
	if i := strings.Index(body, marker); i >= 0 {
		return body[i:min(len(body), i+3000)]
	}
	return body
}
