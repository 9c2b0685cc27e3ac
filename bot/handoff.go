package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ErrIllegalTransition is returned for a handoff state change the state
// machine does not allow.
var ErrIllegalTransition = errors.New("illegal handoff transition")

// legal lists the allowed handoff transitions. Everything else is refused,
// which is what keeps conversations from getting stuck or going to the
// wrong agent.
var legal = map[HandoffState][]HandoffState{
	StateBot:      {StateWaiting},                            // escalate
	StateWaiting:  {StateBot, StateAgent, StateResolved},     // cancel, claim, resolve unclaimed
	StateAgent:    {StateAgent, StateWaiting, StateResolved}, // transfer, release to queue, resolve
	StateResolved: {StateBot},                                // the customer writes again
}

// CanTransition reports whether the state machine allows from → to.
func CanTransition(from, to HandoffState) bool {
	for _, s := range legal[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Roles of agents.
const (
	RoleNameAgent = "agent"
	RoleNameAdmin = "admin"
)

// Agent is a person who answers escalated conversations, as seen by the
// engine. Accounts and logins live with the agent console; channels that
// trust their own membership (a Slack agents' channel) build one directly.
type Agent struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

func (a Agent) by() string { return "agent:" + a.ID }

// IsAdmin reports whether the agent has the admin role.
func (a Agent) IsAdmin() bool { return a.Role == RoleNameAdmin }

// HandoffConfig tunes escalation. The zero value is the documented default.
type HandoffConfig struct {
	// MaxMisses is how many messages in a row the bot may fail to answer
	// confidently (don't know or clarifying) before it escalates. Default 2.
	MaxMisses int
	// StageMaxMisses overrides MaxMisses per journey stage, for example
	// escalating faster at purchase where a sale is at stake. Default none.
	StageMaxMisses map[Stage]int
	// Frustration are words that escalate at once when a customer uses
	// them. Default: DefaultFrustration.
	Frustration []string
	// Hours are when agents work. Default: always open.
	Hours *BusinessHours
	// AvgHandle is the assumed time an agent takes per queued conversation
	// before real data exists, used for the wait estimate. Default 3 min.
	AvgHandle time.Duration
}

// DefaultFrustration are the words and phrases that escalate at once.
var DefaultFrustration = []string{
	"ridiculous", "useless", "terrible", "awful", "worst", "angry", "furious",
	"unacceptable", "complaint", "scam", "fed up", "sick of", "waste of time",
	"not helpful", "this is a joke", "rubbish", "stupid bot",
}

func (h HandoffConfig) maxMisses(s Stage) int {
	if n, ok := h.StageMaxMisses[s]; ok && n > 0 {
		return n
	}
	if h.MaxMisses > 0 {
		return h.MaxMisses
	}
	return 2
}

func (h HandoffConfig) avgHandle() time.Duration {
	if h.AvgHandle > 0 {
		return h.AvgHandle
	}
	return 3 * time.Minute
}

func (h HandoffConfig) frustrated(text string) bool {
	words := h.Frustration
	if words == nil {
		words = DefaultFrustration
	}
	// Whole words only: "scam" must not match "scampi".
	padded := " " + wordsOnly(text) + " "
	for _, w := range words {
		if strings.Contains(padded, " "+wordsOnly(w)+" ") {
			return true
		}
	}
	// Shouting: a long enough message in capitals with exclamation marks.
	letters, upper := 0, 0
	for _, r := range text {
		if r >= 'A' && r <= 'Z' {
			upper++
			letters++
		} else if r >= 'a' && r <= 'z' {
			letters++
		}
	}
	return letters >= 12 && upper*10 >= letters*8 && strings.Contains(text, "!")
}

// BusinessHours are when agents answer. Outside them (and on holidays) an
// escalation offers to leave a message instead of waiting.
type BusinessHours struct {
	// Location is the shop's time zone. Default UTC.
	Location *time.Location
	// Open maps a weekday to its opening span; a missing day is closed.
	Open map[time.Weekday]Span
	// Holidays are closed dates (year, month, day in Location).
	Holidays []time.Time
}

// Span is a daily opening time range, [From, To) as offsets from midnight.
type Span struct{ From, To time.Duration }

// IsOpen reports whether t falls within business hours.
func (b *BusinessHours) IsOpen(t time.Time) bool {
	if b == nil {
		return true
	}
	loc := b.Location
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	for _, h := range b.Holidays {
		h = h.In(loc)
		if h.Year() == t.Year() && h.YearDay() == t.YearDay() {
			return false
		}
	}
	span, ok := b.Open[t.Weekday()]
	if !ok {
		return false
	}
	since := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	return since >= span.From && since < span.To
}

// Presence tells the engine how many agents are online now.
type Presence interface {
	OnlineAgents() int
}

// SetPresence tells the engine who is online; without it agents are
// assumed online.
func (e *Engine) SetPresence(p Presence) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.presence = p
}

// agentsAvailable reports whether someone can answer now, and if not, why.
func (e *Engine) agentsAvailable(now time.Time) (bool, string) {
	if !e.handoff().Hours.IsOpen(now) {
		return false, "closed"
	}
	e.mu.RLock()
	p := e.presence
	e.mu.RUnlock()
	if p != nil && p.OnlineAgents() == 0 {
		return false, "no_agents"
	}
	return true, ""
}

// QueueEntry is one conversation waiting for a person.
type QueueEntry struct {
	Conversation Conversation `json:"conversation"`
	Contact      Contact      `json:"contact"`
	Customer     Customer     `json:"customer"`
	// Position counts from 1 in order of escalation.
	Position int `json:"position"`
	// Wait is how long it has waited so far.
	Wait time.Duration `json:"wait"`
}

// Queue returns the conversations waiting for a person, oldest escalation
// first, and (with agent) those held by agents after them.
func (e *Engine) Queue(ctx context.Context) ([]QueueEntry, error) {
	now := e.cfg.Now()
	var out []QueueEntry
	err := e.store.View(ctx, func(tx Tx) error {
		return tx.Scan(BucketHandoffs, nil, nil, func(key []byte, _ func(any) error) (bool, error) {
			conv, err := GetConversation(tx, string(key))
			if err != nil {
				return false, err
			}
			contact, err := GetContact(tx, conv.ContactID)
			if err != nil {
				return false, err
			}
			cust, err := GetCustomer(tx, conv.CustomerID)
			if err != nil {
				return false, err
			}
			out = append(out, QueueEntry{Conversation: conv, Contact: contact, Customer: cust, Wait: now.Sub(contact.EscalatedAt)})
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bot: queue: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		wi, wj := out[i].Conversation.State == StateWaiting, out[j].Conversation.State == StateWaiting
		if wi != wj {
			return wi
		}
		return out[i].Contact.EscalatedAt.Before(out[j].Contact.EscalatedAt)
	})
	pos := 0
	for i := range out {
		if out[i].Conversation.State == StateWaiting {
			pos++
			out[i].Position = pos
		}
	}
	return out, nil
}

// QueuePosition returns a waiting conversation's place in the queue (from
// 1) and an estimated wait; 0 when it is not waiting.
func (e *Engine) QueuePosition(ctx context.Context, convID string) (int, time.Duration, error) {
	q, err := e.Queue(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, en := range q {
		if en.Conversation.ID == convID {
			return en.Position, e.estimate(en.Position), nil
		}
	}
	return 0, 0, nil
}

// estimate is a realistic wait for a queue position: position times the
// average handling time, spread over the agents online.
func (e *Engine) estimate(position int) time.Duration {
	if position <= 0 {
		return 0
	}
	agents := 1
	e.mu.RLock()
	p := e.presence
	e.mu.RUnlock()
	if p != nil {
		agents = max(agents, p.OnlineAgents())
	}
	return time.Duration((position+agents-1)/agents) * e.handoff().avgHandle()
}

// queueText tells a waiting customer where they stand.
func (e *Engine) queueText(position int, wait time.Duration) string {
	if position <= 0 {
		return ""
	}
	mins := int((wait + time.Minute - 1) / time.Minute)
	if mins < 1 {
		mins = 1
	}
	unit := "minutes"
	if mins == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("You're number %d in the queue. Expected wait: about %d %s.", position, mins, unit)
}

// notifyQueue sends every waiting customer their current position. These
// updates are transient: shown live, not stored in the transcript.
func (e *Engine) notifyQueue(ctx context.Context) {
	q, err := e.Queue(ctx)
	if err != nil {
		e.log.Warn("queue update", "err", err)
		return
	}
	for _, en := range q {
		if en.Position == 0 {
			continue
		}
		e.tellPosition(ctx, en.Conversation)
	}
}

// tellPosition sends one waiting customer their place in the queue.
func (e *Engine) tellPosition(ctx context.Context, conv Conversation) {
	pos, wait, err := e.QueuePosition(ctx, conv.ID)
	if err != nil || pos == 0 {
		return
	}
	m := Message{Role: RoleSystem, Text: e.queueText(pos, wait), At: e.cfg.Now(), ConversationID: conv.ID,
		Data: map[string]string{"kind": "queue", "position": fmt.Sprint(pos), "wait_seconds": fmt.Sprint(int(wait.Seconds()))}}
	if ok, why := e.agentsAvailable(e.cfg.Now()); !ok {
		// Nobody will answer soon: a wait estimate would be a false promise.
		m.Text = offlineQueueText(pos)
		m.Data = map[string]string{"kind": "queue", "position": fmt.Sprint(pos), "unavailable": why}
	}
	if err := e.Deliver(ctx, conv, m); err != nil {
		e.log.Debug("queue position not delivered", "conversation", conv.ID, "err", err)
	}
}

// agentOp loads a conversation and its contact, lets fn change them, and
// stores the result with the transition and message fn produced.
type agentOp struct {
	conv    Conversation
	contact Contact
	cust    Customer
	msgs    []Message
	tr      *Transition
	// closed is true when this operation ended the contact.
	closed bool
}

func (e *Engine) agentUpdate(ctx context.Context, convID string, fn func(op *agentOp, now time.Time) error) (agentOp, error) {
	var op agentOp
	now := e.cfg.Now()
	err := e.store.Update(ctx, func(tx Tx) error {
		op = agentOp{}
		var err error
		if op.conv, err = GetConversation(tx, convID); err != nil {
			if errors.Is(err, ErrNotFound) {
				return &Error{Code: ECodeNotFound, Message: "No such conversation.", Err: err}
			}
			return err
		}
		if op.contact, err = GetContact(tx, op.conv.ContactID); err != nil {
			return err
		}
		if op.cust, err = GetCustomer(tx, op.conv.CustomerID); err != nil {
			return err
		}
		before, wasOpen := op.conv.State, op.contact.Open()
		if err := fn(&op, now); err != nil {
			return err
		}
		op.closed = wasOpen && !op.contact.Open()
		if op.tr != nil {
			if !CanTransition(before, op.tr.To) {
				return &Error{Code: ECodeConflict, Message: fmt.Sprintf("This conversation cannot go from %s to %s.", before, op.tr.To), Err: ErrIllegalTransition}
			}
			op.tr.ConversationID, op.tr.From, op.tr.At, op.tr.Stage = convID, before, now, op.cust.Stage
			op.conv.State = op.tr.To
			if err := AppendTransition(tx, *op.tr); err != nil {
				return err
			}
		}
		for i := range op.msgs {
			op.msgs[i].ID, op.msgs[i].At = NewID(now), now
			if err := AppendMessage(tx, &op.conv, &op.msgs[i]); err != nil {
				return err
			}
		}
		if err := syncHandoffIndex(tx, &op.conv); err != nil {
			return err
		}
		op.conv.UpdatedAt = now
		if err := PutConversation(tx, &op.conv); err != nil {
			return err
		}
		return PutContact(tx, &op.contact)
	})
	if err != nil {
		return op, err
	}
	if op.tr != nil {
		tr := *op.tr
		e.Publish(Event{Kind: EventState, Conversation: op.conv, Transition: &tr, Contact: &op.contact})
	}
	for i := range op.msgs {
		m := op.msgs[i]
		e.Publish(Event{Kind: EventMessage, Conversation: op.conv, Message: &m, Contact: &op.contact})
	}
	if op.closed {
		// Only the operation that ended the contact announces it: notes
		// written after a resolve must not close it again for webhooks.
		c := op.contact
		e.Publish(Event{Kind: EventContactClose, Conversation: op.conv, Contact: &c})
	}
	return op, nil
}

// syncHandoffIndex keeps BucketHandoffs listing exactly the conversations
// that are waiting or with an agent.
func syncHandoffIndex(tx Tx, conv *Conversation) error {
	if conv.State == StateWaiting || conv.State == StateAgent {
		return tx.Put(BucketHandoffs, []byte(conv.ID), string(conv.State))
	}
	return tx.Delete(BucketHandoffs, []byte(conv.ID))
}

func (e *Engine) deliverAll(ctx context.Context, conv Conversation, msgs []Message) {
	for _, m := range msgs {
		if m.Role == RoleNote {
			continue
		}
		if err := e.Deliver(ctx, conv, m); err != nil {
			e.log.Warn("deliver", "conversation", conv.ID, "channel", conv.Channel, "err", err)
		}
	}
}

// Escalate hands a conversation to a person on behalf of someone other than
// the bot (an agent pulling it, an API call).
func (e *Engine) Escalate(ctx context.Context, convID, trigger, by string) error {
	op, err := e.agentUpdate(ctx, convID, func(op *agentOp, now time.Time) error {
		if op.conv.State != StateBot {
			return Errorf(ECodeConflict, "This conversation is already with a person.")
		}
		if !op.contact.Open() {
			return Errorf(ECodeConflict, "This conversation has no open contact.")
		}
		t := e.escalate(&op.conv, &op.contact, op.cust.Stage, trigger, by, now)
		op.tr = &t
		return nil
	})
	if err == nil {
		e.notifyQueue(ctx)
		_ = op
	}
	return err
}

// Claim gives a waiting conversation to agent. When two agents claim at
// once exactly one wins; the other gets an ECodeConflict error.
func (e *Engine) Claim(ctx context.Context, convID string, agent Agent) (Conversation, error) {
	return e.giveWaiting(ctx, convID, agent, agent.by(), "claimed", func(holder string) error {
		if holder == agent.ID {
			return Errorf(ECodeConflict, "You already have this conversation.")
		}
		return Errorf(ECodeConflict, "Another agent (%s) already claimed this conversation.", holder)
	})
}

// giveWaiting hands a waiting conversation to agent (a claim or an
// admin's assignment), records who caused it and why, and tells the
// customer who joined. A conversation an agent already holds gets held's
// error.
func (e *Engine) giveWaiting(ctx context.Context, convID string, agent Agent, by, reason string, held func(holder string) error) (Conversation, error) {
	op, err := e.agentUpdate(ctx, convID, func(op *agentOp, now time.Time) error {
		switch op.conv.State {
		case StateWaiting:
		case StateAgent:
			return held(op.conv.AgentID)
		default:
			return Errorf(ECodeConflict, "This conversation is not waiting for a person.")
		}
		op.conv.AgentID, op.contact.AgentID = agent.ID, agent.ID
		op.tr = &Transition{To: StateAgent, By: by, Reason: reason}
		name := agent.Name
		if name == "" {
			name = "An agent"
		}
		op.msgs = append(op.msgs, Message{Role: RoleSystem, Text: name + " has joined the conversation."})
		return nil
	})
	if err != nil {
		return Conversation{}, err
	}
	e.deliverAll(ctx, op.conv, op.msgs)
	e.notifyQueue(ctx)
	return op.conv, nil
}

// holds checks that agent may act on a conversation held by an agent: the
// holder, or an admin.
func holds(conv Conversation, agent Agent) error {
	if conv.State != StateAgent {
		return Errorf(ECodeConflict, "Claim this conversation first.")
	}
	if conv.AgentID != agent.ID && !agent.IsAdmin() {
		return Errorf(ECodeForbidden, "This conversation belongs to another agent (%s).", conv.AgentID)
	}
	return nil
}

// Reply sends an agent's message to the customer on their own channel. Only
// the agent holding the conversation (or an admin) may reply.
func (e *Engine) Reply(ctx context.Context, convID string, agent Agent, text string) (Message, error) {
	text, err := CleanText(text, e.cfg.MaxTextBytes)
	if err != nil {
		return Message{}, err
	}
	op, err := e.agentUpdate(ctx, convID, func(op *agentOp, now time.Time) error {
		if err := holds(op.conv, agent); err != nil {
			return err
		}
		if op.contact.FirstResponseAt.IsZero() {
			op.contact.FirstResponseAt = now
		}
		op.contact.LastActivityAt = now
		op.msgs = append(op.msgs, Message{Role: RoleAgent, Text: text, Author: agent.Name})
		return nil
	})
	if err != nil {
		return Message{}, err
	}
	e.deliverAll(ctx, op.conv, op.msgs)
	return op.msgs[0], nil
}

// Note stores an agent's private note. Notes are never delivered to the
// customer: Deliver refuses them and History leaves them out.
func (e *Engine) Note(ctx context.Context, convID string, agent Agent, text string) (Message, error) {
	text, err := CleanText(text, e.cfg.MaxTextBytes)
	if err != nil {
		return Message{}, err
	}
	op, err := e.agentUpdate(ctx, convID, func(op *agentOp, now time.Time) error {
		op.msgs = append(op.msgs, Message{Role: RoleNote, Text: text, Author: agent.Name})
		return nil
	})
	if err != nil {
		return Message{}, err
	}
	return op.msgs[0], nil
}

// Transfer passes a held conversation to another agent, or back to the
// queue when to is empty.
func (e *Engine) Transfer(ctx context.Context, convID string, agent Agent, to Agent) error {
	op, err := e.agentUpdate(ctx, convID, func(op *agentOp, now time.Time) error {
		if err := holds(op.conv, agent); err != nil {
			return err
		}
		if to.ID == "" {
			op.conv.AgentID, op.contact.AgentID = "", ""
			op.tr = &Transition{To: StateWaiting, By: agent.by(), Reason: "released to the queue"}
			op.msgs = append(op.msgs, Message{Role: RoleSystem, Text: "You're back in the queue; the next available person will continue."})
			return nil
		}
		if to.ID == op.conv.AgentID {
			return Errorf(ECodeConflict, "This conversation is already with %s.", to.ID)
		}
		op.conv.AgentID, op.contact.AgentID = to.ID, to.ID
		op.tr = &Transition{To: StateAgent, By: agent.by(), Reason: "transferred to " + to.ID}
		name := to.Name
		if name == "" {
			name = "Another agent"
		}
		op.msgs = append(op.msgs, Message{Role: RoleSystem, Text: name + " is taking over the conversation."})
		return nil
	})
	if err != nil {
		return err
	}
	e.deliverAll(ctx, op.conv, op.msgs)
	e.notifyQueue(ctx)
	return nil
}

// ResolvedText is told to the customer when an agent resolves.
const ResolvedText = "This conversation has been marked as resolved. If you need anything else, just write here and the bot will help."

// Resolve ends the handoff: the contact closes as resolved by an agent and
// the next customer message starts with the bot again.
func (e *Engine) Resolve(ctx context.Context, convID string, agent Agent) error {
	op, err := e.agentUpdate(ctx, convID, func(op *agentOp, now time.Time) error {
		if op.conv.State == StateAgent {
			if err := holds(op.conv, agent); err != nil {
				return err
			}
		} else if op.conv.State != StateWaiting {
			return Errorf(ECodeConflict, "This conversation is not with a person.")
		}
		op.tr = &Transition{To: StateResolved, By: agent.by(), Reason: "resolved"}
		op.conv.AgentID, op.conv.Misses, op.conv.Flow = "", 0, nil
		if op.contact.AgentID == "" {
			op.contact.AgentID = agent.ID
		}
		op.contact.ResolvedAt = now
		op.contact.Outcome = OutcomeAgentResolved
		op.contact.Close(now, op.cust.Stage)
		op.msgs = append(op.msgs, Message{Role: RoleSystem, Text: ResolvedText})
		return nil
	})
	if err != nil {
		return err
	}
	e.deliverAll(ctx, op.conv, op.msgs)
	e.notifyQueue(ctx)
	return nil
}

// ConversationView is everything an agent needs about one conversation.
type ConversationView struct {
	Conversation Conversation `json:"conversation"`
	Customer     Customer     `json:"customer"`
	Contact      Contact      `json:"contact"`
	Messages     []Message    `json:"messages"`
	Transitions  []Transition `json:"transitions"`
}

// View returns a conversation with its full transcript (notes included:
// this is the agents' view) and handoff history.
func (e *Engine) View(ctx context.Context, convID string) (ConversationView, error) {
	var v ConversationView
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		if v.Conversation, err = GetConversation(tx, convID); err != nil {
			if errors.Is(err, ErrNotFound) {
				return &Error{Code: ECodeNotFound, Message: "No such conversation.", Err: err}
			}
			return err
		}
		if v.Customer, err = GetCustomer(tx, v.Conversation.CustomerID); err != nil {
			return err
		}
		if v.Conversation.ContactID != "" {
			if v.Contact, err = GetContact(tx, v.Conversation.ContactID); err != nil {
				return err
			}
		}
		if v.Messages, err = ListMessages(tx, convID, 0, 0); err != nil {
			return err
		}
		v.Transitions, err = ListTransitions(tx, convID)
		return err
	})
	return v, err
}
