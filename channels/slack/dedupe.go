package slack

import (
	"sync"
	"time"
)

// seenSet remembers keys (Slack event ids) for a while so redelivered
// events are handled once. It is bounded both in time and in size: the
// oldest keys go first. It lives in memory; customer messages are also
// deduplicated durably by the engine (Inbound.ClientID), see docs/slack.md.
type seenSet struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	now   func() time.Time
	at    map[string]time.Time
	order []string // insertion order, for expiry and eviction
}

func newSeenSet(ttl time.Duration, max int, now func() time.Time) *seenSet {
	return &seenSet{ttl: ttl, max: max, now: now, at: map[string]time.Time{}}
}

// Add records key and reports whether it is new (not seen within the TTL).
func (s *seenSet) Add(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	// Expire from the front: order is by insertion time, so every expired
	// key sits before every live one. A full set drops its oldest keys.
	for len(s.order) > 0 {
		k := s.order[0]
		if now.Sub(s.at[k]) < s.ttl && len(s.at) < s.max {
			break
		}
		delete(s.at, k)
		s.order = s.order[1:]
	}
	if _, ok := s.at[key]; ok {
		return false
	}
	s.at[key] = now
	s.order = append(s.order, key)
	return true
}

// Len returns how many keys are remembered.
func (s *seenSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.at)
}

// Forget removes key, so the next Add of it is new again (an event that
// was not handled after all).
func (s *seenSet) Forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.at, key)
}
