package bot_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

func TestSurveyPlan(t *testing.T) {
	now := t0
	closed := func(o bot.Outcome) bot.Contact {
		return bot.Contact{ID: "k", StartedAt: now.Add(-time.Hour), EndedAt: now, Outcome: o}
	}
	never := func(bot.SurveyKind) time.Time { return time.Time{} }
	npsAt := func(at time.Time) func(bot.SurveyKind) time.Time {
		return func(k bot.SurveyKind) time.Time {
			if k == bot.SurveyNPS {
				return at
			}
			return time.Time{}
		}
	}
	tests := []struct {
		name    string
		cfg     bot.SurveyConfig
		contact bot.Contact
		stage   bot.Stage
		last    func(bot.SurveyKind) time.Time
		want    []bot.SurveyKind
	}{
		{"bot resolved gets CSAT", bot.SurveyConfig{}, closed(bot.OutcomeBotResolved), bot.StageAwareness, never, []bot.SurveyKind{bot.SurveyCSAT}},
		{"agent resolved gets CSAT then CES", bot.SurveyConfig{}, closed(bot.OutcomeAgentResolved), bot.StagePurchase, never, []bot.SurveyKind{bot.SurveyCSAT, bot.SurveyCES}},
		{"abandoned gets nothing", bot.SurveyConfig{}, closed(bot.OutcomeAbandoned), bot.StageLoyalty, never, nil},
		{"waiting gets nothing", bot.SurveyConfig{}, closed(bot.OutcomeWaiting), bot.StageLoyalty, never, nil},
		{"open contact gets nothing", bot.SurveyConfig{}, bot.Contact{Outcome: bot.OutcomeOpen}, bot.StageLoyalty, never, nil},
		{"loyal gets NPS after CSAT", bot.SurveyConfig{}, closed(bot.OutcomeBotResolved), bot.StageLoyalty, never, []bot.SurveyKind{bot.SurveyCSAT, bot.SurveyNPS}},
		{"loyal asked 89 days ago gets no NPS", bot.SurveyConfig{}, closed(bot.OutcomeBotResolved), bot.StageLoyalty, npsAt(now.Add(-day(89))), []bot.SurveyKind{bot.SurveyCSAT}},
		{"loyal asked 90 days ago gets NPS", bot.SurveyConfig{}, closed(bot.OutcomeBotResolved), bot.StageLoyalty, npsAt(now.Add(-day(90))), []bot.SurveyKind{bot.SurveyCSAT, bot.SurveyNPS}},
		{"configured NPS period", bot.SurveyConfig{NPSEvery: day(30)}, closed(bot.OutcomeBotResolved), bot.StageLoyalty, npsAt(now.Add(-day(31))), []bot.SurveyKind{bot.SurveyCSAT, bot.SurveyNPS}},
		{"advocate without review URL gets CSAT only", bot.SurveyConfig{}, closed(bot.OutcomeBotResolved), bot.StageAdvocacy, never, []bot.SurveyKind{bot.SurveyCSAT}},
		{"advocate gets the review link", bot.SurveyConfig{ReviewURL: "https://shop.example/review"}, closed(bot.OutcomeBotResolved), bot.StageAdvocacy, never, []bot.SurveyKind{bot.SurveyCSAT, bot.SurveyReview}},
		{"disabled gets nothing", bot.SurveyConfig{Disabled: true}, closed(bot.OutcomeAgentResolved), bot.StageLoyalty, never, nil},
		{"CSAT off leaves CES", bot.SurveyConfig{NoCSAT: true}, closed(bot.OutcomeAgentResolved), bot.StagePurchase, never, []bot.SurveyKind{bot.SurveyCES}},
		{"CES off", bot.SurveyConfig{NoCES: true}, closed(bot.OutcomeAgentResolved), bot.StagePurchase, never, []bot.SurveyKind{bot.SurveyCSAT}},
		{"NPS off", bot.SurveyConfig{NoNPS: true}, closed(bot.OutcomeBotResolved), bot.StageLoyalty, never, []bot.SurveyKind{bot.SurveyCSAT}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.SurveyPlan(tt.contact, tt.stage, tt.last, now)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("plan %v, want %v", got, tt.want)
			}
		})
	}
}

// events records engine events of some kinds.
type events struct {
	mu  sync.Mutex
	evs []bot.Event
}

func (r *events) record(e *bot.Engine, kinds ...bot.EventKind) {
	e.Subscribe(func(ev bot.Event) {
		if slices.Contains(kinds, ev.Kind) {
			r.mu.Lock()
			r.evs = append(r.evs, ev)
			r.mu.Unlock()
		}
	})
}

func (r *events) all() []bot.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

// closeIdle moves the clock past the idle time and sweeps.
func (h *harness) closeIdle(t *testing.T) int {
	t.Helper()
	h.clock.Add(31 * time.Minute)
	n, err := h.engine.CloseIdle(context.Background(), h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (h *harness) contact(t *testing.T, convID string) bot.Contact {
	t.Helper()
	v, err := h.engine.View(context.Background(), convID)
	if err != nil {
		t.Fatal(err)
	}
	return v.Contact
}

func lastSent(t *testing.T, h *harness) bot.Message {
	t.Helper()
	s, ok := h.sender.Last()
	if !ok {
		t.Fatal("nothing sent")
	}
	return s.Message
}

func TestSurvey_BotResolvedCSATAnsweredByClick(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	var rec events
	rec.record(h.engine, bot.EventSurveyAnswered, bot.EventContactClose)
	rc := h.MustSay(t, "v:1", "how long is shipping?")
	if n := h.closeIdle(t); n != 1 {
		t.Fatalf("closed %d contacts", n)
	}
	c := h.contact(t, rc.ConversationID)
	if c.Outcome != bot.OutcomeBotResolved || c.Open() {
		t.Fatalf("contact %+v", c)
	}
	plan, err := h.engine.OfferSurvey(ctx, c.ID)
	if err != nil || !slices.Equal(plan, []bot.SurveyKind{bot.SurveyCSAT}) {
		t.Fatalf("plan %v, %v", plan, err)
	}
	q := lastSent(t, h)
	if len(q.Choices) != 5 || q.Choices[0].Value != "csat:1" || q.Choices[4].Value != "csat:5" || q.Data["survey"] != "csat" {
		t.Fatalf("question %+v", q)
	}
	// Offering again does nothing: a contact is surveyed once.
	h.sender.Reset()
	if plan, err := h.engine.OfferSurvey(ctx, c.ID); err != nil || plan != nil || len(h.sender.Sent) != 0 {
		t.Fatalf("second offer %v %v %d", plan, err, len(h.sender.Sent))
	}

	h.clock.Add(2 * time.Hour)
	ans := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "4", Choice: "csat:4"})
	if ans.ConversationID != rc.ConversationID {
		t.Fatalf("answer in conversation %s", ans.ConversationID)
	}
	after := h.contact(t, rc.ConversationID)
	if after.ID != c.ID {
		t.Fatalf("the answer started a new contact %s", after.ID)
	}
	if after.Ratings["csat"] != 4 || len(after.Turns) != len(c.Turns) {
		t.Fatalf("ratings %v turns %d", after.Ratings, len(after.Turns))
	}
	if got := lastSent(t, h).Text; got != h.engine.Surveys().ThanksText {
		t.Fatalf("reply %q", got)
	}
	var answered []bot.Event
	for _, ev := range rec.all() {
		if ev.Kind == bot.EventSurveyAnswered {
			answered = append(answered, ev)
		}
	}
	if len(answered) != 1 || answered[0].Message.Data["score"] != "4" || answered[0].Contact.ID != c.ID {
		t.Fatalf("answered events %+v", answered)
	}
	// The survey is done: a typed number now is an ordinary message.
	h.MustSay(t, "v:1", "5")
	if got := h.contact(t, rc.ConversationID); got.ID == c.ID || got.Ratings != nil {
		t.Fatalf("typed number after the survey: contact %s ratings %v", got.ID, got.Ratings)
	}
}

func TestSurvey_NeverOnAbandoned(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	rc := h.MustSay(t, "v:1", "do you sell unicorns")
	h.closeIdle(t)
	c := h.contact(t, rc.ConversationID)
	if c.Outcome != bot.OutcomeAbandoned {
		t.Fatalf("outcome %s", c.Outcome)
	}
	h.sender.Reset()
	plan, err := h.engine.OfferSurvey(ctx, c.ID)
	if err != nil || plan != nil || len(h.sender.Sent) != 0 {
		t.Fatalf("plan %v err %v sent %v", plan, err, h.sender.Texts())
	}
}

func TestSurvey_AgentResolvedAsksCSATThenCES(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	agent := bot.Agent{ID: "ann", Name: "Ann"}
	rc := h.MustSay(t, "v:1", "get me a human")
	if _, err := h.engine.Claim(ctx, rc.ConversationID, agent); err != nil {
		t.Fatal(err)
	}
	if _, err := h.engine.Reply(ctx, rc.ConversationID, agent, "Hi, how can I help?"); err != nil {
		t.Fatal(err)
	}
	if err := h.engine.Resolve(ctx, rc.ConversationID, agent); err != nil {
		t.Fatal(err)
	}
	c := h.contact(t, rc.ConversationID)
	plan, err := h.engine.OfferSurvey(ctx, c.ID)
	if err != nil || !slices.Equal(plan, []bot.SurveyKind{bot.SurveyCSAT, bot.SurveyCES}) {
		t.Fatalf("plan %v %v", plan, err)
	}
	// A typed number right after the question answers it.
	h.MustSay(t, "v:1", "5")
	q := lastSent(t, h)
	if q.Data["survey"] != "ces" || len(q.Choices) != 7 {
		t.Fatalf("next question %+v", q)
	}
	h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "6", Choice: "ces:6"})
	got := h.contact(t, rc.ConversationID)
	if got.ID != c.ID || got.Ratings["csat"] != 5 || got.Ratings["ces"] != 6 {
		t.Fatalf("contact %s ratings %v", got.ID, got.Ratings)
	}
	// A stale or foreign button is not an answer.
	h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "3", Choice: "ces:3"})
	if got := h.contact(t, rc.ConversationID); got.ID == c.ID {
		t.Fatal("a click after the survey ended was taken as an answer")
	}
}

func TestSurvey_LoyalNPSOncePerPeriodAndAdvocacy(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.engine.SetSurveys(bot.SurveyConfig{ReviewURL: "https://shop.example/review"})
	rc := h.MustSay(t, "v:1", "how long is shipping?")
	if _, err := h.engine.RecordOrder(ctx, rc.CustomerID, bot.StageLoyalty, "repeat order", "", h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	h.closeIdle(t)
	c := h.contact(t, rc.ConversationID)
	plan, err := h.engine.OfferSurvey(ctx, c.ID)
	if err != nil || !slices.Equal(plan, []bot.SurveyKind{bot.SurveyCSAT, bot.SurveyNPS}) {
		t.Fatalf("plan %v %v", plan, err)
	}
	h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "4", Choice: "csat:4"})
	if q := lastSent(t, h); q.Data["survey"] != "nps" || len(q.Choices) != 11 {
		t.Fatalf("NPS question %+v", q)
	}
	h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "10", Choice: "nps:10"})
	rec, err := h.engine.CustomerByID(ctx, rc.CustomerID)
	if err != nil || rec.Customer.Stage != bot.StageAdvocacy {
		t.Fatalf("stage %s %v", rec.Customer.Stage, err)
	}
	if last := rec.Customer.StageHistory[len(rec.Customer.StageHistory)-1]; last.Reason != "nps 10" || last.Evidence != c.ID {
		t.Fatalf("stage change %+v", last)
	}

	// Next contact, ten days later: an advocate gets CSAT and the review
	// link, and no NPS (asked ten days ago).
	h.clock.Add(day(10))
	h.MustSay(t, "v:1", "how long is shipping?")
	h.closeIdle(t)
	c2 := h.contact(t, rc.ConversationID)
	plan, err = h.engine.OfferSurvey(ctx, c2.ID)
	if err != nil || !slices.Equal(plan, []bot.SurveyKind{bot.SurveyCSAT, bot.SurveyReview}) {
		t.Fatalf("plan %v %v", plan, err)
	}
	h.sender.Reset()
	h.MustSay(t, "v:1", "5")
	texts := h.sender.Texts()
	if len(texts) != 2 || lastSent(t, h).Data["url"] != "https://shop.example/review" {
		t.Fatalf("after the last answer: %q", texts)
	}
}

func TestSurvey_NoneWhenTheCustomerMovedOn(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	rc := h.MustSay(t, "v:1", "how long is shipping?")
	first := h.contact(t, rc.ConversationID)
	h.clock.Add(40 * time.Minute)
	h.MustSay(t, "v:1", "who are you") // closes the first contact, starts another
	if plan, err := h.engine.OfferSurvey(ctx, first.ID); err != nil || plan != nil {
		t.Fatalf("plan %v %v", plan, err)
	}
}

func TestJourneyWorker_OffersSurveysOnClose(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newHarness(t)
	w := bot.NewJourneyWorker(h.engine, 0)
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	h.MustSay(t, "v:1", "how long is shipping?")
	h.closeIdle(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if s, ok := h.sender.Last(); ok && s.Message.Data["survey"] == "csat" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no survey sent: %q", h.sender.Texts())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
