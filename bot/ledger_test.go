package bot_test

import (
	"context"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

func TestQueryContacts_Filters(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	start := h.clock.Now()
	h.MustSay(t, "v:1", "who are you")           // awareness, bot resolved
	h.clock.Add(time.Hour)                       //
	h.MustSay(t, "v:2", "how long is shipping?") // awareness at start
	h.clock.Add(time.Hour)                       //
	h.MustSay(t, "v:3", "do you sell unicorns")  // abandoned once closed
	h.clock.Add(time.Hour)                       //
	h.MustSay(t, "v:1", "get me a human")        // new contact (idle), waiting
	if n := h.closeIdle(t); n != 2 {
		t.Fatalf("closed %d, want 2 (the waiting one stays open)", n)
	}
	ids := func(f bot.ContactFilter) int {
		t.Helper()
		cs, err := bot.ListContacts(ctx, h.store, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	tests := []struct {
		name string
		f    bot.ContactFilter
		want int
	}{
		{"everything", bot.ContactFilter{}, 4},
		{"since the second hour", bot.ContactFilter{Since: start.Add(time.Hour)}, 3},
		{"until the second hour", bot.ContactFilter{Until: start.Add(time.Hour)}, 1},
		{"a one-hour window", bot.ContactFilter{Since: start.Add(time.Hour), Until: start.Add(2 * time.Hour)}, 1},
		{"abandoned", bot.ContactFilter{Outcomes: []bot.Outcome{bot.OutcomeAbandoned}}, 1},
		{"bot resolved", bot.ContactFilter{Outcomes: []bot.Outcome{bot.OutcomeBotResolved}}, 2},
		{"waiting", bot.ContactFilter{Outcomes: []bot.Outcome{bot.OutcomeWaiting}}, 1},
		{"consideration at start", bot.ContactFilter{Stages: []bot.Stage{bot.StageConsideration}}, 0},
		{"awareness at start", bot.ContactFilter{Stages: []bot.Stage{bot.StageAwareness}}, 4},
		{"slack", bot.ContactFilter{Channels: []bot.Channel{bot.ChannelSlack}}, 0},
		{"web", bot.ContactFilter{Channels: []bot.Channel{bot.ChannelWeb}}, 4},
	}
	// v:1's first contact was closed by its second message; v:2 and v:3 by
	// the sweep. The queue contact is still waiting.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(tt.f); got != tt.want {
				t.Fatalf("%d contacts, want %d", got, tt.want)
			}
		})
	}
}

func TestCloseIdle_KeepsRecentAndHandedOffContacts(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	var rec events
	rec.record(h.engine, bot.EventContactClose)
	a := h.MustSay(t, "v:1", "how long is shipping?")
	h.MustSay(t, "v:2", "get me a human")
	h.clock.Add(20 * time.Minute)
	b := h.MustSay(t, "v:3", "who are you")
	h.clock.Add(11 * time.Minute)
	// v:1 has been quiet 31 minutes, v:3 11 minutes, v:2 waits for a person.
	if n, err := h.engine.CloseIdle(ctx, h.clock.Now()); err != nil || n != 1 {
		t.Fatalf("closed %d, %v", n, err)
	}
	if c := h.contact(t, a.ConversationID); c.Open() || c.Outcome != bot.OutcomeBotResolved || !c.EndedAt.Equal(c.LastActivityAt) {
		t.Fatalf("v:1 contact %+v", c)
	}
	if c := h.contact(t, b.ConversationID); !c.Open() {
		t.Fatal("v:3 closed too early")
	}
	// The next sweep still sees v:3 (the watermark kept it in view).
	h.clock.Add(30 * time.Minute)
	if n, err := h.engine.CloseIdle(ctx, h.clock.Now()); err != nil || n != 1 {
		t.Fatalf("second sweep closed %d, %v", n, err)
	}
	if c := h.contact(t, b.ConversationID); c.Open() {
		t.Fatal("v:3 still open")
	}
	if n := len(rec.all()); n != 2 {
		t.Fatalf("%d close events, want 2", n)
	}
	// Nothing left but the waiting contact: sweeping again closes nothing.
	if n, err := h.engine.CloseIdle(ctx, h.clock.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("third sweep closed %d, %v", n, err)
	}
}
