package api

import (
	_ "embed"
	"net/http"
)

// OpenAPIDocument is the API's OpenAPI 3.1 description, served at
// /openapi.json. A test keeps it in step with the routes and checks the
// handlers' responses against its schemas.
//
//go:embed openapi.json
var OpenAPIDocument []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(OpenAPIDocument)
}
