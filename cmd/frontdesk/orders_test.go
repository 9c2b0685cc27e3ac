package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/channels/web"
	"github.com/frontdesk-chat/frontdesk/orders"
)

// ordersMain imports the sample orders into a fresh data directory with
// the real command, then starts a real Main on 127.0.0.1:0 with env.
func ordersMain(t *testing.T, env map[string]string) *Main {
	t.Helper()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"orders", "import", "../../examples/orders.csv", "--data", dir}, &out, &errOut); err != nil {
		t.Fatalf("orders import: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "9 rows: 9 added") {
		t.Fatalf("orders import said %q", out.String())
	}
	// The dialogue is quicker than a person types: lift the rate limit.
	m := NewMain(Config{Addr: "127.0.0.1:0", DataDir: dir, NoSync: true, Web: web.Config{RatePerMinute: 600, Burst: 50}}, nil)
	m.Getenv = func(k string) string { return env[k] }
	if err := m.Open(t.Context()); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

func TestOrders_WholeDialogueOverTheWebSocket(t *testing.T) {
	m := ordersMain(t, nil)
	c := MustDial(t, m, "visitor-0123456789abcdef")

	proof := c.Say("where is my order A1001?", "email address or the delivery postcode")
	if len(proof) != 1 {
		t.Fatalf("replies %q, want only the proof request", proof)
	}
	wrong := c.Say("it's jane@example.org", "couldn't find an order")
	// An order that does not exist gets the very same words.
	c.Say("what about order Z9999?", "email address or the delivery postcode")
	missing := c.Say("jane.doe@example.com", "couldn't find an order")
	if len(wrong) != 1 || len(missing) != 1 || wrong[0] != missing[0] {
		t.Fatalf("wrong proof %q and missing order %q differ", wrong, missing)
	}

	c.Say("A1001", "email address or the delivery postcode")
	answer := c.Say("jane.doe@example.com", "Order A1001")
	for _, want := range []string{"on its way with Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/RM123456785GB", "Expected delivery:"} {
		if !strings.Contains(answer[0], want) {
			t.Errorf("answer %q lacks %q", answer[0], want)
		}
	}

	// A complaint after the answer goes to a person with the order.
	c.Say("it never came", "handing you over")
	conv, _, err := m.Engine.History(t.Context(), bot.ChannelWeb, "v:visitor-0123456789abcdef", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	v, err := m.Engine.View(t.Context(), conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Conversation.State != bot.StateWaiting || v.Contact.EscalationTrigger != bot.TriggerOrderProblem || v.Contact.OrderNumber != "A1001" {
		t.Errorf("state %s trigger %q order %q; want waiting, order_problem, A1001", v.Conversation.State, v.Contact.EscalationTrigger, v.Contact.OrderNumber)
	}
	if v.Customer.Stage != bot.StagePurchase {
		t.Errorf("stage %s, want purchase", v.Customer.Stage)
	}
}

func TestOrders_PushEndpointOnTheServer(t *testing.T) {
	put := func(m *Main, auth string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, m.URL()+"/api/orders/A1001", strings.NewReader(`{"email": "jane.doe@example.com", "status": "delivered"}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("body is not JSON: %v", err)
		}
		return resp.StatusCode
	}
	t.Run("disabled without a token", func(t *testing.T) {
		if got := put(ordersMain(t, nil), "Bearer x"); got != http.StatusNotFound {
			t.Fatalf("status %d, want 404", got)
		}
	})
	t.Run("token required", func(t *testing.T) {
		m := ordersMain(t, map[string]string{"FRONTDESK_ORDERS_TOKEN": "s3cret"})
		cases := []struct {
			auth string
			want int
		}{{"", http.StatusUnauthorized}, {"Bearer nope", http.StatusUnauthorized}, {"Bearer s3cret", http.StatusOK}}
		for _, c := range cases {
			if got := put(m, c.auth); got != c.want {
				t.Errorf("Authorization %q: status %d, want %d", c.auth, got, c.want)
			}
		}
	})
}

func TestOrders_HTTPSourceNeedsAURL(t *testing.T) {
	m := NewMain(Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), NoSync: true}, nil)
	m.Getenv = func(k string) string { return map[string]string{"FRONTDESK_ORDERS_SOURCE": "http"}[k] }
	err := m.Open(t.Context())
	if err == nil {
		m.Close(context.Background())
		t.Fatal("Open succeeded without FRONTDESK_ORDERS_URL")
	}
	if !strings.Contains(err.Error(), "FRONTDESK_ORDERS_URL") {
		t.Errorf("error %q does not say what is missing", err)
	}
}

func TestOrdersCommand_ReportsBadRowsAndShows(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/bad.csv"
	csv := "number,email,status\nA1,a@example.com,placed\nA2,,placed\nA3,c@example.com,lost\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"orders", "import", "--data", dir, file}, &out, &errOut)
	if err == nil {
		t.Fatal("import with bad rows succeeded")
	}
	if !strings.Contains(out.String(), "3 rows: 1 added, 0 updated, 0 unchanged, 2 bad") {
		t.Errorf("summary %q", out.String())
	}
	for _, want := range []string{"bad.csv:3: order A2: invalid order: missing email", `bad.csv:4: order A3: invalid order: unknown status "lost"`} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
	out.Reset()
	if err := run(t.Context(), []string{"orders", "show", "a1", "--data", dir}, &out, &errOut); err != nil || !strings.Contains(out.String(), `"email": "a@example.com"`) {
		t.Errorf("show: %v %s", err, out.String())
	}
	if err := run(t.Context(), []string{"orders", "show", "A2", "--data", dir}, &out, &errOut); err == nil {
		t.Error("show of a missing order succeeded")
	}
}

func TestConsoleOrders_OnlyOrdersTheCustomerIsKnownToOwn(t *testing.T) {
	m := ordersMain(t, nil)
	ctx := t.Context()
	src := orders.NewEmbedded(m.DB, nil)
	co := consoleOrders{src: src, store: m.DB}
	numbers := func(cust bot.Customer) []string {
		t.Helper()
		list, err := co.Orders(ctx, cust)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range list {
			out = append(out, o.Number)
		}
		return out
	}

	// Verified email: all that email's orders, newest first.
	priya := bot.Customer{ID: "c-priya", Profile: bot.Profile{Email: "Priya.Shah@example.com", Verified: true}}
	if got := strings.Join(numbers(priya), ","); got != "A1004,A1003" {
		t.Errorf("verified customer's orders = %s, want A1004,A1003", got)
	}
	// A typed email proves nothing.
	typed := bot.Customer{ID: "c-typed", Profile: bot.Profile{Email: "priya.shah@example.com"}}
	if got := numbers(typed); len(got) != 0 {
		t.Errorf("unverified customer sees %v", got)
	}

	// Proving an order in a conversation makes it (and its email's other
	// orders) the customer's.
	c := MustDial(t, m, "visitor-jane-0123456789")
	c.Say("where is my order A1001?", "email address or the delivery postcode")
	c.Say("CA12 5DJ", "Order A1001")
	conv, _, err := m.Engine.History(ctx, bot.ChannelWeb, "v:visitor-jane-0123456789", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	v, err := m.Engine.View(ctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	list, err := co.Orders(ctx, v.Customer)
	if err != nil || len(list) != 1 || list[0].Number != "A1001" || list[0].Status != "On its way" || len(list[0].Items) != 2 ||
		!strings.HasPrefix(list[0].Tracking, "https://www.royalmail.com/") {
		t.Errorf("proven customer's orders = %+v, %v", list, err)
	}
}
