package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/resingest/resingest/ledger"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// Key resolution (DESIGN.md): a record with a confirmation number but no
// hotel code is applied to the one stored reservation with that
// confirmation; held (table pending_records) while there is none, and
// applied in version order as soon as one is stored, by whichever worker
// stores it; dead-lettered as ambiguous when several hotels hold the
// confirmation and no other id of the record decides, and as unresolved
// when held longer than the pending TTL. No store ever sees a record
// without a hotel code.
//
// Races: a worker storing the booking and another holding its cancel at
// the same moment. Each side writes first and looks second, each in its
// own statement after its own commit: the booking's writer looks for held
// records after the booking is committed; the holder looks for the
// booking again after the hold is committed. In READ COMMITTED a statement
// sees every transaction committed before it starts, so if the writer's
// look missed the hold (it started before the hold committed), the
// holder's look, which starts after that, sees the booking. At least one
// of them releases the record; both may, which is harmless: the writes are
// idempotent and version-guarded, and a held record is settled (deleted,
// audited) by whoever deletes its row. The settler may meet the holder's
// own "held" audit row while it is being written; the store then looks
// again until the row has its outcome (sinks/postgres FinishPending).

// Outcomes of key resolution, as the audit trail records them.
const (
	// OutcomeHeld: the message's records without a hotel code wait for a
	// reservation with their confirmation (its other records are stored).
	OutcomeHeld Outcome = "held"
	// OutcomeResolved: a record without a hotel code was applied to the
	// one reservation with its confirmation, at once or after being held.
	OutcomeResolved Outcome = "resolved"
)

// Dead-letter reason classes of key resolution (the reason starts with
// the class).
const (
	ReasonAmbiguous  = "ambiguous"
	ReasonUnresolved = "unresolved"
)

// KeyResolver is the store side of key resolution (sinks/postgres.Sink).
type KeyResolver interface {
	Candidates(ctx context.Context, confs []string) (map[string][]ledger.Candidate, error)
	Hold(ctx context.Context, recs []ledger.PendingRecord) error
	PendingConfirmations(ctx context.Context, confs []string) ([]string, error)
	PendingFor(ctx context.Context, confs []string) ([]ledger.PendingRecord, error)
	ExpiredPending(ctx context.Context, cutoff time.Time, limit int) ([]ledger.PendingRecord, error)
	FinishPending(ctx context.Context, done []ledger.PendingDone) (int, error)
}

// DefaultPendingTTL is how long a record waits for its reservation before
// it is dead-lettered as unresolved.
const DefaultPendingTTL = 14 * 24 * time.Hour

// choose picks the candidate a record belongs to: the only one, or the
// only one sharing another id (itinerary, CRS, channel number) with the
// record. ok is false when none or several remain.
func choose(r *reservation.Reservation, cands []ledger.Candidate) (c ledger.Candidate, ok bool) {
	if len(cands) == 1 {
		return cands[0], true
	}
	var match []ledger.Candidate
	for _, cand := range cands {
		for _, id := range r.ExternalIDs {
			if id.Value != "" && id.Value != r.Confirmation && slices.Contains(cand.IDs, id.Value) {
				match = append(match, cand)
				break
			}
		}
	}
	if len(match) == 1 {
		return match[0], true
	}
	return ledger.Candidate{}, false
}

// applyKey gives r the candidate's hotel (and its chain, when r has none).
func applyKey(r *reservation.Reservation, c ledger.Candidate) {
	r.HotelCode = c.HotelCode
	if r.ChainCode == "" {
		r.ChainCode = c.ChainCode
	}
}

func ambiguousReason(n int) string {
	return fmt.Sprintf("%s: %d hotels hold this confirmation number and no other id of the record decides", ReasonAmbiguous, n)
}

// resolveKeys runs before the sinks. Each record without a hotel code is
// given the hotel of the one stored reservation with its confirmation; a
// message with a record several hotels may own gets a dead-letter reason;
// records with no reservation yet are archived, held and taken out of
// their message (marked held). Held records whose reservation appeared
// meanwhile are released before it returns.
func (p *Processor) resolveKeys(ctx context.Context, msgs []Message, items []parsed) error {
	var confs []string
	for i := range items {
		for j := range items[i].recs {
			if r := &items[i].recs[j].Reservation; r.HotelCode == "" {
				confs = append(confs, r.Confirmation)
			}
		}
	}
	if len(confs) == 0 {
		return nil
	}
	kr := p.cfg.Resolver
	if kr == nil {
		// Nothing to resolve with (no Postgres store): refuse as before.
		for i := range items {
			for j := range items[i].recs {
				if r := &items[i].recs[j].Reservation; r.HotelCode == "" {
					items[i] = parsed{msgID: items[i].msgID, class: "invalid reservation",
						reason: fmt.Sprintf("reservation %d: %v (key resolution needs the postgres store)", j+1, r.ValidateKeyed())}
					break
				}
			}
		}
		return nil
	}
	var cands map[string][]ledger.Candidate
	if err := p.retry(ctx, "key resolution", func() (err error) {
		cands, err = kr.Candidates(ctx, uniq(confs))
		return err
	}); err != nil {
		return err
	}
	var hold []ledger.PendingRecord
	var holdRecs []sinks.Record
	var holdItem []int // the item of each held record
	for i := range items {
		it := &items[i]
		var keep []sinks.Record
		var held []sinks.Record
		for j := range it.recs {
			r := &it.recs[j].Reservation
			if r.HotelCode != "" {
				keep = append(keep, it.recs[j])
				continue
			}
			switch c, ok := choose(r, cands[r.Confirmation]); {
			case ok:
				applyKey(r, c)
				it.resolved = true
				keep = append(keep, it.recs[j])
			case len(cands[r.Confirmation]) > 1:
				it.reason, it.class = fmt.Sprintf("reservation %d: %s", j+1, ambiguousReason(len(cands[r.Confirmation]))), ReasonAmbiguous
			default:
				held = append(held, it.recs[j])
			}
			if it.reason != "" {
				break
			}
		}
		if it.reason != "" {
			it.recs, it.resolved = nil, false
			continue
		}
		if len(held) == 0 {
			continue
		}
		it.recs, it.held, it.heldRecs = keep, true, held
		m := &msgs[i]
		// The body of the dead letter it may become, built now while the
		// message is at hand, with the same bounds as any dead letter.
		letter, err := p.deadLetter(ctx, m, it)
		if err != nil {
			return fmt.Errorf("pipeline: held message: %w", err)
		}
		for n, rec := range held {
			holdRecs = append(holdRecs, rec)
			holdItem = append(holdItem, i)
			hold = append(hold, ledger.PendingRecord{
				Reservation: rec.Reservation, Version: rec.Version.String(), GuestIndexes: rec.GuestIndexes,
				Source: m.Source, Partition: m.Partition, Position: m.Position, Ordinal: n,
				MessageID: it.msgID, ReceivedAt: m.ReceivedAt, Message: letter.Message,
				MessageBytes: letter.MessageBytes, Truncated: letter.Truncated, LetterKey: letter.ArchiveKey,
			})
		}
	}
	if len(hold) == 0 {
		return nil
	}
	if a := p.cfg.Archive; a != nil {
		// The archive keeps every message, held ones too (under the
		// unknown hotel); the key goes with the held record to its store.
		results, err := p.writeWithRetry(ctx, *a, holdRecs)
		if err != nil {
			return err
		}
		for n := range hold {
			if results[n].Outcome == sinks.Failed {
				return fmt.Errorf("%s: refused a held record: %w", a.Name, results[n].Err)
			}
			hold[n].ArchiveKey = results[n].Key
		}
		// The lineage names the archived copy of a held record too.
		seen := map[int]int{}
		for n := range hold {
			i := holdItem[n]
			items[i].heldRecs[seen[i]].ArchiveKey = results[n].Key
			seen[i]++
		}
	}
	if err := p.retry(ctx, "hold", func() error { return kr.Hold(ctx, hold) }); err != nil {
		return err
	}
	// The holder's second look (see the comment at the top of the file).
	held := make([]string, len(hold))
	for n := range hold {
		held[n] = hold[n].Reservation.Confirmation
	}
	return p.release(ctx, uniq(held), true)
}

// releaseStored runs after the stores acknowledged recs: records held for
// their confirmations are applied now (the writer's look).
func (p *Processor) releaseStored(ctx context.Context, recs []sinks.Record) error {
	if p.cfg.Resolver == nil || len(recs) == 0 || len(p.cfg.Stores) == 0 {
		return nil
	}
	confs := make([]string, len(recs))
	for i := range recs {
		confs[i] = recs[i].Reservation.Confirmation
	}
	return p.release(ctx, uniq(confs), false)
}

// release applies the records held for confs whose reservation is stored
// now, in version order, and settles them. known says confs are known to
// have held records (skips the index look-up).
func (p *Processor) release(ctx context.Context, confs []string, known bool) error {
	kr := p.cfg.Resolver
	if !known {
		if err := p.retry(ctx, "key resolution", func() (err error) {
			confs, err = kr.PendingConfirmations(ctx, confs)
			return err
		}); err != nil {
			return err
		}
	}
	if len(confs) == 0 {
		return nil
	}
	var cands map[string][]ledger.Candidate
	if err := p.retry(ctx, "key resolution", func() (err error) {
		cands, err = kr.Candidates(ctx, confs)
		return err
	}); err != nil {
		return err
	}
	var held []ledger.PendingRecord
	if err := p.retry(ctx, "key resolution", func() (err error) {
		held, err = kr.PendingFor(ctx, confs)
		return err
	}); err != nil {
		return err
	}
	// rounds[k] holds the k-th record to apply of each confirmation, so
	// that each round's write sees the previous round's versions.
	var rounds [][]int
	var done []ledger.PendingDone
	var recs []sinks.Record
	perConf := map[string]int{}
	for n := range held {
		h := &held[n]
		r := h.Reservation
		c, ok := choose(&r, cands[r.Confirmation])
		if !ok {
			if len(cands[r.Confirmation]) > 1 {
				done = append(done, p.heldLetter(h, ambiguousReason(len(cands[r.Confirmation]))))
			}
			continue // none stored yet: stays held
		}
		applyKey(&r, c)
		v, err := reservation.VersionOf(&r, h.Position)
		if err != nil {
			// It was computed the same way when the record was held.
			return fmt.Errorf("pipeline: held record %d: %w", h.ID, err)
		}
		k := perConf[r.Confirmation]
		perConf[r.Confirmation]++
		if k == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[k] = append(rounds[k], len(recs))
		recs = append(recs, sinks.Record{Reservation: r, Version: v, ArchiveKey: h.ArchiveKey, GuestIndexes: h.GuestIndexes})
		done = append(done, ledger.PendingDone{Record: h, HotelCode: c.HotelCode})
	}
	if len(recs) > 0 {
		outcome, reason, err := p.applyRounds(ctx, recs, rounds)
		if err != nil {
			return err
		}
		n := 0
		for d := range done {
			if done[d].Outcome != "" {
				continue // a dead letter
			}
			if reason[n] != "" {
				done[d] = p.heldLetter(done[d].Record, reason[n])
			} else {
				done[d].Outcome = outcome[n]
			}
			n++
		}
	}
	if len(done) == 0 {
		return nil
	}
	var settled int
	if err := p.retry(ctx, "settle held records", func() (err error) {
		settled, err = kr.FinishPending(ctx, done)
		return err
	}); err != nil {
		return err
	}
	p.log.Info("held records released", "records", len(done), "settled", settled)
	return nil
}

// applyRounds writes recs to every store, round by round, and returns per
// record its audit outcome ("resolved" when applied, "stale" when a newer
// version was stored) or the reason a store refused it for good.
func (p *Processor) applyRounds(ctx context.Context, recs []sinks.Record, rounds [][]int) (outcome, reason []string, err error) {
	best := make([]sinks.Outcome, len(recs))
	reason = make([]string, len(recs))
	for _, round := range rounds {
		// A record a store would refuse for good is stored in none
		// (checkStores), as on the way in.
		sub := make([]sinks.Record, 0, len(round))
		kept := round[:0:0]
		for _, i := range round {
			if reason[i], _ = p.checkStores(&recs[i]); reason[i] == "" {
				sub, kept = append(sub, recs[i]), append(kept, i)
			}
		}
		round = kept
		all := make([][]sinks.Result, len(p.cfg.Stores))
		g, gctx := errgroup.WithContext(ctx)
		for s, st := range p.cfg.Stores {
			g.Go(func() error {
				var err error
				all[s], err = p.writeWithRetry(gctx, st, sub)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, nil, err
		}
		for s, st := range p.cfg.Stores {
			for k, res := range all[s] {
				i := round[k]
				if res.Outcome == sinks.Failed {
					if reason[i] == "" {
						reason[i] = fmt.Sprintf("%s refused the record: %v", st.Name, res.Err)
					}
				} else if rank(res.Outcome) > rank(best[i]) {
					best[i] = res.Outcome
				}
			}
		}
	}
	outcome = make([]string, len(recs))
	for i, o := range best {
		if o == sinks.Stale {
			outcome[i] = string(OutcomeStale)
		} else {
			// Stored, or found stored at this very version (a release
			// redone after a crash): the record is applied.
			outcome[i] = string(OutcomeResolved)
		}
	}
	return outcome, reason, nil
}

// heldLetter settles a held record as a dead letter with reason.
func (p *Processor) heldLetter(h *ledger.PendingRecord, reason string) ledger.PendingDone {
	class := reason
	if i := strings.IndexByte(reason, ':'); i >= 0 {
		class = reason[:i]
	}
	p.cfg.Metrics.deadLetter(class)
	return ledger.PendingDone{
		Record: h, Outcome: string(OutcomeDeadLettered), Error: reason,
		// No hotel code: the record has none (that is why it was held).
		Letter: &ledger.DeadLetter{
			Source: h.Source, Partition: h.Partition, Position: h.Position, MessageID: h.MessageID,
			Message: h.Message, MessageBytes: h.MessageBytes, Truncated: h.Truncated, ArchiveKey: h.LetterKey,
			Reason: reason, ReasonClass: class, ReceivedAt: h.ReceivedAt,
		},
	}
}

// SweepPending dead-letters, as unresolved, the records held since before
// now-ttl, up to limit of them, and returns how many it settled. Workers
// call it periodically (RunPendingSweeper); several may run at once.
func (p *Processor) SweepPending(ctx context.Context, ttl time.Duration, now time.Time, limit int) (int, error) {
	kr := p.cfg.Resolver
	if kr == nil {
		return 0, nil
	}
	expired, err := kr.ExpiredPending(ctx, now.Add(-ttl), limit)
	if err != nil || len(expired) == 0 {
		return 0, err
	}
	done := make([]ledger.PendingDone, len(expired))
	reason := fmt.Sprintf("%s: no reservation with this confirmation number was stored within the pending TTL (%s)", ReasonUnresolved, ttl)
	for i := range expired {
		done[i] = p.heldLetter(&expired[i], reason)
	}
	n, err := kr.FinishPending(ctx, done)
	if err == nil && n > 0 {
		p.log.Warn("held records dead-lettered as unresolved", "records", n, "pending_ttl", ttl)
	}
	return n, err
}

// pendingStatser is the optional ability of a KeyResolver to say how many
// records are held and since when (the pending gauges).
type pendingStatser interface {
	PendingStats(ctx context.Context) (records int, oldest time.Time, err error)
}

// RunPendingSweeper calls SweepPending every interval until ctx ends, and
// then updates resingest_pending_records and
// resingest_pending_oldest_seconds when the resolver can say. Errors are
// logged and retried at the next tick: a store outage shows in the
// batches' own errors.
func (p *Processor) RunPendingSweeper(ctx context.Context, ttl, interval time.Duration) {
	if p.cfg.Resolver == nil {
		return
	}
	const limit = 500
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := p.SweepPending(ctx, ttl, time.Now(), limit)
			if err != nil {
				if ctx.Err() == nil {
					p.log.Warn("sweeping held records failed", "err", err)
				}
				break
			}
			if n < limit {
				break
			}
		}
		if ps, ok := p.cfg.Resolver.(pendingStatser); ok {
			if n, oldest, err := ps.PendingStats(ctx); err == nil {
				p.cfg.Metrics.pending(n, oldest, time.Now())
			} else if ctx.Err() == nil {
				p.log.Warn("reading the held records' gauges failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// uniq returns the distinct values of s, sorted.
func uniq(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
