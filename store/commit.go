package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Group commit. bbolt's own DB.Batch starts a batch on a timer
// (MaxBatchDelay) and never lets a batch grow while the previous commit is
// being written: under load, batches queue behind one another on the write
// lock, each paying its own fsync, and a lone write always waits out the
// timer. Here one committer goroutine, started when a write arrives and
// ending when none is left, takes every Update that queued while the
// previous commit was being written into the next transaction. A lone
// write commits at once; under load a commit carries everything that
// arrived during the previous fsync, so commits stay few however many
// writers there are.

// defaultMaxBatch bounds the Updates that share one transaction.
const defaultMaxBatch = 1000

// errTrySolo tells a caller whose fn failed inside a shared transaction to
// run it again alone, to get its own error (or panic) back.
var errTrySolo = errors.New("store: fn failed in a shared commit; run it alone")

type call struct {
	fn  func(*bolt.Tx) error
	err chan error
}

// batch runs fn in a shared write transaction and returns once that
// transaction is committed. fn may run more than once (see DB.Update).
func (db *DB) batch(fn func(*bolt.Tx) error) error {
	c := &call{fn: fn, err: make(chan error, 1)}
	db.cmu.Lock()
	db.queue = append(db.queue, c)
	if !db.committing {
		db.committing = true
		go db.commitLoop()
	}
	db.cmu.Unlock()
	err := <-c.err
	if err == errTrySolo {
		err = db.bolt.Update(fn)
	}
	return err
}

// commitLoop commits queued calls, a transaction at a time, until the
// queue is empty.
func (db *DB) commitLoop() {
	for {
		db.cmu.Lock()
		calls := db.queue
		switch {
		case len(calls) == 0:
			db.committing = false
			db.cmu.Unlock()
			return
		case len(calls) > db.maxBatch:
			db.queue = append([]*call(nil), calls[db.maxBatch:]...)
			calls = calls[:db.maxBatch]
		default:
			db.queue = nil
		}
		db.cmu.Unlock()
		db.commit(calls)
	}
}

// commit runs calls in one transaction. When one fails, the transaction is
// rolled back and run again without it, and its caller retries alone: the
// others must not fail because of it.
func (db *DB) commit(calls []*call) {
	for len(calls) > 0 {
		failed := -1
		err := db.bolt.Update(func(btx *bolt.Tx) error {
			for i, c := range calls {
				if err := safelyCall(c.fn, btx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			calls[failed].err <- errTrySolo
			calls = append(calls[:failed:failed], calls[failed+1:]...)
			continue
		}
		for _, c := range calls {
			c.err <- err
		}
		return
	}
}

// safelyCall turns a panic in fn into an error, so one caller's bug does
// not take the committer down; the caller's solo retry panics again, in
// its own goroutine.
func safelyCall(fn func(*bolt.Tx) error, btx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: fn panicked: %v", p)
		}
	}()
	return fn(btx)
}
