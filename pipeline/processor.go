package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/resingest/resingest/ledger"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// Parser extracts reservations from one raw message (parse.Parser).
type Parser interface {
	Parse(msg []byte) ([]reservation.Reservation, error)
}

// MappingParser is a Parser that also names the mapping that extracted a
// message (parse.Parser): the lineage records it, so the console can show
// each hotel's feeds by mapping.
type MappingParser interface {
	ParseMapping(msg []byte) ([]reservation.Reservation, string, error)
}

// Sink writes a batch of records and reports one result per record
// (sinks/postgres, sinks/dynamo, sinks/archive).
type Sink interface {
	Write(ctx context.Context, recs []sinks.Record) ([]sinks.Result, error)
}

// RecordChecker is the optional ability of a store to tell, without
// writing, that it would refuse a record for good (sinks/postgres,
// sinks/dynamo). The Processor asks every store before writing to any.
type RecordChecker interface {
	Check(rec *sinks.Record) error
}

// Ledger keeps the audit trail and the dead letters (sinks/postgres). Both
// writes must ignore rows whose (source, partition, position) is already
// stored, so a redelivered batch adds nothing.
type Ledger interface {
	WriteAudit(ctx context.Context, rows []ledger.AuditRow) error
	WriteDeadLetters(ctx context.Context, letters []ledger.DeadLetter) error
}

// Sealer encrypts guests' personal data before any sink sees it and seals
// dead-lettered messages (pii.Keyring).
type Sealer interface {
	SealGuests(guests []reservation.Guest) ([]reservation.Guest, []pii.GuestIndex, error)
	SealBlob(purpose string, plain []byte) ([]byte, error)
	OpenBlob(ctx context.Context, purpose string, b []byte) ([]byte, error)
}

// DeadLetterPurpose binds sealed dead-letter messages (see Sealer).
const DeadLetterPurpose = "dead_letter"

// NamedSink is a sink with the name used in metrics, logs and dead-letter
// reasons.
type NamedSink struct {
	Name string
	Sink Sink
}

// Config assembles a Processor.
type Config struct {
	Parser Parser
	// Archive, when set, runs before the stores so that the archive key can
	// be recorded on each reservation. Records carry the redacted message
	// (sinks.Record.Raw) only when it is set.
	Archive *NamedSink
	// Stores are written in parallel (Postgres, DynamoDB).
	Stores []NamedSink
	Ledger Ledger
	// Metrics may be nil.
	Metrics *Metrics
	Logger  *slog.Logger
	// Backoff between retries of transient sink errors.
	Backoff sinks.Backoff
	// Parallelism bounds parsing goroutines (default GOMAXPROCS).
	Parallelism int
	// Sealer, when set, encrypts every guest's personal fields (records
	// then carry blind indexes) and the messages of dead letters. When nil
	// they are stored plain.
	Sealer Sealer
	// StallTimeout: a store with a write in progress and no progress for
	// this long is stalled (Stalled, Watch); DefaultStallTimeout when 0.
	StallTimeout time.Duration
	// LedgerName names the Ledger's store in stall reports ("postgres"
	// when empty).
	LedgerName string
	// MaxBytes is the largest message accepted (default: the parser's
	// limit, see Processor.MaxBytes); a larger one is dead-lettered as too large
	// without being parsed (see deadletter.go).
	MaxBytes int
	// DeadLetterArchive, when set, keeps the whole redacted message of a
	// dead letter larger than DeadLetterPrefixBytes.
	DeadLetterArchive DeadLetterArchive
	// Resolver, when set, resolves the hotel code of records that carry
	// none (see resolve.go); when nil such records are dead-lettered.
	Resolver KeyResolver
}

// Processor parses a batch of messages and writes it to every sink. It is
// safe for concurrent use by several sources, each with its own batches.
type Processor struct {
	cfg   Config
	log   *slog.Logger
	watch *stallWatch
}

// NewProcessor validates cfg and returns a Processor.
func NewProcessor(cfg Config) (*Processor, error) {
	switch {
	case cfg.Parser == nil:
		return nil, errors.New("pipeline: a parser is required")
	case cfg.Ledger == nil:
		return nil, errors.New("pipeline: an audit/dead-letter ledger is required")
	case len(cfg.Stores) == 0 && cfg.Archive == nil:
		return nil, errors.New("pipeline: at least one sink is required")
	}
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = runtime.GOMAXPROCS(0)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.LedgerName == "" {
		cfg.LedgerName = "postgres"
	}
	return &Processor{cfg: cfg, log: log, watch: newStallWatch(cfg.StallTimeout)}, nil
}

// parsed is one message after parsing and validation.
type parsed struct {
	recs   []sinks.Record
	reason string // non-empty: dead-letter with this reason
	class  string // metric label of the reason
	msgID  string
	// mapping names the mapping that extracted the message ("" when the
	// parser does not say).
	mapping string
	// err is a failure that is not the message's fault (sealing its guests
	// failed): the batch is not acknowledged, nothing is dead-lettered.
	err error
	// held: records without a hotel code wait for their reservation;
	// resolved: such a record got its hotel code (resolve.go).
	held, resolved bool
	// heldRecs are the held records (their archive keys set), for the
	// message's lineage; heldRecs[n] is held with Ordinal n.
	heldRecs []sinks.Record
}

// Process handles a batch. It returns one Outcome per message, in order,
// once every record is acknowledged by every sink and the audit rows and
// dead letters are stored. An error means the batch is not fully
// acknowledged: the caller must not move its source position past any of
// these messages. ctx bounds the whole call, retries included.
func (p *Processor) Process(ctx context.Context, msgs []Message) ([]Outcome, error) {
	start := time.Now()
	items := p.parseAll(ctx, msgs)
	for i := range items {
		if items[i].err != nil {
			return nil, items[i].err
		}
	}
	if err := p.resolveKeys(ctx, msgs, items); err != nil {
		return nil, err
	}

	// Flatten the records of every good message; owner maps back.
	var recs []sinks.Record
	var owner []int
	for i := range items {
		for _, r := range items[i].recs {
			recs = append(recs, r)
			owner = append(owner, i)
		}
	}
	best := make([]sinks.Outcome, len(msgs))    // best outcome per message
	recBest := make([]sinks.Outcome, len(recs)) // and per record
	if err := p.writeSinks(ctx, msgs, items, recs, owner, best, recBest); err != nil {
		return nil, err
	}
	if err := p.releaseStored(ctx, recs); err != nil {
		return nil, err
	}

	outcomes := make([]Outcome, len(msgs))
	byMsg := make([][]int, len(msgs)) // the indexes in recs of each message's records
	for j, i := range owner {
		byMsg[i] = append(byMsg[i], j)
	}
	var letters []ledger.DeadLetter
	audit := make([]ledger.AuditRow, len(msgs))
	now := time.Now()
	for i, m := range msgs {
		it := &items[i]
		switch {
		case it.reason != "":
			outcomes[i] = OutcomeDeadLettered
			d, err := p.deadLetter(ctx, &msgs[i], it) // deadletter.go
			if err != nil {
				return nil, err
			}
			letters = append(letters, d)
			p.cfg.Metrics.deadLetter(it.class)
		case it.held:
			outcomes[i] = OutcomeHeld
		case best[i] == sinks.Stored && it.resolved:
			outcomes[i] = OutcomeResolved
		case best[i] == sinks.Stored:
			outcomes[i] = OutcomeStored
		case best[i] == sinks.Duplicate:
			outcomes[i] = OutcomeDuplicate
		default:
			outcomes[i] = OutcomeStale
		}
		audit[i] = ledger.AuditRow{
			MessageID: it.msgID, Source: m.Source, Partition: m.Partition, Position: m.Position,
			ReceivedAt: m.ReceivedAt, StoredAt: now, Outcome: string(outcomes[i]), Error: it.reason,
			Latency: now.Sub(m.ReceivedAt),
		}
		if it.reason == "" {
			audit[i].Records = lineage(it, recs, recBest, byMsg[i], outcomes[i])
		}
		p.cfg.Metrics.outcome(outcomes[i])
	}
	if len(letters) > 0 {
		if err := p.retry(ctx, "dead_letters", func() error { return p.cfg.Ledger.WriteDeadLetters(ctx, letters) }); err != nil {
			return nil, err
		}
	}
	if err := p.retry(ctx, "audit", func() error { return p.cfg.Ledger.WriteAudit(ctx, audit) }); err != nil {
		return nil, err
	}
	p.cfg.Metrics.batch(time.Since(start))
	return outcomes, nil
}

// parseAll parses and validates every message, in parallel chunks.
func (p *Processor) parseAll(ctx context.Context, msgs []Message) []parsed {
	items := make([]parsed, len(msgs))
	workers := min(p.cfg.Parallelism, len(msgs))
	var g errgroup.Group
	for w := 0; w < workers; w++ {
		g.Go(func() error {
			for i := w; i < len(msgs); i += workers {
				items[i] = p.parseOne(&msgs[i])
			}
			return nil
		})
	}
	_ = g.Wait() // the workers never fail
	return items
}

func (p *Processor) parseOne(m *Message) parsed {
	p.cfg.Metrics.in(m.Source)
	if it, ok := p.refuseOversized(m); ok {
		return it
	}
	var res []reservation.Reservation
	var mapping string
	var err error
	if mp, ok := p.cfg.Parser.(MappingParser); ok {
		res, mapping, err = mp.ParseMapping(m.Value)
	} else {
		res, err = p.cfg.Parser.Parse(m.Value)
	}
	if err != nil {
		return parsed{reason: err.Error(), class: reasonClass(err)}
	}
	it := parsed{recs: make([]sinks.Record, 0, len(res)), mapping: mapping}
	if len(res) > 0 {
		it.msgID = res[0].MessageID
	}
	var raw []byte
	for i := range res {
		if err := res[i].Validate(); err != nil {
			return parsed{msgID: it.msgID, reason: fmt.Sprintf("reservation %d: %v", i+1, err), class: "invalid reservation"}
		}
		v, err := reservation.VersionOf(&res[i], m.Position)
		if err != nil {
			return parsed{msgID: it.msgID, reason: fmt.Sprintf("reservation %d: %v", i+1, err), class: "invalid reservation"}
		}
		// Only the archive reads Raw; redacting costs about a tenth of the
		// worker's CPU, so it is skipped when there is no archive.
		if raw == nil && p.cfg.Archive != nil {
			raw = redact.Redact(m.Value)
		}
		rec := sinks.Record{Reservation: res[i], Version: v, Raw: raw}
		if p.cfg.Sealer != nil {
			guests, idx, err := p.cfg.Sealer.SealGuests(res[i].Guests)
			if err != nil {
				return parsed{err: fmt.Errorf("pipeline: seal guests: %w", err)}
			}
			rec.Reservation.Guests, rec.GuestIndexes = guests, idx
		}
		it.recs = append(it.recs, rec)
	}
	return it
}

// reasonClass is the metric label for a parse error.
func reasonClass(err error) string {
	var pe *parse.Error
	if errors.As(err, &pe) {
		return pe.Kind.Error()
	}
	return "other"
}

// writeSinks writes recs to the archive, then to every store in parallel,
// and records per message the best outcome, or a dead-letter reason for a
// record a sink refused for good. It sets each archived record's
// ArchiveKey in recs, which the lineage rows name.
func (p *Processor) writeSinks(ctx context.Context, msgs []Message, items []parsed, recs []sinks.Record, owner []int, best, recBest []sinks.Outcome) error {
	if len(recs) == 0 {
		return nil
	}
	// orig[j] is the index in caller of recs[j] (refused records are
	// taken out below, into new slices).
	caller := recs
	orig := make([]int, len(recs))
	for j := range orig {
		orig[j] = j
	}
	// refuse dead-letters the messages of records a sink refused for good;
	// store outcomes (not the archive's) feed the per-message and
	// per-record summaries.
	refuse := func(sink string, results []sinks.Result, owner []int, store bool) {
		for j, r := range results {
			if r.Outcome == sinks.Failed {
				it := &items[owner[j]]
				if it.reason == "" {
					it.reason, it.class = fmt.Sprintf("%s refused the record: %v", sink, r.Err), sink+" refused"
				}
				continue
			}
			if store && rank(r.Outcome) > rank(best[owner[j]]) {
				best[owner[j]] = r.Outcome
			}
			if store && rank(r.Outcome) > rank(recBest[orig[j]]) {
				recBest[orig[j]] = r.Outcome
			}
		}
	}
	// A record a store would refuse for good (an item too large for
	// DynamoDB, a value Postgres cannot hold) is refused before the
	// archive or any store sees it: its message is dead-lettered whole,
	// not stored in the stores that could take it while another cannot.
	for j := range recs {
		if it := &items[owner[j]]; it.reason == "" {
			it.reason, it.class = p.checkStores(&recs[j])
		}
	}
	recs, owner, orig = keepAccepted(items, recs, owner, orig)
	if len(recs) == 0 {
		return nil
	}
	if a := p.cfg.Archive; a != nil {
		results, err := p.writeWithRetry(ctx, *a, recs)
		if err != nil {
			return err
		}
		for j := range recs { // before the stores run: they store the key
			recs[j].ArchiveKey = results[j].Key
			caller[orig[j]].ArchiveKey = results[j].Key // the lineage rows name it too
		}
		refuse(a.Name, results, owner, false)
		// A message the archive refused is dead-lettered: keep it out of
		// the stores too, so a replay applies it whole.
		recs, owner, orig = keepAccepted(items, recs, owner, orig)
	}
	all := make([][]sinks.Result, len(p.cfg.Stores))
	g, gctx := errgroup.WithContext(ctx)
	for i, s := range p.cfg.Stores {
		g.Go(func() error {
			var err error
			all[i], err = p.writeWithRetry(gctx, s, recs)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, s := range p.cfg.Stores {
		refuse(s.Name, all[i], owner, true)
	}
	return nil
}

// checkStores asks every store that can tell (RecordChecker) whether it
// would refuse rec for good: the dead-letter reason and class of the
// first refusal, "" when every store would take it.
func (p *Processor) checkStores(rec *sinks.Record) (reason, class string) {
	for _, s := range p.cfg.Stores {
		if c, ok := s.Sink.(RecordChecker); ok {
			if err := c.Check(rec); err != nil {
				return fmt.Sprintf("%s refused the record: %v", s.Name, err), s.Name + " refused"
			}
		}
	}
	return "", ""
}

// keepAccepted returns the records whose message is not dead-lettered,
// with their owners and original indexes: the same slices when every one
// is (the usual batch), new ones otherwise (the caller's are not changed).
func keepAccepted(items []parsed, recs []sinks.Record, owner, orig []int) ([]sinks.Record, []int, []int) {
	if !slices.ContainsFunc(owner, func(i int) bool { return items[i].reason != "" }) {
		return recs, owner, orig
	}
	kept, keptOwner, keptOrig := recs[:0:0], owner[:0:0], orig[:0:0]
	for j := range recs {
		if items[owner[j]].reason == "" {
			kept, keptOwner, keptOrig = append(kept, recs[j]), append(keptOwner, owner[j]), append(keptOrig, orig[j])
		}
	}
	return kept, keptOwner, keptOrig
}

// rank orders outcomes for the per-message summary.
func rank(o sinks.Outcome) int {
	switch o {
	case sinks.Stored:
		return 3
	case sinks.Duplicate:
		return 2
	case sinks.Stale:
		return 1
	}
	return 0
}

// writeWithRetry writes recs to one sink, retrying only the records that
// failed with a transient error, until all are acknowledged or ctx ends.
// It does not change recs: the stores run on the same recs in parallel.
func (p *Processor) writeWithRetry(ctx context.Context, s NamedSink, recs []sinks.Record) ([]sinks.Result, error) {
	results := make([]sinks.Result, len(recs))
	pending := make([]int, len(recs))
	for i := range pending {
		pending[i] = i
	}
	p.watch.begin(s.Name)
	defer p.watch.end(s.Name)
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := p.cfg.Backoff.Wait(ctx, attempt-1); err != nil {
				return nil, fmt.Errorf("%s: %d records not acknowledged: %w", s.Name, len(pending), err)
			}
		}
		sub := make([]sinks.Record, len(pending))
		for k, i := range pending {
			sub[k] = recs[i]
		}
		t0 := time.Now()
		res, err := s.Sink.Write(ctx, sub)
		p.cfg.Metrics.sinkWrite(s.Name, time.Since(t0))
		if err == nil && len(res) != len(sub) {
			// A broken sink: without a result per record nothing can be
			// acknowledged (and indexing res would panic).
			err = fmt.Errorf("returned %d results for %d records", len(res), len(sub))
		}
		if err != nil && len(res) != len(sub) {
			if shouldRetry(err) && ctx.Err() == nil {
				p.noteRetry(s.Name, len(sub), attempt+1, err)
				continue
			}
			return nil, fmt.Errorf("%s: write failed: %w", s.Name, err)
		}
		var again []int
		var againErr error
		for k, i := range pending {
			r := res[k]
			if r.Outcome == sinks.Failed && shouldRetry(r.Err) {
				again, againErr = append(again, i), r.Err
				continue
			}
			results[i] = r
			p.cfg.Metrics.sinkRecord(s.Name, r.Outcome)
		}
		if len(again) < len(pending) {
			p.watch.progressed(s.Name)
		}
		if len(again) > 0 {
			p.noteRetry(s.Name, len(again), attempt+1, againErr)
		}
		pending = again
	}
	return results, nil
}

// retry runs a ledger write until it succeeds, fails for good, or ctx ends.
func (p *Processor) retry(ctx context.Context, what string, write func() error) error {
	return p.retryStore(ctx, p.cfg.LedgerName, what, write)
}

// retryStore is retry for a write to the store named store (in stall
// reports and metrics).
func (p *Processor) retryStore(ctx context.Context, store, what string, write func() error) error {
	p.watch.begin(store)
	defer p.watch.end(store)
	for attempt := 0; ; attempt++ {
		err := write()
		if err == nil {
			p.watch.progressed(store)
			return nil
		}
		if !shouldRetry(err) || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		p.noteRetry(what, 1, attempt+1, err)
		if werr := p.cfg.Backoff.Wait(ctx, attempt); werr != nil {
			return fmt.Errorf("%s: %w (last error: %v)", what, werr, err)
		}
	}
}
