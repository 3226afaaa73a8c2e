package migrate

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestLoadSealsGuests loads an extract with a keyring, in both presort
// modes and with DynamoDB batch mode and import files: no store or import
// file holds a plain e-mail or surname of the extract, the blind indexes
// are those of the plain values, and both stores open back to the rows.
func TestLoadSealsGuests(t *testing.T) {
	t.Parallel()
	for _, presort := range []bool{false, true} {
		name := map[bool]string{false: "file by file", true: "presort"}[presort]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			db, url := testDB(t)
			client, table := testTable(t)
			keys, err := postgres.New(ctx, url, postgres.Options{MaxConns: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(keys.Close)
			kr, _ := testenv.Keyring(t, keys)
			paths := genExtract(t, 1500, 2, false)
			want := expected(t, paths)
			m := New(db, Options{Workers: 2, ChunkRows: 400, Presort: presort, SpillDir: t.TempDir(),
				Dynamo: client, DynamoTable: table, Sealer: kr})
			if _, err := m.Run(ctx, paths); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if _, err := ExportImportFiles(ctx, db, DirDest{Dir: dir}, ExportOptions{}); err != nil {
				t.Fatal(err)
			}
			files := importFilesText(t, dir)

			var secrets []string
			for _, row := range want {
				for _, v := range []string{row[colEmail], row[colSurname], row[colPhone]} {
					if len(v) >= 6 {
						secrets = append(secrets, v)
					}
				}
			}
			if len(secrets) < 500 {
				t.Fatalf("only %d values to search for", len(secrets))
			}
			dump, items := dumpPG(t, db), strings.Join(dumpDynamo(t, client, table), "\n")
			for place, text := range map[string]string{"postgres": dump, "dynamodb": items, "import files": files} {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Fatalf("%s holds a plain value of the extract (%d bytes)", place, len(s))
					}
				}
			}

			pg, err := postgres.New(ctx, url, postgres.Options{MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pg.Close)
			sink := dynamo.New(client, dynamo.Options{Table: table})
			n := 0
			for _, row := range want {
				if n++; n > 40 {
					break
				}
				k := reservation.Key{HotelCode: row[colHotelCode], Confirmation: row[colConfirmation]}
				var emailIndex string
				if err := db.Pool().QueryRow(ctx, `SELECT email_index FROM reservation_guests WHERE hotel_code = $1 AND confirmation = $2`,
					k.HotelCode, k.Confirmation).Scan(&emailIndex); err != nil {
					t.Fatal(err)
				}
				if want := kr.BlindIndex(pii.IndexEmail, row[colEmail]); emailIndex != want {
					t.Fatalf("%s: email_index is not the blind index of the e-mail", k)
				}
				for store, get := range map[string]func() (reservation.Reservation, string, error){
					"postgres": func() (reservation.Reservation, string, error) { return pg.Get(ctx, k) },
					"dynamodb": func() (reservation.Reservation, string, error) { return sink.Get(ctx, k) },
				} {
					r, _, err := get()
					if err != nil {
						t.Fatalf("%s %s: %v", store, k, err)
					}
					g, err := kr.OpenGuests(ctx, r.Guests)
					if err != nil {
						t.Fatalf("%s %s: %v", store, k, err)
					}
					if len(g) != 1 || g[0].Email != row[colEmail] || g[0].Surname != row[colSurname] || g[0].Phone != row[colPhone] || g[0].LoyaltyNumber != row[colLoyaltyNumber] {
						t.Fatalf("%s %s: guest does not open to the row's values", store, k)
					}
				}
				if email := row[colEmail]; email != "" {
					list, err := sink.QueryGuest(ctx, kr.BlindIndex(pii.IndexEmail, email), "", "")
					if err != nil || len(list) == 0 {
						t.Fatalf("%s: the e-mail's blind index finds nothing in DynamoDB (%v)", k, err)
					}
				}
			}
		})
	}
}

// importFilesText returns the decompressed text of every import file in dir.
func importFilesText(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(&buf, zr); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() == 0 {
		t.Fatal("no import files")
	}
	return buf.String()
}
