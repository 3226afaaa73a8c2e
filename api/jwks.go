package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Defaults of JWKSOptions.
const (
	DefaultJWKSRefresh = time.Hour
	// jwksFetchTimeout bounds one fetch of the key set, also the one a
	// request with an unknown kid may trigger.
	jwksFetchTimeout = 3 * time.Second
	// jwksUnknownKIDRefresh is how often an unknown kid may trigger a
	// fetch: a key rotated in at the identity provider is picked up
	// within this, and a flood of made-up kids costs one fetch per period.
	jwksUnknownKIDRefresh = 30 * time.Second
	// minRSABits is the smallest RSA modulus accepted.
	minRSABits = 2048
)

// ErrUnknownKey is wrapped when a token names no key of the key set.
var ErrUnknownKey = errors.New("api: unknown token key")

// JWKSOptions configures a JWKS.
type JWKSOptions struct {
	// URL serves the identity provider's JSON Web Key Set. Required.
	URL string
	// Issuer, when set, is the iss claim every token must carry.
	Issuer string
	// Audience, when set, must be one of the token's aud values.
	Audience string
	// Refresh is how often the key set is fetched again
	// (DefaultJWKSRefresh when 0).
	Refresh time.Duration
	// Client fetches the key set (a client with a short timeout when nil).
	Client *http.Client
	// Logger receives refresh failures (slog.Default() when nil).
	Logger *slog.Logger
	// Now is the clock of exp and nbf (time.Now when nil).
	Now func() time.Time
}

// JWKS verifies guest tokens signed RS256 or ES256 (P-256) by an identity
// provider, with the public keys it publishes as a JWK Set. Keys are
// cached and fetched again every Refresh, and when a token names a kid not
// in the cache (at most once per 30 s). It is safe for concurrent use;
// Close stops the refresh and may be called more than once.
type JWKS struct {
	opts    JWKSOptions
	storage jwkset.Storage
	cancel  context.CancelFunc
	once    sync.Once
}

// NewJWKS fetches the key set once (an error if that fails, so a wrong
// URL is found at start) and keeps refreshing it until Close.
func NewJWKS(ctx context.Context, opts JWKSOptions) (*JWKS, error) {
	if opts.URL == "" {
		return nil, errors.New("api: a JWKS URL is required")
	}
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultJWKSRefresh
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: jwksFetchTimeout}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// The refresh goroutine outlives ctx's caller only until Close.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	failFirst := false
	kf, err := keyfunc.NewDefaultOverrideCtx(rctx, []string{opts.URL}, keyfunc.Override{
		Client:                    opts.Client,
		HTTPTimeout:               jwksFetchTimeout,
		NoErrorReturnFirstHTTPReq: &failFirst,
		RefreshInterval:           opts.Refresh,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(jwksUnknownKIDRefresh), 1),
		// A request never waits for the limiter: when it has no token the
		// unknown kid is refused at once. The time left covers the fetch.
		RateLimitWaitMax: jwksFetchTimeout,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				opts.Logger.WarnContext(ctx, "JWKS refresh failed", "err", err)
			}
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("api: JWKS %s: %w", opts.URL, err)
	}
	return &JWKS{opts: opts, storage: kf.Storage(), cancel: cancel}, nil
}

// Close stops the background refresh.
func (j *JWKS) Close() {
	if j != nil {
		j.once.Do(j.cancel)
	}
}

// algOf is the one algorithm a public key verifies: RS256 for RSA keys of
// at least 2048 bits, ES256 for P-256 keys. Anything else (symmetric "oct"
// keys above all: a published HMAC secret would let anyone sign) has none.
func algOf(key any) (string, bool) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return jwt.SigningMethodRS256.Alg(), k.N.BitLen() >= minRSABits
	case *ecdsa.PublicKey:
		return jwt.SigningMethodES256.Alg(), k.Curve == elliptic.P256()
	}
	return "", false
}

// key returns the public key that must have signed t. The token's alg
// must be the key's one algorithm (and the JWK's own alg, when it states
// one), so no token can be checked with a key of another kind.
func (j *JWKS) key(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, fmt.Errorf("%w: the token names no kid", ErrUnknownKey)
	}
	jwk, err := j.storage.KeyRead(ctx, kid)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
	}
	m := jwk.Marshal()
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, fmt.Errorf("%w: key %q is not for signatures", ErrUnknownKey, kid)
	}
	// A set that (wrongly) publishes private keys still verifies with
	// their public halves.
	key := jwk.Key()
	if pk, ok := key.(*rsa.PrivateKey); ok {
		key = &pk.PublicKey
	}
	if pk, ok := key.(*ecdsa.PrivateKey); ok {
		key = &pk.PublicKey
	}
	alg, ok := algOf(key)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: key %q is of an unsupported kind", ErrUnknownKey, kid)
	case m.ALG != "" && m.ALG.String() != alg:
		return nil, fmt.Errorf("%w: key %q states alg %s, not %s", ErrUnknownKey, kid, m.ALG, alg)
	case t.Method.Alg() != alg:
		return nil, fmt.Errorf("%w: key %q verifies %s, the token is %s", ErrUnknownKey, kid, alg, t.Method.Alg())
	}
	return key, nil
}

// Verify checks an RS256 or ES256 token against the key set (and the
// configured issuer and audience; exp is required, nbf checked when
// present) and returns its guest id, the normalised e-mail address in sub.
func (j *JWKS) Verify(ctx context.Context, token string) (string, error) {
	var claims jwt.RegisteredClaims
	if err := j.VerifyClaims(ctx, token, &claims); err != nil {
		return "", err
	}
	return guestSubject(&claims)
}

// VerifyClaims checks an RS256 or ES256 token against the key set (and the
// configured issuer and audience; exp is required, nbf checked when
// present) and decodes its claims into claims: for callers with claims of
// their own, such as the operations console's roles.
func (j *JWKS) VerifyClaims(ctx context.Context, token string, claims jwt.Claims) error {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(j.opts.Now),
		jwt.WithLeeway(tokenLeeway),
	}
	if j.opts.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(j.opts.Issuer))
	}
	if j.opts.Audience != "" {
		opts = append(opts, jwt.WithAudience(j.opts.Audience))
	}
	if _, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) { return j.key(ctx, t) }, opts...); err != nil {
		return fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	return nil
}
