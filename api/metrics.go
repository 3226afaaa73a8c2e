package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// apiMetrics are the server's Prometheus metrics. Labels are route
// patterns and statuses, never paths (paths carry confirmation numbers).
// Safe for concurrent use.
type apiMetrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	// lookupAnomalies counts lookups that matched nothing beyond the
	// per-confirmation budget, from all addresses together.
	lookupAnomalies prometheus.Counter
	handler         http.Handler
}

// newAPIMetrics registers the API's metrics (and the Go and process
// collectors) on a registry of the server's own, so that two servers in
// one process (tests) do not collide.
func newAPIMetrics(audit *AccessAudit) *apiMetrics {
	reg := prometheus.NewRegistry()
	m := &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "resingest", Subsystem: "api", Name: "requests_total",
			Help: "Requests answered, by route pattern and status.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "resingest", Subsystem: "api", Name: "request_duration_seconds",
			Help:    "Time to answer a request, by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "resingest", Subsystem: "api", Name: "rate_limited_total",
			Help: "Requests refused with 429, by limit (client, lookup_ip, lookup_partner, lookup_confirmation, failed_auth).",
		}, []string{"limit"}),
		lookupAnomalies: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "resingest", Subsystem: "api", Name: "lookup_anomalies_total",
			Help: "Lookups that matched nothing beyond --lookup-rate-limit a minute for one confirmation number, from all addresses together (someone guessing at one guest's surname; nobody is refused for it).",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.rateLimited, m.lookupAnomalies,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if audit != nil {
		for name, help := range map[string]string{
			"written": "PII access audit rows stored.",
			"refused": "Responses refused with 503 because the PII access audit buffer was full.",
			"lost":    "PII access audit rows that could not be stored (each loss is logged at error).",
		} {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Namespace: "resingest", Subsystem: "api", Name: "pii_audit_" + name + "_total", Help: help,
			}, func() float64 {
				st := audit.Stats()
				return float64(map[string]int64{"written": st.Written, "refused": st.Refused, "lost": st.Lost}[name])
			}))
		}
	}
	// The encoding middleware compresses; promhttp need not.
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, DisableCompression: true})
	return m
}

// observe records one answered request.
func (m *apiMetrics) observe(route string, status int, took time.Duration) {
	if route == "" || route == "/" {
		route = "unrouted" // one label for every 404/405, whatever the path
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(took.Seconds())
}
