package api

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const openAPIURL = "https://resingest.invalid/openapi.json"

// openAPIDoc is the parts of the document the tests read.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type openAPIOp struct {
	Responses map[string]struct {
		Ref     string                     `json:"$ref"`
		Content map[string]json.RawMessage `json:"content"`
	} `json:"responses"`
}

// openAPI is the parsed document, a mux of its operations (to find the
// operation of a request) and its schemas compiled on demand.
var openAPI = sync.OnceValues(func() (*openAPISpec, error) {
	var d openAPIDoc
	if err := json.Unmarshal(OpenAPIDocument, &d); err != nil {
		return nil, err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(OpenAPIDocument))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(openAPIURL, inst); err != nil {
		return nil, err
	}
	sp := &openAPISpec{doc: d, mux: http.NewServeMux(), compiler: c, schemas: map[string]*jsonschema.Schema{}}
	for path, ops := range d.Paths {
		for method := range ops {
			sp.mux.Handle(strings.ToUpper(method)+" "+path, http.NotFoundHandler())
		}
	}
	return sp, nil
})

type openAPISpec struct {
	doc      openAPIDoc
	mux      *http.ServeMux
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

func (sp *openAPISpec) schema(ptr string) (*jsonschema.Schema, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if s, ok := sp.schemas[ptr]; ok {
		return s, nil
	}
	s, err := sp.compiler.Compile(openAPIURL + "#" + ptr)
	if err != nil {
		return nil, err
	}
	sp.schemas[ptr] = s
	return s, nil
}

func pointerEscape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// checkAgainstOpenAPI fails t when r, the answer to req, is not what the
// document says req's operation answers: an undocumented status, content
// type, or a body outside the schema. Requests outside the document (404,
// 405 of unknown routes) are not checked here.
func checkAgainstOpenAPI(t testing.TB, req *http.Request, r response) {
	t.Helper()
	sp, err := openAPI()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	_, pattern := sp.mux.Handler(&http.Request{Method: req.Method, URL: req.URL, Host: req.Host, Header: http.Header{}})
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		return
	}
	method = strings.ToLower(method)
	var op openAPIOp
	if err := json.Unmarshal(sp.doc.Paths[path][method], &op); err != nil {
		t.Fatalf("openapi.json %s %s: %v", method, path, err)
	}
	code := strconv.Itoa(r.status)
	resp, ok := op.Responses[code]
	if !ok {
		t.Errorf("%s %s answered %d, which openapi.json does not list", method, path, r.status)
		return
	}
	base := "/paths/" + pointerEscape(path) + "/" + method + "/responses/" + code
	if resp.Ref != "" {
		base = strings.TrimPrefix(resp.Ref, "#")
		var named struct {
			Content map[string]json.RawMessage `json:"content"`
		}
		var all struct {
			Components struct {
				Responses map[string]json.RawMessage `json:"responses"`
			} `json:"components"`
		}
		if err := json.Unmarshal(OpenAPIDocument, &all); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(all.Components.Responses[strings.TrimPrefix(base, "/components/responses/")], &named); err != nil {
			t.Fatalf("openapi.json %s: %v", resp.Ref, err)
		}
		resp.Content = named.Content
	}
	if len(resp.Content) == 0 {
		if len(r.body) != 0 {
			t.Errorf("%s %s %d: body %q where openapi.json has none", method, path, r.status, r.body)
		}
		return
	}
	mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	if _, ok := resp.Content[mt]; !ok {
		t.Errorf("%s %s %d: Content-Type %q is not in openapi.json", method, path, r.status, mt)
		return
	}
	if mt != "application/json" && mt != "application/problem+json" {
		return
	}
	sch, err := sp.schema(base + "/content/" + pointerEscape(mt) + "/schema")
	if err != nil {
		t.Fatalf("openapi.json schema of %s %s %d: %v", method, path, r.status, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
	if err != nil {
		t.Errorf("%s %s %d: body is not JSON: %v", method, path, r.status, err)
		return
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s %s %d: the body does not match openapi.json: %v\n%s", method, path, r.status, err, r.body)
	}
}

// TestOpenAPIRoutes: every route of the mux is in the document and every
// operation of the document is a route; /openapi.json serves it.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	sp, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	if sp.doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", sp.doc.OpenAPI)
	}
	srv, err := New(Options{Store: &gateStore{}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var routes, documented []string
	for _, rt := range srv.routeTable() {
		routes = append(routes, rt.pattern)
	}
	for path, ops := range sp.doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(routes)
	slices.Sort(documented)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("openapi.json has %s, which is not a route", d)
		}
	}
	ts := httptestServer(t, srv)
	req, _ := http.NewRequest("GET", ts+"/openapi.json", nil)
	got := do(t, req)
	if got.status != 200 || !bytes.Equal(got.body, OpenAPIDocument) {
		t.Fatalf("/openapi.json: %d, %d bytes; want 200 and the document", got.status, len(got.body))
	}
}

// TestOpenAPICatchesMismatch: the checker fails a response that breaks
// the schema (so that its silence elsewhere means something).
func TestOpenAPICatchesMismatch(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]response{
		"extra field":      {status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: []byte(`{"items":[],"x":1}`)},
		"wrong type":       {status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: []byte(`{"items":{}}`)},
		"undocumented 418": {status: 418, header: http.Header{}, body: nil},
		"bad problem":      {status: 404, header: http.Header{"Content-Type": {"application/problem+json"}}, body: []byte(`{"type":1}`)},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", "http://x/v1/itineraries/lookup", nil)
			rt := &recordingTB{TB: t}
			checkAgainstOpenAPI(rt, req, r)
			if !rt.failed {
				t.Fatal("not caught")
			}
		})
	}
}

// recordingTB records failures instead of failing.
type recordingTB struct {
	testing.TB
	failed bool
}

func (r *recordingTB) Errorf(string, ...any) { r.failed = true }
func (r *recordingTB) Fatalf(string, ...any) { r.failed = true }
func (r *recordingTB) Helper()               {}

func httptestServer(t *testing.T, srv *Server) string {
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}
