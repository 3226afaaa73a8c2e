package corpus

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/resingest/resingest/reservation"
)

// corpusOf generates n messages of the default corpus for seed.
func corpusOf(seed uint64, n int) []Message {
	g := New(Options{Seed: seed})
	out := make([]Message, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

func TestDeterministic(t *testing.T) {
	const n = 1000
	a, b := corpusOf(1, n), corpusOf(1, n)
	for i := range a {
		if !bytes.Equal(a[i].XML, b[i].XML) || a[i].Name != b[i].Name || a[i].Key != b[i].Key || a[i].Expect != b[i].Expect {
			t.Fatalf("message %d differs between two runs with the same seed", i+1)
		}
	}
	c := corpusOf(2, n)
	same := 0
	for i := range a {
		if bytes.Equal(a[i].XML, c[i].XML) {
			same++
		}
	}
	if same != 0 {
		t.Errorf("seeds 1 and 2 share %d identical messages of %d", same, n)
	}
}

func TestWellFormedAndAsIntended(t *testing.T) {
	for i, m := range corpusOf(1, 2000) {
		e := m.Expect
		t.Run(m.Name, func(t *testing.T) {
			s := readBack(t, m.XML)
			if want := fmt.Sprintf("msg-%06d.xml", i+1); m.Name != want {
				t.Errorf("name %q, want %q", m.Name, want)
			}
			if s.envelopeNS != NamespaceSOAP12 || s.rootNS != NamespaceOTA || s.rootName != e.MessageType {
				t.Errorf("envelope %q root {%s}%s, want SOAP 1.2 and {%s}%s", s.envelopeNS, s.rootNS, s.rootName, NamespaceOTA, e.MessageType)
			}
			if s.messageID != e.MessageID || !regexp.MustCompile(`^(urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|urn:msg:[0-9]{19})$`).MatchString(s.messageID) {
				t.Errorf("MessageID %q (expected %q)", s.messageID, e.MessageID)
			}
			if s.confirmation != e.Confirmation || m.Key != e.Confirmation || !regexp.MustCompile(`^[1-9][0-9]{9}$`).MatchString(m.Key) {
				t.Errorf("confirmation %q key %q expect %q", s.confirmation, m.Key, e.Confirmation)
			}
			for _, h := range s.hotels {
				if h != e.HotelCode || m.Hotel != h {
					t.Errorf("hotel %q, message says %q, expect %q", h, m.Hotel, e.HotelCode)
				}
			}
			if got := utc(parseStamp(t, s.timeStamp)); got != e.MessageTime {
				t.Errorf("TimeStamp %q is %s, expect %s", s.timeStamp, got, e.MessageTime)
			}
			if got := utc(parseStamp(t, s.createTime)); got != e.CreatedAt {
				t.Errorf("CreateDateTime %q is %s, expect %s", s.createTime, got, e.CreatedAt)
			}
			status := s.resStatus
			if status == "" {
				status = s.rootStatus
			}
			if status != e.Status {
				t.Errorf("status %q, expect %q", status, e.Status)
			}
			if s.surname != e.Surname {
				t.Errorf("surname %q, expect %q", s.surname, e.Surname)
			}
			if s.email != e.Email {
				t.Errorf("email %q, expect %q", s.email, e.Email)
			}
			checkStay(t, s, e)
			for _, v := range s.amounts {
				if !regexp.MustCompile(`^[0-9]+\.[0-9]{2}$`).MatchString(v) {
					t.Errorf("amount %q is not a decimal with two digits", v)
				}
			}
			for _, c := range s.currencies {
				if c != e.Currency {
					t.Errorf("currency %q, expect %q", c, e.Currency)
				}
			}
		})
	}
}

// checkStay verifies dates, including TimeSpans written as Start+Duration.
func checkStay(t *testing.T, s seen, e Expect) {
	t.Helper()
	if len(s.starts) != e.RoomStays || e.RoomStays < 1 || e.RoomStays > 3 {
		t.Fatalf("%d TimeSpans, expect %d room stays (1-3)", len(s.starts), e.RoomStays)
	}
	first, last := "", ""
	for i, start := range s.starts {
		end := s.ends[i]
		if end == "" {
			var nights int
			if _, err := fmt.Sscanf(s.durations[i], "P%dN", &nights); err != nil {
				t.Fatalf("TimeSpan without End has Duration %q", s.durations[i])
			}
			st, _ := time.Parse(time.DateOnly, start)
			end = st.AddDate(0, 0, nights).Format(time.DateOnly)
		}
		if first == "" || start < first {
			first = start
		}
		if end > last {
			last = end
		}
	}
	if first != e.Arrival || last != e.Departure || first >= last {
		t.Errorf("stay %s..%s, expect %s..%s", first, last, e.Arrival, e.Departure)
	}
	if first < "2026-01-01" || last > "2027-12-31" {
		t.Errorf("stay %s..%s outside 2026-2027", first, last)
	}
}

func TestRatios(t *testing.T) {
	const n = 10000
	count := map[string]int{}
	for _, m := range corpusOf(1, n) {
		count[m.Expect.Action]++
	}
	tests := []struct {
		action   string
		min, max int
	}{
		{reservation.ActionModify, n * 85 / 1000, n * 115 / 1000},
		{reservation.ActionCancel, n * 22 / 1000, n * 38 / 1000},
		{reservation.ActionCreate, n * 84 / 100, n * 90 / 100},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			if c := count[tc.action]; c < tc.min || c > tc.max {
				t.Errorf("%d %s messages of %d, want %d..%d", c, tc.action, n, tc.min, tc.max)
			}
		})
	}
}

func TestManyHotels(t *testing.T) {
	hotels := map[string]bool{}
	chains := map[string]bool{}
	currencies := map[string]bool{}
	for _, m := range corpusOf(1, 5000) {
		hotels[m.Hotel] = true
		chains[m.Expect.ChainCode] = true
		currencies[m.Expect.Currency] = true
		if !regexp.MustCompile(`^H[0-9]{5}$`).MatchString(m.Hotel) {
			t.Fatalf("hotel code %q", m.Hotel)
		}
	}
	if len(hotels) < 500 {
		t.Errorf("%d distinct hotels in 5000 messages, want >= 500", len(hotels))
	}
	if len(chains) < 3 || len(currencies) < 5 {
		t.Errorf("%d chains and %d currencies, want several", len(chains), len(currencies))
	}
	// Fewer hotels than the default still works and stays within range.
	g := New(Options{Seed: 1, Hotels: 3})
	for range 100 {
		if h := g.Next().Hotel; h != "H00001" && h != "H00002" && h != "H00003" {
			t.Fatalf("hotel %q outside a 3-hotel group", h)
		}
	}
}

func TestMessageTimesIncrease(t *testing.T) {
	var prev time.Time
	for _, m := range corpusOf(1, 3000) {
		ts := parseStamp(t, readBack(t, m.XML).timeStamp)
		if !ts.After(prev) {
			t.Fatalf("%s: TimeStamp %s not after the previous message's %s", m.Name, ts, prev)
		}
		prev = ts
	}
}

func TestLaterVersions(t *testing.T) {
	type state struct {
		first     Expect
		updated   time.Time
		version   int
		cancelled bool
	}
	byConf := map[string]*state{}
	var modifies, cancels int
	for _, m := range corpusOf(1, 5000) {
		e := m.Expect
		s := readBack(t, m.XML)
		st, known := byConf[e.Confirmation]
		if e.Action == reservation.ActionCreate {
			if known {
				t.Fatalf("%s: confirmation %s confirmed twice", m.Name, e.Confirmation)
			}
			if s.modifyTime != "" || e.Version != 1 {
				t.Errorf("%s: create with LastModifyDateTime %q / version %d", m.Name, s.modifyTime, e.Version)
			}
			byConf[e.Confirmation] = &state{first: e, updated: parseStamp(t, s.createTime), version: 1}
			continue
		}
		if e.Action == reservation.ActionModify {
			modifies++
		} else {
			cancels++
		}
		switch {
		case !known:
			t.Fatalf("%s: %s of confirmation %s never confirmed earlier", m.Name, e.Action, e.Confirmation)
		case st.cancelled:
			t.Fatalf("%s: %s after cancellation of %s", m.Name, e.Action, e.Confirmation)
		}
		modified := parseStamp(t, s.modifyTime)
		if !modified.After(st.updated) {
			t.Errorf("%s: LastModifyDateTime %s not after the previous version's %s", m.Name, modified, st.updated)
		}
		if modified.After(parseStamp(t, s.timeStamp)) {
			t.Errorf("%s: LastModifyDateTime %s after the message's TimeStamp %s", m.Name, modified, s.timeStamp)
		}
		if e.HotelCode != st.first.HotelCode || e.CreatedAt != st.first.CreatedAt || e.Surname != st.first.Surname {
			t.Errorf("%s: later version changed hotel, creation time or guest", m.Name)
		}
		if e.Email != "" && e.Email != st.first.Email {
			t.Errorf("%s: guest e-mail changed between versions", m.Name)
		}
		if e.Version != st.version+1 {
			t.Errorf("%s: version %d after %d", m.Name, e.Version, st.version)
		}
		st.updated, st.version = modified, e.Version
		st.cancelled = e.Action == reservation.ActionCancel
	}
	if modifies == 0 || cancels == 0 {
		t.Fatalf("%d modifications and %d cancellations: nothing checked", modifies, cancels)
	}
	// Primary guests of different reservations have different addresses.
	emails := map[string]string{}
	for conf, st := range byConf {
		if other, dup := emails[st.first.Email]; dup {
			t.Errorf("confirmations %s and %s share e-mail %q", conf, other, st.first.Email)
		}
		emails[st.first.Email] = conf
	}
}

func TestSize(t *testing.T) {
	g := New(Options{Seed: 5})
	for range 5000 {
		g.Next()
	}
	n, size := g.Generated()
	avg := size / int64(n)
	t.Logf("average message size %d bytes", avg)
	if n != 5000 || avg < 2500 || avg > 4500 {
		t.Errorf("%d messages averaging %d bytes, want about 3 KB", n, avg)
	}
}

func TestASCIIFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Müller", "mueller"},
		{"José", "jose"},
		{"O'Brien", "obrien"},
		{"van der Berg", "vanderberg"},
		{"Weiß", "weiss"},
		{"Łukasz", "lukasz"},
		{"Yılmaz", "yilmaz"},
		{"Øvergaard", "overgaard"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := asciiFold(tc.in); got != tc.want {
				t.Errorf("asciiFold(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func BenchmarkNext(b *testing.B) {
	g := New(Options{Seed: 1})
	var size int64
	for b.Loop() {
		size += int64(len(g.Next().XML))
	}
	b.SetBytes(size / int64(b.N))
}
