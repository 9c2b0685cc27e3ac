package bot

import "time"

// Role says who wrote a message.
type Role string

// Message roles. Notes are agents' private notes: stored with the
// conversation for agents, never delivered to a customer.
const (
	RoleCustomer Role = "customer"
	RoleBot      Role = "bot"
	RoleAgent    Role = "agent"
	RoleSystem   Role = "system"
	RoleNote     Role = "note"
)

// Choice is a quick reply offered with a message; channels render it as a
// button. Value is sent back as Inbound.Choice when clicked.
type Choice struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Choice values with a meaning of their own; any other value is a topic id.
const (
	ChoiceHuman  = "_human"  // "talk to a person"
	ChoiceCancel = "_cancel" // leave the agent queue, back to the bot
)

// Message is one stored message of a conversation.
type Message struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	// Seq numbers the conversation's messages from 1, in order.
	Seq uint64 `json:"seq"`
	// ClientID is the sender's idempotency key (customer messages only).
	ClientID string    `json:"client_id,omitempty"`
	Role     Role      `json:"role"`
	Text     string    `json:"text"`
	Choices  []Choice  `json:"choices,omitempty"`
	At       time.Time `json:"at"`
	// Author names the agent for agent messages and notes.
	Author string `json:"author,omitempty"`
	// Data carries structured extras for channels that can render them
	// (for example an order status card); plain-text channels ignore it.
	Data map[string]string `json:"data,omitempty"`
}

// HandoffState is who is answering a conversation.
type HandoffState string

// Handoff states. While waiting or with an agent the bot never answers on
// its own. Resolved hands the conversation back: the next customer message
// starts with the bot again.
const (
	StateBot      HandoffState = "bot"
	StateWaiting  HandoffState = "waiting"
	StateAgent    HandoffState = "agent"
	StateResolved HandoffState = "resolved"
)

// Conversation is the running exchange between one customer and the shop on
// one channel thread. It lives as long as the thread; contacts are its
// episodes.
type Conversation struct {
	ID         string  `json:"id"`
	CustomerID string  `json:"customer_id"`
	Channel    Channel `json:"channel"`
	// UserID and Thread are the channel's keys for it.
	UserID string `json:"user_id"`
	Thread string `json:"thread,omitempty"`
	// Address is where channel adapters deliver replies (opaque to the bot).
	Address map[string]string `json:"address,omitempty"`
	State   HandoffState      `json:"state"`
	// AgentID is the agent holding the conversation in StateAgent.
	AgentID string `json:"agent_id,omitempty"`
	// LastSeq is the Seq of the newest message.
	LastSeq uint64 `json:"last_seq"`
	// ContactID is the current (or last) contact.
	ContactID string `json:"contact_id,omitempty"`
	// Misses counts consecutive customer messages the bot could not answer
	// confidently (unknown or clarifying).
	Misses int `json:"misses,omitempty"`
	// Public is true when others can read the conversation (see
	// Inbound.Public).
	Public bool `json:"public,omitempty"`
	// Flow is the multi-turn dialogue in progress, if any.
	Flow      *FlowState `json:"flow,omitempty"`
	OpenedAt  time.Time  `json:"opened_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// FlowState is the state of a multi-turn dialogue such as order tracking.
type FlowState struct {
	Name string            `json:"name"`
	Step string            `json:"step"`
	Data map[string]string `json:"data,omitempty"`
}

// Transition is one stored change of a conversation's handoff state.
type Transition struct {
	ConversationID string       `json:"conversation_id"`
	From           HandoffState `json:"from"`
	To             HandoffState `json:"to"`
	At             time.Time    `json:"at"`
	// By is who caused it: "customer", "bot", "system" or "agent:<id>".
	By     string `json:"by"`
	Reason string `json:"reason"`
	// Stage is the customer's journey stage at that moment.
	Stage Stage `json:"stage"`
}
