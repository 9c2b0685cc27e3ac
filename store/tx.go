package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// ctxCheckEvery is how many keys a scan visits between ctx checks: often
// enough to stop a long scan promptly, rarely enough to cost nothing.
const ctxCheckEvery = 256

// errDecodeLate is returned by a Scan decode func called after the scan
// moved past its key: the bytes it would read belong to bbolt's mmap.
var errDecodeLate = errors.New("store: scan decode called after fn returned")

// tx implements bot.Tx over a bbolt transaction. It is not safe for
// concurrent use, like the bbolt transaction under it.
type tx struct {
	ctx  context.Context
	btx  *bolt.Tx
	done bool // set when fn returns; later calls fail instead of crashing
}

var _ bot.Tx = (*tx)(nil)

func (t *tx) check(op, bucket string) error {
	if t.done {
		return fmt.Errorf("store: %s %s: transaction used after it ended: %w", op, bucket, berrors.ErrTxClosed)
	}
	return nil
}

// writable returns the bucket for a write, creating it if needed so new
// features can add buckets without touching this package.
func (t *tx) writable(op, bucket string) (*bolt.Bucket, error) {
	if err := t.check(op, bucket); err != nil {
		return nil, err
	}
	if !t.btx.Writable() {
		return nil, fmt.Errorf("store: %s %s: in a read-only transaction: %w", op, bucket, berrors.ErrTxNotWritable)
	}
	if b := t.btx.Bucket([]byte(bucket)); b != nil {
		return b, nil
	}
	b, err := t.btx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return nil, fmt.Errorf("store: %s %s: create bucket: %w", op, bucket, err)
	}
	return b, nil
}

// Get decodes the value at key into v and reports whether it existed. A
// missing bucket is simply empty. v may be nil to only test existence.
// json.Unmarshal copies, so v never aliases bbolt's memory.
func (t *tx) Get(bucket string, key []byte, v any) (bool, error) {
	if err := t.check("get", bucket); err != nil {
		return false, err
	}
	b := t.btx.Bucket([]byte(bucket))
	if b == nil {
		return false, nil
	}
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if v == nil {
		return true, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("store: get %s/%q: decode: %w", bucket, key, err)
	}
	return true, nil
}

// Put JSON-encodes v and stores it at key, creating the bucket if needed.
// bbolt copies the key, and the encoded value is a fresh slice, so the
// caller may reuse both buffers at once.
func (t *tx) Put(bucket string, key []byte, v any) error {
	b, err := t.writable("put", bucket)
	if err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: put %s/%q: encode: %w", bucket, key, err)
	}
	if err := b.Put(key, data); err != nil {
		return fmt.Errorf("store: put %s/%q: %w", bucket, key, err)
	}
	return nil
}

// Delete removes key. A missing key or bucket is not an error.
func (t *tx) Delete(bucket string, key []byte) error {
	if err := t.check("delete", bucket); err != nil {
		return err
	}
	if !t.btx.Writable() {
		return fmt.Errorf("store: delete %s: in a read-only transaction: %w", bucket, berrors.ErrTxNotWritable)
	}
	b := t.btx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("store: delete %s/%q: %w", bucket, key, err)
	}
	return nil
}

// NextSequence returns the bucket's next sequence number, starting at 1.
// It needs a writable transaction: the counter is stored in the bucket and
// rolls back with it.
func (t *tx) NextSequence(bucket string) (uint64, error) {
	b, err := t.writable("next sequence", bucket)
	if err != nil {
		return 0, err
	}
	n, err := b.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("store: next sequence %s: %w", bucket, err)
	}
	return n, nil
}

// Scan walks keys with prefix in ascending order from max(prefix, start).
// The key passed to fn is a copy the caller may keep; decode is valid only
// until fn returns. fn must not Put or Delete in the scanned bucket: that
// invalidates bbolt's cursor. Collect keys and write after the scan.
// A missing bucket scans as empty.
func (t *tx) Scan(bucket string, prefix, start []byte, fn func(key []byte, decode func(v any) error) (bool, error)) error {
	if err := t.check("scan", bucket); err != nil {
		return err
	}
	b := t.btx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	seek := prefix
	if bytes.Compare(start, prefix) > 0 {
		seek = start
	}
	c := b.Cursor()
	var k, v []byte
	if len(seek) == 0 {
		k, v = c.First()
	} else {
		k, v = c.Seek(seek)
	}
	return t.walk(bucket, prefix, k, v, c.Next, fn)
}

// ScanReverse walks keys with prefix in descending order, from the last.
// The same rules as Scan apply.
func (t *tx) ScanReverse(bucket string, prefix []byte, fn func(key []byte, decode func(v any) error) (bool, error)) error {
	if err := t.check("scan", bucket); err != nil {
		return err
	}
	b := t.btx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	c := b.Cursor()
	var k, v []byte
	if end := prefixEnd(prefix); end == nil {
		k, v = c.Last()
	} else if k, v = c.Seek(end); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	return t.walk(bucket, prefix, k, v, c.Prev, fn)
}

// walk feeds fn the keys from (k, v) on, moving with next, while they have
// prefix.
func (t *tx) walk(bucket string, prefix, k, v []byte, next func() ([]byte, []byte),
	fn func(key []byte, decode func(v any) error) (bool, error)) error {
	var cur []byte // value under the cursor; nil once fn has returned
	var curKey []byte
	decode := func(dst any) error {
		if cur == nil {
			return errDecodeLate
		}
		if err := json.Unmarshal(cur, dst); err != nil {
			return fmt.Errorf("store: scan %s/%q: decode: %w", bucket, curKey, err)
		}
		return nil
	}
	for n := 0; k != nil && bytes.HasPrefix(k, prefix); k, v = next() {
		if v == nil {
			continue // a nested bucket; the store never makes them
		}
		if n++; n%ctxCheckEvery == 0 {
			if err := t.ctx.Err(); err != nil {
				return err
			}
		}
		curKey = bytes.Clone(k) // k points into the mmap, gone after the tx
		cur = v
		more, err := fn(curKey, decode)
		cur = nil
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// prefixEnd returns the smallest key greater than every key with prefix p,
// or nil if there is none (p empty or all 0xff).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
