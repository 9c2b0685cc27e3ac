package discord_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/bot/bottest"
	"github.com/frontdesk-chat/frontdesk/channels/discord"
	"github.com/frontdesk-chat/frontdesk/channels/discord/discordfake"
	"github.com/frontdesk-chat/frontdesk/store"
)

// Ids of the fake Discord world.
const (
	guild      = "300000000000000001"
	channel    = "300000000000000002"
	staffGuild = "400000000000000001"
	staff      = "400000000000000002"
	agentRole  = "400000000000000003"
	alice      = "500000000000000001"
	bob        = "500000000000000002"
	agentAnn   = "600000000000000001"
	agentBen   = "600000000000000002"
	otherBot   = "700000000000000001"
)

const (
	askShipping = "how long is shipping?"
	answer      = "We ship within **2 days**."
	askVague    = "help me choose"
)

var topics = []bot.Topic{
	{ID: "shipping", Title: "Shipping times", Stage: bot.StageConsideration, Questions: []string{askShipping}, Answer: answer},
	{ID: "returns", Title: "Returns", Stage: bot.StagePostPurchase, Questions: []string{"can I return it?"}, Answer: "You have 30 days."},
}

var script = map[string]bot.Prediction{
	askShipping: {Intent: "shipping", Confidence: 0.95, Verdict: bot.Confident, Language: "en", Alternatives: []bot.Scored{{Intent: "shipping", Confidence: 0.95}}},
	askVague: {Intent: "shipping", Confidence: 0.5, Verdict: bot.Unsure, Language: "en",
		Alternatives: []bot.Scored{{Intent: "shipping", Confidence: 0.5}, {Intent: "returns", Confidence: 0.4}}},
}

type harness struct {
	t      *testing.T
	fake   *discordfake.Server
	engine *bot.Engine
	a      *discord.Adapter
	web    *bottest.Sender
}

// start runs a real engine on bbolt, a fake Discord and a connected
// adapter; everything is closed when the test ends.
func start(t *testing.T, configure ...func(*discord.Config)) *harness {
	t.Helper()
	return startWith(t, nil, configure...)
}

// startWith is start with before run on the engine before the adapter
// connects.
func startWith(t *testing.T, before func(*bot.Engine), configure ...func(*discord.Config)) *harness {
	t.Helper()
	fake := discordfake.New(discordfake.Config{})
	t.Cleanup(fake.Close)
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "t.db"), NoSync: true, MaxBatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng := bot.NewEngine(db, bot.Config{})
	eng.SetKnowledge(bot.NewKnowledge(topics, &bottest.Classifier{Script: script}))
	web := &bottest.Sender{}
	eng.Register(bot.ChannelWeb, web)
	if before != nil {
		before(eng)
	}

	cfg := discord.Config{Token: fake.Token(), APIURL: fake.URL, NoReconnect: true, AgentChannel: staff}
	for _, c := range configure {
		c(&cfg)
	}
	a, err := discord.New(eng, cfg)
	if err != nil {
		t.Fatal(err)
	}
	eng.Register(bot.ChannelDiscord, a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &harness{t: t, fake: fake, engine: eng, a: a, web: web}
}

// wait fails the test unless cond holds within 10 seconds.
func (h *harness) wait(what string, cond func() bool) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.fake.Wait(ctx, cond); err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// waitMessage waits for a bot message in channelID containing text.
func (h *harness) waitMessage(channelID, text string) discordfake.Message {
	h.t.Helper()
	var got discordfake.Message
	h.wait("message "+text+" in "+channelID, func() bool {
		for _, m := range h.fake.Messages(channelID) {
			if strings.Contains(m.Content, text) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// waitFor polls a condition on state outside the fake (the store, the
// web sender), re-checking whenever the fake records something and on a
// short tick; it fails after 10 seconds.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("waiting for %s: timed out", what)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_ = h.fake.Wait(ctx, func() bool { return false })
		cancel()
	}
}

func (h *harness) dm(user, channelID, text string) string {
	return h.fake.Send(discordfake.UserMessage{ChannelID: channelID, AuthorID: user, Content: text})
}

func (h *harness) mention(user, guildID, channelID, text string) string {
	return h.fake.Send(discordfake.UserMessage{
		ChannelID: channelID, GuildID: guildID, AuthorID: user,
		Content: "<@" + h.fake.BotID() + "> " + text, Mentions: []string{h.fake.BotID()},
	})
}

func (h *harness) history(user, thread string) []bot.Message {
	h.t.Helper()
	_, msgs, err := h.engine.History(context.Background(), bot.ChannelDiscord, user, thread, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return msgs
}

func TestHandshakeRequestsOnlyNeededIntents(t *testing.T) {
	tests := []struct {
		name           string
		messageContent bool
		want           int
	}{
		{"without message content", false, int(discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages)},
		{"with message content when configured", true, int(discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages | discordgo.IntentMessageContent)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, func(c *discord.Config) { c.MessageContent = tt.messageContent })
			ids := h.fake.Identifies()
			if len(ids) != 1 {
				t.Fatalf("got %d identifies, want 1", len(ids))
			}
			if ids[0].Intents != tt.want {
				t.Errorf("intents = %d, want %d", ids[0].Intents, tt.want)
			}
			if ids[0].Token != "Bot "+h.fake.Token() {
				t.Errorf("identify token is not the bot token")
			}
			if h.a.BotID() != h.fake.BotID() {
				t.Errorf("bot id from READY = %q, want %q", h.a.BotID(), h.fake.BotID())
			}
			// Heartbeats are sent and acknowledged (an unacknowledged
			// heartbeat makes discordgo reconnect, which Readies would show).
			h.wait("three heartbeats", func() bool { return h.fake.Heartbeats() >= 3 })
			if h.fake.Readies() != 1 || len(h.fake.Resumes()) != 0 {
				t.Errorf("session restarted during heartbeats: readies %d resumes %d", h.fake.Readies(), len(h.fake.Resumes()))
			}
		})
	}
}

func TestOpenFailsWithABadToken(t *testing.T) {
	fake := discordfake.New(discordfake.Config{})
	defer fake.Close()
	a, err := discord.New(bottestEngine(t), discord.Config{Token: "wrong", APIURL: fake.URL, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Open(ctx); err == nil {
		t.Fatal("Open succeeded with a wrong token")
	}
	if err := a.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestNewNeedsAToken(t *testing.T) {
	if _, err := discord.New(bottestEngine(t), discord.Config{}); !errors.Is(err, discord.ErrNoToken) {
		t.Errorf("err = %v, want ErrNoToken", err)
	}
	if _, err := discord.New(bottestEngine(t), discord.Config{Token: "x", ReplyMode: "shout"}); err == nil {
		t.Error("unknown reply mode accepted")
	}
}

func bottestEngine(t *testing.T) *bot.Engine {
	t.Helper()
	return bot.NewEngine(bottest.NewMemStore(), bot.Config{})
}

func TestDirectMessageIsAnswered(t *testing.T) {
	h := start(t)
	id := h.dm(alice, "dm-alice", askShipping)
	got := h.waitMessage("dm-alice", "2 days")
	if got.Content != answer {
		t.Errorf("answer = %q, want %q (markdown kept)", got.Content, answer)
	}
	if got.Reference != nil {
		t.Errorf("a DM answer should not quote: %+v", got.Reference)
	}
	if got.AllowedMentions == nil || got.AllowedMentions.Parse == nil || len(got.AllowedMentions.Parse) != 0 {
		t.Errorf("answer may ping: allowed_mentions %+v", got.AllowedMentions)
	}
	msgs := h.history(alice, "dm-alice")
	if len(msgs) != 2 || msgs[0].ClientID != id || msgs[0].Text != askShipping {
		t.Fatalf("stored conversation = %+v", msgs)
	}
	if conv, _, err := h.engine.History(context.Background(), bot.ChannelDiscord, alice, "dm-alice", 1); err != nil || conv.Public {
		t.Errorf("a DM is marked public (%v): order tracking would refuse it", err)
	}
	// The same message delivered twice (a gateway replay) is answered once.
	h.fake.Dispatch("MESSAGE_CREATE", map[string]any{
		"id": id, "channel_id": "dm-alice", "content": askShipping, "type": 0,
		"author": map[string]any{"id": alice, "username": "alice"},
	})
	h.dm(alice, "dm-alice", "sentinel question")
	h.waitMessage("dm-alice", "don't know")
	if n := len(h.history(alice, "dm-alice")); n != 4 {
		t.Errorf("after a replayed message the conversation has %d messages, want 4", n)
	}
}

func TestMentionIsAnsweredInAThread(t *testing.T) {
	h := start(t)
	id := h.mention(alice, guild, channel, askShipping)
	h.wait("thread", func() bool { return len(h.fake.Threads()) == 1 })
	th := h.fake.Threads()[0]
	if th.MessageID != id || th.ParentID != channel || th.Name != askShipping {
		t.Errorf("thread = %+v, want one started from the question %s in %s", th, id, channel)
	}
	h.waitMessage(th.ID, "2 days")
	if n := len(h.fake.Messages(channel)); n != 0 {
		t.Errorf("%d messages posted in the channel itself, want 0", n)
	}
	// A follow-up in the thread continues the conversation, no mention
	// needed when the content is readable.
	h.fake.Send(discordfake.UserMessage{ChannelID: th.ID, GuildID: guild, AuthorID: alice, Content: askVague})
	h.waitMessage(th.ID, "Did you mean")
	if got := h.history(alice, th.ID); len(got) != 4 {
		t.Errorf("thread conversation has %d messages, want 4", len(got))
	}
	if conv, _, err := h.engine.History(context.Background(), bot.ChannelDiscord, alice, th.ID, 1); err != nil || !conv.Public {
		t.Errorf("a guild thread is not marked public (%v): order details could be posted there", err)
	}
	if len(h.fake.Threads()) != 1 {
		t.Errorf("a follow-up started another thread")
	}
}

func TestUnmentionedChatterIsIgnored(t *testing.T) {
	h := start(t)
	h.fake.Send(discordfake.UserMessage{ChannelID: channel, GuildID: guild, AuthorID: alice, Content: askShipping})
	h.dm(bob, "dm-bob", askShipping)
	h.waitMessage("dm-bob", "2 days")
	if err := h.a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.Messages(channel)) + len(h.fake.Threads()); n != 0 {
		t.Errorf("bot answered chatter that did not mention it")
	}
}

func TestReplyModePerGuild(t *testing.T) {
	const replyGuild = "310000000000000001"
	const replyChannel = "310000000000000002"
	h := start(t, func(c *discord.Config) { c.GuildModes = map[string]discord.Mode{replyGuild: discord.ModeReply} })
	id := h.mention(alice, replyGuild, replyChannel, askShipping)
	got := h.waitMessage(replyChannel, "2 days")
	if got.Reference == nil || got.Reference.MessageID != id {
		t.Errorf("answer is not a reply to %s: %+v", id, got.Reference)
	}
	if got.AllowedMentions == nil || !got.AllowedMentions.RepliedUser || len(got.AllowedMentions.Parse) != 0 {
		t.Errorf("reply should notify the asker only: %+v", got.AllowedMentions)
	}
	if n := len(h.fake.Threads()); n != 0 {
		t.Errorf("%d threads started in reply mode", n)
	}
}

func TestButtonClickIsHandled(t *testing.T) {
	h := start(t)
	h.dm(alice, "dm-alice", askVague)
	q := h.waitMessage("dm-alice", "Did you mean")
	var labels []string
	for _, b := range q.Buttons() {
		labels = append(labels, b.Label)
	}
	if want := []string{"Shipping times", "Returns", "Talk to a person"}; !slices.Equal(labels, want) {
		t.Fatalf("buttons = %v, want %v", labels, want)
	}
	iid := h.fake.Click(discordfake.Click{Message: q, CustomID: q.Buttons()[0].CustomID, UserID: alice})
	h.waitMessage("dm-alice", "2 days")

	cbs := h.fake.Callbacks()
	if len(cbs) != 1 || cbs[0].InteractionID != iid || cbs[0].Type != int(discordgo.InteractionResponseDeferredMessageUpdate) {
		t.Fatalf("callbacks = %+v, want one deferred update for %s", cbs, iid)
	}
	// The acknowledgement came before the answer.
	ack, ans := -1, -1
	for i, r := range h.fake.Requests() {
		if strings.HasPrefix(r.Path, "/api/v9/interactions/"+iid+"/") && ack < 0 {
			ack = i
		}
		if r.Method == "POST" && r.Path == "/api/v9/channels/dm-alice/messages" {
			ans = i
		}
	}
	if ack < 0 || ack > ans {
		t.Errorf("acknowledgement at request %d, answer at %d", ack, ans)
	}
	h.wait("buttons disabled", func() bool {
		m, _ := h.fake.Message(q.ID)
		for _, b := range m.Buttons() {
			if !b.Disabled {
				return false
			}
		}
		return m.Edits > 0
	})
	msgs := h.history(alice, "dm-alice")
	click := msgs[2]
	if click.Role != bot.RoleCustomer || click.Text != "Shipping times" {
		t.Errorf("the click was stored as %+v, want the label as the customer's message", click)
	}
}

func TestBotIgnoresOtherBotsAndItself(t *testing.T) {
	h := start(t)
	h.fake.Send(discordfake.UserMessage{ChannelID: "dm-bot", AuthorID: otherBot, Bot: true, Content: askShipping})
	h.fake.Send(discordfake.UserMessage{ChannelID: channel, GuildID: guild, AuthorID: otherBot, Bot: true,
		Content: "<@" + h.fake.BotID() + "> " + askShipping, Mentions: []string{h.fake.BotID()}})
	h.fake.Send(discordfake.UserMessage{ChannelID: "dm-self", AuthorID: h.fake.BotID(), Content: askShipping})
	// The fake echoes the bot's own posts back over the gateway, as
	// Discord does; answering them would loop forever.
	h.dm(alice, "dm-alice", askShipping)
	h.waitMessage("dm-alice", "2 days")
	h.wait("the echo of the answer", func() bool { return h.a.Stats().Ignored >= 4 })
	if err := h.a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.Messages("")); n != 1 {
		t.Errorf("bot posted %d messages, want only the answer to alice", n)
	}
	if len(h.history(otherBot, "dm-bot"))+len(h.history(h.fake.BotID(), "dm-self")) != 0 {
		t.Error("a bot's message was stored as a customer's")
	}
}

func TestDroppedGatewayResumes(t *testing.T) {
	h := start(t, func(c *discord.Config) { c.NoReconnect = false })
	h.dm(alice, "dm-alice", askShipping)
	h.waitMessage("dm-alice", "2 days")
	if !h.fake.Drop() {
		t.Fatal("no connection to drop")
	}
	// Sent while the bot is away: Discord replays it on resume.
	h.dm(bob, "dm-bob", askShipping)
	h.waitMessage("dm-bob", "2 days")
	rs := h.fake.Resumes()
	if len(rs) == 0 || rs[0].SessionID == "" || rs[0].Seq == 0 {
		t.Fatalf("resumes = %+v, want one with the session and sequence", rs)
	}
	if h.fake.Readies() != 1 {
		t.Errorf("readies = %d: the bot identified anew instead of resuming", h.fake.Readies())
	}
	if got := h.a.Stats().Connects; got < 2 {
		t.Errorf("connects = %d, want a second session", got)
	}
	// And it keeps answering on the resumed connection.
	h.dm(alice, "dm-alice", askVague)
	h.waitMessage("dm-alice", "Did you mean")
}

func TestRateLimitIsRespected(t *testing.T) {
	h := start(t)
	const retry = 300 * time.Millisecond
	path := "/api/v9/channels/dm-alice/messages"
	h.fake.RateLimit("POST", path, retry, 1)
	h.dm(alice, "dm-alice", askShipping)
	h.waitMessage("dm-alice", "2 days")
	var limited, ok *discordfake.Request
	h.wait("a 429 then a delivery", func() bool {
		limited, ok = nil, nil
		for _, r := range h.fake.Requests() {
			if r.Method != "POST" || r.Path != path {
				continue
			}
			switch {
			case r.Status == 429 && limited == nil:
				limited = &r
			case r.Status == 200 && limited != nil && ok == nil:
				ok = &r
			}
		}
		return limited != nil && ok != nil
	})
	if gap := ok.At.Sub(limited.At); gap < retry {
		t.Errorf("retried %v after the 429, before retry_after %v", gap, retry)
	}
}

func TestEscalationGoesToTheStaffThreadAndAgentsReply(t *testing.T) {
	h := start(t, func(c *discord.Config) { c.AgentRole = agentRole })
	ctx := context.Background()
	const visitor = "v:abc"
	rc, err := h.engine.Handle(ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: visitor, Text: "Talk to a person", Choice: bot.ChoiceHuman})
	if err != nil {
		t.Fatal(err)
	}
	convID := rc.ConversationID

	// The card lands in the staff channel with a thread for the conversation.
	h.wait("escalation thread", func() bool { return len(h.fake.Threads()) == 1 })
	th := h.fake.Threads()[0]
	if th.ParentID != staff {
		t.Fatalf("thread in %s, want the staff channel", th.ParentID)
	}
	card, ok := h.fake.Message(th.MessageID)
	if !ok || len(card.Embeds) != 1 {
		t.Fatalf("card = %+v", card)
	}
	fields := map[string]string{}
	for _, f := range card.Embeds[0].Fields {
		fields[f.Name] = f.Value
	}
	if fields["Channel"] != "web" || fields["Journey stage"] != "awareness" || fields["Trigger"] != "customer\\_request" {
		t.Errorf("card fields = %v", fields)
	}
	if !strings.Contains(card.Embeds[0].Description, "Talk to a person") {
		t.Errorf("card transcript = %q", card.Embeds[0].Description)
	}
	if b := card.Buttons(); len(b) != 2 || b[0].Label != "Claim" || b[1].Label != "Resolve" || b[0].Disabled {
		t.Fatalf("card buttons = %+v", b)
	}

	// Someone without the agent role can neither claim nor write.
	h.fake.Click(discordfake.Click{Message: card, CustomID: card.Buttons()[0].CustomID, UserID: bob, GuildID: staffGuild})
	h.wait("refusal", func() bool { return len(h.fake.Followups()) == 1 })
	if f := h.fake.Followups()[0]; f.Flags != int(discordgo.MessageFlagsEphemeral) || !strings.Contains(f.Content, "Only agents") {
		t.Errorf("refusal = %+v", f)
	}

	// The same button replayed from another channel acts on nothing.
	forged := card
	forged.ChannelID = "some-other-channel"
	h.fake.Click(discordfake.Click{Message: forged, CustomID: card.Buttons()[0].CustomID, UserID: agentAnn, UserName: "Ann", GuildID: staffGuild, Roles: []string{agentRole}})
	h.wait("forged click refused", func() bool { return len(h.fake.Followups()) == 2 })
	if f := h.fake.Followups()[1]; !strings.Contains(f.Content, "does not belong") {
		t.Errorf("forged click answer = %+v", f)
	}
	if v, _ := h.engine.View(ctx, convID); v.Conversation.State != bot.StateWaiting {
		t.Fatalf("a click from another channel changed the state to %s", v.Conversation.State)
	}

	// Ann claims.
	h.fake.Click(discordfake.Click{Message: card, CustomID: card.Buttons()[0].CustomID, UserID: agentAnn, UserName: "Ann", GuildID: staffGuild, Roles: []string{agentRole}})
	h.waitMessage(th.ID, "claimed this conversation")
	h.waitFor("the customer told", func() bool { return slices.Contains(h.web.Texts(), "Ann has joined the conversation.") })
	v, err := h.engine.View(ctx, convID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Conversation.State != bot.StateAgent || v.Conversation.AgentID != "discord:"+agentAnn {
		t.Fatalf("after claim: state %s agent %s", v.Conversation.State, v.Conversation.AgentID)
	}
	h.wait("claim button disabled", func() bool {
		m, _ := h.fake.Message(card.ID)
		return len(m.Buttons()) == 2 && m.Buttons()[0].Disabled && !m.Buttons()[1].Disabled
	})

	say := func(user, name, text string) string {
		return h.fake.Send(discordfake.UserMessage{ChannelID: th.ID, GuildID: staffGuild, AuthorID: user, AuthorName: name, Content: text, Roles: []string{agentRole}})
	}
	reacted := func(msgID, emoji string) func() bool {
		return func() bool {
			for _, r := range h.fake.Reactions() {
				if r.MessageID == msgID && r.Emoji == emoji {
					return true
				}
			}
			return false
		}
	}

	// A reply: reaches the web customer, marked ✅.
	relay := say(agentAnn, "Ann", "Reply: Hi, I'm Ann. Let me look.")
	h.wait("✅ on the relayed message", reacted(relay, "✅"))
	if last, _ := h.web.Last(); last.Message.Text != "Hi, I'm Ann. Let me look." || last.Message.Role != bot.RoleAgent {
		t.Errorf("web customer got %+v", last.Message)
	}

	// Anything else is a note, marked 📝, never sent.
	note := say(agentAnn, "Ann", "customer sounds upset, check order history")
	h.wait("📝 on the note", reacted(note, "📝"))
	// Another agent's reply: is a note too: only the claimer speaks.
	other := say(agentBen, "Ben", "reply: I'll take over")
	h.wait("📝 on the other agent's reply", reacted(other, "📝"))
	h.waitMessage(th.ID, "only the agent who claimed")
	for _, s := range h.web.Texts() {
		if strings.Contains(s, "upset") || strings.Contains(s, "take over") {
			t.Errorf("a note reached the customer: %q", s)
		}
	}
	v, _ = h.engine.View(ctx, convID)
	notes := 0
	for _, m := range v.Messages {
		if m.Role == bot.RoleNote {
			notes++
		}
	}
	if notes != 2 {
		t.Errorf("stored %d notes, want 2", notes)
	}
	// A message from someone without the role is not even a note.
	intruder := h.fake.Send(discordfake.UserMessage{ChannelID: th.ID, GuildID: staffGuild, AuthorID: bob, Content: "reply: hacked"})

	// The customer's next message is mirrored into the thread.
	if _, err := h.engine.Handle(ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: visitor, Text: "my order is *late*"}); err != nil {
		t.Fatal(err)
	}
	h.waitMessage(th.ID, `**Customer:** my order is \*late\*`)

	// Resolve.
	h.fake.Click(discordfake.Click{Message: card, CustomID: card.Buttons()[1].CustomID, UserID: agentAnn, GuildID: staffGuild, Roles: []string{agentRole}})
	h.waitMessage(th.ID, "Resolved by")
	h.waitFor("the customer told it is resolved", func() bool { return slices.Contains(h.web.Texts(), bot.ResolvedText) })
	h.wait("card buttons disabled", func() bool {
		m, _ := h.fake.Message(card.ID)
		b := m.Buttons()
		return len(b) == 2 && b[0].Disabled && b[1].Disabled
	})
	// Drain before checking what must not have happened.
	if err := h.a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range h.web.Texts() {
		if strings.Contains(s, "hacked") {
			t.Error("a non-agent's message reached the customer")
		}
	}
	for _, r := range h.fake.Reactions() {
		if r.MessageID == intruder {
			t.Errorf("a non-agent's message was taken (%s)", r.Emoji)
		}
	}
	if len(h.fake.Threads()) != 1 {
		t.Errorf("%d staff threads, want 1 per conversation", len(h.fake.Threads()))
	}
}

func TestDiscordCustomerEscalatesAndGetsTheAgentsReply(t *testing.T) {
	h := start(t)
	h.dm(alice, "dm-alice", askVague)
	q := h.waitMessage("dm-alice", "Did you mean")
	human := q.Buttons()[2]
	h.fake.Click(discordfake.Click{Message: q, CustomID: human.CustomID, UserID: alice})
	h.waitMessage("dm-alice", "handing you over")
	h.wait("staff thread", func() bool { return len(h.fake.Threads()) == 1 })
	th := h.fake.Threads()[0]
	card, _ := h.fake.Message(th.MessageID)
	if !strings.Contains(card.Embeds[0].Fields[0].Value, "<@"+alice+">") {
		t.Errorf("card does not point at the Discord customer: %+v", card.Embeds[0].Fields[0])
	}
	h.fake.Click(discordfake.Click{Message: card, CustomID: card.Buttons()[0].CustomID, UserID: agentAnn, UserName: "Ann", GuildID: staffGuild})
	h.waitMessage("dm-alice", "Ann has joined")
	h.fake.Send(discordfake.UserMessage{ChannelID: th.ID, GuildID: staffGuild, AuthorID: agentAnn, AuthorName: "Ann", Content: "reply: Hello from Ann"})
	got := h.waitMessage("dm-alice", "Hello from Ann")
	if got.Content != "**Ann:** Hello from Ann" {
		t.Errorf("agent reply rendered as %q", got.Content)
	}
}

func TestSendRendersOrdersAndLongTexts(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	conv := bot.Conversation{Channel: bot.ChannelDiscord, Address: map[string]string{"channel_id": "dm-carol", "mode": "dm"}}
	long := strings.Repeat("All about our parcels. ", 200) // 4600 characters
	err := h.a.Send(ctx, conv, bot.Message{Role: bot.RoleBot, Text: long,
		Choices: []bot.Choice{{Label: "Talk to a person", Value: bot.ChoiceHuman}},
		Data:    map[string]string{"kind": "order", "order_number": "A1001", "status_label": "On its way", "carrier": "DHL"}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := h.fake.Messages("dm-carol")
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3", len(msgs))
	}
	for i, m := range msgs {
		last := i == len(msgs)-1
		if (len(m.Embeds) == 1) != last || (len(m.Buttons()) == 1) != last {
			t.Errorf("message %d: %d embeds %d buttons; want them on the last part only", i, len(m.Embeds), len(m.Buttons()))
		}
	}
	if e := msgs[2].Embeds[0]; e.Title != "Order A1001" {
		t.Errorf("embed title %q", e.Title)
	}
	if err := h.a.Send(ctx, conv, bot.Message{Role: bot.RoleNote, Text: "secret"}); !errors.Is(err, discord.ErrNote) {
		t.Errorf("sending a note: %v, want ErrNote", err)
	}
	if err := h.a.Send(ctx, bot.Conversation{}, bot.Message{Role: bot.RoleBot, Text: "x"}); !errors.Is(err, discord.ErrNoAddress) {
		t.Errorf("sending without address: %v, want ErrNoAddress", err)
	}
}

func TestCloseDrainsAndDisconnects(t *testing.T) {
	h := start(t)
	h.dm(alice, "dm-alice", askShipping)
	h.wait("message received", func() bool { return h.a.Stats().Received >= 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// In flight when Close began, answered before it returned.
	if n := len(h.fake.Messages("dm-alice")); n != 1 {
		t.Errorf("%d answers after close, want 1", n)
	}
	h.wait("disconnected", func() bool { return !h.fake.Connected() })
	h.dm(bob, "dm-bob", askShipping)
	if st := h.a.Stats(); st.Handled != 1 {
		t.Errorf("stats after close = %+v", st)
	}
}

func TestEscalationsFromBeforeStartGetACard(t *testing.T) {
	var convID string
	h := startWith(t, func(eng *bot.Engine) {
		rc, err := eng.Handle(context.Background(), bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:early", Text: "Talk to a person", Choice: bot.ChoiceHuman})
		if err != nil {
			t.Fatal(err)
		}
		convID = rc.ConversationID
	})
	h.wait("escalation thread", func() bool { return len(h.fake.Threads()) == 1 })
	card, _ := h.fake.Message(h.fake.Threads()[0].MessageID)
	if len(card.Buttons()) != 2 || !strings.HasSuffix(card.Buttons()[0].CustomID, convID) {
		t.Errorf("card buttons = %+v, want them for %s", card.Buttons(), convID)
	}
}
