package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	slackapi "github.com/slack-go/slack"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Buckets the adapter keeps its records in (bot.Store).
const (
	// BucketParents maps a conversation id to its parent message in an
	// agents' channel (parentRecord).
	BucketParents = "slack_parents"
	// BucketThreads maps "<agents' channel>/<parent ts>" to a conversation
	// id, so replies in the thread find their conversation.
	BucketThreads = "slack_threads"
	// BucketQueueMessages maps a Slack customer's conversation id to the
	// queue-position message edited in place (queueRecord).
	BucketQueueMessages = "slack_queue_messages"
)

// Reactions marking what happened to an agent's thread message.
const (
	reactionRelayed = "white_check_mark" // ✅ sent to the customer
	reactionNote    = "memo"             // 📝 kept as a private note
)

// parentRecord is the agents' thread of one conversation.
type parentRecord struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
	// Seq is the newest conversation message shown in the thread (summary
	// or mirror): later ones are mirrored, earlier ones never twice.
	Seq uint64 `json:"seq"`
}

func threadKey(channel, ts string) []byte { return []byte(channel + "/" + ts) }

// agentSide reports whether escalations go to Slack at all.
func (a *Adapter) agentSide() bool { return len(a.agentChans) > 0 }

// onEngineEvent is the engine subscriber. It runs in the engine's
// goroutine and must not block: it only queues.
func (a *Adapter) onEngineEvent(ev bot.Event) {
	if !a.agentSide() || a.closed.Load() {
		return
	}
	switch ev.Kind {
	case bot.EventState:
		if ev.Transition == nil {
			return
		}
	case bot.EventMessage:
		// Mirror only while a person is (to be) on it.
		if ev.Message == nil || (ev.Conversation.State != bot.StateWaiting && ev.Conversation.State != bot.StateAgent) {
			return
		}
	default:
		return
	}
	if !a.agentQ.push(ev) {
		a.log.Warn("slack agent queue full; event dropped", "conversation", ev.Conversation.ID, "kind", string(ev.Kind))
	}
}

// agentLoop posts the agent side of engine events, in order.
func (a *Adapter) agentLoop() {
	for {
		ev, ok := a.agentQ.pop()
		if !ok {
			return
		}
		a.run(func(ctx context.Context) {
			var err error
			switch ev.Kind {
			case bot.EventState:
				err = a.onState(ctx, ev)
			case bot.EventMessage:
				err = a.mirror(ctx, ev)
			}
			if err != nil {
				a.fail("slack agent side", err, "conversation", ev.Conversation.ID, "kind", string(ev.Kind))
			}
		})
	}
}

// resync queues the conversations waiting for or with a person that have
// no agents' thread yet: escalated while the adapter was not running.
func (a *Adapter) resync(ctx context.Context) error {
	q, err := a.engine.Queue(ctx)
	if err != nil {
		return err
	}
	for _, en := range q {
		if _, ok, err := a.parent(ctx, en.Conversation.ID); err != nil || ok {
			if err != nil {
				return err
			}
			continue
		}
		st := en.Conversation.State
		tr := bot.Transition{ConversationID: en.Conversation.ID, From: st, To: st, Stage: en.Customer.Stage, Reason: en.Contact.EscalationTrigger}
		a.agentQ.push(bot.Event{Kind: bot.EventState, Conversation: en.Conversation, Transition: &tr})
	}
	return nil
}

// parent loads the agents' thread of a conversation.
func (a *Adapter) parent(ctx context.Context, convID string) (parentRecord, bool, error) {
	var rec parentRecord
	var ok bool
	err := a.engine.Store().View(ctx, func(tx bot.Tx) error {
		var err error
		ok, err = tx.Get(BucketParents, []byte(convID), &rec)
		return err
	})
	return rec, ok, err
}

func (a *Adapter) putParent(ctx context.Context, convID string, rec parentRecord) error {
	return a.engine.Store().Update(ctx, func(tx bot.Tx) error {
		if err := tx.Put(BucketThreads, threadKey(rec.Channel, rec.TS), convID); err != nil {
			return err
		}
		return tx.Put(BucketParents, []byte(convID), rec)
	})
}

// threadConv finds the conversation of an agents' thread. It waits while a
// parent message is being posted and stored: a reply can only name a
// parent that Slack already created.
func (a *Adapter) threadConv(ctx context.Context, channel, ts string) (string, bool, error) {
	a.parentMu.RLock()
	defer a.parentMu.RUnlock()
	var id string
	var ok bool
	err := a.engine.Store().View(ctx, func(tx bot.Tx) error {
		var err error
		ok, err = tx.Get(BucketThreads, threadKey(channel, ts), &id)
		return err
	})
	return id, ok, err
}

// onState posts the parent message of a new escalation, or updates it.
// A conversation with a person but no parent yet (escalated while Slack was
// off, see resync) gets one too.
func (a *Adapter) onState(ctx context.Context, ev bot.Event) error {
	convID := ev.Conversation.ID
	rec, ok, err := a.parent(ctx, convID)
	if err != nil {
		return err
	}
	if !ok && ev.Transition.To != bot.StateWaiting && ev.Transition.To != bot.StateAgent {
		return nil
	}
	view, err := a.engine.View(ctx, convID)
	if err != nil {
		return err
	}
	text, blocks := parentMessage(view)
	if !ok {
		stage := ev.Transition.Stage
		if stage == "" {
			stage = view.Customer.Stage
		}
		channel := route(a.cfg.Routes, a.cfg.AgentChannel, stage, view.Contact.Intents())
		if channel == "" {
			a.log.Info("slack escalation not routed: no agent channel matches", "conversation", convID, "stage", string(stage))
			return nil
		}
		// Until the thread is stored, replies in it must wait, not be
		// mistaken for chatter: see threadConv.
		a.parentMu.Lock()
		defer a.parentMu.Unlock()
		_, ts, err := a.api.PostMessageContext(ctx, channel, slackapi.MsgOptionText(text, false),
			slackapi.MsgOptionBlocks(blocks...), slackapi.MsgOptionDisableLinkUnfurl())
		if err != nil {
			return fmt.Errorf("slack: post escalation: %w", err)
		}
		a.stats.handled.Add(1)
		return a.putParent(ctx, convID, parentRecord{Channel: channel, TS: ts, Seq: lastSeq(view)})
	}
	if _, _, _, err := a.api.UpdateMessageContext(ctx, rec.Channel, rec.TS, slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(blocks...)); err != nil {
		return fmt.Errorf("slack: update escalation: %w", err)
	}
	a.stats.handled.Add(1)
	tr := ev.Transition
	if tr.To == bot.StateWaiting && (tr.From == bot.StateBot || tr.From == bot.StateResolved) {
		// Escalated again: tell the thread, with what was said meanwhile.
		var b strings.Builder
		b.WriteString(":rotating_light: *Escalated again* (" + escape(triggerLabel(tr.Reason)) + ")")
		for _, m := range view.Messages {
			if m.Seq > rec.Seq {
				b.WriteString("\n" + transcriptLine(m, 500))
			}
		}
		if err := a.postThread(ctx, rec, truncate(b.String(), 3500)); err != nil {
			return err
		}
		rec.Seq = lastSeq(view)
		return a.putParent(ctx, convID, rec)
	}
	return nil
}

func lastSeq(v bot.ConversationView) uint64 {
	if n := len(v.Messages); n > 0 {
		return v.Messages[n-1].Seq
	}
	return 0
}

func (a *Adapter) postThread(ctx context.Context, rec parentRecord, text string) error {
	_, _, err := a.api.PostMessageContext(ctx, rec.Channel, slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionTS(rec.TS), slackapi.MsgOptionDisableLinkUnfurl())
	if err != nil {
		return fmt.Errorf("slack: post to agents' thread: %w", err)
	}
	return nil
}

// mirror copies a conversation message into its agents' thread, unless it
// came from that thread or the thread already shows it.
func (a *Adapter) mirror(ctx context.Context, ev bot.Event) error {
	m := *ev.Message
	if m.Role == bot.RoleNote || m.Role == bot.RoleAgent {
		if a.unsuppress(ev.Conversation.ID, m.Role, m.Text) {
			return nil
		}
	}
	rec, ok, err := a.parent(ctx, ev.Conversation.ID)
	if err != nil || !ok || m.Seq <= rec.Seq {
		return err
	}
	if err := a.postThread(ctx, rec, transcriptLine(m, 3000)); err != nil {
		return err
	}
	a.stats.handled.Add(1)
	rec.Seq = m.Seq
	return a.putParent(ctx, ev.Conversation.ID, rec)
}

// suppressKey identifies an agent's message in flight from a Slack thread.
func suppressKey(convID string, role bot.Role, text string) string {
	if t, err := bot.CleanText(text, 1<<30); err == nil {
		text = t
	}
	return convID + "\x00" + string(role) + "\x00" + text
}

// suppressAdd marks a message written in an agents' thread before it goes
// through the engine; the mirror then skips it.
func (a *Adapter) suppressAdd(convID string, role bot.Role, text string) string {
	k := suppressKey(convID, role, text)
	a.suppressMu.Lock()
	a.suppress[k]++
	a.suppressMu.Unlock()
	return k
}

// suppressDrop undoes suppressAdd for a message the engine refused.
func (a *Adapter) suppressDrop(k string) {
	a.suppressMu.Lock()
	defer a.suppressMu.Unlock()
	if a.suppress[k]--; a.suppress[k] <= 0 {
		delete(a.suppress, k)
	}
}

// unsuppress reports (and forgets) whether a message came from Slack.
func (a *Adapter) unsuppress(convID string, role bot.Role, text string) bool {
	k := suppressKey(convID, role, text)
	a.suppressMu.Lock()
	defer a.suppressMu.Unlock()
	if a.suppress[k] == 0 {
		return false
	}
	if a.suppress[k]--; a.suppress[k] == 0 {
		delete(a.suppress, k)
	}
	return true
}

// agent is a member of an agents' channel, as the engine sees them. Being
// in that channel is the trust: see docs/slack.md.
func (a *Adapter) agent(ctx context.Context, user string) bot.Agent {
	name := user
	if u, ok := a.user(ctx, user); ok && u.name != "" {
		name = u.name
	}
	return bot.Agent{ID: "slack:" + user, Name: name, Role: bot.RoleNameAgent}
}

// who renders an agent id for Slack: a mention for Slack agents, the id for
// others (agent console accounts).
func who(agentID string) string {
	if u, ok := strings.CutPrefix(agentID, "slack:"); ok {
		return "<@" + u + ">"
	}
	if agentID == "" {
		return "someone"
	}
	return escape(agentID)
}

// onAgentMessage applies the internal-note rule to a message in an agents'
// thread: it reaches the customer only when its author holds the
// conversation and it starts with "reply:"; anything else is a private
// note. ✅ marks relayed messages, 📝 notes.
func (a *Adapter) onAgentMessage(ctx context.Context, in incoming) {
	if in.threadTS == "" || in.threadTS == in.ts {
		a.ignore("top-level message in an agents' channel")
		return
	}
	convID, ok, err := a.threadConv(ctx, in.channel, in.threadTS)
	if err != nil {
		a.fail("slack thread lookup", err, "channel", in.channel)
		return
	}
	if !ok {
		a.ignore("thread without an escalation")
		return
	}
	var conv bot.Conversation
	err = a.engine.Store().View(ctx, func(tx bot.Tx) error {
		var err error
		conv, err = bot.GetConversation(tx, convID)
		return err
	})
	if err != nil {
		a.fail("slack conversation lookup", err, "conversation", convID)
		return
	}
	agent := a.agent(ctx, in.user)
	text := PlainText(in.text)
	if strings.TrimSpace(text) == "" {
		a.ignore("agent message without text")
		return
	}
	body, isReply := replyText(text)
	holder := conv.State == bot.StateAgent && conv.AgentID == agent.ID
	rec := parentRecord{Channel: in.channel, TS: in.threadTS}
	var why string
	if isReply && holder {
		k := a.suppressAdd(convID, bot.RoleAgent, body)
		_, err := a.engine.Reply(ctx, convID, agent, body)
		if err == nil {
			a.stats.handled.Add(1)
			a.react(ctx, in.channel, in.ts, reactionRelayed)
			return
		}
		a.suppressDrop(k)
		if !bot.IsUserError(err) {
			a.fail("slack relay reply", err, "conversation", convID)
		}
		// Not sent after all (resolved meanwhile, empty): keep the words.
		why = "Not sent to the customer: " + escape(bot.ErrorMessage(err))
	} else if isReply {
		switch conv.State {
		case bot.StateAgent:
			why = "Not sent: " + who(conv.AgentID) + " holds this conversation and only they can reply to the customer."
		case bot.StateWaiting:
			why = "Not sent: claim the conversation first (the *Claim* button above), then start your message with `reply:`."
		default:
			why = "Not sent: this conversation is not with a person any more."
		}
	} else if conv.State == bot.StateWaiting {
		why = "Claim the conversation to answer the customer: only messages from the agent who claimed it that start with `reply:` are sent."
	}
	k := a.suppressAdd(convID, bot.RoleNote, text)
	if _, err := a.engine.Note(ctx, convID, agent, text); err != nil {
		a.suppressDrop(k)
		if bot.IsUserError(err) {
			a.stats.handled.Add(1)
			a.ephemeral(ctx, rec, in.user, escape(bot.ErrorMessage(err)))
		} else {
			a.fail("slack note", err, "conversation", convID)
		}
		return
	}
	a.stats.handled.Add(1)
	a.react(ctx, in.channel, in.ts, reactionNote)
	if why != "" {
		a.ephemeral(ctx, rec, in.user, ":memo: Saved as a private note. "+why)
	}
}

func (a *Adapter) react(ctx context.Context, channel, ts, name string) {
	if err := a.api.AddReactionContext(ctx, name, slackapi.NewRefToMessage(channel, ts)); err != nil {
		a.log.Warn("slack reaction failed", "channel", channel, "reaction", name, "err", err)
	}
}

// ephemeral shows text to one agent only, in the conversation's thread.
func (a *Adapter) ephemeral(ctx context.Context, rec parentRecord, user, text string) {
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false)}
	if rec.TS != "" {
		opts = append(opts, slackapi.MsgOptionTS(rec.TS))
	}
	if _, err := a.api.PostEphemeralContext(ctx, rec.Channel, user, opts...); err != nil {
		a.log.Warn("slack ephemeral failed", "channel", rec.Channel, "err", err)
	}
}

// handleInteraction routes a button click.
func (a *Adapter) handleInteraction(ctx context.Context, cb slackapi.InteractionCallback) {
	if cb.Type != slackapi.InteractionTypeBlockActions || cb.User.ID == "" {
		a.ignore("not a button click")
		return
	}
	for _, act := range cb.ActionCallback.BlockActions {
		switch {
		case act.ActionID == actionClaim || act.ActionID == actionResolve:
			a.onAgentButton(ctx, cb, act)
		case strings.HasPrefix(act.ActionID, actionChoice):
			a.onChoice(ctx, cb, act)
		default:
			a.ignore("unknown action")
		}
	}
}

// onAgentButton claims or resolves a conversation from its parent message.
func (a *Adapter) onAgentButton(ctx context.Context, cb slackapi.InteractionCallback, act *slackapi.BlockAction) {
	channel := cb.Container.ChannelID
	if channel == "" {
		channel = cb.Channel.ID
	}
	if !a.agentChans[channel] {
		// Agent buttons only ever live in agents' channels.
		a.ignore("agent button outside an agents' channel")
		return
	}
	convID := act.Value
	rec := parentRecord{Channel: channel, TS: cb.Container.MessageTs}
	// The button's value must name the conversation of the parent message
	// that carries it: a forged value acts on nothing.
	if owner, ok, err := a.threadConv(ctx, channel, rec.TS); err != nil || !ok || owner != convID {
		a.ignore("agent button not on its conversation's parent")
		a.ephemeral(ctx, rec, cb.User.ID, "This button does not belong to a conversation here.")
		return
	}
	agent := a.agent(ctx, cb.User.ID)
	var err error
	if act.ActionID == actionClaim {
		_, err = a.engine.Claim(ctx, convID, agent)
	} else {
		err = a.engine.Resolve(ctx, convID, agent)
	}
	if err != nil {
		if !bot.IsUserError(err) {
			a.fail("slack "+act.ActionID, err, "conversation", convID)
			a.ephemeral(ctx, rec, cb.User.ID, "Something went wrong; please try again.")
			return
		}
		a.stats.handled.Add(1)
		a.ephemeral(ctx, rec, cb.User.ID, a.buttonRefusal(ctx, convID, agent, act.ActionID, err))
		return
	}
	a.stats.handled.Add(1)
	if act.ActionID == actionClaim {
		a.ephemeral(ctx, rec, cb.User.ID, "You have this conversation. In this thread, start a message with `reply:` to send it to the customer; anything else stays a private note.")
	}
}

// buttonRefusal explains a refused claim or resolve, naming the holder.
func (a *Adapter) buttonRefusal(ctx context.Context, convID string, agent bot.Agent, action string, err error) string {
	var conv bot.Conversation
	_ = a.engine.Store().View(ctx, func(tx bot.Tx) error {
		var err error
		conv, err = bot.GetConversation(tx, convID)
		return err
	})
	var be *bot.Error
	errors.As(err, &be)
	switch {
	case conv.State == bot.StateAgent && conv.AgentID != agent.ID:
		return "Already claimed by " + who(conv.AgentID) + "."
	case conv.State == bot.StateAgent && action == actionClaim:
		return "You already have this conversation."
	case conv.State == bot.StateResolved || conv.State == bot.StateBot:
		return "This conversation is no longer waiting for a person."
	}
	return escape(bot.ErrorMessage(err))
}

// eventQueue is the agent side's FIFO: push never blocks (the engine's
// subscriber calls it); beyond max, events are refused.
type eventQueue struct {
	mu     sync.Mutex
	items  []bot.Event
	max    int
	closed bool
	wake   chan struct{}
}

func newEventQueue(max int) *eventQueue {
	return &eventQueue{max: max, wake: make(chan struct{}, 1)}
}

func (q *eventQueue) push(ev bot.Event) bool {
	q.mu.Lock()
	if q.closed || len(q.items) >= q.max {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, ev)
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop waits for the next event; false once closed and empty.
func (q *eventQueue) pop() (bot.Event, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			ev := q.items[0]
			q.items[0] = bot.Event{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return ev, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return bot.Event{}, false
		}
		<-q.wake
	}
}

func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}
