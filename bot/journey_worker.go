package bot

import (
	"context"
	"sync"
)

// JourneyWorker does the journey work that must not run on the goroutine
// that published an event (subscribers must not block): it offers surveys
// when contacts close and links customers who wrote with a verified email
// to the customer already known by it.
type JourneyWorker struct {
	e    *Engine
	jobs chan journeyJob

	mu      sync.Mutex
	checked map[string]string // customer id → verified email already linked
	stopped bool
}

type journeyJob struct {
	survey   string // contact id
	customer string // customer id to link
}

// NewJourneyWorker subscribes a worker to e's events; Run processes them.
// buffer bounds the jobs waiting (default 1024); when full, jobs are
// dropped and logged.
func NewJourneyWorker(e *Engine, buffer int) *JourneyWorker {
	if buffer <= 0 {
		buffer = 1024
	}
	w := &JourneyWorker{e: e, jobs: make(chan journeyJob, buffer), checked: map[string]string{}}
	e.Subscribe(w.onEvent)
	return w
}

func (w *JourneyWorker) onEvent(ev Event) {
	var job journeyJob
	switch {
	case ev.Kind == EventContactClose && ev.Contact != nil:
		job.survey = ev.Contact.ID
	case ev.Kind == EventMessage && ev.Message != nil && ev.Message.Role == RoleCustomer:
		w.mu.Lock()
		_, seen := w.checked[ev.Conversation.CustomerID]
		w.mu.Unlock()
		if seen {
			return
		}
		job.customer = ev.Conversation.CustomerID
	default:
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	select {
	case w.jobs <- job:
	default:
		w.e.log.Warn("journey job dropped: queue full", "contact", job.survey, "customer", job.customer)
	}
}

// Run processes jobs until ctx is cancelled.
func (w *JourneyWorker) Run(ctx context.Context) {
	defer func() {
		w.mu.Lock()
		w.stopped = true
		w.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-w.jobs:
			w.do(ctx, job)
		}
	}
}

func (w *JourneyWorker) do(ctx context.Context, job journeyJob) {
	log := w.e.log
	if job.survey != "" {
		if _, err := w.e.OfferSurvey(ctx, job.survey); err != nil {
			log.Warn("offer survey", "contact", job.survey, "err", err)
		}
		return
	}
	c, merged, err := w.e.LinkVerified(ctx, job.customer)
	if err != nil {
		log.Warn("link verified email", "customer", job.customer, "err", err)
		return
	}
	if c.Profile.Verified && c.Profile.Email != "" {
		w.mu.Lock()
		if len(w.checked) > 100_000 {
			clear(w.checked) // a bound, not a cache policy: checks are cheap
		}
		w.checked[job.customer] = c.Profile.Email
		w.checked[c.ID] = c.Profile.Email
		w.mu.Unlock()
	}
	if merged {
		log.Info("customer linked by verified email", "customer", c.ID, "from", job.customer)
	}
}
