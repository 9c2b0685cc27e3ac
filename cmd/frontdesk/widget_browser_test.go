package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/frontdesk-chat/frontdesk/internal/browsertest"
)

// TestWidgetAnswersFromFAQInBrowser is the whole product as a shopper
// meets it: the demo page in a real Chromium, the widget talking to a real
// server with the shipped faq.yaml, the real router and a bbolt store.
func TestWidgetAnswersFromFAQInBrowser(t *testing.T) {
	m := MustServe(t, t.TempDir())
	topic := mustAnswerable(t)
	answer := strings.TrimSpace(topic.Answer)
	firstLine := strings.SplitN(answer, "\n", 2)[0]

	ctx := browsertest.New(t)
	console := browsertest.WatchConsole(ctx)
	browsertest.Do(t, ctx, "open the demo shop and its chat",
		chromedp.Navigate(m.URL()+"/"),
		chromedp.WaitVisible(chromedp.ID("frontdesk-launcher")),
		chromedp.Click(chromedp.ID("frontdesk-launcher")),
		chromedp.WaitVisible(chromedp.ID("frontdesk-panel")),
		chromedp.SendKeys(chromedp.ID("frontdesk-input"), topic.Questions[0]+"\n"),
	)
	browsertest.Poll(t, ctx, "the FAQ answer", widgetShows("bot", firstLine))

	browsertest.Do(t, ctx, "ask something the shop never wrote down",
		chromedp.SendKeys(chromedp.ID("frontdesk-input"), "purple monkey dishwasher quantum\n"))
	browsertest.Poll(t, ctx, "an honest don't-know", widgetShows("bot", "don't know"))
	browsertest.Poll(t, ctx, "a button offering a person",
		`[...document.querySelectorAll('.frontdesk-choice')].some(b => b.textContent === `+strconv.Quote("Talk to a person")+`)`)
	browsertest.Eval[bool](t, ctx, `[...document.querySelectorAll('.frontdesk-choice')].find(b => b.textContent === 'Talk to a person').click(), true`)
	browsertest.Poll(t, ctx, "the handoff", widgetShows("bot", "person"))

	for _, p := range console.Problems() {
		t.Errorf("browser console: %s", p)
	}
}
