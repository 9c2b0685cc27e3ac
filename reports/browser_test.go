package reports_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/frontdesk-chat/frontdesk/internal/browsertest"
	"github.com/frontdesk-chat/frontdesk/reports"
)

// TestReportsPage_Browser opens the reports page in headless Chromium and
// finds the server-rendered SVG charts with the scripted journeys' figures.
func TestReportsPage_Browser(t *testing.T) {
	ctx := browsertest.New(t)
	w := newWorld(t)
	scriptJourneys(t, w)
	h := &reports.Handler{Store: w.store, Now: w.clock.Now}
	mux := http.NewServeMux()
	h.Routes(mux, nil)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/agent/reports?since=2026-11-02&until=2026-11-04"),
		chromedp.WaitVisible(chromedp.CSS(`svg.chart[data-chart="funnel"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	count := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	charts := count(`document.querySelectorAll("svg.chart").length`)
	stageBars := count(`document.querySelectorAll('svg[data-chart="contacts-by-stage"] rect.bar').length`)
	funnelBars := count(`document.querySelectorAll('svg[data-chart="funnel"] rect.bar').length`)
	firstTitle, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("svg.chart title").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	total, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#total-contacts")))
	if err != nil {
		t.Fatal(err)
	}
	if charts != 7 {
		t.Errorf("%d charts, want 7", charts)
	}
	// Day 1 has two stages, day 2 four, day 3 four: ten stacked segments.
	if stageBars != 10 {
		t.Errorf("%d stage bars, want 10", stageBars)
	}
	if funnelBars != 7 {
		t.Errorf("%d funnel bars, want 7", funnelBars)
	}
	if total != "16" || firstTitle != "Contacts by stage over time (per day)" {
		t.Errorf("total %q, first chart %q", total, firstTitle)
	}
}
