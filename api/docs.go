package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
)

// docsOperation is one endpoint as the /docs page shows it.
type docsOperation struct {
	Method, Path, Summary, Description string
	Security                           []string
	Parameters                         []docsParameter
	RequestBody                        string
	Responses                          []docsResponse
}

type docsParameter struct {
	Name, In, Type, Description string
	Required                    bool
}

type docsResponse struct{ Code, Description, ContentTypes string }

// openAPIFile is the part of openapi.json the page shows.
type openAPIFile struct {
	Info struct {
		Title, Version, Description string
	} `json:"info"`
	Paths      map[string]map[string]openAPIOperation `json:"paths"`
	Components struct {
		Responses map[string]openAPIResponse `json:"responses"`
	} `json:"components"`
}

type openAPIOperation struct {
	Summary     string                `json:"summary"`
	Description string                `json:"description"`
	Security    []map[string][]string `json:"security"`
	Parameters  []struct {
		Name        string `json:"name"`
		In          string `json:"in"`
		Required    bool   `json:"required"`
		Description string `json:"description"`
		Schema      struct {
			Type   string `json:"type"`
			Format string `json:"format"`
		} `json:"schema"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]openAPIResponse `json:"responses"`
}

type openAPIResponse struct {
	Ref         string                     `json:"$ref"`
	Description string                     `json:"description"`
	Content     map[string]json.RawMessage `json:"content"`
}

// docsPage renders the document once: it is embedded, so the page cannot
// change while the process runs.
func docsPage(doc []byte) ([]byte, error) {
	var f openAPIFile
	if err := json.Unmarshal(doc, &f); err != nil {
		return nil, fmt.Errorf("api: openapi.json: %w", err)
	}
	var ops []docsOperation
	for path, byMethod := range f.Paths {
		for method, o := range byMethod {
			op := docsOperation{Method: strings.ToUpper(method), Path: path, Summary: o.Summary, Description: o.Description}
			if o.Security != nil && len(o.Security) == 0 {
				op.Security = []string{"none"}
			}
			for _, req := range o.Security {
				if len(req) == 0 {
					op.Security = append(op.Security, "none")
				}
				for name := range req {
					op.Security = append(op.Security, name)
				}
				slices.Sort(op.Security)
			}
			for _, p := range o.Parameters {
				typ := p.Schema.Type
				if p.Schema.Format != "" {
					typ += " (" + p.Schema.Format + ")"
				}
				op.Parameters = append(op.Parameters, docsParameter{Name: p.Name, In: p.In, Type: typ, Description: p.Description, Required: p.Required})
			}
			if o.RequestBody != nil {
				for ct, c := range o.RequestBody.Content {
					op.RequestBody = ct + " " + strings.TrimPrefix(c.Schema.Ref, "#/components/schemas/")
				}
			}
			for code, r := range o.Responses {
				if name, ok := strings.CutPrefix(r.Ref, "#/components/responses/"); ok {
					r = f.Components.Responses[name]
				}
				cts := make([]string, 0, len(r.Content))
				for ct := range r.Content {
					cts = append(cts, ct)
				}
				slices.Sort(cts)
				op.Responses = append(op.Responses, docsResponse{Code: code, Description: r.Description, ContentTypes: strings.Join(cts, ", ")})
			}
			slices.SortFunc(op.Responses, func(a, b docsResponse) int { return strings.Compare(a.Code, b.Code) })
			ops = append(ops, op)
		}
	}
	slices.SortFunc(ops, func(a, b docsOperation) int {
		return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method)
	})
	var buf bytes.Buffer
	err := docsTemplate.Execute(&buf, map[string]any{"Info": f.Info, "Ops": ops})
	if err != nil {
		return nil, fmt.Errorf("api: render /docs: %w", err)
	}
	return buf.Bytes(), nil
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Info.Title}}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}
code.method{font-weight:bold}section{border-top:1px solid #999;margin-top:1.5em}</style></head>
<body><h1>{{.Info.Title}} (version {{.Info.Version}})</h1><p>{{.Info.Description}}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<nav><ul>{{range .Ops}}<li><a href="#{{.Method}}{{.Path}}"><code>{{.Method}} {{.Path}}</code></a></li>{{end}}</ul></nav>
{{range .Ops}}<section id="{{.Method}}{{.Path}}" class="operation"><h2><code class="method">{{.Method}}</code> <code class="path">{{.Path}}</code></h2>
<p>{{.Summary}}</p>{{with .Description}}<p>{{.}}</p>{{end}}
<p>Authentication: {{range $i, $s := .Security}}{{if $i}} or {{end}}{{$s}}{{end}}</p>
{{with .Parameters}}<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>
{{range .}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{if .Required}}yes{{else}}no{{end}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{with .RequestBody}}<h3>Request body</h3><p><code>{{.}}</code></p>{{end}}
<h3>Responses</h3><table><tr><th>status</th><th>description</th><th>content</th></tr>
{{range .Responses}}<tr><td>{{.Code}}</td><td>{{.Description}}</td><td>{{.ContentTypes}}</td></tr>{{end}}</table>
</section>{{end}}</body></html>
`))

// serveDocs answers with the page rendered by New.
func (s *Server) serveDocs(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(s.docs)
}
