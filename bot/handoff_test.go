package bot_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // zone data for machines without tzdata (business hours)

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/bot/bottest"
	"github.com/frontdesk-chat/frontdesk/store"
)

var (
	alice = bot.Agent{ID: "alice", Name: "Alice", Role: bot.RoleNameAgent}
	bob   = bot.Agent{ID: "bob", Name: "Bob", Role: bot.RoleNameAgent}
	root  = bot.Agent{ID: "root", Name: "Root", Role: bot.RoleNameAdmin}
)

var allStates = []bot.HandoffState{bot.StateBot, bot.StateWaiting, bot.StateAgent, bot.StateResolved}

func TestCanTransition(t *testing.T) {
	legal := map[[2]bot.HandoffState]bool{
		{bot.StateBot, bot.StateWaiting}:      true, // escalate
		{bot.StateWaiting, bot.StateBot}:      true, // customer cancels
		{bot.StateWaiting, bot.StateAgent}:    true, // claim
		{bot.StateWaiting, bot.StateResolved}: true, // resolve an unclaimed case
		{bot.StateAgent, bot.StateAgent}:      true, // transfer
		{bot.StateAgent, bot.StateWaiting}:    true, // back to the queue
		{bot.StateAgent, bot.StateResolved}:   true, // resolve
		{bot.StateResolved, bot.StateBot}:     true, // the customer writes again
	}
	for _, from := range allStates {
		for _, to := range allStates {
			want := legal[[2]bot.HandoffState{from, to}]
			name := fmt.Sprintf("%s to %s is illegal", from, to)
			if want {
				name = fmt.Sprintf("%s to %s is legal", from, to)
			}
			t.Run(name, func(t *testing.T) {
				if got := bot.CanTransition(from, to); got != want {
					t.Fatalf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
				}
			})
		}
	}
	for _, s := range allStates {
		if bot.CanTransition(s, "nonsense") || bot.CanTransition("nonsense", s) {
			t.Errorf("a transition with an unknown state is allowed from or to %s", s)
		}
	}
}

// mustState brings visitor user's conversation to state s and returns its id.
func mustState(t *testing.T, h *harness, user string, s bot.HandoffState) string {
	t.Helper()
	ctx := context.Background()
	rc := h.MustSay(t, user, "who are you")
	if s == bot.StateBot {
		return rc.ConversationID
	}
	h.MustSay(t, user, "get me a human")
	if s == bot.StateWaiting {
		return rc.ConversationID
	}
	if _, err := h.engine.Claim(ctx, rc.ConversationID, alice); err != nil {
		t.Fatal(err)
	}
	if s == bot.StateAgent {
		return rc.ConversationID
	}
	if err := h.engine.Resolve(ctx, rc.ConversationID, alice); err != nil {
		t.Fatal(err)
	}
	return rc.ConversationID
}

func mustTransitions(t *testing.T, h *harness, convID string) []bot.Transition {
	t.Helper()
	var trs []bot.Transition
	if err := h.store.View(context.Background(), func(tx bot.Tx) (err error) { trs, err = bot.ListTransitions(tx, convID); return }); err != nil {
		t.Fatal(err)
	}
	return trs
}

func TestEngineOps_IllegalTransitionsAreRefused(t *testing.T) {
	ctx := context.Background()
	ops := map[string]func(e *bot.Engine, id string) error{
		"claim": func(e *bot.Engine, id string) error { _, err := e.Claim(ctx, id, bob); return err },
		"escalate": func(e *bot.Engine, id string) error {
			return e.Escalate(ctx, id, "api", "agent:bob")
		},
		"reply":    func(e *bot.Engine, id string) error { _, err := e.Reply(ctx, id, alice, "hello"); return err },
		"transfer": func(e *bot.Engine, id string) error { return e.Transfer(ctx, id, alice, bob) },
		"release":  func(e *bot.Engine, id string) error { return e.Transfer(ctx, id, alice, bot.Agent{}) },
		"resolve":  func(e *bot.Engine, id string) error { return e.Resolve(ctx, id, alice) },
	}
	// Every (state, op) pair the state machine forbids.
	illegal := []struct {
		state bot.HandoffState
		op    string
	}{
		{bot.StateBot, "claim"}, {bot.StateBot, "reply"}, {bot.StateBot, "transfer"}, {bot.StateBot, "release"}, {bot.StateBot, "resolve"},
		{bot.StateWaiting, "escalate"}, {bot.StateWaiting, "reply"}, {bot.StateWaiting, "transfer"}, {bot.StateWaiting, "release"},
		{bot.StateAgent, "escalate"}, {bot.StateAgent, "claim"},
		{bot.StateResolved, "claim"}, {bot.StateResolved, "escalate"}, {bot.StateResolved, "reply"},
		{bot.StateResolved, "transfer"}, {bot.StateResolved, "release"}, {bot.StateResolved, "resolve"},
	}
	for _, tt := range illegal {
		t.Run(fmt.Sprintf("%s in %s is a conflict", tt.op, tt.state), func(t *testing.T) {
			h := newHarness(t)
			id := mustState(t, h, "v:1", tt.state)
			before := mustTransitions(t, h, id)
			h.sender.Reset()
			err := ops[tt.op](h.engine, id)
			if bot.ErrorCode(err) != bot.ECodeConflict {
				t.Fatalf("%s: err %v, want a conflict", tt.op, err)
			}
			conv, _, _, _ := h.MustConversation(t, id)
			if conv.State != tt.state {
				t.Fatalf("state %s after refused %s, want %s", conv.State, tt.op, tt.state)
			}
			if after := mustTransitions(t, h, id); len(after) != len(before) {
				t.Fatalf("a refused %s stored a transition: %+v", tt.op, after[len(before):])
			}
			if got := h.sender.Texts(); len(got) != 0 {
				t.Fatalf("a refused %s told the customer %q", tt.op, got)
			}
		})
	}
	t.Run("unknown conversation is not found", func(t *testing.T) {
		h := newHarness(t)
		for name, op := range ops {
			if err := op(h.engine, "nope"); bot.ErrorCode(err) != bot.ECodeNotFound {
				t.Errorf("%s: err %v, want not_found", name, err)
			}
		}
	})
	t.Run("customer cannot cancel once an agent holds it", func(t *testing.T) {
		h := newHarness(t)
		id := mustState(t, h, "v:1", bot.StateAgent)
		h.sender.Reset()
		h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "Back to the bot", Choice: bot.ChoiceCancel})
		conv, _, _, _ := h.MustConversation(t, id)
		if conv.State != bot.StateAgent || conv.AgentID != alice.ID {
			t.Fatalf("state %s agent %q", conv.State, conv.AgentID)
		}
		if got := h.sender.Texts(); len(got) != 0 {
			t.Fatalf("bot answered %q while an agent holds the conversation", got)
		}
	})
}

func TestEngineOps_LegalTransitionsAreRecorded(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	id := mustState(t, h, "v:1", bot.StateWaiting)
	steps := []struct {
		name string
		op   func() error
		to   bot.HandoffState
		by   string
	}{
		{"claim", func() error { _, err := h.engine.Claim(ctx, id, alice); return err }, bot.StateAgent, "agent:alice"},
		{"transfer", func() error { return h.engine.Transfer(ctx, id, alice, bob) }, bot.StateAgent, "agent:alice"},
		{"release", func() error { return h.engine.Transfer(ctx, id, bob, bot.Agent{}) }, bot.StateWaiting, "agent:bob"},
		{"claim again", func() error { _, err := h.engine.Claim(ctx, id, bob); return err }, bot.StateAgent, "agent:bob"},
		{"resolve", func() error { return h.engine.Resolve(ctx, id, bob) }, bot.StateResolved, "agent:bob"},
	}
	for _, s := range steps {
		if err := s.op(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		trs := mustTransitions(t, h, id)
		last := trs[len(trs)-1]
		if last.To != s.to || last.By != s.by || last.Stage == "" || last.Reason == "" || last.At.IsZero() {
			t.Fatalf("%s stored %+v", s.name, last)
		}
	}
	conv, _, _, _ := h.MustConversation(t, id)
	if conv.AgentID != "" {
		t.Fatalf("resolved conversation still held by %q", conv.AgentID)
	}
}

// handoffHarness adds a purchase-stage topic and frustration-free scripts.
func handoffHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	cls := &bottest.Classifier{Script: map[string]bot.Prediction{
		"who are you":         confident("who"),
		"get me a human":      confident("human"),
		"my parcel is broken": confident("damaged"),
		"where is my order":   confident("track"),
		"can I pay by card":   confident("pay"),
	}}
	h.engine.SetKnowledge(bot.NewKnowledge(append(topics[:len(topics):len(topics)],
		bot.Topic{ID: "pay", Stage: bot.StagePurchase, Questions: []string{"can I pay by card"}, Answer: "Yes, all major cards."}), cls))
	return h
}

// problemFlow reports an order problem at once.
type problemFlow struct{}

func (problemFlow) Step(context.Context, bot.FlowRequest) (bot.FlowReply, error) {
	return bot.FlowReply{Messages: []bot.Message{{Text: "That order looks stuck."}}, Escalate: "order_problem"}, nil
}

func TestHandle_EachTriggerEscalatesAndIsRecorded(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(h *harness)
		say     []bot.Inbound
		trigger string
		stage   bot.Stage
	}{
		{name: "customer clicks talk to a person", trigger: "customer_request",
			say: []bot.Inbound{{Text: "Talk to a person", Choice: bot.ChoiceHuman}}},
		{name: "customer asks for a person", trigger: "customer_request",
			say: []bot.Inbound{{Text: "get me a human"}}},
		{name: "topic always needs a human", trigger: "topic_needs_human",
			say: []bot.Inbound{{Text: "my parcel is broken"}}},
		{name: "two misses in a row by default", trigger: "repeated_misses",
			say: []bot.Inbound{{Text: "purple monkey"}, {Text: "green elephant"}}},
		{name: "stage threshold escalates at purchase after one miss", trigger: "repeated_misses", stage: bot.StagePurchase,
			setup: func(h *harness) {
				h.engine.SetHandoff(bot.HandoffConfig{StageMaxMisses: map[bot.Stage]int{bot.StagePurchase: 1}})
			},
			say: []bot.Inbound{{Text: "can I pay by card"}, {Text: "purple monkey"}}},
		{name: "configured threshold of three", trigger: "repeated_misses",
			setup: func(h *harness) { h.engine.SetHandoff(bot.HandoffConfig{MaxMisses: 3}) },
			say:   []bot.Inbound{{Text: "purple monkey"}, {Text: "green elephant"}, {Text: "blue whale"}}},
		{name: "angry wording", trigger: "frustration",
			say: []bot.Inbound{{Text: "this is ridiculous"}}},
		{name: "shouting", trigger: "frustration",
			say: []bot.Inbound{{Text: "WHERE IS MY PARCEL NOW!!"}}},
		{name: "configured frustration word", trigger: "frustration",
			setup: func(h *harness) { h.engine.SetHandoff(bot.HandoffConfig{Frustration: []string{"grr"}}) },
			say:   []bot.Inbound{{Text: "grr why"}}},
		{name: "repeated question", trigger: "repeated_question",
			say: []bot.Inbound{{Text: "who are you"}, {Text: "who are you"}}},
		{name: "order problem from a flow", trigger: "order_problem",
			setup: func(h *harness) { h.engine.SetFlow(bot.ActionTrackOrder, problemFlow{}) },
			say:   []bot.Inbound{{Text: "where is my order"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := handoffHarness(t)
			if tt.setup != nil {
				tt.setup(h)
			}
			var rc bot.Receipt
			for i, in := range tt.say {
				in.Channel, in.UserID = bot.ChannelWeb, "v:1"
				rc = h.MustSend(t, in)
				conv, _, _, _ := h.MustConversation(t, rc.ConversationID)
				last := i == len(tt.say)-1
				if escalated := conv.State == bot.StateWaiting; escalated != last {
					t.Fatalf("after message %d (%q) state %s", i+1, in.Text, conv.State)
				}
			}
			_, contact, cust, _ := h.MustConversation(t, rc.ConversationID)
			if contact.EscalationTrigger != tt.trigger || contact.EscalatedAt.IsZero() {
				t.Fatalf("trigger %q escalated %v, want %q", contact.EscalationTrigger, contact.EscalatedAt, tt.trigger)
			}
			trs := mustTransitions(t, h, rc.ConversationID)
			last := trs[len(trs)-1]
			if last.Reason != tt.trigger || last.By != "bot" || last.Stage != cust.Stage {
				t.Fatalf("transition %+v, customer stage %s", last, cust.Stage)
			}
			if tt.stage != "" && last.Stage != tt.stage {
				t.Fatalf("escalated at stage %s, want %s", last.Stage, tt.stage)
			}
			if got := h.sender.Texts(); !contains(got, "I'm handing you over to a person") {
				t.Fatalf("customer was not told a person is coming: %q", got)
			}
		})
	}
}

func TestHandle_StageThresholdDoesNotApplyToOtherStages(t *testing.T) {
	h := handoffHarness(t)
	h.engine.SetHandoff(bot.HandoffConfig{StageMaxMisses: map[bot.Stage]int{bot.StagePurchase: 1}})
	rc := h.MustSay(t, "v:1", "purple monkey")
	if conv, _, cust, _ := h.MustConversation(t, rc.ConversationID); conv.State != bot.StateBot || cust.Stage != bot.StageAwareness {
		t.Fatalf("one miss at %s escalated (state %s)", cust.Stage, conv.State)
	}
}

func contains(texts []string, sub string) bool {
	for _, s := range texts {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestClaim_ConcurrentAgentsExactlyOneWins(t *testing.T) {
	// A real bbolt store: group commit may run a transaction more than once,
	// which is exactly where a double claim would slip through.
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "t.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := bot.NewEngine(db, bot.Config{})
	sender := &bottest.Sender{}
	e.Register(bot.ChannelWeb, sender)
	ctx := context.Background()
	rc, err := e.Handle(ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "x", Choice: bot.ChoiceHuman})
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wins, conflicts atomic.Int32
	var winner atomic.Value
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := bot.Agent{ID: fmt.Sprintf("agent%d", i), Name: fmt.Sprintf("Agent %d", i), Role: bot.RoleNameAgent}
			<-start
			_, err := e.Claim(ctx, rc.ConversationID, a)
			switch {
			case err == nil:
				wins.Add(1)
				winner.Store(a.ID)
			case bot.ErrorCode(err) == bot.ECodeConflict:
				conflicts.Add(1)
				if !strings.Contains(bot.ErrorMessage(err), "already claimed") {
					t.Errorf("loser told %q", bot.ErrorMessage(err))
				}
			default:
				t.Errorf("claim: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != n-1 {
		t.Fatalf("%d wins, %d conflicts; want 1 and %d", wins.Load(), conflicts.Load(), n-1)
	}
	v, err := e.View(ctx, rc.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Conversation.AgentID != winner.Load() || v.Contact.AgentID != winner.Load() {
		t.Fatalf("held by %q (contact %q), winner %v", v.Conversation.AgentID, v.Contact.AgentID, winner.Load())
	}
	claims := 0
	for _, tr := range v.Transitions {
		if tr.To == bot.StateAgent {
			claims++
		}
	}
	joined := 0
	for _, s := range sender.Texts() {
		if strings.HasSuffix(s, "has joined the conversation.") {
			joined++
		}
	}
	if claims != 1 || joined != 1 {
		t.Fatalf("%d claim transitions, %d join messages; want 1 each", claims, joined)
	}
}

func TestReply_OnlyTheHolderOrAnAdmin(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	id := mustState(t, h, "v:1", bot.StateAgent) // held by alice
	h.sender.Reset()
	if _, err := h.engine.Reply(ctx, id, bob, "I'm not yours"); bot.ErrorCode(err) != bot.ECodeForbidden {
		t.Fatalf("reply by a non-holder: err %v, want forbidden", err)
	}
	for _, op := range []func() error{
		func() error { return h.engine.Transfer(ctx, id, bob, bob) },
		func() error { return h.engine.Resolve(ctx, id, bob) },
	} {
		if err := op(); bot.ErrorCode(err) != bot.ECodeForbidden {
			t.Fatalf("non-holder op: err %v, want forbidden", err)
		}
	}
	if got := h.sender.Texts(); len(got) != 0 {
		t.Fatalf("refused operations told the customer %q", got)
	}
	if _, err := h.engine.Reply(ctx, id, alice, "Hi, Alice here"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.engine.Reply(ctx, id, root, "Admin here"); err != nil {
		t.Fatalf("admin reply: %v", err)
	}
	last, _ := h.sender.Last()
	if got := h.sender.Texts(); len(got) != 2 || got[0] != "Hi, Alice here" || last.Message.Role != bot.RoleAgent || last.Message.Author != "Root" {
		t.Fatalf("sent %q, last %+v", got, last.Message)
	}
	if last.Conversation.Channel != bot.ChannelWeb || last.Conversation.UserID != "v:1" {
		t.Fatalf("reply went to %s/%s", last.Conversation.Channel, last.Conversation.UserID)
	}
}

func TestNote_NeverReachesTheCustomer(t *testing.T) {
	ctx := context.Background()
	for _, state := range []bot.HandoffState{bot.StateWaiting, bot.StateAgent} {
		t.Run("while "+string(state), func(t *testing.T) {
			h := newHarness(t)
			id := mustState(t, h, "v:1", state)
			var events []bot.Event
			var mu sync.Mutex
			h.engine.Subscribe(func(ev bot.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() })
			h.sender.Reset()
			note, err := h.engine.Note(ctx, id, bob, "customer seems to be a reseller")
			if err != nil {
				t.Fatal(err)
			}
			if note.Role != bot.RoleNote || note.Author != "Bob" {
				t.Fatalf("note %+v", note)
			}
			if state == bot.StateAgent {
				if _, err := h.engine.Reply(ctx, id, alice, "How can I help?"); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range h.sender.Sent {
				if s.Message.Role == bot.RoleNote || strings.Contains(s.Message.Text, "reseller") {
					t.Fatalf("note delivered to the customer: %+v", s.Message)
				}
			}
			_, hist, err := h.engine.History(ctx, bot.ChannelWeb, "v:1", "", 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range hist {
				if m.Role == bot.RoleNote {
					t.Fatalf("note in the customer's history: %+v", m)
				}
			}
			v, err := h.engine.View(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, m := range v.Messages {
				found = found || (m.Role == bot.RoleNote && m.Text == "customer seems to be a reseller")
			}
			if !found {
				t.Fatal("note missing from the agents' view")
			}
			mu.Lock()
			defer mu.Unlock()
			published := false
			for _, ev := range events {
				published = published || (ev.Kind == bot.EventMessage && ev.Message.Role == bot.RoleNote)
			}
			if !published {
				t.Fatal("note not published to agents' subscribers")
			}
		})
	}
}

func TestBusinessHours_IsOpen(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	h := func(hh, mm int) time.Duration { return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute }
	weekdays := map[time.Weekday]bot.Span{}
	for d := time.Monday; d <= time.Friday; d++ {
		weekdays[d] = bot.Span{From: h(9, 0), To: h(17, 30)}
	}
	bh := &bot.BusinessHours{Location: london, Open: weekdays, Holidays: []time.Time{time.Date(2026, 12, 25, 0, 0, 0, 0, london)}}
	tests := []struct {
		name string
		hrs  *bot.BusinessHours
		at   time.Time
		want bool
	}{
		{"no hours means always open", nil, time.Date(2026, 12, 25, 3, 0, 0, 0, time.UTC), true},
		{"open on a weekday", bh, time.Date(2026, 11, 2, 10, 0, 0, 0, london), true},
		{"open at opening time", bh, time.Date(2026, 11, 2, 9, 0, 0, 0, london), true},
		{"closed a second before opening", bh, time.Date(2026, 11, 2, 8, 59, 59, 0, london), false},
		{"closed at closing time", bh, time.Date(2026, 11, 2, 17, 30, 0, 0, london), false},
		{"closed at the weekend", bh, time.Date(2026, 11, 7, 12, 0, 0, 0, london), false},
		{"closed on a holiday", bh, time.Date(2026, 12, 25, 12, 0, 0, 0, london), false},
		{"open the day after a holiday", bh, time.Date(2026, 12, 28, 12, 0, 0, 0, london), true},
		// 08:30 UTC is 09:30 in London in summer (BST): open.
		{"time zone: summer time is applied", bh, time.Date(2026, 7, 1, 8, 30, 0, 0, time.UTC), true},
		// 16:45 UTC is 17:45 in London in summer: closed.
		{"time zone: closed by local time", bh, time.Date(2026, 7, 1, 16, 45, 0, 0, time.UTC), false},
		{"default zone is UTC", &bot.BusinessHours{Open: weekdays}, time.Date(2026, 7, 1, 8, 30, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.hrs.IsOpen(tt.at); got != tt.want {
				t.Fatalf("IsOpen(%v) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

// presence is a fixed number of online agents.
type presence int

func (p presence) OnlineAgents() int { return int(p) }

func TestHandle_NobodyAvailableOffersToLeaveAMessage(t *testing.T) {
	h := func(hh int) time.Duration { return time.Duration(hh) * time.Hour }
	closedNow := &bot.BusinessHours{Open: map[time.Weekday]bot.Span{time.Monday: {From: h(13), To: h(17)}}} // harness clock: Monday 10:00 UTC
	openNow := &bot.BusinessHours{Open: map[time.Weekday]bot.Span{time.Monday: {From: h(9), To: h(17)}}}
	holiday := &bot.BusinessHours{Open: openNow.Open, Holidays: []time.Time{time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}}
	tests := []struct {
		name     string
		hours    *bot.BusinessHours
		presence bot.Presence
		says     string // the handoff reply
		eta      bool   // the queue message promises a wait
	}{
		{"open with an agent online", openNow, presence(1), "I'm handing you over to a person", true},
		{"open without presence tracking", openNow, nil, "I'm handing you over to a person", true},
		{"outside business hours", closedNow, presence(1), "Our team is offline right now", false},
		{"on a holiday", holiday, presence(1), "Our team is offline right now", false},
		{"no agent online", openNow, presence(0), "No one from our team is available right now", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t)
			hs.engine.SetHandoff(bot.HandoffConfig{Hours: tt.hours})
			if tt.presence != nil {
				hs.engine.SetPresence(tt.presence)
			}
			rc := hs.MustSay(t, "v:1", "get me a human")
			got := hs.sender.Texts()
			if !contains(got, tt.says) {
				t.Fatalf("told %q, want %q", got, tt.says)
			}
			if contains(got, "Expected wait") != tt.eta {
				t.Fatalf("told %q; promised a wait: %v, want %v", got, !tt.eta, tt.eta)
			}
			if !contains(got, "You're number 1 in the queue") {
				t.Fatalf("queue position not told: %q", got)
			}
			// Either way a waiting case exists that agents see.
			q, err := hs.engine.Queue(context.Background())
			if err != nil || len(q) != 1 || q[0].Conversation.ID != rc.ConversationID || q[0].Position != 1 {
				t.Fatalf("queue %+v, %v", q, err)
			}
			// The customer leaves a message with an email address.
			hs.sender.Reset()
			hs.MustSay(t, "v:1", "please email me at Jo@Example.com about my return")
			_, _, cust, _ := hs.MustConversation(t, rc.ConversationID)
			if cust.Profile.Email != "jo@example.com" {
				t.Fatalf("email %q not kept", cust.Profile.Email)
			}
			if got := hs.sender.Texts(); len(got) != 0 {
				t.Fatalf("bot answered a waiting customer: %q", got)
			}
			// And may go back to the bot.
			hs.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "Back to the bot", Choice: bot.ChoiceCancel})
			if conv, _, _, _ := hs.MustConversation(t, rc.ConversationID); conv.State != bot.StateBot {
				t.Fatalf("after cancel: state %s", conv.State)
			}
		})
	}
}

func TestResolve_ReturnsToTheBotWithANewContact(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	id := mustState(t, h, "v:1", bot.StateAgent)
	_, before, _, _ := h.MustConversation(t, id)
	h.sender.Reset()
	if err := h.engine.Resolve(ctx, id, alice); err != nil {
		t.Fatal(err)
	}
	if got := h.sender.Texts(); len(got) != 1 || got[0] != bot.ResolvedText {
		t.Fatalf("told %q", got)
	}
	conv, closed, _, _ := h.MustConversation(t, id)
	if conv.State != bot.StateResolved || conv.AgentID != "" || closed.Open() || closed.Outcome != bot.OutcomeAgentResolved || closed.AgentID != alice.ID {
		t.Fatalf("after resolve: state %s agent %q contact %+v", conv.State, conv.AgentID, closed)
	}
	if q, _ := h.engine.Queue(ctx); len(q) != 0 {
		t.Fatalf("resolved conversation still queued: %+v", q)
	}
	h.sender.Reset()
	h.MustSay(t, "v:1", "how long is shipping?")
	conv, after, _, _ := h.MustConversation(t, id)
	if conv.State != bot.StateBot || conv.AgentID != "" || after.ID == before.ID || !after.Open() || !after.EscalatedAt.IsZero() {
		t.Fatalf("after writing again: state %s agent %q contact %+v (old %s)", conv.State, conv.AgentID, after, before.ID)
	}
	if got := h.sender.Texts(); len(got) != 1 || got[0] != "Delivery takes 2-3 days." {
		t.Fatalf("bot did not answer after resolve: %q", got)
	}
	trs := mustTransitions(t, h, id)
	if last := trs[len(trs)-1]; last.From != bot.StateResolved || last.To != bot.StateBot || last.By != "customer" {
		t.Fatalf("last transition %+v", last)
	}
	// A later escalation goes to the queue, not to the last agent.
	h.MustSay(t, "v:1", "get me a human")
	if conv, _, _, _ := h.MustConversation(t, id); conv.State != bot.StateWaiting || conv.AgentID != "" {
		t.Fatalf("re-escalation: state %s agent %q", conv.State, conv.AgentID)
	}
}

func TestMetrics_MeasuredFromEscalationNeverBotTime(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	rc := h.MustSay(t, "v:1", "who are you")
	h.clock.Add(10 * time.Minute) // with the bot: never counted
	h.MustSay(t, "v:1", "how long is shipping?")
	h.clock.Add(5 * time.Minute)
	h.MustSay(t, "v:1", "get me a human")
	id := rc.ConversationID
	_, contact, _, _ := h.MustConversation(t, id)
	if _, ok := contact.FirstResponseTime(); ok {
		t.Fatal("first response time before any agent replied")
	}
	h.clock.Add(2 * time.Minute)
	if _, err := h.engine.Claim(ctx, id, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := h.engine.Note(ctx, id, alice, "looking"); err != nil { // a note is not a response
		t.Fatal(err)
	}
	h.clock.Add(1 * time.Minute)
	if _, err := h.engine.Reply(ctx, id, alice, "Hello"); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(4 * time.Minute)
	if _, err := h.engine.Reply(ctx, id, alice, "Anything else?"); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(1 * time.Minute)
	if err := h.engine.Resolve(ctx, id, alice); err != nil {
		t.Fatal(err)
	}
	_, contact, _, _ = h.MustConversation(t, id)
	if frt, ok := contact.FirstResponseTime(); !ok || frt != 3*time.Minute {
		t.Fatalf("first response time %v (%v), want 3m", frt, ok)
	}
	if res, ok := contact.ResolutionTime(); !ok || res != 8*time.Minute {
		t.Fatalf("resolution time %v (%v), want 8m", res, ok)
	}
	if bot := (bot.Contact{}); func() bool { _, ok := bot.ResolutionTime(); return ok }() {
		t.Fatal("a contact never escalated has a resolution time")
	}
}

func TestQueue_PositionsAndUpdates(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	users := []string{"v:1", "v:2", "v:3"}
	ids := map[string]string{}
	for _, u := range users {
		h.clock.Add(time.Minute)
		ids[u] = h.MustSay(t, u, "get me a human").ConversationID
	}
	lastTo := func(user string) string {
		var text string
		for _, s := range h.sender.Sent {
			if s.Conversation.UserID == user && s.Message.Data["kind"] == "queue" {
				text = s.Message.Text
			}
		}
		return text
	}
	for i, u := range users {
		want := fmt.Sprintf("You're number %d in the queue", i+1)
		if got := lastTo(u); !strings.HasPrefix(got, want) {
			t.Fatalf("%s told %q, want %q", u, got, want)
		}
		if pos, wait, err := h.engine.QueuePosition(ctx, ids[u]); err != nil || pos != i+1 || wait != time.Duration(i+1)*3*time.Minute {
			t.Fatalf("%s: position %d wait %v err %v", u, pos, wait, err)
		}
	}
	q, err := h.engine.Queue(ctx)
	if err != nil || len(q) != 3 || q[0].Wait != 2*time.Minute || q[2].Wait != 0 {
		t.Fatalf("queue %+v %v", q, err)
	}

	// Claiming the first moves everyone up, and tells them.
	h.sender.Reset()
	if _, err := h.engine.Claim(ctx, ids["v:1"], alice); err != nil {
		t.Fatal(err)
	}
	if got := lastTo("v:2"); !strings.HasPrefix(got, "You're number 1 in the queue") {
		t.Fatalf("v:2 told %q after the first was claimed", got)
	}
	if got := lastTo("v:3"); !strings.HasPrefix(got, "You're number 2 in the queue") {
		t.Fatalf("v:3 told %q after the first was claimed", got)
	}
	if got := lastTo("v:1"); got != "" {
		t.Fatalf("the claimed customer was told a queue position: %q", got)
	}
	q, _ = h.engine.Queue(ctx)
	order := []string{q[0].Conversation.ID, q[1].Conversation.ID, q[2].Conversation.ID}
	if order[0] != ids["v:2"] || order[1] != ids["v:3"] || order[2] != ids["v:1"] || q[2].Position != 0 || q[2].Conversation.AgentID != alice.ID {
		t.Fatalf("queue after claim: %+v", q)
	}

	// With two agents online the estimate halves.
	h.engine.SetPresence(presence(2))
	if pos, wait, _ := h.engine.QueuePosition(ctx, ids["v:3"]); pos != 2 || wait != 3*time.Minute {
		t.Fatalf("two agents: position %d wait %v", pos, wait)
	}

	// Leaving the queue moves the one behind up.
	h.sender.Reset()
	h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:2", Text: "Back to the bot", Choice: bot.ChoiceCancel})
	if got := lastTo("v:3"); !strings.HasPrefix(got, "You're number 1 in the queue") {
		t.Fatalf("v:3 told %q after v:2 left", got)
	}
	if pos, _, _ := h.engine.QueuePosition(ctx, ids["v:2"]); pos != 0 {
		t.Fatalf("a customer who left the queue has position %d", pos)
	}
}

func TestSetHandoff_CopiesTheCallersMaps(t *testing.T) {
	h := handoffHarness(t)
	m := map[bot.Stage]int{bot.StageAwareness: 1}
	h.engine.SetHandoff(bot.HandoffConfig{StageMaxMisses: m})
	m[bot.StageAwareness] = 5
	if got := h.engine.Handoff().StageMaxMisses[bot.StageAwareness]; got != 1 {
		t.Fatalf("engine sees the caller's later change: %d", got)
	}
	rc := h.MustSay(t, "v:1", "purple monkey")
	if conv, _, _, _ := h.MustConversation(t, rc.ConversationID); conv.State != bot.StateWaiting {
		t.Fatalf("state %s, want waiting after one miss", conv.State)
	}
}

func TestAgentsAvailable(t *testing.T) {
	h := newHarness(t)
	if ok, why := h.engine.AgentsAvailable(); !ok || why != "" {
		t.Fatalf("default: %v %q", ok, why)
	}
	h.engine.SetPresence(presence(0))
	if ok, why := h.engine.AgentsAvailable(); ok || why != "no_agents" {
		t.Fatalf("nobody online: %v %q", ok, why)
	}
	h.engine.SetHandoff(bot.HandoffConfig{Hours: &bot.BusinessHours{}})
	if ok, why := h.engine.AgentsAvailable(); ok || why != "closed" {
		t.Fatalf("never open: %v %q", ok, why)
	}
	if !errors.Is(bot.ErrIllegalTransition, bot.ErrIllegalTransition) {
		t.Fatal("unreachable")
	}
}

func TestFrustration_MatchesWholeWordsOnly(t *testing.T) {
	h := handoffHarness(t)
	h.engine.SetHandoff(bot.HandoffConfig{Frustration: []string{"scam", "fed up"}, MaxMisses: 10})
	for _, text := range []string{"do you sell scampi", "I fed upstairs neighbours"} {
		h.MustSay(t, "v:calm", text)
	}
	conv, _, _, _ := h.MustConversation(t, mustConvID(t, h, "v:calm"))
	if conv.State != bot.StateBot {
		t.Fatalf("words inside other words escalated the conversation (state %s)", conv.State)
	}
	h.MustSay(t, "v:calm", "this is a SCAM!")
	conv, _, _, _ = h.MustConversation(t, conv.ID)
	if conv.State != bot.StateWaiting {
		t.Fatalf("the whole word did not escalate (state %s)", conv.State)
	}
}
