package corpus

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/resingest/resingest/reservation"
)

func readEDW(t *testing.T, path string, gz bool) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = bytes.NewReader(b)
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestWriteEDW(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(t *testing.T) {
			dir := t.TempDir()
			paths, err := WriteEDW(context.Background(), dir, EDWOptions{Seed: 3, Hotels: 50, Rows: 1001, Files: 3, Gzip: gz})
			if err != nil {
				t.Fatal(err)
			}
			if len(paths) != 3 {
				t.Fatalf("%d files, want 3", len(paths))
			}
			conf := regexp.MustCompile(`^[1-9][0-9]{9}$`)
			hotel := regexp.MustCompile(`^H[0-9]{5}$`)
			newest := map[string]string{}
			total, revisions, withRequests := 0, 0, 0
			longDigits := regexp.MustCompile(`[0-9]{12}`)
			for _, p := range paths {
				rows := readEDW(t, p, gz)
				if len(rows[0]) != len(EDWHeader) || rows[0][0] != "confirmation" {
					t.Fatalf("%s: header %v", p, rows[0])
				}
				for _, row := range rows[1:] {
					total++
					if !conf.MatchString(row[0]) || !hotel.MatchString(row[1]) {
						t.Fatalf("bad key %s/%s", row[1], row[0])
					}
					v := row[4]
					if row[5] != "" {
						v = row[5]
					}
					if _, err := time.Parse(time.RFC3339, v); err != nil {
						t.Fatalf("bad time %q", v)
					}
					k := row[1] + "/" + row[0]
					if prev, ok := newest[k]; ok {
						revisions++
						if v <= prev {
							t.Errorf("%s: revision %s not after %s", k, v, prev)
						}
					}
					newest[k] = v
					if cell := row[len(row)-1]; cell != "" {
						withRequests++
						var list []reservation.SpecialRequest
						if err := json.Unmarshal([]byte(cell), &list); err != nil || len(list) < 1 || len(list) > 2 {
							t.Fatalf("special_requests %s: %d requests, %v", cell, len(list), err)
						}
						if longDigits.MatchString(cell) {
							t.Errorf("special_requests %s: a run of 12 digits", cell)
						}
					}
				}
			}
			if total != 1001 {
				t.Errorf("%d rows, want 1001", total)
			}
			if revisions < 50 || revisions > 200 {
				t.Errorf("%d revision rows, want about 10%%", revisions)
			}
			if withRequests < 230 || withRequests > 370 {
				t.Errorf("%d rows with special requests, want about 30%%", withRequests)
			}
			again, err := WriteEDW(context.Background(), t.TempDir(), EDWOptions{Seed: 3, Hotels: 50, Rows: 1001, Files: 3, Gzip: gz})
			if err != nil {
				t.Fatal(err)
			}
			for i := range paths {
				a, _ := os.ReadFile(paths[i])
				b, _ := os.ReadFile(again[i])
				if !bytes.Equal(a, b) {
					t.Errorf("file %d differs between runs of one seed", i)
				}
			}
		})
	}
}
