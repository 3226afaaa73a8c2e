package api

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/http"
)

// docsScript renders the /docs page from /openapi.json in the browser, so
// the page is the document itself, not a second copy that could drift;
// the browser test runs it in headless Chromium.
//
//go:embed docs.js
var docsScript string

// docsCSP allows the page's one inline script (by hash), its inline style
// and fetching /openapi.json; nothing else, no other origin, no framing,
// no <base> and no form posts.
var docsCSP = "default-src 'none'; style-src 'unsafe-inline'; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'; script-src 'sha256-" +
	func() string { s := sha256.Sum256([]byte(docsScript)); return base64.StdEncoding.EncodeToString(s[:]) }() + "'"

// docsPage renders the page shell once (it is constant).
func docsPage() ([]byte, error) {
	var buf bytes.Buffer
	// template.JS: the script is our own embedded file, not input.
	if err := docsTemplate.Execute(&buf, template.JS(docsScript)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>API documentation</title>
<style>body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}
code.method{font-weight:bold}section{border-top:1px solid #999;margin-top:1.5em}.error{color:#b00}</style></head>
<body><h1 id="title">API documentation</h1><p id="description"></p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<noscript><p>This page renders /openapi.json with JavaScript; without it, read <a href="/openapi.json">/openapi.json</a>.</p></noscript>
<nav id="nav"></nav><main id="ops" data-state="loading"></main>
<script>{{.}}</script></body></html>
`))

// serveDocs answers with the page rendered by New.
func (s *Server) serveDocs(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Security-Policy", docsCSP)
	_, _ = w.Write(s.docs)
}
