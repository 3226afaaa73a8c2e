package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"github.com/resingest/resingest/ledger"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
)

// maxReplayLetters bounds one replay from the console; larger sets are
// for `resingest dlq replay`.
const maxReplayLetters = 1000

type replayResult struct {
	DryRun       bool
	Scope        string
	Letters      int
	Replayed     int
	Reservations int
	StillFailing int
	Outcomes     []outcomeCount
	Failures     []pipeline.ReplayFailure
	Err          string
}

type outcomeCount struct {
	Outcome string
	N       int
}

// replay runs one dead letter (id) or the pending letters the filter
// selects through the parser and the stores again: the same code as
// `resingest dlq replay`. dry_run=1 parses only.
func (s *Server) replay(_ context.Context, r *http.Request, rc *requestCtx) (view, error) {
	if s.opts.Replayer == nil {
		return view{}, notFound("Replay is not configured on this console.")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return view{}, badRequest("The form could not be read.")
	}
	if !s.csrfValid(rc.cred, r.PostForm.Get("csrf")) {
		return view{}, &pageError{status: http.StatusForbidden, msg: "Refused: the form's CSRF token is missing or wrong; reload the page and try again."}
	}
	form := func(name string, max int) (string, error) {
		if len(r.PostForm[name]) > 1 {
			return "", badRequest("%s: given more than once.", name)
		}
		return value(name, r.PostForm.Get(name), max)
	}
	q, f, err := deadLetterFilter(form)
	if err != nil {
		return view{}, err
	}
	opts := pipeline.ReplayOptions{DryRun: r.PostForm.Get("dry_run") == "1", Logger: s.log}
	res := replayResult{DryRun: opts.DryRun}
	idText, err := form("id", 20)
	if err != nil {
		return view{}, err
	}
	if idText != "" {
		if opts.ID, err = strconv.ParseInt(idText, 10, 64); err != nil || opts.ID <= 0 {
			return view{}, badRequest("id: a dead-letter id (a positive number).")
		}
		res.Scope = "dead letter " + idText
	} else {
		if !f.Since.IsZero() || !f.Until.IsZero() {
			return view{}, badRequest("since/until: replay selects by reason, hotel and source; narrow the time in the list, then replay letters one by one.")
		}
		opts.Source, opts.ReasonClass, opts.HotelCode, opts.Limit = q.Source, q.Reason, q.Hotel, maxReplayLetters
		res.Scope = fmt.Sprintf("pending dead letters (reason %q, hotel %q, source %q; at most %d)", q.Reason, q.Hotel, q.Source, maxReplayLetters)
	}
	s.log.Info("console: replay", "by", rc.staff.Subject, "dry_run", opts.DryRun, "id", opts.ID)
	// A replay may take longer than a page: its own deadline, from the
	// request (a client that goes away stops it between batches).
	rctx, cancel := context.WithTimeout(r.Context(), s.opts.ReplayTimeout)
	defer cancel()
	rep, err := s.opts.Replayer.Replay(rctx, opts)
	switch {
	case err != nil && rctx.Err() != nil:
		s.log.Warn("console: replay stopped", "err", err)
		res.Err = fmt.Sprintf("The replay stopped after %s (its deadline, or the browser went away); letters not replayed stay pending and can be replayed again.", s.opts.ReplayTimeout)
	case errors.Is(err, pipeline.ErrLetterNotFound):
		return view{}, notFound("No dead letter has this id.")
	case errors.Is(err, pipeline.ErrLetterReplayed):
		return view{}, &pageError{status: http.StatusConflict, msg: "This dead letter was replayed already."}
	case err != nil:
		s.log.Warn("console: replay failed", "err", err)
		res.Err = "The replay stopped: a store failed (the error is logged); letters not replayed stay pending and can be replayed again."
	}
	res.Letters, res.Replayed, res.Reservations, res.StillFailing = rep.Letters, rep.Replayed, rep.Reservations, rep.StillFailing
	res.Failures = rep.Failures
	for o, n := range rep.Outcomes {
		res.Outcomes = append(res.Outcomes, outcomeCount{Outcome: string(o), N: n})
	}
	sort.Slice(res.Outcomes, func(i, j int) bool { return res.Outcomes[i].Outcome < res.Outcomes[j].Outcome })
	return view{page: "replay", title: "Replay", data: res}, nil
}

// deadLetterKey is how a dead letter is named in pii_access.
func deadLetterKey(d ledger.DeadLetter) reservation.Key {
	return reservation.Key{HotelCode: d.HotelCode, Confirmation: "dead_letter:" + strconv.FormatInt(d.ID, 10)}
}
