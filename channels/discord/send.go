package discord

import (
	"context"
	"fmt"

	"github.com/bwmarrin/discordgo"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Address keys the adapter stores on a conversation (bot.Inbound.Address).
const (
	addrChannel  = "channel_id" // where replies go: DM channel, thread or channel
	addrReplyTo  = "reply_to"   // the customer's message, quoted in reply mode
	addrMode     = "mode"       // "dm", "thread" or "reply"
	addrGuild    = "guild_id"
	addrUserName = "user_name" // display name, for agents' cards
)

const modeDM = "dm"

// Send delivers a bot, agent or system message to a Discord customer:
// markdown text split at 2000 characters, an embed for order status data
// and buttons for quick replies on the last part.
func (a *Adapter) Send(ctx context.Context, conv bot.Conversation, msg bot.Message) error {
	if msg.Role == bot.RoleNote {
		return ErrNote
	}
	if a.closed.Load() && a.ctx.Err() != nil {
		return ErrClosed
	}
	if conv.Address[addrChannel] == "" {
		return ErrNoAddress
	}
	return a.post(ctx, conv.Address, msg)
}

// post sends msg to the channel in addr.
func (a *Adapter) post(ctx context.Context, addr map[string]string, msg bot.Message) error {
	ch := addr[addrChannel]
	parts := Split(content(msg), maxContent)
	var embeds []*discordgo.MessageEmbed
	if isOrder(msg.Data) {
		embeds = append(embeds, orderEmbed(msg.Data))
	}
	comps := choiceComponents(msg.Choices)
	if len(parts) == 0 {
		if len(embeds) == 0 && len(comps) == 0 {
			return nil
		}
		parts = []string{""}
	}
	reply := addr[addrMode] == string(ModeReply) && addr[addrReplyTo] != ""
	for i, p := range parts {
		ms := &discordgo.MessageSend{Content: p, AllowedMentions: noMentions(reply && i == 0)}
		if reply && i == 0 {
			no := false
			ms.Reference = &discordgo.MessageReference{MessageID: addr[addrReplyTo], ChannelID: ch, GuildID: addr[addrGuild], FailIfNotExists: &no}
		}
		if i == len(parts)-1 {
			ms.Embeds, ms.Components = embeds, comps
		}
		if _, err := a.s.ChannelMessageSendComplex(ch, ms, opt(ctx)); err != nil {
			return fmt.Errorf("discord: send: %w", err)
		}
	}
	return nil
}

// say posts plain text of ours (notices, hints) to a channel.
func (a *Adapter) say(ctx context.Context, channelID, text string) (*discordgo.Message, error) {
	var last *discordgo.Message
	for _, p := range Split(text, maxContent) {
		m, err := a.s.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{Content: p, AllowedMentions: noMentions(false)}, opt(ctx))
		if err != nil {
			return nil, fmt.Errorf("discord: send: %w", err)
		}
		last = m
	}
	return last, nil
}
