package bot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// OrderStatus is where an order is in fulfilment.
type OrderStatus string

// Order statuses, in the order an order normally goes through them.
const (
	OrderPlaced         OrderStatus = "placed"           // paid, not yet picked
	OrderProcessing     OrderStatus = "processing"       // being picked and packed
	OrderShipped        OrderStatus = "shipped"          // handed to the carrier
	OrderOutForDelivery OrderStatus = "out_for_delivery" // on the van today
	OrderDelivered      OrderStatus = "delivered"        // the carrier delivered it
	OrderCancelled      OrderStatus = "cancelled"        // cancelled before delivery
	OrderReturned       OrderStatus = "returned"         // sent back by the customer
)

// OrderStatuses lists every status.
var OrderStatuses = []OrderStatus{
	OrderPlaced, OrderProcessing, OrderShipped, OrderOutForDelivery,
	OrderDelivered, OrderCancelled, OrderReturned,
}

// orderStatusAliases are other shops' words for our statuses.
var orderStatusAliases = map[string]OrderStatus{
	"pending": OrderPlaced, "new": OrderPlaced, "paid": OrderPlaced,
	"packing": OrderProcessing, "in_progress": OrderProcessing,
	"dispatched": OrderShipped, "in_transit": OrderShipped, "fulfilled": OrderShipped,
	"canceled": OrderCancelled, "outfordelivery": OrderOutForDelivery,
}

// ErrUnknownOrderStatus reports a status that is not one of OrderStatuses or
// a known alias.
var ErrUnknownOrderStatus = errors.New("unknown order status")

// ParseOrderStatus returns the status named s: case, spaces and hyphens do
// not matter ("Out for delivery"), and a few common aliases are accepted
// (pending/new/paid → placed, packing → processing,
// dispatched/in_transit/fulfilled → shipped, canceled → cancelled).
func ParseOrderStatus(s string) (OrderStatus, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.NewReplacer(" ", "_", "-", "_").Replace(n)
	for _, st := range OrderStatuses {
		if string(st) == n {
			return st, nil
		}
	}
	if st, ok := orderStatusAliases[n]; ok {
		return st, nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownOrderStatus, s)
}

// Valid reports whether s is one of OrderStatuses.
func (s OrderStatus) Valid() bool {
	for _, st := range OrderStatuses {
		if s == st {
			return true
		}
	}
	return false
}

// InTransit reports whether the order is on its way: placed but neither
// delivered, cancelled nor returned.
func (s OrderStatus) InTransit() bool {
	switch s {
	case OrderPlaced, OrderProcessing, OrderShipped, OrderOutForDelivery:
		return true
	}
	return false
}

// Label is the status in a few plain words, for cards and agents.
func (s OrderStatus) Label() string {
	switch s {
	case OrderPlaced:
		return "Order placed"
	case OrderProcessing:
		return "Being packed"
	case OrderShipped:
		return "On its way"
	case OrderOutForDelivery:
		return "Out for delivery"
	case OrderDelivered:
		return "Delivered"
	case OrderCancelled:
		return "Cancelled"
	case OrderReturned:
		return "Returned"
	}
	return string(s)
}

// OrderItem is one line of an order.
type OrderItem struct {
	Name     string `json:"name"`
	SKU      string `json:"sku,omitempty"`
	Quantity int    `json:"quantity"`
}

// Order is a shop order as the bot needs it to answer "where is my order?".
// Email and Postcode are the proofs of ownership a customer may give.
type Order struct {
	// Number is the order number, normalised (NormalizeOrderNumber).
	Number string `json:"number"`
	// Email is the customer's address, lower-case.
	Email string `json:"email"`
	// Postcode is the delivery postcode as the shop has it.
	Postcode       string      `json:"postcode,omitempty"`
	Status         OrderStatus `json:"status"`
	Carrier        string      `json:"carrier,omitempty"`
	TrackingNumber string      `json:"tracking_number,omitempty"`
	// TrackingURL is an http(s) link to the carrier's tracking page.
	TrackingURL       string      `json:"tracking_url,omitempty"`
	Items             []OrderItem `json:"items,omitempty"`
	PlacedAt          time.Time   `json:"placed_at,omitzero"`
	ShippedAt         time.Time   `json:"shipped_at,omitzero"`
	DeliveredAt       time.Time   `json:"delivered_at,omitzero"`
	EstimatedDelivery time.Time   `json:"estimated_delivery,omitzero"`
	// CustomerRef is the shop's own customer id, if it has one.
	CustomerRef string `json:"customer_ref,omitempty"`
	// UpdatedAt is when Frontdesk last stored or fetched the order.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// ErrInvalidOrder wraps the problems Order.Validate finds.
var ErrInvalidOrder = errors.New("invalid order")

// Validate checks what the bot relies on: a usable number, a valid email,
// a known status, an http(s) tracking URL (a link shown to customers must
// never be javascript: or data:) and positive quantities. The error lists
// every problem, separated by "; ".
func (o *Order) Validate() error {
	var probs []string
	// Storage is JSON, which would quietly turn invalid bytes into U+FFFD:
	// refuse them, so what is stored is what was given.
	texts := []string{o.Number, o.Email, o.Postcode, o.Carrier, o.TrackingNumber, o.TrackingURL, o.CustomerRef}
	for _, it := range o.Items {
		texts = append(texts, it.Name, it.SKU)
	}
	for _, t := range texts {
		if !utf8.ValidString(t) {
			probs = append(probs, "text that is not valid UTF-8")
			break
		}
	}
	switch {
	case o.Number == "":
		probs = append(probs, "missing order number")
	case !ValidOrderNumber(o.Number):
		probs = append(probs, fmt.Sprintf("bad order number %q (1-32 letters, digits, '-', '_' or '.')", o.Number))
	}
	switch {
	case o.Email == "":
		probs = append(probs, "missing email")
	case !ValidEmail(o.Email):
		probs = append(probs, fmt.Sprintf("bad email %q", o.Email))
	}
	switch {
	case o.Status == "":
		probs = append(probs, "missing status")
	case !o.Status.Valid():
		probs = append(probs, fmt.Sprintf("unknown status %q", o.Status))
	}
	if o.TrackingURL != "" && !validTrackingURL(o.TrackingURL) {
		probs = append(probs, fmt.Sprintf("bad tracking URL %q (want http or https)", o.TrackingURL))
	}
	for _, it := range o.Items {
		if strings.TrimSpace(it.Name) == "" {
			probs = append(probs, "an item has no name")
			break
		}
		if it.Quantity <= 0 {
			probs = append(probs, fmt.Sprintf("item %q has quantity %d", it.Name, it.Quantity))
			break
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidOrder, strings.Join(probs, "; "))
	}
	return nil
}

func validTrackingURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && !strings.ContainsAny(s, " \t\n\"<>")
}

// NormalizeOrderNumber trims s, drops a leading '#' and upper-cases it, the
// form order numbers are stored and compared in (and the form the intent
// router extracts them in).
func NormalizeOrderNumber(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "#")
	return strings.ToUpper(strings.TrimSpace(s))
}

// ValidOrderNumber reports whether a normalised number is 1-32 characters of
// A-Z, 0-9, '-', '_' or '.', so it is safe in storage keys and URLs.
func ValidOrderNumber(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// NormalizeEmail trims and lower-cases an email address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidEmail is a permissive check of a normalised address: one '@', a
// local part, a dotted domain, no spaces, at most 254 bytes.
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>\",;") {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || strings.Count(s, "@") != 1 {
		return false
	}
	dom := s[at+1:]
	dot := strings.LastIndexByte(dom, '.')
	return dot > 0 && dot < len(dom)-2 && !strings.Contains(dom, "..")
}

// NormalizePostcode upper-cases a postcode and removes spaces and hyphens,
// so "sw1a 1aa" and "SW1A1AA" compare equal.
func NormalizePostcode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}

// OwnedBy reports whether the proof given matches the order: the email on
// the order, or its postcode. Empty proofs never match.
func (o *Order) OwnedBy(email, postcode string) bool {
	if e := NormalizeEmail(email); e != "" && e == NormalizeEmail(o.Email) {
		return true
	}
	p := NormalizePostcode(postcode)
	return p != "" && p == NormalizePostcode(o.Postcode)
}

// ErrOrderNotFound is returned by an OrderSource for an order that does not
// exist. The bot never tells it apart from a wrong proof of ownership.
var ErrOrderNotFound = errors.New("order not found")

// ErrOrdersUnavailable is returned (wrapped) by an OrderSource that cannot
// answer now: the shop's API is down, timed out or answered nonsense. The
// bot then says so and offers a person rather than guessing.
var ErrOrdersUnavailable = errors.New("order system unavailable")

// OrderSource looks orders up by number. Implementations return
// ErrOrderNotFound for a missing order and an error wrapping
// ErrOrdersUnavailable when they cannot tell; any other error is treated as
// unavailable. number is normalised (NormalizeOrderNumber).
type OrderSource interface {
	Order(ctx context.Context, number string) (Order, error)
}

// OrderLister is an optional ability of an OrderSource: a customer's orders
// by email, newest first. The order flow uses it to recognise repeat
// buyers; the agent console to show a customer's orders.
type OrderLister interface {
	Orders(ctx context.Context, email string) ([]Order, error)
}

// MaskOrderNumber hides most of an order number for logs: "A1234" →
// "A1***4". Short numbers are hidden entirely.
func MaskOrderNumber(n string) string {
	switch {
	case len(n) <= 3 || !utf8.ValidString(n):
		return "***"
	case len(n) == 4:
		return n[:1] + "***" + n[3:]
	}
	return n[:2] + "***" + n[len(n)-1:]
}

// MaskEmail hides an email address's local part for logs:
// "jane@example.com" → "j***@example.com".
func MaskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || !utf8.ValidString(e) {
		return "***"
	}
	_, n := utf8.DecodeRuneInString(e)
	return e[:n] + "***" + e[at:]
}
