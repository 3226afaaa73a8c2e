package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Roles a staff token may carry (claim "roles", see IdPTokens.RolesClaim).
const (
	// RoleOps sees everything with guests' personal data masked.
	RoleOps = "ops"
	// RoleOpsPII sees guests' personal data; every such view is recorded
	// in pii_access.
	RoleOpsPII = "ops-pii"
)

// Claims of the console's local tokens (StaffTokens): they are refused
// by the itinerary API (no guest subject) and guest tokens are refused
// here (wrong audience, no roles).
const (
	TokenIssuer   = "resingest"
	TokenAudience = "resingest-console"
	// MinSecretLen is the shortest HS256 secret accepted (256 bits).
	MinSecretLen = 32
	tokenLeeway  = 30 * time.Second
	cookieName   = "resingest_console"
)

// ErrUnauthorized wraps every reason a credential is refused. Its text
// never holds the credential.
var ErrUnauthorized = errors.New("console: not signed in")

// ErrNoRole is wrapped when a valid token carries neither role.
var ErrNoRole = errors.New("the token carries neither the ops nor the ops-pii role")

// Staff is a signed-in member of staff.
type Staff struct {
	// Subject is the token's sub claim (a staff id, never shown to others).
	Subject string
	// PII is true for the ops-pii role.
	PII bool
}

// Role is the staff member's role name.
func (s Staff) Role() string {
	if s.PII {
		return RoleOpsPII
	}
	return RoleOps
}

// Verifier checks a staff bearer token.
type Verifier interface {
	VerifyStaff(ctx context.Context, token string) (Staff, error)
}

// StaffTokens issues and verifies the console's local HS256 tokens
// (`resingest token ops`, for development and break-glass use). Safe for
// concurrent use.
type StaffTokens struct {
	secret []byte
	now    func() time.Time
}

// NewStaffTokens uses secret (at least MinSecretLen bytes); now is
// time.Now when nil.
func NewStaffTokens(secret []byte, now func() time.Time) (*StaffTokens, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("console: the JWT secret must be at least %d bytes", MinSecretLen)
	}
	if now == nil {
		now = time.Now
	}
	return &StaffTokens{secret: secret, now: now}, nil
}

type staffClaims struct {
	jwt.RegisteredClaims
	Roles []string `json:"roles"`
}

// Issue returns a token for subject with role (RoleOps or RoleOpsPII),
// valid for ttl.
func (t *StaffTokens) Issue(subject, role string, ttl time.Duration) (string, error) {
	switch {
	case strings.TrimSpace(subject) == "":
		return "", errors.New("console: a staff token needs a subject")
	case role != RoleOps && role != RoleOpsPII:
		return "", fmt.Errorf("console: role %q: must be %s or %s", role, RoleOps, RoleOpsPII)
	case ttl <= 0:
		return "", errors.New("console: a staff token needs a positive lifetime")
	}
	now := t.now()
	c := staffClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: TokenIssuer, Subject: subject, Audience: jwt.ClaimStrings{TokenAudience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Roles: []string{role},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
}

// VerifyStaff checks an HS256 token of Issue: signature, exp (required),
// issuer, audience and role.
func (t *StaffTokens) VerifyStaff(_ context.Context, token string) (Staff, error) {
	var c staffClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(),
		jwt.WithIssuer(TokenIssuer), jwt.WithAudience(TokenAudience), jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(tokenLeeway))
	if err != nil {
		return Staff{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return staffOf(c.Subject, c.Roles)
}

// ClaimsVerifier verifies a token signed by the identity provider and
// decodes its claims (api.JWKS does, with the issuer and audience it was
// configured with).
type ClaimsVerifier interface {
	VerifyClaims(ctx context.Context, token string, claims jwt.Claims) error
}

// IdPTokens accepts staff tokens of the company's identity provider: the
// roles are read from RolesClaim ("roles" when empty), a list of strings
// or one space-separated string.
type IdPTokens struct {
	Verifier   ClaimsVerifier
	RolesClaim string
}

// VerifyStaff implements Verifier.
func (t IdPTokens) VerifyStaff(ctx context.Context, token string) (Staff, error) {
	c := jwt.MapClaims{}
	if err := t.Verifier.VerifyClaims(ctx, token, c); err != nil {
		return Staff{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	name := t.RolesClaim
	if name == "" {
		name = "roles"
	}
	var roles []string
	switch v := c[name].(type) {
	case string:
		roles = strings.Fields(v)
	case []any:
		for _, r := range v {
			if s, ok := r.(string); ok {
				roles = append(roles, s)
			}
		}
	}
	sub, _ := c.GetSubject()
	return staffOf(sub, roles)
}

func staffOf(subject string, roles []string) (Staff, error) {
	switch {
	case strings.TrimSpace(subject) == "":
		return Staff{}, fmt.Errorf("%w: the token has no subject", ErrUnauthorized)
	case slices.Contains(roles, RoleOpsPII):
		return Staff{Subject: subject, PII: true}, nil
	case slices.Contains(roles, RoleOps):
		return Staff{Subject: subject}, nil
	}
	return Staff{}, fmt.Errorf("%w: %w", ErrUnauthorized, ErrNoRole)
}

// credential is how a request signed in.
type credential struct {
	token      string
	fromCookie bool
}

// credentialOf finds the bearer token of r: the Authorization header,
// else the session cookie.
func credentialOf(r *http.Request) (credential, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "bearer") && strings.TrimSpace(tok) != "" {
			return credential{token: strings.TrimSpace(tok)}, true
		}
		return credential{}, false
	}
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		return credential{token: c.Value, fromCookie: true}, true
	}
	return credential{}, false
}

// verify tries every verifier in turn.
func (s *Server) verify(ctx context.Context, token string) (Staff, error) {
	if len(token) > maxTokenBytes {
		return Staff{}, fmt.Errorf("%w: token too long", ErrUnauthorized)
	}
	err := error(ErrUnauthorized)
	for _, v := range s.opts.Verifiers {
		st, verr := v.VerifyStaff(ctx, token)
		if verr == nil {
			return st, nil
		}
		if errors.Is(verr, ErrNoRole) {
			err = verr // the most useful reason
		}
	}
	return Staff{}, err
}

const maxTokenBytes = 8 << 10

// csrfToken binds a form to the credential that loaded it: an attacker's
// page can neither read it nor compute it.
func (s *Server) csrfToken(c credential) string {
	sum := sha256.Sum256([]byte(c.token))
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("csrf\x00"))
	m.Write(sum[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) csrfValid(c credential, got string) bool {
	return hmac.Equal([]byte(s.csrfToken(c)), []byte(got))
}

// sameOrigin refuses a state-changing request a browser sent from another
// site: its Origin (or, without one, Sec-Fetch-Site) must be this host. A
// request that carries neither is accepted only with an Authorization
// header (a script, not a browser's ambient cookie).
//
// A page served with Referrer-Policy no-referrer (as every console page
// is) makes Chromium send "Origin: null" with its forms: Sec-Fetch-Site
// decides then, and without it the request is refused.
func sameOrigin(r *http.Request, c credential) bool {
	switch o := r.Header.Get("Origin"); o {
	case "", "null":
	default:
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		return o == scheme+r.Host
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return true
	case "":
		return r.Header.Get("Origin") == "" && !c.fromCookie
	}
	return false
}
