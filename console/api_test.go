package console_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/console"
)

func TestLogin(t *testing.T) {
	t.Run("good password starts a hardened session", func(t *testing.T) {
		e := newEnv(t, console.Config{})
		e.MustAgent(t, "alice", "agent")
		c := e.newClient(t)
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/login", strings.NewReader(`{"id":"Alice","password":"`+password+`"}`))
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		var ck *http.Cookie
		for _, k := range res.Cookies() {
			if k.Name == console.CookieName {
				ck = k
			}
		}
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.MaxAge != 12*3600 || len(ck.Value) < 43 || ck.Secure {
			t.Fatalf("cookie %+v", ck)
		}
	})
	t.Run("secure cookies when configured", func(t *testing.T) {
		e := newEnv(t, console.Config{SecureCookies: true})
		e.MustAgent(t, "alice", "agent")
		res := e.newClient(t).PostForm("/agent/login", url.Values{"id": {"alice"}, "password": {password}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/agent" {
			t.Fatalf("form login: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if cks := res.Cookies(); len(cks) != 1 || !cks[0].Secure {
			t.Fatalf("cookies %+v", cks)
		}
	})
	t.Run("bad password is refused", func(t *testing.T) {
		e := newEnv(t, console.Config{})
		e.MustAgent(t, "alice", "agent")
		for _, body := range []map[string]string{
			{"id": "alice", "password": "wrong password!"},
			{"id": "nobody", "password": password},
			{"id": "alice", "password": ""},
		} {
			status, data := e.newClient(t).Do("POST", "/api/login", body)
			if status != 401 || errorCode(t, data) != "unauthorized" {
				t.Fatalf("%v: %d %s", body, status, data)
			}
		}
		res := e.newClient(t).PostForm("/agent/login", url.Values{"id": {"alice"}, "password": {"nope nope nope"}})
		if res.StatusCode != 401 || len(res.Cookies()) != 0 {
			t.Fatalf("form: %d cookies %v", res.StatusCode, res.Cookies())
		}
	})
	t.Run("five failures for an id lock it for a minute", func(t *testing.T) {
		e := newEnv(t, console.Config{})
		e.MustAgent(t, "alice", "agent")
		for i := range 5 {
			if status, _ := e.newClient(t).Do("POST", "/api/login", map[string]string{"id": "alice", "password": fmt.Sprintf("guess number %d", i)}); status != 401 {
				t.Fatalf("attempt %d: %d", i, status)
			}
		}
		status, data := e.newClient(t).Do("POST", "/api/login", map[string]string{"id": "alice", "password": password})
		if status != 429 || errorCode(t, data) != "rate_limited" {
			t.Fatalf("sixth attempt with the right password: %d %s", status, data)
		}
	})
	t.Run("five failures from an address lock it for every id", func(t *testing.T) {
		e := newEnv(t, console.Config{})
		e.MustAgent(t, "bob", "agent")
		for i := range 5 {
			e.newClient(t).Do("POST", "/api/login", map[string]string{"id": fmt.Sprintf("user%d", i), "password": "guess guess guess"})
		}
		if status, _ := e.newClient(t).Do("POST", "/api/login", map[string]string{"id": "bob", "password": password}); status != 429 {
			t.Fatalf("login from a limited address: %d", status)
		}
	})
	t.Run("login from another origin is refused", func(t *testing.T) {
		e := newEnv(t, console.Config{})
		e.MustAgent(t, "alice", "agent")
		status, _ := e.newClient(t).Do("POST", "/api/login", map[string]string{"id": "alice", "password": password}, "Origin", "https://evil.example")
		if status != 403 {
			t.Fatalf("status %d", status)
		}
	})
}

func TestLogout_EndsTheSession(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	c := e.MustLogin(t, "alice")
	if status, _ := c.Do("POST", "/api/logout", nil); status != 204 {
		t.Fatalf("logout %d", status)
	}
	// Even a client that kept the old cookie is signed out.
	if status, _ := c.Do("GET", "/api/me", nil); status != 401 {
		t.Fatalf("after logout: %d", status)
	}
}

func TestAuth_RefusesUnauthenticatedAndWrongRole(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	anon := e.newClient(t)
	endpoints := []struct{ method, path string }{
		{"GET", "/api/me"}, {"GET", "/api/queue"}, {"GET", "/api/conversations/x"}, {"POST", "/api/conversations/x/claim"},
		{"POST", "/api/conversations/x/reply"}, {"POST", "/api/conversations/x/notes"}, {"POST", "/api/conversations/x/transfer"},
		{"POST", "/api/conversations/x/resolve"}, {"GET", "/api/canned"}, {"POST", "/api/canned"}, {"PUT", "/api/canned/x"},
		{"DELETE", "/api/canned/x"}, {"GET", "/api/agents"}, {"POST", "/api/heartbeat"}, {"POST", "/api/logout"},
	}
	for _, ep := range endpoints {
		t.Run("unauthenticated "+ep.method+" "+ep.path+" is 401", func(t *testing.T) {
			status, data := anon.Do(ep.method, ep.path, nil)
			if status != 401 || errorCode(t, data) != "unauthorized" {
				t.Fatalf("%d %s", status, data)
			}
		})
	}
	t.Run("bad bearer token is 401", func(t *testing.T) {
		c := e.newClient(t)
		c.token = "fdt_not-a-real-token"
		if status, _ := c.Do("GET", "/api/me", nil); status != 401 {
			t.Fatalf("%d", status)
		}
	})
	t.Run("console page redirects to login", func(t *testing.T) {
		res, err := anon.http.Get(e.srv.URL + "/agent")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/agent/login" {
			t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})
	t.Run("websocket without a session is 401", func(t *testing.T) {
		_, res, err := anon.DialWS(t, "")
		if err == nil || res == nil || res.StatusCode != 401 {
			t.Fatalf("err %v res %+v", err, res)
		}
	})
	agent := e.MustLogin(t, "alice")
	for _, ep := range []struct{ method, path string }{{"POST", "/api/canned"}, {"PUT", "/api/canned/x"}, {"DELETE", "/api/canned/x"}} {
		t.Run("agent role "+ep.method+" "+ep.path+" is 403", func(t *testing.T) {
			status, data := agent.Do(ep.method, ep.path, map[string]string{"title": "t", "text": "x"})
			if status != 403 || errorCode(t, data) != "forbidden" {
				t.Fatalf("%d %s", status, data)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, console.Config{AllowedOrigins: []string{"https://admin.shop.example"}})
	e.MustAgent(t, "alice", "agent")
	id := e.MustEscalate(t, "v:1")
	c := e.MustLogin(t, "alice")
	tests := []struct {
		name   string
		header []string
		want   int
	}{
		{"missing token is 403", []string{console.CSRFHeader, ""}, 403},
		{"wrong token is 403", []string{console.CSRFHeader, "forged"}, 403},
		{"right token from another origin is 403", []string{"Origin", "https://evil.example"}, 403},
		{"right token with a foreign referer is 403", []string{"Referer", "https://evil.example/page"}, 403},
		{"right token from an allowed origin passes", []string{"Origin", "https://admin.shop.example"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, data := c.Do("POST", "/api/heartbeat", nil, tt.header...)
			if status != tt.want {
				t.Fatalf("%d %s", status, data)
			}
			if tt.want == 403 && errorCode(t, data) != "forbidden" {
				t.Fatalf("body %s", data)
			}
		})
	}
	t.Run("a refused claim changes nothing", func(t *testing.T) {
		if status, _ := c.Do("POST", "/api/conversations/"+id+"/claim", nil, console.CSRFHeader, ""); status != 403 {
			t.Fatalf("%d", status)
		}
		if v, _ := e.engine.View(context.Background(), id); v.Conversation.State != bot.StateWaiting {
			t.Fatalf("state %s", v.Conversation.State)
		}
	})
	t.Run("logout form without the token is refused", func(t *testing.T) {
		res := c.PostForm("/agent/logout", url.Values{})
		if res.StatusCode != 403 {
			t.Fatalf("%d", res.StatusCode)
		}
		if status, _ := c.Do("GET", "/api/me", nil); status != 200 {
			t.Fatalf("session ended by a forged form: %d", status)
		}
	})
	t.Run("logout form with the token works", func(t *testing.T) {
		res := c.PostForm("/agent/logout", url.Values{"csrf": {c.csrf}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%d", res.StatusCode)
		}
		if status, _ := c.Do("GET", "/api/me", nil); status != 401 {
			t.Fatalf("still signed in: %d", status)
		}
	})
}

func TestBearerToken_NeedsNoCSRF(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	token, err := e.console.Accounts().NewToken(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	id := e.MustEscalate(t, "v:1")
	c := e.newClient(t)
	c.token = token
	if status, data := c.Do("POST", "/api/conversations/"+id+"/claim", nil); status != 200 {
		t.Fatalf("claim with a bearer token: %d %s", status, data)
	}
	status, data := c.Do("GET", "/api/me", nil)
	if status != 200 || !strings.Contains(string(data), `"auth":"token"`) || strings.Contains(string(data), "csrf_token") {
		t.Fatalf("me: %d %s", status, data)
	}
	// A new token replaces the old one.
	if _, err := e.console.Accounts().NewToken(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if status, _ := c.Do("GET", "/api/me", nil); status != 401 {
		t.Fatalf("old token still works: %d", status)
	}
}

func TestClaim_ConcurrentOverTheAPI(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	e.MustAgent(t, "bob", "agent")
	id := e.MustEscalate(t, "v:1")
	clients := []*client{e.MustLogin(t, "alice"), e.MustLogin(t, "bob")}
	type result struct {
		status int
		body   []byte
	}
	results := make([]result, len(clients))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i].status, results[i].body = c.Do("POST", "/api/conversations/"+id+"/claim", nil)
		}()
	}
	close(start)
	wg.Wait()
	var ok, conflict int
	var loserMsg string
	for _, r := range results {
		switch r.status {
		case 200:
			ok++
		case 409:
			conflict++
			loserMsg = string(r.body)
			if errorCode(t, r.body) != "conflict" {
				t.Fatalf("loser body %s", r.body)
			}
		default:
			t.Fatalf("status %d %s", r.status, r.body)
		}
	}
	if ok != 1 || conflict != 1 {
		t.Fatalf("%d ok, %d conflicts", ok, conflict)
	}
	v, _ := e.engine.View(context.Background(), id)
	winner := map[string]string{"alice": "Alice", "bob": "Bob"}[v.Conversation.AgentID]
	if winner == "" || !strings.Contains(loserMsg, "Already claimed by "+winner) {
		t.Fatalf("holder %q, loser told %s", v.Conversation.AgentID, loserMsg)
	}
}

func TestReplyNoteTransferResolve(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	e.MustAgent(t, "bob", "agent")
	e.MustAgent(t, "root", "admin")
	id := e.MustEscalate(t, "v:1")
	alice, bob, root := e.MustLogin(t, "alice"), e.MustLogin(t, "bob"), e.MustLogin(t, "root")
	path := "/api/conversations/" + id

	if status, data := alice.Do("POST", path+"/reply", map[string]string{"text": "hi"}); status != 409 {
		t.Fatalf("reply before claiming: %d %s", status, data)
	}
	if status, data := alice.Do("POST", path+"/claim", nil); status != 200 {
		t.Fatalf("claim: %d %s", status, data)
	}
	e.sender.Reset()
	if status, data := bob.Do("POST", path+"/reply", map[string]string{"text": "not mine"}); status != 403 || errorCode(t, data) != "forbidden" {
		t.Fatalf("reply by a non-holder: %d %s", status, data)
	}
	if status, _ := bob.Do("GET", path, nil); status != 403 {
		t.Fatalf("another agent's conversation is visible: %d", status)
	}
	if status, _ := bob.Do("POST", path+"/notes", map[string]string{"text": "sneaky"}); status != 403 {
		t.Fatalf("note on another agent's conversation: %d", status)
	}
	if status, data := alice.Do("POST", path+"/reply", map[string]string{"text": "Hello, Alice here"}); status != 201 {
		t.Fatalf("reply: %d %s", status, data)
	}
	if status, data := alice.Do("POST", path+"/notes", map[string]string{"text": "VIP customer, be nice"}); status != 201 || !strings.Contains(string(data), `"private":true`) {
		t.Fatalf("note: %d %s", status, data)
	}
	if status, data := alice.Do("POST", path+"/reply", map[string]string{"text": "   "}); status != 400 || errorCode(t, data) != "empty" {
		t.Fatalf("empty reply: %d %s", status, data)
	}
	got := e.sender.Texts()
	if len(got) != 1 || got[0] != "Hello, Alice here" {
		t.Fatalf("customer received %q", got)
	}

	// The view has everything, notes marked private.
	status, data := alice.Do("GET", path, nil)
	if status != 200 {
		t.Fatalf("view %d %s", status, data)
	}
	var v console.ViewJSON
	mustDecode(t, data, &v)
	var note *console.MessageJSON
	for i := range v.Messages {
		if v.Messages[i].Role == bot.RoleNote {
			note = &v.Messages[i]
		}
	}
	if note == nil || !note.Private || note.Author != "Alice" || v.Conversation.Agent == nil || v.Conversation.Agent.Name != "Alice" ||
		v.Contact == nil || v.Contact.Trigger != "customer_request" || v.Contact.FirstResponseSeconds == nil || len(v.Contacts) != 1 ||
		v.OrdersStatus != "unavailable" || len(v.Transitions) != 2 {
		t.Fatalf("view %s", data)
	}

	// Transfer to an unknown agent, then to bob.
	if status, _ := alice.Do("POST", path+"/transfer", map[string]string{"agent_id": "nobody"}); status != 404 {
		t.Fatalf("transfer to nobody: %d", status)
	}
	if status, data := alice.Do("POST", path+"/transfer", map[string]string{"agent_id": "bob"}); status != 200 {
		t.Fatalf("transfer: %d %s", status, data)
	}
	if status, _ := alice.Do("POST", path+"/resolve", nil); status != 403 {
		t.Fatalf("previous holder resolved: %d", status)
	}
	// Admins may act on anyone's conversation.
	if status, data := root.Do("POST", path+"/transfer", map[string]string{"agent_id": ""}); status != 200 {
		t.Fatalf("admin release: %d %s", status, data)
	}
	if status, _ := bob.Do("POST", path+"/claim", nil); status != 200 {
		t.Fatalf("bob claims: %d", status)
	}
	if status, data := root.Do("POST", path+"/resolve", nil); status != 200 {
		t.Fatalf("admin resolve: %d %s", status, data)
	}
	if v, _ := e.engine.View(ctx, id); v.Conversation.State != bot.StateResolved || v.Contact.Outcome != bot.OutcomeAgentResolved {
		t.Fatalf("after resolve %s %s", v.Conversation.State, v.Contact.Outcome)
	}
	if status, _ := bob.Do("POST", path+"/resolve", nil); status != 409 {
		t.Fatalf("resolve twice: %d", status)
	}
	if status, data := root.Do("GET", "/api/conversations/nope", nil); status != 404 || errorCode(t, data) != "not_found" {
		t.Fatalf("unknown conversation: %d %s", status, data)
	}
}

func TestNote_NeverReachesTheCustomer(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	id := e.MustEscalate(t, "v:1")
	alice := e.MustLogin(t, "alice")
	e.sender.Reset()
	if status, _ := alice.Do("POST", "/api/conversations/"+id+"/notes", map[string]string{"text": "check refund history first"}); status != 201 {
		t.Fatalf("note %d", status)
	}
	alice.Do("POST", "/api/conversations/"+id+"/claim", nil)
	alice.Do("POST", "/api/conversations/"+id+"/notes", map[string]string{"text": "second secret"})
	for _, s := range e.sender.Sent {
		if s.Message.Role == bot.RoleNote || strings.Contains(s.Message.Text, "secret") || strings.Contains(s.Message.Text, "refund history") {
			t.Fatalf("note delivered: %+v", s.Message)
		}
	}
	_, hist, err := e.engine.History(context.Background(), bot.ChannelWeb, "v:1", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		if m.Role == bot.RoleNote {
			t.Fatalf("note in the customer's history: %+v", m)
		}
	}
}

func TestQueueAndAgents(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	e.MustAgent(t, "bob", "agent")
	e.MustAgent(t, "root", "admin")
	first, second := e.MustEscalate(t, "v:1"), e.MustEscalate(t, "v:2")
	bob, alice, root := e.MustLogin(t, "bob"), e.MustLogin(t, "alice"), e.MustLogin(t, "root")
	bob.Do("POST", "/api/conversations/"+first+"/claim", nil)

	queue := func(c *client) console.QueueJSON {
		status, data := c.Do("GET", "/api/queue", nil)
		if status != 200 {
			t.Fatalf("queue %d %s", status, data)
		}
		var q console.QueueJSON
		mustDecode(t, data, &q)
		return q
	}
	// Alice sees the waiting one only; bob also his own; admins all.
	if q := queue(alice); len(q.Items) != 1 || q.Items[0].ConversationID != second || q.Items[0].Position != 1 || q.Items[0].Trigger != "customer_request" || q.Items[0].Stage == "" {
		t.Fatalf("alice's queue %+v", q)
	}
	if q := queue(bob); len(q.Items) != 2 || q.Items[1].Agent == nil || q.Items[1].Agent.Name != "Bob" {
		t.Fatalf("bob's queue %+v", q)
	}
	if q := queue(root); len(q.Items) != 2 {
		t.Fatalf("admin's queue %+v", q)
	}

	status, data := alice.Do("GET", "/api/agents", nil)
	if status != 200 || !strings.Contains(string(data), `"id":"bob"`) || strings.Contains(string(data), "hash") {
		t.Fatalf("agents %d %s", status, data)
	}

	// Nobody online: the engine offers to leave a message; a heartbeat
	// brings an API client's agent online.
	if q := queue(alice); q.Available || q.Reason != "no_agents" || q.OnlineAgents != 0 {
		t.Fatalf("nobody online: %+v", q)
	}
	if status, _ := alice.Do("POST", "/api/heartbeat", nil); status != 200 {
		t.Fatalf("heartbeat %d", status)
	}
	if q := queue(alice); !q.Available || q.OnlineAgents != 1 {
		t.Fatalf("after a heartbeat: %+v", q)
	}
}

func TestCannedReplies(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	e.MustAgent(t, "root", "admin")
	alice, root := e.MustLogin(t, "alice"), e.MustLogin(t, "root")
	status, data := root.Do("POST", "/api/canned", map[string]string{"title": "Refund policy", "text": "Refunds take 5 days."})
	if status != 201 {
		t.Fatalf("create %d %s", status, data)
	}
	var created struct{ Canned console.Canned }
	mustDecode(t, data, &created)
	if status, _ := root.Do("POST", "/api/canned", map[string]string{"title": "", "text": "x"}); status != 400 {
		t.Fatalf("untitled: %d", status)
	}
	if status, data := root.Do("PUT", "/api/canned/"+created.Canned.ID, map[string]string{"title": "Refunds", "text": "Refunds take 3 days."}); status != 200 {
		t.Fatalf("update %d %s", status, data)
	}
	if status, _ := root.Do("PUT", "/api/canned/nope", map[string]string{"title": "x", "text": "y"}); status != 404 {
		t.Fatalf("update missing: %d", status)
	}
	status, data = alice.Do("GET", "/api/canned", nil)
	if status != 200 || !strings.Contains(string(data), "Refunds take 3 days.") {
		t.Fatalf("agent list %d %s", status, data)
	}
	if status, _ := root.Do("DELETE", "/api/canned/"+created.Canned.ID, nil); status != 204 {
		t.Fatalf("delete %d", status)
	}
	if status, _ := root.Do("DELETE", "/api/canned/"+created.Canned.ID, nil); status != 404 {
		t.Fatalf("delete twice %d", status)
	}
}

// fakeOrders is an OrderLister for the panel.
type fakeOrders struct{ err error }

func (f fakeOrders) Orders(_ context.Context, c bot.Customer) ([]console.OrderSummary, error) {
	return []console.OrderSummary{{Number: "A1001", Status: "shipped", Total: "£12.00"}}, f.err
}

func TestOrdersPanel(t *testing.T) {
	tests := []struct {
		name   string
		orders console.OrderLister
		status string
		count  int
		leak   string
	}{
		{"no source", nil, "unavailable", 0, ""},
		{"source answers", fakeOrders{}, "ok", 1, ""},
		{"source fails without leaking", fakeOrders{err: fmt.Errorf("dial tcp 10.0.0.7:443: secret-internal")}, "error", 0, "secret-internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, console.Config{Orders: tt.orders})
			e.MustAgent(t, "alice", "agent")
			id := e.MustEscalate(t, "v:1")
			status, data := e.MustLogin(t, "alice").Do("GET", "/api/conversations/"+id, nil)
			var v console.ViewJSON
			mustDecode(t, data, &v)
			if status != 200 || v.OrdersStatus != tt.status || len(v.Orders) != tt.count {
				t.Fatalf("%d %s", status, data)
			}
			if tt.leak != "" && strings.Contains(string(data), tt.leak) {
				t.Fatalf("internal error leaked: %s", data)
			}
		})
	}
}

func TestWebSocket_LiveQueueAndPresence(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	alice := e.MustLogin(t, "alice")

	if _, res, err := alice.DialWS(t, "https://evil.example"); err == nil || res.StatusCode != 403 {
		t.Fatalf("foreign origin: err %v res %v", err, res)
	}
	ws, _, err := alice.DialWS(t, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	waitFrame(t, ws, func(f frame) bool { return f.Type == "hello" })
	waitFrame(t, ws, func(f frame) bool { return f.Type == "queue" && f.Queue.OnlineAgents == 1 })
	if n := e.console.OnlineAgents(); n != 1 {
		t.Fatalf("online agents %d with a console open", n)
	}

	id := e.MustEscalate(t, "v:1")
	f := waitFrame(t, ws, func(f frame) bool { return f.Type == "queue" && len(f.Queue.Items) == 1 })
	if it := f.Queue.Items[0]; it.ConversationID != id || it.Position != 1 || it.Channel != bot.ChannelWeb || it.Trigger != "customer_request" || !f.Queue.Available {
		t.Fatalf("queue item %+v", f.Queue)
	}
	// The customer is told a person is coming (an agent is online).
	if texts := e.sender.Texts(); !strings.Contains(strings.Join(texts, "|"), "You're number 1 in the queue") {
		t.Fatalf("customer told %q", texts)
	}

	alice.Do("POST", "/api/conversations/"+id+"/claim", nil)
	waitFrame(t, ws, func(f frame) bool { return f.Type == "state" && f.ConversationID == id && f.To == "agent" })
	if _, err := e.engine.Handle(context.Background(), bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "thanks for taking this"}); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ws, func(f frame) bool { return f.Type == "message" && f.Message.Text == "thanks for taking this" })
	alice.Do("POST", "/api/conversations/"+id+"/notes", map[string]string{"text": "internal"})
	f = waitFrame(t, ws, func(f frame) bool { return f.Type == "message" && f.Message.Text == "internal" })
	if !f.Message.Private {
		t.Fatal("note not marked private on the console")
	}

	// Signing out closes the socket.
	alice.Do("POST", "/api/logout", nil)
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.console.OnlineAgents() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("agent still online after the socket closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClose_ClosesConsoleSockets(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	ws, _, err := e.MustLogin(t, "alice").DialWS(t, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	waitFrame(t, ws, func(f frame) bool { return f.Type == "hello" })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.console.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), "1001") {
			t.Fatalf("closed with %v, want going away (1001)", err)
		}
		break
	}
}

func TestConsolePage(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	c := e.newClient(t)
	res := c.PostForm("/agent/login", url.Values{"id": {"alice"}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %d", res.StatusCode)
	}
	for _, path := range []string{"/agent", "/agent/static/console.js", "/agent/static/console.css"} {
		r, err := c.http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 || r.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("%s: %d csp %q", path, r.StatusCode, r.Header.Get("Content-Security-Policy"))
		}
	}
	if r, _ := c.http.Get(e.srv.URL + "/agent/static/console.html"); r.StatusCode != 404 {
		t.Fatalf("template served raw: %d", r.StatusCode)
	}
}

func TestLogin_FailedAttemptNeverLogsWhatWasTyped(t *testing.T) {
	var logs lockedBuffer
	e := newEnv(t, console.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	e.MustAgent(t, "alice", "agent")
	// A password typed into the id box by mistake.
	status, _ := e.newClient(t).Do("POST", "/api/login", map[string]string{"id": "Hunter2 is my password", "password": "x"})
	if status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", status)
	}
	e.newClient(t).Do("POST", "/api/login", map[string]string{"id": "alice", "password": "wrong password!"})
	out := logs.String()
	if strings.Contains(strings.ToLower(out), "hunter2") {
		t.Fatalf("the typed id reached the log:\n%s", out)
	}
	if !strings.Contains(out, "id=alice") {
		t.Fatalf("a failed login with a valid id is not logged with it:\n%s", out)
	}
}

// lockedBuffer is a log sink safe for concurrent handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
