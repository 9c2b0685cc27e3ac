// Package orders holds the sources the order-tracking flow answers from
// (bot.OrderSource): Embedded keeps orders in Frontdesk's own database,
// loaded by "frontdesk orders import" and kept current by the shop's
// backend through the push endpoint (PushHandler); HTTP asks the shop's own
// API. docs/orders.md describes the file formats and the configuration.
package orders

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Buckets the embedded source keeps its records in.
const (
	// BucketOrders maps an order number to its bot.Order.
	BucketOrders = "orders"
	// BucketOrdersByEmail indexes orders by email: "email\x00number" → number.
	BucketOrdersByEmail = "orders_by_email"
)

// Embedded is the order source kept in Frontdesk's own database through a
// bot.Store. It also lists a customer's orders (bot.OrderLister).
type Embedded struct {
	store bot.Store
	now   func() time.Time
}

var (
	_ bot.OrderSource = (*Embedded)(nil)
	_ bot.OrderLister = (*Embedded)(nil)
)

// NewEmbedded returns the embedded source over s. now stamps
// Order.UpdatedAt; nil means time.Now.
func NewEmbedded(s bot.Store, now func() time.Time) *Embedded {
	if now == nil {
		now = time.Now
	}
	return &Embedded{store: s, now: now}
}

// bulker is the optional ability of a store to run a big load as one
// transaction of its own (store.DB.Bulk).
type bulker interface {
	Bulk(ctx context.Context, fn func(bot.Tx) error) error
}

// write runs fn in the store's Bulk when it has one (big imports), else in
// Update. fn may run more than once under Update.
func (e *Embedded) write(ctx context.Context, bulk bool, fn func(bot.Tx) error) error {
	if b, ok := e.store.(bulker); ok && bulk {
		return b.Bulk(ctx, fn)
	}
	return e.store.Update(ctx, fn)
}

func emailKey(email, number string) []byte { return []byte(email + "\x00" + number) }

// Order returns the order with the number. A malformed number is simply
// not found.
func (e *Embedded) Order(ctx context.Context, number string) (bot.Order, error) {
	number = bot.NormalizeOrderNumber(number)
	if !bot.ValidOrderNumber(number) {
		return bot.Order{}, bot.ErrOrderNotFound
	}
	var o bot.Order
	var ok bool
	err := e.store.View(ctx, func(tx bot.Tx) error {
		var err error
		ok, err = tx.Get(BucketOrders, []byte(number), &o)
		return err
	})
	if err != nil {
		return bot.Order{}, fmt.Errorf("orders: get: %w: %w", bot.ErrOrdersUnavailable, err)
	}
	if !ok {
		return bot.Order{}, bot.ErrOrderNotFound
	}
	return o, nil
}

// Orders returns the orders of an email address, newest first.
func (e *Embedded) Orders(ctx context.Context, email string) ([]bot.Order, error) {
	email = bot.NormalizeEmail(email)
	if email == "" {
		return nil, nil
	}
	var out []bot.Order
	err := e.store.View(ctx, func(tx bot.Tx) error {
		out = out[:0]
		var numbers []string
		err := tx.Scan(BucketOrdersByEmail, []byte(email+"\x00"), nil, func(_ []byte, decode func(any) error) (bool, error) {
			var n string
			if err := decode(&n); err != nil {
				return false, err
			}
			numbers = append(numbers, n)
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, n := range numbers {
			var o bot.Order
			ok, err := tx.Get(BucketOrders, []byte(n), &o)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, o)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("orders: list: %w: %w", bot.ErrOrdersUnavailable, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].PlacedAt.After(out[j].PlacedAt) })
	return out, nil
}

// Change says what storing an order did.
type Change int

// Changes.
const (
	Unchanged Change = iota // the same order was already stored
	Added                   // a new order
	Updated                 // an existing order changed
)

// Counts tallies what a batch of puts did.
type Counts struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

func (c *Counts) add(ch Change) {
	switch ch {
	case Added:
		c.Added++
	case Updated:
		c.Updated++
	default:
		c.Unchanged++
	}
}

// Put validates and stores orders (creating or replacing by number) in one
// transaction; nothing is stored if any is invalid.
func (e *Embedded) Put(ctx context.Context, orders ...bot.Order) (Counts, error) {
	for i := range orders {
		if err := normalize(&orders[i]); err != nil {
			return Counts{}, err
		}
	}
	return e.put(ctx, false, orders)
}

func (e *Embedded) put(ctx context.Context, bulk bool, orders []bot.Order) (Counts, error) {
	now := e.now()
	var c Counts
	err := e.write(ctx, bulk, func(tx bot.Tx) error {
		c = Counts{}
		for _, o := range orders {
			ch, err := putTx(tx, o, now)
			if err != nil {
				return err
			}
			c.add(ch)
		}
		return nil
	})
	if err != nil {
		return Counts{}, fmt.Errorf("orders: store: %w", err)
	}
	return c, nil
}

// putTx stores one normalised order and keeps the email index in step. An
// order stored again unchanged keeps its UpdatedAt, so re-importing a file
// is a no-op.
func putTx(tx bot.Tx, o bot.Order, now time.Time) (Change, error) {
	var old bot.Order
	ok, err := tx.Get(BucketOrders, []byte(o.Number), &old)
	if err != nil {
		return 0, err
	}
	ch := Added
	if ok {
		o.UpdatedAt = old.UpdatedAt
		if sameOrder(old, o) {
			return Unchanged, nil
		}
		ch = Updated
		if old.Email != o.Email {
			if err := tx.Delete(BucketOrdersByEmail, emailKey(old.Email, old.Number)); err != nil {
				return 0, err
			}
		}
	}
	o.UpdatedAt = now
	if err := tx.Put(BucketOrders, []byte(o.Number), o); err != nil {
		return 0, err
	}
	return ch, tx.Put(BucketOrdersByEmail, emailKey(o.Email, o.Number), o.Number)
}

// sameOrder compares two orders as stored (times compared as instants).
func sameOrder(a, b bot.Order) bool {
	for _, p := range [][2]*time.Time{{&a.PlacedAt, &b.PlacedAt}, {&a.ShippedAt, &b.ShippedAt}, {&a.DeliveredAt, &b.DeliveredAt}, {&a.EstimatedDelivery, &b.EstimatedDelivery}, {&a.UpdatedAt, &b.UpdatedAt}} {
		if !p[0].Equal(*p[1]) {
			return false
		}
		*p[0], *p[1] = time.Time{}, time.Time{}
	}
	if len(a.Items) == 0 && len(b.Items) == 0 {
		a.Items, b.Items = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

// Delete removes an order; a missing one is not an error.
func (e *Embedded) Delete(ctx context.Context, number string) error {
	number = bot.NormalizeOrderNumber(number)
	err := e.store.Update(ctx, func(tx bot.Tx) error {
		var old bot.Order
		ok, err := tx.Get(BucketOrders, []byte(number), &old)
		if err != nil || !ok {
			return err
		}
		if err := tx.Delete(BucketOrdersByEmail, emailKey(old.Email, old.Number)); err != nil {
			return err
		}
		return tx.Delete(BucketOrders, []byte(number))
	})
	if err != nil {
		return fmt.Errorf("orders: delete: %w", err)
	}
	return nil
}

// Count returns how many orders are stored.
func (e *Embedded) Count(ctx context.Context) (int, error) {
	n := 0
	err := e.store.View(ctx, func(tx bot.Tx) error {
		n = 0
		return tx.Scan(BucketOrders, nil, nil, func([]byte, func(any) error) (bool, error) {
			n++
			return true, nil
		})
	})
	return n, err
}

// normalize puts an order in stored form and validates it.
func normalize(o *bot.Order) error {
	o.Number = bot.NormalizeOrderNumber(o.Number)
	o.Email = bot.NormalizeEmail(o.Email)
	if s, err := bot.ParseOrderStatus(string(o.Status)); err == nil {
		o.Status = s
	}
	for i := range o.Items {
		if o.Items[i].Quantity == 0 {
			o.Items[i].Quantity = 1
		}
	}
	return o.Validate()
}
