package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/resingest/resingest/api"
)

// jwksFlags select the identity provider whose tokens a server accepts
// (serve: guests; console: staff).
type jwksFlags struct {
	url, issuer, audience string
	refresh               time.Duration
}

// register adds --jwks-url, --jwks-issuer, --jwks-audience and
// --jwks-refresh; whose names the callers ("guest", "staff").
func (f *jwksFlags) register(fl *pflag.FlagSet, whose string) {
	fl.StringVar(&f.url, "jwks-url", "", "JWK Set URL of the identity provider whose RS256/ES256 "+whose+" tokens are accepted; empty: none")
	fl.StringVar(&f.issuer, "jwks-issuer", "", "iss claim required of JWKS-verified tokens; empty: not checked")
	fl.StringVar(&f.audience, "jwks-audience", "", "aud value required of JWKS-verified tokens; empty: not checked")
	fl.DurationVar(&f.refresh, "jwks-refresh", api.DefaultJWKSRefresh, "how often the JWK Set is fetched again (also on an unknown kid, at most every 30s)")
}

// open fetches the key set (nil, nil without --jwks-url); the caller
// closes it.
func (f *jwksFlags) open(ctx context.Context, log *slog.Logger) (*api.JWKS, error) {
	if f.url == "" {
		return nil, nil
	}
	j, err := api.NewJWKS(ctx, api.JWKSOptions{URL: f.url, Issuer: f.issuer, Audience: f.audience,
		Refresh: f.refresh, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("--jwks-url: %w", err)
	}
	if f.issuer == "" || f.audience == "" {
		log.Warn("JWKS tokens are accepted without an issuer or audience check; set --jwks-issuer and --jwks-audience")
	}
	return j, nil
}
