package bot_test

import (
	"context"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func day(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func customerAt(s bot.Stage) *bot.Customer { return &bot.Customer{ID: "c1", Stage: s} }

func TestJourneyRules_Topic(t *testing.T) {
	var r bot.JourneyRules
	tests := []struct {
		name  string
		from  bot.Stage
		topic bot.Stage
		want  bot.Stage
	}{
		{"awareness moves to consideration", bot.StageAwareness, bot.StageConsideration, bot.StageConsideration},
		{"awareness moves to purchase", bot.StageAwareness, bot.StagePurchase, bot.StagePurchase},
		{"consideration moves to purchase", bot.StageConsideration, bot.StagePurchase, bot.StagePurchase},
		{"consideration never moves back", bot.StageConsideration, bot.StageAwareness, bot.StageConsideration},
		{"post-purchase topic is no evidence of buying", bot.StageAwareness, bot.StagePostPurchase, bot.StageAwareness},
		{"buyers are not moved by topics", bot.StagePostPurchase, bot.StagePurchase, bot.StagePostPurchase},
		{"loyal customers are not moved by topics", bot.StageLoyalty, bot.StageConsideration, bot.StageLoyalty},
		{"lapsed returns as a prospect at awareness", bot.StageLapsed, bot.StageAwareness, bot.StageAwareness},
		{"lapsed returns as a prospect at consideration", bot.StageLapsed, bot.StageConsideration, bot.StageConsideration},
		{"lapsed asking post-purchase stays lapsed", bot.StageLapsed, bot.StagePostPurchase, bot.StageLapsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := customerAt(tt.from)
			changed := r.AfterTopic(c, bot.Topic{ID: "topic", Stage: tt.topic}, t0)
			if c.Stage != tt.want || changed != (tt.want != tt.from) {
				t.Fatalf("stage %s changed %v, want %s", c.Stage, changed, tt.want)
			}
			if changed {
				h := c.StageHistory[len(c.StageHistory)-1]
				if h.From != tt.from || h.To != tt.want || !h.At.Equal(t0) || h.Reason != "asked about topic" || h.Evidence != "topic" {
					t.Fatalf("history %+v", h)
				}
			}
		})
	}
}

func TestJourneyRules_Order(t *testing.T) {
	var r bot.JourneyRules
	tests := []struct {
		name        string
		from, order bot.Stage
		purchasedAt time.Time
		want        bot.Stage
	}{
		{"prospect buying moves to purchase", bot.StageConsideration, bot.StagePurchase, time.Time{}, bot.StagePurchase},
		{"purchase to post-purchase", bot.StagePurchase, bot.StagePostPurchase, time.Time{}, bot.StagePostPurchase},
		{"post-purchase to loyalty", bot.StagePostPurchase, bot.StageLoyalty, time.Time{}, bot.StageLoyalty},
		{"never backwards", bot.StageLoyalty, bot.StagePostPurchase, time.Time{}, bot.StageLoyalty},
		{"advocates stay advocates", bot.StageAdvocacy, bot.StageLoyalty, time.Time{}, bot.StageAdvocacy},
		{"lapsed with a new order returns", bot.StageLapsed, bot.StagePostPurchase, t0.Add(-day(3)), bot.StagePostPurchase},
		{"lapsed tracking an old order stays lapsed", bot.StageLapsed, bot.StagePostPurchase, t0.Add(-day(400)), bot.StageLapsed},
		{"a pre-purchase stage is no order evidence", bot.StageAwareness, bot.StageConsideration, time.Time{}, bot.StageAwareness},
		{"a newcomer proving only an old order is an ex-customer", bot.StageAwareness, bot.StagePostPurchase, t0.Add(-day(240)), bot.StageLapsed},
		{"a loyal customer whose newest order is old lapses", bot.StageLoyalty, bot.StageLoyalty, t0.Add(-day(365)), bot.StageLapsed},
		{"invalid stages are ignored", bot.StageAwareness, bot.Stage("bogus"), time.Time{}, bot.StageAwareness},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := customerAt(tt.from)
			r.AfterOrder(c, tt.order, "order delivered", "A1***", tt.purchasedAt, t0)
			if c.Stage != tt.want {
				t.Fatalf("stage %s, want %s", c.Stage, tt.want)
			}
			if !c.LastPurchaseAt.Equal(tt.purchasedAt) {
				t.Fatalf("last purchase %v, want %v", c.LastPurchaseAt, tt.purchasedAt)
			}
		})
	}
	t.Run("last purchase only moves forward", func(t *testing.T) {
		c := customerAt(bot.StageLoyalty)
		r.AfterOrder(c, bot.StageLoyalty, "", "", t0, t0)
		r.AfterOrder(c, bot.StageLoyalty, "", "", t0.Add(-day(9)), t0)
		if !c.LastPurchaseAt.Equal(t0) {
			t.Fatalf("last purchase %v", c.LastPurchaseAt)
		}
	})
}

func TestJourneyRules_Advocacy(t *testing.T) {
	tests := []struct {
		name  string
		rules bot.JourneyRules
		from  bot.Stage
		kind  bot.SurveyKind
		score int
		want  bot.Stage
	}{
		{"loyal promoter NPS 9 advocates", bot.JourneyRules{}, bot.StageLoyalty, bot.SurveyNPS, 9, bot.StageAdvocacy},
		{"loyal NPS 10 advocates", bot.JourneyRules{}, bot.StageLoyalty, bot.SurveyNPS, 10, bot.StageAdvocacy},
		{"loyal passive NPS 8 stays", bot.JourneyRules{}, bot.StageLoyalty, bot.SurveyNPS, 8, bot.StageLoyalty},
		{"loyal CSAT 5 advocates", bot.JourneyRules{}, bot.StageLoyalty, bot.SurveyCSAT, 5, bot.StageAdvocacy},
		{"loyal CSAT 4 stays", bot.JourneyRules{}, bot.StageLoyalty, bot.SurveyCSAT, 4, bot.StageLoyalty},
		{"CES never advocates", bot.JourneyRules{}, bot.StageLoyalty, bot.SurveyCES, 7, bot.StageLoyalty},
		{"post-purchase NPS 10 is not loyal yet", bot.JourneyRules{}, bot.StagePostPurchase, bot.SurveyNPS, 10, bot.StagePostPurchase},
		{"configured CSAT threshold 4", bot.JourneyRules{AdvocacyCSAT: 4}, bot.StageLoyalty, bot.SurveyCSAT, 4, bot.StageAdvocacy},
		{"NPS threshold above 10 disables", bot.JourneyRules{AdvocacyNPS: 11}, bot.StageLoyalty, bot.SurveyNPS, 10, bot.StageLoyalty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := customerAt(tt.from)
			tt.rules.AfterRating(c, tt.kind, tt.score, "contact1", t0)
			if c.Stage != tt.want {
				t.Fatalf("stage %s, want %s", c.Stage, tt.want)
			}
		})
	}
	t.Run("referral from a loyal customer advocates", func(t *testing.T) {
		c := customerAt(bot.StageLoyalty)
		if !(bot.JourneyRules{}).AfterReferral(c, "ref-1", t0) || c.Stage != bot.StageAdvocacy || c.StageHistory[0].Reason != "referral" {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("referral from a prospect does nothing", func(t *testing.T) {
		c := customerAt(bot.StageConsideration)
		if (bot.JourneyRules{}).AfterReferral(c, "ref-1", t0) || c.Stage != bot.StageConsideration {
			t.Fatalf("%+v", c)
		}
	})
}

func TestJourneyRules_Lapse(t *testing.T) {
	bought := func(s bot.Stage, at time.Time) *bot.Customer {
		c := customerAt(bot.StageConsideration)
		c.MoveTo(bot.StagePurchase, at, "order", "")
		if s != bot.StagePurchase {
			c.MoveTo(s, at.Add(day(2)), "order", "")
		}
		return c
	}
	tests := []struct {
		name  string
		rules bot.JourneyRules
		c     *bot.Customer
		now   time.Time
		want  bot.Stage
	}{
		{"loyal after 180 days without purchase lapses", bot.JourneyRules{}, bought(bot.StageLoyalty, t0), t0.Add(day(180)), bot.StageLapsed},
		{"loyal after 179 days stays", bot.JourneyRules{}, bought(bot.StageLoyalty, t0), t0.Add(day(179)), bot.StageLoyalty},
		{"advocates lapse too", bot.JourneyRules{}, bought(bot.StageAdvocacy, t0), t0.Add(day(200)), bot.StageLapsed},
		{"configured 30 days", bot.JourneyRules{LapsedAfter: day(30)}, bought(bot.StagePostPurchase, t0), t0.Add(day(31)), bot.StageLapsed},
		{"prospects never lapse", bot.JourneyRules{}, customerAt(bot.StageConsideration), t0.Add(day(999)), bot.StageConsideration},
		{"a recorded later purchase counts", bot.JourneyRules{}, func() *bot.Customer {
			c := bought(bot.StageLoyalty, t0)
			c.LastPurchaseAt = t0.Add(day(100))
			return c
		}(), t0.Add(day(200)), bot.StageLoyalty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rules.Lapse(tt.c, tt.now)
			if tt.c.Stage != tt.want {
				t.Fatalf("stage %s, want %s", tt.c.Stage, tt.want)
			}
		})
	}
}

func TestJourneyRules_MergedStage(t *testing.T) {
	var r bot.JourneyRules
	tests := []struct{ a, b, want bot.Stage }{
		{bot.StageAwareness, bot.StageLoyalty, bot.StageLoyalty},
		{bot.StageAdvocacy, bot.StageConsideration, bot.StageAdvocacy},
		{bot.StageLapsed, bot.StageConsideration, bot.StageConsideration},
		{bot.StageLapsed, bot.StageLapsed, bot.StageLapsed},
	}
	for _, tt := range tests {
		if got := r.MergedStage(tt.a, tt.b); got != tt.want {
			t.Errorf("MergedStage(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestEngine_SweepLapsedAndRecordOrder(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	rc := h.MustSay(t, "v:buyer", "how long is shipping?")
	if _, err := h.engine.RecordOrder(ctx, rc.CustomerID, bot.StageLoyalty, "second order", "A2***", h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	h.MustSay(t, "v:prospect", "who are you")
	if n, err := h.engine.SweepLapsed(ctx, h.clock.Now().Add(day(179))); err != nil || n != 0 {
		t.Fatalf("early sweep moved %d, %v", n, err)
	}
	n, err := h.engine.SweepLapsed(ctx, h.clock.Now().Add(day(181)))
	if err != nil || n != 1 {
		t.Fatalf("sweep moved %d, %v", n, err)
	}
	rec, err := h.engine.CustomerByID(ctx, rc.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	got := []bot.Stage{}
	for _, ch := range rec.Customer.StageHistory {
		got = append(got, ch.To)
	}
	want := []bot.Stage{bot.StageConsideration, bot.StageLoyalty, bot.StageLapsed}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("history %v, want %v", got, want)
	}
	// A lapsed customer who returns starts again as a prospect.
	h.MustSay(t, "v:buyer", "how long is shipping?")
	if rec, _ := h.engine.CustomerByID(ctx, rc.CustomerID); rec.Customer.Stage != bot.StageConsideration {
		t.Fatalf("returning lapsed customer at %s", rec.Customer.Stage)
	}
}
