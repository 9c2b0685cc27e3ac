package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/bot/bottest"
	"github.com/frontdesk-chat/frontdesk/console"
	"github.com/frontdesk-chat/frontdesk/store"
)

const password = "correct horse battery"

// env is a console on a real bbolt store, served on 127.0.0.1.
type env struct {
	db      *store.DB
	engine  *bot.Engine
	sender  *bottest.Sender
	console *console.Console
	srv     *httptest.Server
}

func newEnv(t *testing.T, cfg console.Config) *env {
	t.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "t.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, sender: &bottest.Sender{}}
	e.engine = bot.NewEngine(db, bot.Config{})
	e.engine.Register(bot.ChannelWeb, e.sender)
	cfg.BcryptCost = bcrypt.MinCost
	e.console = console.New(e.engine, cfg)
	e.engine.SetPresence(e.console)
	e.srv = httptest.NewServer(e.console.Handler())
	t.Cleanup(func() {
		e.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.console.Close(ctx); err != nil {
			t.Errorf("console close: %v", err)
		}
		db.Close()
	})
	return e
}

func (e *env) MustAgent(t *testing.T, id, role string) bot.Agent {
	t.Helper()
	acc, err := e.console.Accounts().Add(context.Background(), id, strings.ToUpper(id[:1])+id[1:], role, password)
	if err != nil {
		t.Fatal(err)
	}
	return acc.Agent()
}

// MustEscalate makes a waiting conversation for web user and returns its id.
func (e *env) MustEscalate(t *testing.T, user string) string {
	t.Helper()
	rc, err := e.engine.Handle(context.Background(), bot.Inbound{Channel: bot.ChannelWeb, UserID: user, Text: "Talk to a person", Choice: bot.ChoiceHuman})
	if err != nil {
		t.Fatal(err)
	}
	return rc.ConversationID
}

// client is an agent's HTTP client with its cookie jar and CSRF token.
type client struct {
	t     *testing.T
	base  string
	http  *http.Client
	csrf  string
	token string
}

func (e *env) newClient(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: e.srv.URL, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// MustLogin signs in over the JSON API.
func (e *env) MustLogin(t *testing.T, id string) *client {
	t.Helper()
	c := e.newClient(t)
	status, body := c.Do("POST", "/api/login", map[string]string{"id": id, "password": password})
	if status != 200 {
		t.Fatalf("login %s: %d %s", id, status, body)
	}
	var me struct {
		CSRFToken string `json:"csrf_token"`
	}
	mustDecode(t, body, &me)
	if me.CSRFToken == "" {
		t.Fatal("login returned no CSRF token")
	}
	c.csrf = me.CSRFToken
	return c
}

// Do sends a JSON request (body nil for none) with the session's CSRF token
// or bearer token, and returns the status and body.
func (c *client) Do(method, path string, body any, header ...string) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set(console.CSRFHeader, c.csrf)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res.StatusCode, data
}

// PostForm posts an HTML form.
func (c *client) PostForm(path string, form url.Values) *http.Response {
	c.t.Helper()
	res, err := c.http.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func mustDecode(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

// errorCode returns the code of an API error body, checking its shape.
func errorCode(t *testing.T, data []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	mustDecode(t, data, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an API error: %s", data)
	}
	return e.Error.Code
}

// DialWS opens the console WebSocket with the client's cookies.
func (c *client) DialWS(t *testing.T, origin string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	u, _ := url.Parse(c.base)
	h := http.Header{}
	for _, ck := range c.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(c.base, "http")+"/agent/ws", h)
}

// frame is any console WebSocket frame.
type frame struct {
	Type           string            `json:"type"`
	Queue          console.QueueJSON `json:"queue"`
	ConversationID string            `json:"conversation_id"`
	Message        struct {
		Role    string `json:"role"`
		Text    string `json:"text"`
		Private bool   `json:"private"`
	} `json:"message"`
	To string `json:"to"`
}

// waitFrame reads frames until match returns true, failing at the deadline.
func waitFrame(t *testing.T, ws *websocket.Conn, match func(frame) bool) frame {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for a frame: %v", err)
		}
		var f frame
		mustDecode(t, data, &f)
		if match(f) {
			return f
		}
	}
}
