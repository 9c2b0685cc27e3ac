// Package slackfake is a small fake of Slack for tests, on 127.0.0.1: the
// Web API methods the Slack channel uses (auth.test, apps.connections.open,
// chat.postMessage, chat.update, chat.postEphemeral, reactions.add,
// users.info) and a Socket Mode WebSocket that sends hello, events_api and
// interactive envelopes, collects acks and pings the client. Point
// slack-go at it with slack.OptionAPIURL(fake.APIURL()).
package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Post is a message the bot posted (chat.postMessage), as last updated.
type Post struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
	// Updates counts chat.update calls on it.
	Updates int
}

// Button is a button found in a message's blocks.
type Button struct {
	BlockID  string
	ActionID string
	Value    string
	Label    string
}

// Buttons lists the buttons in the post's blocks.
func (p Post) Buttons() []Button {
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	_ = json.Unmarshal(p.Blocks, &blocks)
	var out []Button
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			if e.Type == "button" {
				out = append(out, Button{BlockID: b.BlockID, ActionID: e.ActionID, Value: e.Value, Label: e.Text.Text})
			}
		}
	}
	return out
}

// BlockText returns every text in the post's blocks, one per line, decoded
// (the JSON on the wire escapes < and >).
func (p Post) BlockText() string {
	var v any
	if json.Unmarshal(p.Blocks, &v) != nil {
		return ""
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if t, ok := x["text"].(string); ok {
				b.WriteString(t + "\n")
			}
			for k, c := range x {
				if k != "text" {
					walk(c)
				}
			}
			if t, ok := x["text"].(map[string]any); ok {
				walk(t)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return b.String()
}

// Button returns the button with the action id.
func (p Post) Button(actionID string) (Button, bool) {
	for _, b := range p.Buttons() {
		if b.ActionID == actionID {
			return b, true
		}
	}
	return Button{}, false
}

// Ephemeral is a message shown to one user (chat.postEphemeral).
type Ephemeral struct {
	Channel  string
	User     string
	ThreadTS string
	Text     string
}

// Reaction is an emoji the bot added (reactions.add).
type Reaction struct {
	Channel string
	TS      string
	Name    string
}

// Server is the fake. Fields are read-only once New returns.
type Server struct {
	// URL is the server's base URL; APIURL is what slack-go wants.
	URL string

	BotToken, AppToken       string
	TeamID, BotUserID, BotID string
	AppID, VerificationToken string
	PingInterval             time.Duration

	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu         sync.Mutex
	changed    chan struct{}
	seq        int
	posts      []Post
	ephemerals []Ephemeral
	reactions  []Reaction
	users      map[string]user
	usersFail  bool
	opens      int
	conns      int
	conn       *wsConn
	all        []*wsConn
	acks       map[string]bool
	envelopes  int
	calls      map[string]int
}

type wsConn struct {
	c    *websocket.Conn
	wmu  sync.Mutex
	done chan struct{}
	once sync.Once
}

func (w *wsConn) write(v any) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return w.c.WriteJSON(v)
}

func (w *wsConn) close() {
	w.once.Do(func() {
		close(w.done)
		_ = w.c.Close()
	})
}

// New starts a fake with a bot user UBOT (bot id BBOT) in team T1, tokens
// xoxb-fake and xapp-fake, pinging every 500ms.
func New() *Server {
	s := &Server{
		BotToken: "xoxb-fake", AppToken: "xapp-fake",
		TeamID: "T1", BotUserID: "UBOT", BotID: "BBOT", AppID: "A1", VerificationToken: "fake-verification",
		PingInterval: 500 * time.Millisecond,
		changed:      make(chan struct{}),
		users:        map[string]user{},
		acks:         map[string]bool{},
		calls:        map[string]int{},
	}
	s.upgrader = websocket.Upgrader{CheckOrigin: func(r *http.Request) bool {
		// slack-go's socketmode client sends this Origin.
		return r.Header.Get("Origin") == "https://api.slack.com"
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth.test", s.authTest)
	mux.HandleFunc("POST /apps.connections.open", s.connectionsOpen)
	mux.HandleFunc("POST /chat.postMessage", s.postMessage)
	mux.HandleFunc("POST /chat.update", s.update)
	mux.HandleFunc("POST /chat.postEphemeral", s.postEphemeral)
	mux.HandleFunc("POST /reactions.add", s.reactionsAdd)
	mux.HandleFunc("POST /users.info", s.usersInfo)
	mux.HandleFunc("GET /ws", s.websocket)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// APIURL is the Web API base for slack.OptionAPIURL (trailing slash).
func (s *Server) APIURL() string { return s.URL + "/" }

// Close drops every WebSocket and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	conns := s.all
	s.conn = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.srv.Close()
}

// user is a workspace member as users.info tells.
type user struct{ name, email string }

// SetUser names a user for users.info.
func (s *Server) SetUser(id, displayName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	u.name = displayName
	s.users[id] = u
}

// SetUserEmail gives a user the email address in their profile, as Slack
// shows it to apps with users:read.email.
func (s *Server) SetUserEmail(id, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	u.email = email
	s.users[id] = u
}

// FailUsersInfo makes users.info answer with an error (true) or normally.
func (s *Server) FailUsersInfo(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usersFail = fail
}

// notify wakes WaitFor callers. Call with mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor waits until cond holds or ctx ends. cond is checked after every
// change the fake sees and every 10ms (for state outside the fake).
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Posts returns the bot's messages so far, in order, as last updated.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Post, len(s.posts))
	copy(out, s.posts)
	return out
}

// PostsIn returns the messages posted in a channel (and thread, when
// threadTS is not empty).
func (s *Server) PostsIn(channel, threadTS string) []Post {
	var out []Post
	for _, p := range s.Posts() {
		if p.Channel == channel && (threadTS == "" || p.ThreadTS == threadTS) {
			out = append(out, p)
		}
	}
	return out
}

// Message returns a posted message by channel and ts.
func (s *Server) Message(channel, ts string) (Post, bool) {
	for _, p := range s.Posts() {
		if p.Channel == channel && p.TS == ts {
			return p, true
		}
	}
	return Post{}, false
}

// Ephemerals returns the ephemeral messages so far.
func (s *Server) Ephemerals() []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ephemeral(nil), s.ephemerals...)
}

// Reactions returns the reactions added so far.
func (s *Server) Reactions() []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Reaction(nil), s.reactions...)
}

// HasReaction reports whether the bot reacted to a message with name.
func (s *Server) HasReaction(channel, ts, name string) bool {
	for _, r := range s.Reactions() {
		if r.Channel == channel && r.TS == ts && r.Name == name {
			return true
		}
	}
	return false
}

// Opens counts apps.connections.open calls; Connections counts WebSockets
// that received hello.
func (s *Server) Opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// Connections counts WebSockets that received hello.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Connected reports whether a WebSocket is open now.
func (s *Server) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// Calls counts Web API calls by method name.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Acked reports whether the client acknowledged an envelope.
func (s *Server) Acked(envelopeID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acks[envelopeID]
}

// Drop closes the current WebSocket abruptly, as a network failure would.
func (s *Server) Drop() {
	s.mu.Lock()
	c := s.conn
	s.conn = nil
	s.notify()
	s.mu.Unlock()
	if c != nil {
		c.close()
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func slackErr(w http.ResponseWriter, code string) {
	writeJSON(w, map[string]any{"ok": false, "error": code})
}

// form parses a form request and checks its bot token (form field or
// bearer header).
func (s *Server) form(w http.ResponseWriter, r *http.Request, method string) (url.Values, bool) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
	tok := r.PostForm.Get("token")
	if tok == "" {
		tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if tok != s.BotToken {
		slackErr(w, "invalid_auth")
		return nil, false
	}
	return r.PostForm, true
}

func (s *Server) authTest(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.form(w, r, "auth.test"); !ok {
		return
	}
	writeJSON(w, map[string]any{"ok": true, "url": "https://fake.slack.com/", "team": "Fake", "user": "frontdesk",
		"team_id": s.TeamID, "user_id": s.BotUserID, "bot_id": s.BotID})
}

func (s *Server) connectionsOpen(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls["apps.connections.open"]++
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+s.AppToken {
		slackErr(w, "invalid_auth")
		return
	}
	s.mu.Lock()
	s.opens++
	n := s.opens
	s.notify()
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.URL, "http") + "/ws?ticket=" + strconv.Itoa(n)})
}

// nextTS returns a fresh message ts. Call with mu held.
func (s *Server) nextTS() string {
	s.seq++
	return fmt.Sprintf("1700000000.%06d", s.seq*100)
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	f, ok := s.form(w, r, "chat.postMessage")
	if !ok {
		return
	}
	if f.Get("channel") == "" {
		slackErr(w, "channel_not_found")
		return
	}
	s.mu.Lock()
	p := Post{Channel: f.Get("channel"), TS: s.nextTS(), ThreadTS: f.Get("thread_ts"), Text: f.Get("text")}
	if b := f.Get("blocks"); b != "" {
		p.Blocks = json.RawMessage(b)
	}
	s.posts = append(s.posts, p)
	s.notify()
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "channel": p.Channel, "ts": p.TS,
		"message": map[string]any{"type": "message", "user": s.BotUserID, "bot_id": s.BotID, "text": p.Text, "ts": p.TS, "thread_ts": p.ThreadTS}})
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	f, ok := s.form(w, r, "chat.update")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.posts {
		p := &s.posts[i]
		if p.Channel == f.Get("channel") && p.TS == f.Get("ts") {
			p.Text = f.Get("text")
			if b := f.Get("blocks"); b != "" {
				p.Blocks = json.RawMessage(b)
			} else if f.Has("blocks") {
				p.Blocks = nil
			}
			p.Updates++
			s.notify()
			writeJSON(w, map[string]any{"ok": true, "channel": p.Channel, "ts": p.TS, "text": p.Text})
			return
		}
	}
	slackErr(w, "message_not_found")
}

func (s *Server) postEphemeral(w http.ResponseWriter, r *http.Request) {
	f, ok := s.form(w, r, "chat.postEphemeral")
	if !ok {
		return
	}
	s.mu.Lock()
	e := Ephemeral{Channel: f.Get("channel"), User: f.Get("user"), ThreadTS: f.Get("thread_ts"), Text: f.Get("text")}
	s.ephemerals = append(s.ephemerals, e)
	ts := s.nextTS()
	s.notify()
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "message_ts": ts})
}

func (s *Server) reactionsAdd(w http.ResponseWriter, r *http.Request) {
	f, ok := s.form(w, r, "reactions.add")
	if !ok {
		return
	}
	s.mu.Lock()
	s.reactions = append(s.reactions, Reaction{Channel: f.Get("channel"), TS: f.Get("timestamp"), Name: f.Get("name")})
	s.notify()
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true})
}

func (s *Server) usersInfo(w http.ResponseWriter, r *http.Request) {
	f, ok := s.form(w, r, "users.info")
	if !ok {
		return
	}
	id := f.Get("user")
	s.mu.Lock()
	u, found := s.users[id]
	fail := s.usersFail
	s.mu.Unlock()
	if fail {
		slackErr(w, "fatal_error")
		return
	}
	if !found {
		slackErr(w, "user_not_found")
		return
	}
	profile := map[string]any{"display_name": u.name, "real_name": u.name}
	if u.email != "" {
		profile["email"] = u.email
	}
	writeJSON(w, map[string]any{"ok": true, "user": map[string]any{
		"id": id, "team_id": s.TeamID, "name": strings.ToLower(u.name), "real_name": u.name,
		"profile": profile,
	}})
}

func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	c, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	wc := &wsConn{c: c, done: make(chan struct{})}
	s.mu.Lock()
	n := s.conns + 1
	s.mu.Unlock()
	hello := map[string]any{"type": "hello", "num_connections": 1,
		"debug_info":      map[string]any{"host": "fake", "build_number": 1, "approximate_connection_time": 3600},
		"connection_info": map[string]any{"app_id": s.AppID}}
	if err := wc.write(hello); err != nil {
		wc.close()
		return
	}
	s.mu.Lock()
	s.conns = n
	s.conn = wc
	s.all = append(s.all, wc)
	s.notify()
	s.mu.Unlock()
	go s.readAcks(wc)
	go s.ping(wc)
}

// readAcks collects the client's envelope acknowledgements.
func (s *Server) readAcks(wc *wsConn) {
	defer func() {
		wc.close()
		s.mu.Lock()
		if s.conn == wc {
			s.conn = nil
		}
		s.notify()
		s.mu.Unlock()
	}()
	wc.c.SetReadLimit(1 << 20)
	for {
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := wc.c.ReadJSON(&ack); err != nil {
			return
		}
		s.mu.Lock()
		s.acks[ack.EnvelopeID] = true
		s.notify()
		s.mu.Unlock()
	}
}

// ping keeps the client's dead-connection timer happy, as Slack does.
func (s *Server) ping(wc *wsConn) {
	t := time.NewTicker(s.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-wc.done:
			return
		case <-t.C:
			if err := wc.c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second)); err != nil {
				return
			}
		}
	}
}

// ErrNotConnected: no WebSocket came up before the context ended.
var ErrNotConnected = errors.New("slackfake: no socket mode connection")

// send writes an envelope on the live connection, waiting for one.
func (s *Server) send(ctx context.Context, typ string, payload any, retry int) (string, error) {
	for {
		var c *wsConn
		err := s.WaitFor(ctx, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			c = s.conn
			return c != nil
		})
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrNotConnected, err)
		}
		s.mu.Lock()
		s.envelopes++
		id := fmt.Sprintf("env-%d", s.envelopes)
		s.mu.Unlock()
		env := map[string]any{"envelope_id": id, "payload": payload, "type": typ,
			"accepts_response_payload": false, "retry_attempt": retry, "retry_reason": ""}
		if retry > 0 {
			env["retry_reason"] = "timeout"
		}
		if err := c.write(env); err == nil {
			return id, nil
		}
		// The connection died under us: wait for the next one.
		s.mu.Lock()
		if s.conn == c {
			s.conn = nil
		}
		s.mu.Unlock()
	}
}

// EventCallback is the Events API payload Slack sends for an inner event:
// the body of an HTTP event request, or the payload of an events_api
// envelope.
func (s *Server) EventCallback(eventID string, event any) map[string]any {
	return map[string]any{
		"token": s.VerificationToken, "team_id": s.TeamID, "api_app_id": s.AppID,
		"event": event, "type": "event_callback", "event_id": eventID, "event_time": 1700000000,
		"authorizations": []map[string]any{{"team_id": s.TeamID, "user_id": s.BotUserID, "is_bot": true}},
	}
}

// SendEvent sends an events_api envelope carrying event with the event id.
// Sending the same event id again is a redelivery (retry_attempt 1).
func (s *Server) SendEvent(ctx context.Context, eventID string, event any) (envelopeID string, err error) {
	return s.send(ctx, "events_api", s.EventCallback(eventID, event), 0)
}

// Redeliver sends an events_api envelope again, as Slack does when it
// believes the first was not acknowledged.
func (s *Server) Redeliver(ctx context.Context, eventID string, event any) (string, error) {
	return s.send(ctx, "events_api", s.EventCallback(eventID, event), 1)
}

// Click describes a button click.
type Click struct {
	User      string
	Channel   string
	MessageTS string
	ActionID  string
	// Value and Label default to the posted button's.
	Value, Label string
}

// ClickPayload builds the block_actions payload of a click on a message
// the bot posted.
func (s *Server) ClickPayload(c Click) (map[string]any, error) {
	p, ok := s.Message(c.Channel, c.MessageTS)
	if !ok {
		return nil, fmt.Errorf("slackfake: no message %s in %s", c.MessageTS, c.Channel)
	}
	b, ok := p.Button(c.ActionID)
	if !ok && c.Value == "" {
		return nil, fmt.Errorf("slackfake: message %s has no button %q", c.MessageTS, c.ActionID)
	}
	if c.Value == "" {
		c.Value = b.Value
	}
	if c.Label == "" {
		c.Label = b.Label
	}
	s.mu.Lock()
	s.seq++
	actionTS := fmt.Sprintf("1700000100.%06d", s.seq)
	s.mu.Unlock()
	container := map[string]any{"type": "message", "message_ts": p.TS, "channel_id": p.Channel, "is_ephemeral": false}
	msg := map[string]any{"type": "message", "user": s.BotUserID, "bot_id": s.BotID, "ts": p.TS, "text": p.Text, "blocks": p.Blocks}
	if p.ThreadTS != "" {
		container["thread_ts"] = p.ThreadTS
		msg["thread_ts"] = p.ThreadTS
	}
	return map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": c.User, "username": strings.ToLower(c.User), "name": strings.ToLower(c.User), "team_id": s.TeamID},
		"api_app_id":   s.AppID,
		"token":        s.VerificationToken,
		"container":    container,
		"trigger_id":   "trigger-" + actionTS,
		"team":         map[string]any{"id": s.TeamID, "domain": "fake"},
		"channel":      map[string]any{"id": p.Channel, "name": "channel"},
		"message":      msg,
		"response_url": s.URL + "/response",
		"state":        map[string]any{"values": map[string]any{}},
		"actions": []map[string]any{{
			"action_id": c.ActionID, "block_id": b.BlockID, "value": c.Value, "type": "button", "action_ts": actionTS,
			"text": map[string]any{"type": "plain_text", "text": c.Label, "emoji": true},
		}},
	}, nil
}

// Click sends an interactive envelope for a button click.
func (s *Server) Click(ctx context.Context, c Click) (envelopeID string, err error) {
	p, err := s.ClickPayload(c)
	if err != nil {
		return "", err
	}
	return s.send(ctx, "interactive", p, 0)
}
