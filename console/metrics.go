package console

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the console's Prometheus series. Safe for concurrent use.
type Metrics struct {
	disagreeing prometheus.Gauge
	sampled     prometheus.Gauge
	pages       *prometheus.HistogramVec
}

// NewMetrics registers the console's series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		disagreeing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "resingest_store_agreement_disagreeing",
			Help: "Reservations whose Postgres and DynamoDB versions differed in the console's last sampled agreement check.",
		}),
		sampled: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "resingest_store_agreement_sampled",
			Help: "Reservations compared in the console's last sampled agreement check.",
		}),
		pages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "resingest_console_page_seconds",
			Help:    "Time to answer a console page, by route and status.",
			Buckets: []float64{.005, .01, .025, .05, .1, .2, .5, 1, 2.5, 10},
		}, []string{"route", "status"}),
	}
	reg.MustRegister(m.disagreeing, m.sampled, m.pages)
	return m
}
