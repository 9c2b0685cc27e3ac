package bot

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// linkMu serialises merges: a merge locks every conversation of both
// customers, and taking several keyed locks is only deadlock-free when one
// taker at a time does it.
var linkMu sync.Mutex

func keyEmail(email string) []byte {
	return []byte("email/" + strings.ToLower(strings.TrimSpace(email)))
}
func keyMerged(id string) []byte { return []byte("merged/" + id) }

// ResolveCustomerID follows merges: the id a customer now lives under (id
// itself when it was never merged away).
func ResolveCustomerID(tx Tx, id string) (string, error) {
	for range 16 {
		var next string
		ok, err := tx.Get(BucketJourney, keyMerged(id), &next)
		if err != nil || !ok {
			return id, err
		}
		id = next
	}
	return id, nil
}

// MergeCustomers combines two customer records into one; a (the survivor)
// keeps its id. What wins:
//   - identities: all of both;
//   - profile: a verified profile over an unverified one, otherwise a's;
//     blank fields are filled from the other;
//   - stage: the one further along the journey (JourneyRules.MergedStage),
//     with a stage change recorded when a's stage changes;
//   - stage history: both, in time order;
//   - times: the earliest creation, the latest contact and purchase.
func MergeCustomers(r JourneyRules, a, b Customer, now time.Time) Customer {
	for _, id := range b.Identities {
		if !slices.Contains(a.Identities, id) {
			a.Identities = append(a.Identities, id)
		}
	}
	keep, other := a.Profile, b.Profile
	if b.Profile.Verified && !a.Profile.Verified {
		keep, other = b.Profile, a.Profile
	}
	fill := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	fill(&keep.ExternalID, other.ExternalID)
	fill(&keep.Email, other.Email)
	fill(&keep.Name, other.Name)
	a.Profile = keep
	a.StageHistory = append(a.StageHistory, b.StageHistory...)
	sort.SliceStable(a.StageHistory, func(i, j int) bool { return a.StageHistory[i].At.Before(a.StageHistory[j].At) })
	if b.CreatedAt.Before(a.CreatedAt) {
		a.CreatedAt = b.CreatedAt
	}
	if b.LastContactAt.After(a.LastContactAt) {
		a.LastContactAt = b.LastContactAt
	}
	if b.LastPurchaseAt.After(a.LastPurchaseAt) {
		a.LastPurchaseAt = b.LastPurchaseAt
	}
	if st := r.MergedStage(a.Stage, b.Stage); st != a.Stage {
		a.MoveTo(st, now, "linked with "+b.ID, b.ID)
	}
	a.UpdatedAt = now
	return a
}

// Link makes two customer records one person, so their journeys become one
// timeline: identities, conversations, contacts and stage history move to
// the older record (the survivor), whose id is returned with the merged
// customer. The other id keeps resolving to the survivor
// (ResolveCustomerID). Agents call it for customers they know are the
// same; LinkVerified calls it for matching verified emails.
func (e *Engine) Link(ctx context.Context, aID, bID, reason string) (Customer, error) {
	linkMu.Lock()
	defer linkMu.Unlock()
	var keys []string
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		if aID, err = ResolveCustomerID(tx, aID); err != nil {
			return err
		}
		if bID, err = ResolveCustomerID(tx, bID); err != nil {
			return err
		}
		return tx.Scan(BucketConversations, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
			var c Conversation
			if err := decode(&c); err != nil {
				return false, err
			}
			if c.CustomerID == aID || c.CustomerID == bID {
				keys = append(keys, string(keyConvKey(c.Channel, c.UserID, c.Thread)))
			}
			return true, nil
		})
	})
	if err != nil {
		return Customer{}, fmt.Errorf("bot: link: %w", err)
	}
	if aID == bID {
		return Customer{}, Errorf(ECodeInvalid, "These are already the same customer.")
	}
	// No message of either customer may be half handled while they merge.
	sort.Strings(keys)
	for _, k := range slices.Compact(keys) {
		unlock := e.locks.lock(k)
		defer unlock()
	}
	now := e.cfg.Now()
	rules := e.journey()
	var merged Customer
	err = e.store.Update(ctx, func(tx Tx) error {
		a, err := GetCustomer(tx, aID)
		if err != nil {
			return notFoundCustomer(err)
		}
		b, err := GetCustomer(tx, bID)
		if err != nil {
			return notFoundCustomer(err)
		}
		if b.CreatedAt.Before(a.CreatedAt) || (b.CreatedAt.Equal(a.CreatedAt) && b.ID < a.ID) {
			a, b = b, a
		}
		merged = MergeCustomers(rules, a, b, now)
		if reason != "" && len(merged.StageHistory) > 0 {
			last := &merged.StageHistory[len(merged.StageHistory)-1]
			if last.Evidence == b.ID && last.At.Equal(now) {
				last.Reason += " (" + reason + ")"
			}
		}
		convs, err := conversationsOf(tx, b.ID)
		if err != nil {
			return err
		}
		for i := range convs {
			convs[i].CustomerID = a.ID
			if err := tx.Put(BucketConversations, []byte(convs[i].ID), &convs[i]); err != nil {
				return err
			}
		}
		contacts, err := contactsOf(tx, b.ID)
		if err != nil {
			return err
		}
		for i := range contacts {
			contacts[i].CustomerID = a.ID
			if err := tx.Put(BucketContacts, []byte(contacts[i].ID), &contacts[i]); err != nil {
				return err
			}
			if err := moveContactIndex(tx, contacts[i].ID, b.ID, a.ID); err != nil {
				return err
			}
		}
		for _, k := range []SurveyKind{SurveyNPS, SurveyReview} {
			ta, err := surveyLast(tx, k, a.ID)
			if err != nil {
				return err
			}
			tb, err := surveyLast(tx, k, b.ID)
			if err != nil {
				return err
			}
			if tb.After(ta) {
				if err := tx.Put(BucketSurveys, keySurveyLast(k, a.ID), tb); err != nil {
					return err
				}
			}
			if err := tx.Delete(BucketSurveys, keySurveyLast(k, b.ID)); err != nil {
				return err
			}
		}
		for _, p := range []Profile{a.Profile, b.Profile} {
			if p.Verified && p.Email != "" {
				if err := tx.Put(BucketJourney, keyEmail(p.Email), a.ID); err != nil {
					return err
				}
			}
		}
		if err := tx.Put(BucketJourney, keyMerged(b.ID), a.ID); err != nil {
			return err
		}
		if err := tx.Delete(BucketCustomers, []byte(b.ID)); err != nil {
			return err
		}
		return PutCustomer(tx, &merged)
	})
	if err != nil {
		return Customer{}, fmt.Errorf("bot: link: %w", err)
	}
	e.log.Info("customers linked", "customer", merged.ID, "merged", bID, "reason", reason)
	return merged, nil
}

func notFoundCustomer(err error) error {
	if isNotFound(err) {
		return &Error{Code: ECodeNotFound, Message: "No such customer.", Err: err}
	}
	return err
}

// LinkVerified links a customer whose profile carries a verified email (a
// signed identity token on the web, a workspace profile on Slack) with the
// customer already known by that email, if any, and remembers the email
// otherwise. Typed, unverified emails never link: anyone can type one. It
// returns the customer (merged or not) and whether a merge happened.
func (e *Engine) LinkVerified(ctx context.Context, customerID string) (Customer, bool, error) {
	var cust Customer
	var other string
	// Most messages come from customers without a verified email, or
	// already indexed: a read settles those without a write.
	settled := false
	err := e.store.View(ctx, func(tx Tx) error {
		id, err := ResolveCustomerID(tx, customerID)
		if err != nil {
			return err
		}
		if cust, err = GetCustomer(tx, id); err != nil {
			return notFoundCustomer(err)
		}
		if !cust.Profile.Verified || cust.Profile.Email == "" {
			settled = true
			return nil
		}
		var owner string
		ok, err := tx.Get(BucketJourney, keyEmail(cust.Profile.Email), &owner)
		settled = ok && owner == cust.ID
		return err
	})
	if err != nil || settled {
		return cust, false, err
	}
	err = e.store.Update(ctx, func(tx Tx) error {
		other = ""
		id, err := ResolveCustomerID(tx, customerID)
		if err != nil {
			return err
		}
		if cust, err = GetCustomer(tx, id); err != nil {
			return notFoundCustomer(err)
		}
		if !cust.Profile.Verified || cust.Profile.Email == "" {
			return nil
		}
		var owner string
		ok, err := tx.Get(BucketJourney, keyEmail(cust.Profile.Email), &owner)
		if err != nil {
			return err
		}
		if ok {
			if owner, err = ResolveCustomerID(tx, owner); err != nil {
				return err
			}
			if owner != cust.ID {
				if _, err := GetCustomer(tx, owner); err == nil {
					other = owner
					return nil
				}
			} else {
				return nil
			}
		}
		return tx.Put(BucketJourney, keyEmail(cust.Profile.Email), cust.ID)
	})
	if err != nil || other == "" {
		return cust, false, err
	}
	merged, err := e.Link(ctx, other, cust.ID, "same verified email")
	if err != nil {
		return cust, false, err
	}
	return merged, true, nil
}

// CustomerRecord is a customer with everything the journey knows about
// them: for `frontdesk customers show` and the console.
type CustomerRecord struct {
	Customer Customer  `json:"customer"`
	Contacts []Contact `json:"contacts"`
	// MergedFrom is set when the id asked for was merged into Customer.
	MergedFrom string `json:"merged_from,omitempty"`
	// ForgottenAt is when the customer's personal data was erased.
	ForgottenAt time.Time `json:"forgotten_at,omitzero"`
}

// CustomerByID returns a customer (following merges) with their contacts,
// oldest first.
func (e *Engine) CustomerByID(ctx context.Context, id string) (CustomerRecord, error) {
	var rec CustomerRecord
	err := e.store.View(ctx, func(tx Tx) error {
		rid, err := ResolveCustomerID(tx, id)
		if err != nil {
			return err
		}
		if rid != id {
			rec.MergedFrom = id
		}
		if rec.Customer, err = GetCustomer(tx, rid); err != nil {
			return notFoundCustomer(err)
		}
		if _, err := tx.Get(BucketJourney, keyForgotten(rid), &rec.ForgottenAt); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return rec, err
	}
	rec.Contacts, err = CustomerContacts(ctx, e.store, rec.Customer.ID, 0)
	slices.Reverse(rec.Contacts)
	return rec, err
}
