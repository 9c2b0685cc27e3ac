package reports_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/bot/bottest"
	"github.com/frontdesk-chat/frontdesk/store"
)

// The scripted journeys run from Monday 2026-11-02 to Wednesday 2026-11-04;
// reports cover [reportSince, reportUntil).
var (
	day1        = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	reportSince = day1
	reportUntil = day1.Add(72 * time.Hour)
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// set moves the clock forward to day d (1-based) at hh:mm.
func (c *clock) set(tb testing.TB, d, hh, mm int) {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	t := day1.Add(time.Duration(d-1)*24*time.Hour + time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
	if t.Before(c.t) {
		tb.Fatalf("clock going back from %v to %v", c.t, t)
	}
	c.t = t
}

// orderFlow is a stand-in for the orders flow: order A1 was just placed
// (post-purchase), B2 is a repeat order (loyalty).
type orderFlow struct{ now func() time.Time }

func (f orderFlow) Step(_ context.Context, req bot.FlowRequest) (bot.FlowReply, error) {
	for _, n := range req.Prediction.Entities.OrderNumbers {
		switch n {
		case "A1":
			return bot.FlowReply{Messages: []bot.Message{{Text: "Order A1 was delivered yesterday."}}, Stage: bot.StagePostPurchase,
				StageReason: "order delivered", Evidence: "A***", OrderNumber: "A1", PurchasedAt: f.now(), Outcome: bot.TurnAnswered}, nil
		case "B2":
			return bot.FlowReply{Messages: []bot.Message{{Text: "Order B2 is on its way."}}, Stage: bot.StageLoyalty,
				StageReason: "repeat order", Evidence: "B***", OrderNumber: "B2", Outcome: bot.TurnAnswered}, nil
		}
	}
	return bot.FlowReply{Messages: []bot.Message{{Text: "What is your order number?"}}, State: &bot.FlowState{Name: bot.ActionTrackOrder, Step: "ask"}}, nil
}

func confident(id string) bot.Prediction {
	return bot.Prediction{Intent: id, Confidence: 0.95, Verdict: bot.Confident, Alternatives: []bot.Scored{{Intent: id, Confidence: 0.95}}, Language: "en"}
}

func withOrder(p bot.Prediction, n string) bot.Prediction {
	p.Entities.OrderNumbers = []string{n}
	return p
}

// world is a real engine over a real bbolt store with a fake clock.
type world struct {
	store  *store.DB
	engine *bot.Engine
	clock  *clock
	convs  map[string]string // customer name → conversation id
	cust   map[string]string // customer name → customer id
	who    map[string]bot.Inbound
	closed []string // contact ids closed and not yet offered surveys
	mu     sync.Mutex
}

var ann = bot.Agent{ID: "ann", Name: "Ann"}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(tb.TempDir(), "t.db"), NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	w := &world{store: db, clock: &clock{t: day1}, convs: map[string]string{}, cust: map[string]string{}}
	w.engine = bot.NewEngine(db, bot.Config{Now: w.clock.Now, Journey: bot.JourneyRules{LapsedAfter: 24 * time.Hour}})
	topics := []bot.Topic{
		{ID: "who", Stage: bot.StageAwareness, Answer: "We sell outdoor gear."},
		{ID: "shipping", Stage: bot.StageConsideration, Answer: "Delivery takes 2-3 days."},
		{ID: "pay", Stage: bot.StagePurchase, Answer: "We take cards and PayPal."},
		{ID: "returns", Stage: bot.StagePostPurchase, Answer: "Returns are free for 30 days."},
		{ID: "track", Stage: bot.StagePostPurchase, Action: bot.ActionTrackOrder},
		{ID: "human", Stage: bot.StageAwareness, Action: bot.ActionHandoff},
	}
	cls := &bottest.Classifier{Script: map[string]bot.Prediction{
		"who are you":            confident("who"),
		"how long is shipping?":  confident("shipping"),
		"can I pay with paypal?": confident("pay"),
		"how do I return?":       confident("returns"),
		"where is my order A1":   withOrder(confident("track"), "A1"),
		"where is my order B2":   withOrder(confident("track"), "B2"),
		"get me a human":         confident("human"),
	}}
	w.engine.SetKnowledge(bot.NewKnowledge(topics, cls))
	w.engine.SetFlow(bot.ActionTrackOrder, orderFlow{now: w.clock.Now})
	for _, ch := range []bot.Channel{bot.ChannelWeb, bot.ChannelSlack, bot.ChannelDiscord} {
		w.engine.Register(ch, &bottest.Sender{})
	}
	w.engine.Subscribe(func(ev bot.Event) {
		if ev.Kind == bot.EventContactClose {
			w.mu.Lock()
			w.closed = append(w.closed, ev.Contact.ID)
			w.mu.Unlock()
		}
	})
	w.who = map[string]bot.Inbound{
		"ada": {Channel: bot.ChannelWeb, UserID: "v:ada"},
		"ben": {Channel: bot.ChannelWeb, UserID: "v:ben"},
		"cal": {Channel: bot.ChannelWeb, UserID: "v:cal"},
		"dee": {Channel: bot.ChannelWeb, UserID: "v:dee"},
		"eve": {Channel: bot.ChannelWeb, UserID: "v:eve"},
		"fay": {Channel: bot.ChannelSlack, UserID: "T1:U1", Profile: &bot.Profile{Name: "Fay"}},
		"gus": {Channel: bot.ChannelDiscord, UserID: "9001"},
		"hal": {Channel: bot.ChannelWeb, UserID: "v:hal"},
	}
	return w
}

func (w *world) say(tb testing.TB, name, text string) {
	tb.Helper()
	w.send(tb, name, text, "")
}

func (w *world) click(tb testing.TB, name, choice string) {
	tb.Helper()
	_, label, _ := strings.Cut(choice, ":")
	w.send(tb, name, label, choice)
}

func (w *world) send(tb testing.TB, name, text, choice string) {
	tb.Helper()
	in := w.who[name]
	in.Text, in.Choice = text, choice
	rc, err := w.engine.Handle(context.Background(), in)
	if err != nil {
		tb.Fatalf("%s: %q: %v", name, text, err)
	}
	w.convs[name], w.cust[name] = rc.ConversationID, rc.CustomerID
}

// sweep closes idle contacts and offers their surveys, as the server does.
func (w *world) sweep(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	if _, err := w.engine.CloseIdle(ctx, w.clock.Now()); err != nil {
		tb.Fatal(err)
	}
	w.offer(tb)
}

func (w *world) offer(tb testing.TB) {
	tb.Helper()
	w.mu.Lock()
	ids := w.closed
	w.closed = nil
	w.mu.Unlock()
	for _, id := range ids {
		if _, err := w.engine.OfferSurvey(context.Background(), id); err != nil {
			tb.Fatal(err)
		}
	}
}

func (w *world) agent(tb testing.TB, name string, claim, reply, resolve [2]int, d int) {
	tb.Helper()
	ctx := context.Background()
	conv := w.convs[name]
	w.clock.set(tb, d, claim[0], claim[1])
	if _, err := w.engine.Claim(ctx, conv, ann); err != nil {
		tb.Fatal(err)
	}
	w.clock.set(tb, d, reply[0], reply[1])
	if _, err := w.engine.Reply(ctx, conv, ann, "Let me help you with that."); err != nil {
		tb.Fatal(err)
	}
	w.clock.set(tb, d, resolve[0], resolve[1])
	if err := w.engine.Resolve(ctx, conv, ann); err != nil {
		tb.Fatal(err)
	}
	w.offer(tb)
}

// scriptJourneys plays the eight customers' journeys (see the table in
// TestReport_ScriptedJourneys). Every stage is visited.
func scriptJourneys(tb testing.TB, w *world) {
	c := w.clock
	// Day 1.
	c.set(tb, 1, 9, 0)
	w.say(tb, "ada", "who are you")
	w.say(tb, "ben", "how long is shipping?")
	c.set(tb, 1, 9, 31)
	w.sweep(tb)
	c.set(tb, 1, 9, 32)
	w.click(tb, "ada", "csat:4")
	w.click(tb, "ben", "csat:5")
	c.set(tb, 1, 11, 0)
	w.say(tb, "cal", "can I pay with paypal?")
	c.set(tb, 1, 11, 31)
	w.sweep(tb) // Cal never answers this one
	c.set(tb, 1, 12, 0)
	w.say(tb, "dee", "where is my order B2")
	c.set(tb, 1, 12, 31)
	w.sweep(tb)
	c.set(tb, 1, 12, 32)
	w.click(tb, "dee", "csat:4")
	c.set(tb, 1, 12, 33)
	w.click(tb, "dee", "nps:7")
	c.set(tb, 1, 14, 0)
	w.say(tb, "cal", "do you take bitcoin")
	c.set(tb, 1, 14, 31)
	w.sweep(tb)
	c.set(tb, 1, 15, 0)
	w.say(tb, "eve", "where is my order B2")
	c.set(tb, 1, 15, 31)
	w.sweep(tb)
	c.set(tb, 1, 15, 32)
	w.click(tb, "eve", "csat:5")
	c.set(tb, 1, 15, 33)
	w.click(tb, "eve", "nps:10")
	c.set(tb, 1, 16, 0)
	w.say(tb, "fay", "where is my order B2")
	c.set(tb, 1, 16, 31)
	w.sweep(tb)
	c.set(tb, 1, 16, 32)
	w.click(tb, "fay", "csat:2")
	c.set(tb, 1, 16, 33)
	w.click(tb, "fay", "nps:3")

	// Day 2.
	c.set(tb, 2, 9, 0)
	w.say(tb, "cal", "where is my order A1")
	c.set(tb, 2, 9, 31)
	w.sweep(tb)
	c.set(tb, 2, 9, 32)
	w.click(tb, "cal", "csat:2")
	c.set(tb, 2, 10, 0)
	w.say(tb, "ben", "do you ship to mars")
	c.set(tb, 2, 10, 1)
	w.say(tb, "ben", "do you ship to mars please") // second miss: escalates
	w.agent(tb, "ben", [2]int{10, 5}, [2]int{10, 9}, [2]int{10, 31}, 2)
	c.set(tb, 2, 10, 32)
	w.say(tb, "ben", "3") // typed right after the CSAT question
	c.set(tb, 2, 10, 33)
	w.click(tb, "ben", "ces:5")
	c.set(tb, 2, 13, 0)
	if n, err := w.engine.SweepLapsed(context.Background(), c.Now()); err != nil || n != 1 {
		tb.Fatalf("lapsed sweep moved %d, %v; want Dee only", n, err)
	}
	c.set(tb, 2, 14, 0)
	w.say(tb, "dee", "how long is shipping?")
	c.set(tb, 2, 14, 31)
	w.sweep(tb)
	c.set(tb, 2, 16, 0)
	w.say(tb, "hal", "is there a discount")
	c.set(tb, 2, 16, 31)
	w.sweep(tb)

	// Day 3.
	c.set(tb, 3, 9, 0)
	w.say(tb, "cal", "how do I return?")
	c.set(tb, 3, 9, 31)
	w.sweep(tb)
	c.set(tb, 3, 10, 0)
	w.say(tb, "eve", "how do I return?")
	c.set(tb, 3, 10, 31)
	w.sweep(tb)
	c.set(tb, 3, 11, 0)
	w.say(tb, "fay", "get me a human")
	w.agent(tb, "fay", [2]int{11, 2}, [2]int{11, 4}, [2]int{11, 20}, 3)
	c.set(tb, 3, 11, 21)
	w.click(tb, "fay", "csat:1")
	c.set(tb, 3, 11, 22)
	w.click(tb, "fay", "ces:2")
	c.set(tb, 3, 12, 0)
	w.say(tb, "gus", "get me a human") // nobody claims it
	w.say(tb, "hal", "is there a discount code")
	c.set(tb, 3, 12, 31)
	w.sweep(tb)
}
