package bot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/bot/bottest"
)

// ordClock is a settable time source.
type ordClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *ordClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *ordClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// ordSource is a hand-written order source: orders by number, optionally
// listing by email, or failing with err.
type ordSource struct {
	mu     sync.Mutex
	orders map[string]bot.Order
	err    error
	calls  int
}

func (s *ordSource) Order(_ context.Context, number string) (bot.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return bot.Order{}, s.err
	}
	o, ok := s.orders[number]
	if !ok {
		return bot.Order{}, bot.ErrOrderNotFound
	}
	return o, nil
}

// ordListingSource can also list by email.
type ordListingSource struct{ *ordSource }

func (s ordListingSource) Orders(_ context.Context, email string) ([]bot.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []bot.Order
	for _, o := range s.orders {
		if o.Email == email {
			out = append(out, o)
		}
	}
	return out, nil
}

var (
	ordEmailRE = regexp.MustCompile(`[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}`)
	ordNumRE   = regexp.MustCompile(`(?i)#?\b([a-z]\d{4})\b`)
	ordPostRE  = regexp.MustCompile(`(?i)\b[a-z]{1,2}\d[a-z\d]? ?\d[a-z]{2}\b`)
)

// ordClassifier scripts intents by exact text and finds entities the way
// the intent router does: order numbers upper-case without '#', emails
// lower-case, postcodes upper-case; an order number alone means tracking.
type ordClassifier struct{ script map[string]bot.Prediction }

func (c ordClassifier) Classify(_ context.Context, text string) (bot.Prediction, error) {
	p, ok := c.script[text]
	if !ok {
		p = bot.Prediction{Verdict: bot.Unknown, Language: "en"}
	}
	lower := strings.ToLower(text)
	p.Entities.Emails = ordEmailRE.FindAllString(lower, -1)
	for _, m := range ordNumRE.FindAllStringSubmatch(text, -1) {
		p.Entities.OrderNumbers = append(p.Entities.OrderNumbers, strings.ToUpper(m[1]))
	}
	if len(p.Entities.OrderNumbers) == 0 {
		for _, m := range ordPostRE.FindAllString(text, -1) {
			p.Entities.Postcodes = append(p.Entities.Postcodes, strings.ToUpper(m))
		}
	} else if p.Verdict != bot.Confident {
		// Like the intent router: an order number means "track my order"
		// unless the message is confidently about something else.
		p.Intent, p.Confidence, p.Verdict = "track-order", 0.5, bot.Confident
	}
	return p, nil
}

func ordConfident(id string) bot.Prediction {
	return bot.Prediction{Intent: id, Confidence: 0.9, Verdict: bot.Confident, Alternatives: []bot.Scored{{Intent: id, Confidence: 0.9}}, Language: "en"}
}

var ordTopics = []bot.Topic{
	{ID: "track-order", Title: "Track my order", Stage: bot.StagePostPurchase, Questions: []string{"where is my order"}, Action: bot.ActionTrackOrder},
	{ID: "missing-parcel", Title: "Parcel lost", Stage: bot.StagePostPurchase, Questions: []string{"it never came"}, Answer: "Sorry, passing you on.", Human: true},
	{ID: "returns", Title: "Returns", Stage: bot.StagePostPurchase, Questions: []string{"how do I return"}, Answer: "Returns are free for 30 days."},
}

type ordHarness struct {
	store  *bottest.MemStore
	sender *bottest.Sender
	engine *bot.Engine
	clock  *ordClock
	src    *ordSource
	flow   *bot.OrderFlow
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ordNow is a Monday; A1001's expected delivery is the Wednesday after.
var ordNow = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func ordOrders() map[string]bot.Order {
	return map[string]bot.Order{
		"A1001": {Number: "A1001", Email: "jane@example.com", Postcode: "CA12 5DJ", Status: bot.OrderShipped, Carrier: "Royal Mail",
			TrackingNumber: "RM123456785GB", TrackingURL: "https://track.example/RM123456785GB",
			Items:    []bot.OrderItem{{Name: "Ridgeline Shell Jacket", Quantity: 1}, {Name: "Merino Base Layer", Quantity: 2}},
			PlacedAt: ordNow.AddDate(0, 0, -2), ShippedAt: ordNow.AddDate(0, 0, -1), EstimatedDelivery: ordNow.AddDate(0, 0, 2)},
		"A1002": {Number: "A1002", Email: "tom@example.com", Postcode: "M1 4BT", Status: bot.OrderDelivered, Carrier: "DPD",
			PlacedAt: ordNow.AddDate(0, 0, -9), DeliveredAt: ordNow.AddDate(0, 0, -6)},
		"A1003": {Number: "A1003", Email: "priya@example.com", Status: bot.OrderShipped, Carrier: "Evri",
			PlacedAt: ordNow.AddDate(0, 0, -10), EstimatedDelivery: ordNow.AddDate(0, 0, -3)},
		"A1004": {Number: "A1004", Email: "priya@example.com", Status: bot.OrderDelivered,
			PlacedAt: ordNow.AddDate(0, -2, 0), DeliveredAt: ordNow.AddDate(0, -2, 3)},
		"A1005": {Number: "A1005", Email: "olivia@example.com", Status: bot.OrderDelivered,
			PlacedAt: ordNow.AddDate(0, 0, -240), DeliveredAt: ordNow.AddDate(0, 0, -237)},
	}
}

func newOrdHarness(t *testing.T, listing bool) *ordHarness {
	t.Helper()
	h := &ordHarness{store: bottest.NewMemStore(), sender: &bottest.Sender{}, clock: &ordClock{t: ordNow}, logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.engine = bot.NewEngine(h.store, bot.Config{Now: h.clock.Now, Logger: log})
	h.engine.SetKnowledge(bot.NewKnowledge(ordTopics, ordClassifier{script: map[string]bot.Prediction{
		"where is my order":            ordConfident("track-order"),
		"how do I return":              ordConfident("returns"),
		"it never came":                ordConfident("missing-parcel"),
		"where is my order?":           ordConfident("track-order"),
		"where's order A1001":          ordConfident("track-order"),
		"where is my order? it's late": ordConfident("track-order"),
	}}))
	h.engine.Register(bot.ChannelWeb, h.sender)
	h.src = &ordSource{orders: ordOrders()}
	var src bot.OrderSource = h.src
	if listing {
		src = ordListingSource{h.src}
	}
	h.flow = bot.NewOrderFlow(src, h.store, bot.OrderFlowConfig{Now: h.clock.Now, Logger: log})
	h.engine.SetFlow(bot.ActionTrackOrder, h.flow)
	return h
}

// MustSay sends text as user and returns the bot's replies to it.
func (h *ordHarness) MustSay(t *testing.T, user, text string) []bot.Message {
	t.Helper()
	return h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: user, Text: text})
}

func (h *ordHarness) MustSend(t *testing.T, in bot.Inbound) []bot.Message {
	t.Helper()
	h.sender.Reset()
	if _, err := h.engine.Handle(context.Background(), in); err != nil {
		t.Fatalf("Handle(%q): %v", in.Text, err)
	}
	var out []bot.Message
	for _, s := range h.sender.Sent {
		if s.Message.Role != bot.RoleSystem {
			out = append(out, s.Message)
		}
	}
	return out
}

func (h *ordHarness) MustView(t *testing.T, user string) bot.ConversationView {
	t.Helper()
	conv, _, err := h.engine.History(context.Background(), bot.ChannelWeb, user, "", 1)
	if err != nil || conv.ID == "" {
		t.Fatalf("History(%s): %v %q", user, err, conv.ID)
	}
	v, err := h.engine.View(context.Background(), conv.ID)
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return v
}

func texts(msgs []bot.Message) string {
	var parts []string
	for _, m := range msgs {
		parts = append(parts, m.Text)
	}
	return strings.Join(parts, " | ")
}

func mustOneReply(t *testing.T, msgs []bot.Message) bot.Message {
	t.Helper()
	if len(msgs) != 1 {
		t.Fatalf("got %d replies (%s), want 1", len(msgs), texts(msgs))
	}
	return msgs[0]
}

// The texts the flow uses by default, for comparisons.
var (
	ordAskNumber = "What's your order number?"
	ordAskProof  = "please tell me the email address or the delivery postcode"
	ordNoMatch   = "Sorry, I couldn't find an order matching those details."
	ordLocked    = "For your security I can't look up orders in this chat for a while."
)

func mustContain(t *testing.T, m bot.Message, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(m.Text, s) {
			t.Fatalf("reply %q does not contain %q", m.Text, s)
		}
	}
}

func TestOrderFlow_WholeDialogueAnswersOnlyAfterProof(t *testing.T) {
	h := newOrdHarness(t, false)
	r := mustOneReply(t, h.MustSay(t, "v:jane", "where is my order"))
	mustContain(t, r, ordAskNumber)

	r = mustOneReply(t, h.MustSay(t, "v:jane", "it's A1001"))
	mustContain(t, r, ordAskProof)
	if strings.Contains(r.Text, "Royal Mail") || r.Data != nil {
		t.Fatalf("proof request reveals the order: %+v", r)
	}

	r = mustOneReply(t, h.MustSay(t, "v:jane", "wrong@example.com"))
	mustContain(t, r, ordNoMatch)

	r = mustOneReply(t, h.MustSay(t, "v:jane", "jane@example.com"))
	mustContain(t, r, "Order A1001 is on its way with Royal Mail.", "https://track.example/RM123456785GB", "Expected delivery: Wednesday 4 November.", "2 × Merino Base Layer")
	want := map[string]string{"kind": "order", "order_number": "A1001", "status": "shipped", "carrier": "Royal Mail", "tracking_url": "https://track.example/RM123456785GB", "estimated_delivery": "2026-11-04"}
	for k, v := range want {
		if r.Data[k] != v {
			t.Errorf("card %s = %q, want %q", k, r.Data[k], v)
		}
	}

	v := h.MustView(t, "v:jane")
	if v.Contact.OrderNumber != "A1001" {
		t.Errorf("contact order number = %q, want A1001", v.Contact.OrderNumber)
	}
	if v.Customer.Stage != bot.StagePurchase {
		t.Errorf("stage = %s, want purchase", v.Customer.Stage)
	}
	if n := len(v.Customer.StageHistory); n == 0 || !strings.Contains(v.Customer.StageHistory[n-1].Reason, "not yet delivered") ||
		v.Customer.StageHistory[n-1].Evidence != "order A1***1" {
		t.Errorf("stage history = %+v, want the order's reason and masked evidence", v.Customer.StageHistory)
	}
	if !v.Customer.LastPurchaseAt.Equal(ordNow.AddDate(0, 0, -2)) {
		t.Errorf("last purchase = %v, want the order's date", v.Customer.LastPurchaseAt)
	}
}

func TestOrderFlow_MissingOrderAndWrongProofGetIdenticalReplies(t *testing.T) {
	cases := []struct{ name, first, proof string }{
		{"email", "where's order %s", "%s@example.com"},
		{"postcode", "where's order %s", "SW1A 1AA"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newOrdHarness(t, true)
			ask := func(user, number, proof string) (bot.Message, bot.Message) {
				a := mustOneReply(t, h.MustSay(t, user, fmt.Sprintf("where is my order %s", number)))
				b := mustOneReply(t, h.MustSay(t, user, proof))
				return a, b
			}
			// A1001 exists (wrong proof); Z9999 does not.
			askReal, failReal := ask("v:a", "A1001", strings.ReplaceAll(c.proof, "%s", "mallory"))
			askNone, failNone := ask("v:b", "Z9999", strings.ReplaceAll(c.proof, "%s", "mallory"))
			strip := func(m bot.Message) bot.Message {
				m.ID, m.Seq, m.At, m.ConversationID = "", 0, time.Time{}, ""
				return m
			}
			if !reflect.DeepEqual(strip(askReal), strip(askNone)) {
				t.Errorf("proof requests differ:\n%+v\n%+v", askReal, askNone)
			}
			if !reflect.DeepEqual(strip(failReal), strip(failNone)) {
				t.Errorf("failure replies differ:\n%+v\n%+v", failReal, failNone)
			}
			mustContain(t, failReal, ordNoMatch)
		})
	}
}

func TestOrderFlow_LocksOutAfterRepeatedFailures(t *testing.T) {
	t.Run("per conversation", func(t *testing.T) {
		h := newOrdHarness(t, false)
		h.MustSay(t, "v:m", "where is my order A1001")
		for i := 1; i <= 2; i++ {
			mustContain(t, mustOneReply(t, h.MustSay(t, "v:m", fmt.Sprintf("guess%d@example.com", i))), ordNoMatch)
		}
		r := mustOneReply(t, h.MustSay(t, "v:m", "guess3@example.com"))
		mustContain(t, r, ordLocked)
		if len(r.Choices) != 1 || r.Choices[0].Value != bot.ChoiceHuman {
			t.Fatalf("lockout choices = %+v, want a person", r.Choices)
		}
		// Even the right proof, for another order, is refused now.
		h.MustSay(t, "v:m", "where is my order A1002")
		calls := h.src.calls
		r = mustOneReply(t, h.MustSay(t, "v:m", "tom@example.com"))
		mustContain(t, r, ordLocked)
		if h.src.calls != calls {
			t.Errorf("a locked conversation still looked the order up")
		}
		// The window passes: lookups work again.
		h.clock.Add(time.Hour + time.Minute)
		h.MustSay(t, "v:m", "where is my order A1002")
		mustContain(t, mustOneReply(t, h.MustSay(t, "v:m", "tom@example.com")), "Order A1002 was delivered with DPD")
	})
	t.Run("per order number across conversations", func(t *testing.T) {
		h := newOrdHarness(t, false)
		for i := 1; i <= 3; i++ {
			user := fmt.Sprintf("v:attacker%d", i)
			h.MustSay(t, user, "where is my order A1001")
			h.MustSay(t, user, "guess@example.com")
		}
		// The owner, in a fresh conversation, is offered a person too.
		h.MustSay(t, "v:jane", "where is my order A1001")
		mustContain(t, mustOneReply(t, h.MustSay(t, "v:jane", "jane@example.com")), ordLocked)
		// Other orders are not affected.
		h.MustSay(t, "v:tom", "where is my order A1002")
		mustContain(t, mustOneReply(t, h.MustSay(t, "v:tom", "tom@example.com")), "A1002 was delivered")
	})
}

func TestOrderFlow_VerifiedVisitorSkipsProofOnlyForTheirOwnOrder(t *testing.T) {
	h := newOrdHarness(t, false)
	jane := &bot.Profile{ExternalID: "42", Email: "Jane@Example.com", Verified: true}
	r := mustOneReply(t, h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "u:42", Text: "where's order A1001", Profile: jane}))
	mustContain(t, r, "Order A1001 is on its way")

	// Someone else's order: asked for proof exactly like anyone.
	r = mustOneReply(t, h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "u:42", Text: "and A1002?", Profile: jane}))
	mustContain(t, r, ordAskProof)

	// An unverified profile with the right email proves nothing.
	typed := &bot.Profile{Email: "jane@example.com"}
	r = mustOneReply(t, h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:typed", Text: "where's order A1001", Profile: typed}))
	mustContain(t, r, ordAskProof)
}

func TestOrderFlow_ComplaintGoesToAPersonWithTheOrder(t *testing.T) {
	cases := []struct {
		name, text, problem string
	}{
		{"late", "it's late", bot.ProblemLate},
		{"damaged", "it arrived damaged", bot.ProblemDamaged},
		// The classifier is sure this is another (human) topic: the flow
		// keeps it anyway, because it is about the order just shown.
		{"never came", "it never came", bot.ProblemMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newOrdHarness(t, false)
			h.MustSay(t, "v:jane", "where is my order A1001")
			h.MustSay(t, "v:jane", "jane@example.com")
			replies := h.MustSay(t, "v:jane", c.text)
			if len(replies) < 2 {
				t.Fatalf("replies = %s, want the apology and the handoff", texts(replies))
			}
			if d := replies[0].Data; d["kind"] != "order_problem" || d["order_number"] != "A1001" || d["problem"] != c.problem || d["status"] != "shipped" {
				t.Errorf("problem card = %+v", d)
			}
			v := h.MustView(t, "v:jane")
			if v.Conversation.State != bot.StateWaiting {
				t.Errorf("state = %s, want waiting", v.Conversation.State)
			}
			if v.Contact.EscalationTrigger != bot.TriggerOrderProblem || v.Contact.OrderNumber != "A1001" {
				t.Errorf("contact trigger %q order %q, want order_problem A1001", v.Contact.EscalationTrigger, v.Contact.OrderNumber)
			}
		})
	}
}

func TestOrderFlow_ComplaintBeforeProofWaitsForIt(t *testing.T) {
	h := newOrdHarness(t, false)
	h.MustSay(t, "v:priya", "where is my order? it's late")
	r := mustOneReply(t, h.MustSay(t, "v:priya", "A1003"))
	mustContain(t, r, ordAskProof)
	if v := h.MustView(t, "v:priya"); v.Conversation.State != bot.StateBot {
		t.Fatalf("escalated before proof: %s", v.Conversation.State)
	}
	replies := h.MustSay(t, "v:priya", "priya@example.com")
	v := h.MustView(t, "v:priya")
	if v.Contact.EscalationTrigger != bot.TriggerOrderProblem || v.Contact.OrderNumber != "A1003" {
		t.Fatalf("after proof: trigger %q order %q (%s)", v.Contact.EscalationTrigger, v.Contact.OrderNumber, texts(replies))
	}
}

func TestOrderFlow_JourneyStageFromTheOrder(t *testing.T) {
	cases := []struct {
		name, number, email string
		listing             bool
		stage               bot.Stage
		reason              string
	}{
		{"on its way is purchase", "A1001", "jane@example.com", true, bot.StagePurchase, "order not yet delivered (shipped)"},
		{"delivered is post-purchase", "A1002", "tom@example.com", true, bot.StagePostPurchase, "order delivered"},
		{"repeat buyer is loyalty", "A1003", "priya@example.com", true, bot.StageLoyalty, "repeat buyer: 2 orders"},
		{"without listing one order is all we know", "A1003", "priya@example.com", false, bot.StagePurchase, "order not yet delivered (shipped)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newOrdHarness(t, c.listing)
			h.MustSay(t, "v:c", "where is my order "+c.number)
			h.MustSay(t, "v:c", c.email)
			cust := h.MustView(t, "v:c").Customer
			if cust.Stage != c.stage {
				t.Fatalf("stage = %s, want %s", cust.Stage, c.stage)
			}
			last := cust.StageHistory[len(cust.StageHistory)-1]
			if last.Reason != c.reason {
				t.Errorf("reason = %q, want %q", last.Reason, c.reason)
			}
		})
	}
}

func TestOrderFlow_NoOrderForALongTimeIsLapsed(t *testing.T) {
	h := newOrdHarness(t, true)
	r, err := h.flow.Step(context.Background(), bot.FlowRequest{
		Conversation: bot.Conversation{ID: "c1"},
		Text:         "olivia@example.com",
		Prediction:   bot.Prediction{Entities: bot.Entities{Emails: []string{"olivia@example.com"}}},
		State:        &bot.FlowState{Name: bot.ActionTrackOrder, Step: "proof", Data: map[string]string{"number": "A1005"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Stage != bot.StageLapsed || r.StageReason != "no order since 2026-03-07 (240 days)" || r.OrderNumber != "A1005" {
		t.Fatalf("stage %q reason %q order %q; want lapsed since 2026-03-07", r.Stage, r.StageReason, r.OrderNumber)
	}
	if !r.PurchasedAt.Equal(ordNow.AddDate(0, 0, -240)) {
		t.Errorf("purchased at %v", r.PurchasedAt)
	}

	// Through the engine: an old order is no reason to call a new visitor
	// a recent buyer, and the purchase date is kept for the lapsed rule.
	h.MustSay(t, "v:olivia", "where is my order A1005")
	h.MustSay(t, "v:olivia", "olivia@example.com")
	cust := h.MustView(t, "v:olivia").Customer
	if cust.Stage == bot.StagePostPurchase || !cust.LastPurchaseAt.Equal(ordNow.AddDate(0, 0, -240)) {
		t.Errorf("stage %s last purchase %v", cust.Stage, cust.LastPurchaseAt)
	}
}

func TestOrderFlow_LateOrderSaysSoAndOffersHelp(t *testing.T) {
	h := newOrdHarness(t, false)
	h.MustSay(t, "v:priya", "where is my order A1003")
	r := mustOneReply(t, h.MustSay(t, "v:priya", "priya@example.com"))
	mustContain(t, r, "It was due by Friday 30 October, so it's running late.")
	if len(r.Choices) != 1 || r.Choices[0].Value != bot.ChoiceOrderLate || r.Data["late"] != "true" {
		t.Fatalf("choices %+v data %+v, want the late choice and flag", r.Choices, r.Data)
	}
	// Clicking it sends its label: a person gets the order.
	h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:priya", Text: r.Choices[0].Label, Choice: r.Choices[0].Value})
	if v := h.MustView(t, "v:priya"); v.Contact.EscalationTrigger != bot.TriggerOrderProblem {
		t.Fatalf("trigger = %q, want order_problem", v.Contact.EscalationTrigger)
	}
}

func TestOrderFlow_SourceDownSaysSoAndOffersAPerson(t *testing.T) {
	h := newOrdHarness(t, false)
	h.src.err = fmt.Errorf("shop api: %w: status 500", bot.ErrOrdersUnavailable)
	h.MustSay(t, "v:jane", "where is my order A1001")
	for range 4 { // never counted as failed proofs
		r := mustOneReply(t, h.MustSay(t, "v:jane", "jane@example.com"))
		mustContain(t, r, "I can't reach our order system right now")
		if len(r.Choices) != 1 || r.Choices[0].Value != bot.ChoiceHuman {
			t.Fatalf("choices = %+v, want a person", r.Choices)
		}
	}
	h.src.err = nil
	mustContain(t, mustOneReply(t, h.MustSay(t, "v:jane", "jane@example.com")), "Order A1001 is on its way")
}

func TestOrderFlow_AnotherOrderAndChangingTopic(t *testing.T) {
	h := newOrdHarness(t, false)
	h.MustSay(t, "v:jane", "where is my order A1001")
	h.MustSay(t, "v:jane", "CA12 5DJ")
	// Another order needs its own proof.
	mustContain(t, mustOneReply(t, h.MustSay(t, "v:jane", "what about A1002")), ordAskProof)
	// A confident other topic leaves the flow.
	mustContain(t, mustOneReply(t, h.MustSay(t, "v:jane", "how do I return")), "Returns are free")
	if v := h.MustView(t, "v:jane"); v.Conversation.Flow != nil {
		t.Fatalf("flow still running: %+v", v.Conversation.Flow)
	}
	// Back to the first order: proven earlier, so asked again from scratch
	// (the flow ended) but the proof works first time.
	h.MustSay(t, "v:jane", "where is my order A1001")
	mustContain(t, mustOneReply(t, h.MustSay(t, "v:jane", "jane@example.com")), "Order A1001 is on its way")
}

func TestOrderFlow_CancelEndsTheLookup(t *testing.T) {
	h := newOrdHarness(t, false)
	h.MustSay(t, "v:x", "where is my order")
	mustContain(t, mustOneReply(t, h.MustSay(t, "v:x", "never mind")), "I've stopped looking up that order")
	if v := h.MustView(t, "v:x"); v.Conversation.Flow != nil {
		t.Fatalf("flow still running")
	}
}

func TestOrderFlow_GivesUpAfterThreeUnusableAnswers(t *testing.T) {
	h := newOrdHarness(t, false)
	h.MustSay(t, "v:x", "where is my order")
	h.MustSay(t, "v:x", "hmm")
	h.MustSay(t, "v:x", "not sure")
	r := mustOneReply(t, h.MustSay(t, "v:x", "dunno"))
	if len(r.Choices) != 1 || r.Choices[0].Value != bot.ChoiceHuman {
		t.Fatalf("reply %q choices %+v, want a person offered", r.Text, r.Choices)
	}
}

func TestOrderFlow_LogsMaskOrdersAndEmails(t *testing.T) {
	h := newOrdHarness(t, false)
	h.MustSay(t, "v:jane", "where is my order A1001")
	h.MustSay(t, "v:jane", "mallory@example.com")
	h.MustSay(t, "v:jane", "jane@example.com")
	h.src.err = errors.Join(bot.ErrOrdersUnavailable)
	h.MustSay(t, "v:jane", "A1002")
	h.MustSay(t, "v:jane", "tom@example.com")
	logs := h.logs.String()
	if !strings.Contains(logs, "A1***1") {
		t.Fatalf("no masked order number in the logs:\n%s", logs)
	}
	for _, secret := range []string{"A1001", "A1002", "jane@example.com", "mallory@example.com", "tom@example.com"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}
