package bot

import (
	"context"
	"fmt"
)

// Typed accessors over Tx for the domain's records, so the rest of the
// package never spells a bucket or key by hand.

// GetCustomer loads a customer by id; ErrNotFound if missing.
func GetCustomer(tx Tx, id string) (Customer, error) {
	var c Customer
	ok, err := tx.Get(BucketCustomers, []byte(id), &c)
	if err != nil {
		return c, fmt.Errorf("bot: get customer: %w", err)
	}
	if !ok {
		return c, fmt.Errorf("bot: customer %s: %w", id, ErrNotFound)
	}
	return c, nil
}

// PutCustomer stores c and its identity index entries.
func PutCustomer(tx Tx, c *Customer) error {
	for _, id := range c.Identities {
		if err := tx.Put(BucketIdentities, []byte(id.Key()), c.ID); err != nil {
			return err
		}
	}
	return tx.Put(BucketCustomers, []byte(c.ID), c)
}

// CustomerByIdentity finds the customer who owns an identity.
func CustomerByIdentity(tx Tx, id Identity) (Customer, bool, error) {
	var cid string
	ok, err := tx.Get(BucketIdentities, []byte(id.Key()), &cid)
	if err != nil || !ok {
		return Customer{}, false, err
	}
	c, err := GetCustomer(tx, cid)
	if err != nil {
		return Customer{}, false, err
	}
	return c, true, nil
}

// GetConversation loads a conversation by id; ErrNotFound if missing.
func GetConversation(tx Tx, id string) (Conversation, error) {
	var c Conversation
	ok, err := tx.Get(BucketConversations, []byte(id), &c)
	if err != nil {
		return c, fmt.Errorf("bot: get conversation: %w", err)
	}
	if !ok {
		return c, fmt.Errorf("bot: conversation %s: %w", id, ErrNotFound)
	}
	return c, nil
}

// PutConversation stores c and its channel key index entry.
func PutConversation(tx Tx, c *Conversation) error {
	if err := tx.Put(BucketConvKeys, keyConvKey(c.Channel, c.UserID, c.Thread), c.ID); err != nil {
		return err
	}
	return tx.Put(BucketConversations, []byte(c.ID), c)
}

// ConversationByKey finds the conversation for a channel user and thread.
func ConversationByKey(tx Tx, ch Channel, userID, thread string) (Conversation, bool, error) {
	var id string
	ok, err := tx.Get(BucketConvKeys, keyConvKey(ch, userID, thread), &id)
	if err != nil || !ok {
		return Conversation{}, false, err
	}
	c, err := GetConversation(tx, id)
	if err != nil {
		return Conversation{}, false, err
	}
	return c, true, nil
}

// AppendMessage numbers m as the conversation's next message and stores it.
// The caller must store conv afterwards (LastSeq changed).
func AppendMessage(tx Tx, conv *Conversation, m *Message) error {
	numberMessage(conv, m)
	return putMessage(tx, m)
}

// numberMessage makes m the conversation's next message, in memory.
func numberMessage(conv *Conversation, m *Message) {
	conv.LastSeq++
	m.Seq = conv.LastSeq
	m.ConversationID = conv.ID
}

// putMessage stores a message numbered by numberMessage.
func putMessage(tx Tx, m *Message) error {
	if err := tx.Put(BucketMessages, keyMessage(m.ConversationID, m.Seq), m); err != nil {
		return err
	}
	if m.ClientID != "" {
		if err := tx.Put(BucketClientIDs, keyClientID(m.ConversationID, m.ClientID), m.Seq); err != nil {
			return err
		}
	}
	return nil
}

// MessageByClientID finds a customer message by its idempotency key.
func MessageByClientID(tx Tx, convID, clientID string) (Message, bool, error) {
	var seq uint64
	ok, err := tx.Get(BucketClientIDs, keyClientID(convID, clientID), &seq)
	if err != nil || !ok {
		return Message{}, false, err
	}
	var m Message
	ok, err = tx.Get(BucketMessages, keyMessage(convID, seq), &m)
	return m, ok, err
}

// ListMessages returns up to limit messages of a conversation with Seq >
// after, oldest first. limit <= 0 means all.
func ListMessages(tx Tx, convID string, after uint64, limit int) ([]Message, error) {
	var out []Message
	err := tx.Scan(BucketMessages, keyMessagePrefix(convID), keyMessage(convID, after+1),
		func(_ []byte, decode func(any) error) (bool, error) {
			var m Message
			if err := decode(&m); err != nil {
				return false, err
			}
			out = append(out, m)
			return limit <= 0 || len(out) < limit, nil
		})
	return out, err
}

// LastMessages returns the newest n messages of a conversation, oldest first.
func LastMessages(tx Tx, convID string, n int) ([]Message, error) {
	var out []Message
	err := tx.ScanReverse(BucketMessages, keyMessagePrefix(convID),
		func(_ []byte, decode func(any) error) (bool, error) {
			var m Message
			if err := decode(&m); err != nil {
				return false, err
			}
			out = append(out, m)
			return len(out) < n, nil
		})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// GetContact loads a contact by id; ErrNotFound if missing.
func GetContact(tx Tx, id string) (Contact, error) {
	var c Contact
	ok, err := tx.Get(BucketContacts, []byte(id), &c)
	if err != nil {
		return c, fmt.Errorf("bot: get contact: %w", err)
	}
	if !ok {
		return c, fmt.Errorf("bot: contact %s: %w", id, ErrNotFound)
	}
	return c, nil
}

// PutContact stores a contact.
func PutContact(tx Tx, c *Contact) error {
	return putContactIndexed(tx, c)
}

// AppendTransition stores a handoff state change of a conversation.
func AppendTransition(tx Tx, t Transition) error {
	seq, err := tx.NextSequence(BucketTransitions)
	if err != nil {
		return err
	}
	return tx.Put(BucketTransitions, keyTransition(t.ConversationID, seq), t)
}

// ListTransitions returns a conversation's handoff transitions, oldest first.
func ListTransitions(tx Tx, convID string) ([]Transition, error) {
	var out []Transition
	err := tx.Scan(BucketTransitions, keyMessagePrefix(convID), nil,
		func(_ []byte, decode func(any) error) (bool, error) {
			var t Transition
			if err := decode(&t); err != nil {
				return false, err
			}
			out = append(out, t)
			return true, nil
		})
	return out, err
}

// Contacts calls fn for each stored contact, oldest first.
func Contacts(ctx context.Context, s Store, fn func(Contact) bool) error {
	return s.View(ctx, func(tx Tx) error {
		return tx.Scan(BucketContacts, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
			var c Contact
			if err := decode(&c); err != nil {
				return false, err
			}
			return fn(c), nil
		})
	})
}

// lastCustomerText returns the text of the conversation's newest customer
// message, looking back over at most a few messages.
func lastCustomerText(tx Tx, convID string) (string, error) {
	var text string
	seen := 0
	err := tx.ScanReverse(BucketMessages, keyMessagePrefix(convID), func(_ []byte, decode func(any) error) (bool, error) {
		var m Message
		if err := decode(&m); err != nil {
			return false, err
		}
		if m.Role == RoleCustomer {
			text = m.Text
			return false, nil
		}
		seen++
		return seen < 8, nil
	})
	return text, err
}

// collect decodes every record of bucket that keep accepts. Callers that
// change what they collected write after it returns: a bucket must not be
// written while a scan walks it.
func collect[T any](tx Tx, bucket string, keep func(*T) bool) ([]T, error) {
	var out []T
	err := tx.Scan(bucket, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
		var v T
		if err := decode(&v); err != nil {
			return false, err
		}
		if keep(&v) {
			out = append(out, v)
		}
		return true, nil
	})
	return out, err
}

// conversationsOf returns a customer's conversations.
func conversationsOf(tx Tx, customerID string) ([]Conversation, error) {
	return collect(tx, BucketConversations, func(c *Conversation) bool { return c.CustomerID == customerID })
}

// contactsOf returns a customer's contacts, scanning the ledger: it works
// whether or not the contacts-by-customer index is complete.
func contactsOf(tx Tx, customerID string) ([]Contact, error) {
	return collect(tx, BucketContacts, func(c *Contact) bool { return c.CustomerID == customerID })
}
