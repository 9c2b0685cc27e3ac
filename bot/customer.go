package bot

import "time"

// Channel names where a customer wrote from.
type Channel string

// The channels Frontdesk serves.
const (
	ChannelWeb     Channel = "web"
	ChannelSlack   Channel = "slack"
	ChannelDiscord Channel = "discord"
)

// Identity is a customer's identity on one channel: a web visitor id or
// verified shop user, a Slack "team:user", a Discord user id.
type Identity struct {
	Channel Channel `json:"channel"`
	ID      string  `json:"id"`
}

// Key is the identity's storage key.
func (i Identity) Key() string { return string(i.Channel) + "/" + i.ID }

// Profile is what a channel knows for sure about a customer, such as the
// claims of a verified identity token.
type Profile struct {
	ExternalID string `json:"external_id,omitempty"`
	Email      string `json:"email,omitempty"`
	Name       string `json:"name,omitempty"`
	// Verified is true when the shop vouched for these details (a signed
	// token), false when the customer merely typed them.
	Verified bool `json:"verified,omitempty"`
}

// Customer is one person, possibly known on several channels.
type Customer struct {
	ID         string     `json:"id"`
	Identities []Identity `json:"identities"`
	Profile    Profile    `json:"profile"`
	// Stage is where the customer is in their journey now.
	Stage Stage `json:"stage"`
	// StageHistory records every stage change with its reason, oldest first.
	StageHistory []StageChange `json:"stage_history,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	// LastContactAt is when the customer last wrote on any channel.
	LastContactAt time.Time `json:"last_contact_at"`
	// LastPurchaseAt is when the customer last bought, as order data tells
	// (FlowReply.PurchasedAt, Engine.RecordOrder); zero when unknown. The
	// lapsed rule reads it (JourneyRules.LastPurchase).
	LastPurchaseAt time.Time `json:"last_purchase_at,omitzero"`
}

// StageChange is one move of a customer between journey stages.
type StageChange struct {
	From   Stage     `json:"from"`
	To     Stage     `json:"to"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
	// Evidence points at what caused it: a topic id, an order number
	// (masked), a contact id.
	Evidence string `json:"evidence,omitempty"`
}

// MoveTo changes the customer's stage, recording why. It reports whether the
// stage changed.
func (c *Customer) MoveTo(to Stage, at time.Time, reason, evidence string) bool {
	if c.Stage == to {
		return false
	}
	c.StageHistory = append(c.StageHistory, StageChange{From: c.Stage, To: to, At: at, Reason: reason, Evidence: evidence})
	c.Stage = to
	c.UpdatedAt = at
	return true
}

// merge returns p updated with what a channel now says: its non-empty
// fields win, except that unverified details never overwrite verified ones
// (a Slack display name must not replace the shop's verified email and user
// id). The result is verified if either was.
func (p Profile) merge(in Profile) Profile {
	if p.Verified && !in.Verified {
		return p
	}
	out := p
	if in.ExternalID != "" {
		out.ExternalID = in.ExternalID
	}
	if in.Email != "" {
		out.Email = in.Email
	}
	if in.Name != "" {
		out.Name = in.Name
	}
	out.Verified = p.Verified || in.Verified
	return out
}
