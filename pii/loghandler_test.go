package pii_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/resingest/resingest/pii"
)

func TestLogHandlerMasksPersonalData(t *testing.T) {
	secrets := []string{"grace.hopper@example.com", "Hopper", "4111111111111111", "4111 1111 1111 1111", "+1 555 010 0199", "GX-991"}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			var h slog.Handler = slog.NewTextHandler(&buf, nil)
			if format == "json" {
				h = slog.NewJSONHandler(&buf, nil)
			}
			log := slog.New(pii.NewLogHandler(h)).With("email", "grace.hopper@example.com")
			log.Info("guest grace.hopper@example.com paid with 4111 1111 1111 1111",
				"surname", "Hopper", "loyalty_number", "GX-991", "note", pii.Text("Hopper"),
				"err", fmt.Errorf("write: %w", errors.New("card 4111111111111111 refused")),
				"contact", "call +1 555 010 0199",
				slog.Group("guest", "given_name", "Grace"),
				"hotel", "HX123", "date", "2026-11-24", "sequence", "49590338271490256608559692538361571095921575989136588898", "count", 3)
			out := buf.String()
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("log line leaks %q: %s", s, out)
				}
			}
			for _, keep := range []string{"HX123", "2026-11-24", "49590338271490256608559692538361571095921575989136588898", "count", pii.Masked} {
				if !strings.Contains(out, keep) {
					t.Errorf("log line lost non-personal %q: %s", keep, out)
				}
			}
		})
	}
}

func TestScrub(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"no personal data, offset 12345", "no personal data, offset 12345"},
		{"mail a.b@c.example now", "mail " + pii.Masked + " now"},
		{"card 4111-1111-1111-1111 end", "card " + pii.Masked + " end"},
		{"not luhn 4111111111111112", "not luhn 4111111111111112"},
		{"2026-11-24 4111111111111111", "2026-11-24 " + pii.Masked},
	} {
		if got := pii.Scrub(tc.in); got != tc.want {
			t.Errorf("Scrub(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
