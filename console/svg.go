package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"
)

// series is one line of a chart.
type series struct {
	Name   string
	Color  string
	Points []float64 // one per bucket
}

// palette colours outcomes the same way on every chart.
var palette = map[string]string{
	"stored": "#2e7d32", "resolved": "#1565c0", "duplicate": "#9e9e9e", "stale": "#f9a825",
	"held": "#6a1b9a", "dead_letter": "#c62828", "dead_lettered": "#c62828",
}

var extraColors = []string{"#00838f", "#ef6c00", "#5d4037", "#ad1457", "#283593"}

func colorOf(name string, i int) string {
	if c, ok := palette[name]; ok {
		return c
	}
	return extraColors[i%len(extraColors)]
}

// lineChart draws series over buckets starting at start, width step each,
// as an inline SVG with axes, a y scale and a legend. Every value it
// prints is escaped.
func lineChart(title string, start time.Time, step time.Duration, ss []series, unit string) template.HTML {
	const w, h, left, right, top, bottom = 720.0, 240.0, 56.0, 12.0, 24.0, 44.0
	n := 0
	maxV := 0.0
	for _, s := range ss {
		n = max(n, len(s.Points))
		for _, v := range s.Points {
			maxV = math.Max(maxV, v)
		}
	}
	maxV = niceCeil(maxV)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		w, h, w, h, html.EscapeString(title))
	pw, ph := w-left-right, h-top-bottom
	x := func(i int) float64 {
		if n <= 1 {
			return left
		}
		return left + pw*float64(i)/float64(n-1)
	}
	y := func(v float64) float64 { return top + ph - ph*v/maxV }
	// grid and y labels
	for i := 0; i <= 4; i++ {
		v := maxV * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#e0e0e0"/>`, left, w-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end" fill="#555">%s</text>`, left-4, y(v)+3, formatNum(v))
	}
	fmt.Fprintf(&b, `<text x="4" y="14" font-size="10" fill="#555">%s</text>`, html.EscapeString(unit))
	// x labels: about six
	if n > 0 {
		every := max(1, n/6)
		for i := 0; i < n; i += every {
			t := start.Add(time.Duration(i) * step).UTC()
			label := t.Format("15:04")
			if step >= time.Hour {
				label = t.Format("01-02 15h")
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle" fill="#555">%s</text>`, x(i), h-bottom+14, label)
		}
	}
	for _, s := range ss {
		if len(s.Points) == 0 {
			continue
		}
		var pts []string
		for i, v := range s.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>`,
			s.Color, strings.Join(pts, " "), html.EscapeString(s.Name))
	}
	// legend
	lx := left
	for _, s := range ss {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/>`, lx, h-16, s.Color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#222">%s</text>`, lx+14, h-7, html.EscapeString(s.Name))
		lx += 24 + 7*float64(len(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built from numbers and escaped names
}

// barChart draws one horizontal bar per label.
func barChart(title string, labels []string, values []float64) template.HTML {
	const w, barH, left = 720.0, 18.0, 220.0
	h := 8 + barH*float64(len(labels))
	maxV := 0.0
	for _, v := range values {
		maxV = math.Max(maxV, v)
	}
	if maxV == 0 {
		maxV = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		w, h, w, h, html.EscapeString(title))
	for i, l := range labels {
		yy := 4 + barH*float64(i)
		bw := (w - left - 60) * values[i] / maxV
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="end" fill="#222">%s</text>`, left-6, yy+12, html.EscapeString(truncate(l, 34)))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#c62828"/>`, left, yy+2, bw, barH-6)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#222">%s</text>`, left+bw+4, yy+12, formatNum(values[i]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built from numbers and escaped labels
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func formatNum(v float64) string {
	switch {
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
