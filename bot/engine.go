package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// Sender delivers outbound messages to a customer on one channel. Each
// channel adapter implements it and registers with Engine.Register.
type Sender interface {
	Send(ctx context.Context, conv Conversation, msg Message) error
}

// Inbound is a customer's message as a channel adapter received it.
type Inbound struct {
	Channel Channel
	// UserID is the sender's identity on the channel (web visitor id or
	// verified user, Slack "team:user", Discord user id).
	UserID string
	// Thread keys the conversation within the channel; "" means one
	// conversation per user on that channel.
	Thread string
	// Address tells the channel's Sender where replies go. Stored on the
	// conversation; the latest one wins.
	Address map[string]string
	// ClientID is the client's or platform's id for this message; a message
	// whose ClientID was already stored is acknowledged but not stored or
	// answered again. Empty disables deduplication.
	ClientID string
	Text     string
	// Choice is the Value of a clicked quick reply, if any.
	Choice string
	// Public marks a conversation other people can read (a Slack channel
	// thread, a Discord guild thread). Flows that handle personal data, such
	// as order tracking, refuse to run there. Web chats and DMs are private.
	Public bool
	// Profile is what the channel knows for sure about the sender; nil for
	// anonymous senders.
	Profile *Profile
	// Stored, if set, is called once the message is durably stored and
	// before the bot answers: the moment a channel may acknowledge it.
	Stored func(Receipt)
}

// Receipt identifies a stored inbound message.
type Receipt struct {
	MessageID      string
	ConversationID string
	CustomerID     string
	Seq            uint64
	// Duplicate is true when the ClientID had been stored before.
	Duplicate bool
	At        time.Time
}

// Texts are the bot's own words. Zero fields take the English defaults.
type Texts struct {
	DontKnow    string // default: "Sorry, I don't know the answer to that..."
	Clarify     string // default: "I'm not sure I understood. Did you mean:"
	Handoff     string // default: "I'm handing you over to a person..."
	Waiting     string // default: "A person will be with you as soon as possible..."
	Foreign     string // default: "Sorry, I can only answer in English..."
	HumanChoice string // default: "Talk to a person"
	Cancelled   string // default: "OK, you're back with the bot..."
	Offline     string // default: "Our team is offline right now..."
	NoAgents    string // default: "No one from our team is available right now..."
	LeaveQueue  string // default: "Back to the bot"
}

func (t Texts) withDefaults() Texts {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&t.DontKnow, "Sorry, I don't know the answer to that. I can put you in touch with a person, or you can ask me another way.")
	def(&t.Clarify, "I'm not sure I understood. Did you mean one of these?")
	def(&t.Handoff, "I'm handing you over to a person from our team. They'll see this conversation and reply here.")
	def(&t.Waiting, "Thanks, a person will read this. You're in the queue and we'll reply here as soon as we can.")
	def(&t.Foreign, "Sorry, I can only answer in English for now. Would you like a person to help you?")
	def(&t.HumanChoice, "Talk to a person")
	def(&t.Cancelled, "OK, you're back with the bot. Ask me anything.")
	def(&t.Offline, "Our team is offline right now. Leave your message and your email address here and we'll get back to you as soon as we're open.")
	def(&t.NoAgents, "No one from our team is available right now. Leave your message and your email address here and we'll get back to you soon.")
	def(&t.LeaveQueue, "Back to the bot")
	return t
}

// Config tunes an Engine. The zero value works.
type Config struct {
	// Logger receives the engine's logs. Default: discard.
	Logger *slog.Logger
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
	// MaxTextBytes bounds a customer message. Default DefaultMaxTextBytes.
	MaxTextBytes int
	// ContactIdle is how long a conversation may fall quiet before the next
	// customer message starts a new contact. Default 30 minutes.
	ContactIdle time.Duration
	// Timeout bounds the handling of one inbound message. Default 10s.
	Timeout time.Duration
	// Journey holds the stage rules. Default: JourneyRules{}.
	Journey JourneyRules
	// Surveys chooses the surveys offered when contacts close. Default:
	// SurveyConfig{} (CSAT, CES and NPS on; see survey.go).
	Surveys SurveyConfig
	// Texts are the bot's own replies. Default: English.
	Texts Texts
	// Handoff tunes escalation to people. Default: HandoffConfig{}.
	Handoff HandoffConfig
}

// Event is something that happened to a conversation, published to
// subscribers (agent console, channel agent threads, webhooks).
type Event struct {
	Kind         EventKind
	Conversation Conversation
	// Message is set for EventMessage.
	Message *Message
	// Contact is the contact concerned, when known.
	Contact *Contact
	// Transition is set for EventState.
	Transition *Transition
}

// EventKind names an event.
type EventKind string

// Event kinds.
const (
	EventMessage      EventKind = "message"       // a message was stored
	EventState        EventKind = "state"         // the handoff state changed
	EventContactClose EventKind = "contact.close" // a contact ended
)

// Knowledge is what the bot knows: the topics and a classifier trained on
// them. It is replaced whole when faq.yaml changes.
type Knowledge struct {
	Topics     map[string]Topic
	Classifier Classifier
}

// NewKnowledge indexes topics by id.
func NewKnowledge(topics []Topic, c Classifier) *Knowledge {
	k := &Knowledge{Topics: make(map[string]Topic, len(topics)), Classifier: c}
	for _, t := range topics {
		k.Topics[t.ID] = t
	}
	return k
}

// Flow is a multi-turn dialogue the engine hands a conversation to, such as
// order tracking. It is registered for a topic action (Engine.SetFlow).
type Flow interface {
	Step(ctx context.Context, req FlowRequest) (FlowReply, error)
}

// FlowKeeper is an optional ability of a Flow: keep a message that the
// classifier confidently placed under another topic. The order flow keeps
// complaints about the order it just told ("it never came"), so the person
// they go to gets the order attached.
type FlowKeeper interface {
	Keeps(req FlowRequest) bool
}

// FlowRequest is one customer message for a flow.
type FlowRequest struct {
	Conversation Conversation
	Customer     Customer
	Text         string
	Prediction   Prediction
	// State is the flow's state from its previous step; nil when starting.
	State *FlowState
}

// FlowReply is what a flow step decided.
type FlowReply struct {
	// Messages are the bot's replies (Role, Text, Choices, Data are used).
	Messages []Message
	// State is kept for the next step; nil ends the flow.
	State *FlowState
	// Escalate, if not empty, hands the conversation to a person with this
	// trigger (for example "order_problem").
	Escalate string
	// Stage, if valid, moves the customer at least to this stage.
	Stage       Stage
	StageReason string
	// Evidence is stored with a stage change.
	Evidence string
	// OrderNumber is recorded on the contact once ownership is proven.
	OrderNumber string
	// Outcome is what this step achieved for the ledger: TurnAnswered when
	// it gave the customer what they came for, TurnUnknown when it could
	// not. Empty means a step in progress (TurnFlow), such as a question; a
	// contact that ends on one was abandoned.
	Outcome TurnOutcome
	// PurchasedAt is when the order was placed, if known: the lapsed rule
	// counts from the customer's newest purchase.
	PurchasedAt time.Time
}

// Engine takes inbound messages from every channel to stored replies.
type Engine struct {
	store     Store
	cfg       Config
	log       *slog.Logger
	texts     Texts
	knowledge atomic.Pointer[Knowledge]

	mu       sync.RWMutex
	senders  map[Channel]Sender
	flows    map[string]Flow
	subs     []func(Event)
	presence Presence

	locks keyedMutex
}

// NewEngine returns an engine storing into s.
func NewEngine(s Store, cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ContactIdle <= 0 {
		cfg.ContactIdle = 30 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxTextBytes <= 0 {
		cfg.MaxTextBytes = DefaultMaxTextBytes
	}
	return &Engine{
		store: s, cfg: cfg, log: cfg.Logger, texts: cfg.Texts.withDefaults(),
		senders: map[Channel]Sender{}, flows: map[string]Flow{},
	}
}

// Store returns the engine's store.
func (e *Engine) Store() Store { return e.store }

// Now returns the engine's clock time.
func (e *Engine) Now() time.Time { return e.cfg.Now() }

// Logger returns the engine's logger.
func (e *Engine) Logger() *slog.Logger { return e.log }

// SetKnowledge swaps in new topics and classifier; messages in flight finish
// with the old ones.
func (e *Engine) SetKnowledge(k *Knowledge) { e.knowledge.Store(k) }

// Knowledge returns the current knowledge (nil before SetKnowledge).
func (e *Engine) Knowledge() *Knowledge { return e.knowledge.Load() }

// Register makes s the sender for channel ch.
func (e *Engine) Register(ch Channel, s Sender) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.senders[ch] = s
}

// SetFlow hands topics with the given action to f.
func (e *Engine) SetFlow(action string, f Flow) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flows[action] = f
}

// Subscribe calls fn for every event, synchronously, in the goroutine that
// caused it: fn must not block (queue the work instead).
func (e *Engine) Subscribe(fn func(Event)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.subs = append(e.subs, fn)
}

// Publish sends ev to every subscriber.
func (e *Engine) Publish(ev Event) {
	e.mu.RLock()
	subs := e.subs
	e.mu.RUnlock()
	for _, fn := range subs {
		fn(ev)
	}
}

func (e *Engine) flow(action string) Flow {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.flows[action]
}

// Deliver sends msg to the customer of conv through its channel's sender.
// Notes are never delivered.
func (e *Engine) Deliver(ctx context.Context, conv Conversation, msg Message) error {
	if msg.Role == RoleNote {
		return fmt.Errorf("bot: deliver: a private note is never sent to a customer")
	}
	e.mu.RLock()
	s := e.senders[conv.Channel]
	e.mu.RUnlock()
	if s == nil {
		return fmt.Errorf("bot: deliver: no sender for channel %q", conv.Channel)
	}
	return s.Send(ctx, conv, msg)
}

// inbound is what a customer message did to the records: the customer,
// conversation and contact with the message applied, and what else it
// caused.
type inbound struct {
	customer Customer
	conv     Conversation
	contact  Contact
	msg      Message
	dup      bool
	closed   *Contact    // a previous contact closed by this message
	prevText string      // the customer's previous message, for repeat detection
	resumed  *Transition // a resolved conversation went back to the bot
}

// receipt is what the channel is told once the message is stored.
func (st *inbound) receipt() Receipt {
	return Receipt{MessageID: st.msg.ID, ConversationID: st.conv.ID, CustomerID: st.customer.ID, Seq: st.msg.Seq, Duplicate: st.dup, At: st.msg.At}
}

// Handle stores a customer's message, answers it and stores the answer. The
// returned error is an *Error for bad input (show it to the customer);
// anything else is internal.
//
// In the common case a message costs one write transaction: the records
// are read in a read-only transaction (off the store's single writer), the
// bot decides on that snapshot, and one Update checks that nothing the
// decision depended on changed meanwhile and stores the message, the turn
// and the replies together. The message is acknowledged (in.Stored) only
// once that Update is durable. When the snapshot went stale (an agent
// claimed the conversation, a sweep closed the contact, a link moved it),
// the message takes the two-transaction path: store it, decide again on
// what is stored, store the outcome.
func (e *Engine) Handle(ctx context.Context, in Inbound) (Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	if in.UserID == "" || in.Channel == "" {
		return Receipt{}, Errorf(ECodeInvalid, "A message needs a sender.")
	}
	text, err := CleanText(in.Text, e.cfg.MaxTextBytes)
	if err != nil {
		return Receipt{}, err
	}
	unlock := e.locks.lock(string(keyConvKey(in.Channel, in.UserID, in.Thread)))
	defer unlock()
	// A survey answer is a rating on the contact it was asked for, not a
	// new question (survey.go).
	if rc, ok, err := e.surveyAnswer(ctx, in, text); ok || err != nil {
		return rc, err
	}

	now := e.cfg.Now()
	ids := newInboundIDs(now)
	var snap snapshot
	err = e.store.View(ctx, func(tx Tx) error {
		var err error
		snap, err = loadSnapshot(tx, in, true)
		return err
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("bot: load conversation: %w", err)
	}
	st := e.planInbound(snap, in, text, now, ids)
	if st.dup {
		// Every message of this conversation is stored by a Handle holding
		// its lock, which it releases only after its Update is durable: a
		// message this snapshot sees is on disk.
		rc := st.receipt()
		if in.Stored != nil {
			in.Stored(rc)
		}
		return rc, nil
	}

	d := e.decide(ctx, &st, in, text)
	planned := st
	later := e.cfg.Now()
	var (
		stale bool
		out   outcome
	)
	err = e.store.Update(ctx, func(tx Tx) error {
		stale, st, out = false, inbound{}, outcome{}
		fresh, err := loadSnapshot(tx, in, false)
		if err != nil {
			return err
		}
		if !sameSnapshot(snap, fresh) {
			// Write nothing: failing fn would roll back everyone else's
			// writes in the shared commit.
			stale = true
			return nil
		}
		// An unchanged LastSeq means no message was stored meanwhile: the
		// previous text is the snapshot's and the client id is still new.
		fresh.prevText = snap.prevText
		st = e.planInbound(fresh, in, text, now, ids)
		if err := writeInbound(tx, &st); err != nil {
			return err
		}
		cust, conv, contact := st.customer, st.conv, st.contact
		if err := e.applyOutcome(tx, &cust, &conv, &contact, st.conv.State, d, later, &out); err != nil {
			return err
		}
		return putRecords(tx, &cust, &conv, &contact, &out)
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("bot: store message: %w", err)
	}
	if stale {
		return e.handleInTwo(ctx, in, text, now, ids, &prior{st: planned, d: d})
	}
	rc := st.receipt()
	if in.Stored != nil {
		in.Stored(rc)
	}
	e.publishInbound(&st)
	e.finish(ctx, &out)
	return rc, nil
}

// prior is a decision Handle made on a snapshot that went stale.
type prior struct {
	st inbound // the snapshot with the message applied
	d  decision
}

// handleInTwo is Handle in two write transactions: the message is stored
// (and acknowledged) first, then the bot decides on what is stored, then
// the outcome is stored. Handle falls back to it when the records changed
// under its snapshot, with the decision it made then: if what was stored
// gives the decision the same inputs, it stands (a flow's side effects
// must not happen twice for one message); otherwise the bot decides again.
func (e *Engine) handleInTwo(ctx context.Context, in Inbound, text string, now time.Time, ids inboundIDs, p *prior) (Receipt, error) {
	var st inbound
	err := e.store.Update(ctx, func(tx Tx) error {
		st = inbound{}
		return e.recordInbound(tx, in, text, now, ids, &st)
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("bot: store inbound: %w", err)
	}
	rc := st.receipt()
	if in.Stored != nil {
		in.Stored(rc)
	}
	if st.dup {
		return rc, nil
	}
	e.publishInbound(&st)

	var d decision
	if p != nil && sameDecisionInputs(&p.st, &st) {
		d = p.d
		d.turn.MessageID, d.turn.At = st.msg.ID, st.msg.At
	} else {
		d = e.decide(ctx, &st, in, text)
	}
	var out outcome
	err = e.store.Update(ctx, func(tx Tx) error {
		out = outcome{}
		return e.recordOutcome(tx, &st, d, e.cfg.Now(), &out)
	})
	if err != nil {
		return rc, fmt.Errorf("bot: store reply: %w", err)
	}
	e.finish(ctx, &out)
	return rc, nil
}

// publishInbound announces a stored customer message and what it caused.
func (e *Engine) publishInbound(st *inbound) {
	if st.closed != nil {
		e.Publish(Event{Kind: EventContactClose, Conversation: st.conv, Contact: st.closed})
	}
	if st.resumed != nil {
		e.Publish(Event{Kind: EventState, Conversation: st.conv, Transition: st.resumed, Contact: &st.contact})
	}
	m := st.msg
	e.Publish(Event{Kind: EventMessage, Conversation: st.conv, Message: &m, Contact: &st.contact})
}

// finish announces and delivers a stored outcome.
func (e *Engine) finish(ctx context.Context, out *outcome) {
	if out.transition != nil {
		e.Publish(Event{Kind: EventState, Conversation: out.conv, Transition: out.transition, Contact: &out.contact})
	}
	for i := range out.replies {
		r := out.replies[i]
		e.Publish(Event{Kind: EventMessage, Conversation: out.conv, Message: &r, Contact: &out.contact})
		if err := e.Deliver(ctx, out.conv, r); err != nil {
			e.log.Warn("deliver reply", "conversation", out.conv.ID, "channel", out.conv.Channel, "err", err)
		}
	}
	if out.transition != nil {
		// Entering the queue tells this customer their place; leaving it
		// moves everyone behind them up.
		if out.transition.To == StateWaiting {
			e.tellPosition(ctx, out.conv)
		} else {
			e.notifyQueue(ctx)
		}
	}
}

// snapshot is what handling a customer message reads.
type snapshot struct {
	cust      Customer
	custFound bool
	conv      Conversation
	convFound bool
	contact   Contact // the conversation's current contact; zero if none
	prevText  string
	dup       *Message // the message already stored with in.ClientID
}

// loadSnapshot reads the records a customer message touches. Without full
// it skips the client-id lookup and the previous text, which a caller that
// knows no message was stored since an earlier full load already has.
func loadSnapshot(tx Tx, in Inbound, full bool) (snapshot, error) {
	var s snapshot
	var err error
	if s.cust, s.custFound, err = CustomerByIdentity(tx, Identity{Channel: in.Channel, ID: in.UserID}); err != nil {
		return s, err
	}
	if s.conv, s.convFound, err = ConversationByKey(tx, in.Channel, in.UserID, in.Thread); err != nil || !s.convFound {
		return s, err
	}
	if full && in.ClientID != "" && s.conv.LastSeq > 0 {
		prev, found, err := MessageByClientID(tx, s.conv.ID, in.ClientID)
		if err != nil {
			return s, err
		}
		if found {
			s.dup = &prev
			return s, nil
		}
	}
	if s.conv.ContactID != "" {
		if s.contact, err = GetContact(tx, s.conv.ContactID); err != nil {
			return s, err
		}
	}
	if full {
		if s.prevText, err = lastCustomerText(tx, s.conv.ID); err != nil {
			return s, err
		}
	}
	return s, nil
}

// sameSnapshot reports whether nothing a decision made on a depends on
// changed in b: the customer's identity, stage and profile; the
// conversation's messages, handoff state, holder, contact, misses and
// flow; the contact's state and turns.
func sameSnapshot(a, b snapshot) bool {
	if a.custFound != b.custFound || a.convFound != b.convFound || a.dup != nil || b.dup != nil {
		return false
	}
	if a.custFound {
		x, y := &a.cust, &b.cust
		if x.ID != y.ID || x.Stage != y.Stage || x.Profile != y.Profile || !x.LastPurchaseAt.Equal(y.LastPurchaseAt) {
			return false
		}
	}
	if a.convFound {
		x, y := &a.conv, &b.conv
		if x.ID != y.ID || x.CustomerID != y.CustomerID || x.LastSeq != y.LastSeq || x.State != y.State ||
			x.AgentID != y.AgentID || x.ContactID != y.ContactID || x.Misses != y.Misses || !sameFlow(x.Flow, y.Flow) {
			return false
		}
	}
	x, y := &a.contact, &b.contact
	return x.ID == y.ID && x.CustomerID == y.CustomerID && x.Outcome == y.Outcome && len(x.Turns) == len(y.Turns) &&
		x.EndedAt.Equal(y.EndedAt) && x.LastActivityAt.Equal(y.LastActivityAt) && x.EscalatedAt.Equal(y.EscalatedAt)
}

// sameDecisionInputs reports whether a decision made on a would be made on
// b: decide, answer and the flows read only these.
func sameDecisionInputs(a, b *inbound) bool {
	x, y := &a.customer, &b.customer
	if x.ID != y.ID || x.Stage != y.Stage || x.Profile != y.Profile || !x.LastPurchaseAt.Equal(y.LastPurchaseAt) {
		return false
	}
	c, d := &a.conv, &b.conv
	if c.ID != d.ID || c.CustomerID != d.CustomerID || c.State != d.State || c.AgentID != d.AgentID ||
		c.Misses != d.Misses || c.Public != d.Public || !sameFlow(c.Flow, d.Flow) {
		return false
	}
	return a.contact.ID == b.contact.ID && len(a.contact.Turns) == len(b.contact.Turns) && a.prevText == b.prevText
}

func sameFlow(a, b *FlowState) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Name == b.Name && a.Step == b.Step && maps.Equal(a.Data, b.Data)
}

// inboundIDs are the ids a customer message may need, made once per
// message so that every run of a transaction function, and the snapshot
// the bot decided on, name the same records.
type inboundIDs struct{ customer, conv, contact, msg string }

func newInboundIDs(now time.Time) inboundIDs {
	return inboundIDs{NewID(now), NewID(now), NewID(now), NewID(now)}
}

// planInbound applies a customer message to the records in s, in memory:
// a new customer or conversation, a resolved conversation going back to
// the bot, a new contact when the last one ended or fell idle, the message
// numbered. writeInbound stores what it decided.
func (e *Engine) planInbound(s snapshot, in Inbound, text string, now time.Time, ids inboundIDs) inbound {
	st := inbound{prevText: s.prevText}
	cust := s.cust
	if !s.custFound {
		cust = Customer{ID: ids.customer, Identities: []Identity{{Channel: in.Channel, ID: in.UserID}}, Stage: e.journey().Start(), CreatedAt: now}
	}
	if in.Profile != nil {
		cust.Profile = cust.Profile.merge(*in.Profile)
	}
	cust.UpdatedAt, cust.LastContactAt = now, now

	conv := s.conv
	if !s.convFound {
		conv = Conversation{ID: ids.conv, CustomerID: cust.ID, Channel: in.Channel, UserID: in.UserID, Thread: in.Thread, State: StateBot, OpenedAt: now}
	}
	if s.dup != nil {
		st.customer, st.conv, st.msg, st.dup = cust, conv, *s.dup, true
		return st
	}
	if in.Address != nil {
		conv.Address = in.Address
	}
	conv.Public = in.Public
	if conv.State == StateResolved {
		t := Transition{ConversationID: conv.ID, From: StateResolved, To: StateBot, At: now, By: "customer", Reason: "customer wrote after resolve", Stage: cust.Stage}
		conv.State, conv.AgentID, conv.Misses, conv.Flow = StateBot, "", 0, nil
		st.resumed = &t
	}

	contact := s.contact
	handedOff := conv.State == StateWaiting || conv.State == StateAgent
	if conv.ContactID == "" || !contact.Open() || st.resumed != nil || (!handedOff && now.Sub(contact.LastActivityAt) > e.cfg.ContactIdle) {
		if conv.ContactID != "" && contact.Open() {
			c := contact
			c.Close(c.LastActivityAt, cust.Stage)
			st.closed = &c
		}
		contact = Contact{ID: ids.contact, ConversationID: conv.ID, CustomerID: cust.ID, Channel: conv.Channel, StartedAt: now, StageAtStart: cust.Stage, Outcome: OutcomeOpen}
		conv.ContactID = contact.ID
		conv.Misses = 0
	}
	contact.LastActivityAt = now

	msg := Message{ID: ids.msg, ClientID: in.ClientID, Role: RoleCustomer, Text: text, At: now}
	numberMessage(&conv, &msg)
	conv.UpdatedAt = now
	st.customer, st.conv, st.contact, st.msg = cust, conv, contact, msg
	return st
}

// writeInbound stores what planInbound decided, except the customer,
// conversation and contact themselves (putRecords), which the caller may
// change further in the same transaction.
func writeInbound(tx Tx, st *inbound) error {
	if st.resumed != nil {
		if err := AppendTransition(tx, *st.resumed); err != nil {
			return err
		}
		if err := syncHandoffIndex(tx, &st.conv); err != nil {
			return err
		}
	}
	if st.closed != nil {
		if err := PutContact(tx, st.closed); err != nil {
			return err
		}
	}
	return putMessage(tx, &st.msg)
}

// putRecords stores a message's customer, conversation and contact, and
// records the stored conversation and contact in out, if not nil.
func putRecords(tx Tx, cust *Customer, conv *Conversation, contact *Contact, out *outcome) error {
	if err := PutCustomer(tx, cust); err != nil {
		return err
	}
	if err := PutConversation(tx, conv); err != nil {
		return err
	}
	if err := PutContact(tx, contact); err != nil {
		return err
	}
	if out != nil {
		out.conv, out.contact = *conv, *contact
	}
	return nil
}

func (e *Engine) recordInbound(tx Tx, in Inbound, text string, now time.Time, ids inboundIDs, st *inbound) error {
	s, err := loadSnapshot(tx, in, true)
	if err != nil {
		return err
	}
	*st = e.planInbound(s, in, text, now, ids)
	if st.dup {
		return nil
	}
	if err := writeInbound(tx, st); err != nil {
		return err
	}
	return putRecords(tx, &st.customer, &st.conv, &st.contact, nil)
}

// decision is what the bot decided to do with one message, before storing.
type decision struct {
	turn     Turn
	replies  []Message
	escalate string // trigger; "" for none
	cancel   bool   // leave the queue
	topic    *Topic
	flow     *FlowState
	keepFlow bool // flow unchanged (not touched this turn)
	stage    Stage
	reason   string
	evidence string
	order    string
	miss     bool
	email    string // an address a waiting customer left us
	bought   time.Time
}

func (e *Engine) botMsg(text string, choices ...Choice) Message {
	return Message{Role: RoleBot, Text: text, Choices: choices}
}

func (e *Engine) humanChoice() Choice { return Choice{Label: e.texts.HumanChoice, Value: ChoiceHuman} }

// decide chooses the reply, then applies the escalation triggers that
// depend on the conversation so far.
func (e *Engine) decide(ctx context.Context, st *inbound, in Inbound, text string) decision {
	d := e.answer(ctx, st, in, text)
	if d.escalate != "" || d.turn.Outcome == TurnQueued || d.cancel {
		return e.handoffReplies(d)
	}
	stage := st.customer.Stage
	switch {
	case e.handoff().frustrated(text):
		d.escalate = "frustration"
	case d.turn.Outcome == TurnAnswered && repeatedIntent(&st.contact, d.turn.Intent) && similar(st.prevText, text):
		d.escalate = "repeated_question"
	case d.miss && st.conv.Misses+1 >= e.handoff().maxMisses(stage):
		d.escalate = "repeated_misses"
		d.replies = nil
	}
	if d.escalate != "" {
		d.turn.Outcome = TurnHandoff
		d.flow = nil
	}
	return e.handoffReplies(d)
}

// handoffReplies ends an escalating reply with the right words: a person is
// coming, or (outside hours, nobody online) leave a message.
func (e *Engine) handoffReplies(d decision) decision {
	if d.escalate == "" {
		return d
	}
	kept := d.replies[:0]
	for _, r := range d.replies {
		if r.Text != e.texts.Handoff {
			kept = append(kept, r)
		}
	}
	d.replies = kept
	text := e.texts.Handoff
	if ok, why := e.agentsAvailable(e.cfg.Now()); !ok {
		text = e.texts.NoAgents
		if why == "closed" {
			text = e.texts.Offline
		}
	}
	d.replies = append(d.replies, e.botMsg(text, Choice{Label: e.texts.LeaveQueue, Value: ChoiceCancel}))
	return d
}

// repeatedIntent reports whether the customer asks again what the bot just
// answered: with similar words (see similar), the answer did not help.
func repeatedIntent(c *Contact, intent string) bool {
	n := len(c.Turns)
	return intent != "" && n > 0 && c.Turns[n-1].Intent == intent && c.Turns[n-1].Outcome == TurnAnswered
}

func (e *Engine) answer(ctx context.Context, st *inbound, in Inbound, text string) decision {
	d := decision{turn: Turn{MessageID: st.msg.ID, At: st.msg.At, Stage: st.customer.Stage}}
	conv := st.conv
	if conv.State == StateWaiting || conv.State == StateAgent {
		if in.Choice == ChoiceCancel && conv.State == StateWaiting {
			d.cancel = true
			d.turn.Outcome = TurnAnswered
			d.replies = append(d.replies, e.botMsg(e.texts.Cancelled))
			return d
		}
		d.turn.Outcome = TurnQueued
		d.keepFlow = true
		d.email = findEmail(text)
		return d
	}
	if in.Choice == ChoiceHuman {
		d.turn.Outcome, d.turn.Intent, d.turn.Confidence = TurnHandoff, ChoiceHuman, 1
		d.escalate = "customer_request"
		d.replies = append(d.replies, e.botMsg(e.texts.Handoff))
		return d
	}
	k := e.knowledge.Load()
	if k == nil || k.Classifier == nil {
		d.turn.Outcome = TurnUnknown
		d.miss = true
		d.replies = append(d.replies, e.botMsg(e.texts.DontKnow, e.humanChoice()))
		return d
	}
	var pred Prediction
	if t, ok := k.Topics[in.Choice]; ok && in.Choice != "" {
		pred = Prediction{Intent: t.ID, Confidence: 1, Verdict: Confident, Alternatives: []Scored{{t.ID, 1}}, Language: "en"}
	} else {
		p, err := k.Classifier.Classify(ctx, text)
		if err != nil {
			e.log.Error("classify", "conversation", conv.ID, "err", err)
			pred = Prediction{Verdict: Unknown}
		} else {
			pred = p
		}
	}
	d.turn.Intent, d.turn.Confidence = pred.Intent, pred.Confidence

	// A flow in progress gets the message unless the customer clearly
	// changed topic.
	if conv.Flow != nil {
		changed := pred.Verdict == Confident && k.Topics[pred.Intent].Action != conv.Flow.Name &&
			len(pred.Entities.OrderNumbers)+len(pred.Entities.Emails)+len(pred.Entities.Postcodes) == 0
		if f := e.flow(conv.Flow.Name); f != nil && (!changed || keeps(f, st, text, pred, conv.Flow)) {
			return e.runFlow(ctx, f, st, text, pred, conv.Flow, d)
		}
	}

	if pred.Language != "" && pred.Language != "en" {
		d.turn.Outcome = TurnForeign
		d.replies = append(d.replies, e.botMsg(e.texts.Foreign, e.humanChoice()))
		return d
	}
	switch pred.Verdict {
	case Confident:
		t, ok := k.Topics[pred.Intent]
		if !ok {
			break
		}
		d.topic = &t
		if f := e.flow(t.Action); f != nil && t.Action != ActionHandoff {
			return e.runFlow(ctx, f, st, text, pred, nil, d)
		}
		if t.Action == ActionHandoff {
			d.turn.Outcome = TurnHandoff
			d.escalate = "customer_request"
			d.replies = append(d.replies, e.botMsg(e.texts.Handoff))
			return d
		}
		d.turn.Outcome = TurnAnswered
		if t.Answer != "" {
			d.replies = append(d.replies, e.botMsg(t.Answer))
		}
		if t.Human {
			d.turn.Outcome = TurnHandoff
			d.escalate = "topic_needs_human"
			d.replies = append(d.replies, e.botMsg(e.texts.Handoff))
		}
		return d
	case Unsure:
		var choices []Choice
		for _, a := range pred.Alternatives {
			if t, ok := k.Topics[a.Intent]; ok && len(choices) < 3 {
				choices = append(choices, Choice{Label: t.Label(), Value: t.ID})
			}
		}
		if len(choices) > 0 {
			d.turn.Outcome = TurnClarified
			d.miss = true
			d.replies = append(d.replies, e.botMsg(e.texts.Clarify, append(choices, e.humanChoice())...))
			return d
		}
	}
	d.turn.Outcome = TurnUnknown
	d.miss = true
	d.replies = append(d.replies, e.botMsg(e.texts.DontKnow, e.humanChoice()))
	return d
}

// keeps asks a flow that implements FlowKeeper whether it keeps a message
// the classifier placed under another topic.
func keeps(f Flow, st *inbound, text string, pred Prediction, state *FlowState) bool {
	k, ok := f.(FlowKeeper)
	return ok && k.Keeps(FlowRequest{Conversation: st.conv, Customer: st.customer, Text: text, Prediction: pred, State: state})
}

func (e *Engine) runFlow(ctx context.Context, f Flow, st *inbound, text string, pred Prediction, state *FlowState, d decision) decision {
	r, err := f.Step(ctx, FlowRequest{Conversation: st.conv, Customer: st.customer, Text: text, Prediction: pred, State: state})
	if err != nil {
		e.log.Error("flow step", "conversation", st.conv.ID, "err", err)
		// Keep the customer where they were in the flow (a retry can
		// succeed) and count the failure towards escalation.
		d.turn.Outcome = TurnUnknown
		d.keepFlow, d.miss = true, true
		d.replies = append(d.replies, e.botMsg(ErrorMessage(err), e.humanChoice()))
		return d
	}
	d.turn.Outcome = TurnFlow
	if r.Outcome != "" {
		d.turn.Outcome = r.Outcome
	}
	d.flow = r.State
	for _, m := range r.Messages {
		if m.Role == "" {
			m.Role = RoleBot
		}
		d.replies = append(d.replies, m)
	}
	if r.Escalate != "" {
		d.escalate = r.Escalate
		d.turn.Outcome = TurnHandoff
		d.replies = append(d.replies, e.botMsg(e.texts.Handoff))
	}
	d.stage, d.reason, d.evidence, d.order, d.bought = r.Stage, r.StageReason, r.Evidence, r.OrderNumber, r.PurchasedAt
	return d
}

// outcome is what storing a decision did.
type outcome struct {
	conv       Conversation
	contact    Contact
	replies    []Message
	transition *Transition
}

func (e *Engine) recordOutcome(tx Tx, st *inbound, d decision, now time.Time, out *outcome) error {
	conv, err := GetConversation(tx, st.conv.ID)
	if err != nil {
		return err
	}
	cust, err := GetCustomer(tx, st.customer.ID)
	if err != nil {
		return err
	}
	contact, err := GetContact(tx, st.contact.ID)
	if err != nil {
		return err
	}
	if err := e.applyOutcome(tx, &cust, &conv, &contact, st.conv.State, d, now, out); err != nil {
		return err
	}
	return putRecords(tx, &cust, &conv, &contact, out)
}

// applyOutcome applies decision d, made while the conversation was in
// state decidedIn, to the records: the turn, journey rules, flow and
// misses, an escalation or leaving the queue, the replies. It stores the
// transition and the replies; the caller stores the records (putRecords).
func (e *Engine) applyOutcome(tx Tx, cust *Customer, conv *Conversation, contact *Contact, decidedIn HandoffState, d decision, now time.Time, out *outcome) error {
	replies := d.replies
	// An agent may have taken the conversation while the bot was thinking:
	// the bot then stays quiet.
	if conv.State != decidedIn && d.turn.Outcome != TurnQueued {
		replies = nil
		d.turn.Outcome, d.escalate, d.cancel = TurnQueued, "", false
	}
	if d.topic != nil {
		e.journey().AfterTopic(cust, *d.topic, now)
	}
	e.journey().AfterOrder(cust, d.stage, d.reason, d.evidence, d.bought, now)
	if d.order != "" {
		contact.OrderNumber = d.order
	}
	if d.email != "" && cust.Profile.Email == "" {
		cust.Profile.Email = d.email
	}
	if !d.keepFlow {
		conv.Flow = d.flow
	}
	if d.miss {
		conv.Misses++
	} else if d.turn.Outcome != TurnQueued {
		conv.Misses = 0
	}
	d.turn.Stage = cust.Stage
	contact.Turns = append(contact.Turns, d.turn)
	contact.LastActivityAt = now

	if d.escalate != "" {
		t := e.escalate(conv, contact, cust.Stage, d.escalate, "bot", now)
		if err := AppendTransition(tx, t); err != nil {
			return err
		}
		out.transition = &t
	}
	if d.cancel {
		t := Transition{ConversationID: conv.ID, From: conv.State, To: StateBot, At: now, By: "customer", Reason: "customer left the queue", Stage: cust.Stage}
		conv.State = StateBot
		contact.EscalatedAt, contact.EscalationTrigger, contact.Outcome = time.Time{}, "", OutcomeOpen
		if err := AppendTransition(tx, t); err != nil {
			return err
		}
		out.transition = &t
	}
	for i := range replies {
		r := replies[i]
		r.ID, r.At = NewID(now), now
		if err := AppendMessage(tx, conv, &r); err != nil {
			return err
		}
		out.replies = append(out.replies, r)
	}
	conv.UpdatedAt = now
	return syncHandoffIndex(tx, conv)
}

// escalate moves conv to waiting for a person and stamps the contact. It
// returns the transition for the caller to store.
func (e *Engine) escalate(conv *Conversation, contact *Contact, stage Stage, trigger, by string, now time.Time) Transition {
	t := Transition{ConversationID: conv.ID, From: conv.State, To: StateWaiting, At: now, By: by, Reason: trigger, Stage: stage}
	conv.State, conv.Flow, conv.Misses = StateWaiting, nil, 0
	if contact.EscalatedAt.IsZero() {
		contact.EscalatedAt, contact.EscalationTrigger = now, trigger
	}
	contact.Outcome = OutcomeWaiting
	return t
}

// History returns the conversation for a channel user and thread with its
// newest messages (at most limit, oldest first; limit <= 0 means 200), or a
// zero Conversation when there is none yet. Notes are left out: this is the
// customer's view.
func (e *Engine) History(ctx context.Context, ch Channel, userID, thread string, limit int) (Conversation, []Message, error) {
	if limit <= 0 {
		limit = 200
	}
	var conv Conversation
	var msgs []Message
	err := e.store.View(ctx, func(tx Tx) error {
		c, ok, err := ConversationByKey(tx, ch, userID, thread)
		if err != nil || !ok {
			return err
		}
		conv = c
		all, err := LastMessages(tx, c.ID, limit)
		if err != nil {
			return err
		}
		msgs = msgs[:0]
		for _, m := range all {
			if m.Role != RoleNote {
				msgs = append(msgs, m)
			}
		}
		return nil
	})
	if err != nil {
		return Conversation{}, nil, fmt.Errorf("bot: history: %w", err)
	}
	return conv, msgs, nil
}

// IsUserError reports whether err is an *Error meant for the customer.
func IsUserError(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code != ECodeInternal
}

// keyedMutex serialises work per key (one conversation's messages are
// handled in order) without a global lock.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	en := k.m[key]
	if en == nil {
		en = &keyedEntry{}
		k.m[key] = en
	}
	en.refs++
	k.mu.Unlock()
	en.mu.Lock()
	return func() {
		en.mu.Unlock()
		k.mu.Lock()
		en.refs--
		if en.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
