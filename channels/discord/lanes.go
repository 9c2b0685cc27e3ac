package discord

import (
	"context"
	"sync"
)

// lanes runs jobs one at a time per key and keys in parallel, so one
// person's messages are handled in order while others are not held up.
// The number of queued jobs is bounded; submit never blocks, which lets it
// run on the gateway's read loop and inside engine subscribers.
type lanes struct {
	max int

	mu      sync.Mutex
	pending int
	closed  bool
	m       map[string][]func()
	wg      sync.WaitGroup
}

func newLanes(max int) *lanes {
	return &lanes{max: max, m: map[string][]func(){}}
}

// submit queues fn on key's lane. It reports false when closed or full.
func (l *lanes) submit(key string, fn func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.pending >= l.max {
		return false
	}
	l.pending++
	q, running := l.m[key]
	l.m[key] = append(q, fn)
	if !running {
		l.wg.Add(1)
		go l.run(key)
	}
	return true
}

func (l *lanes) run(key string) {
	defer l.wg.Done()
	for {
		l.mu.Lock()
		q := l.m[key]
		if len(q) == 0 {
			delete(l.m, key)
			l.mu.Unlock()
			return
		}
		fn := q[0]
		q[0] = nil
		l.m[key] = q[1:]
		l.mu.Unlock()
		fn()
		l.mu.Lock()
		l.pending--
		l.mu.Unlock()
	}
}

// go runs fn on its own, counted for drain like a lane job. It reports
// false once closed.
func (l *lanes) spawn(fn func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		fn()
	}()
	return true
}

// close stops intake.
func (l *lanes) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

// wait blocks until every queued job ran or ctx ends.
func (l *lanes) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
