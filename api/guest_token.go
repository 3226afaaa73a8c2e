package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/resingest/resingest/sinks/dynamo"
)

// TokenIssuer is the iss claim of guest tokens.
const TokenIssuer = "resingest"

// MinSecretLen is the shortest HS256 secret accepted (256 bits).
const MinSecretLen = 32

// ErrWeakSecret is returned for a JWT secret shorter than MinSecretLen.
var ErrWeakSecret = fmt.Errorf("api: the JWT secret must be at least %d bytes", MinSecretLen)

// ErrBadToken wraps every reason a guest token is refused.
var ErrBadToken = errors.New("api: invalid guest token")

// GuestTokens issues and verifies guest bearer tokens: HS256 JWTs whose
// subject is the guest id (the normalised e-mail address) and which must
// carry an expiry. It is safe for concurrent use.
type GuestTokens struct {
	secret []byte
	now    func() time.Time
}

// NewGuestTokens uses secret (at least MinSecretLen bytes); now is
// time.Now when nil.
func NewGuestTokens(secret []byte, now func() time.Time) (*GuestTokens, error) {
	if len(secret) < MinSecretLen {
		return nil, ErrWeakSecret
	}
	if now == nil {
		now = time.Now
	}
	return &GuestTokens{secret: secret, now: now}, nil
}

// Issue returns a token for the guest with this e-mail address, valid for
// ttl.
func (g *GuestTokens) Issue(email string, ttl time.Duration) (string, error) {
	id := dynamo.NormalizeEmail(email)
	if id == "" || ttl <= 0 {
		return "", errors.New("api: a guest token needs an e-mail address and a positive lifetime")
	}
	now := g.now()
	claims := jwt.RegisteredClaims{
		Issuer:    TokenIssuer,
		Subject:   id,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(g.secret)
}

// Verify checks token and returns its guest id.
func (g *GuestTokens) Verify(token string) (string, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return g.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(TokenIssuer),
		jwt.WithTimeFunc(g.now),
		jwt.WithLeeway(tokenLeeway),
	)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	return guestSubject(&claims)
}

// MaxGuestIDBytes bounds a token's subject (an e-mail address is at most
// 254 bytes).
const MaxGuestIDBytes = 320

var (
	errBadSubject     = errors.New("subject is not a normalised guest id")
	errAlgNotAccepted = errors.New("the token's alg is not accepted")
)

// tokenLeeway is the clock skew allowed on exp and nbf.
const tokenLeeway = 30 * time.Second

// guestSubject is the guest id of verified claims.
func guestSubject(claims *jwt.RegisteredClaims) (string, error) {
	if claims.Subject == "" || claims.Subject != dynamo.NormalizeEmail(claims.Subject) ||
		checkText("sub", claims.Subject, MaxGuestIDBytes, true) != nil {
		return "", fmt.Errorf("%w: %w", ErrBadToken, errBadSubject)
	}
	return claims.Subject, nil
}

// verifyGuestToken sends a bearer token to the verifier of its alg: HS256
// to the local secret, RS256/ES256 to the JWKS. Each verifier accepts its
// own algorithms only, so a token cannot pick a key of another kind.
func verifyGuestToken(ctx context.Context, token string, local *GuestTokens, jwks *JWKS) (string, error) {
	t, _, err := jwt.NewParser().ParseUnverified(token, &jwt.RegisteredClaims{})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	switch alg := t.Method.Alg(); {
	case alg == jwt.SigningMethodHS256.Alg() && local != nil:
		return local.Verify(token)
	case (alg == jwt.SigningMethodRS256.Alg() || alg == jwt.SigningMethodES256.Alg()) && jwks != nil:
		return jwks.Verify(ctx, token)
	default:
		return "", fmt.Errorf("%w: %w", ErrBadToken, errAlgNotAccepted)
	}
}
