// Package bottest has hand-written fakes of the bot package's interfaces
// for fast unit tests: an in-memory Store, a scripted Classifier and a
// recording Sender. Storage behaviour itself is tested against real bbolt
// in package store.
package bottest

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// MemStore is an in-memory bot.Store. Updates are serialised and atomic:
// a failing fn leaves nothing behind.
type MemStore struct {
	mu      sync.RWMutex
	buckets map[string]map[string][]byte
	seqs    map[string]uint64
	// Updates counts committed writable transactions.
	Updates int
}

var _ bot.Store = (*MemStore)(nil)

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{buckets: map[string]map[string][]byte{}, seqs: map[string]uint64{}}
}

// View runs fn read-only.
func (s *MemStore) View(ctx context.Context, fn func(bot.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(&memTx{s: s})
}

// Update runs fn and commits its writes only if it returns nil.
func (s *MemStore) Update(ctx context.Context, fn func(bot.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{s: s, writes: map[string]map[string][]byte{}, seqs: map[string]uint64{}, writable: true}
	if err := fn(tx); err != nil {
		return err
	}
	for b, kv := range tx.writes {
		if s.buckets[b] == nil {
			s.buckets[b] = map[string][]byte{}
		}
		for k, v := range kv {
			if v == nil {
				delete(s.buckets[b], k)
			} else {
				s.buckets[b][k] = v
			}
		}
	}
	for b, n := range tx.seqs {
		s.seqs[b] = n
	}
	s.Updates++
	return nil
}

type memTx struct {
	s        *MemStore
	writes   map[string]map[string][]byte // nil value = deleted
	seqs     map[string]uint64
	writable bool
}

func (t *memTx) lookup(bucket, key string) ([]byte, bool) {
	if kv, ok := t.writes[bucket]; ok {
		if v, ok := kv[key]; ok {
			return v, v != nil
		}
	}
	v, ok := t.s.buckets[bucket][key]
	return v, ok
}

func (t *memTx) Get(bucket string, key []byte, v any) (bool, error) {
	raw, ok := t.lookup(bucket, string(key))
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

func (t *memTx) Put(bucket string, key []byte, v any) error {
	if !t.writable {
		return errReadOnly
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if t.writes[bucket] == nil {
		t.writes[bucket] = map[string][]byte{}
	}
	t.writes[bucket][string(key)] = raw
	return nil
}

func (t *memTx) Delete(bucket string, key []byte) error {
	if !t.writable {
		return errReadOnly
	}
	if t.writes[bucket] == nil {
		t.writes[bucket] = map[string][]byte{}
	}
	t.writes[bucket][string(key)] = nil
	return nil
}

func (t *memTx) keys(bucket string, prefix []byte) []string {
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] && strings.HasPrefix(k, string(prefix)) {
			if _, ok := t.lookup(bucket, k); ok {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	for k := range t.s.buckets[bucket] {
		add(k)
	}
	for k := range t.writes[bucket] {
		add(k)
	}
	sort.Strings(keys)
	return keys
}

func (t *memTx) visit(bucket string, k string, fn func([]byte, func(any) error) (bool, error)) (bool, error) {
	raw, _ := t.lookup(bucket, k)
	return fn([]byte(k), func(v any) error { return json.Unmarshal(raw, v) })
}

func (t *memTx) Scan(bucket string, prefix, start []byte, fn func([]byte, func(any) error) (bool, error)) error {
	for _, k := range t.keys(bucket, prefix) {
		if start != nil && bytes.Compare([]byte(k), start) < 0 {
			continue
		}
		more, err := t.visit(bucket, k, fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (t *memTx) ScanReverse(bucket string, prefix []byte, fn func([]byte, func(any) error) (bool, error)) error {
	keys := t.keys(bucket, prefix)
	for i := len(keys) - 1; i >= 0; i-- {
		more, err := t.visit(bucket, keys[i], fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (t *memTx) NextSequence(bucket string) (uint64, error) {
	if !t.writable {
		return 0, errReadOnly
	}
	n, ok := t.seqs[bucket]
	if !ok {
		n = t.s.seqs[bucket]
	}
	n++
	t.seqs[bucket] = n
	return n, nil
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errReadOnly = constErr("bottest: write in a read-only transaction")

// Classifier answers from a script: exact text to prediction. Unscripted
// text is Unknown.
type Classifier struct {
	Script map[string]bot.Prediction
}

var _ bot.Classifier = (*Classifier)(nil)

// Classify returns the scripted prediction for text.
func (c *Classifier) Classify(_ context.Context, text string) (bot.Prediction, error) {
	if p, ok := c.Script[text]; ok {
		return p, nil
	}
	return bot.Prediction{Verdict: bot.Unknown, Language: "en"}, nil
}

// Sender records what it was asked to deliver.
type Sender struct {
	mu   sync.Mutex
	Sent []Sent
	// Err, if set, is returned by Send.
	Err error
}

// Sent is one delivery.
type Sent struct {
	Conversation bot.Conversation
	Message      bot.Message
}

var _ bot.Sender = (*Sender)(nil)

// Send records the delivery.
func (s *Sender) Send(_ context.Context, conv bot.Conversation, msg bot.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Sent = append(s.Sent, Sent{conv, msg})
	return s.Err
}

// Texts returns the texts sent so far, in order.
func (s *Sender) Texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.Sent))
	for i, m := range s.Sent {
		out[i] = m.Message.Text
	}
	return out
}

// Last returns the last delivery; ok is false when nothing was sent.
func (s *Sender) Last() (Sent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.Sent) == 0 {
		return Sent{}, false
	}
	return s.Sent[len(s.Sent)-1], true
}

// Reset forgets what was sent.
func (s *Sender) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Sent = nil
}
