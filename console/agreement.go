package console

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// Agreement is the result of one sampled comparison of the stores.
type Agreement struct {
	At       time.Time
	Sampled  int
	Disagree []Disagreement // at most maxDisagreements
	// Count is the number of sampled reservations that disagree.
	Count int
	Err   string // why the sample failed ("" when it ran)
}

// Disagreement is one reservation whose stores hold different versions.
type Disagreement struct {
	Key                        reservation.Key
	Postgres, Dynamo           string // versions; "" when not stored
	PostgresFound, DynamoFound bool
}

const maxDisagreements = 20

// agreementState keeps the last sample.
type agreementState struct {
	mu   sync.Mutex
	last *Agreement
}

// CheckAgreement compares n reservations sampled from Postgres with
// DynamoDB's copies: the version each holds. Postgres decides and
// DynamoDB follows, so any difference that outlives the writes in flight
// is a fault to look at. The result is kept for the health page and
// exported as resingest_store_agreement_* gauges.
func (s *Server) CheckAgreement(ctx context.Context, n int) (Agreement, error) {
	a := Agreement{At: s.opts.Now().UTC()}
	if s.opts.Dynamo == nil {
		return a, errors.New("console: no DynamoDB configured: nothing to compare")
	}
	keys, err := s.opts.Postgres.SampleKeys(ctx, n)
	if err != nil {
		a.Err = "Postgres did not answer"
		s.keepAgreement(a)
		return a, err
	}
	for _, k := range keys {
		_, pv, perr := s.opts.Postgres.Get(ctx, k)
		_, dv, derr := s.opts.Dynamo.Get(ctx, k)
		switch {
		case perr != nil && !errors.Is(perr, postgres.ErrNotFound):
			a.Err = "Postgres did not answer"
			s.keepAgreement(a)
			return a, perr
		case derr != nil && !errors.Is(derr, dynamo.ErrNotFound):
			a.Err = "DynamoDB did not answer"
			s.keepAgreement(a)
			return a, derr
		}
		a.Sampled++
		pf, df := perr == nil, derr == nil
		if pv != dv || pf != df {
			if !pf && !df {
				continue // deleted by purge between the sample and the reads
			}
			a.Count++
			if len(a.Disagree) < maxDisagreements {
				a.Disagree = append(a.Disagree, Disagreement{Key: k, Postgres: pv, Dynamo: dv, PostgresFound: pf, DynamoFound: df})
			}
		}
	}
	s.keepAgreement(a)
	return a, nil
}

func (s *Server) keepAgreement(a Agreement) {
	s.agreement.mu.Lock()
	s.agreement.last = &a
	s.agreement.mu.Unlock()
	if m := s.opts.Metrics; m != nil && a.Err == "" {
		m.sampled.Set(float64(a.Sampled))
		m.disagreeing.Set(float64(a.Count))
	}
}

func (s *Server) lastAgreement() *Agreement {
	s.agreement.mu.Lock()
	defer s.agreement.mu.Unlock()
	return s.agreement.last
}

// RunAgreement checks the stores' agreement every interval (n sampled
// reservations each time) until ctx ends. A failed check is logged and
// shown on the health page; the next one runs on time.
func (s *Server) RunAgreement(ctx context.Context, every time.Duration, n int) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, s.opts.PageTimeout*3)
		if _, err := s.CheckAgreement(cctx, n); err != nil && ctx.Err() == nil {
			s.log.Warn("console: sampled agreement check failed", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
