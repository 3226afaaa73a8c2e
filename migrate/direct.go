package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Direct COPY (copyFresh): a presorted chunk holds keys no other chunk of
// the load holds, and in a first load no store holds them either. Such a
// chunk is copied straight into the four live tables, with none of the
// staging table's second copy and INSERT ... SELECT: the server's COPY
// inserts rows in batches and parses nothing (binary format).
//
// The rows are those mergeSQL would insert: the same columns, the others
// their defaults (stored_at = now(), the transaction's time). A
// key already stored (by an earlier load or by the live pipeline, even
// one that commits while the COPY waits for its row) makes the COPY fail
// with a unique violation: the chunk rolls back to its savepoint and
// takes the version-guarded merge instead.

// The COPY statements, one per table; the values are written by the
// matching encode function below, in this column order.
const (
	copyReservationsSQL = `COPY reservations (hotel_code, confirmation, chain_code, status, action,
		created_at, modified_at, arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency, version) FROM STDIN (FORMAT binary)`
	copyRoomStaysSQL = `COPY reservation_room_stays (hotel_code, confirmation, ordinal,
		room_type, rate_plan, units, arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency) FROM STDIN (FORMAT binary)`
	copyGuestsSQL = `COPY reservation_guests (hotel_code, confirmation, ordinal, is_primary,
		given_name, surname, email, phone, loyalty_number, email_index, loyalty_index) FROM STDIN (FORMAT binary)`
	copyExternalIDsSQL = `COPY reservation_external_ids (hotel_code, confirmation, ordinal,
		id_type, id_value) FROM STDIN (FORMAT binary)`
)

// copyBufs recycles the COPY buffers (a few MB per chunk) between chunks
// and workers.
var copyBufs = sync.Pool{New: func() any { return new(copyBuf) }}

// optionalDate writes a date, or NULL when the row has none.
func (c *copyBuf) optionalDate(t time.Time, ok bool) {
	if !ok {
		c.null()
		return
	}
	c.date(t)
}

// encodeReservations writes the parents of rows (copyReservationsSQL).
func encodeReservations(c *copyBuf, rows []*row) error {
	for _, r := range rows {
		f := r.rec
		c.row(15)
		c.text(f[colHotelCode])
		c.text(f[colConfirmation])
		c.text(f[colChainCode])
		c.text(f[colStatus])
		c.text(r.action)
		c.timestamptz(r.created)
		if r.hasMod {
			c.timestamptz(r.modified)
		} else {
			c.null()
		}
		if err := encodeStay(c, r); err != nil {
			return err
		}
		c.text(r.vs)
	}
	return nil
}

// encodeRoomStays writes each row's one room stay (copyRoomStaysSQL).
func encodeRoomStays(c *copyBuf, rows []*row) error {
	for _, r := range rows {
		f := r.rec
		c.row(13)
		c.text(f[colHotelCode])
		c.text(f[colConfirmation])
		c.int4(0)
		c.text(f[colRoomType])
		c.text(f[colRatePlan])
		c.int4(1)
		if err := encodeStay(c, r); err != nil {
			return err
		}
	}
	return nil
}

// encodeStay writes the columns a reservation and its room stay share, in
// the order both tables' COPY statements list them: arrival, departure,
// adults, children, total_after_tax, total_before_tax, currency.
func encodeStay(c *copyBuf, r *row) error {
	c.optionalDate(r.arrival, r.hasArr)
	c.optionalDate(r.departure, r.hasDep)
	c.int4(r.adults)
	c.int4(r.children)
	if err := c.numeric(r.rec[colTotalAfterTax]); err != nil {
		return err
	}
	if err := c.numeric(r.rec[colTotalBeforeTax]); err != nil {
		return err
	}
	c.text(r.rec[colCurrency])
	return nil
}

// encodeGuests writes each row's primary guest (copyGuestsSQL); rows are
// protected (sealed or indexed) before.
func encodeGuests(c *copyBuf, rows []*row) error {
	for _, r := range rows {
		f := r.rec
		c.row(11)
		c.text(f[colHotelCode])
		c.text(f[colConfirmation])
		c.int4(0)
		c.boolean(true)
		c.text(f[colGivenName])
		c.text(f[colSurname])
		c.text(f[colEmail])
		c.text(f[colPhone])
		c.text(f[colLoyaltyNumber])
		c.text(r.idx.Email)
		c.text(r.idx.Loyalty)
	}
	return nil
}

// encodeExternalIDs writes the itinerary id of the rows that have one
// (copyExternalIDsSQL).
func encodeExternalIDs(c *copyBuf, rows []*row) error {
	for _, r := range rows {
		f := r.rec
		if f[colItineraryID] == "" {
			continue
		}
		c.row(5)
		c.text(f[colHotelCode])
		c.text(f[colConfirmation])
		c.int4(0)
		c.text(ItineraryIDType)
		c.text(f[colItineraryID])
	}
	return nil
}

// copyFresh copies rows (a chunk's newest per key, in key order,
// protected) into the live tables under a savepoint. It reports false,
// after rolling back to the savepoint, when a key is already stored.
func copyFresh(ctx context.Context, tx pgx.Tx, rows []*row) (bool, error) {
	if _, err := tx.Exec(ctx, "SAVEPOINT fresh"); err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	buf := copyBufs.Get().(*copyBuf)
	defer copyBufs.Put(buf)
	pg := tx.Conn().PgConn()
	for _, step := range []struct {
		sql    string
		encode func(*copyBuf, []*row) error
	}{
		{copyReservationsSQL, encodeReservations},
		{copyRoomStaysSQL, encodeRoomStays},
		{copyGuestsSQL, encodeGuests},
		{copyExternalIDsSQL, encodeExternalIDs},
	} {
		buf.reset()
		if err := step.encode(buf, rows); err != nil {
			return false, err
		}
		_, err := pg.CopyFrom(ctx, bytes.NewReader(buf.finish()), step.sql)
		var pe *pgconn.PgError
		switch {
		case err == nil:
		case errors.As(err, &pe) && pe.Code == "23505": // unique_violation
			if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT fresh"); err != nil {
				return false, fmt.Errorf("rollback to savepoint: %w", err)
			}
			return false, nil
		default:
			return false, fmt.Errorf("copy: %w", err)
		}
	}
	return true, nil
}
