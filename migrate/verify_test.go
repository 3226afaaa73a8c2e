package migrate

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/sinks/postgres"
)

// TestVerify loads an extract into both stores, then injects one
// difference at a time and checks that verify names exactly the hotel it
// touched (and nothing on a clean load).
func TestVerify(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	paths := genExtract(t, 2000, 2, false)
	want := expected(t, paths)
	appendBadLines(t, paths[0])
	var some []string // one key as hotel, confirmation
	for _, row := range want {
		some = []string{row[1], row[0]}
		break
	}

	for _, tc := range []struct {
		name   string
		inject func(t *testing.T, db *postgres.Sink, ct *clientTable)
		hotel  string // the differing hotel; "" for none
	}{
		{"clean", func(*testing.T, *postgres.Sink, *clientTable) {}, ""},
		{"postgres newer version", func(t *testing.T, db *postgres.Sink, _ *clientTable) {
			if _, err := db.Pool().Exec(ctx, `UPDATE reservations SET version = '9' || substr(version, 2)
				WHERE hotel_code = $1 AND confirmation = $2`, some[0], some[1]); err != nil {
				t.Fatal(err)
			}
		}, some[0]},
		{"postgres row missing", func(t *testing.T, db *postgres.Sink, _ *clientTable) {
			if _, err := db.Pool().Exec(ctx, `DELETE FROM reservations WHERE hotel_code = $1 AND confirmation = $2`, some[0], some[1]); err != nil {
				t.Fatal(err)
			}
		}, some[0]},
		{"dynamodb item missing", func(t *testing.T, _ *postgres.Sink, ct *clientTable) {
			if _, err := ct.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(ct.table),
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "HOTEL#" + some[0]},
					"sk": &types.AttributeValueMemberS{Value: "RES#" + some[1]},
				}}); err != nil {
				t.Fatal(err)
			}
		}, some[0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := testDB(t)
			ct := newClientTable(t)
			if _, err := New(db, Options{Workers: 2, ChunkRows: 300, Dynamo: ct.client, DynamoTable: ct.table}).Run(ctx, paths); err != nil {
				t.Fatal(err)
			}
			tc.inject(t, db, ct)
			rep, err := Verify(ctx, db, localSources(t, paths), VerifyOptions{Dynamo: ct.client, DynamoTable: ct.table})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := rep.Write(&out); err != nil {
				t.Fatal(err)
			}
			if rep.Source.Count != int64(len(want)) || rep.Rejects != 2 {
				t.Errorf("source: %d keys, %d rejects; want %d, 2\n%s", rep.Source.Count, rep.Rejects, len(want), out.String())
			}
			switch {
			case tc.hotel == "" && (!rep.OK() || !strings.Contains(out.String(), "no differences")):
				t.Errorf("clean load reported differences:\n%s", out.String())
			case tc.hotel != "" && (len(rep.Diffs) != 1 || rep.Diffs[0].Hotel != tc.hotel ||
				!strings.Contains(out.String(), "hotel "+tc.hotel+" differs")):
				t.Errorf("want exactly hotel %s reported:\n%s", tc.hotel, out.String())
			}
		})
	}
}

// TestVerifyPostgresOnly compares without DynamoDB.
func TestVerifyPostgresOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testDB(t)
	paths := genExtract(t, 500, 1, true)
	if _, err := New(db, Options{}).Run(ctx, paths); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(ctx, db, localSources(t, paths), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Postgres != rep.Source || rep.Source.Count == 0 {
		t.Errorf("report %+v, want equal non-empty sums", rep)
	}
}

func localSources(t *testing.T, paths []string) []Source {
	t.Helper()
	srcs, err := LocalSources(paths)
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}
