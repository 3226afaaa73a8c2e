package postgres

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/sinks"
)

const benchBatch = 500

// BenchmarkWrite500 measures Write on 500-record batches of full records
// (3 room stays, 2 guests, 3 external ids each) and reports records/s:
//
//	insert     new keys every batch
//	update     the same keys, newer each batch: parents updated, children replaced
//	duplicate  the same batch again: the version guard turns it into a no-op
//	per-record-batch  the design Write does not use, on the same inserts:
//	           a pgx.Batch of four statements per record in one transaction
func BenchmarkWrite500(b *testing.B) {
	s, _ := newTestSink(b)
	ctx := testContext(b)
	batch := func(prefix string, n, version int) []sinks.Record {
		recs := make([]sinks.Record, benchBatch)
		for i := range recs {
			recs[i] = fullRecord(b, fmt.Sprintf("H%03d", i%100), fmt.Sprintf("%s-%d-%d", prefix, n, i), at(version), "1")
		}
		return recs
	}
	check := func(b *testing.B, res []sinks.Result, err error, want sinks.Outcome) {
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range res {
			if r.Outcome != want {
				b.Fatalf("record %d: %s, want %s", i, r.Outcome, want)
			}
		}
	}
	// round numbers keys and versions across the runs b.Run makes (it
	// calls each function with growing b.N).
	round := 0
	report := func(b *testing.B) {
		b.ReportMetric(float64(benchBatch*b.N)/b.Elapsed().Seconds(), "records/s")
	}

	b.Run("insert", func(b *testing.B) {
		for n := 0; n < b.N; n++ {
			b.StopTimer()
			round++
			recs := batch("ins", round, 0)
			b.StartTimer()
			res, err := s.Write(ctx, recs)
			check(b, res, err, sinks.Stored)
		}
		report(b)
	})
	b.Run("update", func(b *testing.B) {
		round++
		res, err := s.Write(ctx, batch("upd", round, 0))
		check(b, res, err, sinks.Stored)
		b.ResetTimer()
		for n := 0; n < b.N; n++ {
			b.StopTimer()
			recs := batch("upd", round, n+1)
			b.StartTimer()
			res, err := s.Write(ctx, recs)
			check(b, res, err, sinks.Stored)
		}
		report(b)
	})
	b.Run("duplicate", func(b *testing.B) {
		round++
		recs := batch("dup", round, 0)
		res, err := s.Write(ctx, recs)
		check(b, res, err, sinks.Stored)
		b.ResetTimer()
		for n := 0; n < b.N; n++ {
			res, err := s.Write(ctx, recs)
			check(b, res, err, sinks.Duplicate)
		}
		report(b)
	})
	b.Run("per-record-batch", func(b *testing.B) {
		for n := 0; n < b.N; n++ {
			b.StopTimer()
			round++
			recs := batch("prb", round, 0)
			b.StartTimer()
			if err := writePerRecordBatch(ctx, s, recs); err != nil {
				b.Fatal(err)
			}
			if n == b.N-1 {
				b.StopTimer()
				got, _, err := s.Get(ctx, recs[7].Reservation.Key())
				if err != nil || !reflect.DeepEqual(got, recs[7].Reservation) {
					b.Fatalf("per-record batch stored %+v (%v), want %+v", got, err, recs[7].Reservation)
				}
				b.StartTimer()
			}
		}
		report(b)
	})
}

// The per-record design that Write was measured against: for each record
// a parent upsert, then per child table one statement that replaces the
// children only if this transaction wrote the parent (its xmin is ours).
const (
	perRecordUpsertSQL = `
INSERT INTO reservations AS r (hotel_code, confirmation, chain_code, status, action,
	message_type, message_id, message_time, created_at, modified_at, arrival, departure,
	adults, children, total_after_tax, total_before_tax, currency,
	card_code, card_last4, card_expire, archive_key, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
	NULLIF($15, '')::numeric, NULLIF($16, '')::numeric, $17, $18, $19, $20, $21, $22)
ON CONFLICT (hotel_code, confirmation) DO UPDATE SET
	chain_code = EXCLUDED.chain_code, status = EXCLUDED.status, action = EXCLUDED.action,
	message_type = EXCLUDED.message_type, message_id = EXCLUDED.message_id,
	message_time = EXCLUDED.message_time, created_at = EXCLUDED.created_at,
	modified_at = EXCLUDED.modified_at, arrival = EXCLUDED.arrival,
	departure = EXCLUDED.departure, adults = EXCLUDED.adults, children = EXCLUDED.children,
	total_after_tax = EXCLUDED.total_after_tax, total_before_tax = EXCLUDED.total_before_tax,
	currency = EXCLUDED.currency, card_code = EXCLUDED.card_code,
	card_last4 = EXCLUDED.card_last4, card_expire = EXCLUDED.card_expire,
	archive_key = EXCLUDED.archive_key, version = EXCLUDED.version, stored_at = now()
WHERE r.version < EXCLUDED.version
RETURNING true`

	perRecordMine = `EXISTS (SELECT 1 FROM reservations r WHERE r.hotel_code = $1
	AND r.confirmation = $2 AND r.xmin = pg_current_xact_id()::xid)`

	perRecordRoomStaysSQL = `
WITH d AS (DELETE FROM reservation_room_stays WHERE hotel_code = $1 AND confirmation = $2
	AND ordinal >= cardinality($3::int4[]) AND ` + perRecordMine + `)
INSERT INTO reservation_room_stays AS o (hotel_code, confirmation, ordinal, room_type, rate_plan,
	units, arrival, departure, adults, children, total_after_tax, total_before_tax, currency)
SELECT $1, $2, c.ordinal, c.room_type, c.rate_plan, c.units, c.arrival, c.departure,
	c.adults, c.children, NULLIF(c.tat, '')::numeric, NULLIF(c.tbt, '')::numeric, c.currency
FROM unnest($3::int4[], $4::text[], $5::text[], $6::int4[], $7::date[], $8::date[],
	$9::int4[], $10::int4[], $11::text[], $12::text[], $13::text[])
	AS c(ordinal, room_type, rate_plan, units, arrival, departure, adults, children, tat, tbt, currency)
WHERE ` + perRecordMine + `
ON CONFLICT (hotel_code, confirmation, ordinal) DO UPDATE SET
	room_type = EXCLUDED.room_type, rate_plan = EXCLUDED.rate_plan, units = EXCLUDED.units,
	arrival = EXCLUDED.arrival, departure = EXCLUDED.departure, adults = EXCLUDED.adults,
	children = EXCLUDED.children, total_after_tax = EXCLUDED.total_after_tax,
	total_before_tax = EXCLUDED.total_before_tax, currency = EXCLUDED.currency`

	perRecordGuestsSQL = `
WITH d AS (DELETE FROM reservation_guests WHERE hotel_code = $1 AND confirmation = $2
	AND ordinal >= cardinality($3::int4[]) AND ` + perRecordMine + `)
INSERT INTO reservation_guests AS o (hotel_code, confirmation, ordinal, is_primary, given_name,
	surname, email, phone, loyalty_program, loyalty_number, city, postal_code, country)
SELECT $1, $2, c.*
FROM unnest($3::int4[], $4::bool[], $5::text[], $6::text[], $7::text[], $8::text[],
	$9::text[], $10::text[], $11::text[], $12::text[], $13::text[]) AS c
WHERE ` + perRecordMine + `
ON CONFLICT (hotel_code, confirmation, ordinal) DO UPDATE SET
	is_primary = EXCLUDED.is_primary, given_name = EXCLUDED.given_name,
	surname = EXCLUDED.surname, email = EXCLUDED.email, phone = EXCLUDED.phone,
	loyalty_program = EXCLUDED.loyalty_program, loyalty_number = EXCLUDED.loyalty_number,
	city = EXCLUDED.city, postal_code = EXCLUDED.postal_code, country = EXCLUDED.country`

	perRecordExternalIDsSQL = `
WITH d AS (DELETE FROM reservation_external_ids WHERE hotel_code = $1 AND confirmation = $2
	AND ordinal >= cardinality($3::int4[]) AND ` + perRecordMine + `)
INSERT INTO reservation_external_ids AS o (hotel_code, confirmation, ordinal, id_type, id_value, id_source)
SELECT $1, $2, c.*
FROM unnest($3::int4[], $4::text[], $5::text[], $6::text[]) AS c
WHERE ` + perRecordMine + `
ON CONFLICT (hotel_code, confirmation, ordinal) DO UPDATE SET
	id_type = EXCLUDED.id_type, id_value = EXCLUDED.id_value, id_source = EXCLUDED.id_source`
)

// writePerRecordBatch queues the per-record statements of every record in
// one pgx.Batch inside one transaction.
func writePerRecordBatch(ctx context.Context, s *Sink, recs []sinks.Record) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var b pgx.Batch
	for i := range recs {
		r := &recs[i].Reservation
		var c columns
		c.add(i, &recs[i])
		b.Queue(perRecordUpsertSQL, r.HotelCode, r.Confirmation, r.ChainCode, r.Status, r.Action,
			r.MessageType, r.MessageID, c.messageTime[0], c.createdAt[0], c.modifiedAt[0],
			c.arrival[0], c.departure[0], r.Adults, r.Children,
			r.TotalAfterTax, r.TotalBeforeTax, r.Currency, r.Payment.CardCode, r.Payment.Last4,
			r.Payment.Expire, recs[i].ArchiveKey, recs[i].Version.String())
		b.Queue(perRecordRoomStaysSQL, r.HotelCode, r.Confirmation, c.rsOrdinal, c.rsRoomType,
			c.rsRatePlan, c.rsUnits, c.rsArrival, c.rsDeparture, c.rsAdults, c.rsChildren,
			c.rsTotalAfterTax, c.rsTotalBeforeTax, c.rsCurr)
		b.Queue(perRecordGuestsSQL, r.HotelCode, r.Confirmation, c.gOrdinal, c.gPrimary, c.gGiven,
			c.gSurname, c.gEmail, c.gPhone, c.gLoyaltyProg, c.gLoyaltyNum, c.gCity, c.gPostal, c.gCountry)
		b.Queue(perRecordExternalIDsSQL, r.HotelCode, r.Confirmation, c.xOrdinal, c.xType, c.xValue, c.xSource)
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
