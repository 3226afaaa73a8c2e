package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/resingest/resingest/reservation"
)

// LookupRequest is the body of POST /v1/itineraries/lookup. HotelCode is
// optional and narrows the search to one hotel.
type LookupRequest struct {
	Confirmation string `json:"confirmation"`
	Surname      string `json:"surname"`
	HotelCode    string `json:"hotel_code"`
}

// decoyHotel is the hotel code of the read a lookup makes when the
// confirmation matched nothing, so that a miss asks the store as often as
// a confirmation that exists under another surname. '~' is in no hotel
// code of the data; whatever the read returns is discarded.
const decoyHotel = "~decoy~"

// decoySurname is compared when there is no guest to compare with, so a
// miss also does the comparison a wrong surname does.
var decoySurname = []byte("decoy surname that matches no folded surname \x00")

const lookupBodyDetail = "the body must be one JSON object with confirmation and surname (and optionally hotel_code)"

// lookup finds itineraries by confirmation number and a guest's surname.
// It needs no credentials (knowing both is the proof); a partner sees only
// its hotels. "No such confirmation", "wrong surname" and "another
// partner's hotel" give the same 404 after the same work: the same store
// reads (a decoy read when nothing matched) and the same constant-time
// comparisons.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	c, body, ok := s.authorize(w, r, false)
	if !ok {
		return
	}
	if c.Kind != PartnerCaller {
		// Before the body is checked, so that malformed probes count too.
		if ok, wait := s.lookupByCaller.allow("ip:"+clientIP(r), s.opts.Now()); !ok {
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
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, lookupBodyDetail)
		return
	}
	if _, err := dec.Token(); err == nil {
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, lookupBodyDetail)
		return
	}
	req.Confirmation = strings.TrimSpace(req.Confirmation)
	req.HotelCode = strings.TrimSpace(req.HotelCode)
	if !checkValues(w,
		checkKeyPart("confirmation", req.Confirmation, MaxConfirmationBytes),
		checkText("surname", req.Surname, MaxSurnameBytes, true),
		checkText("hotel_code", req.HotelCode, MaxHotelCodeBytes, false)) {
		return
	}
	if strings.TrimSpace(req.Surname) == "" {
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "surname is required")
		return
	}
	if !s.allowLookup(w, r, c, &req) {
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	found, err := s.lookupCandidates(ctx, &req)
	if err != nil {
		s.storeError(w, r, err, req.Confirmation, req.HotelCode)
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
		inScope := c.Kind != PartnerCaller || c.mayReadHotel(found[i].Reservation.HotelCode)
		if hit == 1 && inScope {
			resp.Items = append(resp.Items, docs.add(&found[i]))
			matched++
		}
	}
	if len(found) == 0 {
		_ = subtle.ConstantTimeCompare(want, decoySurname)
	}
	if matched == 0 {
		if c.Kind != PartnerCaller {
			s.recordFailure(r)
		}
		s.lookupMissByConf(req.Confirmation)
		writeProblem(w, http.StatusNotFound, ProblemNotFound, notFoundDetail)
		return
	}
	if docs.record(w) {
		writeJSON(w, http.StatusOK, resp)
	}
}

// lookupCandidates reads the reservations a lookup compares with: the one
// of (hotel, confirmation), or every hotel's with the confirmation. When
// none exists it reads a decoy key instead, so that an unknown
// confirmation costs the store calls a known one does.
func (s *Server) lookupCandidates(ctx context.Context, req *LookupRequest) ([]Stored, error) {
	if req.HotelCode != "" {
		st, err := s.opts.Store.Get(ctx, reservation.Key{HotelCode: req.HotelCode, Confirmation: req.Confirmation})
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []Stored{st}, nil
	}
	found, err := s.opts.Store.ByConfirmation(ctx, req.Confirmation, maxLookupMatches)
	if err != nil || len(found) > 0 {
		return found, err
	}
	_, err = s.opts.Store.Get(ctx, reservation.Key{HotelCode: decoyHotel, Confirmation: req.Confirmation})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return nil, nil
}

// allowLookup applies the lookup limits; ok is false when it answered
// 429. Anonymous callers and guests are limited per address (checked
// before the body) and per (address, confirmation), so that a guest's
// own lookups are never refused because others guessed at their
// confirmation. Partners are limited the same way, keyed by their access
// key, unless they name one of their own hotels (data they may read
// anyway): a partner probing other hotels' confirmations is as limited as
// an anonymous caller.
func (s *Server) allowLookup(w http.ResponseWriter, r *http.Request, c Caller, req *LookupRequest) bool {
	who := "ip:" + clientIP(r)
	if c.Kind == PartnerCaller {
		if req.HotelCode != "" && c.mayReadHotel(req.HotelCode) {
			return true
		}
		who = "partner:" + c.partner.AccessKeyID
		if ok, wait := s.lookupByCaller.allow(who, s.opts.Now()); !ok {
			s.writeRateLimited(w, r, "lookup_partner", wait)
			return false
		}
	}
	if ok, wait := s.lookupByCallerConf.allow(who+"\x00"+strings.ToUpper(req.Confirmation), s.opts.Now()); !ok {
		s.writeRateLimited(w, r, "lookup_confirmation", wait)
		return false
	}
	return true
}

// lookupMissByConf counts a lookup of confirmation that matched nothing in
// a global per-confirmation budget; past it, the anomaly metric counts
// (one guest's confirmation guessed at from many addresses), but nobody is
// refused: a global lockout would lock the guest out of their own lookup.
func (s *Server) lookupMissByConf(confirmation string) {
	if ok, _ := s.lookupMissesByConf.allow(strings.ToUpper(confirmation), s.opts.Now()); !ok {
		s.metrics.lookupAnomalies.Inc()
	}
}

// foldSurname normalises a surname for comparison: trimmed, inner spaces
// collapsed, case folded.
func foldSurname(s string) []byte {
	return []byte(strings.ToLower(strings.Join(strings.Fields(s), " ")))
}
