// Package webhooks sends Frontdesk's events to the shop's own systems (CRM,
// BI): a contact closed, a conversation escalated, a survey answered. Each
// delivery is a JSON POST signed with HMAC-SHA256 (see Sign and Verify),
// kept in a durable outbox in the store until the receiver answers 2xx,
// and retried with exponential back-off and jitter for a bounded number of
// attempts; a restart resumes the outbox.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Event types.
const (
	TypeContactClosed         = "contact.closed"
	TypeConversationEscalated = "conversation.escalated"
	TypeSurveyAnswered        = "survey.answered"
)

// Headers of a delivery.
const (
	HeaderSignature = "X-Frontdesk-Signature" // t=<unix seconds>,v1=<hex HMAC-SHA256>
	HeaderEvent     = "X-Frontdesk-Event"     // the event type
	HeaderEventID   = "X-Frontdesk-Event-Id"  // the same on every retry: deduplicate on it
	HeaderAttempt   = "X-Frontdesk-Attempt"   // 1 for the first try
)

// Buckets of the outbox.
const (
	BucketOutbox = "webhooks_outbox" // delivery id → pending delivery
	BucketDead   = "webhooks_dead"   // delivery id → delivery that used up its attempts
)

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhooks: missing or malformed signature header")
	ErrBadSignature = errors.New("webhooks: signature does not match")
	ErrStale        = errors.New("webhooks: signature timestamp outside the tolerance")
)

// Config tunes a Dispatcher. The zero value works except for URLs.
type Config struct {
	// URLs receive every event. Default none: nothing is sent.
	URLs []string
	// Secret signs deliveries. Default none: deliveries are unsigned
	// (the server refuses to start webhooks without one).
	Secret []byte
	// Client posts deliveries. Default: an http.Client with a 10s timeout.
	Client *http.Client
	// MaxAttempts bounds the tries of one delivery before it is moved to
	// the dead-letter bucket. Default 8.
	MaxAttempts int
	// BaseDelay is the wait before the first retry; each retry doubles it.
	// Default 2s.
	BaseDelay time.Duration
	// MaxDelay caps the wait between retries. Default 10 minutes.
	MaxDelay time.Duration
	// Buffer is how many events may wait in memory to be written to the
	// outbox. Default 1024.
	Buffer int
	// Logger receives delivery failures. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Jitter returns a number in [0,1) spreading retries. Default
	// math/rand/v2.Float64.
	Jitter func() float64
}

// Envelope is the JSON body of every delivery.
type Envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// delivery is one envelope for one URL, as kept in the outbox.
type delivery struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Type      string    `json:"type"`
	EventID   string    `json:"event_id"`
	Body      []byte    `json:"body"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at"`
	LastError string    `json:"last_error,omitempty"`
}

// Dispatcher queues events durably and delivers them.
type Dispatcher struct {
	store bot.Store
	cfg   Config
	log   *slog.Logger
	queue chan Envelope
	wake  chan struct{}

	mu      sync.Mutex
	stopped bool
}

// New returns a dispatcher keeping its outbox in s.
func New(s bot.Store, cfg Config) *Dispatcher {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = 2 * time.Second
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 10 * time.Minute
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 1024
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	return &Dispatcher{store: s, cfg: cfg, log: cfg.Logger, queue: make(chan Envelope, cfg.Buffer), wake: make(chan struct{}, 1)}
}

// Sign returns the signature header value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>." + body)>".
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery's signature header against its raw body: one of
// its v1 values must be the HMAC of "<t>.<body>" and t within tolerance of
// now (default 5 minutes when tolerance is 0), which stops replays.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = 5 * time.Minute
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

// conversationRef is what a payload says about a conversation: no channel
// user ids or delivery addresses.
type conversationRef struct {
	ID         string           `json:"id"`
	CustomerID string           `json:"customer_id"`
	Channel    bot.Channel      `json:"channel"`
	State      bot.HandoffState `json:"state"`
}

func ref(c bot.Conversation) conversationRef {
	return conversationRef{ID: c.ID, CustomerID: c.CustomerID, Channel: c.Channel, State: c.State}
}

// Payloads of the event types (the envelope's data).
type (
	// ContactClosed is the data of contact.closed: the ledger entry.
	ContactClosed struct {
		Contact bot.Contact `json:"contact"`
	}
	// ConversationEscalated is the data of conversation.escalated.
	ConversationEscalated struct {
		Conversation conversationRef `json:"conversation"`
		Trigger      string          `json:"trigger"`
		Stage        bot.Stage       `json:"stage"`
		By           string          `json:"by"`
		At           time.Time       `json:"at"`
		ContactID    string          `json:"contact_id,omitempty"`
	}
	// SurveyAnswered is the data of survey.answered.
	SurveyAnswered struct {
		Survey         string      `json:"survey"`
		Score          int         `json:"score"`
		ContactID      string      `json:"contact_id"`
		ConversationID string      `json:"conversation_id"`
		CustomerID     string      `json:"customer_id"`
		Stage          bot.Stage   `json:"stage"`
		Channel        bot.Channel `json:"channel"`
		At             time.Time   `json:"at"`
	}
)

// FromEvent turns an engine event into a webhook envelope; ok is false for
// events that are not sent.
func FromEvent(ev bot.Event, now time.Time) (Envelope, bool) {
	var typ string
	var data any
	switch ev.Kind {
	case bot.EventContactClose:
		if ev.Contact == nil {
			return Envelope{}, false
		}
		typ, data = TypeContactClosed, ContactClosed{Contact: *ev.Contact}
	case bot.EventState:
		if ev.Transition == nil || ev.Transition.To != bot.StateWaiting || ev.Transition.From != bot.StateBot {
			return Envelope{}, false
		}
		p := ConversationEscalated{Conversation: ref(ev.Conversation), Trigger: ev.Transition.Reason, Stage: ev.Transition.Stage, By: ev.Transition.By, At: ev.Transition.At}
		if ev.Contact != nil {
			p.ContactID = ev.Contact.ID
		}
		typ, data = TypeConversationEscalated, p
	case bot.EventSurveyAnswered:
		if ev.Contact == nil || ev.Message == nil {
			return Envelope{}, false
		}
		score, err := strconv.Atoi(ev.Message.Data["score"])
		if err != nil {
			return Envelope{}, false
		}
		stage := ev.Contact.StageAtEnd
		if stage == "" {
			stage = ev.Contact.StageAtStart
		}
		typ, data = TypeSurveyAnswered, SurveyAnswered{Survey: ev.Message.Data["survey"], Score: score, ContactID: ev.Contact.ID,
			ConversationID: ev.Contact.ConversationID, CustomerID: ev.Contact.CustomerID, Stage: stage, Channel: ev.Contact.Channel, At: ev.Message.At}
	default:
		return Envelope{}, false
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, false
	}
	return Envelope{ID: bot.NewID(now), Type: typ, CreatedAt: now, Data: raw}, true
}

// Subscribe sends e's contact-closed, escalation and survey events. The
// subscriber only queues in memory (it must not block the engine); Run
// writes the queue to the outbox, which is durable from then on: an event
// still in the memory queue when the process dies is lost. When the queue
// is full, or after Stop, the event is dropped and logged.
func (d *Dispatcher) Subscribe(e *bot.Engine) {
	e.Subscribe(func(ev bot.Event) {
		env, ok := FromEvent(ev, d.cfg.Now())
		if !ok {
			return
		}
		d.mu.Lock()
		stopped := d.stopped
		d.mu.Unlock()
		if stopped {
			d.log.Warn("webhook dropped: dispatcher stopped", "type", env.Type, "event", env.ID)
			return
		}
		select {
		case d.queue <- env:
		default:
			d.log.Warn("webhook dropped: queue full", "type", env.Type, "event", env.ID)
		}
	})
}

// Enqueue writes an envelope to the outbox for every URL, durably, and
// wakes the sender.
func (d *Dispatcher) Enqueue(ctx context.Context, envs ...Envelope) error {
	if len(d.cfg.URLs) == 0 || len(envs) == 0 {
		return nil
	}
	now := d.cfg.Now()
	var recs []delivery
	for _, env := range envs {
		body, err := json.Marshal(env)
		if err != nil {
			return fmt.Errorf("webhooks: encode: %w", err)
		}
		for _, u := range d.cfg.URLs {
			recs = append(recs, delivery{ID: bot.NewID(now), URL: u, Type: env.Type, EventID: env.ID, Body: body, NextAt: now})
		}
	}
	err := d.store.Update(ctx, func(tx bot.Tx) error {
		for i := range recs {
			if err := tx.Put(BucketOutbox, []byte(recs[i].ID), &recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("webhooks: enqueue: %w", err)
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run writes queued events to the outbox and delivers due deliveries until
// ctx is cancelled; then it writes what is still queued to the outbox (to
// be sent after a restart) and returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			d.mu.Lock()
			d.stopped = true
			d.mu.Unlock()
			return d.flush(context.WithoutCancel(ctx))
		case env := <-d.queue:
			envs := []Envelope{env}
		more:
			for len(envs) < 256 {
				select {
				case env := <-d.queue:
					envs = append(envs, env)
				default:
					break more
				}
			}
			// Events taken off the queue are written even when shutting
			// down: nobody else will.
			if err := d.Enqueue(context.WithoutCancel(ctx), envs...); err != nil {
				d.log.Error("webhook outbox write failed", "events", len(envs), "err", err)
			}
			continue
		case <-d.wake:
		case <-timer.C:
		}
		next := d.deliverDue(ctx)
		wait := time.Minute
		if !next.IsZero() {
			wait = max(next.Sub(d.cfg.Now()), time.Millisecond)
		}
		timer.Reset(wait)
	}
}

// flush writes the in-memory queue to the outbox.
func (d *Dispatcher) flush(ctx context.Context) error {
	var envs []Envelope
	for {
		select {
		case env := <-d.queue:
			envs = append(envs, env)
		default:
			return d.Enqueue(ctx, envs...)
		}
	}
}

// Pending returns how many deliveries wait in the outbox.
func (d *Dispatcher) Pending(ctx context.Context) (int, error) {
	return count(ctx, d.store, BucketOutbox)
}

// Dead returns how many deliveries used up their attempts.
func (d *Dispatcher) Dead(ctx context.Context) (int, error) {
	return count(ctx, d.store, BucketDead)
}

func count(ctx context.Context, s bot.Store, bucket string) (int, error) {
	n := 0
	err := s.View(ctx, func(tx bot.Tx) error {
		return tx.Scan(bucket, nil, nil, func([]byte, func(any) error) (bool, error) {
			n++
			return true, nil
		})
	})
	return n, err
}

// deliverDue sends every due delivery once and returns when the next one
// falls due (zero when the outbox is empty).
func (d *Dispatcher) deliverDue(ctx context.Context) time.Time {
	now := d.cfg.Now()
	var due []delivery
	err := d.store.View(ctx, func(tx bot.Tx) error {
		return tx.Scan(BucketOutbox, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
			var r delivery
			if err := decode(&r); err != nil {
				return false, err
			}
			if !r.NextAt.After(now) {
				due = append(due, r)
			}
			return len(due) < 100, nil
		})
	})
	if err != nil {
		d.log.Error("webhook outbox read failed", "err", err)
		return now.Add(time.Second)
	}
	for _, r := range due {
		if ctx.Err() != nil {
			return time.Time{}
		}
		r.Attempts++
		sendErr := d.post(ctx, r)
		if ctx.Err() != nil {
			return time.Time{} // shutting down: the attempt does not count
		}
		if err := d.settle(ctx, r, sendErr); err != nil {
			d.log.Error("webhook outbox write failed", "delivery", r.ID, "err", err)
		}
	}
	// The next due time, retries scheduled just now included.
	var next time.Time
	_ = d.store.View(ctx, func(tx bot.Tx) error {
		return tx.Scan(BucketOutbox, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
			var r delivery
			if err := decode(&r); err != nil {
				return false, err
			}
			if next.IsZero() || r.NextAt.Before(next) {
				next = r.NextAt
			}
			return true, nil
		})
	})
	return next
}

// Backoff is the wait before retry n (n = 1 after the first failure):
// BaseDelay·2^(n-1), capped at MaxDelay, then scaled by a random factor in
// [0.5, 1) so receivers that come back are not hit by every retry at once.
func (d *Dispatcher) Backoff(n int) time.Duration {
	b := d.cfg.BaseDelay
	for i := 1; i < n && b < d.cfg.MaxDelay; i++ {
		b *= 2
	}
	b = min(b, d.cfg.MaxDelay)
	return time.Duration(float64(b) * (0.5 + 0.5*d.cfg.Jitter()))
}

// settle records the result of an attempt: delete on success, reschedule
// on failure, or move to the dead letters after the last attempt.
func (d *Dispatcher) settle(ctx context.Context, r delivery, sendErr error) error {
	if sendErr == nil {
		return d.store.Update(ctx, func(tx bot.Tx) error {
			return tx.Delete(BucketOutbox, []byte(r.ID))
		})
	}
	r.LastError = sendErr.Error()
	dead := r.Attempts >= d.cfg.MaxAttempts
	if !dead {
		r.NextAt = d.cfg.Now().Add(d.Backoff(r.Attempts))
	}
	// Update may run its function more than once: decide and log outside.
	err := d.store.Update(ctx, func(tx bot.Tx) error {
		if dead {
			if err := tx.Delete(BucketOutbox, []byte(r.ID)); err != nil {
				return err
			}
			return tx.Put(BucketDead, []byte(r.ID), &r)
		}
		return tx.Put(BucketOutbox, []byte(r.ID), &r)
	})
	if err != nil {
		return err
	}
	if dead {
		d.log.Warn("webhook gave up", "delivery", r.ID, "type", r.Type, "attempts", r.Attempts, "err", sendErr)
	} else {
		d.log.Info("webhook failed, will retry", "delivery", r.ID, "type", r.Type, "attempt", r.Attempts, "next_at", r.NextAt, "err", sendErr)
	}
	return nil
}

// post sends one attempt; any answer but 2xx is a failure.
func (d *Dispatcher) post(ctx context.Context, r delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return fmt.Errorf("webhooks: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Frontdesk-Webhooks/1")
	req.Header.Set(HeaderEvent, r.Type)
	req.Header.Set(HeaderEventID, r.EventID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(r.Attempts))
	if len(d.cfg.Secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(d.cfg.Secret, r.Body, d.cfg.Now()))
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		// *url.Error's text holds the URL, and webhook URLs often carry a
		// secret: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhooks: post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhooks: post: status %d", resp.StatusCode)
	}
	return nil
}
