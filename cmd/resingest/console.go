package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resingest/resingest/console"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks/dynamo"
)

func init() { addCommand(newConsoleCmd) }

// consoleFlags configure 'resingest console'.
type consoleFlags struct {
	addr, adminAddr string
	jwtSecret       string
	jwks            jwksFlags
	rolesClaim      string
	mapping         string
	maxBytes        int
	brokers         []string
	group           string
	leaseTable      string
	agreementEvery  time.Duration
	agreementSample int
	pageTimeout     time.Duration
	shutdownGrace   time.Duration
	stores          storeFlags
}

func newConsoleCmd() *cobra.Command {
	var f consoleFlags
	cmd := &cobra.Command{
		Use:   "console [flags]",
		Short: "Serve the operations console: a reservation's story, dead letters and replay, ingest health, feed quality",
		Long: `console serves the operations console on --addr (default 127.0.0.1:8090), a
set of HTML pages for support and operations staff:

  /                     find a reservation: hotel + confirmation, confirmation
                        alone, or a guest's e-mail address (blind index)
  /reservations/H/C     its timeline (every message, outcome, latency), the
                        fields each version changed, what Postgres and DynamoDB
                        hold side by side, each archived raw message
  /dead-letters         list and filter (reason, hotel, source, time), open one,
                        replay one or a filtered set, dry run first
  /health               messages per minute by outcome, dead letters by reason,
                        held records, consumer lag (--brokers, --group), Kinesis
                        leases (--lease-table), sampled store agreement
  /hotels               per-hotel feed quality, sortable

It reads the same stores as the worker, with the same store and keyring
flags (--pg-url, --dynamo-table, --archive-bucket, --kek-file, ...); replay
writes through them exactly as 'resingest dlq replay' does, parsing with
--mapping.

Staff sign in with a bearer JWT carrying the role ops (guests' personal data
masked) or ops-pii (unmasked; every page that shows it writes a pii_access
row first): tokens of the company's identity provider (--jwks-url, roles in
the claim --roles-claim), or local HS256 tokens made with 'resingest token
ops' and --jwt-secret. Browsers paste the token once at /signin (an HttpOnly,
SameSite=Strict cookie keeps it); scripts send Authorization: Bearer.
Replay checks the request's origin and a CSRF token.

GET /metrics on --admin-addr exports resingest_store_agreement_sampled and
resingest_store_agreement_disagreeing (a sample of --agreement-sample
reservations every --agreement-interval) and page timings.

Every flag can be set from the environment as RESINGEST_<FLAG>.`,
		Example: `  eval "$(scripts/dev-services env)"
  export RESINGEST_JWT_SECRET=$(openssl rand -hex 32)
  resingest token ops --subject alice --role ops
  resingest console --archive-bucket resingest-archive --brokers $RESINGEST_KAFKA_BROKERS --group resingest`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return fmt.Errorf("console: %w", err)
			}
			return runConsole(cmd.Context(), &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", console.DefaultAddr, "address to listen on")
	fl.StringVar(&f.adminAddr, "admin-addr", "127.0.0.1:9110", "address of the admin listener (GET /metrics); empty: none")
	fl.StringVar(&f.jwtSecret, "jwt-secret", "", "HS256 secret of local staff tokens ('resingest token ops'), at least 32 bytes (env RESINGEST_JWT_SECRET)")
	f.jwks.register(fl, "staff")
	fl.StringVar(&f.rolesClaim, "roles-claim", "roles", "claim of identity-provider tokens that lists the roles (ops, ops-pii)")
	fl.StringVar(&f.mapping, "mapping", parse.AutoMapping, "parser mapping for replays and version diffs: auto, a built-in name, or a YAML file")
	fl.IntVar(&f.maxBytes, "max-bytes", parse.DefaultMaxBytes, "largest message accepted by replay, in bytes")
	fl.StringSliceVar(&f.brokers, "brokers", nil, "Kafka seed brokers, for the lag of --group; empty: lag not shown (env RESINGEST_KAFKA_BROKERS)")
	fl.StringVar(&f.group, "group", "", "Kafka consumer group whose lag is shown (with --brokers)")
	fl.StringVar(&f.leaseTable, "lease-table", "", "DynamoDB table of the Kinesis shard leases to show; empty: none")
	fl.DurationVar(&f.agreementEvery, "agreement-interval", time.Minute, "how often Postgres and DynamoDB versions are compared on a sample; 0: never")
	fl.IntVar(&f.agreementSample, "agreement-sample", 100, "reservations compared per agreement check")
	fl.DurationVar(&f.pageTimeout, "page-timeout", console.DefaultPageTimeout, "deadline of the store calls of one page")
	fl.DurationVar(&f.shutdownGrace, "shutdown-grace", 10*time.Second, "how long pages in flight may take to finish after a stop signal")
	f.stores.register(cmd)
	return cmd
}

func (f *consoleFlags) validate() error {
	switch {
	case f.jwtSecret == "" && f.jwks.url == "":
		return errors.New("no way to sign in: set --jwt-secret (local tokens: 'resingest token ops') or --jwks-url")
	case f.jwtSecret != "" && len(f.jwtSecret) < console.MinSecretLen:
		return fmt.Errorf("--jwt-secret: at least %d bytes", console.MinSecretLen)
	case f.agreementEvery < 0:
		return errors.New("--agreement-interval must not be negative")
	case f.agreementSample <= 0 || f.agreementSample > 10000:
		return fmt.Errorf("--agreement-sample %d: must be 1 to 10000", f.agreementSample)
	case f.pageTimeout <= 0:
		return errors.New("--page-timeout must be positive")
	}
	if f.stores.pgURL == "" {
		return errNoPGURL
	}
	return f.stores.validate()
}

// replayer runs pipeline.Replay over the console's processor.
type replayer struct {
	st   *openStores
	proc *pipeline.Processor
}

func (r replayer) Replay(ctx context.Context, opts pipeline.ReplayOptions) (pipeline.ReplayReport, error) {
	return pipeline.Replay(ctx, r.st.pg, r.proc, opts)
}

func runConsole(ctx context.Context, f *consoleFlags) error {
	log := slog.Default()
	parser, err := parse.New(parse.Options{Mapping: f.mapping, Limits: parse.Limits{MaxBytes: f.maxBytes}})
	if err != nil {
		return fmt.Errorf("console: --mapping: %w", err)
	}
	st, err := f.stores.open(ctx, log)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	defer st.Close()
	proc, err := pipeline.NewProcessor(st.processorConfig(parser, nil, log))
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	reg := prometheus.NewRegistry()
	opts := console.Options{Postgres: st.pg, Parser: parser, Replayer: replayer{st: st, proc: proc},
		Metrics: console.NewMetrics(reg), Logger: log, PageTimeout: f.pageTimeout}
	if st.dyn != nil {
		opts.Dynamo = st.dyn
	}
	if st.arch != nil {
		opts.Archive = st.arch
	}
	if st.keyring != nil {
		opts.Opener = st.keyring
	}
	if f.jwtSecret != "" {
		t, err := console.NewStaffTokens([]byte(f.jwtSecret), nil)
		if err != nil {
			return fmt.Errorf("--jwt-secret: %w", err)
		}
		opts.Verifiers = append(opts.Verifiers, t)
	}
	j, err := f.jwks.open(ctx, log)
	if err != nil {
		return err
	}
	if j != nil {
		defer j.Close()
		opts.Verifiers = append(opts.Verifiers, console.IdPTokens{Verifier: j, RolesClaim: f.rolesClaim})
	}
	if len(f.brokers) > 0 && f.group == "" {
		log.Info("consumer lag not shown: --brokers is set but --group is not")
	}
	if len(f.brokers) > 0 && f.group != "" {
		cl, err := kgo.NewClient(kgo.SeedBrokers(f.brokers...))
		if err != nil {
			return fmt.Errorf("--brokers: %w", err)
		}
		defer cl.Close()
		opts.Lag = console.KafkaLag{Admin: kadm.NewClient(cl), Group: f.group}
	}
	if f.leaseTable != "" {
		client, err := dynamo.NewClient(ctx, f.stores.dynamoEndpoint)
		if err != nil {
			return err
		}
		opts.Leases = lease.NewTable(client, f.leaseTable)
	}
	srv, err := console.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if ip := addrIP(ln.Addr()); ip != nil && !ip.IsLoopback() {
		log.Warn("the console listens beyond loopback: put it behind TLS (staff tokens travel in its requests)", "addr", ln.Addr().String())
	}
	if f.adminAddr != "" {
		stop, err := serveConsoleMetrics(f.adminAddr, reg)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Dynamo != nil && f.agreementEvery > 0 {
		go srv.RunAgreement(ctx, f.agreementEvery, f.agreementSample)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: max(f.pageTimeout, console.DefaultReplayTimeout) + 30*time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	log.Info("serving the operations console", "addr", ln.Addr().String(), "dynamo", opts.Dynamo != nil,
		"archive", opts.Archive != nil, "sealed_pii", opts.Opener != nil)
	select {
	case err := <-done:
		return fmt.Errorf("console: %w", err)
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), f.shutdownGrace)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("console: shutdown: %w", err)
	}
	log.Info("operations console stopped")
	return nil
}

// serveConsoleMetrics serves /metrics of reg on addr until stop.
func serveConsoleMetrics(addr string, reg *prometheus.Registry) (stop func(), err error) {
	var ready atomic.Bool
	ready.Store(true)
	stop, err = serveMetrics(addr, reg, &ready, nil)
	if err != nil {
		return nil, fmt.Errorf("--admin-addr %s: %w", addr, errors.Unwrap(err))
	}
	return stop, nil
}
