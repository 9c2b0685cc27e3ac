package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Action ids of the buttons the adapter posts.
const (
	actionChoice  = "fd_choice:" // + the choice value: a customer's quick reply
	actionClaim   = "fd_claim"   // value: conversation id
	actionResolve = "fd_resolve" // value: conversation id
	blockChoices  = "fd_choices"
	blockAgent    = "fd_agent"
)

// incoming is a message or mention event, normalised.
type incoming struct {
	team, channel, channelType string
	user, botID, subtype       string
	text, ts, threadTS         string
	// mention is true for app_mention events.
	mention bool
}

// handleInner routes one Events API inner event.
func (a *Adapter) handleInner(ctx context.Context, team string, inner any) {
	var in incoming
	switch ev := inner.(type) {
	case *slackevents.MessageEvent:
		in = incoming{team: team, channel: ev.Channel, channelType: ev.ChannelType, user: ev.User, botID: ev.BotID,
			subtype: ev.SubType, text: ev.Text, ts: ev.TimeStamp, threadTS: ev.ThreadTimeStamp}
		if ev.Message != nil && in.text == "" && ev.SubType == "" {
			in.text = ev.Message.Text
		}
	case *slackevents.AppMentionEvent:
		in = incoming{team: team, channel: ev.Channel, user: ev.User, botID: ev.BotID,
			text: ev.Text, ts: ev.TimeStamp, threadTS: ev.ThreadTimeStamp, mention: true}
		if ev.Edited != nil {
			in.subtype = "message_changed"
		}
	default:
		a.ignore("unsupported event")
		return
	}
	if in.team == "" {
		in.team = a.teamID
	}
	if a.ownOrEdit(in) {
		a.ignore("own message, bot or edit")
		return
	}
	if a.agentChans[in.channel] {
		// Agents' channels are never customer territory. Mentions there
		// also arrive as message events: handle those only.
		if in.mention {
			a.ignore("mention in an agents' channel")
			return
		}
		a.onAgentMessage(ctx, in)
		return
	}
	a.onCustomerMessage(ctx, in)
}

// ownOrEdit reports events the bot must not answer: its own messages (and
// other bots', so two bots never talk in circles), edits, deletions and
// other subtypes.
func (a *Adapter) ownOrEdit(in incoming) bool {
	if in.botID != "" || in.user == "" || in.user == a.botUserID {
		return true
	}
	switch in.subtype {
	case "", "thread_broadcast", "file_share":
		return false
	}
	return true
}

// isDM reports whether a channel id is a direct message with the bot.
func isDM(channel, channelType string) bool {
	return channelType == slackevents.ChannelTypeIM || strings.HasPrefix(channel, "D")
}

// customerKey returns the conversation thread key and the thread to reply
// in for a customer message. DMs are one conversation per DM channel,
// threaded or not; in channels each thread is its own conversation.
func customerKey(channel, channelType, ts, threadTS string) (thread, root string) {
	root = threadTS
	if root == "" {
		root = ts
	}
	if isDM(channel, channelType) {
		return channel, root
	}
	return channel + ":" + root, root
}

func (a *Adapter) onCustomerMessage(ctx context.Context, in incoming) {
	userID := in.team + ":" + in.user
	thread, root := customerKey(in.channel, in.channelType, in.ts, in.threadTS)
	if !isDM(in.channel, in.channelType) && !in.mention && !mentions(in.text, a.botUserID) {
		// Channel chatter: only a follow-up in a thread where this user
		// already talks with the bot is for us.
		if in.threadTS == "" {
			a.ignore("channel message without mention")
			return
		}
		conv, _, err := a.engine.History(ctx, bot.ChannelSlack, userID, thread, 1)
		if err != nil {
			a.fail("slack history", err, "channel", in.channel)
			return
		}
		if conv.ID == "" {
			a.ignore("thread message from a user not talking with the bot")
			return
		}
	}
	text := PlainText(stripMention(in.text, a.botUserID))
	a.handle(ctx, bot.Inbound{
		Channel: bot.ChannelSlack,
		UserID:  userID,
		Thread:  thread,
		Address: map[string]string{"channel": in.channel, "thread_ts": root},
		// The message ts is unique in its channel and the same in the
		// app_mention and message events of one message, so it dedupes
		// both, durably.
		ClientID: "ts:" + in.ts,
		Text:     text,
		// Channel threads are readable by every member: no personal data.
		Public:  !isDM(in.channel, in.channelType),
		Profile: a.profile(ctx, in.team, in.user),
	}, in.user)
}

// handle passes a customer message to the engine. Errors meant for the
// customer (empty, too long) are shown to them alone.
func (a *Adapter) handle(ctx context.Context, in bot.Inbound, slackUser string) {
	_, err := a.engine.Handle(ctx, in)
	switch {
	case err == nil:
		a.stats.handled.Add(1)
	case bot.IsUserError(err):
		a.stats.handled.Add(1)
		opts := []slackapi.MsgOption{slackapi.MsgOptionText(escape(bot.ErrorMessage(err)), false)}
		if ts := in.Address["thread_ts"]; ts != "" {
			opts = append(opts, slackapi.MsgOptionTS(ts))
		}
		if _, err := a.api.PostEphemeralContext(ctx, in.Address["channel"], slackUser, opts...); err != nil {
			a.log.Warn("slack ephemeral failed", "channel", in.Address["channel"], "err", err)
		}
	default:
		a.fail("slack handle", err, "channel", in.Address["channel"])
	}
}

func (a *Adapter) fail(msg string, err error, attrs ...any) {
	a.stats.failed.Add(1)
	a.log.Error(msg, append(attrs, "err", err)...)
}

// onChoice turns a quick-reply click into the customer's next message.
func (a *Adapter) onChoice(ctx context.Context, cb slackapi.InteractionCallback, act *slackapi.BlockAction) {
	channel := cb.Container.ChannelID
	if channel == "" {
		channel = cb.Channel.ID
	}
	msgTS := cb.Container.MessageTs
	threadTS := cb.Container.ThreadTs
	if threadTS == "" {
		threadTS = cb.Message.ThreadTimestamp
	}
	if channel == "" || msgTS == "" || a.agentChans[channel] {
		a.ignore("choice outside a customer message")
		return
	}
	team := cb.Team.ID
	if team == "" {
		team = a.teamID
	}
	value := strings.TrimPrefix(act.ActionID, actionChoice)
	if act.Value != "" {
		value = act.Value
	}
	label := act.Text.Text
	if label == "" {
		label = value
	}
	// Take the buttons away first, so the choice cannot be clicked twice;
	// a click racing this one is a duplicate for the engine (same ClientID).
	a.markChosen(ctx, channel, msgTS, cb.Message.Text, label, cb.User.ID)
	thread, root := customerKey(channel, "", msgTS, threadTS)
	a.handle(ctx, bot.Inbound{
		Channel:  bot.ChannelSlack,
		UserID:   team + ":" + cb.User.ID,
		Thread:   thread,
		Address:  map[string]string{"channel": channel, "thread_ts": root},
		ClientID: "choice:" + msgTS,
		Text:     label,
		Choice:   value,
		Public:   !isDM(channel, ""),
		Profile:  a.profile(ctx, team, cb.User.ID),
	}, cb.User.ID)
}

// markChosen replaces a message's buttons with the choice made.
func (a *Adapter) markChosen(ctx context.Context, channel, ts, text, label, user string) {
	blocks := []slackapi.Block{
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, orSpace(text), false, false), nil, nil),
		slackapi.NewContextBlock("", slackapi.NewTextBlockObject(slackapi.MarkdownType, "✓ "+escape(label)+" (<@"+user+">)", false, false)),
	}
	if _, _, _, err := a.api.UpdateMessageContext(ctx, channel, ts, slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...)); err != nil {
		a.log.Warn("slack update chosen message", "channel", channel, "err", err)
	}
}

func orSpace(s string) string {
	if strings.TrimSpace(s) == "" {
		return " "
	}
	return s
}

// Send delivers a bot, agent or system message into the Slack thread of a
// conversation (bot.Sender). Quick replies become buttons. Queue-position
// updates are posted once per thread and then edited in place, so the
// thread is not flooded while the customer waits.
func (a *Adapter) Send(ctx context.Context, conv bot.Conversation, msg bot.Message) error {
	if a.closed.Load() {
		return ErrClosed
	}
	channel, threadTS := conv.Address["channel"], conv.Address["thread_ts"]
	if channel == "" {
		return fmt.Errorf("slack: send %s: %w", conv.ID, ErrNoAddress)
	}
	if msg.Role == bot.RoleNote {
		return errors.New("slack: send: a note is never sent to a customer")
	}
	if msg.Role == bot.RoleSystem && msg.Data["kind"] == "queue" {
		return a.sendQueue(ctx, conv, channel, threadTS, msg)
	}
	text := customerText(msg)
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false), slackapi.MsgOptionDisableLinkUnfurl()}
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	if len(msg.Choices) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(choiceBlocks(text, msg.Choices)...))
	}
	if _, _, err := a.api.PostMessageContext(ctx, channel, opts...); err != nil {
		return fmt.Errorf("slack: post: %w", err)
	}
	return nil
}

// customerText renders a message for a customer in mrkdwn: agents' names
// in bold before their words, system notices in italics.
func customerText(msg bot.Message) string {
	text := Mrkdwn(msg.Text)
	switch msg.Role {
	case bot.RoleAgent:
		if msg.Author != "" {
			text = "*" + escape(msg.Author) + ":* " + text
		}
	case bot.RoleSystem:
		text = "_" + text + "_"
	}
	return text
}

// choiceBlocks renders a message with quick replies: the text, then one
// button per choice whose action id carries the choice value.
func choiceBlocks(text string, choices []bot.Choice) []slackapi.Block {
	var buttons []slackapi.BlockElement
	seen := map[string]bool{}
	for _, c := range choices {
		id := truncateBytes(actionChoice+c.Value, 255)
		if seen[id] || len(buttons) == 25 {
			continue
		}
		seen[id] = true
		b := slackapi.NewButtonBlockElement(id, truncateBytes(c.Value, 2000),
			slackapi.NewTextBlockObject(slackapi.PlainTextType, truncate(c.Label, 75), false, false))
		if c.Value == bot.ChoiceHuman {
			b = b.WithStyle(slackapi.StylePrimary)
		}
		buttons = append(buttons, b)
	}
	return []slackapi.Block{
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, truncate(orSpace(text), 3000), false, false), nil, nil),
		slackapi.NewActionBlock(blockChoices, buttons...),
	}
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// queueRecord is the queue-position message of a conversation.
type queueRecord struct {
	Channel  string `json:"channel"`
	ThreadTS string `json:"thread_ts"`
	TS       string `json:"ts"`
	// ContactID is the contact it was posted in: a later contact (escalated
	// again after a resolve) gets a fresh message near the new question.
	ContactID string `json:"contact_id"`
}

// sendQueue posts a conversation's queue position once per thread and
// contact, and edits that message on every later update.
func (a *Adapter) sendQueue(ctx context.Context, conv bot.Conversation, channel, threadTS string, msg bot.Message) error {
	text := "_" + Mrkdwn(msg.Text) + "_"
	var rec queueRecord
	var found bool
	err := a.engine.Store().View(ctx, func(tx bot.Tx) error {
		var err error
		found, err = tx.Get(BucketQueueMessages, []byte(conv.ID), &rec)
		return err
	})
	if err != nil {
		return fmt.Errorf("slack: queue message: %w", err)
	}
	if found && rec.Channel == channel && rec.ThreadTS == threadTS && rec.ContactID == conv.ContactID {
		_, _, _, err := a.api.UpdateMessageContext(ctx, channel, rec.TS, slackapi.MsgOptionText(text, false))
		if err == nil {
			return nil
		}
		// Deleted or too old to edit: post a new one.
		a.log.Debug("slack queue message not updated", "conversation", conv.ID, "err", err)
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false)}
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	_, ts, err := a.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return fmt.Errorf("slack: post queue position: %w", err)
	}
	rec = queueRecord{Channel: channel, ThreadTS: threadTS, TS: ts, ContactID: conv.ContactID}
	return a.engine.Store().Update(ctx, func(tx bot.Tx) error {
		return tx.Put(BucketQueueMessages, []byte(conv.ID), rec)
	})
}

// Lookups of Slack users (users.info) for customers' profiles and
// agents' names. A lookup never holds up an answer for long: it has its own
// short timeout, and a failure is remembered briefly, so a Slack API
// outage costs one slow call per user per minute rather than one per
// message.
const (
	userInfoTTL     = time.Hour
	userFailTTL     = time.Minute
	userInfoTimeout = 5 * time.Second
	userCacheSize   = 5000
)

// profile is what Slack tells about a customer, for the engine. Slack
// confirms the email address of every workspace member, so a profile with
// an email is Verified: the journey links the customer with the web
// visitor who signed in with the same address (bot.Engine.LinkVerified).
// Without an email (the app lacks users:read.email, or the member has
// none) only the name is passed, unverified.
//
// A customer whose stored profile is already verified (a signed-in web
// visitor this Slack user was linked with) gets nil: the engine replaces a
// profile with any verified one, which would drop the shop's user id.
// When users.info fails the customer stays anonymous (logged at debug).
func (a *Adapter) profile(ctx context.Context, team, user string) *bot.Profile {
	var cust bot.Customer
	var known bool
	err := a.engine.Store().View(ctx, func(tx bot.Tx) error {
		var err error
		cust, known, err = bot.CustomerByIdentity(tx, bot.Identity{Channel: bot.ChannelSlack, ID: team + ":" + user})
		return err
	})
	if err != nil {
		a.log.Debug("slack customer lookup failed", "user", user, "err", err)
	}
	if known && cust.Profile.Verified {
		return nil
	}
	u, ok := a.user(ctx, user)
	if !ok {
		return nil
	}
	if u.email == "" {
		return &bot.Profile{Name: u.name}
	}
	return &bot.Profile{Name: u.name, Email: u.email, Verified: true}
}

type userInfo struct {
	name, email string
	// failed marks a lookup that failed, remembered for userFailTTL.
	failed bool
	exp    time.Time
}

// userCache remembers users.info answers for a while, bounded in size.
type userCache struct {
	mu  sync.Mutex
	ttl time.Duration
	max int
	now func() time.Time
	m   map[string]userInfo
}

func newUserCache(ttl time.Duration, max int, now func() time.Time) *userCache {
	return &userCache{ttl: ttl, max: max, now: now, m: map[string]userInfo{}}
}

func (c *userCache) get(id string) (userInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.m[id]
	if !ok || c.now().After(u.exp) {
		return userInfo{}, false
	}
	return u, true
}

func (c *userCache) put(id string, u userInfo) {
	ttl := c.ttl
	if u.failed {
		ttl = min(ttl, userFailTTL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	u.exp = c.now().Add(ttl)
	c.m[id] = u
}

// user looks a Slack user up (users.info), cached; false when Slack could
// not say (now or within the last minute).
func (a *Adapter) user(ctx context.Context, id string) (userInfo, bool) {
	if id == "" {
		return userInfo{}, false
	}
	if u, ok := a.users.get(id); ok {
		return u, !u.failed
	}
	ctx, cancel := context.WithTimeout(ctx, userInfoTimeout)
	defer cancel()
	u, err := a.api.GetUserInfoContext(ctx, id)
	if err != nil {
		a.log.Debug("slack users.info failed", "user", id, "err", err)
		a.users.put(id, userInfo{failed: true})
		return userInfo{}, false
	}
	info := userInfo{name: u.Profile.DisplayName, email: strings.TrimSpace(u.Profile.Email)}
	for _, n := range []string{u.Profile.RealName, u.RealName, u.Name} {
		if info.name == "" {
			info.name = n
		}
	}
	a.users.put(id, info)
	return info, true
}

// ignore counts an event handled by doing nothing.
func (a *Adapter) ignore(why string) {
	a.stats.ignored.Add(1)
	a.log.Debug("slack event ignored", "reason", why)
}
