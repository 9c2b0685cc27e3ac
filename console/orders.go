package console

import (
	"context"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// OrderLister finds a customer's orders for the console's orders panel.
// The shop integration implements it; the console works without one.
type OrderLister interface {
	// Orders returns the customer's orders, newest first. Errors that are
	// *bot.Error are shown to the agent; others are logged and reported
	// as "orders unavailable".
	Orders(ctx context.Context, customer bot.Customer) ([]OrderSummary, error)
}

// OrderSummary is one order as the agent sees it.
type OrderSummary struct {
	Number   string    `json:"number"`
	Status   string    `json:"status"`
	PlacedAt time.Time `json:"placed_at,omitzero"`
	// Total is formatted for display ("£42.50").
	Total string `json:"total,omitempty"`
	// Items are short descriptions ("2 × Trail tent").
	Items []string `json:"items,omitempty"`
	// Tracking is a carrier tracking URL or number.
	Tracking string `json:"tracking,omitempty"`
	// URL opens the order in the shop's admin.
	URL string `json:"url,omitempty"`
}

// ordersTimeout bounds the order source so a slow shop API cannot hold up
// the conversation view.
const ordersTimeout = 5 * time.Second

// customerOrders asks the order source, if any. It never fails the view.
func (c *Console) customerOrders(ctx context.Context, cust bot.Customer) ([]OrderSummary, string, string) {
	src := c.orderLister()
	if src == nil {
		return []OrderSummary{}, "unavailable", ""
	}
	ctx, cancel := context.WithTimeout(ctx, ordersTimeout)
	defer cancel()
	orders, err := src.Orders(ctx, cust)
	if err != nil {
		if !bot.IsUserError(err) {
			c.log.Warn("orders", "customer", cust.ID, "err", err)
			return []OrderSummary{}, "error", "Orders are unavailable right now."
		}
		return []OrderSummary{}, "error", bot.ErrorMessage(err)
	}
	return nonNil(orders), "ok", ""
}

// maxContacts bounds the contacts shown with a conversation.
const maxContacts = 20
