package bot_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/bot/bottest"
)

// gateClassifier blocks the first Classify of a gated text until the test
// releases it, so a test can change the records between the engine's
// snapshot and its write.
type gateClassifier struct {
	inner   bot.Classifier
	gated   string
	entered chan struct{} // closed when the gated text is first classified
	release chan struct{} // closed by the test to let it go on
	once    sync.Once
	calls   atomic.Int32 // Classify calls of the gated text
}

func (g *gateClassifier) Classify(ctx context.Context, text string) (bot.Prediction, error) {
	if text == g.gated {
		g.calls.Add(1)
		first := false
		g.once.Do(func() { first = true })
		if first {
			close(g.entered)
			select {
			case <-g.release:
			case <-ctx.Done():
				return bot.Prediction{}, ctx.Err()
			}
		}
	}
	return g.inner.Classify(ctx, text)
}

// countingStore counts write transactions.
type countingStore struct {
	bot.Store
	updates atomic.Int32
}

func (s *countingStore) Update(ctx context.Context, fn func(bot.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

func TestHandle_CommonCaseIsOneWriteTransaction(t *testing.T) {
	h := newDBHarness(t)
	cs := &countingStore{Store: h.db}
	e := bot.NewEngine(cs, bot.Config{Now: h.clock.Now})
	e.SetKnowledge(h.engine.Knowledge())
	e.Register(bot.ChannelWeb, h.sender)

	for i, text := range []string{"how long is shipping?", "who are you", "something else"} {
		before := cs.updates.Load()
		if _, err := e.Handle(context.Background(), bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: text}); err != nil {
			t.Fatal(err)
		}
		if n := cs.updates.Load() - before; n != 1 {
			t.Errorf("message %d: %d write transactions, want 1", i+1, n)
		}
	}
	if got := len(h.sender.Texts()); got != 3 {
		t.Errorf("%d replies delivered, want 3", got)
	}
}

func TestHandle_AgentClaimDuringDecisionFallsBackAndBotStaysQuiet(t *testing.T) {
	h := newDBHarness(t)
	gate := &gateClassifier{
		inner: &bottest.Classifier{Script: map[string]bot.Prediction{
			"how long is shipping?": confident("shipping"),
		}},
		gated: "how long is shipping?", entered: make(chan struct{}), release: make(chan struct{}),
	}
	h.engine.SetKnowledge(bot.NewKnowledge(topics, gate))
	first := h.MustSay(t, "v:1", "hello")
	h.sender.Reset()

	var acks []bot.Receipt
	var mu sync.Mutex
	type result struct {
		rc  bot.Receipt
		err error
	}
	done := make(chan result, 1)
	go func() {
		rc, err := h.engine.Handle(context.Background(), bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", ClientID: "c2", Text: "how long is shipping?",
			Stored: func(r bot.Receipt) { mu.Lock(); acks = append(acks, r); mu.Unlock() }})
		done <- result{rc, err}
	}()
	select {
	case <-gate.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the classifier was never asked")
	}
	// The engine has its snapshot and is deciding: an agent takes over.
	if err := h.engine.Escalate(context.Background(), first.ConversationID, "agent_pull", "agent:alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.engine.Claim(context.Background(), first.ConversationID, alice); err != nil {
		t.Fatal(err)
	}
	close(gate.release)
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}

	mu.Lock()
	if len(acks) != 1 || acks[0] != res.rc || res.rc.Duplicate {
		t.Errorf("acks = %+v, want exactly the receipt %+v", acks, res.rc)
	}
	mu.Unlock()
	v := h.MustView(t, first.ConversationID)
	if v.Conversation.State != bot.StateAgent || v.Conversation.AgentID != alice.ID {
		t.Errorf("conversation %s held by %q, want agent alice", v.Conversation.State, v.Conversation.AgentID)
	}
	var customer int
	for _, m := range v.Messages {
		if m.Role == bot.RoleBot && m.Seq > res.rc.Seq {
			t.Errorf("the bot answered after the agent claimed: %q", m.Text)
		}
		if m.Role == bot.RoleCustomer && m.ClientID == "c2" {
			customer++
			if m.ID != res.rc.MessageID || m.Seq != res.rc.Seq {
				t.Errorf("stored message %s #%d, acknowledged %s #%d", m.ID, m.Seq, res.rc.MessageID, res.rc.Seq)
			}
		}
	}
	if customer != 1 {
		t.Errorf("message stored %d times, want once", customer)
	}
	for _, s := range h.sender.Texts() {
		if s == "Delivery takes 2-3 days." {
			t.Errorf("the bot's answer was delivered to the customer of an agent")
		}
	}
	turns := v.Contact.Turns
	if n := len(turns); n == 0 || turns[n-1].MessageID != res.rc.MessageID || turns[n-1].Outcome != bot.TurnQueued {
		t.Errorf("last turn = %+v, want the message queued for the agent", turns)
	}
}

func TestHandle_NoteDuringDecisionStoresTheSameDecisionOnce(t *testing.T) {
	h := newDBHarness(t)
	gate := &gateClassifier{
		inner: &bottest.Classifier{Script: map[string]bot.Prediction{"who are you": confident("who")}},
		gated: "who are you", entered: make(chan struct{}), release: make(chan struct{}),
	}
	h.engine.SetKnowledge(bot.NewKnowledge(topics, gate))
	first := h.MustSay(t, "v:1", "hello")
	done := make(chan error, 1)
	var rc bot.Receipt
	go func() {
		var err error
		rc, err = h.engine.Handle(context.Background(), bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", ClientID: "c2", Text: "who are you"})
		done <- err
	}()
	<-gate.entered
	// A note adds a message: the snapshot is stale, but nothing the
	// decision read changed.
	if _, err := h.engine.Note(context.Background(), first.ConversationID, alice, "regular customer"); err != nil {
		t.Fatal(err)
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := gate.calls.Load(); n != 1 {
		t.Errorf("classified %d times, want once: the decision stands", n)
	}
	_, contact, _, msgs := mustDBConversation(t, h, rc.ConversationID)
	var roles []bot.Role
	for _, m := range msgs {
		roles = append(roles, m.Role)
	}
	want := []bot.Role{bot.RoleCustomer, bot.RoleBot, bot.RoleNote, bot.RoleCustomer, bot.RoleBot}
	if !slices.Equal(roles, want) {
		t.Errorf("messages %v, want %v", roles, want)
	}
	if rc.Seq != 4 || msgs[3].ID != rc.MessageID {
		t.Errorf("acknowledged #%d %s, stored #4 %s", rc.Seq, rc.MessageID, msgs[3].ID)
	}
	if n := len(contact.Turns); n != 2 || contact.Turns[1].MessageID != rc.MessageID || contact.Turns[1].Intent != "who" || contact.Turns[1].Outcome != bot.TurnAnswered {
		t.Errorf("turns = %+v, want the answer to the acknowledged message", contact.Turns)
	}
}

func TestHandle_IdleCloseDuringDecisionStartsANewContact(t *testing.T) {
	h := newDBHarness(t)
	gate := &gateClassifier{
		inner: &bottest.Classifier{Script: map[string]bot.Prediction{"who are you": confident("who")}},
		gated: "who are you", entered: make(chan struct{}), release: make(chan struct{}),
	}
	h.engine.SetKnowledge(bot.NewKnowledge(topics, gate))
	first := h.MustSay(t, "v:1", "hello")
	_, c1, _, _ := mustDBConversation(t, h, first.ConversationID)

	// 29 minutes later the customer writes; while the bot decides, the
	// clock passes the idle time and the sweep closes the contact.
	h.clock.Add(29 * time.Minute)
	done := make(chan error, 1)
	var rc bot.Receipt
	go func() {
		var err error
		rc, err = h.engine.Handle(context.Background(), bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "who are you"})
		done <- err
	}()
	<-gate.entered
	h.clock.Add(2 * time.Minute)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		if _, err := h.engine.CloseIdle(context.Background(), h.clock.Now()); err != nil {
			t.Error(err)
		}
	}()
	// The sweep waits for the conversation's lock, which Handle holds:
	// it cannot close the contact under the message. Let the message go
	// on; the sweep then finds the contact active.
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-closed
	conv, c2, _, msgs := mustDBConversation(t, h, rc.ConversationID)
	if c2.ID != c1.ID || !c2.Open() {
		t.Errorf("contact %s open=%v, want the first contact %s still open", c2.ID, c2.Open(), c1.ID)
	}
	if n := len(c2.Turns); n != 2 || c2.Turns[1].Outcome != bot.TurnAnswered {
		t.Errorf("turns = %+v, want the answer recorded on the first contact", c2.Turns)
	}
	if conv.LastSeq != uint64(len(msgs)) || len(msgs) != 4 {
		t.Errorf("%d messages, last seq %d, want 4", len(msgs), conv.LastSeq)
	}
}

func TestHandle_SameClientIDOnTwoConnectionsIsStoredOnce(t *testing.T) {
	for round := range 20 {
		h := newDBHarness(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var acks []bot.Receipt
		rcs := make([]bot.Receipt, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				rcs[i], errs[i] = h.engine.Handle(context.Background(), bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", ClientID: "same", Text: "how long is shipping?",
					Stored: func(r bot.Receipt) { mu.Lock(); acks = append(acks, r); mu.Unlock() }})
			}()
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(acks) != 2 {
			t.Fatalf("round %d: %d acks, want 2", round, len(acks))
		}
		if rcs[0].MessageID != rcs[1].MessageID || rcs[0].Seq != rcs[1].Seq || rcs[0].ConversationID != rcs[1].ConversationID {
			t.Errorf("round %d: receipts differ: %+v %+v", round, rcs[0], rcs[1])
		}
		if rcs[0].Duplicate == rcs[1].Duplicate {
			t.Errorf("round %d: Duplicate = %v and %v, want exactly one duplicate", round, rcs[0].Duplicate, rcs[1].Duplicate)
		}
		conv, contact, _, msgs := mustDBConversation(t, h, rcs[0].ConversationID)
		if len(msgs) != 2 || conv.LastSeq != 2 || len(contact.Turns) != 1 {
			t.Errorf("round %d: %d messages, last seq %d, %d turns; want the message and one answer", round, len(msgs), conv.LastSeq, len(contact.Turns))
		}
		if got := len(h.sender.Texts()); got != 1 {
			t.Errorf("round %d: %d replies delivered, want 1", round, got)
		}
	}
}

// mustDBConversation reads a conversation with its contact, customer and
// messages from the harness's bbolt store.
func mustDBConversation(t *testing.T, h *dbHarness, id string) (bot.Conversation, bot.Contact, bot.Customer, []bot.Message) {
	t.Helper()
	return mustLoadConversation(t, h.db, id)
}
