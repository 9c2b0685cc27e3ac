package discord

import (
	"context"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// ackTimeout bounds the interaction acknowledgement: Discord shows the
// click as failed unless it is acknowledged within 3 seconds.
const ackTimeout = 2500 * time.Millisecond

// onMessage runs on the gateway read loop: it drops what is not for the
// bot and queues the rest on the author's lane in that channel.
func (a *Adapter) onMessage(_ *discordgo.Session, mc *discordgo.MessageCreate) {
	if a.closed.Load() || mc.Message == nil {
		return
	}
	// Counted once queued, so a test that sees it can rely on the drain.
	defer a.received.Add(1)
	m := mc.Message
	if m.Author == nil || m.Author.Bot || m.Author.ID == a.BotID() || m.WebhookID != "" ||
		(m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply) {
		a.ignored.Add(1)
		return
	}
	// Outside DMs, only mentions and messages in the bot's own threads
	// concern it; which threads are its own is known from the store, so
	// that check runs in the lane.
	if !a.lanes.submit(m.ChannelID+"/"+m.Author.ID, func() { a.handleMessage(m) }) {
		a.dropped.Add(1)
		a.log.Warn("discord message dropped: queue full or closing", "discord_channel", m.ChannelID)
	}
}

// mentioned reports whether m mentions the bot.
func (a *Adapter) mentioned(m *discordgo.Message) bool {
	id := a.BotID()
	for _, u := range m.Mentions {
		if u != nil && u.ID == id {
			return true
		}
	}
	return id != "" && (strings.Contains(m.Content, "<@"+id+">") || strings.Contains(m.Content, "<@!"+id+">"))
}

// text is m's content without mentions of the bot.
func (a *Adapter) text(m *discordgo.Message) string {
	t := m.Content
	if id := a.BotID(); id != "" {
		t = strings.ReplaceAll(t, "<@"+id+">", "")
		t = strings.ReplaceAll(t, "<@!"+id+">", "")
	}
	return strings.TrimSpace(t)
}

func (a *Adapter) handleMessage(m *discordgo.Message) {
	ctx := a.ctx
	if m.GuildID == "" {
		a.customer(ctx, m, modeDM, m.ChannelID, m.ChannelID)
		return
	}
	rec, ok, err := a.thread(ctx, m.ChannelID)
	if err != nil {
		a.log.Error("discord thread lookup", "discord_channel", m.ChannelID, "err", err)
		return
	}
	switch {
	case ok && rec.Kind == kindAgent:
		a.agentMessage(ctx, m, rec)
		return
	case ok && rec.Kind == kindCustomer:
		a.customer(ctx, m, string(ModeThread), m.ChannelID, m.ChannelID)
		return
	case !a.mentioned(m) || m.ChannelID == a.cfg.AgentChannel:
		a.ignored.Add(1)
		return
	}
	text := a.text(m)
	if text == "" {
		a.handled.Add(1)
		addr := map[string]string{addrChannel: m.ChannelID, addrReplyTo: m.ID, addrMode: string(ModeReply), addrGuild: m.GuildID}
		if err := a.post(ctx, addr, bot.Message{Role: bot.RoleBot, Text: a.cfg.Greeting}); err != nil {
			a.log.Warn("discord greeting", "discord_channel", m.ChannelID, "err", err)
		}
		return
	}
	if a.mode(m.GuildID) == ModeThread {
		th, err := a.s.MessageThreadStart(m.ChannelID, m.ID, threadName(text), a.cfg.ThreadArchive, opt(ctx))
		if err == nil {
			err = a.putThread(ctx, th.ID, threadRec{Kind: kindCustomer, GuildID: m.GuildID, ParentID: m.ChannelID})
		}
		if err == nil {
			a.customer(ctx, m, string(ModeThread), th.ID, th.ID)
			return
		}
		// No permission, or the channel is itself a thread: reply instead.
		a.log.Warn("discord thread start failed; replying in channel", "discord_channel", m.ChannelID, "err", err)
	}
	a.customer(ctx, m, string(ModeReply), m.ChannelID, m.ChannelID)
}

// mode is the answer mode for a server.
func (a *Adapter) mode(guildID string) Mode {
	if m, ok := a.cfg.GuildModes[guildID]; ok {
		return m
	}
	return a.cfg.ReplyMode
}

// threadName names a support thread after the question.
func threadName(text string) string {
	name := strings.Join(strings.Fields(text), " ")
	if name == "" {
		name = "Support"
	}
	return truncate(name, maxThreadName)
}

// displayName is how a person appears: server nickname, display name,
// then username.
func displayName(u *discordgo.User, mem *discordgo.Member) string {
	if mem != nil && mem.Nick != "" {
		return mem.Nick
	}
	if u == nil {
		return ""
	}
	if u.GlobalName != "" {
		return u.GlobalName
	}
	return u.Username
}

// customer hands a customer's message to the engine. thread keys the
// conversation; channelID is where the answer goes.
func (a *Adapter) customer(ctx context.Context, m *discordgo.Message, mode, thread, channelID string) {
	text := a.text(m)
	if text == "" {
		// Attachments only, or content withheld without the Message
		// Content intent: nothing to answer.
		a.ignored.Add(1)
		return
	}
	in := bot.Inbound{
		Channel: bot.ChannelDiscord, UserID: m.Author.ID, Thread: thread, ClientID: m.ID, Text: text,
		// Guild channels and threads are readable by other members.
		Public: m.GuildID != "",
		Address: map[string]string{
			addrChannel: channelID, addrReplyTo: m.ID, addrMode: mode, addrGuild: m.GuildID,
			addrUserName: displayName(m.Author, m.Member),
		},
	}
	a.handle(ctx, in)
}

// handle runs the engine and tells the customer when their message could
// not be taken (too long, invalid) or something failed.
func (a *Adapter) handle(ctx context.Context, in bot.Inbound) {
	defer a.handled.Add(1)
	_, err := a.engine.Handle(ctx, in)
	if err == nil {
		return
	}
	if !bot.IsUserError(err) {
		a.log.Error("discord handle", "discord_channel", in.Address[addrChannel], "err", err)
	}
	if perr := a.post(ctx, in.Address, bot.Message{Role: bot.RoleSystem, Text: bot.ErrorMessage(err)}); perr != nil {
		a.log.Warn("discord error reply", "discord_channel", in.Address[addrChannel], "err", perr)
	}
}

// onInteraction runs on the gateway read loop. Button clicks are
// acknowledged at once (deferred update, type 6), then handled on a lane.
func (a *Adapter) onInteraction(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
	if a.closed.Load() || ic.Interaction == nil {
		return
	}
	defer a.received.Add(1)
	i := ic.Interaction
	if i.Type != discordgo.InteractionMessageComponent {
		a.ignored.Add(1)
		return
	}
	user := interactionUser(i)
	data, ok := i.Data.(discordgo.MessageComponentInteractionData)
	if user == nil || !ok {
		a.ignored.Add(1)
		return
	}
	acked := make(chan struct{})
	if !a.lanes.spawn(func() { defer close(acked); a.ack(i) }) {
		a.dropped.Add(1)
		return
	}
	id := data.CustomID
	var key string
	var fn func()
	switch {
	case strings.HasPrefix(id, idAgent):
		action, convID, _ := strings.Cut(strings.TrimPrefix(id, idAgent), ":")
		key = "conv:" + convID
		fn = func() { a.agentClick(i, user, action, convID, acked) }
	case strings.HasPrefix(id, idChoice), strings.HasPrefix(id, idChoiceIndex):
		key = i.ChannelID + "/" + user.ID
		fn = func() { a.choiceClick(i, user, id, acked) }
	default:
		a.ignored.Add(1)
		return
	}
	if !a.lanes.submit(key, fn) {
		a.dropped.Add(1)
		a.log.Warn("discord interaction dropped: queue full or closing", "discord_channel", i.ChannelID)
	}
}

func interactionUser(i *discordgo.Interaction) *discordgo.User {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User
	}
	return i.User
}

// ack acknowledges a click without a visible answer (the answer follows
// as a message). Discord refuses acknowledgements after 3 seconds.
func (a *Adapter) ack(i *discordgo.Interaction) {
	ctx, cancel := context.WithTimeout(a.ctx, ackTimeout)
	defer cancel()
	err := a.s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}, opt(ctx))
	if err != nil {
		a.log.Warn("discord interaction ack", "discord_channel", i.ChannelID, "err", scrub(err))
	}
}

// waitAck waits for the acknowledgement so the answer comes after it.
func (a *Adapter) waitAck(acked <-chan struct{}) {
	select {
	case <-acked:
	case <-a.ctx.Done():
	}
}

// choiceClick feeds a clicked quick reply to the engine as the customer's
// message, after disabling the buttons so the choice is made once.
func (a *Adapter) choiceClick(i *discordgo.Interaction, user *discordgo.User, id string, acked <-chan struct{}) {
	ctx := a.ctx
	a.waitAck(acked)
	var label, replyTo string
	if i.Message != nil {
		replyTo = i.Message.ID
		label = buttonLabel(i.Message.Components, id)
		if len(i.Message.Components) > 0 {
			comps := disabled(i.Message.Components)
			edit := &discordgo.MessageEdit{ID: i.Message.ID, Channel: i.ChannelID, Components: &comps}
			if _, err := a.s.ChannelMessageEditComplex(edit, opt(ctx)); err != nil {
				a.log.Warn("discord disable buttons", "discord_channel", i.ChannelID, "err", err)
			}
		}
	}
	choice := ""
	if v, ok := strings.CutPrefix(id, idChoice); ok {
		choice = v
		if label == "" {
			label = v
		}
	}
	if label == "" {
		a.ignored.Add(1)
		return
	}
	mode := modeDM
	if i.GuildID != "" {
		mode = string(ModeReply)
		if rec, ok, err := a.thread(ctx, i.ChannelID); err == nil && ok && rec.Kind == kindCustomer {
			mode = string(ModeThread)
		}
	}
	a.handle(ctx, bot.Inbound{
		Channel: bot.ChannelDiscord, UserID: user.ID, Thread: i.ChannelID, ClientID: "interaction:" + i.ID,
		Text: label, Choice: choice, Public: i.GuildID != "",
		Address: map[string]string{
			addrChannel: i.ChannelID, addrReplyTo: replyTo, addrMode: mode, addrGuild: i.GuildID,
			addrUserName: displayName(user, i.Member),
		},
	})
}
