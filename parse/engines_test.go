package parse_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/parse"
)

// errorClasses are the Err* classes; both engines must reject a message
// with the same one.
var errorClasses = []error{
	parse.ErrTooLarge, parse.ErrNotXML, parse.ErrMalformed, parse.ErrTruncated, parse.ErrDTD,
	parse.ErrTooDeep, parse.ErrUnknownMessage, parse.ErrNoReservation, parse.ErrNoConfirmation, parse.ErrBadValue,
}

func errorClass(err error) error {
	for _, c := range errorClasses {
		if errors.Is(err, c) {
			return c
		}
	}
	return err
}

// enginePair holds one parser per engine with the same options.
type enginePair struct{ fast, xpath *parse.Parser }

func newEnginePair(t testing.TB, opts parse.Options) enginePair {
	t.Helper()
	opts.Engine = parse.EngineFast
	fast, err := parse.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Engine = parse.EngineXPath
	xp, err := parse.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return enginePair{fast: fast, xpath: xp}
}

// run parses msg with one engine and returns its JSON Lines output or its
// error class.
func runEngine(t testing.TB, p *parse.Parser, msg []byte) ([]byte, error) {
	t.Helper()
	recs, err := p.Parse(msg)
	if err != nil {
		if recs != nil {
			t.Fatal("records returned with an error")
		}
		return nil, errorClass(err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes(), nil
}

// agree fails unless both engines give byte-identical JSON, or both reject
// msg with the same error class. It returns whether msg was accepted.
func (ep enginePair) agree(t testing.TB, name string, msg []byte) bool {
	t.Helper()
	fastOut, fastErr := runEngine(t, ep.fast, msg)
	xpOut, xpErr := runEngine(t, ep.xpath, msg)
	if fastErr != xpErr {
		t.Fatalf("%s: fast engine: %v; xpath engine: %v", name, fastErr, xpErr)
	}
	if !bytes.Equal(fastOut, xpOut) {
		t.Fatalf("%s: engines differ\n fast: %s\nxpath: %s", name, fastOut, xpOut)
	}
	// The xpath engine's AppendJSON is Parse and encoding: it is checked
	// on the samples only, where it costs nothing.
	appendJSONAgrees(t, name, ep.fast, msg, fastOut)
	return fastErr == nil
}

// appendJSONAgrees checks Parser.AppendJSON against Parse: the same JSON
// Lines appended after what dst held, or dst unchanged and Parse's error;
// the fast engine's records point into the message, so neither the output
// nor the error may change when the message's buffer is overwritten after
// the call.
func appendJSONAgrees(t testing.TB, name string, p *parse.Parser, msg, want []byte) {
	t.Helper()
	_, wantErr := p.Parse(msg)
	buf := bytes.Clone(msg)
	dst := []byte("before\n")
	got, err := p.AppendJSON(dst, buf)
	for i := range buf {
		buf[i] = 'Z'
	}
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("%s: %s engine: AppendJSON error %v, Parse error %v", name, p.Engine(), err, wantErr)
	}
	if err != nil {
		want = nil
	}
	want = canonicalLines(want)
	if !bytes.Equal(got, append([]byte("before\n"), want...)) {
		t.Fatalf("%s: %s engine: AppendJSON gave\n%s\nParse and encoding/json gave\n%s", name, p.Engine(), got, want)
	}
}

// canonicalLines cuts the extensions off every line of encoding/json's
// records: the canonical record, AppendJSON's output without
// Options.Extended, ends where `,"special_requests":` begins (a quote
// inside a value is escaped, so the key cannot occur earlier).
func canonicalLines(lines []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(lines, []byte("\n")) {
		if cut := bytes.Index(l, []byte(`,"special_requests":`)); cut >= 0 {
			l = append(l[:cut:cut], "}\n"...)
		}
		out = append(out, l...)
	}
	return out
}

func TestEnginesAgreeOnSamples(t *testing.T) {
	samples, _ := filepath.Glob(filepath.Join(samplesDir, "*.xml"))
	vendors, _ := filepath.Glob(filepath.Join("testdata", "vendors", "*.xml"))
	if len(samples) < 9 || len(vendors) < 2 {
		t.Fatalf("found %d samples and %d vendor variants", len(samples), len(vendors))
	}
	ep := newEnginePair(t, parse.Options{})
	for _, f := range append(samples, vendors...) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			msg, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !ep.agree(t, "sample", msg) {
				t.Fatal("sample rejected")
			}
			want, _ := runEngine(t, ep.fast, msg)
			appendJSONAgrees(t, "sample", ep.xpath, msg, want)
			// The same message re-encoded in ways the fast scanner leaves to
			// the xpath engine, or decodes itself.
			variants := map[string][]byte{
				"CRLF":         bytes.ReplaceAll(msg, []byte("\n"), []byte("\r\n")),
				"latin1 label": bytes.Replace(msg, []byte(`encoding="UTF-8"`), []byte(`encoding="ISO-8859-1"`), 1),
				"truncated":    msg[:len(msg)*2/3],
				"entities":     bytes.ReplaceAll(msg, []byte(`ID="`), []byte(`ID="&#x41;&amp;`)),
			}
			for name, v := range variants {
				ep.agree(t, name, v)
			}
		})
	}
}

// TestEnginesAgreeOnCorpus compares the engines on generated messages:
// 100,000 by default (about 35 s on the shared 2-core machine), 10,000
// with -short.
func TestEnginesAgreeOnCorpus(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	ep := newEnginePair(t, parse.Options{})
	g := corpus.New(corpus.Options{Seed: 11})
	for i := 0; i < n; i++ {
		m := g.Next()
		if !ep.agree(t, m.Name, m.XML) {
			t.Fatalf("%s rejected", m.Name)
		}
	}
}

// TestEnginesOnTrickyMarkup covers markup the fast scanner handles itself
// or must hand over, against the xpath engine.
func TestEnginesOnTrickyMarkup(t *testing.T) {
	ep := newEnginePair(t, parse.Options{})
	cases := map[string]string{
		"comment splits text":          notif(``, res(``, `<ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer><PersonName><Surname>Mül<!-- x -->ler</Surname></PersonName></Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>`)),
		"CDATA":                        notif(``, res(``, `<ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer><Email><![CDATA[a<b>@x]]></Email></Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>`)),
		"char refs":                    notif(`EchoToken="&#65;&#x42;&lt;&gt;&amp;&apos;&quot;"`, res(``, ``)),
		"bad char ref":                 notif(`EchoToken="&#0;"`, res(``, ``)),
		"unknown entity":               notif(`EchoToken="&nbsp;"`, res(``, ``)),
		"xmlns-bound prefix":           `<OTA_HotelResNotifRQ xmlns:p="xmlns"><HotelReservations><HotelReservation p:ResStatus="Cancel"><UniqueID Type="14" ID="C1"/></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`,
		"prefix bound to no namespace": `<OTA_HotelResNotifRQ xmlns:p=""><HotelReservations><HotelReservation p:xmlns="x" p:ResStatus="Cancel"><UniqueID Type="14" ID="C1"/></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`,
		"unknown prefix":               `<q:OTA_HotelResNotifRQ><q:HotelReservations><q:HotelReservation><q:UniqueID Type="14" ID="C1"/></q:HotelReservation></q:HotelReservations></q:OTA_HotelResNotifRQ>`,
		"legacy namespace":             `<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA"><HotelReservations><HotelReservation><UniqueId Type="14" Id="L1"/></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`,
		"mismatched prefix":            `<a:OTA_CancelRQ xmlns:a="x"></b:OTA_CancelRQ>`,
		"]]> in text":                  notif(``, res(``, `<X>a]]>b</X>`)),
		"comment with --":              notif(``, res(``, `<!-- a -- b -->`)),
		"version 1.1":                  `<?xml version="1.1"?>` + notif(``, res(``, ``)),
		"other PI":                     `<?xml version="1.0"?><?pi data?>` + notif(``, res(``, ``)),
		"BOM":                          "\ufeff" + notif(``, res(``, ``)),
		"NUL":                          notif(``, res(``, "\x00")),
		"non-ASCII name":               notif(``, res(``, `<Zimmer·Typ/>`)),
		"nested reservations":          notif(``, `<HotelReservation><UniqueID Type="14" ID="A"/><HotelReservations><HotelReservation><UniqueID Type="14" ID="B"/></HotelReservation></HotelReservations></HotelReservation>`),
		"whitespace in values":         notif(``, res(``, `<ResGlobalInfo><Total AmountAfterTax=" 10.5 " CurrencyCode="&#9;EUR&#10;"/></ResGlobalInfo>`)),
		"self-closing root":            `<OTA_CancelRQ/>`,
		"two roots":                    `<OTA_CancelRQ/><OTA_CancelRQ/>`,
		"attribute without =":          `<OTA_CancelRQ a/>`,
		"unquoted attribute":           `<OTA_CancelRQ a=1/>`,
		"no space between attr":        `<OTA_CancelRQ a="1"b="2"/>`,
		"lt in attribute":              `<OTA_CancelRQ a="<"/>`,
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) { ep.agree(t, name, []byte(msg)) })
	}
}

// TestFallbackExpressions loads a mapping with expressions outside the fast
// subset: the loader names them and the fast engine still agrees with the
// xpath engine by evaluating those on a DOM.
func TestFallbackExpressions(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("mappings", "ota2003.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	custom := strings.Replace(string(data), "name: ota2003", "name: custom", 1)
	custom = strings.Replace(custom, `    - "@ResStatus"
    - "$message/@ResStatus"`, `    - "normalize-space(@ResStatus)"
    - "$message/@ResStatus"`, 1)
	custom = strings.Replace(custom, `node: ["RoomStays/RoomStay"]`, `node: ["RoomStays/RoomStay[last()] | RoomStays/RoomStay"]`, 1)
	path := filepath.Join(t.TempDir(), "custom.yaml")
	if err := os.WriteFile(path, []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := parse.LoadMapping(path)
	if err != nil {
		t.Fatal(err)
	}
	fb := m.Fallbacks()
	if len(fb) != 2 || !strings.HasPrefix(fb[0], "reservation.status: normalize-space") || !strings.HasPrefix(fb[1], "room_stays.node: ") {
		t.Fatalf("fallbacks = %q", fb)
	}
	for _, name := range parse.BuiltinMappings() {
		if m, _ := parse.LoadMapping(name); len(m.Fallbacks()) != 0 {
			t.Errorf("built-in mapping %s has fallbacks: %q", name, m.Fallbacks())
		}
	}
	ep := newEnginePair(t, parse.Options{Mapping: path})
	samples, _ := filepath.Glob(filepath.Join(samplesDir, "*.xml"))
	for _, s := range samples {
		msg, _ := os.ReadFile(s)
		ep.agree(t, filepath.Base(s), msg)
	}
	g := corpus.New(corpus.Options{Seed: 3})
	for i := 0; i < 500; i++ {
		m := g.Next()
		ep.agree(t, m.Name, m.XML)
	}
}

func TestUnknownEngine(t *testing.T) {
	if _, err := parse.New(parse.Options{Engine: "sax"}); err == nil {
		t.Fatal("unknown engine accepted")
	}
	p, err := parse.New(parse.Options{})
	if err != nil || p.Engine() != parse.EngineFast {
		t.Fatalf("default engine = %v, %v; want fast", p, err)
	}
}

// FuzzEngines asserts both engines agree on any input: the same JSON, or
// the same error class.
func FuzzEngines(f *testing.F) {
	for _, dir := range []string{samplesDir, filepath.Join("testdata", "vendors")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		for _, s := range files {
			if b, err := os.ReadFile(s); err == nil {
				f.Add(b)
			}
		}
	}
	g := corpus.New(corpus.Options{Seed: 5})
	for i := 0; i < 5; i++ {
		f.Add(g.Next().XML)
	}
	f.Add([]byte(billionLaughs))
	f.Add([]byte(notif(`EchoToken="&#65;&amp;"`, res(`ResStatus="Cancel"`, `<![CDATA[x]]><!--c-->`+stay(`<TimeSpan Start="2026-01-01" Duration="P2N"/>`)))))
	ep := newEnginePair(f, parse.Options{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		ep.agree(t, "input", msg)
	})
}
