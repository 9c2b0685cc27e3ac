package slack_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/bot/bottest"
	"github.com/frontdesk-chat/frontdesk/channels/slack"
	"github.com/frontdesk-chat/frontdesk/channels/slack/slackfake"
	"github.com/frontdesk-chat/frontdesk/store"
)

const agents = "CAGENTS"

var topics = []bot.Topic{
	{ID: "shipping", Title: "Shipping times", Stage: bot.StageConsideration, Questions: []string{"how long is shipping"},
		Answer: "Delivery takes 2-3 days. See [our shipping page](https://shop.example/shipping)."},
	{ID: "returns", Title: "Returns", Stage: bot.StagePostPurchase, Questions: []string{"how do I return"}, Answer: "Returns are free for 30 days."},
	{ID: "damaged", Title: "Damaged item", Stage: bot.StagePostPurchase, Questions: []string{"my item is broken"}, Answer: "Sorry to hear that.", Human: true},
	{ID: "human", Title: "Talk to a person", Stage: bot.StageAwareness, Questions: []string{"human please"}, Action: bot.ActionHandoff},
	{ID: "checkout", Title: "Checkout", Stage: bot.StagePurchase, Questions: []string{"checkout fails"}, Answer: "Try another card."},
}

func confident(id string) bot.Prediction {
	return bot.Prediction{Intent: id, Confidence: 0.95, Verdict: bot.Confident, Alternatives: []bot.Scored{{Intent: id, Confidence: 0.95}}, Language: "en"}
}

var script = map[string]bot.Prediction{
	"how long is shipping?": confident("shipping"),
	"get me a human":        confident("human"),
	"my parcel is broken":   confident("damaged"),
	"checkout fails":        confident("checkout"),
	"shipping or returns?": {Intent: "shipping", Confidence: 0.5, Verdict: bot.Unsure, Language: "en",
		Alternatives: []bot.Scored{{Intent: "shipping", Confidence: 0.5}, {Intent: "returns", Confidence: 0.4}}},
}

// env is a real engine on a real bbolt store, a recording sender for the
// web channel, the Slack adapter and the fake Slack it talks to.
type env struct {
	t      *testing.T
	ctx    context.Context
	fake   *slackfake.Server
	db     *store.DB
	engine *bot.Engine
	web    *bottest.Sender
	a      *slack.Adapter
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newEnv(t *testing.T, mod func(*slack.Config)) *env {
	t.Helper()
	return newEnvBefore(t, mod, nil)
}

// newEnvBefore is newEnv running before on the engine before the adapter
// starts.
func newEnvBefore(t *testing.T, mod func(*slack.Config), before func(*env)) *env {
	t.Helper()
	e := &env{t: t, ctx: t.Context(), fake: slackfake.New(), web: &bottest.Sender{}}
	t.Cleanup(e.fake.Close)
	e.fake.SetUser("UA1", "Alice")
	e.fake.SetUser("UA2", "Bob")
	e.fake.SetUser("UC1", "Carol")
	var err error
	e.db, err = store.Open(store.Config{Path: filepath.Join(t.TempDir(), "t.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	e.engine = bot.NewEngine(e.db, bot.Config{Logger: testLogger(t)})
	e.engine.SetKnowledge(bot.NewKnowledge(topics, &bottest.Classifier{Script: script}))
	e.engine.Register(bot.ChannelWeb, e.web)
	cfg := slack.Config{
		BotToken: e.fake.BotToken, AppToken: e.fake.AppToken, AgentChannel: agents,
		APIURL: e.fake.APIURL(), Logger: testLogger(t), HandleTimeout: 10 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	if before != nil {
		before(e)
	}
	e.a, err = slack.New(e.engine, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.a.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.a.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// waitFor waits (with a deadline) until cond holds.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	if err := e.fake.WaitFor(ctx, cond); err != nil {
		e.t.Fatalf("waiting for %s: %v\nstats: %+v\nephemerals: %+v", what, err, e.a.Stats(), e.fake.Ephemerals())
	}
}

// waitPost waits for a post in channel (and thread) whose text contains s.
func (e *env) waitPost(what, channel, threadTS, s string) slackfake.Post {
	e.t.Helper()
	var found slackfake.Post
	e.waitFor(what, func() bool {
		for _, p := range e.fake.PostsIn(channel, threadTS) {
			if strings.Contains(p.Text, s) {
				found = p
				return true
			}
		}
		return false
	})
	return found
}

func (e *env) send(eventID string, ev map[string]any) {
	e.t.Helper()
	id, err := e.fake.SendEvent(e.ctx, eventID, ev)
	if err != nil {
		e.t.Fatal(err)
	}
	e.waitFor("ack of "+eventID, func() bool { return e.fake.Acked(id) })
}

func (e *env) click(c slackfake.Click) {
	e.t.Helper()
	id, err := e.fake.Click(e.ctx, c)
	if err != nil {
		e.t.Fatal(err)
	}
	e.waitFor("ack of click", func() bool { return e.fake.Acked(id) })
}

func (e *env) view(convID string) bot.ConversationView {
	e.t.Helper()
	v, err := e.engine.View(e.ctx, convID)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// webGot reports whether the web customer was sent a text containing s.
func (e *env) webGot(s string) bool {
	for _, t := range e.web.Texts() {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

func dm(user, text, ts string) map[string]any {
	return map[string]any{"type": "message", "channel": "D1", "channel_type": "im", "user": user, "text": text,
		"ts": ts, "event_ts": ts, "client_msg_id": "cm-" + ts, "team": "T1"}
}

func channelMsg(channel, user, text, ts, threadTS string) map[string]any {
	m := map[string]any{"type": "message", "channel": channel, "channel_type": "channel", "user": user, "text": text,
		"ts": ts, "event_ts": ts, "client_msg_id": "cm-" + ts, "team": "T1"}
	if threadTS != "" {
		m["thread_ts"] = threadTS
	}
	return m
}

func mention(channel, user, text, ts, threadTS string) map[string]any {
	m := map[string]any{"type": "app_mention", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts}
	if threadTS != "" {
		m["thread_ts"] = threadTS
	}
	return m
}

func TestDM_IsAnsweredInThread(t *testing.T) {
	e := newEnv(t, nil)
	e.send("Ev1", dm("UC1", "how long is shipping?", "1699999999.000100"))

	p := e.waitPost("the answer", "D1", "1699999999.000100", "Delivery takes 2-3 days")
	if !strings.Contains(p.Text, "<https://shop.example/shipping|our shipping page>") {
		t.Errorf("answer not in mrkdwn: %q", p.Text)
	}
	conv, msgs, err := e.engine.History(e.ctx, bot.ChannelSlack, "T1:UC1", "D1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Text != "how long is shipping?" || conv.Address["thread_ts"] != "1699999999.000100" {
		t.Fatalf("conversation = %+v, messages = %+v", conv, msgs)
	}
	if conv.Public {
		t.Error("a DM is marked public: order tracking would refuse it")
	}
	v := e.view(conv.ID)
	if v.Customer.Profile.Name != "Carol" {
		t.Errorf("customer name = %q, want Carol (from users.info)", v.Customer.Profile.Name)
	}
	// A later DM, threaded or not, continues the same conversation.
	e.send("Ev2", dm("UC1", "shipping or returns?", "1699999999.000300"))
	e.waitFor("second answer", func() bool { return len(e.fake.PostsIn("D1", "1699999999.000300")) == 1 })
	_, msgs, _ = e.engine.History(e.ctx, bot.ChannelSlack, "T1:UC1", "D1", 0)
	if len(msgs) != 4 {
		t.Errorf("messages = %d, want 4 in one conversation", len(msgs))
	}
}

func TestMention_IsAnsweredInThreadAndFollowUpsContinue(t *testing.T) {
	e := newEnv(t, nil)
	const q = "1699999999.000100"
	e.send("Ev1", mention("CPUB", "UC1", "<@UBOT> how long is shipping?", q, ""))
	// Slack also sends the message event for the same message.
	e.send("Ev2", channelMsg("CPUB", "UC1", "<@UBOT> how long is shipping?", q, ""))
	// Channel chatter the bot was not asked about.
	e.send("Ev3", channelMsg("CPUB", "UC1", "how long is shipping?", "1699999999.000200", ""))
	e.send("Ev4", channelMsg("CPUB", "UX", "how long is shipping?", "1699999999.000300", q))

	e.waitPost("the answer", "CPUB", q, "Delivery takes 2-3 days")
	e.waitFor("all four events handled", func() bool { s := e.a.Stats(); return s.Handled+s.Ignored >= 4 })
	if n := len(e.fake.PostsIn("CPUB", "")); n != 1 {
		t.Fatalf("posts in channel = %d, want 1 (the mention answered once, chatter ignored)", n)
	}

	// A follow-up in the thread needs no mention.
	e.send("Ev5", channelMsg("CPUB", "UC1", "shipping or returns?", "1699999999.000400", q))
	p := e.waitPost("the clarifying question", "CPUB", q, "Did you mean")
	if _, ok := p.Button("fd_choice:returns"); !ok {
		t.Errorf("no returns button in %s", p.Blocks)
	}
	conv, msgs, err := e.engine.History(e.ctx, bot.ChannelSlack, "T1:UC1", "CPUB:"+q, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !conv.Public {
		t.Error("a channel thread is not marked public: order details could be posted there")
	}
	if len(msgs) != 4 {
		t.Fatalf("thread conversation has %d messages, want 4: %+v", len(msgs), msgs)
	}
}

func TestChoice_ClickAnswersAndDisablesButtons(t *testing.T) {
	e := newEnv(t, nil)
	const q = "1699999999.000100"
	e.send("Ev1", dm("UC1", "shipping or returns?", q))
	p := e.waitPost("buttons", "D1", q, "Did you mean")
	if len(p.Buttons()) != 3 {
		t.Fatalf("buttons = %+v, want shipping, returns and a person", p.Buttons())
	}
	e.click(slackfake.Click{User: "UC1", Channel: "D1", MessageTS: p.TS, ActionID: "fd_choice:shipping"})
	e.waitPost("the chosen answer", "D1", q, "Delivery takes 2-3 days")
	e.waitFor("buttons removed", func() bool {
		m, _ := e.fake.Message("D1", p.TS)
		return m.Updates > 0 && len(m.Buttons()) == 0
	})
	// A second click (a stale client) is a duplicate.
	before := e.a.Stats().Handled
	e.click(slackfake.Click{User: "UC1", Channel: "D1", MessageTS: p.TS, ActionID: "fd_choice:shipping", Value: "shipping", Label: "Shipping times"})
	e.waitFor("second click handled", func() bool { return e.a.Stats().Handled > before })
	if n := len(e.fake.PostsIn("D1", q)); n != 2 {
		t.Fatalf("posts in thread = %d, want 2 (question's buttons and one answer)", n)
	}
}

func TestOwnMessages_AreIgnored(t *testing.T) {
	e := newEnv(t, nil)
	own := dm("UBOT", "how long is shipping?", "1699999999.000100")
	other := dm("UOTHER", "how long is shipping?", "1699999999.000200")
	other["bot_id"], other["subtype"] = "BBOT", "bot_message"
	edit := dm("UC1", "", "1699999999.000300")
	edit["subtype"] = "message_changed"
	edit["message"] = map[string]any{"type": "message", "user": "UC1", "text": "how long is shipping?", "ts": "1699999999.000050"}
	e.send("Ev1", own)
	e.send("Ev2", other)
	e.send("Ev3", edit)
	e.waitFor("three events ignored", func() bool { return e.a.Stats().Ignored >= 3 })
	if n := len(e.fake.Posts()); n != 0 {
		t.Fatalf("the bot posted %d messages in answer to itself or an edit", n)
	}
	for _, u := range []string{"T1:UBOT", "T1:UOTHER", "T1:UC1"} {
		if conv, _, _ := e.engine.History(e.ctx, bot.ChannelSlack, u, "D1", 0); conv.ID != "" {
			t.Errorf("a conversation was stored for %s", u)
		}
	}
}

func TestRedeliveredEvent_IsHandledOnce(t *testing.T) {
	e := newEnv(t, nil)
	const q = "1699999999.000100"
	ev := dm("UC1", "how long is shipping?", q)
	e.send("EvSame", ev)
	e.waitPost("the answer", "D1", q, "Delivery takes")
	id, err := e.fake.Redeliver(e.ctx, "EvSame", ev)
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("redelivery acked and dropped", func() bool { return e.fake.Acked(id) && e.a.Stats().Duplicates == 1 })
	if n := len(e.fake.PostsIn("D1", q)); n != 1 {
		t.Fatalf("answers = %d, want 1", n)
	}
	_, msgs, _ := e.engine.History(e.ctx, bot.ChannelSlack, "T1:UC1", "D1", 0)
	if len(msgs) != 2 {
		t.Fatalf("stored messages = %d, want 2", len(msgs))
	}
}

func TestRedeliveredAgentMessage_IsOneNote(t *testing.T) {
	e := newEnv(t, nil)
	convID, parent := e.escalateWeb("v:1")
	ev := channelMsg(agents, "UA1", "customer called twice already", "1700000900.000100", parent.TS)
	e.send("EvNote", ev)
	e.waitFor("note reaction", func() bool { return e.fake.HasReaction(agents, "1700000900.000100", "memo") })
	id, err := e.fake.Redeliver(e.ctx, "EvNote", ev)
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("redelivery dropped", func() bool { return e.fake.Acked(id) && e.a.Stats().Duplicates == 1 })
	if notes := e.notes(convID); len(notes) != 1 {
		t.Fatalf("notes = %q, want one", notes)
	}
}

func TestEscalationsBeforeStart_ArePostedOnStart(t *testing.T) {
	var convID string
	e := newEnvBefore(t, nil, func(e *env) {
		rc, err := e.engine.Handle(e.ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:early", Text: "get me a human"})
		if err != nil {
			t.Fatal(err)
		}
		convID = rc.ConversationID
	})
	e.waitFor("the earlier escalation posted", func() bool {
		for _, p := range e.fake.PostsIn(agents, "") {
			if b, ok := p.Button("fd_claim"); ok && b.Value == convID {
				return true
			}
		}
		return false
	})
}

// escalateWeb makes a web customer ask for a person and returns the
// conversation id and the parent message in the agents' channel.
func (e *env) escalateWeb(user string) (string, slackfake.Post) {
	e.t.Helper()
	rc, err := e.engine.Handle(e.ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: user, Text: "get me a human", Address: map[string]string{"visitor": user}})
	if err != nil {
		e.t.Fatal(err)
	}
	var parent slackfake.Post
	e.waitFor("escalation in the agents' channel", func() bool {
		for _, p := range e.fake.PostsIn(agents, "") {
			if _, ok := p.Button("fd_claim"); ok && p.ThreadTS == "" {
				if b, _ := p.Button("fd_claim"); b.Value == rc.ConversationID {
					parent = p
					return true
				}
			}
		}
		return false
	})
	return rc.ConversationID, parent
}

func (e *env) agentSays(eventID, user, text, ts, parentTS string) {
	e.t.Helper()
	e.send(eventID, channelMsg(agents, user, text, ts, parentTS))
}

func (e *env) notes(convID string) []string {
	var out []string
	for _, m := range e.view(convID).Messages {
		if m.Role == bot.RoleNote {
			out = append(out, m.Author+": "+m.Text)
		}
	}
	return out
}

func TestEscalationFromWeb_ClaimReplyNotesAndResolve(t *testing.T) {
	e := newEnv(t, nil)
	convID, parent := e.escalateWeb("v:visitor1")
	for _, s := range []string{"Customer v:visitor1", "web", "customer asked for a person", "waiting for an agent", "get me a human"} {
		if !strings.Contains(parent.BlockText(), s) {
			t.Errorf("parent message lacks %q: %s", s, parent.Blocks)
		}
	}
	if _, ok := parent.Button("fd_resolve"); !ok {
		t.Error("parent message has no Resolve button")
	}

	// Before anyone claims it, "reply:" is still only a note.
	e.agentSays("EvA1", "UA1", "reply: hi, looking now", "1700000900.000100", parent.TS)
	e.waitFor("note reaction", func() bool { return e.fake.HasReaction(agents, "1700000900.000100", "memo") })
	e.waitFor("claim-first hint", func() bool {
		for _, m := range e.fake.Ephemerals() {
			if m.User == "UA1" && strings.Contains(m.Text, "claim the conversation first") {
				return true
			}
		}
		return false
	})

	// A click whose value names another conversation acts on nothing.
	e.click(slackfake.Click{User: "UA1", Channel: agents, MessageTS: parent.TS, ActionID: "fd_claim", Value: "01forgedconversation", Label: "Claim"})
	e.waitFor("forged click refused", func() bool {
		for _, m := range e.fake.Ephemerals() {
			if m.User == "UA1" && strings.Contains(m.Text, "does not belong") {
				return true
			}
		}
		return false
	})

	// Claim.
	e.click(slackfake.Click{User: "UA1", Channel: agents, MessageTS: parent.TS, ActionID: "fd_claim"})
	e.waitFor("parent shows the holder", func() bool {
		m, _ := e.fake.Message(agents, parent.TS)
		_, claimable := m.Button("fd_claim")
		return strings.Contains(m.BlockText(), "claimed by <@UA1>") && !claimable
	})
	if v := e.view(convID); v.Conversation.State != bot.StateAgent || v.Conversation.AgentID != "slack:UA1" {
		t.Fatalf("after claim: state %s, agent %q", v.Conversation.State, v.Conversation.AgentID)
	}
	e.waitFor("the customer is told", func() bool { return e.webGot("Alice has joined") })

	// A second claimer is told who has it.
	e.click(slackfake.Click{User: "UA2", Channel: agents, MessageTS: parent.TS, ActionID: "fd_claim", Value: convID, Label: "Claim"})
	e.waitFor("already-claimed notice", func() bool {
		for _, m := range e.fake.Ephemerals() {
			if m.User == "UA2" && strings.Contains(m.Text, "Already claimed by <@UA1>") {
				return true
			}
		}
		return false
	})

	// The holder's message without the prefix is a note.
	e.agentSays("EvA2", "UA1", "checking the warehouse system", "1700000900.000200", parent.TS)
	e.waitFor("note reaction", func() bool { return e.fake.HasReaction(agents, "1700000900.000200", "memo") })
	// Someone else's reply: is a note.
	e.agentSays("EvA3", "UA2", "Reply: I can take this one", "1700000900.000300", parent.TS)
	e.waitFor("note reaction", func() bool { return e.fake.HasReaction(agents, "1700000900.000300", "memo") })
	e.waitFor("not-yours hint", func() bool {
		for _, m := range e.fake.Ephemerals() {
			if m.User == "UA2" && strings.Contains(m.Text, "<@UA1> holds this conversation") {
				return true
			}
		}
		return false
	})

	// The holder's reply: reaches the web customer, links converted back.
	e.agentSays("EvA4", "UA1", "REPLY: Your parcel ships today, see <https://t.example/1|tracking> &amp; more", "1700000900.000400", parent.TS)
	e.waitFor("relayed reaction", func() bool { return e.fake.HasReaction(agents, "1700000900.000400", "white_check_mark") })
	if !e.webGot("Your parcel ships today, see [tracking](https://t.example/1) & more") {
		t.Fatalf("web customer did not get the reply: %q", e.web.Texts())
	}
	if last, _ := e.web.Last(); last.Message.Role != bot.RoleAgent || last.Message.Author != "Alice" {
		t.Errorf("relayed as %s by %q, want an agent message by Alice", last.Message.Role, last.Message.Author)
	}

	notes := e.notes(convID)
	want := []string{"Alice: reply: hi, looking now", "Alice: checking the warehouse system", "Bob: Reply: I can take this one"}
	if strings.Join(notes, "|") != strings.Join(want, "|") {
		t.Errorf("notes = %q, want %q", notes, want)
	}
	for _, s := range []string{"looking now", "warehouse", "take this one"} {
		if e.webGot(s) {
			t.Errorf("a note reached the customer: %q", s)
		}
	}

	// The web customer's next message is mirrored into the thread; the
	// agent's own reply is not echoed back.
	if _, err := e.engine.Handle(e.ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:visitor1", Text: "thanks, what carrier?"}); err != nil {
		t.Fatal(err)
	}
	e.waitPost("mirrored customer message", agents, parent.TS, "thanks, what carrier?")
	for _, p := range e.fake.PostsIn(agents, parent.TS) {
		if strings.Contains(p.Text, "Your parcel ships today") || strings.Contains(p.Text, "warehouse") {
			t.Errorf("the agent's own thread message was echoed: %q", p.Text)
		}
	}

	// Resolve.
	e.click(slackfake.Click{User: "UA1", Channel: agents, MessageTS: parent.TS, ActionID: "fd_resolve"})
	e.waitFor("parent shows resolved", func() bool {
		m, _ := e.fake.Message(agents, parent.TS)
		return strings.Contains(m.BlockText(), "resolved by <@UA1>") && len(m.Buttons()) == 0
	})
	if v := e.view(convID); v.Conversation.State != bot.StateResolved || v.Contact.Outcome != bot.OutcomeAgentResolved {
		t.Fatalf("after resolve: state %s, outcome %s", v.Conversation.State, v.Contact.Outcome)
	}
	e.waitFor("customer told it is resolved", func() bool { return e.webGot("resolved") })
}

func TestSlackCustomer_EscalatesAndGetsAgentReplyInThread(t *testing.T) {
	e := newEnv(t, nil)
	webConv, webParent := e.escalateWeb("v:first")

	const q = "1699999999.000100"
	e.send("Ev1", dm("UC1", "get me a human", q))
	e.waitPost("handoff reply", "D1", q, "handing you over")
	queue := e.waitPost("queue position", "D1", q, "number 2 in the queue")
	var parent slackfake.Post
	e.waitFor("slack escalation in agents' channel", func() bool {
		for _, p := range e.fake.PostsIn(agents, "") {
			if strings.Contains(p.BlockText(), "Carol") {
				parent = p
				return true
			}
		}
		return false
	})
	if parent.TS == webParent.TS {
		t.Fatal("two conversations share one parent message")
	}

	// The web customer ahead is claimed: the Slack customer's queue
	// message is edited in place, not posted again.
	e.click(slackfake.Click{User: "UA2", Channel: agents, MessageTS: webParent.TS, ActionID: "fd_claim"})
	e.waitFor("queue message edited", func() bool {
		m, _ := e.fake.Message("D1", queue.TS)
		return strings.Contains(m.Text, "number 1 in the queue")
	})
	n := 0
	for _, p := range e.fake.PostsIn("D1", q) {
		if strings.Contains(p.Text, "in the queue") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("queue messages posted = %d, want 1 edited in place", n)
	}
	_ = webConv

	e.click(slackfake.Click{User: "UA1", Channel: agents, MessageTS: parent.TS, ActionID: "fd_claim"})
	e.waitPost("joined notice", "D1", q, "Alice has joined")
	e.agentSays("EvA1", "UA1", "reply: Hello Carol, **happy** to help", "1700000900.000100", parent.TS)
	p := e.waitPost("agent reply in the customer's thread", "D1", q, "Hello Carol")
	if p.Text != "*Alice:* Hello Carol, *happy* to help" {
		t.Errorf("reply rendered as %q", p.Text)
	}
	// The customer's answer reaches the agents' thread.
	e.send("Ev2", dm("UC1", "great, thanks", "1699999999.000500"))
	e.waitPost("mirrored", agents, parent.TS, "great, thanks")
}

func TestEscalation_IsRoutedByTopicAndStage(t *testing.T) {
	e := newEnv(t, func(c *slack.Config) {
		routes, err := slack.ParseRoutes("topic:damaged=CDMG,stage:purchase=CPUR")
		if err != nil {
			t.Fatal(err)
		}
		c.Routes = routes
	})
	if _, err := e.engine.Handle(e.ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "my parcel is broken"}); err != nil {
		t.Fatal(err)
	}
	e.waitPost("damaged escalation", "CDMG", "", "topic needs a person")

	for _, text := range []string{"checkout fails", "get me a human"} {
		if _, err := e.engine.Handle(e.ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:2", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	e.waitPost("purchase escalation", "CPUR", "", "customer asked for a person")
	if n := len(e.fake.PostsIn(agents, "")); n != 0 {
		t.Errorf("default channel got %d escalations, want 0", n)
	}
	// Agents act from routed channels too.
	p := e.fake.PostsIn("CPUR", "")[0]
	e.click(slackfake.Click{User: "UA1", Channel: "CPUR", MessageTS: p.TS, ActionID: "fd_claim"})
	e.waitFor("claimed from a routed channel", func() bool {
		m, _ := e.fake.Message("CPUR", p.TS)
		return strings.Contains(m.BlockText(), "claimed by <@UA1>")
	})
}

func TestSocket_ReconnectsAfterDrop(t *testing.T) {
	e := newEnv(t, nil)
	e.send("Ev1", dm("UC1", "how long is shipping?", "1699999999.000100"))
	e.waitPost("answer before the drop", "D1", "1699999999.000100", "Delivery takes")
	if e.fake.Opens() != 1 {
		t.Fatalf("apps.connections.open calls = %d, want 1", e.fake.Opens())
	}
	e.fake.Drop()
	e.waitFor("a new connection", func() bool { return e.fake.Opens() >= 2 && e.fake.Connections() >= 2 && e.fake.Connected() })
	e.send("Ev2", dm("UC1", "how long is shipping?", "1699999999.000200"))
	e.waitPost("answer after the drop", "D1", "1699999999.000200", "Delivery takes")
}

func sign(secret string, ts time.Time, body []byte) http.Header {
	h := http.Header{}
	s := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, "v0:"+s+":")
	mac.Write(body)
	h.Set("X-Slack-Request-Timestamp", s)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

func TestEventsAPI_VerifiesSignatures(t *testing.T) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	e := newEnv(t, func(c *slack.Config) { c.AppToken, c.SigningSecret = "", secret })
	srv := httptest.NewServer(e.a.Handler())
	t.Cleanup(srv.Close)
	if e.fake.Opens() != 0 {
		t.Fatal("socket mode started without an app-level token")
	}

	post := func(path string, h http.Header, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(e.ctx, "POST", srv.URL+path, strings.NewReader(string(body)))
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	challenge := []byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	now := time.Now()
	tests := []struct {
		name   string
		path   string
		header http.Header
		body   []byte
		want   int
	}{
		{"missing signature is refused", "/slack/events", http.Header{}, challenge, 401},
		{"signature with another secret is refused", "/slack/events", sign("not-the-secret", now, challenge), challenge, 401},
		{"signature over another body is refused", "/slack/events", sign(secret, now, []byte("{}")), challenge, 401},
		{"stale signature is refused", "/slack/events", sign(secret, now.Add(-10*time.Minute), challenge), challenge, 401},
		{"future signature is refused", "/slack/events", sign(secret, now.Add(10*time.Minute), challenge), challenge, 401},
		{"unsigned interactivity is refused", "/slack/interactivity", http.Header{}, []byte("payload=%7B%7D"), 401},
		{"good url_verification is answered", "/slack/events", sign(secret, now, challenge), challenge, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(tt.path, tt.header, tt.body)
			if code != tt.want {
				t.Fatalf("status = %d (%s), want %d", code, body, tt.want)
			}
			if code == 200 {
				var got struct{ Challenge string }
				if err := json.Unmarshal([]byte(body), &got); err != nil || got.Challenge != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
					t.Fatalf("challenge answer = %q (%v)", body, err)
				}
			}
		})
	}

	t.Run("a signed event is answered once", func(t *testing.T) {
		body, _ := json.Marshal(e.fake.EventCallback("EvHTTP", dm("UC1", "how long is shipping?", "1699999999.000100")))
		for range 2 { // the second is Slack's retry
			h := sign(secret, time.Now(), body)
			h.Set("X-Slack-Retry-Num", "1")
			if code, b := post("/slack/events", h, body); code != 200 {
				t.Fatalf("status = %d (%s)", code, b)
			}
		}
		e.waitPost("answer", "D1", "1699999999.000100", "Delivery takes")
		if d := e.a.Stats().Duplicates; d != 1 {
			t.Errorf("duplicates = %d, want 1", d)
		}
	})

	t.Run("a signed click is handled", func(t *testing.T) {
		e.clickOverHTTP(t, post, secret)
	})
}

// clickOverHTTP asks a question and clicks a quick reply over the Events
// API.
func (e *env) clickOverHTTP(t *testing.T, post func(string, http.Header, []byte) (int, string), secret string) {
	t.Helper()
	const q = "1699999999.000700"
	body, _ := json.Marshal(e.fake.EventCallback("EvHTTP2", dm("UC1", "shipping or returns?", q)))
	if code, b := post("/slack/events", sign(secret, time.Now(), body), body); code != 200 {
		t.Fatalf("status = %d (%s)", code, b)
	}
	p := e.waitPost("buttons", "D1", q, "Did you mean")
	payload, err := e.fake.ClickPayload(slackfake.Click{User: "UC1", Channel: "D1", MessageTS: p.TS, ActionID: "fd_choice:returns"})
	if err != nil {
		t.Fatal(err)
	}
	pj, _ := json.Marshal(payload)
	form := []byte("payload=" + url.QueryEscape(string(pj)))
	if code, b := post("/slack/interactivity", sign(secret, time.Now(), form), form); code != 200 {
		t.Fatalf("status = %d (%s)", code, b)
	}
	e.waitPost("answer to the click", "D1", q, "Returns are free")
}

func TestConfig_IsValidated(t *testing.T) {
	eng := bot.NewEngine(bottest.NewMemStore(), bot.Config{})
	if _, err := slack.New(eng, slack.Config{AppToken: "xapp"}); !errors.Is(err, slack.ErrNoBotToken) {
		t.Errorf("no bot token: err = %v", err)
	}
	if _, err := slack.New(eng, slack.Config{BotToken: "xoxb"}); !errors.Is(err, slack.ErrNoIntake) {
		t.Errorf("no way in: err = %v", err)
	}
}

func TestClose_StopsIntakeAndSending(t *testing.T) {
	e := newEnv(t, nil)
	e.send("Ev1", dm("UC1", "how long is shipping?", "1699999999.000100"))
	e.waitPost("answer", "D1", "1699999999.000100", "Delivery takes")
	conv, _, _ := e.engine.History(e.ctx, bot.ChannelSlack, "T1:UC1", "D1", 0)

	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	if err := e.a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	e.waitFor("socket closed", func() bool { return !e.fake.Connected() })
	if err := e.a.Send(ctx, conv, bot.Message{Role: bot.RoleBot, Text: "late"}); !errors.Is(err, slack.ErrClosed) {
		t.Errorf("Send after Close: err = %v, want ErrClosed", err)
	}
}
