package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/resingest/resingest/ledger"
)

// Where a replayed message says it came from: its audit row is keyed by
// (ReplaySource, ReplayPartition, letter id).
const (
	ReplaySource    = "dlq"
	ReplayPartition = "dead_letters"
)

// maxReportedFailures bounds ReplayReport.Failures; StillFailing counts
// them all.
const maxReportedFailures = 1000

// Sentinel errors of Replay with ReplayOptions.ID.
var (
	ErrLetterNotFound = errors.New("no such dead letter")
	ErrLetterReplayed = errors.New("dead letter already replayed")
)

// ReplayStore lists dead letters and marks them replayed (sinks/postgres).
type ReplayStore interface {
	ListDeadLetters(ctx context.Context, f ledger.DeadLetterFilter) ([]ledger.DeadLetter, error)
	MarkReplayed(ctx context.Context, id int64) error
}

// ReplayOptions select the dead letters to replay. Only pending letters
// (not replayed yet) are ever replayed.
type ReplayOptions struct {
	// ID replays this letter only (0: every pending letter selected by
	// Source and Limit).
	ID int64
	// Source keeps letters from this source only ("kafka", "file", ...;
	// "": any).
	Source string
	// ReasonClass and HotelCode keep letters of this reason class, naming
	// this hotel ("": any), as ledger.DeadLetterFilter does.
	ReasonClass, HotelCode string
	// Limit replays at most this many letters, oldest first (0: all).
	Limit int
	// BatchSize is the number of letters per Process call (default 100).
	BatchSize int
	// DryRun parses the letters and reports what would happen, writing
	// nothing anywhere.
	DryRun bool
	Logger *slog.Logger
}

// ReplayFailure is a letter that still fails; it stays pending.
type ReplayFailure struct {
	ID                          int64
	Source, Partition, Position string // where the message first came from
	Reason                      string // why it fails now (no personal data)
}

// ReplayReport says what a Replay did (or, in a dry run, would do).
type ReplayReport struct {
	DryRun bool
	// Letters is the number of letters examined.
	Letters int
	// Replayed letters now parse and were accepted by every sink, and are
	// marked replayed; in a dry run, the letters that parse.
	Replayed int
	// Reservations is, in a dry run, the number of reservations the
	// letters that parse hold (0 otherwise).
	Reservations int
	// Outcomes counts every examined letter by outcome (empty in a dry
	// run: the sinks are not asked).
	Outcomes map[Outcome]int
	// StillFailing counts the letters that fail again; they stay pending.
	StillFailing int
	// Failures are the first 1000 of them, with the current reason.
	Failures []ReplayFailure
}

func (r *ReplayReport) fail(d *ledger.DeadLetter, reason string) {
	r.StillFailing++
	if len(r.Failures) < maxReportedFailures {
		r.Failures = append(r.Failures, ReplayFailure{
			ID: d.ID, Source: d.Source, Partition: d.Partition, Position: d.Position, Reason: reason,
		})
	}
}

// Replay runs pending dead letters through proc again, in id order and in
// batches: typically after a mapping was fixed, with a proc whose parser
// uses the new mapping. Each letter's (redacted) message becomes a Message
// {Source: ReplaySource, Partition: ReplayPartition, Position: letter id}.
// A letter whose message is now stored (or found stale or duplicate by the
// version guard) is marked replayed and gets one audit row; a letter that
// still fails stays pending as it is, and Replay writes neither a second
// dead letter nor an audit row for it (see replayLedger).
//
// Replay is safe to run again after a failure: letters already applied
// but not yet marked come out duplicate and are marked then. On error the
// report covers the batches done so far.
func Replay(ctx context.Context, store ReplayStore, proc *Processor, opts ReplayOptions) (ReplayReport, error) {
	rep := ReplayReport{DryRun: opts.DryRun, Outcomes: map[Outcome]int{}}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.Limit < 0 {
		return rep, fmt.Errorf("replay: limit %d: must be >= 0", opts.Limit)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	rl := &replayLedger{next: proc.cfg.Ledger, reasons: map[string]string{}}
	cfg := proc.cfg
	cfg.Ledger = rl
	rp, err := NewProcessor(cfg)
	if err != nil {
		return rep, err
	}
	src := &replaySource{p: rp, store: store, opts: opts, rl: rl, rep: &rep, log: log}
	if opts.ID != 0 {
		d, err := findPending(ctx, store, opts.ID, opts.Source)
		if err != nil {
			return rep, err
		}
		src.single = &d
	}
	if opts.DryRun {
		err := src.dryRun(ctx)
		return rep, err
	}
	if err := Drain(ctx, src, rp, RunOptions{Logger: log}); err != nil {
		return rep, fmt.Errorf("replay: %w", err)
	}
	return rep, nil
}

// findPending returns pending letter id, which must come from source when
// source is set.
func findPending(ctx context.Context, store ReplayStore, id int64, source string) (ledger.DeadLetter, error) {
	page, err := store.ListDeadLetters(ctx, ledger.DeadLetterFilter{AfterID: id - 1, Limit: 1})
	if err != nil {
		return ledger.DeadLetter{}, fmt.Errorf("replay: %w", err)
	}
	switch {
	case len(page) == 0 || page[0].ID != id:
		return ledger.DeadLetter{}, fmt.Errorf("replay: %w: id %d", ErrLetterNotFound, id)
	case source != "" && page[0].Source != source:
		return ledger.DeadLetter{}, fmt.Errorf("replay: %w: id %d from source %q (it comes from %q)",
			ErrLetterNotFound, id, source, page[0].Source)
	case !page[0].ReplayedAt.IsZero():
		return ledger.DeadLetter{}, fmt.Errorf("replay: %w: id %d at %s",
			ErrLetterReplayed, id, page[0].ReplayedAt.UTC().Format(time.RFC3339))
	}
	return page[0], nil
}

// replaySource is Replay's Source: the pending dead letters the options
// select, a page at a time in id order (or the one letter of opts.ID). A
// batch's Ack marks every letter that did not fail again as replayed and
// keeps the report. Letters that cannot be replayed (a cut message whose
// whole copy is not archived) are reported at once and left out of the
// batches. Not safe for concurrent use.
type replaySource struct {
	p      *Processor
	store  ReplayStore
	opts   ReplayOptions
	rl     *replayLedger
	rep    *ReplayReport
	log    *slog.Logger
	single *ledger.DeadLetter // opts.ID's letter, until handed out
	after  int64              // the last id listed
	done   bool
	cur    []ledger.DeadLetter // the letters of the batch last handed out
}

// Next lists the next page of letters and makes them messages; io.EOF
// once the selection (or opts.Limit) is exhausted.
func (s *replaySource) Next(ctx context.Context) (Batch, error) {
	for !s.done {
		var page []ledger.DeadLetter
		if s.single != nil { // opts.ID's one letter
			page, s.single, s.done = []ledger.DeadLetter{*s.single}, nil, true
		} else {
			n := s.opts.BatchSize
			if s.opts.Limit > 0 {
				n = min(n, s.opts.Limit-s.rep.Letters)
			}
			if n <= 0 {
				break
			}
			// Paging by id, not by "still pending", so that letters that
			// fail again are not fetched again.
			var err error
			page, err = s.store.ListDeadLetters(ctx, ledger.DeadLetterFilter{
				Source: s.opts.Source, ReasonClass: s.opts.ReasonClass, HotelCode: s.opts.HotelCode,
				PendingOnly: true, AfterID: s.after, Limit: n,
			})
			if err != nil {
				return Batch{}, err
			}
			if len(page) == 0 {
				break
			}
			s.after = page[len(page)-1].ID
			s.done = len(page) < n
		}
		b, err := s.batch(ctx, page)
		if err != nil {
			return Batch{}, err
		}
		if len(b.Messages) > 0 {
			return b, nil
		}
	}
	s.done = true
	return Batch{}, io.EOF
}

// batch makes the messages of letters, reporting those that cannot be
// replayed.
func (s *replaySource) batch(ctx context.Context, letters []ledger.DeadLetter) (Batch, error) {
	now := time.Now()
	msgs := make([]Message, 0, len(letters))
	kept := letters[:0:0]
	for i := range letters {
		// A truncated letter is replayed from its archived copy
		// (deadletter.go); without one it stays pending, reported.
		value, unreplayable, err := s.p.letterValue(ctx, &letters[i])
		if err != nil {
			return Batch{}, err
		}
		if unreplayable != "" {
			s.rep.Letters++
			s.rep.fail(&letters[i], unreplayable)
			continue
		}
		kept = append(kept, letters[i])
		// The letter's id is its position: replaying the same letter
		// twice (a crash before the mark) adds no second audit row.
		msgs = append(msgs, Message{
			Value: value, Source: ReplaySource, Partition: ReplayPartition,
			Position: strconv.FormatInt(letters[i].ID, 10), ReceivedAt: now,
		})
	}
	s.cur = kept
	if len(kept) == 0 {
		return Batch{}, nil
	}
	return Batch{
		Messages: msgs,
		Name:     fmt.Sprintf("dead letters %d-%d", kept[0].ID, kept[len(kept)-1].ID),
		Ack:      func(ctx context.Context, outcomes []Outcome) error { return s.ack(ctx, kept, msgs, outcomes) },
	}, nil
}

// ack marks the letters applied this time as replayed and keeps the
// report; a letter that failed again stays pending with its new reason.
func (s *replaySource) ack(ctx context.Context, letters []ledger.DeadLetter, msgs []Message, outcomes []Outcome) error {
	s.rep.Letters += len(letters)
	for i, o := range outcomes {
		s.rep.Outcomes[o]++
		if o == OutcomeDeadLettered {
			s.rep.fail(&letters[i], s.rl.take(msgs[i].Position))
			continue
		}
		id := letters[i].ID
		if err := s.p.retry(ctx, "mark replayed", func() error { return s.store.MarkReplayed(ctx, id) }); err != nil {
			return fmt.Errorf("dead letter %d was applied but not marked replayed (the next replay marks it): %w", id, err)
		}
		s.rep.Replayed++
	}
	s.log.Info("replay batch done", "letters", len(letters), "last_id", letters[len(letters)-1].ID, "dry_run", false,
		"replayed", s.rep.Replayed, "still_failing", s.rep.StillFailing)
	return nil
}

// dryRun parses every selected letter as Replay would and reports what a
// replay would do; nothing is written or marked.
func (s *replaySource) dryRun(ctx context.Context) error {
	for {
		b, err := s.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		s.rep.Letters += len(s.cur)
		for i := range b.Messages {
			it := s.p.parseOne(&b.Messages[i])
			if it.err != nil {
				return it.err
			}
			if it.reason != "" {
				s.rep.fail(&s.cur[i], it.reason)
				continue
			}
			s.rep.Replayed++
			s.rep.Reservations += len(it.recs)
		}
		s.log.Info("replay batch done", "letters", len(s.cur), "last_id", s.cur[len(s.cur)-1].ID, "dry_run", true,
			"replayed", s.rep.Replayed, "still_failing", s.rep.StillFailing)
	}
}

// replayLedger is the Ledger of the Processor that Replay runs. A replay is
// not a new arrival, so it changes the ledger's rules without changing the
// Processor:
//
//   - a letter that fails again already has its row in dead_letters;
//     writing another (source "dlq") would duplicate it, so dead letters
//     are not written, only their reasons kept for the report;
//   - an audit row takes its (source, partition, position) for good, so a
//     failed attempt's row would make a later, successful replay of the
//     same letter unauditable; audit rows are written only for messages
//     that were applied. The first failure stays recorded in the audit
//     row of the original source position.
//
// It is used by one Replay call, one batch at a time: not safe for
// concurrent use.
type replayLedger struct {
	next    Ledger
	reasons map[string]string // failure reason by position (letter id)
}

// WriteDeadLetters keeps the reasons and writes nothing.
func (l *replayLedger) WriteDeadLetters(_ context.Context, letters []ledger.DeadLetter) error {
	for _, d := range letters {
		l.reasons[d.Position] = d.Reason
	}
	return nil
}

// WriteAudit writes the rows of the messages that were applied.
func (l *replayLedger) WriteAudit(ctx context.Context, rows []ledger.AuditRow) error {
	kept := make([]ledger.AuditRow, 0, len(rows))
	for _, r := range rows {
		if r.Outcome != string(OutcomeDeadLettered) {
			kept = append(kept, r)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return l.next.WriteAudit(ctx, kept)
}

// take returns and forgets the failure reason of position.
func (l *replayLedger) take(position string) string {
	r := l.reasons[position]
	delete(l.reasons, position)
	return r
}
