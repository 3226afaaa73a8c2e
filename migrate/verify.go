package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// HotelSum is one hotel's reservation count and checksum: the XOR of
// postgres.ReservationChecksum over its reservations (the algorithm is
// documented there). XOR is order-free, so every store can sum in its own
// order (Postgres: bit_xor, in SQL).
type HotelSum struct {
	Count int64
	Sum   uint64
}

func (h *HotelSum) add(confirmation, version string) {
	h.Count++
	h.Sum ^= postgres.ReservationChecksum(confirmation, version)
}

// Sums are per-hotel sums keyed by hotel code.
type Sums map[string]HotelSum

// Checksummer sums the reservations Postgres holds per hotel
// (*postgres.Sink).
type Checksummer interface {
	ReservationChecksums(ctx context.Context, fn func(hotel string, count int64, sum uint64)) error
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Dynamo, when set, is scanned too; nil compares Postgres only.
	Dynamo      dynamo.Scanner
	DynamoTable string
}

// HotelDiff is a hotel whose sums differ between the source and a store.
// Dynamo is nil when DynamoDB was not compared.
type HotelDiff struct {
	Hotel            string
	Source, Postgres HotelSum
	Dynamo           *HotelSum
}

// Report is Verify's result.
type Report struct {
	// Totals over all hotels; Dynamo is zero when it was not compared.
	Source, Postgres, Dynamo HotelSum
	Rejects                  int64 // malformed source rows, left out of the sums
	Diffs                    []HotelDiff
}

// OK reports whether the source and the stores agree.
func (r *Report) OK() bool { return len(r.Diffs) == 0 }

// Write prints the totals and one line per differing hotel.
func (r *Report) Write(w io.Writer) error {
	line := func(name string, s HotelSum) string { return fmt.Sprintf("%s %d rows sum %016x", name, s.Count, s.Sum) }
	if _, err := fmt.Fprintf(w, "total: %s, %s", line("source", r.Source), line("postgres", r.Postgres)); err != nil {
		return err
	}
	if r.Dynamo != (HotelSum{}) || hasDynamo(r.Diffs) {
		fmt.Fprintf(w, ", %s", line("dynamodb", r.Dynamo))
	}
	fmt.Fprintf(w, " (%d malformed source rows not counted)\n", r.Rejects)
	for _, d := range r.Diffs {
		fmt.Fprintf(w, "hotel %s differs: %s, %s", d.Hotel, line("source", d.Source), line("postgres", d.Postgres))
		if d.Dynamo != nil {
			fmt.Fprintf(w, ", %s", line("dynamodb", *d.Dynamo))
		}
		fmt.Fprintln(w)
	}
	if r.OK() {
		_, err := fmt.Fprintln(w, "no differences")
		return err
	}
	_, err := fmt.Fprintf(w, "%d hotels differ\n", len(r.Diffs))
	return err
}

func hasDynamo(ds []HotelDiff) bool { return len(ds) > 0 && ds[0].Dynamo != nil }

// Verify compares the newest version of every key in srcs (well-formed
// rows only) with what Postgres and, optionally, DynamoDB hold: counts and
// checksums of confirmation and version per hotel. A key the live stream
// wrote since (a newer version, or a key absent from the extract) shows as
// a difference too.
//
// The source side keeps one version per key in memory (about 100 bytes a
// key): verify a 90-million-row extract folder by folder.
func Verify(ctx context.Context, pg Checksummer, srcs []Source, opts VerifyOptions) (Report, error) {
	var rep Report
	var src, pgSums, dyn Sums
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { src, rep.Rejects, err = sourceSums(gctx, srcs); return err })
	g.Go(func() (err error) { pgSums, err = postgresSums(gctx, pg); return err })
	if opts.Dynamo != nil {
		g.Go(func() (err error) { dyn, err = dynamoSums(gctx, opts.Dynamo, opts.DynamoTable); return err })
	}
	if err := g.Wait(); err != nil {
		return rep, err
	}
	hotels := map[string]bool{}
	for _, s := range []Sums{src, pgSums, dyn} {
		for h := range s {
			hotels[h] = true
		}
	}
	names := make([]string, 0, len(hotels))
	for h := range hotels {
		names = append(names, h)
	}
	sort.Strings(names)
	total := func(t *HotelSum, s HotelSum) { t.Count += s.Count; t.Sum ^= s.Sum }
	for _, h := range names {
		d := HotelDiff{Hotel: h, Source: src[h], Postgres: pgSums[h]}
		total(&rep.Source, d.Source)
		total(&rep.Postgres, d.Postgres)
		differs := d.Source != d.Postgres
		if opts.Dynamo != nil {
			dy := dyn[h]
			d.Dynamo = &dy
			total(&rep.Dynamo, dy)
			differs = differs || dy != d.Source
		}
		if differs {
			rep.Diffs = append(rep.Diffs, d)
		}
	}
	return rep, nil
}

// sourceSums reads srcs and sums the newest version of each key.
func sourceSums(ctx context.Context, srcs []Source) (Sums, int64, error) {
	var bytesRead atomic.Int64
	newest := map[reservation.Key]string{}
	var rejects int64
	for _, src := range srcs {
		in, err := openInput(ctx, src, &bytesRead)
		if err != nil {
			return nil, 0, err
		}
		for {
			rec, line, err := in.next()
			var re *RowError
			if errors.Is(err, io.EOF) {
				break
			}
			if errors.As(err, &re) {
				rejects++
				continue
			}
			if err != nil {
				in.Close()
				return nil, 0, fmt.Errorf("migrate: verify %s: %w", src.Name, err)
			}
			r, rerr := parseRow(line, rec)
			if rerr != nil {
				rejects++
				continue
			}
			k, v := r.key(), r.vs
			if v >= newest[k] {
				newest[k] = v
			}
		}
		in.Close()
	}
	sums := Sums{}
	for k, v := range newest {
		s := sums[k.HotelCode]
		s.add(k.Confirmation, v)
		sums[k.HotelCode] = s
	}
	return sums, rejects, nil
}

func postgresSums(ctx context.Context, pg Checksummer) (Sums, error) {
	sums := Sums{}
	err := pg.ReservationChecksums(ctx, func(hotel string, count int64, sum uint64) {
		sums[hotel] = HotelSum{Count: count, Sum: sum}
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: verify postgres: %w", err)
	}
	return sums, nil
}

func dynamoSums(ctx context.Context, c dynamo.Scanner, table string) (Sums, error) {
	sums := Sums{}
	err := dynamo.ScanVersions(ctx, c, table, func(hotel, conf, version string) {
		s := sums[hotel]
		s.add(conf, version)
		sums[hotel] = s
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: verify dynamodb: %w", err)
	}
	return sums, nil
}
