package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resingest/resingest/reservation"
)

// The bulk backfill (package migrate) writes through a BackfillSession:
// one connection of the pool, its TEMPORARY staging tables, and one
// transaction per chunk (WriteChunk). The SQL is in backfill_sql.go, the
// binary COPY straight into the tables in backfill_copy.go.
//
// Errors of the backfill's methods are not classified (classify) and
// carry no "postgres:" prefix: the caller names the operation. A chunk
// transaction that lost a deadlock or a serialization conflict wraps
// ErrTxConflict: the caller may simply run it again.

// ItineraryIDType is the external id type a BackfillRow's ItineraryID is
// stored under.
const ItineraryIDType = "itinerary"

// BackfillRow is one reservation of a backfill: one room stay, one primary
// guest, when ItineraryID is set one external id, and its special
// requests.
type BackfillRow struct {
	Line                                    int64 // input line, for the staging table
	HotelCode, Confirmation, ChainCode      string
	Status, Action                          string
	CreatedAt, ModifiedAt                   time.Time
	HasModified                             bool
	Arrival, Departure                      time.Time // calendar days, midnight UTC
	HasArrival, HasDeparture                bool
	RoomType, RatePlan                      string
	Adults, Children                        int32
	TotalAfterTax, TotalBeforeTax, Currency string // amounts: "" or -?[0-9]+(\.[0-9]+)?, at most MaxAmountDigits either side
	GivenName, Surname, Email, Phone        string
	LoyaltyNumber, ItineraryID              string
	Version                                 string // reservation.Version.String()
	EmailIndex, LoyaltyIndex                string // the guest's indexes (pii.GuestIndex)
	// SpecialRequests is the reservations.special_requests value: a JSON
	// array of {"code","name","text"} (reservation.AppendSpecialRequests),
	// checked by the caller (Postgres refuses the chunk otherwise); ""
	// for none.
	SpecialRequests string
}

// specialRequests is the row's special_requests value, [] for none.
func (r *BackfillRow) specialRequests() string {
	if r.SpecialRequests == "" {
		return "[]"
	}
	return r.SpecialRequests
}

// key is the row's reservation key.
func (r *BackfillRow) key() reservation.Key {
	return reservation.Key{HotelCode: r.HotelCode, Confirmation: r.Confirmation}
}

// BackfillReject is a malformed input row: its line and why (a reason
// that never holds the row's content).
type BackfillReject struct {
	Line   int64
	Reason string
}

// BackfillFile is an input file's recorded progress (backfill_files).
type BackfillFile struct {
	Size, Rows, Lines, Rejects int64
	Done                       bool
}

// BackfillProgress is what a chunk's transaction records as done: a
// FileProgress or a PresortChunkDone.
type BackfillProgress interface {
	progressStmt() (string, []any)
}

// FileProgress is a file's progress after a chunk of the file-by-file
// load: rows merged, records consumed and rejects so far.
type FileProgress struct {
	Path                 string
	Rows, Lines, Rejects int64
}

func (p FileProgress) progressStmt() (string, []any) {
	return progressSQL, []any{p.Path, p.Rows, p.Lines, p.Rejects}
}

// PresortChunkDone records a numbered chunk of a presorted load as done,
// under Name, with the input records it held.
type PresortChunkDone struct {
	Name    string
	Records int64
}

func (p PresortChunkDone) progressStmt() (string, []any) {
	return chunkDoneSQL, []any{p.Name, p.Records}
}

// ErrTxConflict is wrapped by WriteChunk when its transaction lost a
// deadlock or a serialization conflict (SQLSTATE 40P01, 40001) to a
// concurrent one (another worker, the live pipeline): running it again may
// succeed.
var ErrTxConflict = errors.New("transaction lost to a concurrent one")

// txConflict keeps err's message and makes it match ErrTxConflict.
type txConflict struct{ err error }

func (e txConflict) Error() string   { return e.err.Error() }
func (e txConflict) Unwrap() []error { return []error{e.err, ErrTxConflict} }

// markConflict wraps err in txConflict when it is a lost deadlock or
// serialization conflict.
func markConflict(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") {
		return txConflict{err}
	}
	return err
}

// BackfillSession is a backfill worker's connection. It is not safe for
// concurrent use.
type BackfillSession struct {
	conn *pgxpool.Conn
}

// OpenBackfillSession acquires a connection of the pool for a backfill
// worker; Close gives it back. Prepare it before WriteChunk.
func (s *Sink) OpenBackfillSession(ctx context.Context) (*BackfillSession, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &BackfillSession{conn: conn}, nil
}

// Close releases the connection; it may be called more than once.
func (b *BackfillSession) Close() {
	if b.conn != nil {
		b.conn.Release()
		b.conn = nil
	}
}

// Prepare tunes the session (sessionSQL) and creates its staging tables.
// (Until migration 0012 it also found out whether the chunks could turn
// the child tables' foreign-key triggers off; the tables have none now.)
func (b *BackfillSession) Prepare(ctx context.Context) error {
	for _, ddl := range []string{sessionSQL, createStageSQL, createUpdatedSQL} {
		if _, err := b.conn.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("staging table: %w", err)
		}
	}
	return nil
}

// StartFile registers an input file of size bytes (first run) and returns
// its recorded progress.
func (b *BackfillSession) StartFile(ctx context.Context, path string, size int64) (BackfillFile, error) {
	var f BackfillFile
	var status string
	err := b.conn.QueryRow(ctx, fileStartSQL, path, size).Scan(&f.Size, &f.Rows, &f.Lines, &f.Rejects, &status)
	f.Done = status == "done"
	return f, err
}

// FileDone records a file as loaded.
func (b *BackfillSession) FileDone(ctx context.Context, path string) error {
	_, err := b.conn.Exec(ctx, fileDoneSQL, path)
	return err
}
