package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/resingest/resingest/sinks"
)

// Metrics are the pipeline's Prometheus collectors. A nil *Metrics is
// valid and records nothing. Safe for concurrent use.
type Metrics struct {
	MessagesIn   *prometheus.CounterVec   // by source
	Outcomes     *prometheus.CounterVec   // by outcome
	SinkRecords  *prometheus.CounterVec   // by sink, outcome
	DeadLetters  *prometheus.CounterVec   // by reason class
	SinkRetries  *prometheus.CounterVec   // by sink, class (store failure class or "transient")
	SinkStalled  *prometheus.GaugeVec     // by sink: 1 while a write made no progress for the stall timeout
	BatchSeconds prometheus.Histogram     // whole batch, parse to audit
	SinkSeconds  *prometheus.HistogramVec // by sink, one Write call
	Lag          *prometheus.GaugeVec     // by partition: records behind the high watermark
	Pending      prometheus.Gauge         // records held for key resolution (all workers)
	PendingAge   prometheus.Gauge         // seconds since the oldest held record was held
}

// NewMetrics creates the collectors and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		MessagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resingest_messages_in_total", Help: "Messages read from a source.",
		}, []string{"source"}),
		Outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resingest_messages_out_total", Help: "Messages acknowledged, by outcome.",
		}, []string{"outcome"}),
		SinkRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resingest_sink_records_total", Help: "Records written per sink, by outcome.",
		}, []string{"sink", "outcome"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resingest_dead_letters_total", Help: "Messages dead-lettered, by reason class.",
		}, []string{"reason"}),
		SinkRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resingest_sink_retries_total", Help: "Records retried after a transient error or a failure of the store, by error class.",
		}, []string{"sink", "class"}),
		SinkStalled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "resingest_sink_stalled", Help: "1 while a write to the sink has made no progress for --stall-timeout.",
		}, []string{"sink"}),
		BatchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "resingest_batch_seconds", Help: "Time to process one batch, parse to audit.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		SinkSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "resingest_sink_write_seconds", Help: "Time of one sink write call.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"sink"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "resingest_consumer_lag", Help: "Records behind the partition's high watermark.",
		}, []string{"partition"}),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "resingest_pending_records", Help: "Records held for key resolution (the pending table, all workers), read at every pending sweep.",
		}),
		PendingAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "resingest_pending_oldest_seconds", Help: "Age of the oldest record held for key resolution (0 when none is), read at every pending sweep.",
		}),
	}
	reg.MustRegister(m.MessagesIn, m.Outcomes, m.SinkRecords, m.DeadLetters, m.SinkRetries, m.SinkStalled, m.BatchSeconds, m.SinkSeconds, m.Lag, m.Pending, m.PendingAge)
	return m
}

func (m *Metrics) in(source string) {
	if m != nil {
		m.MessagesIn.WithLabelValues(source).Inc()
	}
}

func (m *Metrics) outcome(o Outcome) {
	if m != nil {
		m.Outcomes.WithLabelValues(string(o)).Inc()
	}
}

func (m *Metrics) deadLetter(class string) {
	if m != nil {
		m.DeadLetters.WithLabelValues(class).Inc()
	}
}

func (m *Metrics) retries(sink, class string, n int) {
	if m != nil {
		m.SinkRetries.WithLabelValues(sink, class).Add(float64(n))
	}
}

func (m *Metrics) stalled(sink string, on bool) {
	if m != nil {
		v := 0.0
		if on {
			v = 1
		}
		m.SinkStalled.WithLabelValues(sink).Set(v)
	}
}

func (m *Metrics) sinkRecord(sink string, o sinks.Outcome) {
	if m != nil {
		m.SinkRecords.WithLabelValues(sink, o.String()).Inc()
	}
}

func (m *Metrics) sinkWrite(sink string, d time.Duration) {
	if m != nil {
		m.SinkSeconds.WithLabelValues(sink).Observe(d.Seconds())
	}
}

func (m *Metrics) batch(d time.Duration) {
	if m != nil {
		m.BatchSeconds.Observe(d.Seconds())
	}
}

func (m *Metrics) lag(partition string, n int64) {
	if m != nil {
		m.Lag.WithLabelValues(partition).Set(float64(n))
	}
}

func (m *Metrics) pending(records int, oldest, now time.Time) {
	if m == nil {
		return
	}
	m.Pending.Set(float64(records))
	age := 0.0
	if records > 0 && !oldest.IsZero() {
		age = max(now.Sub(oldest).Seconds(), 0)
	}
	m.PendingAge.Set(age)
}
