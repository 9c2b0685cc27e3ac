package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/frontdesk-chat/frontdesk/internal/browsertest"
)

// Where TestConsoleInBrowser leaves a screenshot of the console for people
// to look at.
const consoleScreenshot = "/tmp/frontdesk-console.png"

func browserDo(tb testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

func browserPoll(tb testing.TB, ctx context.Context, what, expr string) {
	tb.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		tb.Fatalf("waiting for %s: %v", what, err)
	}
}

func browserEval[T any](tb testing.TB, ctx context.Context, expr string) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// widgetShows counts the widget's messages of role containing text.
func widgetShows(role, text string) string {
	return `[...document.querySelectorAll('.frontdesk-msg-` + role + `')].filter(e => e.textContent.includes(` + strconv.Quote(text) + `)).length > 0`
}

// TestConsoleInBrowser: a customer escalates in the demo page's widget; an
// agent signs in to /agent in another tab, claims, replies, writes a note
// and resolves; the widget shows the reply and never the note.
func TestConsoleInBrowser(t *testing.T) {
	dir := t.TempDir()
	MustAddAgent(t, dir, "alice", "Alice", "agent")
	m := MustServe(t, dir)
	browser := browsertest.New(t)

	// Page errors (CSP violations included) fail the test.
	var mu sync.Mutex
	var problems []string
	watch := func(ctx context.Context) {
		go func() {
			for msg, err := range chromedp.Console(ctx) {
				if err != nil {
					return
				}
				if msg.Type == chromedp.ConsoleError || msg.Type == chromedp.ConsoleException {
					mu.Lock()
					problems = append(problems, string(msg.Type)+": "+msg.Text+" "+msg.URL)
					mu.Unlock()
				}
			}
		}()
	}

	agent, closeAgent := chromedp.NewContext(browser)
	defer closeAgent()
	browserDo(t, agent, "open the console", chromedp.Navigate(m.URL()+"/agent"), chromedp.WaitVisible(chromedp.ID("login-form")))
	watch(agent)
	browserDo(t, agent, "sign in",
		chromedp.SendKeys(chromedp.ID("id"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), agentPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("waiting-empty")),
	)
	browserPoll(t, agent, "live updates", `document.getElementById('live').textContent === 'live'`)

	customer := browser
	watch(customer)
	browserDo(t, customer, "open the shop's chat",
		chromedp.Navigate(m.URL()+"/"),
		chromedp.WaitVisible(chromedp.ID("frontdesk-launcher")),
		chromedp.Click(chromedp.ID("frontdesk-launcher")),
		chromedp.WaitVisible(chromedp.ID("frontdesk-panel")),
		chromedp.SendKeys(chromedp.ID("frontdesk-input"), "I want to talk to a person\n"),
	)
	browserPoll(t, customer, "the queue position", widgetShows("system", "You're number 1 in the queue"))

	browserPoll(t, agent, "the waiting customer", `document.querySelectorAll('#waiting .item').length === 1`)
	meta := browserEval[string](t, agent, `document.querySelector('#waiting .item').textContent`)
	for _, want := range []string{"#1", "web", "awareness", "asked for a person"} {
		if !strings.Contains(meta, want) {
			t.Errorf("queue item %q lacks %q", meta, want)
		}
	}
	browserDo(t, agent, "claim", chromedp.Click(chromedp.CSS("#waiting .item .claim")))
	browserPoll(t, agent, "the claimed conversation", `!document.getElementById('conv').hidden && document.getElementById('conv-meta').textContent.includes('with Alice')`)
	browserPoll(t, agent, "the transcript", `[...document.querySelectorAll('#transcript .msg.customer')].some(e => e.textContent.includes('I want to talk to a person'))`)
	browserPoll(t, customer, "the agent joining", widgetShows("system", "Alice has joined the conversation."))

	browserDo(t, agent, "write a private note",
		chromedp.SendKeys(chromedp.ID("reply-text"), "Regular customer, secret discount code OK"),
		chromedp.Click(chromedp.ID("send-note")),
	)
	browserPoll(t, agent, "the note marked private", `[...document.querySelectorAll('#transcript .msg.note')].some(e => e.textContent.includes('private note') && e.textContent.includes('secret discount'))`)
	browserDo(t, agent, "reply",
		chromedp.SendKeys(chromedp.ID("reply-text"), "Hello! Alice here, how can I help?"),
		chromedp.Click(chromedp.ID("send-reply")),
	)
	browserPoll(t, customer, "the agent's reply in the widget", widgetShows("agent", "Hello! Alice here, how can I help?"))
	if n := browserEval[int](t, customer, `[...document.querySelectorAll('.frontdesk-msg')].filter(e => e.textContent.includes('secret discount')).length`); n != 0 {
		t.Fatal("the private note is shown to the customer")
	}

	browserDo(t, customer, "answer the agent", chromedp.SendKeys(chromedp.ID("frontdesk-input"), "My tent pole snapped\n"))
	browserPoll(t, agent, "the customer's answer, live", `[...document.querySelectorAll('#transcript .msg.customer')].some(e => e.textContent.includes('My tent pole snapped'))`)

	png, err := chromedp.Run(agent, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(consoleScreenshot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("console screenshot: %s", consoleScreenshot)

	browserEval[bool](t, agent, `window.confirm = () => true, true`)
	browserDo(t, agent, "resolve", chromedp.Click(chromedp.ID("resolve")))
	browserPoll(t, customer, "the resolution", widgetShows("system", "marked as resolved"))
	browserPoll(t, agent, "the empty queue", `document.querySelectorAll('#waiting .item, #held .item').length === 0`)

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("page problem: %s", p)
	}
}
