package bot

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Tx.Get callers' helpers when a record does not
// exist. Stores return (false, nil) from Get instead; the domain turns that
// into ErrNotFound where absence is an error.
var ErrNotFound = errors.New("not found")

// Buckets the domain keeps its records in. A Store creates each on first use.
const (
	BucketCustomers     = "customers"     // customer id -> Customer
	BucketIdentities    = "identities"    // channel/identity -> customer id
	BucketConversations = "conversations" // conversation id -> Conversation
	BucketConvKeys      = "conv_keys"     // channel/key -> conversation id
	BucketMessages      = "messages"      // conversation id/seq(8 bytes BE) -> Message
	BucketClientIDs     = "client_ids"    // conversation id/client id -> seq key
	BucketContacts      = "contacts"      // contact id -> Contact (ids sort by time)
	BucketTransitions   = "transitions"   // conversation id/seq -> Transition
	BucketMeta          = "meta"          // misc counters and settings
	BucketHandoffs      = "handoffs"      // conversation id -> state while waiting or with an agent
)

// Tx is one storage transaction. Values are encoded by the store (JSON);
// what Get decodes is a copy, safe to keep after the transaction ends.
// Keys within a bucket sort bytewise, so Scan with a prefix walks them in
// order: callers build keys that sort the way they need (ids that start
// with a timestamp, big-endian sequence numbers).
type Tx interface {
	// Get decodes the value at key into v and reports whether it existed.
	Get(bucket string, key []byte, v any) (bool, error)
	// Put encodes v and stores it at key. Only in a writable transaction.
	Put(bucket string, key []byte, v any) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(bucket string, key []byte) error
	// Scan calls fn for each key with the prefix in key order, from the
	// first key >= start (start may be nil), until fn returns false or an
	// error. decode fills v from the current value.
	Scan(bucket string, prefix, start []byte, fn func(key []byte, decode func(v any) error) (bool, error)) error
	// ScanReverse is Scan from the last key with the prefix backwards.
	ScanReverse(bucket string, prefix []byte, fn func(key []byte, decode func(v any) error) (bool, error)) error
	// NextSequence returns a new, increasing integer for the bucket.
	NextSequence(bucket string) (uint64, error)
}

// Store is the durable record of customers, conversations and contacts.
//
// Update runs fn in a writable transaction that is durably committed (fsync)
// before Update returns nil. Concurrent Updates may be committed together in
// one disk write (group commit), so fn may run more than once and must have
// no effects outside the transaction. View runs fn in a read-only one.
type Store interface {
	View(ctx context.Context, fn func(Tx) error) error
	Update(ctx context.Context, fn func(Tx) error) error
}
