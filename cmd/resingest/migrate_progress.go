package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/resingest/resingest/migrate"
)

// reportMigrateProgress shows the run's progress until the returned stop is
// called: a bar (input bytes, rows, rows/s, rejects, ETA) when stderr is a
// terminal, else a log line every 10 seconds.
func reportMigrateProgress(m *migrate.Migrator, stderr io.Writer, logger *slog.Logger, start time.Time) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	terminal := isTerminal(stderr)
	every := 10 * time.Second
	if terminal {
		every = 200 * time.Millisecond
	}
	go func() {
		defer close(finished)
		var bar *progressbar.ProgressBar
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if bar != nil {
					_ = bar.Exit()
					fmt.Fprintln(stderr)
				}
				return
			case <-tick.C:
			}
			st := m.Stats()
			rate := float64(st.Rows) / max(time.Since(start).Seconds(), 1e-9)
			if !terminal {
				logger.Info("backfill progress", "rows", st.Rows, "rows_per_second", fmt.Sprintf("%.0f", rate),
					"rejects", st.Rejects, "files_done", st.FilesDone, "files", st.Files,
					"percent", fmt.Sprintf("%.1f", 100*float64(st.BytesRead)/max(float64(st.BytesTotal), 1)))
				continue
			}
			if bar == nil && st.BytesTotal > 0 {
				bar = progressbar.NewOptions64(st.BytesTotal,
					progressbar.OptionSetWriter(stderr),
					progressbar.OptionShowBytes(true),
					progressbar.OptionSetPredictTime(true),
					progressbar.OptionThrottle(200*time.Millisecond))
			}
			if bar != nil {
				bar.Describe(fmt.Sprintf("rows %d (%.0f/s) rejects %d files %d/%d",
					st.Rows, rate, st.Rejects, st.FilesDone, st.Files))
				_ = bar.Set64(st.BytesRead)
			}
		}
	}()
	return func() { close(done); <-finished }
}
