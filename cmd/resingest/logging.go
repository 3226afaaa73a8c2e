package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/pii"
)

// logFlags are the root's logging settings, shared by every subcommand.
type logFlags struct {
	format string
	level  string
}

func (f *logFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.format, "log-format", "text", "log format on stderr: text or json")
	cmd.PersistentFlags().StringVar(&f.level, "log-level", "info", "log level: debug, info, warn or error")
}

// install makes the configured logger the default. Logs go to stderr and
// never carry message content or personal data: callers log keys, counts
// and error classes only.
func (f *logFlags) install() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.level)); err != nil {
		return fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", f.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch strings.ToLower(f.format) {
	case "text":
		h = slog.NewTextHandler(os.Stderr, opts)
	case "json":
		h = slog.NewJSONHandler(os.Stderr, opts)
	default:
		return fmt.Errorf("--log-format: %q is not text or json", f.format)
	}
	// Masking comes first: whatever a caller passes, personal data never
	// reaches stderr (package pii).
	slog.SetDefault(slog.New(pii.NewLogHandler(h)))
	return nil
}
