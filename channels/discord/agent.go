package discord

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// The agent side: every escalated conversation, whatever the customer's
// channel, gets a thread in the agents' channel with a card (summary,
// Claim and Resolve). Agents talk in the thread. The internal-note rule:
// a thread message reaches the customer only when its author holds the
// conversation AND it starts with "reply:"; everything else is stored as
// a private note and never sent.

// Reactions on agents' thread messages.
const (
	reactRelayed = "✅"
	reactNote    = "📝"
)

// replyPrefix marks an agent's thread message meant for the customer.
const replyPrefix = "reply:"

// cutReply returns the text after a leading "reply:" (any case).
func cutReply(text string) (string, bool) {
	if len(text) < len(replyPrefix) || !strings.EqualFold(text[:len(replyPrefix)], replyPrefix) {
		return "", false
	}
	return strings.TrimSpace(text[len(replyPrefix):]), true
}

// agentOf is the engine's agent for a Discord member.
func agentOf(u *discordgo.User, mem *discordgo.Member) bot.Agent {
	return bot.Agent{ID: "discord:" + u.ID, Name: displayName(u, mem), Role: bot.RoleNameAgent}
}

// isAgent reports whether a member may act as an agent: anyone in the
// agents' channel, or members with AgentRole when it is set.
func (a *Adapter) isAgent(mem *discordgo.Member) bool {
	if a.cfg.AgentRole == "" {
		return true
	}
	return mem != nil && slices.Contains(mem.Roles, a.cfg.AgentRole)
}

// onEvent is the engine subscriber. It must not block: work is queued
// on the conversation's lane, which keeps a thread's posts in order.
func (a *Adapter) onEvent(ev bot.Event) {
	if a.closed.Load() {
		return
	}
	conv := ev.Conversation
	var fn func()
	switch ev.Kind {
	case bot.EventState:
		if ev.Transition == nil {
			return
		}
		tr := *ev.Transition
		fn = func() { a.onState(conv, tr) }
	case bot.EventMessage:
		if ev.Message == nil || ev.Message.Role != bot.RoleCustomer || (conv.State != bot.StateWaiting && conv.State != bot.StateAgent) {
			return
		}
		msg := *ev.Message
		fn = func() { a.mirror(conv, msg) }
	default:
		return
	}
	if !a.lanes.submit("conv:"+conv.ID, fn) {
		a.dropped.Add(1)
		a.log.Warn("discord agent event dropped: queue full or closing", "conversation", conv.ID)
	}
}

// backfill posts cards for conversations handed off while the adapter
// was not running (events are not stored, so they were missed).
func (a *Adapter) backfill(ctx context.Context) {
	q, err := a.engine.Queue(ctx)
	if err != nil {
		a.log.Warn("discord backfill", "err", err)
		return
	}
	for _, en := range q {
		conv := en.Conversation
		tr := bot.Transition{ConversationID: conv.ID, To: bot.StateWaiting, Reason: en.Contact.EscalationTrigger}
		a.lanes.submit("conv:"+conv.ID, func() {
			_, ok, err := a.agentThread(a.ctx, conv.ID)
			if err != nil || ok {
				return
			}
			if err := a.postCard(a.ctx, conv.ID, tr, agentRec{}, false); err != nil {
				a.log.Error("discord escalation card", "conversation", conv.ID, "err", err)
			}
		})
	}
}

// onState keeps the agents' thread in step with the handoff state.
func (a *Adapter) onState(conv bot.Conversation, tr bot.Transition) {
	ctx := a.ctx
	rec, ok, err := a.agentThread(ctx, conv.ID)
	if err != nil {
		a.log.Error("discord agent thread lookup", "conversation", conv.ID, "err", err)
		return
	}
	if tr.To == bot.StateWaiting {
		if err := a.postCard(ctx, conv.ID, tr, rec, ok); err != nil {
			a.log.Error("discord escalation card", "conversation", conv.ID, "err", err)
		}
		return
	}
	if !ok {
		return
	}
	var note string
	switch {
	case tr.To == bot.StateAgent && tr.From == bot.StateWaiting:
		note = "✋ " + who(conv.AgentID) + " claimed this conversation. Start a message with `reply:` to answer the customer; anything else stays an internal note."
	case tr.To == bot.StateAgent:
		note = "↪️ Transferred to " + who(conv.AgentID) + "."
	case tr.To == bot.StateResolved:
		note = "✅ Resolved by " + who(strings.TrimPrefix(tr.By, "agent:")) + "."
	case tr.To == bot.StateBot && tr.From == bot.StateWaiting:
		note = "↩️ The customer left the queue and is back with the bot."
	default:
		return
	}
	if _, err := a.say(ctx, rec.ThreadID, note); err != nil {
		a.log.Warn("discord agent notice", "conversation", conv.ID, "err", err)
	}
	if err := a.refreshCard(ctx, conv.ID, rec); err != nil {
		a.log.Warn("discord card update", "conversation", conv.ID, "err", err)
	}
}

// who shows an agent id: a Discord agent as a mention (rendered as their
// name, pinging nobody), anyone else escaped.
func who(agentID string) string {
	if id, ok := strings.CutPrefix(agentID, "discord:"); ok && id != "" {
		return "<@" + id + ">"
	}
	if agentID == "" {
		return "someone"
	}
	return "**" + Escape(agentID) + "**"
}

// postCard posts an escalation card: in the agents' channel with a new
// thread the first time, in the existing thread when a conversation comes
// back to the queue.
func (a *Adapter) postCard(ctx context.Context, convID string, tr bot.Transition, rec agentRec, exists bool) error {
	v, err := a.engine.View(ctx, convID)
	if err != nil {
		return err
	}
	card := a.card(v, tr.Reason)
	if exists {
		m, err := a.s.ChannelMessageSendComplex(rec.ThreadID, card, opt(ctx))
		if err != nil {
			return fmt.Errorf("discord: post card: %w", err)
		}
		old := rec
		rec.CardChannelID, rec.CardID = rec.ThreadID, m.ID
		if err := a.putAgentThread(ctx, convID, rec); err != nil {
			return err
		}
		a.disableCard(ctx, old)
		return nil
	}
	m, err := a.s.ChannelMessageSendComplex(a.cfg.AgentChannel, card, opt(ctx))
	if err != nil {
		return fmt.Errorf("discord: post card: %w", err)
	}
	name := truncate(customerLabel(v)+" · "+triggerOf(v, tr.Reason), maxThreadName)
	th, err := a.s.MessageThreadStart(a.cfg.AgentChannel, m.ID, name, a.cfg.AgentThreadArchive, opt(ctx))
	if err != nil {
		return fmt.Errorf("discord: start agent thread: %w", err)
	}
	rec = agentRec{ThreadID: th.ID, CardChannelID: a.cfg.AgentChannel, CardID: m.ID}
	if err := a.putAgentThread(ctx, convID, rec); err != nil {
		return err
	}
	_, err = a.say(ctx, th.ID, "Claim this conversation to answer. In this thread, only messages starting with `reply:` from the agent who claimed it go to the customer; everything else is an internal note (📝).")
	return err
}

// refreshCard redraws the current card for the conversation's state.
func (a *Adapter) refreshCard(ctx context.Context, convID string, rec agentRec) error {
	v, err := a.engine.View(ctx, convID)
	if err != nil {
		return err
	}
	card := a.card(v, "")
	edit := &discordgo.MessageEdit{ID: rec.CardID, Channel: rec.CardChannelID, Embeds: &card.Embeds, Components: &card.Components}
	_, err = a.s.ChannelMessageEditComplex(edit, opt(ctx))
	return err
}

func (a *Adapter) disableCard(ctx context.Context, rec agentRec) {
	comps := disabled(cardButtons("", false, false))
	edit := &discordgo.MessageEdit{ID: rec.CardID, Channel: rec.CardChannelID, Components: &comps}
	if _, err := a.s.ChannelMessageEditComplex(edit, opt(ctx)); err != nil {
		a.log.Warn("discord old card", "err", err)
	}
}

func cardButtons(convID string, claim, resolve bool) []discordgo.MessageComponent {
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Claim", Style: discordgo.PrimaryButton, CustomID: idAgent + "claim:" + convID, Disabled: !claim},
		discordgo.Button{Label: "Resolve", Style: discordgo.SuccessButton, CustomID: idAgent + "resolve:" + convID, Disabled: !resolve},
	}}}
}

// customerLabel names the customer for agents.
func customerLabel(v bot.ConversationView) string {
	p := v.Customer.Profile
	switch {
	case p.Name != "":
		return p.Name
	case v.Conversation.Address[addrUserName] != "":
		return v.Conversation.Address[addrUserName]
	case p.Email != "":
		return p.Email
	}
	return string(v.Conversation.Channel) + " customer"
}

func triggerOf(v bot.ConversationView, reason string) string {
	if v.Contact.EscalationTrigger != "" {
		return v.Contact.EscalationTrigger
	}
	if reason != "" {
		return reason
	}
	return "escalated"
}

// card is the escalation summary agents act on: customer, channel,
// journey stage, trigger, state and a short transcript.
func (a *Adapter) card(v bot.ConversationView, reason string) *discordgo.MessageSend {
	conv := v.Conversation
	cust := Escape(customerLabel(v))
	if p := v.Customer.Profile; p.Email != "" && p.Email != customerLabel(v) {
		cust += " (" + Escape(p.Email) + ")"
	}
	if conv.Channel == bot.ChannelDiscord {
		cust += " <@" + conv.UserID + ">"
	}
	state := "Waiting for an agent"
	switch conv.State {
	case bot.StateAgent:
		state = "With " + who(conv.AgentID)
	case bot.StateResolved:
		state = "Resolved"
	case bot.StateBot:
		state = "Back with the bot"
	}
	fields := []*discordgo.MessageEmbedField{
		{Name: "Customer", Value: truncate(cust, maxFieldValue), Inline: true},
		{Name: "Channel", Value: Escape(string(conv.Channel)), Inline: true},
		{Name: "Journey stage", Value: Escape(string(v.Customer.Stage)), Inline: true},
		{Name: "Trigger", Value: Escape(triggerOf(v, reason)), Inline: true},
		{Name: "State", Value: state, Inline: true},
	}
	if v.Contact.OrderNumber != "" {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "Order", Value: Escape(v.Contact.OrderNumber), Inline: true})
	}
	embed := &discordgo.MessageEmbed{
		Type: discordgo.EmbedTypeRich, Title: truncate("Needs a person: "+customerLabel(v), maxEmbedTitle),
		Description: transcript(v.Messages, a.cfg.TranscriptLines), Fields: fields, Color: 0xED4245,
		Footer: &discordgo.MessageEmbedFooter{Text: "Conversation " + conv.ID},
	}
	return &discordgo.MessageSend{
		Embeds:          []*discordgo.MessageEmbed{embed},
		Components:      cardButtons(conv.ID, conv.State == bot.StateWaiting, conv.State == bot.StateWaiting || conv.State == bot.StateAgent),
		AllowedMentions: noMentions(false),
	}
}

// transcript is the last n messages, notes left out, each shortened.
func transcript(msgs []bot.Message, n int) string {
	var lines []string
	for i := len(msgs) - 1; i >= 0 && len(lines) < n; i-- {
		m := msgs[i]
		if m.Role == bot.RoleNote || m.Text == "" {
			continue
		}
		who := map[bot.Role]string{bot.RoleCustomer: "Customer", bot.RoleBot: "Bot", bot.RoleAgent: "Agent", bot.RoleSystem: "System"}[m.Role]
		if m.Role == bot.RoleAgent && m.Author != "" {
			who = m.Author
		}
		lines = append(lines, "**"+Escape(who)+":** "+Escape(truncate(strings.Join(strings.Fields(m.Text), " "), 300)))
	}
	slices.Reverse(lines)
	out := strings.Join(lines, "\n")
	if out == "" {
		out = "(no messages)"
	}
	return truncate(out, maxEmbedDesc)
}

// mirror copies a customer's message into the agents' thread.
func (a *Adapter) mirror(conv bot.Conversation, msg bot.Message) {
	ctx := a.ctx
	rec, ok, err := a.agentThread(ctx, conv.ID)
	if err != nil || !ok {
		return
	}
	if _, err := a.say(ctx, rec.ThreadID, "**Customer:** "+Escape(msg.Text)); err != nil {
		a.log.Warn("discord mirror", "conversation", conv.ID, "err", err)
	}
}

// agentMessage applies the internal-note rule to a message in an agents'
// thread.
func (a *Adapter) agentMessage(ctx context.Context, m *discordgo.Message, rec threadRec) {
	defer a.handled.Add(1)
	if !a.isAgent(m.Member) {
		a.log.Debug("discord agent thread: not an agent", "thread", m.ChannelID)
		return
	}
	text := a.text(m)
	if text == "" {
		return
	}
	agent := agentOf(m.Author, m.Member)
	if body, ok := cutReply(text); ok && body != "" {
		v, err := a.engine.View(ctx, rec.ConvID)
		if err != nil {
			a.log.Error("discord agent view", "conversation", rec.ConvID, "err", err)
			return
		}
		if v.Conversation.State != bot.StateAgent || v.Conversation.AgentID != agent.ID {
			a.notify(ctx, m.ChannelID, "Not sent to the customer: only the agent who claimed this conversation can reply. Kept as an internal note.")
		} else if _, err := a.engine.Reply(ctx, rec.ConvID, agent, body); err != nil {
			// Kept as a note below, so nothing the agent wrote is lost.
			a.notify(ctx, m.ChannelID, "Not sent to the customer: "+bot.ErrorMessage(err)+" Kept as an internal note.")
		} else {
			a.react(ctx, m, reactRelayed)
			return
		}
	}
	if _, err := a.engine.Note(ctx, rec.ConvID, agent, text); err != nil {
		a.log.Error("discord agent note", "conversation", rec.ConvID, "err", err)
		a.notify(ctx, m.ChannelID, "Could not save this note: "+bot.ErrorMessage(err))
		return
	}
	a.react(ctx, m, reactNote)
}

func (a *Adapter) react(ctx context.Context, m *discordgo.Message, emoji string) {
	if err := a.s.MessageReactionAdd(m.ChannelID, m.ID, emoji, opt(ctx)); err != nil {
		a.log.Warn("discord react", "discord_channel", m.ChannelID, "err", err)
	}
}

func (a *Adapter) notify(ctx context.Context, channelID, text string) {
	if _, err := a.say(ctx, channelID, text); err != nil {
		a.log.Warn("discord notice", "discord_channel", channelID, "err", err)
	}
}

// agentClick handles Claim and Resolve. Success shows in the thread
// through the state event; failure is told to the clicker alone.
func (a *Adapter) agentClick(i *discordgo.Interaction, user *discordgo.User, action, convID string, acked <-chan struct{}) {
	defer a.handled.Add(1)
	ctx := a.ctx
	a.waitAck(acked)
	if i.GuildID == "" || !a.isAgent(i.Member) {
		a.ephemeral(ctx, i, "Only agents can do this.")
		return
	}
	// The button must sit on this conversation's card in the staff
	// channel or its thread: a click forged elsewhere acts on nothing.
	if rec, ok, err := a.agentThread(ctx, convID); err != nil || !ok || (i.ChannelID != rec.CardChannelID && i.ChannelID != rec.ThreadID) {
		a.ignored.Add(1)
		a.ephemeral(ctx, i, "This button does not belong to a conversation here.")
		return
	}
	agent := agentOf(user, i.Member)
	var err error
	switch action {
	case "claim":
		_, err = a.engine.Claim(ctx, convID, agent)
	case "resolve":
		err = a.engine.Resolve(ctx, convID, agent)
	default:
		return
	}
	if err != nil {
		if !bot.IsUserError(err) {
			a.log.Error("discord agent action", "action", action, "conversation", convID, "err", err)
		}
		a.ephemeral(ctx, i, bot.ErrorMessage(err))
	}
}

// ephemeral answers a click with a message only the clicker sees.
func (a *Adapter) ephemeral(ctx context.Context, i *discordgo.Interaction, text string) {
	_, err := a.s.FollowupMessageCreate(i, false, &discordgo.WebhookParams{Content: truncate(text, maxContent), Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions(false)}, opt(ctx))
	if err != nil {
		a.log.Warn("discord ephemeral", "discord_channel", i.ChannelID, "err", scrub(err))
	}
}
