package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// The denser layout issue 16 asks to evaluate: one row per reservation,
// its room stays, guests and ids as JSONB in the row, and one GIN index
// over the values the API looks guests and itineraries up by (blind
// indexes, e-mail, loyalty and id values) instead of three child tables
// with seven indexes. Analysts would read relational views over it
// (denseViewsDDL). It is a prototype for BenchmarkDenseLayout, not a
// schema resingest uses.
const denseDDL = `
CREATE TABLE reservations_dense (
    hotel_code       text        COLLATE "C" NOT NULL,
    confirmation     text        COLLATE "C" NOT NULL,
    chain_code       text        NOT NULL DEFAULT '',
    status           text        NOT NULL DEFAULT '',
    action           text        NOT NULL,
    message_type     text        NOT NULL DEFAULT '',
    message_id       text        NOT NULL DEFAULT '',
    message_time     timestamptz,
    created_at       timestamptz,
    modified_at      timestamptz,
    arrival          date,
    departure        date,
    adults           integer     NOT NULL DEFAULT 0,
    children         integer     NOT NULL DEFAULT 0,
    total_after_tax  numeric,
    total_before_tax numeric,
    currency         text        NOT NULL DEFAULT '',
    card_code        text        NOT NULL DEFAULT '',
    card_last4       text        NOT NULL DEFAULT '',
    card_expire      text        NOT NULL DEFAULT '',
    archive_key      text        NOT NULL DEFAULT '',
    version          text        COLLATE "C" NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now(),
    room_stays       jsonb       NOT NULL,
    guests           jsonb       NOT NULL,
    external_ids     jsonb       NOT NULL,
    lookup_keys      text[]      NOT NULL,
    PRIMARY KEY (hotel_code, confirmation)
);
CREATE INDEX reservations_dense_hotel_arrival_idx ON reservations_dense (hotel_code, arrival);
CREATE INDEX reservations_dense_confirmation_idx ON reservations_dense (confirmation);
CREATE INDEX reservations_dense_lookup_idx ON reservations_dense USING gin (lookup_keys);
CREATE VIEW dense_room_stays AS
    SELECT d.hotel_code, d.confirmation, s.ordinality - 1 AS ordinal, s.value ->> 'room_type' AS room_type,
        s.value ->> 'rate_plan' AS rate_plan, NULLIF(s.value ->> 'arrival', '')::date AS arrival,
        NULLIF(s.value ->> 'departure', '')::date AS departure, (s.value ->> 'adults')::int AS adults,
        NULLIF(s.value ->> 'total_after_tax', '')::numeric AS total_after_tax, s.value ->> 'currency' AS currency
    FROM reservations_dense d, jsonb_array_elements(d.room_stays) WITH ORDINALITY s`

const denseWriteSQL = `
INSERT INTO reservations_dense AS r (hotel_code, confirmation, chain_code, status, action,
	message_type, message_id, message_time, created_at, modified_at, arrival, departure,
	adults, children, total_after_tax, total_before_tax, currency,
	card_code, card_last4, card_expire, archive_key, version, stored_at,
	room_stays, guests, external_ids, lookup_keys)
SELECT hotel_code, confirmation, chain_code, status, action,
	message_type, message_id, message_time, created_at, modified_at, arrival, departure,
	adults, children, NULLIF(total_after_tax, '')::numeric, NULLIF(total_before_tax, '')::numeric, currency,
	card_code, card_last4, card_expire, archive_key, version, now(),
	room_stays, guests, external_ids, string_to_array(lookup_keys, chr(31))
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
	$6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::date[], $12::date[],
	$13::int4[], $14::int4[], $15::text[], $16::text[], $17::text[],
	$18::text[], $19::text[], $20::text[], $21::text[], $22::text[],
	$23::jsonb[], $24::jsonb[], $25::jsonb[], $26::text[])
	AS t(hotel_code, confirmation, chain_code, status, action,
	message_type, message_id, message_time, created_at, modified_at, arrival, departure,
	adults, children, total_after_tax, total_before_tax, currency,
	card_code, card_last4, card_expire, archive_key, version,
	room_stays, guests, external_ids, lookup_keys)
ORDER BY hotel_code, confirmation
ON CONFLICT (hotel_code, confirmation) DO UPDATE SET
	chain_code = EXCLUDED.chain_code, status = EXCLUDED.status, action = EXCLUDED.action,
	message_type = EXCLUDED.message_type, message_id = EXCLUDED.message_id,
	message_time = EXCLUDED.message_time, created_at = EXCLUDED.created_at,
	modified_at = EXCLUDED.modified_at, arrival = EXCLUDED.arrival, departure = EXCLUDED.departure,
	adults = EXCLUDED.adults, children = EXCLUDED.children,
	total_after_tax = EXCLUDED.total_after_tax, total_before_tax = EXCLUDED.total_before_tax,
	currency = EXCLUDED.currency, card_code = EXCLUDED.card_code, card_last4 = EXCLUDED.card_last4,
	card_expire = EXCLUDED.card_expire, archive_key = EXCLUDED.archive_key, version = EXCLUDED.version,
	stored_at = now(), room_stays = EXCLUDED.room_stays, guests = EXCLUDED.guests,
	external_ids = EXCLUDED.external_ids, lookup_keys = EXCLUDED.lookup_keys
WHERE r.version < EXCLUDED.version`

// denseArgs are denseWriteSQL's parameters for recs.
func denseArgs(t testing.TB, recs []sinks.Record) []any {
	n := len(recs)
	cols := make([][]string, 22)
	for i := range cols {
		cols[i] = make([]string, 0, n)
	}
	times := [3][]*time.Time{}
	dates := [2][]*time.Time{}
	ints := [2][]int32{}
	var stays, guests, ids []string
	var lookups []string
	ts := func(s string) *time.Time {
		if s == "" {
			return nil
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	day := func(s string) *time.Time {
		if s == "" {
			return nil
		}
		v, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for i := range recs {
		r := &recs[i].Reservation
		for k, v := range []string{r.HotelCode, r.Confirmation, r.ChainCode, r.Status, string(r.Action), r.MessageType, r.MessageID} {
			cols[k] = append(cols[k], v)
		}
		times[0] = append(times[0], ts(r.MessageTime))
		times[1] = append(times[1], ts(r.CreatedAt))
		times[2] = append(times[2], ts(r.ModifiedAt))
		dates[0] = append(dates[0], day(r.Arrival))
		dates[1] = append(dates[1], day(r.Departure))
		ints[0] = append(ints[0], int32(r.Adults))
		ints[1] = append(ints[1], int32(r.Children))
		for k, v := range []string{r.TotalAfterTax, r.TotalBeforeTax, r.Currency, r.Payment.CardCode, r.Payment.Last4,
			r.Payment.Expire, recs[i].ArchiveKey, recs[i].Version.String()} {
			cols[7+k] = append(cols[7+k], v)
		}
		stays, guests, ids = append(stays, js(r.RoomStays)), append(guests, js(r.Guests)), append(ids, js(r.ExternalIDs))
		var keys []string
		for _, g := range r.Guests {
			if g.Email != "" {
				keys = append(keys, "m:"+strings.ToLower(g.Email))
			}
			if g.LoyaltyNumber != "" {
				keys = append(keys, "n:"+g.LoyaltyNumber)
			}
		}
		for _, x := range r.ExternalIDs {
			if x.Value != "" {
				keys = append(keys, "i:"+x.Value)
			}
		}
		lookups = append(lookups, strings.Join(keys, "\x1f"))
	}
	return []any{cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6],
		times[0], times[1], times[2], dates[0], dates[1], ints[0], ints[1],
		cols[7], cols[8], cols[9], cols[10], cols[11], cols[12], cols[13], cols[14],
		stays, guests, ids, lookups}
}

// BenchmarkDenseLayout writes the same full records (3 room stays, 2
// guests, 3 ids), 500 a batch, through today's Sink.Write (four tables,
// eleven indexes) and through the dense prototype (one row, four indexes),
// alternating, over one connection each, as new keys and then as newer
// versions of them, and reports the server CPU each backend spent per
// 1,000 records (from /proc) and the ratios. It also times a guest lookup
// by e-mail, an itinerary lookup and an analyst's aggregate over the room
// stays in both layouts.
func BenchmarkDenseLayout(b *testing.B) {
	ctx := testContext(b)
	_, url := newTestSink(b)
	cfg, err := ParsePoolConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 1
	s, err := New(ctx, url, Options{MaxConns: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	dense, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer dense.Close()
	if _, err := dense.Exec(ctx, denseDDL); err != nil {
		b.Fatal(err)
	}
	pidOf := func(p *pgxpool.Pool) int {
		var pid int
		if err := p.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			b.Fatal(err)
		}
		return pid
	}
	sinkPID, densePID := pidOf(s.pool), pidOf(dense)
	const batches = 20
	used := map[string]time.Duration{}
	records := 0
	for n := range b.N {
		for _, phase := range []struct {
			name    string
			version int
		}{{"insert", 0}, {"update", 1}} {
			for i := 0; i < batches; i++ {
				recs := make([]sinks.Record, benchBatch)
				for j := range recs {
					recs[j] = fullRecord(b, fmt.Sprintf("H%03d", j%100), fmt.Sprintf("D-%d-%d-%d", n, i, j), at(phase.version), "1")
				}
				before := backendCPU(b, sinkPID)
				res, err := s.Write(ctx, recs)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if r.Outcome != sinks.Stored {
						b.Fatalf("today's write: %s", r.Outcome)
					}
				}
				used["today-"+phase.name] += backendCPU(b, sinkPID) - before
				args := denseArgs(b, recs)
				before = backendCPU(b, densePID)
				tag, err := dense.Exec(ctx, denseWriteSQL, args...)
				if err != nil {
					b.Fatal(err)
				}
				if tag.RowsAffected() != benchBatch {
					b.Fatalf("dense write affected %d rows", tag.RowsAffected())
				}
				used["dense-"+phase.name] += backendCPU(b, densePID) - before
			}
		}
		records += batches * benchBatch
	}
	for _, phase := range []string{"insert", "update"} {
		today := used["today-"+phase].Seconds() / float64(records) * 1000
		dn := used["dense-"+phase].Seconds() / float64(records) * 1000
		b.ReportMetric(today, "today-"+phase+"-cpu-s/1000recs")
		b.ReportMetric(dn, "dense-"+phase+"-cpu-s/1000recs")
		b.ReportMetric(dn/today, "dense/today-"+phase)
	}
	// As autovacuum would: dead row versions of the updates gone, the GIN
	// index's pending list merged, statistics for the planner.
	if _, err := dense.Exec(ctx, `VACUUM ANALYZE reservations, reservation_room_stays, reservation_guests,
		reservation_external_ids, reservations_dense`); err != nil {
		b.Fatal(err)
	}
	reportSizes(b, ctx, dense)
	// Reads: the same answers from both layouts, timed.
	for _, q := range []struct{ name, today, dense string }{
		{"guest-by-email",
			`SELECT r.hotel_code, r.confirmation FROM reservation_guests g JOIN reservations r USING (hotel_code, confirmation)
			 WHERE lower(g.email) = 'ann@example.com' AND g.hotel_code = 'H007' AND g.email <> '' ORDER BY 1, 2`,
			`SELECT hotel_code, confirmation FROM reservations_dense
			 WHERE lookup_keys @> ARRAY['m:ann@example.com'] AND hotel_code = 'H007' ORDER BY 1, 2`},
		{"itinerary", `SELECT hotel_code, confirmation FROM reservation_external_ids WHERE id_value = 'ITIN-D-0-3-7' AND id_value <> ''`,
			`SELECT hotel_code, confirmation FROM reservations_dense WHERE lookup_keys @> ARRAY['i:ITIN-D-0-3-7']`},
		{"analyst-room-nights",
			`SELECT room_type, sum(departure - arrival) FROM reservation_room_stays GROUP BY 1 ORDER BY 1`,
			`SELECT room_type, sum(departure - arrival) FROM dense_room_stays GROUP BY 1 ORDER BY 1`},
	} {
		var answers [2]string
		for k, sql := range []string{q.today, q.dense} {
			start := time.Now()
			const reps = 20
			for range reps {
				rows, err := dense.Query(ctx, sql)
				if err != nil {
					b.Fatalf("%s: %v", q.name, err)
				}
				var out []string
				for rows.Next() {
					vals, err := rows.Values()
					if err != nil {
						b.Fatal(err)
					}
					out = append(out, fmt.Sprint(vals))
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				answers[k] = strings.Join(out, ";")
			}
			unit := []string{"today", "dense"}[k]
			b.ReportMetric(float64(time.Since(start).Microseconds())/reps/1000, unit+"-"+q.name+"-ms")
		}
		if answers[0] != answers[1] || answers[0] == "" {
			b.Errorf("%s: the layouts answer differently:\n today %.300s\n dense %.300s", q.name, answers[0], answers[1])
		}
	}
	var keys []reservation.Key // 1,000 of the first round's reservations
	for i := range batches {
		for j := 0; j < benchBatch; j += benchBatch / 50 {
			keys = append(keys, reservation.Key{HotelCode: fmt.Sprintf("H%03d", j%100), Confirmation: fmt.Sprintf("D-0-%d-%d", i, j)})
		}
	}
	reportKeyReads(b, ctx, s, dense, keys)
}

// reportSizes reports both layouts' bytes on disk per reservation.
func reportSizes(b *testing.B, ctx context.Context, p *pgxpool.Pool) {
	var today, dense, n float64
	err := p.QueryRow(ctx, `SELECT
		pg_total_relation_size('reservations') + pg_total_relation_size('reservation_room_stays')
		+ pg_total_relation_size('reservation_guests') + pg_total_relation_size('reservation_external_ids'),
		pg_total_relation_size('reservations_dense'), (SELECT count(*) FROM reservations_dense)`).Scan(&today, &dense, &n)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(today/n, "today-bytes/res")
	b.ReportMetric(dense/n, "dense-bytes/res")
}

// denseGetSQL reads one reservation of the dense prototype as Get reads
// today's layout: the scalars, and the lists as the JSON they are kept in.
const denseGetSQL = `
SELECT message_type, message_id, message_time, action, status, chain_code,
	created_at, modified_at, arrival, departure, adults, children,
	coalesce(total_after_tax::text, ''), coalesce(total_before_tax::text, ''), currency,
	card_code, card_last4, card_expire, version, room_stays::text, guests::text, external_ids::text
FROM reservations_dense WHERE hotel_code = $1 AND confirmation = $2`

func denseGet(ctx context.Context, p *pgxpool.Pool, k reservation.Key) (reservation.Reservation, error) {
	r := reservation.Reservation{HotelCode: k.HotelCode, Confirmation: k.Confirmation}
	var version string
	var msgTime, created, modified pgtype.Timestamptz
	var arrival, departure pgtype.Date
	var stays, guests, ids []byte
	if err := p.QueryRow(ctx, denseGetSQL, k.HotelCode, k.Confirmation).Scan(
		&r.MessageType, &r.MessageID, &msgTime, &r.Action, &r.Status, &r.ChainCode,
		&created, &modified, &arrival, &departure, &r.Adults, &r.Children,
		&r.TotalAfterTax, &r.TotalBeforeTax, &r.Currency,
		&r.Payment.CardCode, &r.Payment.Last4, &r.Payment.Expire, &version, &stays, &guests, &ids); err != nil {
		return r, err
	}
	r.MessageTime, r.CreatedAt, r.ModifiedAt = timeString(msgTime), timeString(created), timeString(modified)
	r.Arrival, r.Departure = dateString(arrival), dateString(departure)
	for _, part := range []struct {
		raw []byte
		to  any
	}{{stays, &r.RoomStays}, {guests, &r.Guests}, {ids, &r.ExternalIDs}} {
		if err := json.Unmarshal(part.raw, part.to); err != nil {
			return r, err
		}
	}
	r.Normalize()
	return r, nil
}

// reportKeyReads times reading one reservation by key, as the API does,
// in both layouts: each key read from both in random order, p50 and p99
// over keys. Both must give the same record (the prototype has no
// special requests).
func reportKeyReads(b *testing.B, ctx context.Context, s *Sink, dense *pgxpool.Pool, keys []reservation.Key) {
	rng := rand.New(rand.NewPCG(1, 2))
	var today, dn []time.Duration
	for _, k := range keys {
		var a, d reservation.Reservation
		var ta, td time.Duration
		readToday := func() {
			start := time.Now()
			var err error
			if a, _, err = s.Get(ctx, k); err != nil {
				b.Fatal(err)
			}
			ta = time.Since(start)
		}
		readDense := func() {
			start := time.Now()
			var err error
			if d, err = denseGet(ctx, dense, k); err != nil {
				b.Fatal(err)
			}
			td = time.Since(start)
		}
		if rng.IntN(2) == 0 {
			readToday()
			readDense()
		} else {
			readDense()
			readToday()
		}
		today, dn = append(today, ta), append(dn, td)
		a.SpecialRequests = []reservation.SpecialRequest{}
		if !reflect.DeepEqual(a, d) {
			b.Fatalf("%s: the layouts give different records:\n today %+v\n dense %+v", k, a, d)
		}
	}
	for name, ds := range map[string][]time.Duration{"today": today, "dense": dn} {
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), name+"-get-p50-µs")
		b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds()), name+"-get-p99-µs")
	}
}
