package console

import (
	"context"
	"net/http"
	"strings"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Customers in the API: look up, link two records into one person, and
// report referrals from the shop's referral programme. docs/agents.md and
// docs/journey.md document them.

// maxEvidence bounds the referral evidence stored in a customer's journey.
const maxEvidence = 200

type customerResponse struct {
	Customer CustomerJSON `json:"customer"`
	// MergedFrom is the id asked for when it was merged into Customer.
	MergedFrom string `json:"merged_from,omitempty"`
}

// apiCustomer: GET /api/customers/{id} → the customer (following links).
func (c *Console) apiCustomer(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	cust, err := c.engine.Customer(r.Context(), id)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	out := customerResponse{Customer: customerJSON(cust)}
	if cust.ID != id {
		out.MergedFrom = id
	}
	writeJSON(w, http.StatusOK, out)
}

// apiCustomerSearch: GET /api/customers?q=<id or email> → matching
// customers (at most 10).
func (c *Console) apiCustomerSearch(w http.ResponseWriter, r *http.Request, p *principal) {
	found, err := c.engine.FindCustomers(r.Context(), r.URL.Query().Get("q"), 10)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	out := make([]CustomerJSON, 0, len(found))
	for _, cust := range found {
		out = append(out, customerJSON(cust))
	}
	writeJSON(w, http.StatusOK, map[string]any{"customers": out})
}

type linkRequest struct {
	// CustomerID is the other customer, who becomes the same person.
	CustomerID string `json:"customer_id"`
}

// apiCustomerLink: POST /api/customers/{id}/link {"customer_id"} makes two
// customer records one (bot.Engine.Link). Admins may link any two; an
// agent may link the customer of a conversation they are working on (one
// waiting in the queue, or theirs) with another: linking cannot be undone,
// so it is done by someone talking to that customer.
func (c *Console) apiCustomerLink(w http.ResponseWriter, r *http.Request, p *principal) {
	var req linkRequest
	if err := decode(r, &req); err != nil {
		c.writeErr(w, r, err)
		return
	}
	ctx := r.Context()
	other := strings.TrimSpace(req.CustomerID)
	if other == "" {
		c.writeErr(w, r, bot.Errorf(bot.ECodeInvalid, "Give the other customer's id (customer_id)."))
		return
	}
	cust, err := c.engine.Customer(ctx, r.PathValue("id"))
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	if !p.admin() {
		ok, err := c.worksWith(ctx, p.acc, cust.ID)
		if err != nil {
			c.writeErr(w, r, err)
			return
		}
		if !ok {
			c.writeErr(w, r, bot.Errorf(bot.ECodeForbidden, "Agents link the customer of a conversation they are working on; ask an admin for others."))
			return
		}
	}
	merged, err := c.engine.Link(ctx, cust.ID, other, "linked by "+p.acc.ID)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	c.hub.kick() // the queue shows the merged customer
	writeJSON(w, http.StatusOK, customerResponse{Customer: customerJSON(merged)})
}

// worksWith reports whether an agent has a conversation of the customer
// open to them: waiting in the queue, or held by them.
func (c *Console) worksWith(ctx context.Context, acc Account, customerID string) (bool, error) {
	q, err := c.engine.Queue(ctx)
	if err != nil {
		return false, err
	}
	for _, en := range q {
		if en.Conversation.CustomerID == customerID && canView(acc, en.Conversation) {
			return true, nil
		}
	}
	return false, nil
}

type referralRequest struct {
	// Email is the referrer's verified email; or CustomerID names them.
	Email      string `json:"email"`
	CustomerID string `json:"customer_id"`
	// Referred is the evidence kept with the stage change: an order
	// number or a referral code.
	Referred string `json:"referred"`
}

type referralResponse struct {
	// Moved is true when the referral made the customer an advocate
	// (only loyal customers move).
	Moved    bool         `json:"moved"`
	Customer CustomerJSON `json:"customer"`
}

// apiReferral: POST /api/customers/referrals {"email" | "customer_id",
// "referred"} applies the referral rule (bot.JourneyRules.AfterReferral)
// for the shop's referral programme.
func (c *Console) apiReferral(w http.ResponseWriter, r *http.Request, p *principal) {
	var req referralRequest
	if err := decode(r, &req); err != nil {
		c.writeErr(w, r, err)
		return
	}
	email, id := strings.TrimSpace(req.Email), strings.TrimSpace(req.CustomerID)
	if (email == "") == (id == "") {
		c.writeErr(w, r, bot.Errorf(bot.ECodeInvalid, "Name the customer who referred someone by email or by customer_id (one of them)."))
		return
	}
	evidence, err := bot.CleanText(strings.Join(strings.Fields(req.Referred), " "), maxEvidence)
	switch {
	case err == nil:
	case bot.ErrorCode(err) == bot.ECodeTooLarge:
		c.writeErr(w, r, bot.Errorf(bot.ECodeTooLarge, "referred is limited to %d bytes.", maxEvidence))
		return
	default:
		c.writeErr(w, r, bot.Errorf(bot.ECodeInvalid, "Say what the referral was (referred): an order number or a referral code."))
		return
	}
	ctx := r.Context()
	if email != "" {
		cust, err := c.engine.CustomerByVerifiedEmail(ctx, email)
		if err != nil {
			c.writeErr(w, r, err)
			return
		}
		id = cust.ID
	}
	moved, err := c.engine.RecordReferral(ctx, id, evidence)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	cust, err := c.engine.Customer(ctx, id)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	if moved {
		c.log.Info("referral recorded", "customer", cust.ID, "by", p.acc.ID)
	}
	writeJSON(w, http.StatusOK, referralResponse{Moved: moved, Customer: customerJSON(cust)})
}
