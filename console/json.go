package console

import (
	"context"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// The API's JSON shapes. They are this package's own types, not the
// domain's, so the API stays stable when storage records change and never
// exposes delivery addresses or flow state.

// AgentJSON is an agent as the API shows it.
type AgentJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Online bool   `json:"online"`
}

// CustomerJSON is a customer's profile and journey.
type CustomerJSON struct {
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	Email         string            `json:"email,omitempty"`
	ExternalID    string            `json:"external_id,omitempty"`
	Verified      bool              `json:"verified"`
	Stage         bot.Stage         `json:"stage"`
	StageHistory  []bot.StageChange `json:"stage_history"`
	Identities    []bot.Identity    `json:"identities"`
	CreatedAt     time.Time         `json:"created_at"`
	LastContactAt time.Time         `json:"last_contact_at"`
}

func customerJSON(c bot.Customer) CustomerJSON {
	return CustomerJSON{
		ID: c.ID, Name: c.Profile.Name, Email: c.Profile.Email, ExternalID: c.Profile.ExternalID, Verified: c.Profile.Verified,
		Stage: c.Stage, StageHistory: nonNil(c.StageHistory), Identities: nonNil(c.Identities),
		CreatedAt: c.CreatedAt, LastContactAt: c.LastContactAt,
	}
}

// ContactJSON is one contact (episode) with its handoff times. The
// durations are measured from the escalation, never counting bot time.
type ContactJSON struct {
	ID                   string      `json:"id"`
	ConversationID       string      `json:"conversation_id"`
	Channel              bot.Channel `json:"channel"`
	StartedAt            time.Time   `json:"started_at"`
	EndedAt              *time.Time  `json:"ended_at"`
	StageAtStart         bot.Stage   `json:"stage_at_start"`
	StageAtEnd           bot.Stage   `json:"stage_at_end,omitempty"`
	Outcome              bot.Outcome `json:"outcome"`
	Intents              []string    `json:"intents"`
	EscalatedAt          *time.Time  `json:"escalated_at"`
	Trigger              string      `json:"trigger,omitempty"`
	AgentID              string      `json:"agent_id,omitempty"`
	FirstResponseSeconds *int        `json:"first_response_seconds"`
	ResolutionSeconds    *int        `json:"resolution_seconds"`
	OrderNumber          string      `json:"order_number,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func secondsPtr(d time.Duration, ok bool) *int {
	if !ok {
		return nil
	}
	s := int(d / time.Second)
	return &s
}

func contactJSON(c bot.Contact) ContactJSON {
	return ContactJSON{
		ID: c.ID, ConversationID: c.ConversationID, Channel: c.Channel, StartedAt: c.StartedAt, EndedAt: timePtr(c.EndedAt),
		StageAtStart: c.StageAtStart, StageAtEnd: c.StageAtEnd, Outcome: c.Outcome, Intents: nonNil(c.Intents()),
		EscalatedAt: timePtr(c.EscalatedAt), Trigger: c.EscalationTrigger, AgentID: c.AgentID,
		FirstResponseSeconds: secondsPtr(c.FirstResponseTime()), ResolutionSeconds: secondsPtr(c.ResolutionTime()),
		OrderNumber: c.OrderNumber,
	}
}

// MessageJSON is one transcript message. Private is true for agents'
// notes, which the customer never sees.
type MessageJSON struct {
	ID      string       `json:"id"`
	Seq     uint64       `json:"seq"`
	Role    bot.Role     `json:"role"`
	Text    string       `json:"text"`
	Author  string       `json:"author,omitempty"`
	At      time.Time    `json:"at"`
	Private bool         `json:"private"`
	Choices []bot.Choice `json:"choices,omitempty"`
}

func messageJSON(m bot.Message) MessageJSON {
	return MessageJSON{ID: m.ID, Seq: m.Seq, Role: m.Role, Text: m.Text, Author: m.Author, At: m.At, Private: m.Role == bot.RoleNote, Choices: m.Choices}
}

// ConversationJSON is a conversation's handoff status.
type ConversationJSON struct {
	ID         string           `json:"id"`
	Channel    bot.Channel      `json:"channel"`
	State      bot.HandoffState `json:"state"`
	Agent      *AgentJSON       `json:"agent"`
	CustomerID string           `json:"customer_id"`
	OpenedAt   time.Time        `json:"opened_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
}

// QueueItemJSON is one conversation in the queue (waiting) or held by an
// agent.
type QueueItemJSON struct {
	ConversationID string           `json:"conversation_id"`
	State          bot.HandoffState `json:"state"`
	Channel        bot.Channel      `json:"channel"`
	// Position counts waiting conversations from 1; 0 when held.
	Position    int          `json:"position"`
	EscalatedAt time.Time    `json:"escalated_at"`
	WaitSeconds int          `json:"wait_seconds"`
	Stage       bot.Stage    `json:"stage"`
	Trigger     string       `json:"trigger"`
	Agent       *AgentJSON   `json:"agent"`
	Customer    CustomerJSON `json:"customer"`
}

// QueueJSON is the queue as one agent may see it: every waiting
// conversation, and held ones (all of them for admins, their own for
// agents).
type QueueJSON struct {
	Items []QueueItemJSON `json:"items"`
	// Available is false outside business hours or with nobody online;
	// Reason is then "closed" or "no_agents".
	Available    bool   `json:"available"`
	Reason       string `json:"unavailable_reason,omitempty"`
	OnlineAgents int    `json:"online_agents"`
}

// ViewJSON is everything about one conversation for an agent.
type ViewJSON struct {
	Conversation ConversationJSON `json:"conversation"`
	Position     int              `json:"position"`
	Customer     CustomerJSON     `json:"customer"`
	Contact      *ContactJSON     `json:"contact"`
	// Contacts are the customer's recent contacts on every channel, newest
	// first.
	Contacts    []ContactJSON    `json:"contacts"`
	Messages    []MessageJSON    `json:"messages"`
	Transitions []bot.Transition `json:"transitions"`
	// Orders are the customer's orders from the shop, when an order source
	// is configured; OrdersStatus is "ok", "unavailable" (no source) or
	// "error" (the source failed; OrdersError says so).
	Orders       []OrderSummary `json:"orders"`
	OrdersStatus string         `json:"orders_status"`
	OrdersError  string         `json:"orders_error,omitempty"`
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// agentNames maps agent ids to their public view.
func (c *Console) agentDirectory(ctx context.Context) map[string]AgentJSON {
	accs, err := c.accounts.List(ctx)
	if err != nil {
		c.log.Warn("list agents", "err", err)
	}
	now := c.engine.Now()
	m := make(map[string]AgentJSON, len(accs))
	for _, a := range accs {
		m[a.ID] = AgentJSON{ID: a.ID, Name: a.Name, Role: a.Role, Online: c.presence.online(a.ID, now)}
	}
	return m
}

func agentRef(dir map[string]AgentJSON, id string) *AgentJSON {
	if id == "" {
		return nil
	}
	if a, ok := dir[id]; ok {
		return &a
	}
	// An agent outside the console (a Slack user) or a removed account.
	return &AgentJSON{ID: id, Name: id}
}

// queue builds the full queue once; forAgent then filters it per viewer.
func (c *Console) queue(ctx context.Context) (QueueJSON, error) {
	entries, err := c.engine.Queue(ctx)
	if err != nil {
		return QueueJSON{}, err
	}
	dir := c.agentDirectory(ctx)
	now := c.engine.Now()
	q := QueueJSON{Items: make([]QueueItemJSON, 0, len(entries)), OnlineAgents: c.OnlineAgents()}
	q.Available, q.Reason = c.engine.AgentsAvailable()
	for _, en := range entries {
		q.Items = append(q.Items, QueueItemJSON{
			ConversationID: en.Conversation.ID, State: en.Conversation.State, Channel: en.Conversation.Channel,
			Position: en.Position, EscalatedAt: en.Contact.EscalatedAt, WaitSeconds: int(now.Sub(en.Contact.EscalatedAt) / time.Second),
			Stage: en.Customer.Stage, Trigger: en.Contact.EscalationTrigger,
			Agent: agentRef(dir, en.Conversation.AgentID), Customer: customerJSON(en.Customer),
		})
	}
	return q, nil
}

// forAgent keeps what acc may see: waiting conversations and their own
// held ones; admins see everything.
func (q QueueJSON) forAgent(acc Account) QueueJSON {
	if acc.Role == bot.RoleNameAdmin {
		return q
	}
	out := q
	out.Items = make([]QueueItemJSON, 0, len(q.Items))
	for _, it := range q.Items {
		if it.State == bot.StateWaiting || (it.Agent != nil && it.Agent.ID == acc.ID) {
			out.Items = append(out.Items, it)
		}
	}
	return out
}

// canView reports whether acc may see and annotate a conversation:
// admins always; agents when it waits for anyone or is theirs.
func canView(acc Account, conv bot.Conversation) bool {
	return acc.Role == bot.RoleNameAdmin || conv.State == bot.StateWaiting || (conv.State == bot.StateAgent && conv.AgentID == acc.ID)
}
