package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/bot/bottest"
)

// clock is a settable time source for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var topics = []bot.Topic{
	{ID: "shipping", Title: "Shipping times", Stage: bot.StageConsideration, Questions: []string{"how long is shipping", "delivery time"}, Answer: "Delivery takes 2-3 days."},
	{ID: "returns", Title: "Returns", Stage: bot.StagePostPurchase, Questions: []string{"how do I return", "send back"}, Answer: "Returns are free for 30 days."},
	{ID: "who", Title: "About us", Stage: bot.StageAwareness, Questions: []string{"who are you", "what do you sell"}, Answer: "We sell outdoor gear."},
	{ID: "damaged", Title: "Damaged item", Stage: bot.StagePostPurchase, Questions: []string{"my item is broken", "arrived damaged"}, Answer: "Sorry to hear that.", Human: true},
	{ID: "human", Title: "Talk to a person", Stage: bot.StageAwareness, Questions: []string{"human please", "agent"}, Action: bot.ActionHandoff},
	{ID: "track", Title: "Track my order", Stage: bot.StagePostPurchase, Questions: []string{"where is my order", "track order"}, Action: bot.ActionTrackOrder, Answer: "Use your tracking link."},
}

func confident(id string) bot.Prediction {
	return bot.Prediction{Intent: id, Confidence: 0.95, Verdict: bot.Confident, Alternatives: []bot.Scored{{Intent: id, Confidence: 0.95}}, Language: "en"}
}

type harness struct {
	store  *bottest.MemStore
	sender *bottest.Sender
	engine *bot.Engine
	clock  *clock
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{store: bottest.NewMemStore(), sender: &bottest.Sender{}, clock: &clock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}}
	h.engine = bot.NewEngine(h.store, bot.Config{Now: h.clock.Now})
	cls := &bottest.Classifier{Script: map[string]bot.Prediction{
		"how long is shipping?": confident("shipping"),
		"who are you":           confident("who"),
		"my parcel is broken":   confident("damaged"),
		"get me a human":        confident("human"),
		"where is my order":     confident("track"),
		"returns":               confident("returns"),
		"shipping or returns?": {Intent: "shipping", Confidence: 0.5, Verdict: bot.Unsure, Language: "en",
			Alternatives: []bot.Scored{{Intent: "shipping", Confidence: 0.5}, {Intent: "returns", Confidence: 0.4}}},
		"wo ist mein paket": {Verdict: bot.Unknown, Language: "de"},
		"A1234":             {Verdict: bot.Unknown, Language: "en", Entities: bot.Entities{OrderNumbers: []string{"A1234"}}},
	}}
	h.engine.SetKnowledge(bot.NewKnowledge(topics, cls))
	h.engine.Register(bot.ChannelWeb, h.sender)
	return h
}

func (h *harness) MustSay(t *testing.T, user, text string) bot.Receipt {
	t.Helper()
	return h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: user, Text: text})
}

func (h *harness) MustSend(t *testing.T, in bot.Inbound) bot.Receipt {
	t.Helper()
	rc, err := h.engine.Handle(context.Background(), in)
	if err != nil {
		t.Fatalf("Handle(%q): %v", in.Text, err)
	}
	return rc
}

func (h *harness) MustConversation(t *testing.T, id string) (bot.Conversation, bot.Contact, bot.Customer, []bot.Message) {
	t.Helper()
	return mustLoadConversation(t, h.store, id)
}

// mustLoadConversation reads a conversation, its current contact, its
// customer and its messages from any store.
func mustLoadConversation(t *testing.T, s bot.Store, id string) (bot.Conversation, bot.Contact, bot.Customer, []bot.Message) {
	t.Helper()
	var conv bot.Conversation
	var contact bot.Contact
	var cust bot.Customer
	var msgs []bot.Message
	err := s.View(context.Background(), func(tx bot.Tx) error {
		var err error
		if conv, err = bot.GetConversation(tx, id); err != nil {
			return err
		}
		if contact, err = bot.GetContact(tx, conv.ContactID); err != nil {
			return err
		}
		if cust, err = bot.GetCustomer(tx, conv.CustomerID); err != nil {
			return err
		}
		msgs, err = bot.ListMessages(tx, id, 0, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return conv, contact, cust, msgs
}

func TestHandle_ConfidentQuestionIsAnsweredAndLogged(t *testing.T) {
	h := newHarness(t)
	var stored []bot.Receipt
	rc := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", ClientID: "c1", Text: "  how long is shipping?  ",
		Stored: func(r bot.Receipt) {
			if len(h.sender.Texts()) != 0 {
				t.Error("reply delivered before the message was acknowledged")
			}
			stored = append(stored, r)
		}})
	if len(stored) != 1 || stored[0].MessageID != rc.MessageID {
		t.Fatalf("Stored called %d times with %+v, want once with %s", len(stored), stored, rc.MessageID)
	}
	if got := h.sender.Texts(); len(got) != 1 || got[0] != "Delivery takes 2-3 days." {
		t.Fatalf("sent %q, want the shipping answer", got)
	}
	conv, contact, cust, msgs := h.MustConversation(t, rc.ConversationID)
	if len(msgs) != 2 || msgs[0].Text != "how long is shipping?" || msgs[0].Role != bot.RoleCustomer || msgs[1].Role != bot.RoleBot || msgs[1].Seq != 2 {
		t.Fatalf("stored messages %+v", msgs)
	}
	if conv.State != bot.StateBot || conv.LastSeq != 2 {
		t.Fatalf("conversation %+v", conv)
	}
	if len(contact.Turns) != 1 || contact.Turns[0].Intent != "shipping" || contact.Turns[0].Outcome != bot.TurnAnswered || contact.Turns[0].Confidence != 0.95 {
		t.Fatalf("contact turns %+v", contact.Turns)
	}
	if contact.StageAtStart != bot.StageAwareness || contact.Turns[0].Stage != bot.StageConsideration {
		t.Fatalf("contact stages start=%s turn=%s", contact.StageAtStart, contact.Turns[0].Stage)
	}
	if cust.Stage != bot.StageConsideration || len(cust.StageHistory) != 1 || cust.StageHistory[0].Reason != "asked about shipping" {
		t.Fatalf("customer stage %s history %+v", cust.Stage, cust.StageHistory)
	}
}

func TestHandle_ResentClientIDIsStoredOnce(t *testing.T) {
	h := newHarness(t)
	in := bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", ClientID: "same", Text: "who are you"}
	first := h.MustSend(t, in)
	second := h.MustSend(t, in)
	if first.Duplicate || !second.Duplicate || first.MessageID != second.MessageID {
		t.Fatalf("receipts %+v then %+v", first, second)
	}
	_, contact, _, msgs := h.MustConversation(t, first.ConversationID)
	if len(msgs) != 2 || len(contact.Turns) != 1 || len(h.sender.Texts()) != 1 {
		t.Fatalf("got %d messages, %d turns, %d sent; want 2, 1, 1", len(msgs), len(contact.Turns), len(h.sender.Texts()))
	}
}

func TestHandle_BadInputIsRefusedAndNothingStored(t *testing.T) {
	tests := []struct {
		name, text, code string
	}{
		{"empty is refused", "   ", bot.ECodeEmpty},
		{"invalid utf8 is refused", "hi \xff\xfe", bot.ECodeInvalidUTF8},
		{"oversized is refused", strings.Repeat("a", bot.DefaultMaxTextBytes+1), bot.ECodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			_, err := h.engine.Handle(context.Background(), bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: tt.text})
			if got := bot.ErrorCode(err); got != tt.code || !bot.IsUserError(err) {
				t.Fatalf("code %q (err %v), want %q", got, err, tt.code)
			}
			if h.store.Updates != 0 {
				t.Fatalf("%d updates stored for refused input", h.store.Updates)
			}
		})
	}
}

func TestHandle_UnsureAsksWithChoicesAndChoiceAnswers(t *testing.T) {
	h := newHarness(t)
	h.MustSay(t, "v:1", "shipping or returns?")
	last, _ := h.sender.Last()
	want := []bot.Choice{{Label: "Shipping times", Value: "shipping"}, {Label: "Returns", Value: "returns"}, {Label: "Talk to a person", Value: bot.ChoiceHuman}}
	if len(last.Message.Choices) != len(want) {
		t.Fatalf("choices %+v, want %+v", last.Message.Choices, want)
	}
	for i := range want {
		if last.Message.Choices[i] != want[i] {
			t.Fatalf("choice %d = %+v, want %+v", i, last.Message.Choices[i], want[i])
		}
	}
	rc := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "Returns", Choice: "returns"})
	last, _ = h.sender.Last()
	if last.Message.Text != "Returns are free for 30 days." {
		t.Fatalf("after choice sent %q", last.Message.Text)
	}
	conv, contact, _, _ := h.MustConversation(t, rc.ConversationID)
	if conv.Misses != 0 || contact.Turns[0].Outcome != bot.TurnClarified || contact.Turns[1].Outcome != bot.TurnAnswered {
		t.Fatalf("misses %d turns %+v", conv.Misses, contact.Turns)
	}
}

func TestHandle_UnknownSaysSoAndOffersAPerson(t *testing.T) {
	h := newHarness(t)
	rc := h.MustSay(t, "v:1", "purple monkey dishwasher")
	last, _ := h.sender.Last()
	if !strings.Contains(last.Message.Text, "don't know") || len(last.Message.Choices) != 1 || last.Message.Choices[0].Value != bot.ChoiceHuman {
		t.Fatalf("reply %+v", last.Message)
	}
	conv, contact, _, _ := h.MustConversation(t, rc.ConversationID)
	if conv.Misses != 1 || contact.Turns[0].Outcome != bot.TurnUnknown {
		t.Fatalf("misses %d turn %+v", conv.Misses, contact.Turns[0])
	}
}

func TestHandle_ForeignLanguageGetsPoliteReply(t *testing.T) {
	h := newHarness(t)
	rc := h.MustSay(t, "v:1", "wo ist mein paket")
	last, _ := h.sender.Last()
	if !strings.Contains(last.Message.Text, "English") {
		t.Fatalf("reply %q", last.Message.Text)
	}
	_, contact, _, _ := h.MustConversation(t, rc.ConversationID)
	if contact.Turns[0].Outcome != bot.TurnForeign {
		t.Fatalf("turn %+v", contact.Turns[0])
	}
}

func TestHandle_HandoffSilencesTheBotUntilResolved(t *testing.T) {
	tests := []struct {
		name, text, trigger string
		choice              string
	}{
		{"customer asks for a person", "get me a human", "customer_request", ""},
		{"customer clicks talk to a person", "Talk to a person", "customer_request", bot.ChoiceHuman},
		{"topic always needs a human", "my parcel is broken", "topic_needs_human", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			rc := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: tt.text, Choice: tt.choice})
			conv, contact, _, _ := h.MustConversation(t, rc.ConversationID)
			if conv.State != bot.StateWaiting || contact.EscalationTrigger != tt.trigger || contact.Outcome != bot.OutcomeWaiting {
				t.Fatalf("state %s trigger %q outcome %s", conv.State, contact.EscalationTrigger, contact.Outcome)
			}
			var trs []bot.Transition
			_ = h.store.View(context.Background(), func(tx bot.Tx) (err error) { trs, err = bot.ListTransitions(tx, conv.ID); return })
			if len(trs) != 1 || trs[0].From != bot.StateBot || trs[0].To != bot.StateWaiting || trs[0].Reason != tt.trigger || trs[0].By != "bot" || trs[0].Stage == "" {
				t.Fatalf("transitions %+v", trs)
			}
			h.sender.Reset()
			h.MustSay(t, "v:1", "how long is shipping?")
			if got := h.sender.Texts(); len(got) != 0 {
				t.Fatalf("bot answered %q while waiting for a person", got)
			}
		})
	}
}

func TestHandle_CancelLeavesTheQueue(t *testing.T) {
	h := newHarness(t)
	rc := h.MustSay(t, "v:1", "get me a human")
	h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "Back to the bot", Choice: bot.ChoiceCancel})
	conv, contact, _, _ := h.MustConversation(t, rc.ConversationID)
	if conv.State != bot.StateBot || !contact.EscalatedAt.IsZero() {
		t.Fatalf("state %s escalated %v", conv.State, contact.EscalatedAt)
	}
	h.sender.Reset()
	h.MustSay(t, "v:1", "who are you")
	if got := h.sender.Texts(); len(got) != 1 || got[0] != "We sell outdoor gear." {
		t.Fatalf("after cancel sent %q", got)
	}
}

func TestHandle_IdleStartsANewContactAndSettlesTheOld(t *testing.T) {
	h := newHarness(t)
	first := h.MustSay(t, "v:1", "who are you")
	conv1, c1, _, _ := h.MustConversation(t, first.ConversationID)
	h.clock.Add(31 * time.Minute)
	second := h.MustSay(t, "v:1", "purple monkey")
	conv2, c2, _, msgs := h.MustConversation(t, second.ConversationID)
	if conv1.ID != conv2.ID || len(msgs) != 4 {
		t.Fatalf("conversation changed (%s, %s) or history lost (%d messages)", conv1.ID, conv2.ID, len(msgs))
	}
	if c1.ID == c2.ID {
		t.Fatal("idle conversation kept the same contact")
	}
	var old bot.Contact
	_ = h.store.View(context.Background(), func(tx bot.Tx) (err error) { old, err = bot.GetContact(tx, c1.ID); return })
	if old.Open() || old.Outcome != bot.OutcomeBotResolved || old.StageAtEnd != bot.StageAwareness {
		t.Fatalf("old contact %+v", old)
	}
}

// fakeFlow asks for an order number, then ends.
type fakeFlow struct{ calls int }

func (f *fakeFlow) Step(_ context.Context, req bot.FlowRequest) (bot.FlowReply, error) {
	f.calls++
	if req.State == nil {
		return bot.FlowReply{Messages: []bot.Message{{Text: "What is your order number?"}}, State: &bot.FlowState{Name: bot.ActionTrackOrder, Step: "number"}}, nil
	}
	if n := req.Prediction.Entities.OrderNumbers; len(n) > 0 {
		return bot.FlowReply{Messages: []bot.Message{{Text: "Order " + n[0] + " has shipped."}}, Stage: bot.StagePostPurchase, StageReason: "proved order", Evidence: n[0], OrderNumber: n[0]}, nil
	}
	return bot.FlowReply{Messages: []bot.Message{{Text: "I need the order number."}}, State: req.State}, nil
}

func TestHandle_FlowRunsUntilDoneAndMovesStage(t *testing.T) {
	h := newHarness(t)
	f := &fakeFlow{}
	h.engine.SetFlow(bot.ActionTrackOrder, f)
	rc := h.MustSay(t, "v:1", "where is my order")
	conv, _, _, _ := h.MustConversation(t, rc.ConversationID)
	if conv.Flow == nil || conv.Flow.Step != "number" {
		t.Fatalf("flow state %+v", conv.Flow)
	}
	h.MustSay(t, "v:1", "A1234")
	conv, contact, cust, _ := h.MustConversation(t, rc.ConversationID)
	if conv.Flow != nil || contact.OrderNumber != "A1234" || cust.Stage != bot.StagePostPurchase {
		t.Fatalf("flow %+v order %q stage %s", conv.Flow, contact.OrderNumber, cust.Stage)
	}
	if got := h.sender.Texts(); got[len(got)-1] != "Order A1234 has shipped." {
		t.Fatalf("sent %q", got)
	}
}

func TestHandle_ConfidentOtherTopicLeavesFlow(t *testing.T) {
	h := newHarness(t)
	f := &fakeFlow{}
	h.engine.SetFlow(bot.ActionTrackOrder, f)
	rc := h.MustSay(t, "v:1", "where is my order")
	h.MustSay(t, "v:1", "who are you")
	conv, _, _, _ := h.MustConversation(t, rc.ConversationID)
	if f.calls != 1 || conv.Flow != nil {
		t.Fatalf("flow called %d times, state %+v; want 1 and none", f.calls, conv.Flow)
	}
	if last, _ := h.sender.Last(); last.Message.Text != "We sell outdoor gear." {
		t.Fatalf("sent %q", last.Message.Text)
	}
}

func TestHandle_ResolvedConversationReturnsToBot(t *testing.T) {
	h := newHarness(t)
	rc := h.MustSay(t, "v:1", "get me a human")
	err := h.store.Update(context.Background(), func(tx bot.Tx) error {
		c, err := bot.GetConversation(tx, rc.ConversationID)
		if err != nil {
			return err
		}
		c.State = bot.StateResolved
		return bot.PutConversation(tx, &c)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, before, _, _ := h.MustConversation(t, rc.ConversationID)
	h.sender.Reset()
	h.MustSay(t, "v:1", "who are you")
	conv, after, _, _ := h.MustConversation(t, rc.ConversationID)
	if conv.State != bot.StateBot || before.ID == after.ID {
		t.Fatalf("state %s, contact %s -> %s", conv.State, before.ID, after.ID)
	}
	if got := h.sender.Texts(); len(got) != 1 || got[0] != "We sell outdoor gear." {
		t.Fatalf("sent %q", got)
	}
}

func TestHandle_ConcurrentMessagesOfOneConversationAreOrdered(t *testing.T) {
	h := newHarness(t)
	// Distinct topics, so no message looks like a repeated question.
	var many []bot.Topic
	cls := &bottest.Classifier{Script: map[string]bot.Prediction{}}
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("t%d", i)
		many = append(many, bot.Topic{ID: id, Stage: bot.StageAwareness, Answer: "answer " + id})
		cls.Script["q"+id] = confident(id)
	}
	h.engine.SetKnowledge(bot.NewKnowledge(many, cls))
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.engine.Handle(context.Background(), bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: fmt.Sprintf("qt%d", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	_, c, _, msgs := h.MustConversation(t, mustConvID(t, h, "v:1"))
	if len(msgs) != 40 || len(c.Turns) != 20 {
		t.Fatalf("%d messages %d turns, want 40 and 20", len(msgs), len(c.Turns))
	}
	for i, m := range msgs {
		want := bot.RoleCustomer
		if i%2 == 1 {
			want = bot.RoleBot
		}
		if m.Seq != uint64(i+1) || m.Role != want {
			t.Fatalf("message %d: seq %d role %s", i, m.Seq, m.Role)
		}
	}
}

func mustConvID(t *testing.T, h *harness, user string) string {
	t.Helper()
	conv, _, err := h.engine.History(context.Background(), bot.ChannelWeb, user, "", 0)
	if err != nil || conv.ID == "" {
		t.Fatalf("history: %v %+v", err, conv)
	}
	return conv.ID
}

func TestDeliver_NoteIsNeverSent(t *testing.T) {
	h := newHarness(t)
	err := h.engine.Deliver(context.Background(), bot.Conversation{Channel: bot.ChannelWeb}, bot.Message{Role: bot.RoleNote, Text: "secret"})
	if err == nil || len(h.sender.Texts()) != 0 {
		t.Fatalf("err %v, sent %q", err, h.sender.Texts())
	}
}

func TestParseStage(t *testing.T) {
	for _, s := range bot.Stages {
		if got, err := bot.ParseStage(strings.ToUpper(string(s))); err != nil || got != s {
			t.Errorf("ParseStage(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := bot.ParseStage("happy"); !errors.Is(err, bot.ErrUnknownStage) {
		t.Errorf("ParseStage(happy) err %v", err)
	}
}
