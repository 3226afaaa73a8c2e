package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// maxSearchResults bounds a search's list of reservations.
const maxSearchResults = 50

type homePage struct {
	Hotel, Confirmation, Email string
	Results                    []reservation.Key
	// Held are records under the confirmation still waiting for their
	// booking (key resolution): they have no hotel code yet.
	Held     []postgres.HistoryEntry
	Searched bool
	What     string // what was searched, for "nothing found"
}

func (s *Server) home(ctx context.Context, r *http.Request, rc *requestCtx) (view, error) {
	return view{page: "home", title: "Find a reservation", data: homePage{}}, nil
}

// search finds reservations by hotel and confirmation (straight to its
// page), by confirmation alone, or by a guest's e-mail address.
func (s *Server) search(ctx context.Context, r *http.Request, rc *requestCtx) (view, error) {
	var p homePage
	var err error
	if p.Hotel, err = query(r, "hotel", maxHotel); err != nil {
		return view{}, err
	}
	if p.Confirmation, err = query(r, "confirmation", maxConfirmation); err != nil {
		return view{}, err
	}
	if p.Email, err = query(r, "email", maxEmail); err != nil {
		return view{}, err
	}
	p.Searched = true
	switch {
	case p.Hotel != "" && p.Confirmation != "":
		return view{redirect: reservationURL(reservation.Key{HotelCode: p.Hotel, Confirmation: p.Confirmation})}, nil
	case p.Confirmation != "":
		p.What = "confirmation"
		if p.Results, err = s.opts.Postgres.KeysByConfirmation(ctx, p.Confirmation, maxSearchResults); err != nil {
			return view{}, storeDown("Postgres", err)
		}
		hist, err := s.opts.Postgres.History(ctx, reservation.Key{Confirmation: p.Confirmation}, maxSearchResults)
		if err != nil {
			return view{}, storeDown("Postgres", err)
		}
		for _, e := range hist {
			if e.HotelCode == "" {
				p.Held = append(p.Held, e)
			}
		}
		if len(p.Held) > 0 {
			// Show them, even beside the one stored reservation.
			return view{page: "home", title: "Find a reservation", data: p}, nil
		}
	case p.Email != "":
		p.What = "e-mail address"
		idx := dynamo.NormalizeEmail(p.Email)
		if s.opts.Opener != nil {
			idx = s.opts.Opener.BlindIndex(pii.IndexEmail, p.Email)
		}
		if p.Results, err = s.opts.Postgres.GuestKeys(ctx, idx, "", "", maxSearchResults); err != nil {
			return view{}, storeDown("Postgres", err)
		}
	case p.Hotel != "":
		return view{}, badRequest("confirmation: required with hotel.")
	default:
		return view{}, badRequest("Give a confirmation number (with or without its hotel) or a guest's e-mail address.")
	}
	if len(p.Results) == 1 {
		return view{redirect: reservationURL(p.Results[0])}, nil
	}
	return view{page: "home", title: "Find a reservation", data: p}, nil
}

func reservationURL(k reservation.Key) string {
	return "/reservations/" + url.PathEscape(k.HotelCode) + "/" + url.PathEscape(k.Confirmation)
}

// reservationPage is one reservation's story.
type reservationPage struct {
	Key      reservation.Key
	Timeline []timelineRow
	// Fields compare what each store holds, field by field.
	Fields   []fieldRow
	Stores   []storeState
	Disagree bool
	Masked   bool
	// Notes say what the page could not show (archive unreadable, ...).
	Notes []string
}

type timelineRow struct {
	postgres.HistoryEntry
	Held        bool
	MessageLink string
	Changes     []change
	// Diffed says Changes were computed (the archived message was read).
	Diffed bool
	First  bool // the first version seen: every field is new
}

type change struct{ Field, From, To string }

type storeState struct {
	Name    string
	Found   bool
	Version string
	Status  string
	Action  string
}

type fieldRow struct {
	Field    string
	Postgres string
	Dynamo   string
	Differ   bool
}

func (s *Server) reservation(ctx context.Context, r *http.Request, rc *requestCtx) (view, error) {
	hotel, err := value("hotel", r.PathValue("hotel"), maxHotel)
	if err != nil {
		return view{}, err
	}
	conf, err := value("confirmation", r.PathValue("confirmation"), maxConfirmation)
	if err != nil {
		return view{}, err
	}
	if hotel == "" || conf == "" {
		return view{}, badRequest("hotel and confirmation: required.")
	}
	k := reservation.Key{HotelCode: hotel, Confirmation: conf}
	p := reservationPage{Key: k, Masked: !rc.staff.PII}
	hist, err := s.opts.Postgres.History(ctx, k, maxTimeline)
	if err != nil {
		return view{}, storeDown("Postgres", err)
	}
	pgRes, pgState, err := s.stored(ctx, "Postgres", k, s.opts.Postgres.Get, postgres.ErrNotFound)
	if err != nil {
		return view{}, err
	}
	p.Stores = append(p.Stores, pgState)
	var dyRes *reservation.Reservation
	if s.opts.Dynamo != nil {
		var dyState storeState
		dyRes, dyState, err = s.stored(ctx, "DynamoDB", k, s.opts.Dynamo.Get, dynamo.ErrNotFound)
		if err != nil {
			return view{}, err
		}
		p.Stores = append(p.Stores, dyState)
		p.Disagree = pgState.Found != dyState.Found || pgState.Version != dyState.Version
	}
	if len(hist) == 0 && !pgState.Found && (dyRes == nil) {
		return view{}, notFound("No message named this reservation and no store holds it (messages audited before the lineage table, migration 0013, are not listed).")
	}
	p.Timeline, p.Notes = s.timeline(ctx, k, hist, rc.staff.PII)
	p.Fields = compareStores(pgRes, dyRes, s.opts.Dynamo != nil, rc.staff.PII)
	if rc.staff.PII && (pgRes != nil || dyRes != nil || len(hist) > 0) {
		if err := s.recordPIIView(ctx, rc, k, "guests"); err != nil {
			return view{}, err
		}
	}
	return view{page: "reservation", title: "Reservation " + k.HotelCode + " / " + k.Confirmation, data: p}, nil
}

// stored reads one store's copy, opening sealed guests.
func (s *Server) stored(ctx context.Context, name string, k reservation.Key,
	get func(context.Context, reservation.Key) (reservation.Reservation, string, error), notFound error) (*reservation.Reservation, storeState, error) {
	st := storeState{Name: name}
	res, version, err := get(ctx, k)
	switch {
	case errors.Is(err, notFound):
		return nil, st, nil
	case err != nil:
		return nil, st, storeDown(name, err)
	}
	if s.opts.Opener != nil && len(res.Guests) > 0 {
		g, err := s.opts.Opener.OpenGuests(ctx, res.Guests)
		if err != nil {
			return nil, st, storeDown("the PII keyring", fmt.Errorf("open guests of %s in %s: %w", k, name, err))
		}
		res.Guests = g
	}
	st.Found, st.Version, st.Status, st.Action = true, version, res.Status, res.Action
	return &res, st, nil
}

// compareStores lines up every field of the two copies.
func compareStores(pg, dy *reservation.Reservation, withDynamo, pii bool) []fieldRow {
	a, b := flatten(pg, pii), flatten(dy, pii)
	names := make([]string, 0, len(a)+len(b))
	for n := range a {
		names = append(names, n)
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, compareFieldNames)
	rows := make([]fieldRow, 0, len(names))
	for _, n := range names {
		row := fieldRow{Field: n, Postgres: a[n], Dynamo: b[n]}
		row.Differ = withDynamo && (a[n] != b[n])
		rows = append(rows, row)
	}
	return rows
}

// recordPIIView writes the pii_access row of an ops-pii view before the
// page is shown; when it cannot be written the page is refused.
func (s *Server) recordPIIView(ctx context.Context, rc *requestCtx, k reservation.Key, fields ...string) error {
	row := postgres.PIIAccess{At: s.opts.Now().UTC(), RequestID: requestID(), CallerKind: "staff",
		CallerID: rc.staff.Subject, HotelCode: k.HotelCode, Confirmation: k.Confirmation, Fields: fields}
	if err := s.opts.Postgres.WritePIIAccess(ctx, []postgres.PIIAccess{row}); err != nil {
		return &pageError{status: http.StatusServiceUnavailable, err: err,
			msg: "Guests' personal data is shown only once the view is recorded, and the record could not be written; try again in a moment."}
	}
	return nil
}

var errNoRecord = errors.New("the archived message holds no record of this reservation")

// timeline turns the lineage into rows, with the fields each message
// changed, read from the archived messages (re-extracted with the
// parser; the archive keeps them faithfully except card data).
func (s *Server) timeline(ctx context.Context, k reservation.Key, hist []postgres.HistoryEntry, pii bool) ([]timelineRow, []string) {
	rows := make([]timelineRow, len(hist))
	var notes []string
	objects := map[string]*archivedObject{}
	var prev map[string]string
	for i, e := range hist {
		row := timelineRow{HistoryEntry: e, Held: e.HotelCode == ""}
		if e.ArchiveKey != "" {
			row.MessageLink = messageURL(e.ArchiveKey, e.MessageID, k.Confirmation, e.Version)
		}
		if s.opts.Archive != nil && e.ArchiveKey != "" {
			rec, err := s.archivedRecord(ctx, objects, e, k)
			switch {
			case err == nil:
				cur := flatten(rec, pii)
				row.Changes, row.Diffed, row.First = diff(prev, cur), true, prev == nil
				if e.Outcome == "stored" || e.Outcome == "resolved" {
					prev = cur
				}
			case len(notes) < 5:
				notes = append(notes, fmt.Sprintf("message %s: no diff: %v", dashed(e.MessageID), err))
			}
		}
		rows[i] = row
	}
	return rows, notes
}

func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func messageURL(key, messageID, conf, version string) string {
	q := url.Values{"key": {key}, "message_id": {messageID}, "confirmation": {conf}, "version": {version}}
	return "/messages?" + q.Encode()
}

// maxArchiveReads bounds the archive objects one page reads.
const maxArchiveReads = 100

type archivedObject struct {
	entries []archiveEntry
	err     error
}

// archivedRecord finds the record of k in the archived message of e.
func (s *Server) archivedRecord(ctx context.Context, objects map[string]*archivedObject, e postgres.HistoryEntry, k reservation.Key) (*reservation.Reservation, error) {
	obj, ok := objects[e.ArchiveKey]
	if !ok {
		if len(objects) >= maxArchiveReads {
			return nil, fmt.Errorf("more than %d archive objects on one page", maxArchiveReads)
		}
		obj = &archivedObject{}
		obj.entries, obj.err = s.readArchive(ctx, e.ArchiveKey)
		objects[e.ArchiveKey] = obj
	}
	if obj.err != nil {
		return nil, obj.err
	}
	ent, err := findEntry(obj.entries, e.MessageID, k.Confirmation, e.Version)
	if err != nil {
		return nil, err
	}
	recs, err := s.opts.Parser.Parse([]byte(ent.XML))
	if err != nil {
		return nil, fmt.Errorf("the archived message no longer parses: %w", err)
	}
	if e.Ordinal >= 0 && e.Ordinal < len(recs) && recs[e.Ordinal].Confirmation == k.Confirmation {
		return &recs[e.Ordinal], nil
	}
	for i := range recs {
		if recs[i].Confirmation == k.Confirmation && (recs[i].HotelCode == k.HotelCode || recs[i].HotelCode == "") {
			return &recs[i], nil
		}
	}
	return nil, errNoRecord
}
