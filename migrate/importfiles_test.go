package migrate

import (
	"bufio"
	"compress/gzip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/dynamo"
)

// readImportFile decodes the items of one import file.
func readImportFile(t *testing.T, name string) []map[string]types.AttributeValue {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]types.AttributeValue
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		item := decodeImportLine(t, sc.Bytes())
		delete(item, "updated_at")
		out = append(out, item)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportFilesWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := &importFiles{dir: dir}
	recs := []sinks.Record{
		{Reservation: reservation.Reservation{HotelCode: "H1", Confirmation: "A"}},
		{Reservation: reservation.Reservation{HotelCode: "H2", Confirmation: "B"}},
	}
	for i := range 2 { // the second write overwrites the same file
		if err := w.write("in/x.csv", 500, recs); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	if want := filepath.Join(dir, importFileName("in/x.csv", 500)); len(names) != 1 || names[0] != want {
		t.Fatalf("files %v, want only %s", names, want)
	}
	got := readImportFile(t, names[0])
	want := make([]map[string]types.AttributeValue, len(recs))
	for i := range recs {
		item, err := encodeForTest(&recs[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = item
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("items:\n got %v\nwant %v", got, want)
	}
	if importFileName("in/x.csv", 500) == importFileName("in/y.csv", 500) || importFileName("in/x.csv", 500) == importFileName("in/x.csv", 1000) {
		t.Error("file names of different parts collide")
	}
}

func encodeForTest(rec *sinks.Record) (map[string]types.AttributeValue, error) {
	item, err := dynamo.EncodeItem(rec, dynamo.EmailGuestID, time.Unix(0, 0))
	if err != nil {
		return nil, err
	}
	delete(item, "updated_at")
	return item, nil
}
