package bot

import "time"

// Outcome is how a contact ended (or stands, while open).
type Outcome string

// Contact outcomes.
const (
	OutcomeOpen          Outcome = "open"           // still going
	OutcomeBotResolved   Outcome = "bot_resolved"   // the bot answered
	OutcomeAgentResolved Outcome = "agent_resolved" // a person resolved it
	OutcomeAbandoned     Outcome = "abandoned"      // left without an answer
	OutcomeWaiting       Outcome = "waiting"        // handed off, not yet resolved
)

// TurnOutcome is what the bot did with one customer message.
type TurnOutcome string

// Turn outcomes.
const (
	TurnAnswered  TurnOutcome = "answered"  // a confident FAQ answer
	TurnClarified TurnOutcome = "clarified" // asked which topic was meant
	TurnUnknown   TurnOutcome = "unknown"   // said it does not know
	TurnHandoff   TurnOutcome = "handoff"   // handed to a person
	TurnFlow      TurnOutcome = "flow"      // a dialogue step (order tracking)
	TurnForeign   TurnOutcome = "foreign"   // not in a language the bot speaks
	TurnQueued    TurnOutcome = "queued"    // a person is (or will be) answering
)

// Turn is the ledger entry for one customer message.
type Turn struct {
	MessageID  string      `json:"message_id"`
	At         time.Time   `json:"at"`
	Stage      Stage       `json:"stage"`
	Intent     string      `json:"intent,omitempty"`
	Confidence float64     `json:"confidence"`
	Outcome    TurnOutcome `json:"outcome"`
}

// Contact is one episode of a conversation on one channel: from a customer's
// first message until it is resolved or falls quiet. It is the unit the
// journey reports count, stamped with the customer's stage.
type Contact struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversation_id"`
	CustomerID     string    `json:"customer_id"`
	Channel        Channel   `json:"channel"`
	StartedAt      time.Time `json:"started_at"`
	// EndedAt is zero while the contact is open.
	EndedAt        time.Time `json:"ended_at,omitzero"`
	LastActivityAt time.Time `json:"last_activity_at"`
	StageAtStart   Stage     `json:"stage_at_start"`
	StageAtEnd     Stage     `json:"stage_at_end,omitempty"`
	Turns          []Turn    `json:"turns,omitempty"`
	Outcome        Outcome   `json:"outcome"`
	// Escalation, when the contact was handed to a person.
	EscalatedAt       time.Time `json:"escalated_at,omitzero"`
	EscalationTrigger string    `json:"escalation_trigger,omitempty"`
	// FirstResponseAt is an agent's first reply after escalation: response
	// times never count bot time.
	FirstResponseAt time.Time `json:"first_response_at,omitzero"`
	ResolvedAt      time.Time `json:"resolved_at,omitzero"`
	AgentID         string    `json:"agent_id,omitempty"`
	// OrderNumber is the order discussed, once its owner proved ownership.
	OrderNumber string `json:"order_number,omitempty"`
	// Ratings are survey answers (CSAT 1-5, CES 1-7, NPS 0-10) by name.
	Ratings map[string]int `json:"ratings,omitempty"`
}

// Intents lists the distinct intents of the contact's turns in order.
func (c *Contact) Intents() []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range c.Turns {
		if t.Intent != "" && !seen[t.Intent] {
			seen[t.Intent] = true
			out = append(out, t.Intent)
		}
	}
	return out
}

// Open reports whether the contact has not ended.
func (c *Contact) Open() bool { return c.EndedAt.IsZero() }

// settle derives the outcome of an open contact from its turns: a contact
// whose last bot turn was an answer is resolved by the bot; one that ended
// on a question the bot could not answer was abandoned.
func (c *Contact) settle() Outcome {
	if !c.EscalatedAt.IsZero() {
		if !c.ResolvedAt.IsZero() {
			return OutcomeAgentResolved
		}
		return OutcomeWaiting
	}
	for i := len(c.Turns) - 1; i >= 0; i-- {
		switch c.Turns[i].Outcome {
		case TurnAnswered:
			return OutcomeBotResolved
		case TurnClarified, TurnUnknown, TurnForeign, TurnFlow:
			// A flow step still in progress (a question the customer never
			// answered) is as unresolved as a clarifying question.
			return OutcomeAbandoned
		}
	}
	return OutcomeAbandoned
}

// Close ends the contact at t with the customer's stage, deriving the
// outcome unless it was already decided.
func (c *Contact) Close(t time.Time, stage Stage) {
	if !c.Open() {
		return
	}
	c.EndedAt = t
	c.StageAtEnd = stage
	if c.Outcome == OutcomeOpen || c.Outcome == "" || c.Outcome == OutcomeWaiting {
		c.Outcome = c.settle()
	}
}
