package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
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
	k := reservation.Key{HotelCode: r.PathValue("hotel_code"), Confirmation: r.PathValue("confirmation")}
	if !checkValues(w, checkKeyPart("hotel_code", k.HotelCode, MaxHotelCodeBytes),
		checkKeyPart("confirmation", k.Confirmation, MaxConfirmationBytes)) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
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
		s.storeError(w, r, err, k.HotelCode, k.Confirmation)
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
	q := r.URL.Query()
	if !checkValues(w, checkKeyPart("hotel_code", hotel, MaxHotelCodeBytes),
		checkText("cursor", q.Get("cursor"), MaxCursorBytes, false)) {
		return
	}
	if !c.mayReadHotel(hotel) {
		writeProblem(w, http.StatusForbidden, ProblemForbidden, "this client may not read this hotel")
		return
	}
	date := q.Get("date")
	if !validDate(date) {
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "date must be a YYYY-MM-DD date")
		return
	}
	limit := DefaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || len(v) > 3 || n < 1 || n > MaxPageSize {
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
		s.storeError(w, r, err, hotel, q.Get("cursor"))
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
		s.storeError(w, r, err, c.GuestID)
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

func validDate(s string) bool {
	if len(s) != len(time.DateOnly) {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// checkValues answers 400 for the first error of errs (naming the field
// and the rule, never the value); ok is false when it did.
func checkValues(w http.ResponseWriter, errs ...error) (ok bool) {
	for _, err := range errs {
		if err != nil {
			writeProblem(w, http.StatusBadRequest, ProblemBadRequest, badValueDetail(err))
			return false
		}
	}
	return true
}

// storeError answers a failed read: 400 when the store refused a value as
// a key (ErrBadKey), 503 while the store is unreachable or the read timed
// out, else 500. The error is logged with the caller's values cut to a
// short prefix, never shown.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error, values ...string) {
	if errors.Is(err, ErrBadKey) {
		// The store's message is about the key, so it is not logged.
		s.log.WarnContext(r.Context(), "store refused a key", "request_id", requestIDFrom(r.Context()))
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "hotel_code or confirmation is not a valid key")
		return
	}
	s.log.ErrorContext(r.Context(), "store read failed", "request_id", requestIDFrom(r.Context()), "err", redact(err.Error(), values...))
	if errors.Is(err, context.DeadlineExceeded) || sinks.IsRetryable(err) {
		writeProblem(w, http.StatusServiceUnavailable, ProblemUnavailable, "the store is unavailable; retry later")
		return
	}
	writeProblem(w, http.StatusInternalServerError, ProblemInternal, "internal error")
}
