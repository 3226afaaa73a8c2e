package dynamo

import (
	"fmt"
	"testing"

	"github.com/resingest/resingest/sinks"
)

// TestBatchLoaderAndScanVersions: items the BatchLoader writes are read
// back by ScanVersions with their keys and versions, each once.
func TestBatchLoaderAndScanVersions(t *testing.T) {
	t.Parallel()
	s, c := newTestSink(t, Options{})
	ctx := testContext(t)
	var recs []sinks.Record
	want := map[string]string{}
	for i := 0; i < 60; i++ {
		r := rec(t, fmt.Sprintf("H%02d", i%7), fmt.Sprintf("SV%03d", i), i%50, "")
		recs = append(recs, r)
		want[r.Reservation.HotelCode+"/"+r.Reservation.Confirmation] = r.Version.String()
	}
	if err := NewBatchLoader(c, s.opts.Table, 3, 0).Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	err := ScanVersions(ctx, c, s.opts.Table, func(hotel, conf, version string) {
		if _, dup := got[hotel+"/"+conf]; dup {
			t.Errorf("%s/%s scanned twice", hotel, conf)
		}
		got[hotel+"/"+conf] = version
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("scanned %d items %v\nwant %d %v", len(got), got, len(want), want)
	}
	if err := ScanVersions(ctx, c, "no-such-table", func(string, string, string) {}); err == nil {
		t.Error("a missing table scanned without error")
	}
}
