package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/resingest/resingest/console"
	"github.com/resingest/resingest/pipeline"
)

// slowReplayer takes d, or until its context ends.
type slowReplayer struct{ d time.Duration }

func (s slowReplayer) Replay(ctx context.Context, opts pipeline.ReplayOptions) (pipeline.ReplayReport, error) {
	select {
	case <-time.After(s.d):
		return pipeline.ReplayReport{Letters: 1, Replayed: 1, Outcomes: map[pipeline.Outcome]int{pipeline.OutcomeStored: 1}}, nil
	case <-ctx.Done():
		return pipeline.ReplayReport{Letters: 1}, ctx.Err()
	}
}

// TestReplayDeadline: a replay runs under its own deadline, not a page's
// (one longer than --page-timeout completes), and one that outlives it
// says so, with nothing claimed replayed.
func TestReplayDeadline(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.token(t, console.RoleOps)
	for _, tc := range []struct {
		name     string
		replayer slowReplayer
		want     string
	}{
		{"longer than a page", slowReplayer{300 * time.Millisecond}, `<td id="replayed">1</td>`},
		{"longer than the replay deadline", slowReplayer{time.Minute}, "The replay stopped after 500ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := console.New(console.Options{Postgres: f.pg, Verifiers: []console.Verifier{f.tokens},
				Replayer: tc.replayer, PageTimeout: 100 * time.Millisecond, ReplayTimeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			g := &fixture{ts: ts, tokens: f.tokens}
			_, page := g.get(t, tok, "/dead-letters")
			form := url.Values{"csrf": {csrfOf(t, page)}, "id": {"1"}, "dry_run": {"0"}}
			code, body := g.post(t, tok, "/dead-letters/replay", form, nil)
			if code != http.StatusOK || !strings.Contains(body, tc.want) {
				t.Errorf("%d, want %q in:\n%s", code, tc.want, section(body, "<main>"))
			}
		})
	}
}
