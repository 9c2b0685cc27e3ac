package discord

import (
	"context"
	"fmt"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Buckets this package keeps in the engine's store.
const (
	// BucketThreads maps a Discord thread id to what it is for (threadRec):
	// a customer's support thread or an agents' conversation thread.
	BucketThreads = "discord_threads"
	// BucketAgentThreads maps a conversation id to its agents' thread
	// (agentRec).
	BucketAgentThreads = "discord_agent_threads"
)

// Thread kinds.
const (
	kindCustomer = "customer"
	kindAgent    = "agent"
)

// threadRec is a thread the bot started.
type threadRec struct {
	Kind     string `json:"kind"`
	GuildID  string `json:"guild_id,omitempty"`
	ParentID string `json:"parent_id,omitempty"`
	// ConvID is the conversation of an agents' thread.
	ConvID string `json:"conv_id,omitempty"`
}

// agentRec is a conversation's thread in the agents' channel and the card
// (the summary message with Claim and Resolve) agents act on.
type agentRec struct {
	ThreadID      string `json:"thread_id"`
	CardChannelID string `json:"card_channel_id"`
	CardID        string `json:"card_id"`
}

func (a *Adapter) thread(ctx context.Context, id string) (threadRec, bool, error) {
	var rec threadRec
	var ok bool
	err := a.engine.Store().View(ctx, func(tx bot.Tx) error {
		var err error
		ok, err = tx.Get(BucketThreads, []byte(id), &rec)
		return err
	})
	if err != nil {
		return rec, false, fmt.Errorf("discord: load thread: %w", err)
	}
	return rec, ok, nil
}

func (a *Adapter) putThread(ctx context.Context, id string, rec threadRec) error {
	err := a.engine.Store().Update(ctx, func(tx bot.Tx) error {
		return tx.Put(BucketThreads, []byte(id), rec)
	})
	if err != nil {
		return fmt.Errorf("discord: store thread: %w", err)
	}
	return nil
}

func (a *Adapter) agentThread(ctx context.Context, convID string) (agentRec, bool, error) {
	var rec agentRec
	var ok bool
	err := a.engine.Store().View(ctx, func(tx bot.Tx) error {
		var err error
		ok, err = tx.Get(BucketAgentThreads, []byte(convID), &rec)
		return err
	})
	if err != nil {
		return rec, false, fmt.Errorf("discord: load agent thread: %w", err)
	}
	return rec, ok, nil
}

// putAgentThread stores both directions of the mapping in one transaction.
func (a *Adapter) putAgentThread(ctx context.Context, convID string, rec agentRec) error {
	err := a.engine.Store().Update(ctx, func(tx bot.Tx) error {
		if err := tx.Put(BucketAgentThreads, []byte(convID), rec); err != nil {
			return err
		}
		return tx.Put(BucketThreads, []byte(rec.ThreadID), threadRec{Kind: kindAgent, ParentID: rec.CardChannelID, ConvID: convID})
	})
	if err != nil {
		return fmt.Errorf("discord: store agent thread: %w", err)
	}
	return nil
}
