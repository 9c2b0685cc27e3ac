// Package browsertest starts a headless Chromium for tests through
// chromedp, with the same flags everywhere and cleanup on test end.
//
// Tests that need a browser call New; on a machine without one they are
// skipped, except in CI (CI=true) where a missing browser is a failure, so
// browser tests cannot silently stop running.
package browsertest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds everything one test does with its browser.
const Timeout = 60 * time.Second

// Browsers are the executable names looked up on PATH, in order.
var Browsers = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}

// FindBrowser returns the path of the first of Browsers found on PATH.
func FindBrowser() (string, error) {
	for _, name := range Browsers {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("browsertest: no chromium, chromium-browser or google-chrome on PATH")
}

// New starts a headless browser for tb and returns a chromedp context for
// one tab in it. The browser, its temporary profile and the tab end with
// the test or after Timeout, whichever comes first. It skips tb when no
// browser is installed, and fails it when the environment has CI=true.
func New(tb testing.TB) context.Context {
	tb.Helper()
	path, err := FindBrowser()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%v (CI=true: browser tests must run; install chromium)", err)
		}
		tb.Skipf("%v; skipping the browser test", err)
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start as root with its sandbox (containers).
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	logf := func(format string, args ...any) { tb.Logf("chromedp: "+format, args...) }
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf))
	tb.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	// Start the browser now so a broken install fails here, clearly.
	if err := chromedp.Do(tabCtx); err != nil {
		tb.Fatalf("browsertest: start %s: %v", path, err)
	}
	return tabCtx
}
