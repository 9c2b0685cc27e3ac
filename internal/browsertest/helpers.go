package browsertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// PollTimeout bounds how long Poll waits for a condition.
const PollTimeout = 15 * time.Second

// Do runs browser actions, failing tb with what on error.
func Do(tb testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// Poll waits until the JavaScript expression is truthy, failing tb after
// PollTimeout.
func Poll(tb testing.TB, ctx context.Context, what, expr string) {
	tb.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(PollTimeout))); err != nil {
		tb.Fatalf("waiting for %s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression.
func Eval[T any](tb testing.TB, ctx context.Context, expr string) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Console collects a tab's console errors and uncaught exceptions (CSP
// violations among them), so a test can fail on any page problem.
type Console struct {
	mu       sync.Mutex
	problems []string
	wg       sync.WaitGroup
}

// WatchConsole starts collecting ctx's console problems until ctx ends.
// Watch several tabs by calling Watch on the same Console.
func WatchConsole(ctx context.Context) *Console {
	c := &Console{}
	c.Watch(ctx)
	return c
}

// Watch adds a tab to watch.
func (c *Console) Watch(ctx context.Context) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				c.mu.Lock()
				c.problems = append(c.problems, string(m.Type)+": "+m.Text+" "+m.URL)
				c.mu.Unlock()
			}
		}
	}()
}

// Problems returns what was collected so far.
func (c *Console) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}
