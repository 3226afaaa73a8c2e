package pii

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Masked is what a personal value logs as.
const Masked = "[pii]"

// Text is a personal value. It logs as Masked whatever the handler, so
// code can pass guest data to a logger by mistake without leaking it.
type Text string

// LogValue implements slog.LogValuer.
func (Text) LogValue() slog.Value { return slog.StringValue(Masked) }

// String keeps fmt from printing the value as well.
func (Text) String() string { return Masked }

// personalKeys are attribute keys whose values are always masked.
var personalKeys = map[string]bool{
	"given_name": true, "surname": true, "name": true, "guest": true, "guests": true,
	"email": true, "phone": true, "loyalty_number": true, "address": true,
	"city": true, "postal_code": true, "card": true, "card_number": true,
	"pan": true, "cvv": true, "password": true,
}

// LogHandler masks personal data before the next handler sees a record:
// attributes named like personal fields, Text values, and e-mail
// addresses, card numbers and international phone numbers inside any
// string or error (the message included). It is safe for concurrent use
// when next is.
type LogHandler struct{ next slog.Handler }

// NewLogHandler wraps next.
func NewLogHandler(next slog.Handler) *LogHandler { return &LogHandler{next: next} }

// Enabled implements slog.Handler.
func (h *LogHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = maskAttr(a)
	}
	return &LogHandler{next: h.next.WithAttrs(masked)}
}

// WithGroup implements slog.Handler.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{next: h.next.WithGroup(name)}
}

func maskAttr(a slog.Attr) slog.Attr {
	if _, ok := a.Value.Any().(Text); ok {
		return slog.String(a.Key, Masked)
	}
	v := a.Value.Resolve()
	if personalKeys[strings.ToLower(a.Key)] && v.Kind() != slog.KindGroup {
		return slog.String(a.Key, Masked)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Scrub(v.String()))
	case slog.KindGroup:
		group := v.Group()
		out := make([]any, len(group))
		for i, g := range group {
			out[i] = maskAttr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, Scrub(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, Scrub(x.String()))
		case []byte:
			return slog.String(a.Key, Scrub(string(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

var (
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+`)
	// phonePattern: an international number, "+" then 7-15 digits with
	// optional separators.
	phonePattern = regexp.MustCompile(`\+[0-9][0-9 ()\-.]{5,20}[0-9]`)
	// digitRun: maximal runs of digit groups, candidates for card numbers
	// (checked for length and Luhn).
	digitRun = regexp.MustCompile(`[0-9]+(?:[ \-][0-9]+)*`)
)

// Scrub masks e-mail addresses, international phone numbers and
// Luhn-valid 13-19 digit card numbers in s.
func Scrub(s string) string {
	if !strings.ContainsAny(s, "@+0123456789") {
		return s
	}
	s = emailPattern.ReplaceAllString(s, Masked)
	s = phonePattern.ReplaceAllString(s, Masked)
	return digitRun.ReplaceAllStringFunc(s, func(m string) string {
		if isCard(m) {
			return Masked
		}
		// "2026-11-24 4111 1111 1111 1111" is one run: try its
		// space-separated parts too.
		parts := strings.Split(m, " ")
		for i, p := range parts {
			if isCard(p) {
				parts[i] = Masked
			}
		}
		return strings.Join(parts, " ")
	})
}

// isCard: 13-19 digits (separators aside) passing the Luhn check. Longer
// runs (Kinesis sequence numbers, offsets) are left alone.
func isCard(s string) bool {
	digits := dropSeparators.Replace(s)
	return len(digits) >= 13 && len(digits) <= 19 && luhn(digits)
}

func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
