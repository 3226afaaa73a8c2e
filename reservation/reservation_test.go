package reservation_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/resingest/resingest/reservation"
)

func TestJSONNeverNull(t *testing.T) {
	var r reservation.Reservation // nil slices
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "null") {
		t.Errorf("zero record encodes null: %s", s)
	}
	for _, want := range []string{`"room_stays":[]`, `"guests":[]`, `"external_ids":[]`, `"payment":{"card_code":"","last4":"","expire":""}`, `"adults":0`} {
		if !strings.Contains(s, want) {
			t.Errorf("encoding lacks %s: %s", want, s)
		}
	}
	r.Guests = []reservation.Guest{{Surname: "O'Brien & <Sons>"}}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"surname":"O'Brien & <Sons>"`) {
		t.Errorf("characters were escaped: %s", buf.String())
	}
}

func TestValidate(t *testing.T) {
	ok := reservation.Reservation{Confirmation: "C", HotelCode: "H", Action: reservation.ActionCreate}
	cases := []struct {
		name  string
		edit  func(*reservation.Reservation)
		field string
	}{
		{"valid", func(*reservation.Reservation) {}, ""},
		{"no confirmation", func(r *reservation.Reservation) { r.Confirmation = "" }, "confirmation"},
		{"no hotel", func(r *reservation.Reservation) { r.HotelCode = "" }, ""},
		{"unknown action", func(r *reservation.Reservation) { r.Action = "delete" }, "action"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.edit(&r)
			err := r.Validate()
			var fe *reservation.FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, reservation.ErrInvalid)):
				t.Errorf("Validate = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}

// TestValidateKeyed: a store needs the hotel code that Validate lets
// through for key resolution.
func TestValidateKeyed(t *testing.T) {
	cases := []struct {
		name  string
		r     reservation.Reservation
		field string
	}{
		{"keyed", reservation.Reservation{Confirmation: "C", HotelCode: "H", Action: reservation.ActionCancel}, ""},
		{"no hotel", reservation.Reservation{Confirmation: "C", Action: reservation.ActionCancel}, "hotel_code"},
		{"no confirmation", reservation.Reservation{HotelCode: "H", Action: reservation.ActionCancel}, "confirmation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.ValidateKeyed()
			var fe *reservation.FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Errorf("ValidateKeyed: %v", err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
				t.Errorf("ValidateKeyed = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}

func TestVersionOrder(t *testing.T) {
	mk := func(created, modified, msgTime, pos string) reservation.Version {
		t.Helper()
		v, err := reservation.VersionOf(&reservation.Reservation{CreatedAt: created, ModifiedAt: modified, MessageTime: msgTime}, pos)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name         string
		older, newer reservation.Version
	}{
		{"modified_at wins over created_at", mk("2026-01-01T00:00:00Z", "", "", ""), mk("2025-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "", "")},
		{"message time breaks a tie", mk("2026-01-01T00:00:00Z", "", "2026-01-01T00:00:01Z", ""), mk("2026-01-01T00:00:00Z", "", "2026-01-01T00:00:02Z", "")},
		{"position breaks a tie numerically", mk("2026-01-01T00:00:00Z", "", "", "9"), mk("2026-01-01T00:00:00Z", "", "", "10")},
		{"sub-second precision", mk("", "2026-01-01T00:00:00.5Z", "", ""), mk("", "2026-01-01T00:00:00.75Z", "", "")},
		{"a bare cancel uses its message time", mk("2026-01-01T00:00:00Z", "", "2025-12-01T00:00:00Z", ""), mk("", "", "2026-02-01T00:00:00Z", "")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.older.Compare(tc.newer) != -1 || tc.newer.Compare(tc.older) != 1 || tc.newer.Compare(tc.newer) != 0 {
				t.Errorf("Compare does not order %v before %v", tc.older, tc.newer)
			}
			if !(tc.older.String() < tc.newer.String()) {
				t.Errorf("String order disagrees: %q >= %q", tc.older, tc.newer)
			}
		})
	}
	if _, err := reservation.VersionOf(&reservation.Reservation{ModifiedAt: "yesterday"}, ""); err == nil {
		t.Error("a bad time was accepted")
	}
	if _, err := reservation.VersionOf(&reservation.Reservation{}, "12a"); err == nil {
		t.Error("a non-decimal position was accepted")
	}
}
