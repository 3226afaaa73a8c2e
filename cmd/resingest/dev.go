package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kfake"
)

func init() { addCommand(newDevCmd) }

// devShutdownTimeout bounds how long the S3 server waits for in-flight
// requests once it has been told to stop.
const devShutdownTimeout = 5 * time.Second

func newDevCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run local stand-ins for Kafka and S3 (development and tests only)",
		Long: `dev runs local, in-memory stand-ins for the services resingest talks to, so the
tests and the demo use real network protocols without a cloud account.

  resingest dev kafka   a Kafka-protocol broker (franz-go's kfake)
  resingest dev s3      an S3-compatible HTTP server (gofakes3, path-style)

Each blocks until interrupted (SIGINT or SIGTERM) and then shuts down cleanly.
Nothing is persisted: all data is lost when the server stops. They are normally
started by 'scripts/dev-services up', which also runs PostgreSQL, dynalite and
kinesalite. Never point production traffic at them.`,
	}
	cmd.AddCommand(newDevKafkaCmd(), newDevS3Cmd())
	return cmd
}

func newDevKafkaCmd() *cobra.Command {
	var (
		addr       string
		partitions int
	)
	cmd := &cobra.Command{
		Use:   "kafka",
		Short: "Run a single-broker, in-memory Kafka-protocol server",
		Long: `kafka runs a single in-memory Kafka broker (github.com/twmb/franz-go/pkg/kfake)
on --addr. The broker advertises exactly that address in its metadata, so any
Kafka client (franz-go, kcat, ...) can bootstrap from it. Topics are created
automatically on first use with --partitions partitions; consumer groups and
transactions work as in Kafka. Example:

  resingest dev kafka --addr 127.0.0.1:29092 &
  kcat -b 127.0.0.1:29092 -L`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			cluster, err := startDevKafka(addr, partitions, logger)
			if err != nil {
				return err
			}
			logger.Info("kafka dev broker listening", "addr", cluster.ListenAddrs()[0], "partitions", partitions)
			<-cmd.Context().Done()
			cluster.Close()
			logger.Info("kafka dev broker stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:29092", "host:port to listen on and advertise (port 0 picks a free one)")
	cmd.Flags().IntVar(&partitions, "partitions", 8, "partitions of automatically created topics")
	return cmd
}

func newDevS3Cmd() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "s3",
		Short: "Run an in-memory S3-compatible server",
		Long: `s3 runs an in-memory S3-compatible HTTP server (github.com/johannesboyne/gofakes3)
on --addr. Clients must use path-style addressing (http://HOST:PORT/BUCKET/KEY;
in aws-sdk-go-v2: o.UsePathStyle = true) and any credentials; signatures are
not checked. Buckets must be created before use. Example:

  resingest dev s3 --addr 127.0.0.1:28002 &
  curl http://127.0.0.1:28002/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			srv, err := startDevS3(addr, logger)
			if err != nil {
				return err
			}
			logger.Info("s3 dev server listening", "addr", srv.Addr())
			select {
			case <-cmd.Context().Done():
			case err := <-srv.done:
				return fmt.Errorf("s3 dev server: %w", err)
			}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), devShutdownTimeout)
			defer cancel()
			if err := srv.Close(ctx); err != nil {
				return err
			}
			logger.Info("s3 dev server stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:28002", "host:port to listen on (port 0 picks a free one)")
	return cmd
}

// errUnspecifiedHost rejects listen addresses such as ":9092" or
// "0.0.0.0:9092": the Kafka broker advertises its listen address, and an
// unspecified host is not one a client can connect to.
var errUnspecifiedHost = errors.New("listen address must name a specific host, e.g. 127.0.0.1:PORT")

func checkListenAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return fmt.Errorf("listen address %q: %w", addr, errUnspecifiedHost)
	}
	return nil
}

// startDevKafka starts a one-broker kfake cluster listening on addr. The
// caller must Close the returned cluster, which is safe for concurrent use.
func startDevKafka(addr string, partitions int, logger *slog.Logger) (*kfake.Cluster, error) {
	if err := checkListenAddr(addr); err != nil {
		return nil, err
	}
	if partitions < 1 {
		return nil, fmt.Errorf("partitions must be at least 1, got %d", partitions)
	}
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		// kfake listens on 127.0.0.1 by default and advertises whatever its
		// listener reports, so listening on addr makes it advertise addr.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, addr)
		}),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
		// Tests use short session timeouts to exercise rebalances quickly;
		// Kafka's default minimum (6s) would reject them.
		kfake.GroupMinSessionTimeout(100*time.Millisecond),
		kfake.WithLogger(kfakeLogger{logger}),
	)
	if err != nil {
		return nil, fmt.Errorf("start kafka dev broker on %s: %w", addr, err)
	}
	return cluster, nil
}

// kfakeLogger routes kfake's logs to slog. kfake logs every request at its
// info level, so that maps to debug to keep the service log readable.
type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	lvl := slog.LevelDebug
	switch level {
	case kfake.LogLevelError:
		lvl = slog.LevelError
	case kfake.LogLevelWarn:
		lvl = slog.LevelWarn
	}
	if k.l.Enabled(context.Background(), lvl) {
		k.l.Log(context.Background(), lvl, fmt.Sprintf(format, args...), "component", "kfake")
	}
}

// devS3 is a running in-memory S3 server. Its methods are safe for
// concurrent use; Close may be called more than once.
type devS3 struct {
	srv  *http.Server
	ln   net.Listener
	done chan error // receives the serve error if the server stops by itself
}

// startDevS3 starts serving an in-memory gofakes3 backend on addr.
func startDevS3(addr string, logger *slog.Logger) (*devS3, error) {
	if err := checkListenAddr(addr); err != nil {
		return nil, err
	}
	// s3mem guards its buckets with a lock, so concurrent writers are fine.
	faker := gofakes3.New(s3mem.New(),
		gofakes3.WithLogger(gofakes3Logger{logger}),
		gofakes3.WithIntegrityCheck(true),
	)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start s3 dev server on %s: %w", addr, err)
	}
	s := &devS3{
		srv: &http.Server{
			Handler:           faker.Server(),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() {
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.done <- err
		}
	}()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *devS3) Addr() string { return s.ln.Addr().String() }

// Close stops accepting requests and waits for in-flight ones until ctx ends.
func (s *devS3) Close(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop s3 dev server: %w", err)
	}
	return nil
}

// gofakes3Logger routes gofakes3's logs to slog; its per-request info logs
// become debug logs.
type gofakes3Logger struct{ l *slog.Logger }

func (g gofakes3Logger) Print(level gofakes3.LogLevel, v ...any) {
	lvl := slog.LevelDebug
	switch level {
	case gofakes3.LogErr:
		lvl = slog.LevelError
	case gofakes3.LogWarn:
		lvl = slog.LevelWarn
	}
	if g.l.Enabled(context.Background(), lvl) {
		g.l.Log(context.Background(), lvl, fmt.Sprint(v...), "component", "gofakes3")
	}
}
