package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestETagAndGzip(t *testing.T) {
	t.Parallel()
	ts, _ := newTestServer(t, newStore(t, "postgres", fixture(t)), nil)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	tok := bearer(guestToken(t, ann.email, time.Now(), time.Hour, testSecret))
	get := func(t *testing.T, path string, hdr map[string]string) response {
		t.Helper()
		req, err := http.NewRequest("GET", ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok(t, req, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return response{status: resp.StatusCode, header: resp.Header, body: b}
	}
	const path = "/v1/guests/me/itineraries"
	plain := get(t, path, nil)
	zipped := get(t, path, map[string]string{"Accept-Encoding": "br;q=1, gzip;q=0.5"})

	t.Run("gzip", func(t *testing.T) {
		if plain.status != 200 || zipped.status != 200 {
			t.Fatalf("statuses %d, %d", plain.status, zipped.status)
		}
		if len(plain.body) < gzipMinBytes {
			t.Fatalf("fixture body of %d bytes is too small to be gzipped", len(plain.body))
		}
		if ce := zipped.header.Get("Content-Encoding"); ce != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip", ce)
		}
		if plain.header.Get("Content-Encoding") != "" {
			t.Fatal("gzipped without Accept-Encoding")
		}
		for _, r := range []response{plain, zipped} {
			if v := r.header.Get("Vary"); v != "Accept-Encoding" {
				t.Errorf("Vary %q", v)
			}
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped.body))
		if err != nil {
			t.Fatal(err)
		}
		un, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(un, plain.body) {
			t.Fatalf("gunzipped body differs:\n%s\n%s", un, plain.body)
		}
		if refused := get(t, path, map[string]string{"Accept-Encoding": "gzip;q=0"}); refused.header.Get("Content-Encoding") != "" {
			t.Fatal("gzipped although q=0")
		}
	})

	t.Run("etag", func(t *testing.T) {
		et, ez := plain.header.Get("ETag"), zipped.header.Get("ETag")
		if len(et) < 3 || et[0] != '"' || ez == "" || et == ez {
			t.Fatalf("ETags %q and %q: want strong, different per encoding", et, ez)
		}
		if again := get(t, path, nil); again.header.Get("ETag") != et {
			t.Fatalf("ETag changed between equal responses: %q, %q", et, again.header.Get("ETag"))
		}
		cases := []struct {
			name, inm, ae string
			want          int
		}{
			{"match", et, "", 304},
			{"weak match in a list", `"other", W/` + et, "", 304},
			{"star", "*", "", 304},
			{"gzip tag", ez, "gzip", 304},
			{"plain tag for gzip", et, "gzip", 200},
			{"other", `"nope"`, "", 200},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				h := map[string]string{"If-None-Match": c.inm}
				if c.ae != "" {
					h["Accept-Encoding"] = c.ae
				}
				r := get(t, path, h)
				if r.status != c.want {
					t.Fatalf("status %d, want %d", r.status, c.want)
				}
				if c.want == 304 && (len(r.body) != 0 || r.header.Get("ETag") == "" || r.header.Get(RequestIDHeader) == "") {
					t.Fatalf("304 with body %q, ETag %q, request id %q", r.body, r.header.Get("ETag"), r.header.Get(RequestIDHeader))
				}
			})
		}
		if r := get(t, "/v1/hotels/H1/arrivals?date=bad", map[string]string{"If-None-Match": "*"}); r.status < 400 || r.header.Get("ETag") != "" {
			t.Fatalf("an error answered %d with ETag %q, want an error without", r.status, r.header.Get("ETag"))
		}
	})
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=0.1": true, "gzip;q=0": false,
		"gzip; q=0.0": false, "*": true, "identity": false, "br": false, "x-gzip": false,
	} {
		if got := acceptsGzip(v); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", v, got, want)
		}
	}
}
