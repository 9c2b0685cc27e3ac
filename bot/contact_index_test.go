package bot_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// contactIDs lists ids in order.
func contactIDs(cs []bot.Contact) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// mustContactsOf returns the ids of a customer's contacts, newest first,
// straight from the ledger.
func mustContactsOf(t *testing.T, h *dbHarness, customerID string) []string {
	t.Helper()
	cs, err := bot.ListContacts(context.Background(), h.db, bot.ContactFilter{CustomerID: customerID})
	if err != nil {
		t.Fatal(err)
	}
	ids := contactIDs(cs)
	slices.Reverse(ids)
	return ids
}

// mustIndexed returns the contact ids filed under a customer in the index.
func mustIndexed(t *testing.T, h *dbHarness, customerID string) []string {
	t.Helper()
	var ids []string
	err := h.db.View(context.Background(), func(tx bot.Tx) error {
		p := []byte(customerID + "/")
		return tx.Scan(bot.BucketContactsByCustomer, p, nil, func(k []byte, _ func(any) error) (bool, error) {
			ids = append(ids, string(k[len(p):]))
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// seedContacts gives customers v:1 and v:2 three and two contacts, each
// after an idle gap, and returns their customer ids.
func seedContacts(t *testing.T, h *dbHarness) (string, string) {
	t.Helper()
	var a, b string
	for i := range 3 {
		a = h.MustSay(t, "v:1", "who are you").CustomerID
		if i < 2 {
			b = h.MustSay(t, "v:2", "how long is shipping?").CustomerID
		}
		h.clock.Add(time.Hour)
	}
	return a, b
}

// dropIndex empties the index, as in a database written before it existed.
func dropIndex(t *testing.T, h *dbHarness) {
	t.Helper()
	err := h.db.Update(context.Background(), func(tx bot.Tx) error {
		var keys []string
		if err := tx.Scan(bot.BucketContactsByCustomer, nil, nil, func(k []byte, _ func(any) error) (bool, error) {
			keys = append(keys, string(k))
			return true, nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(bot.BucketContactsByCustomer, []byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCustomerContacts(t *testing.T) {
	ctx := context.Background()
	t.Run("before the backfill finishes the ledger is scanned", func(t *testing.T) {
		h := newDBHarness(t)
		a, b := seedContacts(t, h)
		for _, id := range []string{a, b} {
			got, err := bot.CustomerContacts(ctx, h.db, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustContactsOf(t, h, id); !slices.Equal(contactIDs(got), want) {
				t.Fatalf("contacts of %s = %v, want %v (newest first)", id, contactIDs(got), want)
			}
		}
	})
	t.Run("after the backfill the index is read", func(t *testing.T) {
		h := newDBHarness(t)
		a, b := seedContacts(t, h)
		dropIndex(t, h)
		n, err := bot.BackfillContactIndex(ctx, h.db, h.clock.Now())
		if err != nil || n != 5 {
			t.Fatalf("backfill added %d, %v; want 5", n, err)
		}
		wantA := mustContactsOf(t, h, a)
		got, err := bot.CustomerContacts(ctx, h.db, a, 2)
		if err != nil || !slices.Equal(contactIDs(got), wantA[:2]) {
			t.Fatalf("newest two of %s = %v, %v; want %v", a, contactIDs(got), err, wantA[:2])
		}
		// Proof that the index, not the ledger, answered: an entry removed
		// is a contact missing, and an entry filed under the wrong
		// customer is checked and left out.
		err = h.db.Update(ctx, func(tx bot.Tx) error {
			if err := tx.Delete(bot.BucketContactsByCustomer, []byte(a+"/"+wantA[0])); err != nil {
				return err
			}
			return tx.Put(bot.BucketContactsByCustomer, []byte(a+"/"+mustContactsOf(t, h, b)[0]), struct{}{})
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err = bot.CustomerContacts(ctx, h.db, a, 0)
		if err != nil || !slices.Equal(contactIDs(got), wantA[1:]) {
			t.Fatalf("contacts of %s through a damaged index = %v, %v; want %v", a, contactIDs(got), err, wantA[1:])
		}
	})
	t.Run("the backfill is idempotent", func(t *testing.T) {
		h := newDBHarness(t)
		seedContacts(t, h)
		dropIndex(t, h)
		for i, want := range []int{5, 0} {
			if n, err := bot.BackfillContactIndex(ctx, h.db, h.clock.Now()); err != nil || n != want {
				t.Fatalf("run %d added %d, %v; want %d", i+1, n, err, want)
			}
		}
	})
	t.Run("the backfill covers more than one batch", func(t *testing.T) {
		h := newDBHarness(t)
		const n = 1201 // over two batches of 500
		err := h.db.Update(ctx, func(tx bot.Tx) error {
			for i := range n {
				c := bot.Contact{ID: bot.NewID(h.clock.Now().Add(time.Duration(i) * time.Millisecond)), CustomerID: fmt.Sprintf("c%d", i%3)}
				// Stored as before the index existed.
				if err := tx.Put(bot.BucketContacts, []byte(c.ID), &c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if added, err := bot.BackfillContactIndex(ctx, h.db, h.clock.Now()); err != nil || added != n {
			t.Fatalf("backfill added %d, %v; want %d", added, err, n)
		}
		got, err := bot.CustomerContacts(ctx, h.db, "c1", 0)
		if err != nil || len(got) != 400 {
			t.Fatalf("contacts of c1: %d, %v; want 400", len(got), err)
		}
	})
	t.Run("a link files the contacts under the survivor", func(t *testing.T) {
		h := newDBHarness(t)
		a, b := seedContacts(t, h)
		if _, err := bot.BackfillContactIndex(ctx, h.db, h.clock.Now()); err != nil {
			t.Fatal(err)
		}
		merged, err := h.engine.Link(ctx, a, b, "test")
		if err != nil {
			t.Fatal(err)
		}
		if merged.ID == b { // created in the same millisecond: the lower id survives
			a, b = b, a
		}
		want := mustContactsOf(t, h, a)
		if len(want) != 5 {
			t.Fatalf("ledger: survivor has %d contacts, want 5", len(want))
		}
		got, err := bot.CustomerContacts(ctx, h.db, a, 0)
		if err != nil || !slices.Equal(contactIDs(got), want) {
			t.Fatalf("survivor's contacts = %v, %v; want %v", contactIDs(got), err, want)
		}
		if left := mustIndexed(t, h, b); len(left) != 0 {
			t.Fatalf("entries left under the merged customer: %v", left)
		}
		rec, err := h.engine.CustomerByID(ctx, b)
		if err != nil || len(rec.Contacts) != 5 || rec.Contacts[0].ID != want[4] {
			t.Fatalf("record by the merged id: %d contacts, %v; want 5, oldest first", len(rec.Contacts), err)
		}
	})
	t.Run("putContactIndexed stores the contact and its entry", func(t *testing.T) {
		h := newDBHarness(t)
		c := bot.Contact{ID: bot.NewID(h.clock.Now()), CustomerID: "c1"}
		for range 2 { // a contact is stored at every message
			if err := h.db.Update(ctx, func(tx bot.Tx) error { return bot.PutContactIndexed(tx, &c) }); err != nil {
				t.Fatal(err)
			}
		}
		if got := mustIndexed(t, h, "c1"); !slices.Equal(got, []string{c.ID}) {
			t.Fatalf("index = %v, want [%s]", got, c.ID)
		}
		if got := mustContactsOf(t, h, "c1"); !slices.Equal(got, []string{c.ID}) {
			t.Fatalf("ledger = %v", got)
		}
	})
}

// The index must hold every contact even while customers write, agents link
// and the backfill runs, all at once.
func TestPutContact_IndexIsCompleteUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	h := newDBHarness(t)
	seedContacts(t, h)
	say := func(user string) string {
		rc, err := h.engine.Handle(ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: user, Text: "who are you"})
		if err != nil {
			t.Error(err)
		}
		return rc.CustomerID
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 5 {
				say(fmt.Sprintf("v:w%d-%d", i, j%2))
			}
		})
	}
	wg.Go(func() {
		if _, err := bot.BackfillContactIndex(ctx, h.db, h.clock.Now()); err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() {
		a, b := say("v:x"), say("v:y")
		if _, err := h.engine.Link(ctx, a, b, "test"); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	all, err := bot.ListContacts(ctx, h.db, bot.ContactFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byCustomer := map[string][]string{}
	for _, c := range all {
		byCustomer[c.CustomerID] = append(byCustomer[c.CustomerID], c.ID)
	}
	for cust, want := range byCustomer {
		if got := mustIndexed(t, h, cust); !slices.Equal(got, want) {
			t.Errorf("index of %s = %v, want %v", cust, got, want)
		}
	}
}
