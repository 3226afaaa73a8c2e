package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/resingest/resingest/sinks/dynamo"
)

// CallerKind says how a request authenticated.
type CallerKind int

const (
	// Anonymous callers sent no credentials.
	Anonymous CallerKind = iota
	// GuestCaller sent a valid guest bearer token.
	GuestCaller
	// PartnerCaller sent a valid SigV4-signed request.
	PartnerCaller
)

// Caller is the authenticated client of a request.
type Caller struct {
	Kind CallerKind
	// GuestID is the guest's normalised e-mail address (GuestCaller).
	GuestID string
	partner partnerEntry
}

// mayReadHotel reports whether the caller may read hotel-level data.
func (c Caller) mayReadHotel(hotel string) bool {
	return c.Kind == PartnerCaller && c.partner.hotels[hotel]
}

// mayRead reports whether the caller may read one reservation: a partner
// of its hotel, or a guest the reservation names (any guest, not only the
// primary one).
func (c Caller) mayRead(st *Stored) bool {
	switch c.Kind {
	case PartnerCaller:
		return c.partner.hotels[st.Reservation.HotelCode]
	case GuestCaller:
		return namesGuest(st, c.GuestID)
	}
	return false
}

func namesGuest(st *Stored, guestID string) bool {
	for _, g := range st.Reservation.Guests {
		if g.Email != "" && dynamo.NormalizeEmail(g.Email) == guestID {
			return true
		}
	}
	return false
}

// errNoCredentials is returned when a request carries no Authorization.
var errNoCredentials = errors.New("api: no credentials")

// authenticate identifies the caller of r. Signed requests need their
// body, so it reads it (bounded by MaxBodyBytes) and returns it. A nil
// error with Anonymous means no credentials were sent.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (Caller, []byte, error) {
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return Caller{}, nil, err
	}
	li := logInfoFrom(r.Context())
	h := r.Header.Get("Authorization")
	switch {
	case h == "":
		return Caller{Kind: Anonymous}, body, nil
	case len(h) > 7 && strings.EqualFold(h[:7], "Bearer "): // the scheme is case-insensitive
		if s.opts.Guests == nil && s.opts.JWKS == nil {
			li.reason = "guest tokens are not configured"
			return Caller{}, body, ErrBadToken
		}
		id, err := verifyGuestToken(r.Context(), strings.TrimSpace(h[7:]), s.opts.Guests, s.opts.JWKS)
		if err != nil {
			li.reason = authReason(err)
			return Caller{}, body, err
		}
		li.caller = "guest"
		return Caller{Kind: GuestCaller, GuestID: id}, body, nil
	case strings.HasPrefix(h, sigV4Algo+" "):
		p, err := s.sigv4.verify(r.Context(), r, body)
		if err != nil {
			li.reason = authReason(err)
			return Caller{}, body, err
		}
		li.caller, li.partner = "partner", p.AccessKeyID
		return Caller{Kind: PartnerCaller, partner: p}, body, nil
	}
	li.reason = "unsupported Authorization scheme"
	return Caller{}, body, ErrBadToken
}

// authorize authenticates r and writes the error response when that
// fails; required says whether anonymous callers are refused. ok is false
// when a response was written.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, required bool) (c Caller, body []byte, ok bool) {
	if !s.refuseBlocked(w, r) {
		return Caller{}, nil, false
	}
	c, body, err := s.authenticate(w, r)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeProblem(w, http.StatusRequestEntityTooLarge, ProblemTooLarge, "the request body is too large")
		return Caller{}, nil, false
	case errors.Is(err, ErrReplayCacheFull):
		writeProblem(w, http.StatusServiceUnavailable, ProblemUnavailable, "too many signed requests; retry later")
		return Caller{}, nil, false
	case err != nil && (errors.Is(err, ErrBadToken) || errors.Is(err, ErrBadSignature)):
		s.recordFailure(r)
		writeProblem(w, http.StatusUnauthorized, ProblemUnauthorized, "invalid credentials")
		return Caller{}, nil, false
	case err != nil:
		writeProblem(w, http.StatusBadRequest, ProblemBadRequest, "the request body could not be read")
		return Caller{}, nil, false
	case required && c.Kind == Anonymous:
		writeProblem(w, http.StatusUnauthorized, ProblemUnauthorized, "credentials are required")
		return Caller{}, nil, false
	}
	if ok, wait := s.limits.allow(callerKey(c, r), s.opts.Now()); !ok {
		s.writeRateLimited(w, r, "client", wait)
		return Caller{}, nil, false
	}
	return c, body, true
}

// authReasons name why credentials were refused, for the access log. The
// errors themselves may quote what the caller sent (a token's alg or kid),
// so only these fixed words are logged.
var authReasons = []struct {
	err    error
	reason string
}{
	{ErrReplay, "replayed request"},
	{ErrBadSignature, "invalid signature"},
	{ErrUnknownKey, "unknown token key"},
	{jwt.ErrTokenMalformed, "malformed token"},
	{jwt.ErrTokenExpired, "token expired"},
	{jwt.ErrTokenNotValidYet, "token not valid yet"},
	{jwt.ErrTokenUsedBeforeIssued, "token used before issued"},
	{jwt.ErrTokenSignatureInvalid, "invalid token signature"},
	{jwt.ErrTokenInvalidIssuer, "invalid token issuer"},
	{jwt.ErrTokenInvalidAudience, "invalid token audience"},
	{jwt.ErrTokenRequiredClaimMissing, "token claim missing"},
	{jwt.ErrTokenUnverifiable, "unverifiable token"},
	{errAlgNotAccepted, "token alg not accepted"},
	{errBadSubject, "token subject is not a guest id"},
}

// authReason is the loggable reason of an authentication error.
func authReason(err error) string {
	for _, r := range authReasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "invalid token"
}
