package faq

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// DefaultInterval is how often a Watcher with no Interval checks the file:
// often enough that an edit shows up while the owner is still looking, rare
// enough to cost nothing.
const DefaultInterval = 2 * time.Second

// racyWindow is the coarsest file-system timestamp resolution we allow for
// (FAT has 2s). A file modified this close to when we read it may change
// again without its modification time or size changing, so it is re-hashed
// until it is older than that.
const racyWindow = 2 * time.Second

// Watcher reloads the knowledge file when it changes, by polling rather than
// with file-system notifications: no extra dependency, and it works on
// network file systems and with editors that replace the file on save.
//
// A good edit is passed to OnChange. A broken edit is logged and otherwise
// ignored, so the bot keeps answering from the last good version while the
// owner fixes the file.
//
// Set the fields before calling Run or Reload and do not change them after.
// Run and Reload may be called concurrently.
type Watcher struct {
	// Path is the knowledge file to watch. Required.
	Path string
	// Interval is how often to check the file; zero or negative means
	// DefaultInterval (2s).
	Interval time.Duration
	// Logger receives reload failures (warn) and successes (debug); nil
	// discards them.
	Logger *slog.Logger
	// OnChange is called with the new topics after each good reload, never
	// concurrently with itself and never for a broken file. It must not call
	// Reload. Nil is allowed (the reload is then only validated and logged).
	OnChange func([]bot.Topic)

	mu      sync.Mutex
	seen    snapshot // the version of the file last looked at, good or broken
	missing bool     // the last check could not stat the file
}

// snapshot identifies one version of the file.
type snapshot struct {
	valid   bool // false until the file has been read once
	modTime time.Time
	size    int64
	sum     [sha256.Size]byte
	readAt  time.Time
}

// unchanged reports whether st certainly describes the version in s, so the
// file need not be read again.
func (s snapshot) unchanged(st os.FileInfo) bool {
	if !s.valid || !st.ModTime().Equal(s.modTime) || st.Size() != s.size {
		return false
	}
	// Same time and size: trust them only once the file is old enough that
	// a later write would have been given a different time.
	return s.readAt.Sub(s.modTime) >= racyWindow
}

func (w *Watcher) interval() time.Duration {
	if w.Interval <= 0 {
		return DefaultInterval
	}
	return w.Interval
}

func (w *Watcher) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

// Run checks the file every Interval until ctx is done, reloading it when
// its modification time, size and content hash show it changed.
//
// The file as it is when Run starts is the baseline and does not trigger
// OnChange: load it yourself first (with Load) so the bot can start. If the
// file does not exist yet, it is loaded as soon as it appears.
//
// Run returns nil when ctx is done; it returns an error only if Path is
// empty.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Path == "" {
		return errors.New("faq: watcher: no Path to watch")
	}
	w.mu.Lock()
	if !w.seen.valid {
		w.baseline()
	}
	w.mu.Unlock()
	w.logger().Debug("watching faq file", "path", w.Path, "interval", w.interval())

	tick := time.NewTicker(w.interval())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			w.mu.Lock()
			w.poll()
			w.mu.Unlock()
		}
	}
}

// Reload reads the file now, whether or not it changed (for SIGHUP). On a
// good file it calls OnChange and returns nil; otherwise it logs, keeps the
// last good version and returns the error (a *ValidationError, or an I/O
// error wrapped as "faq: load <path>: ...").
func (w *Watcher) Reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	st, data, err := w.read()
	if err != nil {
		err = fmt.Errorf("faq: load %s: %w", w.Path, err)
		w.logger().Warn("faq reload failed", "path", w.Path, "err", err)
		return err
	}
	w.record(st, data)
	return w.apply(data)
}

// baseline records the current version without loading it. Caller holds mu.
func (w *Watcher) baseline() {
	st, data, err := w.read()
	if err != nil {
		w.missing = true // the caller already knows; don't log it
		return
	}
	w.record(st, data)
}

// poll reloads the file if it changed since last seen. Caller holds mu.
func (w *Watcher) poll() {
	st, err := os.Stat(w.Path)
	if err != nil {
		// Editors that save by rename leave a brief gap; log only the
		// first failure so a deleted file doesn't flood the log.
		if !w.missing {
			w.logger().Warn("faq file unavailable, keeping the last good version", "path", w.Path, "err", err)
			w.missing = true
		}
		return
	}
	w.missing = false
	if w.seen.unchanged(st) {
		return
	}
	st, data, err := w.read()
	if err != nil {
		w.logger().Warn("faq reload failed", "path", w.Path, "err", fmt.Errorf("faq: load %s: %w", w.Path, err))
		return
	}
	before := w.seen
	w.record(st, data)
	if before.valid && before.sum == w.seen.sum {
		if !st.ModTime().Equal(before.modTime) || st.Size() != before.size {
			w.logger().Debug("faq file touched, content unchanged", "path", w.Path)
		}
		return
	}
	_ = w.apply(data) // apply logs failures
}

// read stats then reads the file. Stat comes first so that a write between
// the two makes the recorded time look stale (and the file be re-read),
// never fresh.
func (w *Watcher) read() (os.FileInfo, []byte, error) {
	st, err := os.Stat(w.Path)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(w.Path)
	if err != nil {
		return nil, nil, err
	}
	return st, data, nil
}

// record remembers the version just read. Caller holds mu.
func (w *Watcher) record(st os.FileInfo, data []byte) {
	w.seen = snapshot{
		valid:   true,
		modTime: st.ModTime(),
		size:    st.Size(),
		sum:     sha256.Sum256(data),
		readAt:  time.Now(),
	}
	w.missing = false
}

// apply parses data and hands good topics to OnChange. Caller holds mu,
// which is what keeps OnChange calls in order and never concurrent.
func (w *Watcher) apply(data []byte) error {
	topics, err := Parse(w.Path, data)
	if err != nil {
		w.logger().Warn("faq reload failed", "path", w.Path, "err", err)
		return err
	}
	w.logger().Debug("faq reloaded", "path", w.Path, "entries", len(topics))
	if w.OnChange != nil {
		w.OnChange(topics)
	}
	return nil
}
