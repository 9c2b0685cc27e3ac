package bot

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// SetHandoff replaces the escalation settings (thresholds, frustration
// words, business hours). Parts configured after the engine was created,
// such as the agent console, call it; messages in flight may still use the
// old settings.
func (e *Engine) SetHandoff(h HandoffConfig) {
	// Copy what the caller could still change under us.
	h.StageMaxMisses = maps.Clone(h.StageMaxMisses)
	h.Frustration = slices.Clone(h.Frustration)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg.Handoff = h
}

// Handoff returns the current escalation settings.
func (e *Engine) Handoff() HandoffConfig { return e.handoff() }

// handoff reads the settings under the lock SetHandoff writes them with.
// Callers must not hold e.mu.
func (e *Engine) handoff() HandoffConfig {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg.Handoff
}

// AgentsAvailable reports whether someone can answer a handoff now: within
// business hours and, when a Presence is set, with an agent online. Reason
// is "closed" or "no_agents" when not.
func (e *Engine) AgentsAvailable() (ok bool, reason string) {
	return e.agentsAvailable(e.cfg.Now())
}

// offlineQueueText tells a waiting customer their place when nobody can
// answer soon (outside business hours, no agent online).
func offlineQueueText(position int) string {
	return fmt.Sprintf("You're number %d in the queue. Our team isn't available right now; we'll reply here as soon as someone is back.", position)
}

// FirstResponseTime is how long the customer waited for a person's first
// reply, counted from the escalation: time spent with the bot is never
// included. ok is false when the contact was not escalated or not yet
// answered by a person.
func (c *Contact) FirstResponseTime() (d time.Duration, ok bool) {
	if c.EscalatedAt.IsZero() || c.FirstResponseAt.IsZero() {
		return 0, false
	}
	return c.FirstResponseAt.Sub(c.EscalatedAt), true
}

// ResolutionTime is how long a person took to resolve the contact, counted
// from the escalation (never bot time). ok is false until it is resolved.
func (c *Contact) ResolutionTime() (d time.Duration, ok bool) {
	if c.EscalatedAt.IsZero() || c.ResolvedAt.IsZero() {
		return 0, false
	}
	return c.ResolvedAt.Sub(c.EscalatedAt), true
}
