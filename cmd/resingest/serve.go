package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/api"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

func init() { addCommand(newServeCmd) }

// serveFlags configure 'resingest serve'. The store flags are its own:
// storeFlags is about writing (and always needs Postgres for the audit).
type serveFlags struct {
	addr           string
	adminAddr      string
	store          string
	jwtSecret      string
	jwks           jwksFlags
	partnersFile   string
	region         string
	pgURL          string
	pgMaxConns     int32
	dynamoEndpoint string
	dynamoTable    string
	shutdownGrace  time.Duration
	rateLimit      float64
	lookupLimit    float64
	failedLimit    int
	failedWindow   time.Duration
	keys           keyFlags
	partitions     partitionFlags // db_partitions.go: ahead and interval only
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Serve the itinerary REST API (guests: bearer JWT; partners: SigV4)",
		Long: `serve runs the itinerary REST API over one store (DynamoDB or Postgres):

  GET  /v1/reservations/{hotel_code}/{confirmation}
  GET  /v1/hotels/{hotel_code}/arrivals?date=YYYY-MM-DD[&limit=N&cursor=C]
  GET  /v1/guests/me/itineraries[?from=YYYY-MM-DD&to=YYYY-MM-DD]
  POST /v1/itineraries/lookup  {"confirmation": "...", "surname": "..."}
  GET  /healthz, /readyz
  GET  /openapi.json (OpenAPI 3.1), /docs (the same as an HTML page)

Prometheus metrics are not on --addr: GET /metrics is served on --admin-addr
(loopback by default; empty: no admin listener).

Every value in a path, query or lookup body is checked before any store is
asked: hotel codes at most 64 bytes, confirmation numbers 128, surnames 256,
page cursors 1024; valid UTF-8 without control characters. Otherwise: 400.

Guests send 'Authorization: Bearer <JWT>': HS256 with --jwt-secret (make one
with 'resingest token guest'), or RS256/ES256 signed by an identity provider
whose keys --jwks-url serves (kid required; each key verifies its own
algorithm only; iss/aud checked with --jwks-issuer/--jwks-audience). The
subject is the guest's normalised e-mail address; exp is required. Partners sign requests with AWS Signature V4
(service "resingest", region --region) using a key from --partners-file
(make one with 'resingest token partner'). The partners file is read at start.

Each client (a guest, a partner key, else an address) may make --rate-limit
requests per second; lookups are also limited to --lookup-rate-limit a minute
per address and per confirmation number. An address that fails
--failed-auth-limit times per --failed-auth-window (invalid credentials,
lookups that match nothing) has all its requests refused until an attempt
comes back. Past a limit: 429 with Retry-After.
Addresses are the connection's (X-Forwarded-For is not trusted).

Guests' e-mail addresses, phone numbers and loyalty numbers are shown
unmasked only to partners whose key has the pii scope ('resingest token
partner --scopes pii') and to a signed-in guest for their own entry; others
see "j***@example.com", "***1234" and no loyalty number. Every response that
shows them unmasked is recorded in the pii_access table of --pg-url (written
in batches in the background; when that falls behind, such reads get 503
rather than go unaudited). Without --pg-url everything is masked.

SIGINT/SIGTERM stop accepting connections and let the requests in flight
finish within --shutdown-grace.

Every flag can be set from the environment as RESINGEST_<FLAG>
(--jwt-secret: RESINGEST_JWT_SECRET).`,
		Example: `  eval "$(scripts/dev-services env)"
  export RESINGEST_JWT_SECRET=$(openssl rand -hex 32)
  resingest token partner --hotels H1,H2 --partners-file partners.json
  resingest serve --store postgres --partners-file partners.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fl.StringVar(&f.adminAddr, "admin-addr", "127.0.0.1:9109", "address of the admin listener (GET /metrics); keep it unreachable from outside; empty: none")
	fl.StringVar(&f.store, "store", "dynamo", "store to read: dynamo or postgres")
	fl.StringVar(&f.jwtSecret, "jwt-secret", "", "HS256 secret of guest tokens, at least 32 bytes (env RESINGEST_JWT_SECRET); empty: guests cannot sign in")
	f.jwks.register(fl, "guest")
	fl.StringVar(&f.partnersFile, "partners-file", "", "JSON partner table (access keys, secrets, hotels); empty: no partners")
	fl.StringVar(&f.region, "region", api.DefaultRegion, "SigV4 region partners sign for")
	fl.StringVar(&f.pgURL, "pg-url", "", "Postgres URL: the store with --store postgres, and the PII access audit (table pii_access) with either store; empty: no audit, contact data masked for all (env RESINGEST_PG_URL)")
	fl.Int32Var(&f.pgMaxConns, "pg-max-conns", 8, "most Postgres connections")
	fl.StringVar(&f.dynamoEndpoint, "dynamo-endpoint", "", "DynamoDB endpoint URL; empty: AWS's (env RESINGEST_DYNAMO_ENDPOINT)")
	fl.StringVar(&f.dynamoTable, "dynamo-table", dynamo.DefaultTable, "DynamoDB table")
	fl.Float64Var(&f.rateLimit, "rate-limit", 20, "requests per second per client (guest, partner key, else address), bursts of twice that; 0: no limit")
	fl.Float64Var(&f.lookupLimit, "lookup-rate-limit", 5, "lookups per minute per address and per confirmation number (partners excepted); 0: no limit")
	fl.IntVar(&f.failedLimit, "failed-auth-limit", 10, "failed attempts (invalid credentials, lookups matching nothing) per address per --failed-auth-window before its requests get 429; 0: no limit")
	fl.DurationVar(&f.failedWindow, "failed-auth-window", api.DefaultFailedAuthWindow, "window of --failed-auth-limit (attempts come back evenly over it)")
	fl.DurationVar(&f.shutdownGrace, "shutdown-grace", api.DefaultShutdownGrace, "how long requests in flight may take to finish after a stop signal")
	f.partitions.registerUpkeep(fl, 6*time.Hour)
	f.keys.register(cmd)
	return cmd
}

func runServe(ctx context.Context, f *serveFlags) error {
	if f.rateLimit < 0 || f.lookupLimit < 0 || f.failedLimit < 0 {
		return errors.New("--rate-limit, --lookup-rate-limit and --failed-auth-limit must not be negative")
	}
	if f.failedWindow <= 0 {
		return errors.New("--failed-auth-window must be positive")
	}
	if err := f.partitions.validateUpkeep(); err != nil {
		return err
	}
	opts := api.Options{Region: f.region, ShutdownGrace: f.shutdownGrace, Logger: slog.Default(),
		RateLimit: f.rateLimit, LookupRateLimit: f.lookupLimit,
		FailedAuthLimit: f.failedLimit, FailedAuthWindow: f.failedWindow}
	if f.jwtSecret != "" {
		g, err := api.NewGuestTokens([]byte(f.jwtSecret), nil)
		if err != nil {
			return fmt.Errorf("--jwt-secret: %w", err)
		}
		opts.Guests = g
	}
	j, err := f.jwks.open(ctx, slog.Default())
	if err != nil {
		return err
	}
	if j != nil {
		defer j.Close()
		opts.JWKS = j
	}
	if f.partnersFile != "" {
		p, err := api.LoadPartners(f.partnersFile)
		if err != nil {
			return fmt.Errorf("--partners-file: %w", err)
		}
		// The file holds the partners' secrets.
		if st, err := os.Stat(f.partnersFile); err == nil && st.Mode().Perm()&0o077 != 0 {
			slog.Warn("the partners file is readable by other users; make it mode 0600", "mode", st.Mode().Perm().String())
		}
		opts.Partners = p
	}
	store, pg, closeStore, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	store, closeKeys, err := f.openKeys(ctx, store, pg)
	if err != nil {
		return err
	}
	defer closeKeys()
	opts.Store = store
	audit, auditPG, closeAudit, err := f.openAudit(ctx, pg)
	if err != nil {
		return err
	}
	defer closeAudit() // before closeStore: it may write through the store's pool
	opts.Audit = audit
	srv, err := api.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if auditPG != nil && f.partitions.every > 0 {
		// The PII access audit grows by month: its partitions are made
		// ahead here too, so an API without a worker beside it (a Lambda
		// consumer, say) does not fill the default partition. It stops
		// with ctx, before closeAudit closes the pool.
		go auditPG.KeepPartitions(ctx, f.partitions.every, f.partitions.ahead, postgres.Retention{}, slog.Default())
	}
	adminDone := make(chan error, 1)
	if f.adminAddr != "" {
		aln, err := net.Listen("tcp", f.adminAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--admin-addr: %w", err)
		}
		if ip := addrIP(aln.Addr()); ip != nil && !ip.IsLoopback() {
			slog.Warn("the admin listener (metrics) is not on a loopback address; keep it unreachable from outside", "admin_addr", aln.Addr().String())
		}
		slog.Info("serving metrics", "admin_addr", aln.Addr().String())
		go func() { adminDone <- srv.ServeAdmin(ctx, aln) }()
	} else {
		adminDone <- nil
	}
	slog.Info("serving the itinerary API", "addr", ln.Addr().String(), "store", f.store,
		"guests", opts.Guests != nil, "jwks", opts.JWKS != nil, "pii_audit", opts.Audit != nil, "partners", opts.Partners.Len())
	err = srv.Serve(ctx, ln)
	cancel()
	if aerr := <-adminDone; err == nil {
		err = aerr
	}
	slog.Info("itinerary API stopped")
	return err
}

// addrIP is the IP of a TCP listener's address (nil otherwise).
func addrIP(a net.Addr) net.IP {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP
	}
	return nil
}
