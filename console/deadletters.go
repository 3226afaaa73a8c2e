package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/resingest/resingest/ledger"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks/postgres"
)

const deadLetterPage = 50

type deadLettersPage struct {
	Filter    deadLetterQuery
	Letters   []ledger.DeadLetter
	Next      string // link to the next (older) page; "" at the end
	CanReplay bool
	Replay    *replayResult
}

// deadLetterQuery is the list's filter as the form sends it.
type deadLetterQuery struct {
	Reason, Hotel, Source string
	Since, Until          string // YYYY-MM-DD or RFC 3339
	Pending               bool
	Before                int64
}

func (q deadLetterQuery) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"reason": q.Reason, "hotel": q.Hotel, "source": q.Source, "since": q.Since, "until": q.Until} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if q.Pending {
		v.Set("pending", "1")
	}
	return v
}

func parseTimeBound(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, badRequest("%s: a date (YYYY-MM-DD) or an RFC 3339 time.", name)
}

// deadLetterFilter reads the filter from a query or a posted form.
func deadLetterFilter(get func(name string, max int) (string, error)) (deadLetterQuery, ledger.DeadLetterFilter, error) {
	var q deadLetterQuery
	var f ledger.DeadLetterFilter
	var err error
	for _, p := range []struct {
		name string
		dst  *string
		max  int
	}{{"reason", &q.Reason, maxFilter}, {"hotel", &q.Hotel, maxHotel}, {"source", &q.Source, maxFilter},
		{"since", &q.Since, 40}, {"until", &q.Until, 40}} {
		if *p.dst, err = get(p.name, p.max); err != nil {
			return q, f, err
		}
	}
	pending, err := get("pending", 8)
	if err != nil {
		return q, f, err
	}
	q.Pending = pending == "1" || pending == "on" || pending == "true"
	before, err := get("before", 20)
	if err != nil {
		return q, f, err
	}
	if before != "" {
		if q.Before, err = strconv.ParseInt(before, 10, 64); err != nil || q.Before <= 0 {
			return q, f, badRequest("before: a dead-letter id.")
		}
	}
	if f.Since, err = parseTimeBound("since", q.Since); err != nil {
		return q, f, err
	}
	if f.Until, err = parseTimeBound("until", q.Until); err != nil {
		return q, f, err
	}
	f.ReasonClass, f.HotelCode, f.Source, f.PendingOnly = q.Reason, q.Hotel, q.Source, q.Pending
	return q, f, nil
}

func (s *Server) deadLetters(ctx context.Context, r *http.Request, rc *requestCtx) (view, error) {
	q, f, err := deadLetterFilter(func(name string, max int) (string, error) { return query(r, name, max) })
	if err != nil {
		return view{}, err
	}
	f.Newest, f.AfterID, f.Limit = true, q.Before, deadLetterPage+1
	letters, err := s.opts.Postgres.ListDeadLetters(ctx, f)
	if err != nil {
		return view{}, storeDown("Postgres", err)
	}
	p := deadLettersPage{Filter: q, CanReplay: s.opts.Replayer != nil}
	if len(letters) > deadLetterPage {
		letters = letters[:deadLetterPage]
		v := q.values()
		v.Set("before", strconv.FormatInt(letters[len(letters)-1].ID, 10))
		p.Next = "/dead-letters?" + v.Encode()
	}
	for i := range letters {
		letters[i].Message = nil // the list shows no message text
	}
	p.Letters = letters
	return view{page: "deadletters", title: "Dead letters", data: p}, nil
}

type deadLetterView struct {
	Letter      ledger.DeadLetter
	XML         string
	Unformatted bool
	Masked      bool
	CanReplay   bool
}

func (s *Server) deadLetter(ctx context.Context, r *http.Request, rc *requestCtx) (view, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return view{}, badRequest("id: a dead-letter id (a positive number).")
	}
	d, err := s.opts.Postgres.GetDeadLetter(ctx, id)
	if errors.Is(err, postgres.ErrNotFound) {
		return view{}, notFound("No dead letter has this id.")
	}
	if err != nil {
		return view{}, storeDown("Postgres", err)
	}
	msg := d.Message
	if d.ArchiveKey != "" && s.opts.Archive != nil {
		// The whole message, not only the prefix Postgres keeps.
		if whole, err := s.opts.Archive.ReadDeadLetter(ctx, d.ArchiveKey); err == nil {
			msg, d.Truncated = whole, false
		} else {
			s.log.Warn("console: dead letter's archived message unreadable; showing the prefix", "id", d.ID, "err", err)
		}
	}
	if pii.IsSealedBlob(msg) {
		if s.opts.Opener == nil {
			return view{}, &pageError{status: http.StatusServiceUnavailable,
				msg: "This dead letter is sealed and the console has no PII keyring (--kek-file or --kms-key-id)."}
		}
		if msg, err = s.opts.Opener.OpenBlob(ctx, pipeline.DeadLetterPurpose, msg); err != nil {
			return view{}, storeDown("The PII keyring", err)
		}
	}
	v := deadLetterView{Letter: d, Masked: !rc.staff.PII, CanReplay: s.opts.Replayer != nil && d.ReplayedAt.IsZero()}
	v.XML, err = prettyXML(msg, rc.staff.PII)
	if err != nil {
		if !rc.staff.PII {
			v.XML = "(this message is not well-formed XML, so its personal data cannot be masked: only the ops-pii role may see it)"
		} else {
			v.XML, v.Unformatted = string(msg), true
		}
	}
	if rc.staff.PII {
		k := deadLetterKey(d)
		if err := s.recordPIIView(ctx, rc, k, "dead_letter"); err != nil {
			return view{}, err
		}
	}
	v.Letter.Message = nil
	return view{page: "deadletter", title: "Dead letter " + strconv.FormatInt(d.ID, 10), data: v}, nil
}
