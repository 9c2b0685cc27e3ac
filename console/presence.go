package console

import (
	"sync"
	"time"
)

// presence tracks which agents are online: those with a console WebSocket
// open, and API clients that sent a heartbeat within ttl.
type presence struct {
	ttl time.Duration

	mu    sync.Mutex
	conns map[string]int       // agent id -> open console sockets
	beats map[string]time.Time // agent id -> last heartbeat
}

func newPresence(ttl time.Duration) *presence {
	return &presence{ttl: ttl, conns: map[string]int{}, beats: map[string]time.Time{}}
}

func (p *presence) connect(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[id]++
}

func (p *presence) disconnect(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[id]--; p.conns[id] <= 0 {
		delete(p.conns, id)
	}
}

func (p *presence) beat(id string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.beats[id] = now
}

func (p *presence) online(id string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.onlineLocked(id, now)
}

func (p *presence) onlineLocked(id string, now time.Time) bool {
	if p.conns[id] > 0 {
		return true
	}
	t, ok := p.beats[id]
	return ok && now.Sub(t) < p.ttl
}

// count returns how many distinct agents are online, forgetting stale
// heartbeats on the way.
func (p *presence) count(now time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns)
	for id, t := range p.beats {
		if now.Sub(t) >= p.ttl {
			delete(p.beats, id)
			continue
		}
		if p.conns[id] == 0 {
			n++
		}
	}
	return n
}
