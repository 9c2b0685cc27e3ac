package bot

import (
	"context"
	"fmt"
	"time"
)

// JourneyRules decide how evidence moves a customer between stages. The
// zero value is the documented default (docs/journey.md has the table).
// Every stage rule lives in this file, so there is one place to read them:
//
//	new customer                               → awareness (Start)
//	pre-purchase topic asked by a prospect     → that topic's stage, forward only (AfterTopic)
//	order evidence from a flow (FlowReply)     → at least that stage, forward only (AfterOrder)
//	high rating from a loyal customer          → advocacy (AfterRating)
//	referral from a loyal customer             → advocacy (AfterReferral)
//	no purchase for LapsedAfter (a buyer)      → lapsed (Lapse, run by Engine.SweepLapsed)
//	a lapsed customer who returns              → a prospect again: lapsed ranks before
//	                                             awareness, so any of the rules above moves them on
type JourneyRules struct {
	// LapsedAfter is how long without a purchase moves a customer who has
	// bought to lapsed. Default 180 days.
	LapsedAfter time.Duration
	// AdvocacyNPS is the lowest NPS answer (0-10) from a loyal customer
	// that counts as advocacy. Default 9 (a promoter); above 10 disables it.
	AdvocacyNPS int
	// AdvocacyCSAT is the lowest CSAT answer (1-5) from a loyal customer
	// that counts as advocacy. Default 5; above 5 disables it.
	AdvocacyCSAT int
}

func (r JourneyRules) lapsedAfter() time.Duration {
	if r.LapsedAfter > 0 {
		return r.LapsedAfter
	}
	return 180 * 24 * time.Hour
}

func (r JourneyRules) advocacyNPS() int {
	if r.AdvocacyNPS > 0 {
		return r.AdvocacyNPS
	}
	return 9
}

func (r JourneyRules) advocacyCSAT() int {
	if r.AdvocacyCSAT > 0 {
		return r.AdvocacyCSAT
	}
	return 5
}

// Start is the stage of a new customer.
func (r JourneyRules) Start() Stage { return StageAwareness }

// AfterTopic applies the topic rule: a prospect (awareness, consideration,
// lapsed) asking about a pre-purchase topic moves forward to that topic's
// stage (never backwards); a lapsed customer asking anything pre-purchase
// starts again as a prospect. Topics of later stages are not evidence on
// their own (asking about refunds does not make someone a buyer): orders
// are. It reports whether the stage changed.
func (r JourneyRules) AfterTopic(c *Customer, t Topic, now time.Time) bool {
	if !c.Stage.IsProspect() && c.Stage != StagePurchase {
		return false
	}
	switch t.Stage {
	case StageAwareness, StageConsideration, StagePurchase:
	default:
		return false
	}
	if c.Stage == StageLapsed || t.Stage.Rank() > c.Stage.Rank() {
		return c.MoveTo(t.Stage, now, "asked about "+t.ID, t.ID)
	}
	return false
}

// AfterOrder applies the order rule: order evidence (an order flow's
// FlowReply.Stage: purchase, post-purchase or loyalty) moves a customer at
// least to that stage, never backwards; a lapsed customer moves to it
// unless the order itself is older than LapsedAfter (tracking an old order
// is not a return). purchasedAt, when known, is when the order was placed:
// it feeds the lapsed rule through Customer.LastPurchaseAt. It reports
// whether the stage changed.
func (r JourneyRules) AfterOrder(c *Customer, stage Stage, reason, evidence string, purchasedAt, now time.Time) bool {
	if !purchasedAt.IsZero() && purchasedAt.After(c.LastPurchaseAt) {
		c.LastPurchaseAt = purchasedAt
	}
	if reason == "" {
		reason = "order"
	}
	// This order is evidence, and the newest purchase we know of is long
	// ago: an ex-customer, a prospect again, whatever stage the order
	// itself implies. (Without an order date this call only moves forward;
	// the lapsed sweep handles time passing.)
	if !purchasedAt.IsZero() && now.Sub(c.LastPurchaseAt) >= r.lapsedAfter() {
		if c.Stage == StageLapsed {
			return false
		}
		return c.MoveTo(StageLapsed, now, reason, evidence)
	}
	if !stage.Valid() || stage == StageLapsed || stage.Rank() < StagePurchase.Rank() {
		return false
	}
	if c.Stage == StageLapsed {
		if !purchasedAt.IsZero() && now.Sub(purchasedAt) >= r.lapsedAfter() {
			return false
		}
		return c.MoveTo(stage, now, reason, evidence)
	}
	if stage.Rank() > c.Stage.Rank() {
		return c.MoveTo(stage, now, reason, evidence)
	}
	return false
}

// AfterRating applies the rating rule: a loyal customer who answers NPS
// at or above AdvocacyNPS, or CSAT at or above AdvocacyCSAT, becomes an
// advocate. evidence is the contact the rating is for.
func (r JourneyRules) AfterRating(c *Customer, kind SurveyKind, score int, evidence string, now time.Time) bool {
	if c.Stage != StageLoyalty {
		return false
	}
	switch {
	case kind == SurveyNPS && score >= r.advocacyNPS() && score <= 10:
		return c.MoveTo(StageAdvocacy, now, fmt.Sprintf("nps %d", score), evidence)
	case kind == SurveyCSAT && score >= r.advocacyCSAT() && score <= 5:
		return c.MoveTo(StageAdvocacy, now, fmt.Sprintf("csat %d", score), evidence)
	}
	return false
}

// AfterReferral applies the referral rule: a loyal customer who referred
// someone becomes an advocate.
func (r JourneyRules) AfterReferral(c *Customer, evidence string, now time.Time) bool {
	if c.Stage != StageLoyalty {
		return false
	}
	return c.MoveTo(StageAdvocacy, now, "referral", evidence)
}

// IsBuyer reports whether s is a stage of someone who has bought and not
// lapsed: purchase, post-purchase, loyalty, advocacy.
func IsBuyer(s Stage) bool { return s.Rank() >= StagePurchase.Rank() }

// LastPurchase is when the customer last bought, as far as the evidence
// goes: Customer.LastPurchaseAt when order data set it, otherwise the last
// time they moved from a prospect stage into a buyer stage. Zero when they
// never bought.
func (r JourneyRules) LastPurchase(c *Customer) time.Time {
	if !c.LastPurchaseAt.IsZero() {
		// Order dates beat stage changes: proving an old order today is
		// not a purchase today.
		return c.LastPurchaseAt
	}
	var last time.Time
	for _, h := range c.StageHistory {
		if IsBuyer(h.To) && !IsBuyer(h.From) && h.At.After(last) {
			last = h.At
		}
	}
	return last
}

// Lapse applies the lapsed rule: a buyer whose last purchase is at least
// LapsedAfter before now becomes lapsed.
func (r JourneyRules) Lapse(c *Customer, now time.Time) bool {
	if !IsBuyer(c.Stage) {
		return false
	}
	last := r.LastPurchase(c)
	if last.IsZero() || now.Sub(last) < r.lapsedAfter() {
		return false
	}
	return c.MoveTo(StageLapsed, now, fmt.Sprintf("no purchase for %d days", int(r.lapsedAfter()/(24*time.Hour))), "")
}

// MergedStage is the stage of two linked customers: the one furthest along
// the journey (lapsed ranks before awareness, as everywhere).
func (r JourneyRules) MergedStage(a, b Stage) Stage {
	if a == "" || b.Rank() > a.Rank() {
		return b
	}
	return a
}

// SetJourney replaces the stage rules. Parts configured after the engine
// was created call it; messages in flight may still use the old rules.
func (e *Engine) SetJourney(r JourneyRules) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg.Journey = r
}

// Journey returns the current stage rules.
func (e *Engine) Journey() JourneyRules { return e.journey() }

// journey reads the rules under the lock SetJourney writes them with.
// Callers must not hold e.mu.
func (e *Engine) journey() JourneyRules {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg.Journey
}

// SweepLapsed applies the lapsed rule to every customer at now and returns
// how many moved. Run it periodically (the server does, hourly).
func (e *Engine) SweepLapsed(ctx context.Context, now time.Time) (int, error) {
	r := e.journey()
	var due []string
	err := e.store.View(ctx, func(tx Tx) error {
		return tx.Scan(BucketCustomers, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
			var c Customer
			if err := decode(&c); err != nil {
				return false, err
			}
			if r.Lapse(&c, now) {
				due = append(due, c.ID)
			}
			return ctx.Err() == nil, nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("bot: sweep lapsed: %w", err)
	}
	moved := 0
	for start := 0; start < len(due); start += 200 {
		batch := due[start:min(start+200, len(due))]
		n := 0
		err := e.store.Update(ctx, func(tx Tx) error {
			n = 0
			for _, id := range batch {
				c, err := GetCustomer(tx, id)
				if err != nil {
					continue // merged or forgotten meanwhile
				}
				if r.Lapse(&c, now) {
					n++
					if err := PutCustomer(tx, &c); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return moved, fmt.Errorf("bot: sweep lapsed: %w", err)
		}
		moved += n
	}
	return moved, nil
}

// RecordReferral applies the referral rule to a customer (for example when
// the shop's referral programme reports a referred order). It reports
// whether the stage changed.
func (e *Engine) RecordReferral(ctx context.Context, customerID, evidence string) (bool, error) {
	return e.updateCustomer(ctx, customerID, func(c *Customer, now time.Time) bool {
		return e.journey().AfterReferral(c, evidence, now)
	})
}

// RecordOrder applies the order rule outside a conversation, for order
// sources that learn of purchases directly (a shop webhook). stage is
// purchase, post-purchase or loyalty; purchasedAt may be zero.
func (e *Engine) RecordOrder(ctx context.Context, customerID string, stage Stage, reason, evidence string, purchasedAt time.Time) (bool, error) {
	return e.updateCustomer(ctx, customerID, func(c *Customer, now time.Time) bool {
		return e.journey().AfterOrder(c, stage, reason, evidence, purchasedAt, now)
	})
}

// updateCustomer loads a customer (following merges: a shop may still
// know a linked customer by the id that was merged away), applies fn and
// stores the result when fn reports a change (or touched LastPurchaseAt).
func (e *Engine) updateCustomer(ctx context.Context, customerID string, fn func(c *Customer, now time.Time) bool) (bool, error) {
	now := e.cfg.Now()
	changed := false
	err := e.store.Update(ctx, func(tx Tx) error {
		changed = false
		id, err := ResolveCustomerID(tx, customerID)
		if err != nil {
			return err
		}
		c, err := GetCustomer(tx, id)
		if err != nil {
			if isNotFound(err) {
				return &Error{Code: ECodeNotFound, Message: "No such customer.", Err: err}
			}
			return err
		}
		before := c.LastPurchaseAt
		changed = fn(&c, now)
		if !changed && c.LastPurchaseAt.Equal(before) {
			return nil
		}
		return PutCustomer(tx, &c)
	})
	return changed, err
}
