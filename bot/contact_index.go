package bot

import (
	"context"
	"fmt"
	"time"
)

// BucketContactsByCustomer indexes the ledger by customer: the key is the
// customer id, '/', the contact id, and the value is empty. Contact ids
// sort by time, so a prefix scan walks one customer's contacts in order
// without reading anyone else's.
//
// The index is written in the same transaction as the contact (PutContact
// calls IndexContact), so it can never miss a committed contact, however
// many writers race and however often the store re-runs a transaction.
// Contacts only change customer when two customers are linked, and Link
// moves their entries in its own transaction. A database written before the
// index existed is filled by BackfillContactIndex; until that has finished,
// readers scan the ledger instead (CustomerContacts).
const BucketContactsByCustomer = "contacts_by_customer"

// keyContactIndexDone (in BucketMeta) records when BackfillContactIndex
// finished: from then on the index is complete.
const keyContactIndexDone = "contacts_by_customer_index"

func keyContactByCustomer(customerID, contactID string) []byte {
	return []byte(customerID + "/" + contactID)
}

func keyContactByCustomerPrefix(customerID string) []byte { return []byte(customerID + "/") }

// indexMark is the value of an index entry: nothing worth decoding.
type indexMark struct{}

// IndexContact records c in BucketContactsByCustomer. It reads before it
// writes: a contact is stored at every message, its index entry only
// once, and a read leaves no page to write back.
func IndexContact(tx Tx, c *Contact) error {
	if c.ID == "" || c.CustomerID == "" {
		return nil
	}
	k := keyContactByCustomer(c.CustomerID, c.ID)
	var m indexMark
	ok, err := tx.Get(BucketContactsByCustomer, k, &m)
	if err != nil || ok {
		return err
	}
	if err := tx.Put(BucketContactsByCustomer, k, indexMark{}); err != nil {
		return fmt.Errorf("bot: index contact: %w", err)
	}
	return nil
}

// putContactIndexed stores a contact with its index entry (PutContact).
func putContactIndexed(tx Tx, c *Contact) error {
	if err := IndexContact(tx, c); err != nil {
		return err
	}
	return tx.Put(BucketContacts, []byte(c.ID), c)
}

// moveContactIndex re-files a contact whose customer changed (a link).
func moveContactIndex(tx Tx, contactID, from, to string) error {
	if err := tx.Delete(BucketContactsByCustomer, keyContactByCustomer(from, contactID)); err != nil {
		return err
	}
	return IndexContact(tx, &Contact{ID: contactID, CustomerID: to})
}

// ContactIndexReady reports whether the contacts-by-customer index is
// complete in this store: the backfill of older contacts has finished.
func ContactIndexReady(tx Tx) (bool, error) {
	var at time.Time
	return tx.Get(BucketMeta, []byte(keyContactIndexDone), &at)
}

// backfillBatch is how many contacts one backfill transaction indexes:
// small enough that customers' messages never wait long for the write
// lock.
const backfillBatch = 500

// BackfillContactIndex indexes every contact stored before the index
// existed, in small transactions, then marks the index complete. It is
// idempotent and safe while the server runs: contacts written meanwhile
// are indexed by PutContact, and each batch re-reads its contacts inside
// its transaction, so a link that moved one in between is filed under its
// new customer. It returns how many entries it added (0 once complete).
func BackfillContactIndex(ctx context.Context, s Store, now time.Time) (int, error) {
	done := false
	if err := s.View(ctx, func(tx Tx) error {
		var err error
		done, err = ContactIndexReady(tx)
		return err
	}); err != nil || done {
		return 0, err
	}
	added := 0
	var start []byte
	for {
		var ids []string
		err := s.View(ctx, func(tx Tx) error {
			ids = ids[:0]
			return tx.Scan(BucketContacts, nil, start, func(key []byte, _ func(any) error) (bool, error) {
				ids = append(ids, string(key))
				return len(ids) < backfillBatch, ctx.Err()
			})
		})
		if err != nil {
			return added, fmt.Errorf("bot: backfill contact index: %w", err)
		}
		n := 0
		last := len(ids) < backfillBatch
		err = s.Update(ctx, func(tx Tx) error {
			n = 0
			for _, id := range ids {
				c, err := GetContact(tx, id)
				if isNotFound(err) {
					continue
				}
				if err != nil {
					return err
				}
				var m indexMark
				ok, err := tx.Get(BucketContactsByCustomer, keyContactByCustomer(c.CustomerID, c.ID), &m)
				if err != nil {
					return err
				}
				if !ok && c.CustomerID != "" {
					n++
					if err := IndexContact(tx, &c); err != nil {
						return err
					}
				}
			}
			if last {
				return tx.Put(BucketMeta, []byte(keyContactIndexDone), now)
			}
			return nil
		})
		if err != nil {
			return added, fmt.Errorf("bot: backfill contact index: %w", err)
		}
		added += n
		if last {
			return added, nil
		}
		start = append([]byte(ids[len(ids)-1]), 0)
	}
}

// CustomerContacts returns a customer's contacts on every channel, newest
// first, at most limit of them (limit <= 0: all). customerID must be
// resolved (ResolveCustomerID). It reads the contacts-by-customer index
// when it is complete and scans the ledger otherwise.
func CustomerContacts(ctx context.Context, s Store, customerID string, limit int) ([]Contact, error) {
	var out []Contact
	more := func() bool { return limit <= 0 || len(out) < limit }
	err := s.View(ctx, func(tx Tx) error {
		out = out[:0]
		ready, err := ContactIndexReady(tx)
		if err != nil {
			return err
		}
		if !ready {
			return tx.ScanReverse(BucketContacts, nil, func(_ []byte, decode func(any) error) (bool, error) {
				var c Contact
				if err := decode(&c); err != nil {
					return false, err
				}
				if c.CustomerID == customerID {
					out = append(out, c)
				}
				return more(), ctx.Err()
			})
		}
		prefix := keyContactByCustomerPrefix(customerID)
		return tx.ScanReverse(BucketContactsByCustomer, prefix, func(key []byte, _ func(any) error) (bool, error) {
			c, err := GetContact(tx, string(key[len(prefix):]))
			if isNotFound(err) {
				return true, nil
			}
			if err != nil {
				return false, err
			}
			// The index is exact; the check costs nothing and keeps a
			// damaged entry from showing someone else's contact.
			if c.CustomerID == customerID {
				out = append(out, c)
			}
			return more(), nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bot: customer contacts: %w", err)
	}
	return out, nil
}
