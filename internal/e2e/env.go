package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// setupTimeout bounds creating or dropping one test's stores.
const setupTimeout = time.Minute

// Stores are one test's isolated stores on the local services. The
// Postgres database, DynamoDB table and Kafka topic are dropped when the
// test ends.
type Stores struct {
	PostgresURL    string   // a fresh database, migrated
	DynamoEndpoint string   // the local DynamoDB
	DynamoTable    string   // a fresh table, created
	Brokers        []string // the local Kafka's seed brokers
	Topic          string   // a unique topic name, created on first produce
	Group          string   // a unique consumer group name
	// Keyring, when set, opens sealed guest fields before the Assert
	// functions compare (stores written with --kek-file).
	Keyring *pii.Keyring

	t       testing.TB
	mu      sync.Mutex
	pg      *postgres.Sink
	dynC    *dynamodb.Client
	dynSink *dynamo.Sink
}

// Env creates isolated, migrated stores for t on the local services.
func Env(t testing.TB) *Stores { return EnvOn(t, Servers{}) }

// Servers are a test's own servers, for tests that kill or freeze one (a
// child dynalite, a child Kafka broker). Empty fields mean the shared
// local service.
type Servers struct {
	DynamoEndpoint string
	Brokers        []string
}

// EnvOn is Env with the DynamoDB and Kafka of srv where set.
func EnvOn(t testing.TB, srv Servers) *Stores {
	t.Helper()
	s := &Stores{
		PostgresURL:    testenv.PostgresSchema(t),
		DynamoEndpoint: srv.DynamoEndpoint,
		DynamoTable:    testenv.UniqueName("e2e"),
		Brokers:        srv.Brokers,
		Topic:          testenv.UniqueName("e2e"),
		Group:          testenv.UniqueName("e2e"),
		t:              t,
	}
	if s.DynamoEndpoint == "" {
		s.DynamoEndpoint = testenv.DynamoEndpoint(t)
	}
	if len(s.Brokers) == 0 {
		s.Brokers = testenv.KafkaBrokers(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if _, err := postgres.MigrateURL(ctx, s.PostgresURL); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	if err := dynamo.EnsureTable(ctx, s.DynamoClient(t), s.DynamoTable); err != nil {
		t.Fatalf("create dynamodb table: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if _, err := s.DynamoClient(t).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(s.DynamoTable)}); err != nil {
			t.Errorf("delete dynamodb table %s: %v", s.DynamoTable, err)
		}
		deleteTopic(ctx, t, s.Brokers, s.Topic)
	})
	return s
}

// Args are the `resingest consume` flags that point a worker at these
// stores: --pg-url, --dynamo-endpoint, --dynamo-table, --brokers, --topic,
// --group.
func (s *Stores) Args() []string {
	return []string{
		"--pg-url", s.PostgresURL,
		"--dynamo-endpoint", s.DynamoEndpoint, "--dynamo-table", s.DynamoTable,
		"--brokers", strings.Join(s.Brokers, ","), "--topic", s.Topic, "--group", s.Group,
	}
}

// Postgres returns a Postgres sink on the test's database (also its
// audit/dead-letter ledger), closed when the test that called Env ends.
// t is the calling test or subtest (setup errors fail it).
func (s *Stores) Postgres(t testing.TB) *postgres.Sink {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pg == nil {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		pg, err := postgres.New(ctx, s.PostgresURL, postgres.Options{MaxConns: 8})
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		s.pg = pg
		s.t.Cleanup(pg.Close)
	}
	return s.pg
}

// DynamoClient returns a client of the local DynamoDB.
func (s *Stores) DynamoClient(t testing.TB) *dynamodb.Client {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dynC == nil {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		c, err := dynamo.NewClient(ctx, s.DynamoEndpoint)
		if err != nil {
			t.Fatalf("dynamodb client: %v", err)
		}
		s.dynC = c
	}
	return s.dynC
}

// Dynamo returns a DynamoDB sink on the test's table, closed when the
// test that called Env ends.
func (s *Stores) Dynamo(t testing.TB) *dynamo.Sink {
	t.Helper()
	c := s.DynamoClient(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dynSink == nil {
		s.dynSink = dynamo.New(c, dynamo.Options{Table: s.DynamoTable})
		s.t.Cleanup(func() { _ = s.dynSink.Close() })
	}
	return s.dynSink
}

// deleteTopic drops a test's topic so the shared broker does not keep
// every test's records in memory. A topic that was never created is fine.
func deleteTopic(ctx context.Context, t testing.TB, brokers []string, topic string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Errorf("kafka client: %v", err)
		return
	}
	defer cl.Close()
	req := kmsg.NewPtrDeleteTopicsRequest()
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.TopicNames = []string{topic}
	req.TimeoutMillis = 10_000
	if _, err := req.RequestWith(ctx, cl); err != nil {
		t.Logf("delete kafka topic %s: %v", topic, err)
	}
}
