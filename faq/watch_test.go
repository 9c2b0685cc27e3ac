package faq_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/faq"
)

// waitLimit bounds every wait; it is a hang guard, not a speed requirement.
const waitLimit = 10 * time.Second

// syncBuffer is a bytes.Buffer the watcher's goroutine can log into while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// knowledge returns a valid file with one entry whose id is id.
func knowledge(id string) string {
	return "entries:\n" +
		"  - id: " + id + "\n" +
		"    stage: consideration\n" +
		"    questions:\n" +
		"      - how long does delivery take\n" +
		"      - when will it arrive\n" +
		"    answer: 2-4 working days.\n"
}

// broken is the same file with an unknown stage on line 3.
const broken = "entries:\n" +
	"  - id: broken\n" +
	"    stage: nowhere\n" +
	"    questions:\n" +
	"      - how long does delivery take\n" +
	"      - when will it arrive\n" +
	"    answer: 2-4 working days.\n"

// writeFile replaces path atomically, as careful editors do, so the watcher
// never sees a half-written file.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or waitLimit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receive returns the next topics passed to OnChange.
func receive(t *testing.T, ch <-chan []bot.Topic) []bot.Topic {
	t.Helper()
	select {
	case topics := <-ch:
		return topics
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting for OnChange")
		return nil
	}
}

func ids(topics []bot.Topic) string {
	s := make([]string, len(topics))
	for i, tp := range topics {
		s[i] = tp.ID
	}
	return strings.Join(s, ",")
}

// startWatcher runs a fast-polling watcher on path until the test ends and
// waits until it has taken its baseline.
func startWatcher(t *testing.T, path string) (<-chan []bot.Topic, *syncBuffer) {
	t.Helper()
	logger, buf := newLogger()
	changes := make(chan []bot.Topic, 16)
	w := &faq.Watcher{
		Path:     path,
		Interval: 5 * time.Millisecond,
		Logger:   logger,
		OnChange: func(topics []bot.Topic) { changes <- topics },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	})
	waitFor(t, "the watcher to start", func() bool { return strings.Contains(buf.String(), "watching faq file") })
	return changes, buf
}

func TestWatcherGoodEditCallsOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "faq.yaml")
	writeFile(t, path, knowledge("first"))
	changes, buf := startWatcher(t, path)

	writeFile(t, path, knowledge("second"))
	// The baseline must not be delivered: the first call is the edit.
	if got := ids(receive(t, changes)); got != "second" {
		t.Errorf("OnChange got %q, want the edited entry %q", got, "second")
	}
	if log := buf.String(); !strings.Contains(log, `msg="faq reloaded"`) {
		t.Errorf("no info log for the reload:\n%s", log)
	}
}

func TestWatcherBrokenEditKeepsLastGoodAndLogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "faq.yaml")
	writeFile(t, path, knowledge("first"))
	changes, buf := startWatcher(t, path)

	writeFile(t, path, broken)
	waitFor(t, "the reload failure to be logged", func() bool { return strings.Contains(buf.String(), "faq reload failed") })
	log := buf.String()
	for _, want := range []string{"level=WARN", `msg="faq reload failed"`, "path=" + path, path + ":3: unknown stage", "err="} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	select {
	case topics := <-changes:
		t.Fatalf("OnChange called with %q for a broken file", ids(topics))
	default:
	}

	// Fixing the file is picked up; the broken version was never delivered.
	writeFile(t, path, knowledge("fixed"))
	if got := ids(receive(t, changes)); got != "fixed" {
		t.Errorf("OnChange got %q, want %q", got, "fixed")
	}
}

func TestWatcherIgnoresTouchWithSameContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "faq.yaml")
	writeFile(t, path, knowledge("first"))
	changes, buf := startWatcher(t, path)

	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the touch to be seen", func() bool { return strings.Contains(buf.String(), "content unchanged") })
	writeFile(t, path, knowledge("second"))
	if got := ids(receive(t, changes)); got != "second" {
		t.Errorf("OnChange got %q, want %q (a touch must not reload)", got, "second")
	}
}

func TestWatcherLoadsFileCreatedAfterStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "faq.yaml")
	changes, _ := startWatcher(t, path)
	writeFile(t, path, knowledge("late"))
	if got := ids(receive(t, changes)); got != "late" {
		t.Errorf("OnChange got %q, want %q", got, "late")
	}
}

func TestWatcherReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "faq.yaml")
	logger, buf := newLogger()
	var got []string
	w := &faq.Watcher{
		Path:     path,
		Logger:   logger,
		OnChange: func(topics []bot.Topic) { got = append(got, ids(topics)) },
	}

	t.Run("good file calls OnChange", func(t *testing.T) {
		writeFile(t, path, knowledge("first"))
		if err := w.Reload(); err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ";") != "first" {
			t.Errorf("OnChange calls = %q, want [first]", got)
		}
	})
	t.Run("unchanged file still calls OnChange", func(t *testing.T) {
		if err := w.Reload(); err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ";") != "first;first" {
			t.Errorf("OnChange calls = %q, want [first first]", got)
		}
	})
	t.Run("broken file returns the problems and logs", func(t *testing.T) {
		writeFile(t, path, broken)
		err := w.Reload()
		if !errors.Is(err, faq.ErrInvalid) {
			t.Fatalf("got %v, want ErrInvalid", err)
		}
		if len(got) != 2 {
			t.Errorf("OnChange called for a broken file: %q", got)
		}
		if log := buf.String(); !strings.Contains(log, `level=WARN msg="faq reload failed"`) {
			t.Errorf("no warning logged:\n%s", log)
		}
	})
	t.Run("missing file returns the I/O error", func(t *testing.T) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		err := w.Reload()
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("got %v, want fs.ErrNotExist", err)
		}
		if len(got) != 2 {
			t.Errorf("OnChange called for a missing file: %q", got)
		}
	})
}

func TestWatcherZeroValueDefaults(t *testing.T) {
	// No Logger, Interval or OnChange: Reload must still work.
	path := filepath.Join(t.TempDir(), "faq.yaml")
	writeFile(t, path, broken)
	w := &faq.Watcher{Path: path}
	if err := w.Reload(); !errors.Is(err, faq.ErrInvalid) {
		t.Errorf("got %v, want ErrInvalid", err)
	}
	writeFile(t, path, knowledge("ok"))
	if err := w.Reload(); err != nil {
		t.Error(err)
	}
}

func TestWatcherRunWithoutPathFails(t *testing.T) {
	var w faq.Watcher
	if err := w.Run(context.Background()); err == nil {
		t.Error("Run with no Path returned nil")
	}
}
