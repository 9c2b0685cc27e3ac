package bot_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/bot/bottest"
	"github.com/frontdesk-chat/frontdesk/store"
)

// dbHarness is an engine on a real bbolt file, with the topics and
// script of the in-memory harness and a clock tests move.
type dbHarness struct {
	db     *store.DB
	engine *bot.Engine
	sender *bottest.Sender
	clock  *clock
}

func newDBHarness(t *testing.T) *dbHarness {
	t.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "t.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &dbHarness{db: db, sender: &bottest.Sender{}, clock: &clock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}}
	h.engine = bot.NewEngine(db, bot.Config{Now: h.clock.Now})
	h.engine.SetKnowledge(bot.NewKnowledge(topics, &bottest.Classifier{Script: map[string]bot.Prediction{
		"how long is shipping?": confident("shipping"),
		"who are you":           confident("who"),
		"get me a human":        confident("human"),
	}}))
	h.engine.Register(bot.ChannelWeb, h.sender)
	h.engine.Register(bot.ChannelSlack, h.sender)
	return h
}

// MustSend hands the engine a customer message.
func (h *dbHarness) MustSend(t *testing.T, in bot.Inbound) bot.Receipt {
	t.Helper()
	if in.Channel == "" {
		in.Channel = bot.ChannelWeb
	}
	rc, err := h.engine.Handle(context.Background(), in)
	if err != nil {
		t.Fatalf("Handle(%q): %v", in.Text, err)
	}
	return rc
}

// MustSay is MustSend of a web visitor's text.
func (h *dbHarness) MustSay(t *testing.T, user, text string) bot.Receipt {
	t.Helper()
	return h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: user, Text: text})
}

// MustView returns a conversation as agents see it.
func (h *dbHarness) MustView(t *testing.T, convID string) bot.ConversationView {
	t.Helper()
	v, err := h.engine.View(context.Background(), convID)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
