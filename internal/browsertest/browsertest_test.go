package browsertest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestFindBrowserWithEmptyPathFails(t *testing.T) {
	t.Setenv("PATH", "")
	if p, err := FindBrowser(); err == nil {
		t.Errorf("FindBrowser = %q, want an error", p)
	}
}

func TestNewLoadsALocalPage(t *testing.T) {
	ctx := New(t)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>browsertest</title><p id="x">ok</p><script>document.getElementById("x").textContent = "ran"</script>`)
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.Listener = l
	ts.Start()
	defer ts.Close()

	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL)); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("x")))
	if err != nil || got != "ran" {
		t.Errorf("text = %q, %v; want the script to have run", got, err)
	}
}
