package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/frontdesk-chat/frontdesk/internal/browsertest"
)

// Where TestConsoleInBrowser leaves a screenshot of the console for people
// to look at.
const consoleScreenshot = "/tmp/frontdesk-console.png"

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
	var console browsertest.Console
	watch := console.Watch

	agent, closeAgent := chromedp.NewContext(browser)
	defer closeAgent()
	browsertest.Do(t, agent, "open the console", chromedp.Navigate(m.URL()+"/agent"), chromedp.WaitVisible(chromedp.ID("login-form")))
	watch(agent)
	browsertest.Do(t, agent, "sign in",
		chromedp.SendKeys(chromedp.ID("id"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), agentPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("waiting-empty")),
	)
	browsertest.Poll(t, agent, "live updates", `document.getElementById('live').textContent === 'live'`)

	customer := browser
	watch(customer)
	browsertest.Do(t, customer, "open the shop's chat",
		chromedp.Navigate(m.URL()+"/"),
		chromedp.WaitVisible(chromedp.ID("frontdesk-launcher")),
		chromedp.Click(chromedp.ID("frontdesk-launcher")),
		chromedp.WaitVisible(chromedp.ID("frontdesk-panel")),
		chromedp.SendKeys(chromedp.ID("frontdesk-input"), "I want to talk to a person\n"),
	)
	browsertest.Poll(t, customer, "the queue position", widgetShows("system", "You're number 1 in the queue"))

	browsertest.Poll(t, agent, "the waiting customer", `document.querySelectorAll('#waiting .item').length === 1`)
	meta := browsertest.Eval[string](t, agent, `document.querySelector('#waiting .item').textContent`)
	for _, want := range []string{"#1", "web", "awareness", "asked for a person"} {
		if !strings.Contains(meta, want) {
			t.Errorf("queue item %q lacks %q", meta, want)
		}
	}
	browsertest.Do(t, agent, "claim", chromedp.Click(chromedp.CSS("#waiting .item .claim")))
	browsertest.Poll(t, agent, "the claimed conversation", `!document.getElementById('conv').hidden && document.getElementById('conv-meta').textContent.includes('with Alice')`)
	browsertest.Poll(t, agent, "the transcript", `[...document.querySelectorAll('#transcript .msg.customer')].some(e => e.textContent.includes('I want to talk to a person'))`)
	browsertest.Poll(t, customer, "the agent joining", widgetShows("system", "Alice has joined the conversation."))

	browsertest.Do(t, agent, "write a private note",
		chromedp.SendKeys(chromedp.ID("reply-text"), "Regular customer, secret discount code OK"),
		chromedp.Click(chromedp.ID("send-note")),
	)
	browsertest.Poll(t, agent, "the note marked private", `[...document.querySelectorAll('#transcript .msg.note')].some(e => e.textContent.includes('private note') && e.textContent.includes('secret discount'))`)
	browsertest.Do(t, agent, "reply",
		chromedp.SendKeys(chromedp.ID("reply-text"), "Hello! Alice here, how can I help?"),
		chromedp.Click(chromedp.ID("send-reply")),
	)
	browsertest.Poll(t, customer, "the agent's reply in the widget", widgetShows("agent", "Hello! Alice here, how can I help?"))
	if n := browsertest.Eval[int](t, customer, `[...document.querySelectorAll('.frontdesk-msg')].filter(e => e.textContent.includes('secret discount')).length`); n != 0 {
		t.Fatal("the private note is shown to the customer")
	}

	browsertest.Do(t, customer, "answer the agent", chromedp.SendKeys(chromedp.ID("frontdesk-input"), "My tent pole snapped\n"))
	browsertest.Poll(t, agent, "the customer's answer, live", `[...document.querySelectorAll('#transcript .msg.customer')].some(e => e.textContent.includes('My tent pole snapped'))`)

	png, err := chromedp.Run(agent, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(consoleScreenshot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("console screenshot: %s", consoleScreenshot)

	browsertest.Eval[bool](t, agent, `window.confirm = () => true, true`)
	browsertest.Do(t, agent, "resolve", chromedp.Click(chromedp.ID("resolve")))
	browsertest.Poll(t, customer, "the resolution", widgetShows("system", "marked as resolved"))
	browsertest.Poll(t, agent, "the empty queue", `document.querySelectorAll('#waiting .item, #held .item').length === 0`)

	for _, p := range console.Problems() {
		t.Errorf("page problem: %s", p)
	}
}
