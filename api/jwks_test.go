package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// idp is an identity provider of the tests: it serves a JWK Set (written
// by hand, not by the library under test) and signs tokens.
type idp struct {
	rsa, rsa2 *rsa.PrivateKey
	ec        *ecdsa.PrivateKey
	oct       []byte
	keys      atomic.Pointer[[]map[string]string]
	fetches   atomic.Int32
	srv       *httptest.Server
}

var (
	idpOnce sync.Once
	idpKeys struct {
		rsa, rsa2 *rsa.PrivateKey
		ec        *ecdsa.PrivateKey
	}
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PrivateKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	idpOnce.Do(func() { // RSA key generation is slow: once per test binary
		var err error
		if idpKeys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err == nil {
			idpKeys.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
		}
		if err == nil {
			idpKeys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		}
		if err != nil {
			panic(err)
		}
	})
	p := &idp{rsa: idpKeys.rsa, rsa2: idpKeys.rsa2, ec: idpKeys.ec, oct: []byte("an-hmac-secret-published-by-mistake-0123")}
	ecPub := p.ec.PublicKey
	keys := []map[string]string{
		rsaJWK("rsa1", p.rsa),
		{"kty": "EC", "kid": "ec1", "alg": "ES256", "use": "sig", "crv": "P-256",
			"x": b64(ecPub.X.FillBytes(make([]byte, 32))), "y": b64(ecPub.Y.FillBytes(make([]byte, 32)))},
		// A symmetric key must never verify anything, whatever it says.
		{"kty": "oct", "kid": "hmac1", "k": b64(p.oct)},
	}
	p.keys.Store(&keys)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": *p.keys.Load()})
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// sign makes a token with method, kid and claims, signed with key.
func sign(t *testing.T, method jwt.SigningMethod, kid string, claims jwt.MapClaims, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	jwks, err := NewJWKS(testContext(t), JWKSOptions{URL: p.srv.URL, Issuer: "https://idp.example", Audience: "resingest-app",
		Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(jwks.Close)
	ts, _ := newTestServer(t, newStore(t, "postgres", fixture(t)), func(o *Options) { o.JWKS = jwks })

	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "https://idp.example", "aud": "resingest-app", "sub": "ann@example.com",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	good := sign(t, jwt.SigningMethodRS256, "rsa1", claims(nil), p.rsa)
	parts := strings.Split(good, ".")
	otherBody, _ := json.Marshal(claims(func(c jwt.MapClaims) { c["sub"] = "bo@example.com" }))
	tampered := parts[0] + "." + b64(otherBody) + "." + parts[2]
	rsaPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&p.rsa.PublicKey))})
	noneTok := sign(t, jwt.SigningMethodNone, "rsa1", claims(nil), jwt.UnsafeAllowNoneSignatureType)

	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"RS256", good, 200},
		{"ES256", sign(t, jwt.SigningMethodES256, "ec1", claims(nil), p.ec), 200},
		{"several audiences", sign(t, jwt.SigningMethodRS256, "rsa1", claims(func(c jwt.MapClaims) { c["aud"] = []string{"x", "resingest-app"} }), p.rsa), 200},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, "nope", claims(nil), p.rsa), 401},
		{"no kid", sign(t, jwt.SigningMethodRS256, "", claims(nil), p.rsa), 401},
		{"RS256 under the EC kid", sign(t, jwt.SigningMethodRS256, "ec1", claims(nil), p.rsa), 401},
		{"ES256 under the RSA kid", sign(t, jwt.SigningMethodES256, "rsa1", claims(nil), p.ec), 401},
		{"RS384 (not accepted)", sign(t, jwt.SigningMethodRS384, "rsa1", claims(nil), p.rsa), 401},
		{"HS256 keyed with the RSA public key", sign(t, jwt.SigningMethodHS256, "rsa1", claims(nil), rsaPubPEM), 401},
		{"HS256 keyed with a published oct key", sign(t, jwt.SigningMethodHS256, "hmac1", claims(nil), p.oct), 401},
		{"alg none", noneTok, 401},
		{"tampered claims", tampered, 401},
		{"wrong signer", sign(t, jwt.SigningMethodRS256, "rsa1", claims(nil), p.rsa2), 401},
		{"expired", sign(t, jwt.SigningMethodRS256, "rsa1", claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }), p.rsa), 401},
		{"no exp", sign(t, jwt.SigningMethodRS256, "rsa1", claims(func(c jwt.MapClaims) { delete(c, "exp") }), p.rsa), 401},
		{"not yet valid", sign(t, jwt.SigningMethodRS256, "rsa1", claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }), p.rsa), 401},
		{"wrong issuer", sign(t, jwt.SigningMethodRS256, "rsa1", claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), p.rsa), 401},
		{"wrong audience", sign(t, jwt.SigningMethodRS256, "rsa1", claims(func(c jwt.MapClaims) { c["aud"] = "other" }), p.rsa), 401},
		{"subject not normalised", sign(t, jwt.SigningMethodRS256, "rsa1", claims(func(c jwt.MapClaims) { c["sub"] = "Ann@Example.com" }), p.rsa), 401},
		// The local HS256 secret still works beside the key set.
		{"local HS256", guestToken(t, ann.email, now, time.Hour, testSecret), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, ts, caller{tt.name, bearer(tt.token)}, "GET", "/v1/guests/me/itineraries", nil)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status != 200 {
				checkProblem(t, r)
				return
			}
			var got ItinerariesResponse
			if err := json.Unmarshal(r.body, &got); err != nil || len(got.Items) == 0 {
				t.Fatalf("itineraries %s: %v", r.body, err)
			}
		})
	}

	t.Run("oct key refused by the key set itself", func(t *testing.T) {
		_, err := jwks.Verify(t.Context(), sign(t, jwt.SigningMethodHS256, "hmac1", claims(nil), p.oct))
		if err == nil {
			t.Fatal("an HS256 token verified against the key set")
		}
		// Past the method check too: the key lookup itself refuses it.
		for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodRS256} {
			_, err := jwks.key(t.Context(), &jwt.Token{Method: m, Header: map[string]any{"kid": "hmac1"}})
			if !errors.Is(err, ErrUnknownKey) {
				t.Errorf("%s under the oct kid: %v, want ErrUnknownKey", m.Alg(), err)
			}
		}
	})
}

// TestJWKSRotation checks that a key rotated in at the provider is found
// by fetching the set again, and that made-up kids do not each cost a
// fetch.
func TestJWKSRotation(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	jwks, err := NewJWKS(testContext(t), JWKSOptions{URL: p.srv.URL, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(jwks.Close)
	claims := jwt.MapClaims{"sub": "ann@example.com", "exp": time.Now().Add(time.Hour).Unix()}
	rotated := sign(t, jwt.SigningMethodRS256, "rsa2", claims, p.rsa2)
	keys := append(append([]map[string]string(nil), *p.keys.Load()...), rsaJWK("rsa2", p.rsa2))
	p.keys.Store(&keys)
	before := p.fetches.Load()
	if id, err := jwks.Verify(t.Context(), rotated); err != nil || id != "ann@example.com" {
		t.Fatalf("rotated key: %q, %v", id, err)
	}
	if p.fetches.Load() != before+1 {
		t.Errorf("%d fetches for the rotated kid, want 1", p.fetches.Load()-before)
	}
	before = p.fetches.Load()
	for range 5 {
		_, err := jwks.Verify(t.Context(), sign(t, jwt.SigningMethodRS256, "made-up", claims, p.rsa))
		if !errors.Is(err, ErrBadToken) || !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("made-up kid: %v, want ErrBadToken and ErrUnknownKey", err)
		}
	}
	if n := p.fetches.Load() - before; n != 0 {
		t.Errorf("%d fetches for 5 made-up kids right after a refetch, want 0", n)
	}
}

func TestNewJWKSFailsOnABadURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	for _, u := range []string{"", srv.URL} {
		if j, err := NewJWKS(testContext(t), JWKSOptions{URL: u, Logger: discardLogger()}); err == nil {
			j.Close()
			t.Errorf("NewJWKS(%q) succeeded", u)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
