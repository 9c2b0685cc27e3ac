package web

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/frontdesk-chat/frontdesk/internal/browsertest"
)

// Where TestWidgetInBrowser leaves screenshots for people to look at.
const (
	phoneScreenshot   = "/tmp/frontdesk-widget-phone.png"
	desktopScreenshot = "/tmp/frontdesk-widget-desktop.png"
)

// botSays is a JavaScript expression counting bot messages containing text.
func botSays(text string) string {
	return `[...document.querySelectorAll('.frontdesk-msg-bot')].filter(e => e.textContent.includes(` + strconv.Quote(text) + `)).length`
}

func TestWidgetInBrowser(t *testing.T) {
	env := MustServe(t, Config{IdentitySecret: testSecret})
	ctx := browsertest.New(t)

	// Console errors and exceptions (CSP violations show up here) fail
	// the test.
	console := browsertest.WatchConsole(ctx)

	browsertest.Do(t, ctx, "load the shop", chromedp.Navigate(env.http.URL+"/"), chromedp.WaitVisible(chromedp.ID("frontdesk-launcher")))

	t.Run("nothing is stored and nothing connects before the chat is opened", func(t *testing.T) {
		if n := browsertest.Eval[int](t, ctx, `localStorage.length + sessionStorage.length`); n != 0 {
			t.Errorf("web storage has %d entries before opening", n)
		}
		cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
		if err != nil || len(cookies.Cookies) != 0 || browsertest.Eval[string](t, ctx, `document.cookie`) != "" {
			t.Errorf("cookies = %+v (%v), want none", cookies.Cookies, err)
		}
		if c := env.srv.Stats().Connections; c != 0 {
			t.Errorf("%d WebSocket connections before opening, want 0", c)
		}
		if browsertest.Eval[bool](t, ctx, `document.getElementById('frontdesk-panel').hidden`) != true {
			t.Error("the panel is open on load")
		}
	})

	t.Run("a question gets the bot's answer", func(t *testing.T) {
		browsertest.Do(t, ctx, "open the chat",
			chromedp.Click(chromedp.ID("frontdesk-launcher")),
			chromedp.WaitVisible(chromedp.ID("frontdesk-panel")),
		)
		if browsertest.Eval[string](t, ctx, `document.activeElement.id`) != "frontdesk-input" {
			t.Error("opening the chat did not focus the input")
		}
		browsertest.Do(t, ctx, "ask",
			chromedp.SendKeys(chromedp.ID("frontdesk-input"), hoursQuestion),
			chromedp.Click(chromedp.ID("frontdesk-send")),
		)
		browsertest.Poll(t, ctx, "the answer", botSays(hoursAnswer)+` === 1`)
		browsertest.Poll(t, ctx, "the sent state", `[...document.querySelectorAll('.frontdesk-msg-customer .frontdesk-state')].some(e => e.textContent === 'Sent')`)
		if v := browsertest.Eval[string](t, ctx, `document.getElementById('frontdesk-input').value`); v != "" {
			t.Errorf("input still holds %q after sending", v)
		}
	})

	t.Run("a quick reply gets its answer", func(t *testing.T) {
		browsertest.Do(t, ctx, "ask with Enter", chromedp.SendKeys(chromedp.ID("frontdesk-input"), "Do you sell tents?\n"))
		browsertest.Poll(t, ctx, "the quick replies", `document.querySelectorAll('.frontdesk-choice').length === 2`)
		browsertest.Do(t, ctx, "click the first quick reply", chromedp.Click(chromedp.CSS(".frontdesk-choice")))
		browsertest.Poll(t, ctx, "the quick reply's answer", botSays(hoursAnswer)+` === 2`)
		if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('.frontdesk-choice').length`); n != 0 {
			t.Errorf("%d quick replies remain after answering", n)
		}
	})

	visitor := browsertest.Eval[string](t, ctx, `localStorage.getItem('frontdesk.visitor') || ''`)
	t.Run("the visitor id is stored once the chat was used", func(t *testing.T) {
		if !validVisitorID(visitor) || len(visitor) < 32 {
			t.Fatalf("stored visitor id = %q, want 128 random bits", visitor)
		}
		if _, ok := env.bot.conversation("v:" + visitor); !ok {
			t.Errorf("the bot has no conversation for visitor %q", visitor)
		}
	})

	t.Run("escape closes the chat and returns focus", func(t *testing.T) {
		browsertest.Do(t, ctx, "press Escape", chromedp.SendKeys(chromedp.ID("frontdesk-input"), "\u001b"))
		browsertest.Poll(t, ctx, "the panel to close", `document.getElementById('frontdesk-panel').hidden`)
		if id := browsertest.Eval[string](t, ctx, `document.activeElement.id`); id != "frontdesk-launcher" {
			t.Errorf("focus is on %q, want the launcher", id)
		}
	})

	t.Run("after a reload the conversation comes back", func(t *testing.T) {
		browsertest.Do(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("frontdesk-launcher")))
		browsertest.Do(t, ctx, "reopen", chromedp.Click(chromedp.ID("frontdesk-launcher")))
		browsertest.Poll(t, ctx, "the history", botSays(hoursAnswer)+` === 2 && `+botSays(dontKnow)+` === 1`)
		texts := browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll('.frontdesk-msg-customer .frontdesk-text')].map(e => e.textContent)`)
		want := []string{hoursQuestion, "Do you sell tents?", "Opening hours"}
		if strings.Join(texts, "|") != strings.Join(want, "|") {
			t.Errorf("customer messages after reload = %q, want %q", texts, want)
		}
		if got := browsertest.Eval[string](t, ctx, `localStorage.getItem('frontdesk.visitor')`); got != visitor {
			t.Errorf("visitor id changed on reload: %q, want %q", got, visitor)
		}
	})

	t.Run("message text is never parsed as HTML", func(t *testing.T) {
		browsertest.Do(t, ctx, "send markup", chromedp.SendKeys(chromedp.ID("frontdesk-input"), `<img src=x onerror="window.pwned=1"> see https://example.com/a?b=1.`+"\n"))
		browsertest.Poll(t, ctx, "the echo", `[...document.querySelectorAll('.frontdesk-msg-customer')].some(e => e.textContent.includes('<img src=x'))`)
		if browsertest.Eval[bool](t, ctx, `!!window.pwned || !!document.querySelector('#frontdesk-log img')`) {
			t.Error("message markup was rendered")
		}
		href := browsertest.Eval[string](t, ctx, `(document.querySelector('.frontdesk-msg-customer a') || {}).href || ''`)
		if href != "https://example.com/a?b=1" {
			t.Errorf("linkified href = %q", href)
		}
	})

	t.Run("desktop screenshot", func(t *testing.T) {
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(desktopScreenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("phone screenshot", func(t *testing.T) {
		browsertest.Do(t, ctx, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
		browsertest.Poll(t, ctx, "a full-screen panel", `(r => r.width === visualViewport.width && r.height === visualViewport.height)(document.getElementById('frontdesk-panel').getBoundingClientRect())`)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(phoneScreenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("phone screenshot: %s", phoneScreenshot)
	})

	t.Run("identify switches to the shop user and logout to a new visitor", func(t *testing.T) {
		browsertest.Eval[bool](t, ctx, `Frontdesk.identify(`+strconv.Quote(MustMint(t, "user-42"))+`), true`)
		browsertest.Poll(t, ctx, "the anonymous conversation to go", `document.querySelectorAll('.frontdesk-msg').length === 0`)
		browsertest.Do(t, ctx, "ask as the shop user", chromedp.SendKeys(chromedp.ID("frontdesk-input"), hoursQuestion+"\n"))
		browsertest.Poll(t, ctx, "the answer", botSays(hoursAnswer)+` === 1`)
		if _, ok := env.bot.conversation("u:user-42"); !ok {
			t.Error("no conversation for the verified user u:user-42")
		}
		browsertest.Eval[bool](t, ctx, `Frontdesk.identify(null), true`)
		browsertest.Poll(t, ctx, "a fresh anonymous visitor", `(v => v && v !== `+strconv.Quote(visitor)+`)(localStorage.getItem('frontdesk.visitor'))`)
		browsertest.Poll(t, ctx, "an empty conversation", `document.querySelectorAll('.frontdesk-msg').length === 0`)
	})

	for _, p := range console.Problems() {
		t.Errorf("browser console: %s", p)
	}
}
