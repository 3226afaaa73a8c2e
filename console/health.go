package console

import (
	"context"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks/postgres"
)

// PartitionLag is the consumer group's lag on one partition.
type PartitionLag struct {
	Topic     string
	Partition int32
	Committed int64 // -1 when the group committed nothing
	End       int64
	Lag       int64
}

// LagReader reads the consumer group's lag per partition (KafkaLag).
type LagReader interface {
	Lag(ctx context.Context) ([]PartitionLag, error)
}

// LeaseLister lists the Kinesis shard leases (pipeline/lease.Table).
type LeaseLister interface {
	List(ctx context.Context) ([]lease.Lease, error)
}

// window is a time range of the health and feed-quality pages, and the
// width of the health chart's buckets over it.
type window struct {
	name         string
	span, bucket time.Duration
}

// windows are the pages' ranges.
var windows = []window{
	{"1h", time.Hour, time.Minute},
	{"6h", 6 * time.Hour, 5 * time.Minute},
	{"24h", 24 * time.Hour, 15 * time.Minute},
	{"7d", 7 * 24 * time.Hour, 2 * time.Hour},
}

type healthPage struct {
	Window     string
	Windows    []string
	Since      time.Time
	Now        time.Time
	Chart      template.HTML
	Totals     []outcomeCount
	Reasons    []postgres.ReasonCount
	ReasonBars template.HTML
	Held       int
	HeldOldest time.Time
	Lag        []PartitionLag
	LagErr     string
	LagShown   bool
	Leases     []lease.Lease
	LeaseErr   string
	LeaseShown bool
	Agreement  *Agreement
	HasDynamo  bool
}

func (s *Server) health(ctx context.Context, r *http.Request, rc *requestCtx) (view, error) {
	wname, err := query(r, "window", 8)
	if err != nil {
		return view{}, err
	}
	if wname == "" {
		wname = "6h"
	}
	win, err := windowNamed(wname)
	if err != nil {
		return view{}, err
	}
	now := s.opts.Now().UTC()
	until := now.Truncate(win.bucket).Add(win.bucket)
	since := until.Add(-win.span)
	p := healthPage{Window: win.name, Since: since, Now: now, HasDynamo: s.opts.Dynamo != nil}
	for _, w := range windows {
		p.Windows = append(p.Windows, w.name)
	}
	counts, err := s.opts.Postgres.OutcomesOverTime(ctx, since, until, win.bucket)
	if err != nil {
		return view{}, storeDown("Postgres", err)
	}
	p.Chart, p.Totals = outcomeChart(counts, since, until, win.bucket)
	if p.Reasons, err = s.opts.Postgres.DeadLettersByReason(ctx, since, until); err != nil {
		return view{}, storeDown("Postgres", err)
	}
	if len(p.Reasons) > 0 {
		labels := make([]string, len(p.Reasons))
		vals := make([]float64, len(p.Reasons))
		for i, rc := range p.Reasons {
			labels[i], vals[i] = rc.ReasonClass, float64(rc.Letters)
		}
		p.ReasonBars = barChart("Dead letters by reason", labels, vals)
	}
	if p.Held, p.HeldOldest, err = s.opts.Postgres.PendingStats(ctx); err != nil {
		return view{}, storeDown("Postgres", err)
	}
	if s.opts.Lag != nil {
		p.LagShown = true
		if p.Lag, err = s.opts.Lag.Lag(ctx); err != nil {
			s.log.Warn("console: consumer lag unreadable", "err", err)
			p.LagErr = "Kafka did not answer; the lag is unknown."
		}
	}
	if s.opts.Leases != nil {
		p.LeaseShown = true
		if p.Leases, err = s.opts.Leases.List(ctx); err != nil {
			s.log.Warn("console: Kinesis leases unreadable", "err", err)
			p.LeaseErr = "The lease table did not answer."
		}
	}
	p.Agreement = s.lastAgreement()
	return view{page: "health", title: "Ingest health", data: p}, nil
}

// outcomeChart turns the counts into one series per outcome, in messages
// per minute, with a point for every bucket (0 where none).
func outcomeChart(counts []postgres.OutcomeCount, since, until time.Time, bucket time.Duration) (template.HTML, []outcomeCount) {
	n := int(until.Sub(since) / bucket)
	byOutcome := map[string][]float64{}
	totals := map[string]int{}
	var names []string
	for _, c := range counts {
		i := int(c.Bucket.Sub(since) / bucket)
		if i < 0 || i >= n {
			continue
		}
		pts, ok := byOutcome[c.Outcome]
		if !ok {
			pts = make([]float64, n)
			byOutcome[c.Outcome] = pts
			names = append(names, c.Outcome)
		}
		pts[i] += float64(c.Messages) / bucket.Minutes()
		totals[c.Outcome] += int(c.Messages)
	}
	slices.Sort(names)
	ss := make([]series, 0, len(names))
	var tot []outcomeCount
	for i, name := range names {
		ss = append(ss, series{Name: name, Color: colorOf(name, i), Points: byOutcome[name]})
		tot = append(tot, outcomeCount{Outcome: name, N: totals[name]})
	}
	return lineChart("Messages per minute by outcome", since, bucket, ss, "messages/min"), tot
}

type hotelsPage struct {
	Window  string
	Windows []string
	Sort    string
	Hotels  []postgres.HotelQuality
	Now     time.Time
}

func windowNamed(name string) (window, error) {
	for _, w := range windows {
		if w.name == name {
			return w, nil
		}
	}
	return window{}, badRequest("window: one of 1h, 6h, 24h, 7d.")
}

func (s *Server) hotels(ctx context.Context, r *http.Request, rc *requestCtx) (view, error) {
	wname, err := query(r, "window", 8)
	if err != nil {
		return view{}, err
	}
	if wname == "" {
		wname = "24h"
	}
	win, err := windowNamed(wname)
	if err != nil {
		return view{}, err
	}
	span := win.span
	sort, err := query(r, "sort", 32)
	if err != nil {
		return view{}, err
	}
	if sort == "" {
		sort = "dead_letter_rate"
	}
	if sorts := postgres.HotelQualitySorts(); !slices.Contains(sorts, sort) {
		return view{}, badRequest("sort: one of %s.", strings.Join(sorts, ", "))
	}
	now := s.opts.Now().UTC()
	p := hotelsPage{Window: wname, Sort: sort, Now: now}
	for _, w := range windows {
		p.Windows = append(p.Windows, w.name)
	}
	if p.Hotels, err = s.opts.Postgres.HotelQuality(ctx, now.Add(-span), now.Add(time.Minute), sort, 500); err != nil {
		return view{}, storeDown("Postgres", err)
	}
	return view{page: "hotels", title: "Feed quality by hotel", data: p}, nil
}
