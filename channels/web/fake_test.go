package web

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Canned answers of fakeBot.
const (
	hoursQuestion = "What are your opening hours?"
	hoursAnswer   = "We're open Monday to Saturday, 9:00 to 18:00."
	dontKnow      = "Sorry, I don't know the answer to that."
	humanAnswer   = "I'm handing you over to a person from our team."
)

// fakeBot is a hand-written stand-in for *bot.Engine: it stores messages in
// memory, dedupes by ClientID, calls Stored, and answers through the
// server's Send like the engine does.
type fakeBot struct {
	send func(ctx context.Context, conv bot.Conversation, msg bot.Message) error

	// gate, when set, is waited on before Stored is called.
	gate chan struct{}
	// handleErr, when set, is returned by Handle before storing.
	handleErr error
	// historyErr, when set, is returned by History.
	historyErr error

	mu       sync.Mutex
	inbounds []bot.Inbound
	convs    map[string]*fakeConv // by UserID
	seq      int
}

type fakeConv struct {
	conv     bot.Conversation
	msgs     []bot.Message
	byClient map[string]bot.Message
}

func newFakeBot() *fakeBot { return &fakeBot{convs: map[string]*fakeConv{}} }

func (f *fakeBot) Handle(ctx context.Context, in bot.Inbound) (bot.Receipt, error) {
	if f.handleErr != nil {
		return bot.Receipt{}, f.handleErr
	}
	text, err := bot.CleanText(in.Text, 0)
	if err != nil {
		return bot.Receipt{}, err
	}
	f.mu.Lock()
	f.inbounds = append(f.inbounds, in)
	fc := f.convs[in.UserID]
	if fc == nil {
		f.seq++
		fc = &fakeConv{
			conv:     bot.Conversation{ID: fmt.Sprintf("conv-%d", f.seq), Channel: in.Channel, UserID: in.UserID, State: bot.StateBot},
			byClient: map[string]bot.Message{},
		}
		f.convs[in.UserID] = fc
	}
	prev, dup := fc.byClient[in.ClientID]
	msg := prev
	if !dup {
		msg = fc.add(bot.Message{ClientID: in.ClientID, Role: bot.RoleCustomer, Text: text})
		fc.byClient[in.ClientID] = msg
	}
	conv := fc.conv
	f.mu.Unlock()

	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return bot.Receipt{}, ctx.Err()
		}
	}
	rc := bot.Receipt{MessageID: msg.ID, ConversationID: conv.ID, Seq: msg.Seq, Duplicate: dup, At: msg.At}
	if in.Stored != nil {
		in.Stored(rc)
	}
	if dup {
		return rc, nil
	}

	reply := bot.Message{Role: bot.RoleBot, Text: dontKnow, Choices: []bot.Choice{
		{Label: "Opening hours", Value: "hours"},
		{Label: "Talk to a person", Value: bot.ChoiceHuman},
	}}
	switch {
	case in.Choice == "hours" || strings.Contains(strings.ToLower(text), "opening hours"):
		reply = bot.Message{Role: bot.RoleBot, Text: hoursAnswer}
	case in.Choice == bot.ChoiceHuman:
		reply = bot.Message{Role: bot.RoleBot, Text: humanAnswer}
	}
	f.mu.Lock()
	reply = fc.add(reply)
	f.mu.Unlock()
	if f.send != nil {
		if err := f.send(ctx, conv, reply); err != nil {
			return rc, fmt.Errorf("fake: deliver: %w", err)
		}
	}
	return rc, nil
}

func (fc *fakeConv) add(m bot.Message) bot.Message {
	m.Seq = uint64(len(fc.msgs) + 1)
	m.ID = fmt.Sprintf("%s-m%d", fc.conv.ID, m.Seq)
	m.ConversationID = fc.conv.ID
	m.At = time.Date(2026, 11, 20, 10, 0, int(m.Seq), 0, time.UTC)
	fc.msgs = append(fc.msgs, m)
	fc.conv.LastSeq = m.Seq
	return m
}

func (f *fakeBot) History(ctx context.Context, ch bot.Channel, userID, thread string, limit int) (bot.Conversation, []bot.Message, error) {
	if f.historyErr != nil {
		return bot.Conversation{}, nil, f.historyErr
	}
	if err := ctx.Err(); err != nil {
		return bot.Conversation{}, nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fc := f.convs[userID]
	if fc == nil || ch != bot.ChannelWeb || thread != "" {
		return bot.Conversation{}, nil, nil
	}
	msgs := fc.msgs
	if len(msgs) > limit {
		msgs = msgs[len(msgs)-limit:]
	}
	return fc.conv, append([]bot.Message(nil), msgs...), nil
}

// Inbounds returns a copy of every message handed to Handle.
func (f *fakeBot) Inbounds() []bot.Inbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bot.Inbound(nil), f.inbounds...)
}

// conversation returns the stored conversation of a user.
func (f *fakeBot) conversation(userID string) (bot.Conversation, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fc := f.convs[userID]
	if fc == nil {
		return bot.Conversation{}, false
	}
	return fc.conv, true
}

var errBoom = errors.New("fake: disk on fire at /var/lib/frontdesk")
