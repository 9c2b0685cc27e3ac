package bot_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// mustDBState brings web user's conversation to s (bot, waiting or agent,
// held by alice) and returns its id.
func mustDBState(t *testing.T, h *dbHarness, user string, s bot.HandoffState) string {
	t.Helper()
	rc := h.MustSay(t, user, "who are you")
	if s == bot.StateBot {
		return rc.ConversationID
	}
	h.MustSay(t, user, "get me a human")
	if s == bot.StateAgent {
		if _, err := h.engine.Claim(context.Background(), rc.ConversationID, alice); err != nil {
			t.Fatal(err)
		}
	}
	return rc.ConversationID
}

func TestAssign(t *testing.T) {
	ctx := context.Background()
	t.Run("admin gives a waiting conversation to an agent", func(t *testing.T) {
		h := newDBHarness(t)
		id := mustDBState(t, h, "v:1", bot.StateWaiting)
		h.sender.Reset()
		conv, err := h.engine.Assign(ctx, id, root, bob)
		if err != nil {
			t.Fatal(err)
		}
		if conv.State != bot.StateAgent || conv.AgentID != "bob" {
			t.Fatalf("conversation %s held by %q, want agent held by bob", conv.State, conv.AgentID)
		}
		v := h.MustView(t, id)
		last := v.Transitions[len(v.Transitions)-1]
		if last.From != bot.StateWaiting || last.To != bot.StateAgent || last.By != "agent:root" || last.Reason != "assigned to bob" || last.Stage != v.Customer.Stage {
			t.Fatalf("transition %+v", last)
		}
		if v.Contact.AgentID != "bob" {
			t.Fatalf("contact agent %q, want bob", v.Contact.AgentID)
		}
		if got := h.sender.Texts(); !slices.Contains(got, "Bob has joined the conversation.") {
			t.Fatalf("customer was told %q", got)
		}
		// Bob now holds it as if he had claimed it; Alice does not.
		if _, err := h.engine.Reply(ctx, id, bob, "Hi, Bob here."); err != nil {
			t.Fatalf("bob's reply: %v", err)
		}
		if _, err := h.engine.Reply(ctx, id, alice, "me too"); bot.ErrorCode(err) != bot.ECodeForbidden {
			t.Fatalf("alice's reply: %v, want forbidden", err)
		}
	})
	refused := []struct {
		name  string
		state bot.HandoffState
		by    bot.Agent
		to    bot.Agent
		code  string
	}{
		{"an agent is forbidden", bot.StateWaiting, alice, bob, bot.ECodeForbidden},
		{"no agent to assign to is invalid", bot.StateWaiting, root, bot.Agent{}, bot.ECodeInvalid},
		{"a held conversation is a conflict", bot.StateAgent, root, bob, bot.ECodeConflict},
		{"a conversation with the bot is a conflict", bot.StateBot, root, bob, bot.ECodeConflict},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			h := newDBHarness(t)
			id := mustDBState(t, h, "v:1", tt.state)
			before := h.MustView(t, id)
			h.sender.Reset()
			_, err := h.engine.Assign(ctx, id, tt.by, tt.to)
			if bot.ErrorCode(err) != tt.code {
				t.Fatalf("err %v, want %s", err, tt.code)
			}
			after := h.MustView(t, id)
			if after.Conversation.State != tt.state || after.Conversation.AgentID != before.Conversation.AgentID || len(after.Transitions) != len(before.Transitions) {
				t.Fatalf("a refused assign changed the conversation: %+v", after.Conversation)
			}
			if got := h.sender.Texts(); len(got) != 0 {
				t.Fatalf("a refused assign told the customer %q", got)
			}
		})
	}
	t.Run("unknown conversation is not found", func(t *testing.T) {
		h := newDBHarness(t)
		if _, err := h.engine.Assign(ctx, "nope", root, bob); bot.ErrorCode(err) != bot.ECodeNotFound {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("assign racing a claim: exactly one wins", func(t *testing.T) {
		h := newDBHarness(t)
		id := mustDBState(t, h, "v:1", bot.StateWaiting)
		var wg sync.WaitGroup
		var assignErr, claimErr error
		start := make(chan struct{})
		wg.Go(func() { <-start; _, assignErr = h.engine.Assign(ctx, id, root, bob) })
		wg.Go(func() { <-start; _, claimErr = h.engine.Claim(ctx, id, alice) })
		close(start)
		wg.Wait()
		if (assignErr == nil) == (claimErr == nil) {
			t.Fatalf("assign %v, claim %v: want exactly one to win", assignErr, claimErr)
		}
		loser := assignErr
		if loser == nil {
			loser = claimErr
		}
		if bot.ErrorCode(loser) != bot.ECodeConflict {
			t.Fatalf("loser %v, want a conflict", loser)
		}
		v := h.MustView(t, id)
		if n := len(v.Transitions); v.Transitions[n-1].To != bot.StateAgent || v.Transitions[n-2].To != bot.StateWaiting {
			t.Fatalf("transitions %+v: want one move to agent", v.Transitions)
		}
	})
}
