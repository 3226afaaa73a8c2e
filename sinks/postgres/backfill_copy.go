package postgres

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
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

// The savepoint a direct COPY rolls back to when it meets a stored key.
const (
	savepointSQL         = "SAVEPOINT fresh"
	rollbackSavepointSQL = "ROLLBACK TO SAVEPOINT fresh"
)

// The COPY statements, one per table; the values are written by the
// matching encode function below, in this column order.
const (
	copyReservationsSQL = `COPY reservations (hotel_code, confirmation, chain_code, status, action,
		created_at, modified_at, arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency, version, special_requests) FROM STDIN (FORMAT binary)`
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
func encodeReservations(c *copyBuf, rows []BackfillRow) error {
	for i := range rows {
		r := &rows[i]
		c.row(16)
		c.text(r.HotelCode)
		c.text(r.Confirmation)
		c.text(r.ChainCode)
		c.text(r.Status)
		c.text(r.Action)
		c.timestamptz(r.CreatedAt)
		if r.HasModified {
			c.timestamptz(r.ModifiedAt)
		} else {
			c.null()
		}
		if err := encodeStay(c, r); err != nil {
			return err
		}
		c.text(r.Version)
		c.jsonb(r.specialRequests())
	}
	return nil
}

// encodeRoomStays writes each row's one room stay (copyRoomStaysSQL).
func encodeRoomStays(c *copyBuf, rows []BackfillRow) error {
	for i := range rows {
		r := &rows[i]
		c.row(13)
		c.text(r.HotelCode)
		c.text(r.Confirmation)
		c.int4(0)
		c.text(r.RoomType)
		c.text(r.RatePlan)
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
func encodeStay(c *copyBuf, r *BackfillRow) error {
	c.optionalDate(r.Arrival, r.HasArrival)
	c.optionalDate(r.Departure, r.HasDeparture)
	c.int4(r.Adults)
	c.int4(r.Children)
	if err := c.numeric(r.TotalAfterTax); err != nil {
		return err
	}
	if err := c.numeric(r.TotalBeforeTax); err != nil {
		return err
	}
	c.text(r.Currency)
	return nil
}

// encodeGuests writes each row's primary guest (copyGuestsSQL); rows are
// protected (sealed or indexed) before (ChunkWrite.Rows).
func encodeGuests(c *copyBuf, rows []BackfillRow) error {
	for i := range rows {
		r := &rows[i]
		c.row(11)
		c.text(r.HotelCode)
		c.text(r.Confirmation)
		c.int4(0)
		c.boolean(true)
		c.text(r.GivenName)
		c.text(r.Surname)
		c.text(r.Email)
		c.text(r.Phone)
		c.text(r.LoyaltyNumber)
		c.text(r.EmailIndex)
		c.text(r.LoyaltyIndex)
	}
	return nil
}

// encodeExternalIDs writes the itinerary id of the rows that have one
// (copyExternalIDsSQL).
func encodeExternalIDs(c *copyBuf, rows []BackfillRow) error {
	for i := range rows {
		r := &rows[i]
		if r.ItineraryID == "" {
			continue
		}
		c.row(5)
		c.text(r.HotelCode)
		c.text(r.Confirmation)
		c.int4(0)
		c.text(ItineraryIDType)
		c.text(r.ItineraryID)
	}
	return nil
}

// copyFresh copies rows (a chunk's newest per key, in key order,
// protected: ChunkWrite.Rows) into the live tables under a savepoint. It reports false,
// after rolling back to the savepoint, when a key is already stored.
func copyFresh(ctx context.Context, tx pgx.Tx, rows []BackfillRow) (bool, error) {
	if _, err := tx.Exec(ctx, savepointSQL); err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	buf := copyBufs.Get().(*copyBuf)
	defer copyBufs.Put(buf)
	pg := tx.Conn().PgConn()
	for _, step := range []struct {
		sql    string
		encode func(*copyBuf, []BackfillRow) error
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
		switch {
		case err == nil:
		case isUniqueViolation(err):
			if _, err := tx.Exec(ctx, rollbackSavepointSQL); err != nil {
				return false, fmt.Errorf("rollback to savepoint: %w", err)
			}
			return false, nil
		default:
			return false, fmt.Errorf("copy: %w", err)
		}
	}
	return true, nil
}
