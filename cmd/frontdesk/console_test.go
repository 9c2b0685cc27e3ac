package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/console"
	"github.com/frontdesk-chat/frontdesk/internal/browsertest"
	"github.com/frontdesk-chat/frontdesk/store"
)

const agentPassword = "a long enough password"

// MustAddAgent runs "frontdesk agents add" against the data directory
// (the server must be stopped, as for a real operator).
func MustAddAgent(tb testing.TB, dir, id, name, role string) {
	tb.Helper()
	old := stdin
	stdin = strings.NewReader(agentPassword + "\n")
	defer func() { stdin = old }()
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"agents", "add", "--id", id, "--name", name, "--role", role, "--password-stdin", "--data", dir}, &out, &errs); err != nil {
		tb.Fatalf("agents add %s: %v (%s)", id, err, errs.String())
	}
}

// agentClient is an agent signed in to the console API.
type agentClient struct {
	tb   testing.TB
	base string
	http *http.Client
	csrf string
}

func MustAgentLogin(tb testing.TB, m *Main, id string) *agentClient {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	a := &agentClient{tb: tb, base: m.URL(), http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	status, body := a.Do("POST", "/api/login", map[string]string{"id": id, "password": agentPassword})
	if status != 200 {
		tb.Fatalf("login %s: %d %s", id, status, body)
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(body, &me); err != nil || me.CSRF == "" {
		tb.Fatalf("login body %s: %v", body, err)
	}
	a.csrf = me.CSRF
	return a
}

func (a *agentClient) Do(method, path string, body any) (int, []byte) {
	a.tb.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		a.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.csrf != "" {
		req.Header.Set(console.CSRFHeader, a.csrf)
	}
	res, err := a.http.Do(req)
	if err != nil {
		a.tb.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

// MustOpenConsole opens the console's live WebSocket, which also makes the
// agent count as online.
func (a *agentClient) MustOpenConsole() *websocket.Conn {
	a.tb.Helper()
	u, _ := url.Parse(a.base)
	h := http.Header{"Origin": {a.base}}
	for _, c := range a.http.Jar.Cookies(u) {
		h.Add("Cookie", c.Name+"="+c.Value)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.base, "http")+"/agent/ws", h)
	if err != nil {
		a.tb.Fatalf("console websocket: %v", err)
	}
	a.tb.Cleanup(func() { ws.Close() })
	return ws
}

// MustConsoleQueue waits for a queue frame satisfying ok.
func MustConsoleQueue(tb testing.TB, ws *websocket.Conn, ok func(console.QueueJSON) bool) console.QueueJSON {
	tb.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		var f struct {
			Type  string            `json:"type"`
			Queue console.QueueJSON `json:"queue"`
		}
		if err := ws.ReadJSON(&f); err != nil {
			tb.Fatalf("waiting for the queue: %v", err)
		}
		if f.Type == "queue" && ok(f.Queue) {
			return f.Queue
		}
	}
}

// MustSystem reads the customer's frames until a system message containing
// want arrives, failing on any message containing one of never.
func (c *chatClient) MustSystem(want string, never ...string) wireMsg {
	c.tb.Helper()
	return c.MustMessage(func(m wireMsg) bool { return m.Role == "system" && strings.Contains(m.Text, want) }, never...)
}

// MustMessage reads message frames until match, failing on forbidden text.
func (c *chatClient) MustMessage(match func(wireMsg) bool, never ...string) wireMsg {
	c.tb.Helper()
	for {
		m := c.MustNext("message").msg(c.tb)
		for _, n := range never {
			if strings.Contains(m.Text, n) {
				c.tb.Fatalf("customer received %q (%s)", m.Text, m.Role)
			}
		}
		if match(m) {
			return m
		}
	}
}

func TestConsole_CustomerEscalatesAgentAnswersAndResolves(t *testing.T) {
	dir := t.TempDir()
	MustAddAgent(t, dir, "alice", "Alice", "agent")
	MustAddAgent(t, dir, "bob", "Bob", "agent")
	m := MustServe(t, dir)

	alice, bob := MustAgentLogin(t, m, "alice"), MustAgentLogin(t, m, "bob")
	live := alice.MustOpenConsole()
	MustConsoleQueue(t, live, func(q console.QueueJSON) bool { return q.OnlineAgents == 1 && q.Available })

	// Two customers on real WebSocket connections ask for a person.
	first, second := MustDial(t, m, newVisitor()), MustDial(t, m, newVisitor())
	first.MustWrite(map[string]string{"type": "message", "id": "h1", "text": "I want to talk to a person"})
	if r := first.MustReply("bot"); !strings.Contains(r.Text, "handing you over") {
		t.Fatalf("first customer told %q", r.Text)
	}
	first.MustSystem("You're number 1 in the queue. Expected wait: about 3 minutes.")
	second.MustWrite(map[string]string{"type": "message", "id": "h1", "text": "I want to talk to a person"})
	second.MustSystem("You're number 2 in the queue")

	q := MustConsoleQueue(t, live, func(q console.QueueJSON) bool { return len(q.Items) == 2 })
	convFirst, convSecond := q.Items[0].ConversationID, q.Items[1].ConversationID
	if q.Items[0].Channel != bot.ChannelWeb || q.Items[0].Trigger != "customer_request" || q.Items[0].Position != 1 || q.Items[0].Stage == "" {
		t.Fatalf("queue item %+v", q.Items[0])
	}

	// The bot stays quiet while the customer waits.
	first.MustWrite(map[string]string{"type": "message", "id": "w1", "text": "how long is shipping?"})
	first.MustNext("ack")

	// Two agents claim the first customer at once: exactly one wins.
	var wg sync.WaitGroup
	statuses := map[string]int{}
	var mu sync.Mutex
	for name, a := range map[string]*agentClient{"alice": alice, "bob": bob} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := a.Do("POST", "/api/conversations/"+convFirst+"/claim", nil)
			mu.Lock()
			statuses[name] = s
			mu.Unlock()
		}()
	}
	wg.Wait()
	if !(statuses["alice"] == 200 && statuses["bob"] == 409) && !(statuses["alice"] == 409 && statuses["bob"] == 200) {
		t.Fatalf("claim statuses %v, want one 200 and one 409", statuses)
	}
	holder, other := alice, bob
	holderName := "Alice"
	if statuses["bob"] == 200 {
		holder, other, holderName = bob, alice, "Bob"
	}
	// The bot never answered the waiting customer's question.
	joined := first.MustMessage(func(m wireMsg) bool { return m.Role == "system" && strings.Contains(m.Text, "has joined") }, "Delivery", "shipping")
	if joined.Text != holderName+" has joined the conversation." {
		t.Fatalf("joined %q", joined.Text)
	}
	// Everyone behind moves up.
	second.MustSystem("You're number 1 in the queue")

	// Reply, note, reply: the note never reaches the customer.
	if s, body := other.Do("POST", "/api/conversations/"+convFirst+"/reply", map[string]string{"text": "not my customer"}); s != 403 {
		t.Fatalf("non-holder reply: %d %s", s, body)
	}
	if s, body := holder.Do("POST", "/api/conversations/"+convFirst+"/reply", map[string]string{"text": "Hi, I can help with that."}); s != 201 {
		t.Fatalf("reply %d %s", s, body)
	}
	if s, body := holder.Do("POST", "/api/conversations/"+convFirst+"/notes", map[string]string{"text": "PRIVATE: refund abuser?"}); s != 201 {
		t.Fatalf("note %d %s", s, body)
	}
	if s, body := holder.Do("POST", "/api/conversations/"+convFirst+"/reply", map[string]string{"text": "Your parcel ships tomorrow."}); s != 201 {
		t.Fatalf("reply %d %s", s, body)
	}
	r := first.MustMessage(func(m wireMsg) bool { return m.Role == "agent" }, "PRIVATE", "not my customer")
	if r.Text != "Hi, I can help with that." || r.Author != holderName {
		t.Fatalf("agent reply %+v", r)
	}
	r = first.MustMessage(func(m wireMsg) bool { return m.Role == "agent" }, "PRIVATE")
	if r.Text != "Your parcel ships tomorrow." {
		t.Fatalf("second reply %+v", r)
	}

	// Resolve hands the customer back to the bot.
	if s, body := holder.Do("POST", "/api/conversations/"+convFirst+"/resolve", nil); s != 200 {
		t.Fatalf("resolve %d %s", s, body)
	}
	first.MustMessage(func(m wireMsg) bool { return m.Text == bot.ResolvedText }, "PRIVATE")
	topic := mustAnswerable(t)
	first.MustWrite(map[string]string{"type": "message", "id": "after", "text": topic.Questions[0]})
	first.MustNext("ack")
	if r := first.MustMessage(func(m wireMsg) bool { return m.Role == "bot" }, "PRIVATE"); strings.TrimSpace(r.Text) != strings.TrimSpace(topic.Answer) {
		t.Fatalf("after resolve the bot said %q, want the %s answer", r.Text, topic.ID)
	}

	// The resolved contact measured first response from the escalation.
	v, err := m.Engine.View(context.Background(), convFirst)
	if err != nil {
		t.Fatal(err)
	}
	if v.Conversation.State != bot.StateBot {
		t.Fatalf("state after the customer wrote again: %s", v.Conversation.State)
	}
	var resolved *bot.Contact
	_ = bot.Contacts(context.Background(), m.DB, func(c bot.Contact) bool {
		if c.ConversationID == convFirst && c.Outcome == bot.OutcomeAgentResolved {
			resolved = &c
		}
		return true
	})
	if resolved == nil || resolved.FirstResponseAt.Before(resolved.EscalatedAt) || resolved.EscalatedAt.Before(resolved.StartedAt) {
		t.Fatalf("resolved contact %+v", resolved)
	}
	if frt, ok := resolved.FirstResponseTime(); !ok || frt != resolved.FirstResponseAt.Sub(resolved.EscalatedAt) {
		t.Fatalf("first response time %v %v", frt, ok)
	}
	_ = convSecond
}

func TestConsole_NoAgentOnlineOrClosedOffersToLeaveAMessage(t *testing.T) {
	today := time.Now().UTC()
	holidays := strings.Join([]string{today.AddDate(0, 0, -1).Format(time.DateOnly), today.Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly)}, ",")
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"closed on a holiday", map[string]string{"FRONTDESK_HOLIDAYS": holidays, "FRONTDESK_PRESENCE": "off"}, "offline right now"},
		{"open but no agent online", map[string]string{"FRONTDESK_PRESENCE": "console"}, "No one from our team is available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := MustServe(t, t.TempDir(), func(m *Main) { m.Getenv = func(k string) string { return tt.env[k] } })
			c := MustDial(t, m, newVisitor())
			c.MustWrite(map[string]string{"type": "message", "id": "h", "text": "I want to talk to a person"})
			if r := c.MustReply("bot"); !strings.Contains(r.Text, tt.want) {
				t.Fatalf("told %q, want %q", r.Text, tt.want)
			}
			if s := c.MustSystem("in the queue"); strings.Contains(s.Text, "Expected wait") {
				t.Fatalf("promised a wait nobody can keep: %q", s.Text)
			}
			c.MustWrite(map[string]string{"type": "message", "id": "e", "text": "call me back at jo@example.com please"})
			c.MustNext("ack")
			// The ack means stored; the address is kept just after.
			deadline := time.Now().Add(10 * time.Second)
			for {
				q, err := m.Engine.Queue(context.Background())
				if err != nil || len(q) != 1 {
					t.Fatalf("waiting cases %+v %v", q, err)
				}
				if q[0].Customer.Profile.Email == "jo@example.com" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("email not kept: %+v", q[0].Customer.Profile)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func TestConsole_BadSettingsStopTheServer(t *testing.T) {
	for _, env := range []map[string]string{
		{"FRONTDESK_HOURS": "Mon-Fri 9-5"},
		{"FRONTDESK_TIMEZONE": "Nowhere/Special"},
		{"FRONTDESK_MAX_MISSES": "0"},
		{"FRONTDESK_STAGE_MAX_MISSES": "checkout=1"},
		{"FRONTDESK_SECURE_COOKIES": "maybe"},
		{"FRONTDESK_PRESENCE": "slack"},
	} {
		m := NewMain(Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), FAQPath: testFAQ, FAQExplicit: true, NoSync: true}, nil)
		m.Getenv = func(k string) string { return env[k] }
		if err := m.Open(context.Background()); err == nil {
			MustStop(t, m)
			t.Fatalf("%v: server started", env)
		}
	}
}

func TestHandoffSettings(t *testing.T) {
	env := map[string]string{
		"FRONTDESK_HOURS": "Mon-Fri 09:00-17:30; Sat 10:00-14:00", "FRONTDESK_TIMEZONE": "Europe/London",
		"FRONTDESK_HOLIDAYS": "2026-12-25,2026-12-26", "FRONTDESK_MAX_MISSES": "3", "FRONTDESK_STAGE_MAX_MISSES": "purchase=1",
		"FRONTDESK_FRUSTRATION": "grr, meh", "FRONTDESK_AVG_HANDLE": "5m",
	}
	h, err := handoffSettings(func(k string) string { return env[k] }, bot.HandoffConfig{})
	if err != nil {
		t.Skipf("settings (time zone data?): %v", err)
	}
	if h.Hours == nil || h.Hours.Location.String() != "Europe/London" || len(h.Hours.Holidays) != 2 || len(h.Hours.Open) != 6 ||
		h.MaxMisses != 3 || h.StageMaxMisses[bot.StagePurchase] != 1 || strings.Join(h.Frustration, "|") != "grr|meh" || h.AvgHandle != 5*time.Minute {
		t.Fatalf("settings %+v", h)
	}
	if h, err := handoffSettings(func(string) string { return "" }, bot.HandoffConfig{MaxMisses: 4}); err != nil || h.Hours != nil || h.MaxMisses != 4 {
		t.Fatalf("empty env changed the base: %+v %v", h, err)
	}
}

func TestAgents_AddRefusesMissingOrWeakPasswords(t *testing.T) {
	dir := t.TempDir()
	oldEnv := env
	env = func(string) string { return "" }
	defer func() { env = oldEnv }()
	tests := []struct {
		name  string
		input string
		args  []string
	}{
		{"no password and no terminal", "", nil},
		{"empty line on stdin", "\n", []string{"--password-stdin"}},
		{"too short", "short\n", []string{"--password-stdin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := stdin
			stdin = strings.NewReader(tt.input)
			defer func() { stdin = old }()
			args := append([]string{"agents", "add", "--id", "alice", "--name", "Alice", "--data", dir}, tt.args...)
			var out, errs bytes.Buffer
			if err := run(context.Background(), args, &out, &errs); err == nil {
				t.Fatalf("added with %q: %s", tt.input, out.String())
			}
		})
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"agents", "list", "--data", dir}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "alice") {
		t.Fatalf("a refused agent was stored:\n%s", out.String())
	}
}

func TestAgents_CommandsManageAccounts(t *testing.T) {
	dir := t.TempDir()
	MustAddAgent(t, dir, "alice", "Alice", "admin")
	runOK := func(args ...string) string {
		t.Helper()
		var out, errs bytes.Buffer
		if err := run(context.Background(), append(args, "--data", dir), &out, &errs); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, errs.String())
		}
		return out.String()
	}
	if out := runOK("agents", "list"); !strings.Contains(out, "alice") || !strings.Contains(out, "admin") {
		t.Fatalf("list:\n%s", out)
	}
	token := strings.TrimSpace(runOK("agents", "token", "alice"))
	if !strings.HasPrefix(token, "fdt_") {
		t.Fatalf("token %q", token)
	}
	old := stdin
	stdin = strings.NewReader("a different password\n")
	runOK("agents", "passwd", "alice", "--password-stdin")
	stdin = old

	// The server uses the new password and the token.
	m := MustServe(t, dir)
	c := &agentClient{tb: t, base: m.URL(), http: http.DefaultClient}
	if s, _ := c.Do("POST", "/api/login", map[string]string{"id": "alice", "password": agentPassword}); s != 401 {
		t.Fatalf("old password: %d", s)
	}
	req, _ := http.NewRequest("GET", m.URL()+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("token: %d", res.StatusCode)
	}

	// While it runs the store is locked, and the error says what to do.
	var errs bytes.Buffer
	err = run(context.Background(), []string{"agents", "remove", "alice", "--data", dir}, io.Discard, &errs)
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "stop") {
		t.Fatalf("remove while serving: %v", err)
	}
	MustStop(t, m)
	runOK("agents", "remove", "alice")
	if out := runOK("agents", "list"); strings.Contains(out, "alice") {
		t.Fatalf("still listed:\n%s", out)
	}
}

// TestConsoleInBrowser_AdminLinksAndAssigns: an admin opens a waiting web
// customer in the console, finds the same person's Slack record by email
// and links it (the identities list shows both), then assigns the
// conversation to an agent.
func TestConsoleInBrowser_AdminLinksAndAssigns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	MustAddAgent(t, dir, "root", "Root", "admin")
	MustAddAgent(t, dir, "bob", "Bob", "agent")
	m := MustServe(t, dir)
	slack, err := m.Engine.Handle(ctx, bot.Inbound{Channel: bot.ChannelSlack, UserID: "T1:U9", Text: "hello",
		Profile: &bot.Profile{Name: "Sam S", Email: "sam@example.com", Verified: true}})
	if err != nil {
		t.Fatal(err)
	}
	webRC, err := m.Engine.Handle(ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:visitor-1", Text: "Talk to a person", Choice: bot.ChoiceHuman})
	if err != nil {
		t.Fatal(err)
	}

	browser := browsertest.New(t)
	var problems browsertest.Console
	problems.Watch(browser)
	browsertest.Do(t, browser, "sign in",
		chromedp.Navigate(m.URL()+"/agent"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("id"), "root"),
		chromedp.SendKeys(chromedp.ID("password"), agentPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#waiting .item")),
	)
	browsertest.Do(t, browser, "open the waiting customer", chromedp.Click(chromedp.CSS("#waiting .item .name")))
	browsertest.Poll(t, browser, "the identities", `[...document.querySelectorAll('#identities li')].some(e => e.textContent.startsWith('web · visitor'))`)
	browsertest.Do(t, browser, "find the Slack record",
		chromedp.SendKeys(chromedp.ID("link-query"), "sam@example.com"),
		chromedp.Click(chromedp.ID("link-find")),
	)
	browsertest.Poll(t, browser, "the search result", `[...document.querySelectorAll('#link-results li')].some(e => e.textContent.includes('Sam S') && e.textContent.includes('slack · T1:U9'))`)
	browsertest.Eval[bool](t, browser, `window.confirm = () => true, true`)
	browsertest.Do(t, browser, "link", chromedp.Click(chromedp.CSS("#link-results .link-button")))
	browsertest.Poll(t, browser, "both identities", `[...document.querySelectorAll('#identities li')].some(e => e.textContent === 'slack · T1:U9')`)

	browsertest.Poll(t, browser, "the assign control", `!document.getElementById('assign').hidden && document.getElementById('assign-to').options.length > 0`)
	browsertest.Do(t, browser, "assign to Bob",
		chromedp.SetValue(chromedp.ID("assign-to"), "bob"),
		chromedp.Click(chromedp.ID("assign")),
	)
	browsertest.Poll(t, browser, "held by Bob", `document.getElementById('conv-meta').textContent.includes('with Bob')`)

	v, err := m.Engine.View(ctx, webRC.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Conversation.AgentID != "bob" || len(v.Customer.Identities) != 2 {
		t.Fatalf("conversation held by %q, customer %+v", v.Conversation.AgentID, v.Customer)
	}
	if c, err := m.Engine.Customer(ctx, slack.CustomerID); err != nil || c.ID != v.Customer.ID {
		t.Fatalf("the Slack record resolves to %s, %v; want %s", c.ID, err, v.Customer.ID)
	}
	for _, p := range problems.Problems() {
		t.Errorf("page problem: %s", p)
	}
}
