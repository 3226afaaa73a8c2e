package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/reservation"
)

// sequentialParse is resingest parse as it was before batches and the
// hand-written encoder: one file after the other, encoding/json. The
// parallel command must print exactly what it prints.
func sequentialParse(p *parse.Parser, extended bool, maxBytes int, files []string, stdout, stderr io.Writer) bool {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	failed := false
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			failed = true
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			continue
		}
		msg, err := io.ReadAll(io.LimitReader(f, int64(maxBytes)+1))
		f.Close()
		if err == nil {
			var recs []reservation.Reservation
			recs, err = p.Parse(msg)
			for _, r := range recs {
				encodeRecord(out, r, extended)
			}
		}
		if err != nil {
			failed = true
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
		}
	}
	return failed
}

// parseInputs writes a directory of generated messages with rejected ones
// among them, and returns the command's arguments.
func parseInputs(t *testing.T, n int) (args []string, maxBytes int) {
	t.Helper()
	dir := t.TempDir()
	if err := corpus.WriteDir(context.Background(), dir, n, 21, nil); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"msg-000003.xml": `<OTA_HotelResNotifRQ><Oops></OTA_HotelResNotifRQ>`,
		"msg-000040.xml": "not xml at all",
		"msg-000041.xml": `<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05"><HotelReservations><HotelReservation><Comment>` + strings.Repeat("x", 70_000) + `</Comment></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`,
		"msg-000099.xml": `<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05"><HotelReservations><HotelReservation><UniqueID Type="14" ID="A&lt;&amp;&quot;\u2028é"/><RoomStays/><ResGlobalInfo><BasicPropertyInfo HotelCode="H&amp;1"/></ResGlobalInfo></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`,
	}
	for name, body := range bad {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "a-directory.xml"), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{filepath.Join(dir, "msg-000007.xml"), filepath.Join(dir, "missing.xml"), dir}, 64 << 10
}

// TestParseCommandMatchesSequential runs the command over 1,000 generated
// messages and rejected files with 1, 2 and 7 workers: stdout, stderr and
// the exit status are those of the sequential encoding/json run.
func TestParseCommandMatchesSequential(t *testing.T) {
	args, maxBytes := parseInputs(t, 1000)
	for _, mode := range []struct {
		engine   string
		extended bool
	}{{parse.EngineFast, false}, {parse.EngineXPath, false}, {parse.EngineFast, true}} {
		engine := mode.engine
		if mode.extended {
			engine += "+extended"
		}
		p, err := parse.New(parse.Options{Engine: mode.engine, Limits: parse.Limits{MaxBytes: maxBytes}, Extended: mode.extended})
		if err != nil {
			t.Fatal(err)
		}
		files, err := expandInputs(args)
		if err != nil {
			t.Fatal(err)
		}
		var wantOut, wantErr bytes.Buffer
		wantFailed := sequentialParse(p, mode.extended, maxBytes, files, &wantOut, &wantErr)
		if got := strings.Contains(wantOut.String(), `"special_requests":[{`); got != mode.extended {
			t.Fatalf("%s: special requests printed %v", engine, got)
		}
		if !wantFailed || strings.Count(wantErr.String(), "\n") != 5 || strings.Count(wantOut.String(), "\n") < 990 {
			t.Fatalf("reference run: failed %v, %d records, reasons:\n%s", wantFailed, strings.Count(wantOut.String(), "\n"), wantErr.String())
		}
		for _, workers := range []int{1, 2, 7} {
			t.Run(fmt.Sprintf("%s/%d workers", engine, workers), func(t *testing.T) {
				var out, errs bytes.Buffer
				w := bufio.NewWriter(&out)
				failed := parseFiles(p, maxBytes, files, workers, w, &errs)
				w.Flush()
				if failed != wantFailed || out.String() != wantOut.String() || errs.String() != wantErr.String() {
					t.Errorf("failed %v (want %v), stdout equal %v, stderr:\n%s\nwant:\n%s", failed, wantFailed, out.String() == wantOut.String(), errs.String(), wantErr.String())
				}
			})
		}
		t.Run(engine+"/runParse", func(t *testing.T) {
			var out, errs bytes.Buffer
			err := runParse(p, maxBytes, args, strings.NewReader(""), &out, &errs)
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 1 {
				t.Errorf("runParse = %v, want exit status 1", err)
			}
			if out.String() != wantOut.String() || errs.String() != wantErr.String() {
				t.Errorf("runParse output differs from the sequential run")
			}
		})
	}
}

func TestParseCommandStdin(t *testing.T) {
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	msg := corpus.New(corpus.Options{Seed: 3}).Next().XML
	var out, errs bytes.Buffer
	if err := runParse(p, 0, nil, bytes.NewReader(msg), &out, &errs); err != nil || errs.Len() != 0 {
		t.Fatalf("runParse = %v, stderr %q", err, errs.String())
	}
	var want bytes.Buffer
	sequentialParseReader(t, p, msg, &want)
	if out.String() != want.String() {
		t.Errorf("stdin output\n%s\nwant\n%s", out.String(), want.String())
	}
	out.Reset()
	err = runParse(p, 0, nil, strings.NewReader("<broken"), &out, &errs)
	if ee := (exitError{}); !errors.As(err, &ee) || out.Len() != 0 || !strings.HasPrefix(errs.String(), "<stdin>: ") {
		t.Errorf("broken stdin: %v, stdout %q, stderr %q", err, out.String(), errs.String())
	}
}

func sequentialParseReader(t *testing.T, p *parse.Parser, msg []byte, w io.Writer) {
	t.Helper()
	recs, err := p.Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		encodeRecord(w, r, false)
	}
}

// encodeRecord writes r as encoding/json does (SetEscapeHTML(false)),
// which gives the extended record; the canonical one ends where
// `,"special_requests":` begins (a quote inside a value is escaped).
func encodeRecord(w io.Writer, r reservation.Reservation, extended bool) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(r)
	b := buf.Bytes()
	if !extended {
		if cut := bytes.Index(b, []byte(`,"special_requests":`)); cut >= 0 {
			b = append(b[:cut:cut], "}\n"...)
		}
	}
	w.Write(b)
}

// TestParseCommandEmptyDirectory: a directory without messages is an error
// naming it, not a silent wait for a message on stdin.
func TestParseCommandEmptyDirectory(t *testing.T) {
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out, errs bytes.Buffer
	err = runParse(p, 0, []string{dir}, strings.NewReader("<would be read from stdin/>"), &out, &errs)
	if err == nil || !strings.Contains(err.Error(), dir+": no *.xml files") {
		t.Errorf("runParse(empty dir) = %v, want an error naming %s", err, dir)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q, want nothing", out.String())
	}
}

// TestXMLFilesInIsGlob: a directory argument lists what
// filepath.Glob(dir/*.xml) lists, in the same order and spelling, for every
// way of writing the directory.
func TestXMLFilesInIsGlob(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.xml", "a.xml", ".hidden.xml", "c.XML", "d.txt", "e.xml.bak", "10.xml", "9.xml"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.xml"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, spelling := range []string{dir, dir + "/", dir + "//", ".", "./", "../" + filepath.Base(dir)} {
		t.Run(spelling, func(t *testing.T) {
			want, err := filepath.Glob(filepath.Join(spelling, "*.xml"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := xmlFilesIn(spelling)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("xmlFilesIn(%q) = %q, Glob gives %q", spelling, got, want)
			}
		})
	}
	if _, err := xmlFilesIn(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing directory: %v, want not exist", err)
	}
}
