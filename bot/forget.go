package bot

import (
	"context"
	"fmt"
)

// RedactedText replaces the text of every message of a forgotten customer.
const RedactedText = "[redacted]"

// ForgottenUser replaces a forgotten customer's channel user ids on their
// conversations.
const ForgottenUser = "forgotten"

func keyForgotten(id string) []byte { return []byte("forgotten/" + id) }

// ForgetResult counts what Forget erased.
type ForgetResult struct {
	CustomerID    string `json:"customer_id"`
	Identities    int    `json:"identities"`
	Conversations int    `json:"conversations"`
	Messages      int    `json:"messages"`
	Contacts      int    `json:"contacts"`
}

// Forget erases a customer's personal data: profile (name, email, shop
// user id), identities and their index, the channel user ids and delivery
// addresses of their conversations, the text and extras of every message in
// them (replaced by RedactedText), the order numbers on their contacts and
// the evidence of their stage changes. What is kept is anonymous: the
// customer id with stage and stage history (times and reasons), the
// contacts' channel, times, stages, intents, outcomes, escalation triggers
// and ratings, so reports keep counting them. A channel user who writes
// again afterwards is a new customer.
func (e *Engine) Forget(ctx context.Context, customerID string) (ForgetResult, error) {
	linkMu.Lock() // no merge may move records under us
	defer linkMu.Unlock()
	now := e.cfg.Now()
	var res ForgetResult
	err := e.store.Update(ctx, func(tx Tx) error {
		res = ForgetResult{}
		id, err := ResolveCustomerID(tx, customerID)
		if err != nil {
			return err
		}
		cust, err := GetCustomer(tx, id)
		if err != nil {
			return notFoundCustomer(err)
		}
		res.CustomerID = cust.ID
		for _, ident := range cust.Identities {
			var owner string
			ok, err := tx.Get(BucketIdentities, []byte(ident.Key()), &owner)
			if err != nil {
				return err
			}
			if ok && owner == cust.ID {
				if err := tx.Delete(BucketIdentities, []byte(ident.Key())); err != nil {
					return err
				}
			}
			res.Identities++
		}
		// Every verified email that leads to this customer, not just the
		// current profile's: a link may have brought others.
		var emails [][]byte
		if err := tx.Scan(BucketJourney, []byte("email/"), nil, func(key []byte, decode func(any) error) (bool, error) {
			var owner string
			if err := decode(&owner); err != nil {
				return false, err
			}
			if owner == cust.ID {
				emails = append(emails, key)
			}
			return true, nil
		}); err != nil {
			return err
		}
		for _, k := range emails {
			if err := tx.Delete(BucketJourney, k); err != nil {
				return err
			}
		}
		cust.Identities, cust.Profile = []Identity{}, Profile{}
		for i := range cust.StageHistory {
			cust.StageHistory[i].Evidence = ""
		}
		cust.UpdatedAt = now
		if err := tx.Put(BucketCustomers, []byte(cust.ID), &cust); err != nil {
			return err
		}
		if err := tx.Put(BucketJourney, keyForgotten(cust.ID), now); err != nil {
			return err
		}

		convs, err := conversationsOf(tx, cust.ID)
		if err != nil {
			return err
		}
		for _, c := range convs {
			n, err := forgetConversation(tx, c)
			if err != nil {
				return err
			}
			res.Conversations++
			res.Messages += n
		}
		contacts, err := contactsOf(tx, cust.ID)
		if err != nil {
			return err
		}
		res.Contacts = len(contacts)
		for i := range contacts {
			if contacts[i].OrderNumber == "" {
				continue
			}
			contacts[i].OrderNumber = ""
			if err := PutContact(tx, &contacts[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("bot: forget: %w", err)
	}
	e.log.Info("customer forgotten", "customer", res.CustomerID, "conversations", res.Conversations, "messages", res.Messages)
	return res, nil
}

// forgetConversation redacts one conversation and its messages and
// returns how many messages it redacted.
func forgetConversation(tx Tx, c Conversation) (int, error) {
	if err := tx.Delete(BucketConvKeys, keyConvKey(c.Channel, c.UserID, c.Thread)); err != nil {
		return 0, err
	}
	if err := tx.Delete(BucketSurveys, keySurveyPending(c.ID)); err != nil {
		return 0, err
	}
	msgs, err := ListMessages(tx, c.ID, 0, 0)
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		if m.ClientID != "" {
			if err := tx.Delete(BucketClientIDs, keyClientID(c.ID, m.ClientID)); err != nil {
				return 0, err
			}
		}
		m.Text, m.ClientID, m.Data = RedactedText, "", nil
		if err := tx.Put(BucketMessages, keyMessage(c.ID, m.Seq), &m); err != nil {
			return 0, err
		}
	}
	c.UserID, c.Thread, c.Address, c.Flow = ForgottenUser, "", nil, nil
	return len(msgs), tx.Put(BucketConversations, []byte(c.ID), &c)
}
