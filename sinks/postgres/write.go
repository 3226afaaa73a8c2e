package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// ErrVersionRace is wrapped (as retryable) when a record was not written
// and its stored version could not be read back: a concurrent writer
// changed the row between the two reads. Writing again settles it.
var ErrVersionRace = errors.New("postgres: stored version changed during the write")

// Check reports whether Write would refuse rec for good, without writing
// anything: a record without its key, or with a value Postgres cannot
// hold (a *reservation.FieldError naming the field). The pipeline asks
// every store before it writes to any, so that a record one store cannot
// hold is dead-lettered instead of being stored in the others. Safe for
// concurrent use.
func (s *Sink) Check(rec *sinks.Record) error { return check(rec) }

// Write stores a batch and returns one Result per record, in order. A
// batch of a few hundred records or more is split by key into up to
// Options.WriteConcurrency parts written at once, one statement (one round
// trip) each; no key is in two parts.
//
// A record is written only if its version is newer than the stored one;
// otherwise it reports Stale (a newer version is stored) or Duplicate (the
// same version is). When the batch holds one key several times only the
// newest is written; the others report Stale or Duplicate relative to it.
// A record that Postgres would reject fails alone, permanently, with a
// *RecordError; the others are still written.
//
// Each record's Version must be set (reservation.VersionOf): it alone
// decides which write wins.
//
// The error is non-nil only when a part of the batch failed as a whole
// (for a batch that is not split: the batch): then every record of that
// part that passed the checks has a Failed result with the error, which
// is marked sinks.Retryable when trying again may help; the results of
// the other parts stand.
func (s *Sink) Write(ctx context.Context, recs []sinks.Record) ([]sinks.Result, error) {
	results := make([]sinks.Result, len(recs))
	var valid []int
	for i := range recs {
		if err := check(&recs[i]); err != nil {
			results[i] = sinks.Result{Outcome: sinks.Failed, Err: &RecordError{Index: i, Err: err}}
			continue
		}
		valid = append(valid, i)
	}
	parts := splitByKey(recs, valid, min(s.writers, len(valid)/minPartRecords))
	if len(parts) == 1 {
		return results, s.writePart(ctx, recs, parts[0], results)
	}
	// Parts touch disjoint keys, hence disjoint rows: they cannot wait on
	// each other's locks, and each sets only its own records' results.
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for n, part := range parts {
		wg.Go(func() { errs[n] = s.writePart(ctx, recs, part, results) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// minPartRecords is the smallest part worth a statement of its own: below
// it the extra round trip and plan cost more than the parallelism saves.
const minPartRecords = 250

// splitByKey splits the indexes valid into n parts (at least one) by a hash
// of the record's key, keeping batch order within each part.
func splitByKey(recs []sinks.Record, valid []int, n int) [][]int {
	if n <= 1 {
		return [][]int{valid}
	}
	parts := make([][]int, n)
	for _, i := range valid {
		k := recs[i].Reservation.Key()
		h := fnv.New32a()
		h.Write([]byte(k.HotelCode))
		h.Write([]byte{0})
		h.Write([]byte(k.Confirmation))
		p := h.Sum32() % uint32(n)
		parts[p] = append(parts[p], i)
	}
	return parts
}

// writePart writes recs[valid] (every version of the keys it holds) and
// sets their results; on a failure of the whole part it marks them all
// Failed and returns the error.
func (s *Sink) writePart(ctx context.Context, recs []sinks.Record, valid []int, results []sinks.Result) error {
	winners := collapse(recs, valid, results)
	if len(winners) == 0 {
		return nil
	}
	err := s.writeWinners(ctx, recs, winners, results)
	if err != nil && isDataError(err) {
		// One record (or more) is bad in a way check did not foresee:
		// write them one by one to find it and keep the others.
		err = s.writeEach(ctx, recs, valid, results)
	}
	if err != nil {
		for _, i := range valid {
			results[i] = sinks.Result{Outcome: sinks.Failed, Err: err}
		}
		return err
	}
	return nil
}

// collapse picks, for each key among the valid records, the newest record
// (the first of equal versions) and sets the outcome of the others relative
// to it. It returns the picked records' indexes in batch order.
func collapse(recs []sinks.Record, valid []int, results []sinks.Result) []int {
	newest := make(map[reservation.Key]int, len(valid))
	for _, i := range valid {
		k := recs[i].Reservation.Key()
		if j, ok := newest[k]; !ok || recs[i].Version.Compare(recs[j].Version) > 0 {
			newest[k] = i
		}
	}
	winners := make([]int, 0, len(newest))
	for _, i := range valid {
		j := newest[recs[i].Reservation.Key()]
		switch {
		case i == j:
			winners = append(winners, i)
		case recs[i].Version.Compare(recs[j].Version) == 0:
			results[i] = sinks.Result{Outcome: sinks.Duplicate}
		default:
			results[i] = sinks.Result{Outcome: sinks.Stale}
		}
	}
	return winners
}

// writeEach writes the records one statement each, in batch order, setting
// their results. It stops at the first error that is not one record's bad
// data, returning it.
func (s *Sink) writeEach(ctx context.Context, recs []sinks.Record, valid []int, results []sinks.Result) error {
	for _, i := range valid {
		err := s.writeWinners(ctx, recs, []int{i}, results)
		switch {
		case err == nil:
		case isDataError(err):
			results[i] = sinks.Result{Outcome: sinks.Failed, Err: &RecordError{Index: i, Err: err}}
		default:
			return err
		}
	}
	return nil
}

// writeWinners writes recs[winners] (unique keys) in one transaction of
// two statements, parents then children (see writeParentsSQL), and sets
// their results. On error it sets none and returns the classified error.
//
// Parents the transaction inserts get their children plainly inserted
// (writeChildrenSQL). If such a parent's key still has children (a
// reservation deleted by hand without them), that insert fails and the
// batch is written again with every parent treated as updated.
func (s *Sink) writeWinners(ctx context.Context, recs []sinks.Record, winners []int, results []sinks.Result) error {
	var cols columns
	for _, i := range winners {
		cols.add(i, &recs[i])
	}
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	var w batchWrite
	var err error
	for _, plain := range []bool{true, false} {
		w = batchWrite{cols: &cols, recs: recs, plain: plain}
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return s.writeTx(ctx, tx, &w) })
		if !plain || !isUniqueViolation(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: write %d records: %w", len(winners), classify(err))
	}
	outcomes, unknown := w.outcomes, w.unknown
	if len(unknown) > 0 {
		if err := s.resolve(ctx, recs, unknown, outcomes); err != nil {
			return err
		}
	}
	for _, i := range winners {
		o, ok := outcomes[i]
		if !ok {
			// writeParentsSQL returns a row per input record: this is a bug,
			// not a reason to pretend the record was stored.
			return fmt.Errorf("postgres: write: no outcome for record %d", i)
		}
		results[i] = sinks.Result{Outcome: o}
	}
	return nil
}

// batchWrite is one attempt of writeWinners' transaction: its input and
// what writeParentsSQL reported.
type batchWrite struct {
	cols  *columns
	recs  []sinks.Record
	plain bool // children of inserted parents are plainly inserted

	outcomes map[int]sinks.Outcome // by batch index, for records it could tell
	unknown  []int                 // batch indexes written by a concurrent writer
}

// writeTx runs the two statements of w in tx. BeginFunc may run it once
// per transaction; it starts from an empty result each time.
func (s *Sink) writeTx(ctx context.Context, tx pgx.Tx, w *batchWrite) error {
	w.outcomes = make(map[int]sinks.Outcome, len(w.cols.idx))
	w.unknown = nil
	place := make(map[int32]int, len(w.cols.idx)) // batch index -> its place in cols
	for n, i := range w.cols.idx {
		place[i] = n
	}
	fresh := make([]bool, len(w.cols.idx))
	rows, err := tx.Query(ctx, s.parentsSQL, w.cols.parentArgs()...)
	if err != nil {
		return err
	}
	var idx int32
	var stored, inserted bool
	var previous *string
	if _, err := pgx.ForEachRow(rows, []any{&idx, &stored, &inserted, &previous}, func() error {
		i := int(idx)
		fresh[place[idx]] = w.plain && inserted
		switch {
		case stored:
			w.outcomes[i] = sinks.Stored
		case previous == nil:
			w.unknown = append(w.unknown, i)
		default:
			if o, ok := compareStored(*previous, w.recs[i].Version.String()); ok {
				w.outcomes[i] = o
			} else {
				w.unknown = append(w.unknown, i)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, writeChildrenSQL, w.cols.childArgs(fresh)...)
	return err
}

// compareStored tells Stale from Duplicate for a record that was not
// written; ok is false when the stored version is older, which happens
// only if another writer changed the row after this statement's snapshot.
func compareStored(stored, mine string) (o sinks.Outcome, ok bool) {
	switch c := strings.Compare(stored, mine); {
	case c > 0:
		return sinks.Stale, true
	case c == 0:
		return sinks.Duplicate, true
	default:
		return sinks.Failed, false
	}
}

// resolve reads the current versions of recs[unknown], which a concurrent
// transaction wrote after writeParentsSQL's snapshot, and sets their outcomes.
func (s *Sink) resolve(ctx context.Context, recs []sinks.Record, unknown []int, outcomes map[int]sinks.Outcome) error {
	hotels := make([]string, len(unknown))
	confs := make([]string, len(unknown))
	byKey := make(map[reservation.Key]int, len(unknown))
	for n, i := range unknown {
		k := recs[i].Reservation.Key()
		hotels[n], confs[n] = k.HotelCode, k.Confirmation
		byKey[k] = i
	}
	rows, err := s.pool.Query(ctx, versionsSQL, hotels, confs)
	if err != nil {
		return fmt.Errorf("postgres: read stored versions: %w", classify(err))
	}
	var k reservation.Key
	var version string
	_, err = pgx.ForEachRow(rows, []any{&k.HotelCode, &k.Confirmation, &version}, func() error {
		i := byKey[k]
		if o, ok := compareStored(version, recs[i].Version.String()); ok {
			outcomes[i] = o
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: read stored versions: %w", classify(err))
	}
	for _, i := range unknown {
		if _, ok := outcomes[i]; !ok {
			return sinks.Retryable(fmt.Errorf("record %d: %w", i, ErrVersionRace))
		}
	}
	return nil
}
