package web

import (
	"sync"
	"time"
)

// limiter is a token bucket per visitor (engine UserID), so opening more
// tabs or reconnecting does not buy more messages.
type limiter struct {
	perSec float64
	burst  float64

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(perMinute, burst int) *limiter {
	return &limiter{perSec: float64(perMinute) / 60, burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket, reporting whether there was one.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.refill(now, l.perSec, l.burst)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) refill(now time.Time, perSec, burst float64) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(burst, b.tokens+el*perSec)
		b.last = now
	}
}

// sweep forgets full buckets once a minute: a full bucket is the same as
// none, so memory stays proportional to recently active visitors.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		b.refill(now, l.perSec, l.burst)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// window counts events in a fixed one-minute window; connections use it to
// spot floods of rejected frames. Not safe for concurrent use: only the
// connection's reader touches it.
type window struct {
	start time.Time
	n     int
}

// add counts one event and returns the count in the current window.
func (w *window) add(now time.Time) int {
	if now.Sub(w.start) >= time.Minute {
		w.start, w.n = now, 0
	}
	w.n++
	return w.n
}
