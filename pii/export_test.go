package pii

import "time"

// SetReloadInterval lets tests see a rotation without waiting.
func SetReloadInterval(d time.Duration) (restore func()) {
	old := reloadInterval
	reloadInterval = d
	return func() { reloadInterval = old }
}
