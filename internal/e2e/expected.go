package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/resingest/resingest/reservation"
)

// parseTimeout bounds one `resingest parse` run over a corpus.
const parseTimeout = 2 * time.Minute

// Expected returns the newest version of every reservation in files (all
// good messages), computed independently of the pipeline: `resingest
// parse` (the binary, JSON Lines) over the files, keeping per key the
// record with the greatest reservation.Version. Versions are taken with
// an empty stream position, which is enough when modification, creation
// and message times order the versions, as they do in generated corpora
// (every message has a later TimeStamp than the one before). The test
// fails if parse rejects any file.
func Expected(t testing.TB, files []string) map[reservation.Key]reservation.Reservation {
	t.Helper()
	want := make(map[reservation.Key]reservation.Reservation)
	versions := make(map[reservation.Key]reservation.Version)
	const chunk = 1000 // keeps command lines short
	for start := 0; start < len(files); start += chunk {
		part := files[start:min(start+chunk, len(files))]
		out, stderr, err := Run(t, parseTimeout, append([]string{"parse", "--extended"}, part...)...)
		if err != nil {
			t.Fatalf("resingest parse: %v\n%s", err, stderr)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
		for sc.Scan() {
			var r reservation.Reservation
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("resingest parse printed a line that is not a record: %v", err)
			}
			v, err := reservation.VersionOf(&r, "")
			if err != nil {
				t.Fatalf("record %s: %v", r.Key(), err)
			}
			k := r.Key()
			if old, ok := versions[k]; ok && old.Compare(v) == 0 {
				t.Fatalf("record %s: two versions compare equal; Expected cannot order them", k)
			}
			if old, ok := versions[k]; !ok || v.Compare(old) > 0 {
				versions[k], want[k] = v, r
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// Expected returns Expected(t, c.Good) after checking it against the
// generator's intent: the same reservations, and for each the status,
// action and times of its last message. A mismatch means the parser and
// the generator disagree, which the parser's own tests should catch; it
// is checked here so that an end-to-end test never compares the stores
// with a wrong expectation.
func (c *Corpus) Expected(t testing.TB) map[reservation.Key]reservation.Reservation {
	t.Helper()
	want := Expected(t, c.Good)
	newest := make(map[reservation.Key]int)
	for _, e := range c.Intent {
		k := reservation.Key{HotelCode: e.HotelCode, Confirmation: e.Confirmation}
		newest[k] = max(newest[k], e.Version)
	}
	if len(newest) != len(want) {
		t.Fatalf("harness: the corpus has %d reservations, resingest parse found %d", len(newest), len(want))
	}
	for _, e := range c.Intent {
		k := reservation.Key{HotelCode: e.HotelCode, Confirmation: e.Confirmation}
		if e.Version != newest[k] {
			continue
		}
		r, ok := want[k]
		switch {
		case !ok:
			t.Fatalf("harness: resingest parse found no record for %s", k)
		case r.Status != e.Status, r.Action != e.Action, r.ModifiedAt != e.ModifiedAt,
			r.MessageTime != e.MessageTime, r.Arrival != e.Arrival, r.Departure != e.Departure:
			t.Fatalf("harness: newest record of %s disagrees with the generator: parse %s/%s/%s/%s, generator %s/%s/%s/%s",
				k, r.Status, r.Action, r.ModifiedAt, r.MessageTime, e.Status, e.Action, e.ModifiedAt, e.MessageTime)
		}
	}
	return want
}
