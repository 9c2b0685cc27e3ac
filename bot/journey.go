package bot

import "time"

// JourneyRules decide how evidence moves a customer between stages. The
// zero value is the documented default. Every rule lives here so the README
// can describe them in one place.
type JourneyRules struct {
	// LapsedAfter is how long without a purchase moves a customer who has
	// bought to lapsed. Default 180 days.
	LapsedAfter time.Duration
}

func (r JourneyRules) lapsedAfter() time.Duration {
	if r.LapsedAfter > 0 {
		return r.LapsedAfter
	}
	return 180 * 24 * time.Hour
}

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

// Start is the stage of a new customer.
func (r JourneyRules) Start() Stage { return StageAwareness }
