package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// layoutData is what assets/layout.html renders around a page.
type layoutData struct {
	Title string
	Staff *Staff
	CSRF  string
	Page  any
}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"ts": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05.000Z")
		},
		"ago": func(t time.Time, now time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return now.Sub(t).Round(time.Second).String()
		},
		"ms": func(d time.Duration) string {
			if d < time.Second {
				return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
			}
			return d.Round(10 * time.Millisecond).String()
		},
		"dash": func(s string) string {
			if s == "" {
				return "-"
			}
			return s
		},
		"add":        func(a, b int64) int64 { return a + b },
		"version":    shortVersion,
		"pathEscape": url.PathEscape,
		"pct": func(a, b int64) string {
			if b == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
		},
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	files, err := fs.Glob(assets, "assets/page_*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		t, err := template.Must(layout.Clone()).ParseFS(assets, f)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", f, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(f, "assets/page_"), ".html")
		pages[name] = t
	}
	return pages, nil
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, rc *requestCtx, v view) {
	t, ok := s.pages[v.page]
	if !ok {
		s.log.Error("console: no template", "page", v.page)
		t, v = s.pages["error"], view{page: "error", title: "Error", data: "The page could not be built; the error is logged."}
		status = http.StatusServiceUnavailable
	}
	ld := layoutData{Title: v.title, Page: v.data}
	if rc != nil {
		ld.Staff, ld.CSRF = &rc.staff, rc.csrf
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", ld); err != nil {
		s.log.Error("console: render", "page", v.page, "err", err)
		http.Error(w, "The page could not be rendered; the error is logged.", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) css(w http.ResponseWriter, _ *http.Request) {
	b, _ := assets.ReadFile("assets/console.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(b)
}

// shortVersion shows a reservation.Version string compactly: the
// timestamps without a zero fraction and the stream position without its
// zero padding ("2026-01-05T06:02:16Z | 2026-01-05T06:02:19Z | 63").
func shortVersion(v string) string {
	parts := strings.Split(v, "|")
	for i, p := range parts {
		p = strings.Replace(p, ".000000000Z", "Z", 1)
		if t := strings.TrimLeft(p, "0"); p != "" && strings.Trim(p, "0123456789") == "" {
			if t == "" {
				t = "0"
			}
			p = t
		}
		parts[i] = p
	}
	return strings.Join(parts, " | ")
}
