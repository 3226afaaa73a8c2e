package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// Page sizes of the arrivals endpoint.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// maxLookupMatches bounds how many reservations share a confirmation
// number across hotels in one lookup.
const maxLookupMatches = 20

// storeTimeout bounds one request's reads.
const storeTimeout = 10 * time.Second

func (s *Server) getReservation(w http.ResponseWriter, r *http.Request) {
	c, _, ok := s.authorize(w, r, true)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	k := reservation.Key{HotelCode: r.PathValue("hotel_code"), Confirmation: r.PathValue("confirmation")}
	// A partner outside the hotel is answered before reading, the same way
	// as a missing reservation.
	if c.Kind == PartnerCaller && !c.mayReadHotel(k.HotelCode) {
		writeProblem(w, http.StatusNotFound, ProblemNotFound, notFoundDetail)
		return
	}
	st, err := s.opts.Store.Get(ctx, k)
	switch {
	case errors.Is(err, ErrNotFound):
		writeProblem(w, http.StatusNotFound, ProblemNotFound, notFoundDetail)
	case err != nil:
		s.storeError(w, r, err)
	case !c.mayRead(&st):
		writeProblem(w, http.StatusNotFound, ProblemNotFound, notFoundDetail)
	default:
		docs := s.newDocs(c, r)
		it := docs.add(&st)
		if docs.record(w) {
			writeJSON(w, http.StatusOK, it)
		}
	}
}

// ArrivalsResponse is the body of the arrivals endpoint.
type ArrivalsResponse struct {
	HotelCode string      `json:"hotel_code"`
	Date      string      `json:"date"`
	Items     []Itinerary `json:"items"`
	// NextCursor is "" on the last page; else pass it as ?cursor= for the
	// next one.
	NextCursor string `json:"next_cursor"`
}

func (s *Server) arrivals(w http.ResponseWriter, r *http.Request) {
	c, _, ok := s.authorize(w, r, true)
	if !ok {
		return
	}
	hotel := r.PathValue("hotel_code")
	if !c.mayReadHotel(hotel) {
		writeProblem(w, http.StatusForbidden, ProblemForbidden, "this client may not read this hotel")
		return
	}
	q := r.URL.Query()
	date := q.Get("date")
	if !validDate(date) {
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "date must be a YYYY-MM-DD date")
		return
	}
	limit := DefaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "limit must be an integer from 1 to "+strconv.Itoa(MaxPageSize))
			return
		}
		limit = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	page, err := s.opts.Store.Arrivals(ctx, hotel, date, limit, q.Get("cursor"))
	if errors.Is(err, ErrBadCursor) {
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "cursor is not valid for this query")
		return
	}
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	resp := ArrivalsResponse{HotelCode: hotel, Date: date, Items: make([]Itinerary, 0, len(page.Items)), NextCursor: page.Cursor}
	docs := s.newDocs(c, r)
	for i := range page.Items {
		resp.Items = append(resp.Items, docs.add(&page.Items[i]))
	}
	if docs.record(w) {
		writeJSON(w, http.StatusOK, resp)
	}
}

// ItinerariesResponse is the body of the guest's itineraries endpoint and
// of a lookup.
type ItinerariesResponse struct {
	Items []Itinerary `json:"items"`
}

func (s *Server) guestItineraries(w http.ResponseWriter, r *http.Request) {
	c, _, ok := s.authorize(w, r, true)
	if !ok {
		return
	}
	if c.Kind != GuestCaller {
		writeProblem(w, http.StatusForbidden, ProblemForbidden, "only a signed-in guest has itineraries")
		return
	}
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	if (from != "" && !validDate(from)) || (to != "" && !validDate(to)) {
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "from and to must be YYYY-MM-DD dates")
		return
	}
	if from != "" && to != "" && from > to {
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "from must not be after to")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	list, err := s.opts.Store.GuestReservations(ctx, c.GuestID, from, to)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	resp := ItinerariesResponse{Items: make([]Itinerary, 0, len(list))}
	docs := s.newDocs(c, r)
	for i := range list {
		if c.mayRead(&list[i]) { // an index may lag behind a changed guest list
			resp.Items = append(resp.Items, docs.add(&list[i]))
		}
	}
	if docs.record(w) {
		writeJSON(w, http.StatusOK, resp)
	}
}

// LookupRequest is the body of POST /v1/itineraries/lookup. HotelCode is
// optional and narrows the search to one hotel.
type LookupRequest struct {
	Confirmation string `json:"confirmation"`
	Surname      string `json:"surname"`
	HotelCode    string `json:"hotel_code"`
}

// lookup finds itineraries by confirmation number and a guest's surname.
// It needs no credentials (knowing both is the proof); a partner sees only
// its hotels. "No such confirmation" and "wrong surname" give the same
// 404, and surnames are compared in constant time.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	c, body, ok := s.authorize(w, r, false)
	if !ok {
		return
	}
	if c.Kind != PartnerCaller {
		// Before the body is checked, so that malformed probes count too.
		if ok, wait := s.lookupByIP.allow(clientIP(r), s.opts.Now()); !ok {
			s.writeRateLimited(w, r, "lookup_ip", wait)
			return
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeProblem(w, http.StatusUnsupportedMediaType, ProblemMediaType, "the body must be application/json")
			return
		}
	}
	var req LookupRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "the body must be one JSON object with confirmation and surname (and optionally hotel_code)")
		return
	}
	if _, err := dec.Token(); err == nil {
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "the body must be one JSON object with confirmation and surname (and optionally hotel_code)")
		return
	}
	req.Confirmation = strings.TrimSpace(req.Confirmation)
	if req.Confirmation == "" || strings.TrimSpace(req.Surname) == "" || len(req.Confirmation) > 64 || len(req.Surname) > 256 {
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "confirmation and surname are required")
		return
	}
	if c.Kind != PartnerCaller {
		// Per confirmation too: guessing one guest's surname from many
		// addresses is still bounded.
		if ok, wait := s.lookupByConfN.allow(strings.ToUpper(req.Confirmation), s.opts.Now()); !ok {
			s.writeRateLimited(w, r, "lookup_confirmation", wait)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	var found []Stored
	var err error
	if req.HotelCode != "" {
		var st Stored
		st, err = s.opts.Store.Get(ctx, reservation.Key{HotelCode: req.HotelCode, Confirmation: req.Confirmation})
		if err == nil {
			found = []Stored{st}
		} else if errors.Is(err, ErrNotFound) {
			err = nil
		}
	} else {
		found, err = s.opts.Store.ByConfirmation(ctx, req.Confirmation, maxLookupMatches)
	}
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	resp := ItinerariesResponse{Items: []Itinerary{}}
	docs := s.newDocs(c, r)
	want := foldSurname(req.Surname)
	matched := 0
	for i := range found {
		// Every guest is compared, matched or not, so the time taken does
		// not tell which guest (or whether any) matched.
		hit := 0
		for _, g := range found[i].Reservation.Guests {
			hit |= subtle.ConstantTimeCompare(want, foldSurname(g.Surname))
		}
		if hit == 1 && (c.Kind != PartnerCaller || c.mayReadHotel(found[i].Reservation.HotelCode)) {
			resp.Items = append(resp.Items, docs.add(&found[i]))
			matched++
		}
	}
	if matched == 0 {
		if c.Kind != PartnerCaller {
			s.recordFailure(r)
		}
		writeProblem(w, http.StatusNotFound, ProblemNotFound, notFoundDetail)
		return
	}
	if docs.record(w) {
		writeJSON(w, http.StatusOK, resp)
	}
}

// foldSurname normalises a surname for comparison: trimmed, inner spaces
// collapsed, case folded.
func foldSurname(s string) []byte {
	return []byte(strings.ToLower(strings.Join(strings.Fields(s), " ")))
}

func validDate(s string) bool {
	if len(s) != len(time.DateOnly) {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// storeError answers a failed read: 503 while the store is unreachable or
// the read timed out, else 500. The error is logged, never shown.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "store read failed", "request_id", requestIDFrom(r.Context()), "err", err)
	if errors.Is(err, context.DeadlineExceeded) || sinks.IsRetryable(err) {
		writeProblem(w, http.StatusServiceUnavailable, ProblemUnavailable, "the store is unavailable; retry later")
		return
	}
	writeProblem(w, http.StatusInternalServerError, ProblemInternal, "internal error")
}
