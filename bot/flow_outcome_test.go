package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

func TestOrderFlow_PublicConversationNeverAsksForProof(t *testing.T) {
	h := newOrdHarness(t, false)
	in := bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:chan", Public: true, Text: "where's order A1001"}
	r := mustOneReply(t, h.MustSend(t, in))
	mustContain(t, r, "private chat")
	if strings.Contains(r.Text, "Royal Mail") || strings.Contains(r.Text, ordAskProof) || r.Data != nil {
		t.Fatalf("a public thread got order details or a proof request: %+v", r)
	}
	if v := h.MustView(t, "v:chan"); v.Conversation.Flow != nil || !v.Conversation.Public {
		t.Fatalf("public conversation: flow %+v public %v", v.Conversation.Flow, v.Conversation.Public)
	}
}

func TestContactOutcome_FlowStepsSettleByWhatTheyAchieved(t *testing.T) {
	tests := []struct {
		name string
		say  []string
		want bot.Outcome
	}{
		{"left at the order-number question is abandoned", []string{"where is my order"}, bot.OutcomeAbandoned},
		{"left after a failed proof is abandoned", []string{"where is my order", "A1001", "wrong@example.com"}, bot.OutcomeAbandoned},
		{"the status answer is resolved by the bot", []string{"where is my order", "A1001", "jane@example.com"}, bot.OutcomeBotResolved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newOrdHarness(t, false)
			for _, text := range tt.say {
				h.MustSay(t, "v:jane", text)
			}
			h.clock.Add(31 * time.Minute)
			h.MustSay(t, "v:jane", "how do I return")
			var closed bot.Contact
			err := bot.Contacts(context.Background(), h.store, func(c bot.Contact) bool {
				if !c.Open() {
					closed = c
				}
				return true
			})
			if err != nil || closed.ID == "" {
				t.Fatalf("no closed contact (%v)", err)
			}
			if closed.Outcome != tt.want {
				t.Fatalf("outcome %s, want %s (turns %+v)", closed.Outcome, tt.want, closed.Turns)
			}
		})
	}
}

// failingFlow fails its second step.
type failingFlow struct{ calls int }

func (f *failingFlow) Step(_ context.Context, req bot.FlowRequest) (bot.FlowReply, error) {
	f.calls++
	if f.calls == 2 {
		return bot.FlowReply{}, errors.New("order system exploded")
	}
	return bot.FlowReply{Messages: []bot.Message{{Text: "What is your order number?"}}, State: &bot.FlowState{Name: bot.ActionTrackOrder, Step: "number"}}, nil
}

func TestHandle_FlowErrorKeepsTheFlowAndCountsAMiss(t *testing.T) {
	h := newHarness(t)
	h.engine.SetFlow(bot.ActionTrackOrder, &failingFlow{})
	rc := h.MustSay(t, "v:1", "where is my order")
	h.MustSay(t, "v:1", "A1234")
	conv, _, _, _ := h.MustConversation(t, rc.ConversationID)
	if conv.Flow == nil || conv.Flow.Step != "number" || conv.Misses != 1 {
		t.Fatalf("after a failing step: flow %+v misses %d; want the flow kept and one miss", conv.Flow, conv.Misses)
	}
	last, _ := h.sender.Last()
	if strings.Contains(last.Message.Text, "exploded") {
		t.Fatalf("internal error shown to the customer: %q", last.Message.Text)
	}
}

func TestHandle_WritingAfterResolvePublishesTheReturnToTheBot(t *testing.T) {
	h := newHarness(t)
	rc := h.MustSay(t, "v:1", "get me a human")
	agent := bot.Agent{ID: "ann", Name: "Ann"}
	if _, err := h.engine.Claim(context.Background(), rc.ConversationID, agent); err != nil {
		t.Fatal(err)
	}
	if err := h.engine.Resolve(context.Background(), rc.ConversationID, agent); err != nil {
		t.Fatal(err)
	}
	var states []bot.Transition
	h.engine.Subscribe(func(ev bot.Event) {
		if ev.Kind == bot.EventState {
			states = append(states, *ev.Transition)
		}
	})
	h.MustSay(t, "v:1", "who are you")
	if len(states) != 1 || states[0].From != bot.StateResolved || states[0].To != bot.StateBot {
		t.Fatalf("state events %+v, want resolved → bot", states)
	}
}

func TestAgentOps_ContactCloseIsPublishedOnce(t *testing.T) {
	h := newHarness(t)
	rc := h.MustSay(t, "v:1", "get me a human")
	agent := bot.Agent{ID: "ann", Name: "Ann"}
	closes := 0
	h.engine.Subscribe(func(ev bot.Event) {
		if ev.Kind == bot.EventContactClose {
			closes++
		}
	})
	if _, err := h.engine.Claim(context.Background(), rc.ConversationID, agent); err != nil {
		t.Fatal(err)
	}
	if err := h.engine.Resolve(context.Background(), rc.ConversationID, agent); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := h.engine.Note(context.Background(), rc.ConversationID, agent, "follow-up note"); err != nil {
			t.Fatal(err)
		}
	}
	if closes != 1 {
		t.Fatalf("contact.close published %d times for one resolve and three notes, want 1", closes)
	}
}

func TestForget_RemovesEveryVerifiedEmailOfALinkedCustomer(t *testing.T) {
	ctx := context.Background()
	h := newDBHarness(t)
	web := h.MustSend(t, bot.Inbound{UserID: "u:1", Text: "who are you", Profile: &bot.Profile{Email: "ann@work.example", Verified: true}})
	slack := h.MustSend(t, bot.Inbound{Channel: bot.ChannelSlack, UserID: "T1:U1", Text: "who are you", Profile: &bot.Profile{Email: "ann@home.example", Verified: true}})
	for _, id := range []string{web.CustomerID, slack.CustomerID} {
		if _, _, err := h.engine.LinkVerified(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	merged, err := h.engine.Link(ctx, web.CustomerID, slack.CustomerID, "same person")
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"ann@work.example", "ann@home.example"} {
		if c, err := h.engine.CustomerByVerifiedEmail(ctx, email); err != nil || c.ID != merged.ID {
			t.Fatalf("before forget %s → %q, %v; want the merged customer", email, c.ID, err)
		}
	}
	if _, err := h.engine.Forget(ctx, merged.ID); err != nil {
		t.Fatal(err)
	}
	err = h.db.View(ctx, func(tx bot.Tx) error {
		return tx.Scan(bot.BucketJourney, []byte("email/"), nil, func(key []byte, _ func(any) error) (bool, error) {
			t.Errorf("forget left the verified email index entry %q", key)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHandle_ProfilesMergeAndVerifiedDetailsWin(t *testing.T) {
	h := newHarness(t)
	send := func(p bot.Profile) bot.Customer {
		t.Helper()
		rc := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "u:42", Text: "who are you", Profile: &p})
		_, _, cust, _ := h.MustConversation(t, rc.ConversationID)
		return cust
	}
	send(bot.Profile{Name: "Ann"})
	c := send(bot.Profile{ExternalID: "42", Email: "ann@example.com", Verified: true})
	if c.Profile != (bot.Profile{ExternalID: "42", Email: "ann@example.com", Name: "Ann", Verified: true}) {
		t.Fatalf("verified details did not merge with the name: %+v", c.Profile)
	}
	c = send(bot.Profile{Name: "Mallory", Email: "mallory@example.com"})
	if c.Profile.Email != "ann@example.com" || c.Profile.Name != "Ann" || !c.Profile.Verified {
		t.Fatalf("unverified details overwrote verified ones: %+v", c.Profile)
	}
}

func TestCloseIdle_ClosesEveryQuietContactAcrossReadBatches(t *testing.T) {
	h := newHarness(t)
	const n = 1100 // more than two of CloseIdle's read batches
	for i := 0; i < n; i++ {
		h.MustSay(t, fmt.Sprintf("v:%d", i), "who are you")
	}
	h.clock.Add(31 * time.Minute)
	closed, err := h.engine.CloseIdle(context.Background(), h.clock.Now())
	if err != nil || closed != n {
		t.Fatalf("closed %d (%v), want all %d", closed, err, n)
	}
	open := 0
	_ = bot.Contacts(context.Background(), h.store, func(c bot.Contact) bool {
		if c.Open() {
			open++
		}
		return true
	})
	if open != 0 {
		t.Fatalf("%d contacts still open", open)
	}
}
