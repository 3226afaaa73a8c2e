package awsclient

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
)

// quietRetries is how many SDK retries of a service are logged at DEBUG
// before they are logged at WARN; retryLogEvery rate-limits the WARN lines.
const (
	quietRetries  = 3
	retryLogEvery = 5 * time.Second
)

// retryObserver receives every retry the SDK makes; nil until ObserveRetries.
var retryObserver atomic.Pointer[retryLog]

// observedRetryer reports each retry it schedules to the observer.
type observedRetryer struct {
	aws.RetryerV2
	service string
}

// RetryDelay is called by the SDK before each retry of a request.
func (r *observedRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if o := retryObserver.Load(); o != nil {
		o.observe(r.service, attempt, err)
	}
	return r.RetryerV2.RetryDelay(attempt, err)
}

// retryLog counts SDK retries and logs them: the first quietRetries of a
// service at DEBUG, then at WARN at most once per retryLogEvery per service
// with the number of retries since the last line.
type retryLog struct {
	log     *slog.Logger
	counter *prometheus.CounterVec

	mu       sync.Mutex
	services map[string]*retryState
}

type retryState struct {
	total      int64
	sinceLast  int64
	lastLogged time.Time
}

func (l *retryLog) observe(service string, attempt int, err error) {
	class, ok := Classify(context.Background(), err)
	if !ok {
		class = "other"
	}
	l.counter.WithLabelValues(service, string(class)).Inc()
	l.mu.Lock()
	st := l.services[service]
	if st == nil {
		st = &retryState{}
		l.services[service] = st
	}
	st.total++
	st.sinceLast++
	now := time.Now()
	warn := st.total > quietRetries && now.Sub(st.lastLogged) >= retryLogEvery
	n := st.sinceLast
	if warn {
		st.lastLogged, st.sinceLast = now, 0
	}
	quiet := st.total <= quietRetries
	l.mu.Unlock()
	switch {
	case warn:
		l.log.Warn("AWS SDK retrying requests", "store", service, "class", string(class), "attempt", attempt, "retries_since_last_line", n, "err", err)
	case quiet:
		l.log.Debug("AWS SDK retrying a request", "store", service, "class", string(class), "attempt", attempt, "err", err)
	}
}

// ObserveRetries makes the SDK retries of every client built with
// TransportRetryer visible: counted in resingest_aws_sdk_retries_total
// {service,class} (registered on reg) and logged, the first few at DEBUG,
// then at WARN at most every few seconds per service. Call it once, at
// start; later calls replace the logger and are not registered again.
func ObserveRetries(log *slog.Logger, reg prometheus.Registerer) {
	counter := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "resingest_aws_sdk_retries_total",
		Help: "Requests the AWS SDK retried, by service and error class.",
	}, []string{"service", "class"})
	if reg != nil {
		if err := reg.Register(counter); err != nil {
			if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
				counter = are.ExistingCollector.(*prometheus.CounterVec)
			}
		}
	}
	retryObserver.Store(&retryLog{log: log, counter: counter, services: map[string]*retryState{}})
}
