package postgres

import (
	"bytes"
	"testing"
	"time"
)

// TestCopyBufRoundTrip writes values with copyBuf through a real binary
// COPY and reads them back as text: each must read as PostgreSQL's own
// text input of the same value does (numeric's display scale included).
func TestCopyBufRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `CREATE TEMPORARY TABLE enc (i int, n numeric, d date, ts timestamptz, s text, b boolean, x int4, j jsonb)`); err != nil {
		t.Fatal(err)
	}
	amounts := []string{"0", "0.00", "-0.5", "00012.3400", "10000", "9999", "99999999.99999",
		"1", "-1", "0.0001", "0.00001", "100000000", "12345678.9", "816340.00", "-123456789012345678901234567890.123456789", ""}
	dates := []time.Time{
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC),
	}
	times := []time.Time{
		time.Date(2012, 3, 9, 19, 31, 52, 123456000, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(2500, 6, 1, 12, 0, 0, 0, time.UTC),
		time.Date(1600, 6, 1, 12, 0, 0, 1000, time.UTC),
	}
	docs := []string{`[]`, `[{"code":"CRIB","name":"","text":"Crib in room"}]`,
		`[{"code":"é\"\\","name":"x","text":"a\nb\u2028"},{"code":"","name":"","text":""}]`}
	var c copyBuf
	c.reset()
	for i, a := range amounts {
		c.row(8)
		c.int4(int32(i))
		if err := c.numeric(a); err != nil {
			t.Fatalf("numeric(%q): %v", a, err)
		}
		c.date(dates[i%len(dates)])
		c.timestamptz(times[i%len(times)])
		c.text("é\x01'\"\\,\n")
		c.boolean(i%2 == 0)
		c.null()
		c.jsonb(docs[i%len(docs)])
	}
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(c.finish()), `COPY enc FROM STDIN (FORMAT binary)`); err != nil {
		t.Fatalf("copy: %v", err)
	}
	for i, a := range amounts {
		t.Run(a, func(t *testing.T) {
			var got, want, d, ts, s, j, wj string
			var b bool
			var x *int32
			err := conn.QueryRow(ctx, `SELECT coalesce(n::text, 'NULL'), coalesce(NULLIF($2, '')::numeric::text, 'NULL'),
				d::text, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), s, b, x,
				j::text, $3::jsonb::text FROM enc WHERE i = $1`, i, a, docs[i%len(docs)]).
				Scan(&got, &want, &d, &ts, &s, &b, &x, &j, &wj)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("numeric %q reads back %s, want %s", a, got, want)
			}
			if wd := dates[i%len(dates)].Format(time.DateOnly); d != wd {
				t.Errorf("date %s reads back %s", wd, d)
			}
			if wt := times[i%len(times)].Format("2006-01-02T15:04:05.000000"); ts != wt {
				t.Errorf("timestamptz %s reads back %s", wt, ts)
			}
			if j != wj {
				t.Errorf("jsonb %s reads back %s, want %s", docs[i%len(docs)], j, wj)
			}
			if s != "é\x01'\"\\,\n" || b != (i%2 == 0) || x != nil {
				t.Errorf("text/bool/null read back %q %v %v", s, b, x)
			}
		})
	}
}

// TestCopyBufRejectsNonDecimal: the encoder refuses what the backfill's
// parser (migrate's parseRow) would never let through, rather than writing a wrong number.
func TestCopyBufRejectsNonDecimal(t *testing.T) {
	for _, s := range []string{"1e5", "abc", ".5", "1.2.3", "-"} {
		var c copyBuf
		if err := c.numeric(s); err == nil {
			t.Errorf("numeric(%q) accepted", s)
		}
	}
}
