package pipeline

import "github.com/prometheus/client_golang/prometheus"

// KinesisMetrics are the Kinesis source's collectors. A nil *KinesisMetrics
// records nothing. Safe for concurrent use.
type KinesisMetrics struct {
	MillisBehind *prometheus.GaugeVec   // by shard: GetRecords' MillisBehindLatest
	Records      *prometheus.CounterVec // by shard: records read
	Retries      *prometheus.CounterVec // by shard: GetRecords retried after a transient error
	Throttles    *prometheus.CounterVec // by shard: ProvisionedThroughputExceeded answers
	LeaseEvents  *prometheus.CounterVec // by event: gained, lost, released, finished
	LeasesHeld   prometheus.Gauge
}

// NewKinesisMetrics creates the collectors and registers them on reg (the
// same registry as NewMetrics).
func NewKinesisMetrics(reg prometheus.Registerer) *KinesisMetrics {
	m := &KinesisMetrics{
		MillisBehind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "resingest_kinesis_millis_behind_latest", Help: "MillisBehindLatest of the shard's last GetRecords (iterator age).",
		}, []string{"shard"}),
		Records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resingest_kinesis_records_total", Help: "Records read from the shard.",
		}, []string{"shard"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resingest_kinesis_retries_total", Help: "GetRecords calls retried after a transient error or throttle.",
		}, []string{"shard"}),
		Throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resingest_kinesis_throttles_total", Help: "GetRecords answered ProvisionedThroughputExceeded.",
		}, []string{"shard"}),
		LeaseEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resingest_kinesis_lease_events_total", Help: "Shard leases gained, lost, released or finished by this worker.",
		}, []string{"event"}),
		LeasesHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "resingest_kinesis_leases_held", Help: "Shard leases this worker holds.",
		}),
	}
	reg.MustRegister(m.MillisBehind, m.Records, m.Retries, m.Throttles, m.LeaseEvents, m.LeasesHeld)
	return m
}

func (m *KinesisMetrics) read(shard string, records int, behind *int64) {
	if m == nil {
		return
	}
	m.Records.WithLabelValues(shard).Add(float64(records))
	if behind != nil {
		m.MillisBehind.WithLabelValues(shard).Set(float64(*behind))
	}
}

func (m *KinesisMetrics) retry(shard string, throttled bool) {
	if m == nil {
		return
	}
	m.Retries.WithLabelValues(shard).Inc()
	if throttled {
		m.Throttles.WithLabelValues(shard).Inc()
	}
}

func (m *KinesisMetrics) leaseEvent(event string, held int) {
	if m == nil {
		return
	}
	m.LeaseEvents.WithLabelValues(event).Inc()
	m.LeasesHeld.Set(float64(held))
}
