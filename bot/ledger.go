package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// BucketJourney holds the journey's own records: "email/<address>" →
// customer id (verified emails, for linking), "merged/<id>" → the customer
// a merged id now lives in, "forgotten/<id>" → when a customer was
// forgotten, and "idle_watermark" (see CloseIdle).
const BucketJourney = "journey"

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// ContactFilter selects contacts from the ledger. Zero fields match
// everything.
type ContactFilter struct {
	// Since and Until bound StartedAt: Since <= StartedAt < Until. Zero
	// means unbounded.
	Since, Until time.Time
	// Stages match the stage at the start of the contact.
	Stages   []Stage
	Channels []Channel
	Outcomes []Outcome
	// CustomerID, if set, selects one customer's contacts.
	CustomerID string
}

// Match reports whether c passes the filter.
func (f ContactFilter) Match(c *Contact) bool {
	if !f.Since.IsZero() && c.StartedAt.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !c.StartedAt.Before(f.Until) {
		return false
	}
	if len(f.Stages) > 0 && !slices.Contains(f.Stages, c.StageAtStart) {
		return false
	}
	if len(f.Channels) > 0 && !slices.Contains(f.Channels, c.Channel) {
		return false
	}
	if len(f.Outcomes) > 0 && !slices.Contains(f.Outcomes, c.Outcome) {
		return false
	}
	return f.CustomerID == "" || f.CustomerID == c.CustomerID
}

// idTimePrefix is the leading part of NewID for t: contact ids sort by
// creation time, so a time range is a key range.
func idTimePrefix(t time.Time) []byte {
	return fmt.Appendf(nil, "%012x", uint64(t.UnixMilli())&0xffffffffffff)
}

// QueryContacts calls fn for each contact of the ledger that matches f,
// oldest first, until fn returns false. A time range seeks straight to its
// first contact: ids start with their creation time.
func QueryContacts(ctx context.Context, s Store, f ContactFilter, fn func(Contact) bool) error {
	var start, stop []byte
	if !f.Since.IsZero() {
		start = idTimePrefix(f.Since)
	}
	if !f.Until.IsZero() {
		stop = idTimePrefix(f.Until)
	}
	return s.View(ctx, func(tx Tx) error {
		return tx.Scan(BucketContacts, nil, start, func(key []byte, decode func(any) error) (bool, error) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if stop != nil && len(key) >= len(stop) && string(key[:len(stop)]) > string(stop) {
				return false, nil
			}
			var c Contact
			if err := decode(&c); err != nil {
				return false, err
			}
			if !f.Match(&c) {
				return true, nil
			}
			return fn(c), nil
		})
	})
}

// ListContacts returns the contacts matching f, oldest first.
func ListContacts(ctx context.Context, s Store, f ContactFilter) ([]Contact, error) {
	var out []Contact
	err := QueryContacts(ctx, s, f, func(c Contact) bool {
		out = append(out, c)
		return true
	})
	return out, err
}

const keyIdleWatermark = "idle_watermark"

// idleScanBatch is how many contacts CloseIdle reads per transaction.
const idleScanBatch = 512

// CloseIdle closes the contacts that have been quiet with the bot for
// longer than Config.ContactIdle at now, so their outcome settles (resolved
// by the bot, or abandoned) without waiting for the customer's next
// message. Contacts waiting for or held by a person stay open: a person
// closes them. Each close is published as EventContactClose. It returns how
// many it closed. The server runs it every minute.
//
// It scans from a watermark: the oldest contact that was still open at the
// previous sweep, so each sweep reads only recent contacts.
func (e *Engine) CloseIdle(ctx context.Context, now time.Time) (int, error) {
	idle := e.cfg.ContactIdle
	var mark []byte
	type cand struct {
		contactID string
		convKey   string
	}
	var due []cand
	var oldestOpen []byte
	var start []byte
	err := e.store.View(ctx, func(tx Tx) error {
		var wm string
		if _, err := tx.Get(BucketJourney, []byte(keyIdleWatermark), &wm); err != nil {
			return err
		}
		if wm != "" {
			start = []byte(wm)
		}
		return nil
	})
	// Read in short transactions of idleScanBatch contacts: one long read
	// transaction would hold back the store's writers when the file grows.
	for more := err == nil; more; {
		seen := 0
		err = e.store.View(ctx, func(tx Tx) error {
			seen = 0
			return tx.Scan(BucketContacts, nil, start, func(key []byte, decode func(any) error) (bool, error) {
				seen++
				start = append(slices.Clone(key), 0) // the next key after this one
				var c Contact
				if err := decode(&c); err != nil {
					return false, err
				}
				if !c.Open() {
					return seen < idleScanBatch, nil
				}
				conv, err := GetConversation(tx, c.ConversationID)
				if err != nil {
					if isNotFound(err) {
						return seen < idleScanBatch, nil
					}
					return false, err
				}
				handedOff := conv.State == StateWaiting || conv.State == StateAgent
				if !handedOff && now.Sub(c.LastActivityAt) > idle {
					due = append(due, cand{c.ID, string(keyConvKey(conv.Channel, conv.UserID, conv.Thread))})
				} else if oldestOpen == nil {
					oldestOpen = slices.Clone(key)
				}
				return seen < idleScanBatch && ctx.Err() == nil, nil
			})
		})
		more = err == nil && seen == idleScanBatch && ctx.Err() == nil
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return 0, fmt.Errorf("bot: close idle: %w", err)
	}
	// Contacts still being written have ids close to now; anything older
	// than the idle time that is not open has settled for good.
	mark = idTimePrefix(now.Add(-idle))
	if oldestOpen != nil && string(oldestOpen) < string(mark) {
		mark = oldestOpen
	}
	closed := 0
	for _, c := range due {
		ok, err := e.closeIdleContact(ctx, c.contactID, c.convKey, now)
		if err != nil {
			return closed, err
		}
		if ok {
			closed++
		} else if c.contactID < string(mark) {
			// Still open (the customer wrote meanwhile): keep it in view.
			mark = []byte(c.contactID)
		}
	}
	err = e.store.Update(ctx, func(tx Tx) error {
		return tx.Put(BucketJourney, []byte(keyIdleWatermark), string(mark))
	})
	if err != nil {
		return closed, fmt.Errorf("bot: close idle: %w", err)
	}
	return closed, nil
}

func (e *Engine) closeIdleContact(ctx context.Context, contactID, convKey string, now time.Time) (bool, error) {
	unlock := e.locks.lock(convKey)
	defer unlock()
	var conv Conversation
	var contact Contact
	closed := false
	err := e.store.Update(ctx, func(tx Tx) error {
		closed = false
		var err error
		if contact, err = GetContact(tx, contactID); err != nil {
			return err
		}
		if conv, err = GetConversation(tx, contact.ConversationID); err != nil {
			return err
		}
		handedOff := conv.State == StateWaiting || conv.State == StateAgent
		if !contact.Open() || handedOff || now.Sub(contact.LastActivityAt) <= e.cfg.ContactIdle {
			return nil
		}
		cust, err := GetCustomer(tx, contact.CustomerID)
		if err != nil {
			return err
		}
		contact.Close(contact.LastActivityAt, cust.Stage)
		closed = true
		return PutContact(tx, &contact)
	})
	if err != nil {
		return false, fmt.Errorf("bot: close idle contact: %w", err)
	}
	if closed {
		c := contact
		e.Publish(Event{Kind: EventContactClose, Conversation: conv, Contact: &c})
	}
	return closed, nil
}
