package testenv

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
)

// AsyncCommitURL returns pgURL with options=-c synchronous_commit=off, so
// that a session opened on it runs with asynchronous commit as on a server
// whose default is off, whatever the server's real default. It checks the
// premise: a plain session on the returned URL shows
// synchronous_commit=off. Tests of code that must commit synchronously
// open their sessions on it and expect on.
func AsyncCommitURL(t testing.TB, pgURL string) string {
	t.Helper()
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatalf("AsyncCommitURL: not a URL: %v", err)
	}
	// pgx reads a "+" in the query as itself: the space is spelled %20.
	opt := "options=-c%20synchronous_commit%3Doff"
	if u.RawQuery != "" {
		opt = "&" + opt
	}
	u.RawQuery += opt
	off := u.String()
	if got := ShowSetting(t, off, "synchronous_commit"); got != "off" {
		t.Fatalf("AsyncCommitURL: a plain session shows synchronous_commit=%s, want off", got)
	}
	return off
}

// ShowSetting returns SHOW name on a plain connection to pgURL.
func ShowSetting(t testing.TB, pgURL, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(context.Background())
	var v string
	if err := conn.QueryRow(ctx, "SHOW "+pgx.Identifier{name}.Sanitize()).Scan(&v); err != nil {
		t.Fatalf("SHOW %s: %v", name, err)
	}
	return v
}
