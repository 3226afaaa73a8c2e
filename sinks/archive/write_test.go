package archive

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/sinks"
)

func TestWriteReadRoundTrip(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	s := newTestSink(t, c, Options{Prefix: "raw/"})

	// Three hotels (one without a code); m1 carries two reservations of
	// H00001, which share one entry; H00002 has two messages.
	var recs []sinks.Record
	recs = append(recs, records(t, "m1", "H00001", "C1", "C2")...)
	recs = append(recs, records(t, "m2", "H00002", "C3")...)
	recs = append(recs, records(t, "m3", "", "C4")...)
	recs = append(recs, records(t, "m4", "H00002", "C5")...)
	raws := make([][]byte, len(recs))
	for i := range recs {
		raws[i] = bytes.Clone(recs[i].Raw)
	}

	res := mustWrite(t, s, recs)
	for i, r := range res {
		if r.Outcome != sinks.Stored || r.Err != nil {
			t.Fatalf("record %d: %s", i, describe(res))
		}
	}
	// The UTC day of archiveDay (23:59:30 at +02:00) is 2024-05-01.
	layout := regexp.MustCompile(`^raw/dt=2024-05-01/hotel=(H00001|H00002|unknown)/\d{8}T\d{6}\.\d{9}Z-[0-9a-f]{16}\.jsonl\.gz$`)
	wantHotel := []string{"H00001", "H00001", "H00002", "unknown", "H00002"}
	var keys []string
	for i, r := range recs {
		if r.ArchiveKey != "" {
			t.Errorf("record %d: Write set ArchiveKey on its input", i)
		}
		key := res[i].Key
		m := layout.FindStringSubmatch(key)
		if m == nil {
			t.Fatalf("record %d: key %q does not match %s", i, key, layout)
		}
		if m[1] != wantHotel[i] {
			t.Errorf("record %d: archived under hotel %s, want %s", i, m[1], wantHotel[i])
		}
		if !bytes.Equal(r.Raw, raws[i]) {
			t.Errorf("record %d: Write changed Raw", i)
		}
		if !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	if stored := listKeys(t, c, s.Bucket()); !slices.Equal(stored, keys) {
		t.Fatalf("bucket holds %q, records point at %q", stored, keys)
	}
	if len(keys) != 3 {
		t.Fatalf("3 hotels made %d objects, want 3", len(keys))
	}
	if res[0].Key != res[1].Key || res[2].Key != res[4].Key {
		t.Errorf("records of one hotel point at different objects: %q", []string{res[0].Key, res[1].Key, res[2].Key, res[4].Key})
	}

	tests := []struct {
		name    string
		rec     int
		wantIDs []string // message ids in the object, in order
	}{
		{"message with two reservations is stored once", 0, []string{"m1"}},
		{"two messages of one hotel share the object", 2, []string{"m2", "m4"}},
		{"hotel without a code", 3, []string{"m3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := s.Read(testContext(t), res[tt.rec].Key)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			var ids []string
			for _, e := range entries {
				ids = append(ids, e.MessageID)
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Fatalf("entries of %s: message ids %q, want %q", res[tt.rec].Key, ids, tt.wantIDs)
			}
			e, r := entries[0], recs[tt.rec]
			if e.HotelCode != r.Reservation.HotelCode || e.Confirmation != r.Reservation.Confirmation ||
				e.Version != r.Version.String() || e.ReceivedAt != "2024-05-01T21:59:30Z" {
				t.Errorf("entry %+v does not describe record %d", e, tt.rec)
			}
			if want := string(redact.Redact(raws[tt.rec])); e.XML != want {
				t.Errorf("entry xml differs from the redacted message:\n%s\nwant\n%s", e.XML, want)
			}
		})
	}

	// No stored byte anywhere holds the card number or the CVV.
	for _, key := range keys {
		zr, err := gzip.NewReader(bytes.NewReader(objectBytes(t, c, s.Bucket(), key)))
		if err != nil {
			t.Fatalf("%s is not gzip: %v", key, err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("gunzip %s: %v", key, err)
		}
		// Quotes are escaped in JSON: look for the values themselves.
		for _, secret := range []string{"4111111111111111", "737"} {
			if bytes.Contains(plain, []byte(secret)) {
				t.Errorf("%s contains %q", key, secret)
			}
		}
		if !bytes.Contains(plain, []byte(`CardNumber=\"XXXXXXXXXXXX1111\"`)) || !bytes.Contains(plain, []byte(`SeriesCode=\"XXX\"`)) {
			t.Errorf("%s does not hold the masked card: %.400s", key, plain)
		}
	}

	st := s.Stats()
	if st.Objects != 3 || st.Entries != 4 || st.Stored != 5 || st.FailedRecs != 0 || st.Bytes <= 0 || st.RawBytes <= st.Bytes {
		t.Errorf("stats %+v, want 3 objects, 4 entries, 5 stored, compressed smaller than raw", st)
	}
}

func TestWriteRedactsSecretForms(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	s := newTestSink(t, c, Options{})
	tests := []struct {
		name    string
		raw     string
		secrets []string
	}{
		{"attributes", `<PaymentCard CardNumber="4111111111111111" SeriesCode="737"/>`, []string{"4111111111111111", `"737"`}},
		{"elements", `<PaymentCard><CardNumber>5555555555554444</CardNumber><SeriesCode>123</SeriesCode></PaymentCard>`, []string{"5555555555554444", ">123<"}},
		{"bare card number in text", `<Comment>card 4012888888881881 please</Comment>`, []string{"4012888888881881"}},
		{"password", `<wsse:Password>hunter2</wsse:Password>`, []string{"hunter2"}},
	}
	var recs []sinks.Record
	for i, tt := range tests {
		recs = append(recs, record(t, tt.name, "H1", "C"+string(rune('0'+i)), []byte(tt.raw)))
	}
	res := mustWrite(t, s, recs)
	entries, err := s.Read(testContext(t), res[0].Key)
	if err != nil {
		t.Fatalf("Read: %v (%s)", err, describe(res))
	}
	if len(entries) != len(tests) {
		t.Fatalf("%d entries, want %d", len(entries), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, secret := range tt.secrets {
				if strings.Contains(entries[i].XML, secret) {
					t.Errorf("archived %q still contains %q", entries[i].XML, secret)
				}
			}
		})
	}
}

func TestWriteEmptyBatch(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	s := newTestSink(t, c, Options{})
	res, err := s.Write(testContext(t), nil)
	if err != nil || len(res) != 0 {
		t.Fatalf("Write(nil) = %v, %v", res, err)
	}
	if keys := listKeys(t, c, s.Bucket()); len(keys) != 0 {
		t.Errorf("empty batch wrote %q", keys)
	}
}

func TestWriteBatchesNeverShareAnObject(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	s := newTestSink(t, c, Options{})
	// A re-delivered message makes a second object with the same content.
	first, second := records(t, "m1", "H1", "C1"), records(t, "m1", "H1", "C1")
	firstKey, secondKey := mustWrite(t, s, first)[0].Key, mustWrite(t, s, second)[0].Key
	if firstKey == secondKey {
		t.Fatalf("two writes share key %q", firstKey)
	}
	if keys := listKeys(t, c, s.Bucket()); len(keys) != 2 {
		t.Fatalf("objects %q, want 2", keys)
	}
	a, errA := s.Read(testContext(t), firstKey)
	b, errB := s.Read(testContext(t), secondKey)
	if errA != nil || errB != nil || len(a) != 1 || len(b) != 1 || a[0].XML != b[0].XML {
		t.Errorf("re-delivered message archived differently: %v %v", errA, errB)
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	s := newTestSink(t, c, Options{})
	ctx := testContext(t)
	putRaw(t, c, s.Bucket(), "not-gzip.jsonl.gz", []byte("plain text"))
	putRaw(t, c, s.Bucket(), "not-json.jsonl.gz", gz(t, "{not json\n"))
	tests := []struct {
		name string
		key  string
		want error
	}{
		{"missing object", "dt=2024-05-01/hotel=H1/none.jsonl.gz", ErrNotFound},
		{"not gzip", "not-gzip.jsonl.gz", ErrCorrupt},
		{"not JSON Lines", "not-json.jsonl.gz", ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Read(ctx, tt.key); !errors.Is(err, tt.want) {
				t.Errorf("Read(%s) error = %v, want %v", tt.key, err, tt.want)
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	s := newTestSink(t, c, Options{})
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	recs := records(t, "m1", "H1", "C1")
	res, err := s.Write(testContext(t), recs)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: error %v, want ErrClosed", err)
	}
	if res[0].Outcome != sinks.Failed || !sinks.IsRetryable(res[0].Err) || res[0].Key != "" {
		t.Errorf("Write after Close: %s key %q", describe(res), res[0].Key)
	}
}

func TestWriteCancelled(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	s := newTestSink(t, c, Options{})
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	recs := records(t, "m1", "H1", "C1")
	res, err := s.Write(ctx, recs)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context: error %v", err)
	}
	if res[0].Outcome != sinks.Failed || !sinks.IsRetryable(res[0].Err) || res[0].Key != "" {
		t.Errorf("cancelled write: %s key %q", describe(res), res[0].Key)
	}
}
