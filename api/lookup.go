package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
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
// confirmation matched nothing before any lookup found a reservation to
// read instead (see lookupCandidates). '~' is in no hotel code of the
// data; whatever the read returns is discarded.
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

// lookupCandidates reads the reservations a lookup compares with: every
// hotel's with the confirmation (or only the named hotel's). The work
// does not depend on whether one exists: the keys are always found by one
// query of the confirmation, and when none is there (or none in the named
// hotel) a reservation that does exist, the last one a lookup read, is
// read and discarded instead, so a miss costs the read, decoding and
// decryption of a hit.
func (s *Server) lookupCandidates(ctx context.Context, req *LookupRequest) ([]Stored, error) {
	keys, err := s.opts.Store.KeysByConfirmation(ctx, req.Confirmation, maxLookupMatches)
	if err != nil {
		return nil, err
	}
	if req.HotelCode != "" {
		keys = slices.DeleteFunc(keys, func(k reservation.Key) bool { return k.HotelCode != req.HotelCode })
	}
	if len(keys) == 0 {
		decoy := reservation.Key{HotelCode: decoyHotel, Confirmation: req.Confirmation}
		if k := s.lastLookupKey.Load(); k != nil {
			decoy = *k
		}
		if _, err := s.opts.Store.Get(ctx, decoy); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, nil
	}
	found := make([]Stored, 0, len(keys))
	for _, k := range keys {
		st, err := s.opts.Store.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue // gone between the query and the read
		}
		if err != nil {
			return nil, err
		}
		found = append(found, st)
	}
	if len(found) > 0 {
		k := found[0].Reservation.Key()
		s.lastLookupKey.Store(&k)
	}
	return found, nil
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
