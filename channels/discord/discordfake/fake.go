// Package discordfake is a local fake of the Discord REST API and gateway
// for tests. It listens on loopback only and speaks the real gateway
// handshake: HELLO (op 10) → IDENTIFY (op 2) → READY, or RESUME (op 6) →
// replayed dispatches → RESUMED; heartbeats (op 1) are answered with op 11;
// dispatches carry increasing sequence numbers. The REST side implements
// the handful of routes the Frontdesk adapter uses (gateway discovery,
// messages, edits, threads, reactions, interaction callbacks and
// follow-ups), checks the bot token, records every call and can answer
// with Discord-style 429 rate limits.
//
// Tests drive it from the Discord side (UserMessage, Click, Drop) and wait
// for outcomes with Wait.
package discordfake

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Config tunes the fake. The zero value works.
type Config struct {
	// Token is the bot token the fake accepts (without "Bot "). Default
	// "fake-token".
	Token string
	// BotID is the bot user's id. Default "100000000000000001".
	BotID string
	// BotName is the bot user's name. Default "Frontdesk".
	BotName string
	// AppID is the application id. Default BotID.
	AppID string
	// HeartbeatInterval is sent in HELLO. Default 250ms, so tests see
	// heartbeats.
	HeartbeatInterval time.Duration
	// NoEcho stops the fake from dispatching the bot's own posted messages
	// back as MESSAGE_CREATE, which real Discord does.
	NoEcho bool
}

// Identify is a recorded IDENTIFY payload.
type Identify struct {
	Token   string `json:"token"`
	Intents int    `json:"intents"`
}

// Resume is a recorded RESUME payload.
type Resume struct {
	Token     string `json:"token"`
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
}

// Button is a button as the bot sent it.
type Button struct {
	Type     int    `json:"type"`
	Label    string `json:"label"`
	Style    int    `json:"style"`
	CustomID string `json:"custom_id"`
	Disabled bool   `json:"disabled"`
}

// Row is an action row.
type Row struct {
	Type       int      `json:"type"`
	Components []Button `json:"components"`
}

// Embed is an embed as the bot sent it.
type Embed struct {
	Title       string       `json:"title"`
	Description string       `json:"description"`
	URL         string       `json:"url"`
	Fields      []EmbedField `json:"fields"`
}

// EmbedField is one field of an embed.
type EmbedField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Reference is a message reference (a reply).
type Reference struct {
	MessageID string `json:"message_id"`
	ChannelID string `json:"channel_id"`
}

// AllowedMentions is the allowed_mentions object the bot sent.
type AllowedMentions struct {
	Parse       []string `json:"parse"`
	RepliedUser bool     `json:"replied_user"`
}

// Message is a message the bot posted (or its current state after edits).
type Message struct {
	ID              string           `json:"id"`
	ChannelID       string           `json:"channel_id"`
	Content         string           `json:"content"`
	Embeds          []Embed          `json:"embeds"`
	Components      []Row            `json:"components"`
	Reference       *Reference       `json:"message_reference"`
	AllowedMentions *AllowedMentions `json:"allowed_mentions"`
	Edits           int              `json:"-"`
	raw             map[string]any
}

// Buttons returns the message's buttons in order.
func (m Message) Buttons() []Button {
	var out []Button
	for _, r := range m.Components {
		out = append(out, r.Components...)
	}
	return out
}

// Thread is a thread the bot started from a message.
type Thread struct {
	ID, ParentID, MessageID, Name string
	AutoArchive                   int
}

// Reaction is a reaction the bot added.
type Reaction struct{ ChannelID, MessageID, Emoji string }

// Callback is an interaction response the bot sent.
type Callback struct {
	InteractionID, Token string
	Type                 int
	Content              string
	Flags                int
}

// Followup is an interaction follow-up message.
type Followup struct {
	Token, Content string
	Flags          int
}

// Request is one REST call the fake received.
type Request struct {
	Method, Path string
	// Status is what the fake answered; 0 while it is being answered.
	Status int
	// At is when the request arrived.
	At time.Time
}

// Server is a running fake.
type Server struct {
	cfg Config
	srv *httptest.Server
	// URL is the REST base ("http://127.0.0.1:port"); Discord paths start
	// with /api/v9.
	URL string
	// GatewayURL is what GET /api/v9/gateway returns.
	GatewayURL string

	mu         sync.Mutex
	changed    chan struct{}
	nextID     uint64
	seq        int64
	sessionID  string
	events     []event
	conn       *gwConn
	conns      map[*gwConn]bool
	identifies []Identify
	resumes    []Resume
	heartbeats int
	readies    int
	requests   []Request
	messages   []*Message
	byID       map[string]*Message
	threads    []Thread
	reactions  []Reaction
	callbacks  []Callback
	followups  []Followup
	guildOf    map[string]string
	limits     []limit
}

type event struct {
	seq int64
	t   string
	d   json.RawMessage
}

type limit struct {
	method, prefix string
	retryAfter     time.Duration
	n              int
}

// New starts a fake on 127.0.0.1. Close it when done.
func New(cfg Config) *Server {
	if cfg.Token == "" {
		cfg.Token = "fake-token"
	}
	if cfg.BotID == "" {
		cfg.BotID = "100000000000000001"
	}
	if cfg.BotName == "" {
		cfg.BotName = "Frontdesk"
	}
	if cfg.AppID == "" {
		cfg.AppID = cfg.BotID
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 250 * time.Millisecond
	}
	s := &Server{
		cfg: cfg, changed: make(chan struct{}), nextID: 900000000000000000,
		conns: map[*gwConn]bool{}, byID: map[string]*Message{}, guildOf: map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /gateway", s.serveGateway)
	mux.HandleFunc("GET /gateway/", s.serveGateway)
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v9/gateway", s.gateway)
	api.HandleFunc("GET /api/v9/gateway/bot", s.gateway)
	api.HandleFunc("POST /api/v9/channels/{cid}/messages", s.postMessage)
	api.HandleFunc("PATCH /api/v9/channels/{cid}/messages/{mid}", s.editMessage)
	api.HandleFunc("POST /api/v9/channels/{cid}/messages/{mid}/threads", s.startThread)
	api.HandleFunc("PUT /api/v9/channels/{cid}/messages/{mid}/reactions/{emoji}/@me", s.react)
	api.HandleFunc("POST /api/v9/interactions/{iid}/{token}/callback", s.callback)
	api.HandleFunc("POST /api/v9/webhooks/{app}/{token}", s.followup)
	mux.Handle("/api/", s.middleware(api))
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	s.GatewayURL = "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/gateway"
	return s
}

// Close drops every gateway connection and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	for c := range s.conns {
		c.c.Close()
	}
	s.mu.Unlock()
	s.srv.Close()
}

// Token returns the accepted bot token (without "Bot ").
func (s *Server) Token() string { return s.cfg.Token }

// BotID returns the bot user's id.
func (s *Server) BotID() string { return s.cfg.BotID }

// notify wakes waiters; call with s.mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Wait returns once cond reports true, re-checking after every change the
// fake records, or ctx's error.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// NewID returns a fresh snowflake-like id.
func (s *Server) NewID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newIDLocked()
}

func (s *Server) newIDLocked() string {
	s.nextID++
	return strconv.FormatUint(s.nextID, 10)
}

// ---- gateway ----

type gwConn struct {
	c  *websocket.Conn
	wm sync.Mutex
}

func (g *gwConn) write(v any) error {
	g.wm.Lock()
	defer g.wm.Unlock()
	return g.c.WriteJSON(v)
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	g := &gwConn{c: c}
	c.SetReadLimit(1 << 20)
	s.mu.Lock()
	s.conns[g] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, g)
		if s.conn == g {
			s.conn = nil
		}
		s.notify()
		s.mu.Unlock()
		c.Close()
	}()
	if err := g.write(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": s.cfg.HeartbeatInterval.Milliseconds()}}); err != nil {
		return
	}
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		var p struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if json.Unmarshal(data, &p) != nil {
			return
		}
		switch p.Op {
		case 1:
			s.mu.Lock()
			s.heartbeats++
			s.notify()
			s.mu.Unlock()
			if g.write(map[string]any{"op": 11}) != nil {
				return
			}
		case 2:
			var id Identify
			if json.Unmarshal(p.D, &id) != nil {
				return
			}
			s.mu.Lock()
			s.identifies = append(s.identifies, id)
			s.notify()
			s.mu.Unlock()
			if id.Token != "Bot "+s.cfg.Token {
				g.wm.Lock()
				_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."))
				g.wm.Unlock()
				return
			}
			s.ready(g)
		case 6:
			var rs Resume
			if json.Unmarshal(p.D, &rs) != nil {
				return
			}
			s.mu.Lock()
			s.resumes = append(s.resumes, rs)
			ok := rs.SessionID != "" && rs.SessionID == s.sessionID && rs.Token == "Bot "+s.cfg.Token
			s.notify()
			s.mu.Unlock()
			if !ok {
				// Invalid session, not resumable: the client identifies anew.
				if g.write(map[string]any{"op": 9, "d": false}) != nil {
					return
				}
				continue
			}
			s.resumed(g, rs.Seq)
		}
	}
}

func (s *Server) ready(g *gwConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessionID = "session-" + s.newIDLocked()
	s.events = nil
	s.conn = g
	s.readies++
	d := map[string]any{
		"v": 9, "session_id": s.sessionID, "resume_gateway_url": s.GatewayURL,
		"user":        map[string]any{"id": s.cfg.BotID, "username": s.cfg.BotName, "bot": true},
		"application": map[string]any{"id": s.cfg.AppID},
		"guilds":      []any{},
	}
	s.dispatchLocked("READY", d)
}

// resumed replays what the client missed after seq, then RESUMED.
func (s *Server) resumed(g *gwConn, seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn = g
	for _, e := range s.events {
		if e.seq > seq {
			_ = g.write(map[string]any{"op": 0, "s": e.seq, "t": e.t, "d": e.d})
		}
	}
	s.dispatchLocked("RESUMED", map[string]any{})
}

// Dispatch sends an op 0 event with the next sequence number to the
// connected client; while no client is connected it is kept and replayed
// on RESUME. It returns the sequence number.
func (s *Server) Dispatch(t string, d any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dispatchLocked(t, d)
}

func (s *Server) dispatchLocked(t string, d any) int64 {
	raw, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("discordfake: dispatch %s: %v", t, err))
	}
	s.seq++
	if t != "READY" && t != "RESUMED" {
		s.events = append(s.events, event{seq: s.seq, t: t, d: raw})
	}
	if s.conn != nil {
		if err := s.conn.write(map[string]any{"op": 0, "s": s.seq, "t": t, "d": json.RawMessage(raw)}); err != nil {
			s.conn = nil
		}
	}
	s.notify()
	return s.seq
}

// Drop cuts the current gateway connection without a close frame, as a
// network failure would. It reports whether a connection was open.
func (s *Server) Drop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return false
	}
	_ = s.conn.c.UnderlyingConn().Close()
	s.conn = nil
	s.notify()
	return true
}

// Connected reports whether a client has completed IDENTIFY or RESUME on
// a live connection.
func (s *Server) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// Identifies returns the IDENTIFY payloads received.
func (s *Server) Identifies() []Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identify(nil), s.identifies...)
}

// Resumes returns the RESUME payloads received.
func (s *Server) Resumes() []Resume {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Resume(nil), s.resumes...)
}

// Heartbeats counts the heartbeats received.
func (s *Server) Heartbeats() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heartbeats
}

// Readies counts READY dispatches (new sessions).
func (s *Server) Readies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readies
}

// UserMessage describes a message a person (or another bot) sends.
type UserMessage struct {
	ChannelID string
	// GuildID is empty for a direct message.
	GuildID    string
	AuthorID   string
	AuthorName string
	// Bot marks the author as a bot account.
	Bot     bool
	Content string
	// Mentions are user ids mentioned.
	Mentions []string
	// Roles are the author's role ids in the guild.
	Roles []string
}

// Send dispatches MESSAGE_CREATE for m and returns the message id.
func (s *Server) Send(m UserMessage) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newIDLocked()
	if m.GuildID != "" {
		s.guildOf[m.ChannelID] = m.GuildID
	} else {
		m.GuildID = s.guildOf[m.ChannelID]
	}
	if m.AuthorName == "" {
		m.AuthorName = "user" + m.AuthorID
	}
	author := map[string]any{"id": m.AuthorID, "username": m.AuthorName, "bot": m.Bot}
	mentions := []any{}
	for _, u := range m.Mentions {
		name := "user" + u
		if u == s.cfg.BotID {
			name = s.cfg.BotName
		}
		mentions = append(mentions, map[string]any{"id": u, "username": name, "bot": u == s.cfg.BotID})
	}
	d := map[string]any{
		"id": id, "channel_id": m.ChannelID, "content": m.Content, "type": 0,
		"author": author, "mentions": mentions, "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
	}
	if m.GuildID != "" {
		d["guild_id"] = m.GuildID
		roles := m.Roles
		if roles == nil {
			roles = []string{}
		}
		d["member"] = map[string]any{"roles": roles, "nick": nil}
	}
	s.dispatchLocked("MESSAGE_CREATE", d)
	return id
}

// Click describes a button click.
type Click struct {
	// Message is the bot's message carrying the button.
	Message  Message
	CustomID string
	UserID   string
	UserName string
	// GuildID is empty in a direct message.
	GuildID string
	Roles   []string
}

// Click dispatches INTERACTION_CREATE for a button click and returns the
// interaction id.
func (s *Server) Click(c Click) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newIDLocked()
	if c.UserName == "" {
		c.UserName = "user" + c.UserID
	}
	user := map[string]any{"id": c.UserID, "username": c.UserName}
	msg := map[string]any{}
	if cur, ok := s.byID[c.Message.ID]; ok {
		for k, v := range cur.raw {
			msg[k] = v
		}
	}
	d := map[string]any{
		"id": id, "application_id": s.cfg.AppID, "type": 3, "token": "itoken-" + id, "version": 1,
		"channel_id": c.Message.ChannelID, "message": msg,
		"data": map[string]any{"custom_id": c.CustomID, "component_type": 2},
	}
	if c.GuildID == "" {
		c.GuildID = s.guildOf[c.Message.ChannelID]
	}
	if c.GuildID != "" {
		roles := c.Roles
		if roles == nil {
			roles = []string{}
		}
		d["guild_id"] = c.GuildID
		d["member"] = map[string]any{"user": user, "roles": roles}
	} else {
		d["user"] = user
	}
	s.dispatchLocked("INTERACTION_CREATE", d)
	return id
}

// ---- REST ----

// RateLimit makes the next n requests whose method matches and whose path
// starts with prefix fail with 429, as Discord answers them.
func (s *Server) RateLimit(method, prefix string, retryAfter time.Duration, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = append(s.limits, limit{method: method, prefix: prefix, retryAfter: retryAfter, n: n})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		// Recorded on arrival, so whoever sees a request's effect sees the
		// request; the status is filled in once answered.
		s.mu.Lock()
		idx := len(s.requests)
		s.requests = append(s.requests, Request{Method: r.Method, Path: path, At: time.Now()})
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.requests[idx].Status = rec.status
			s.notify()
			s.mu.Unlock()
		}()
		if r.Header.Get("Authorization") != "Bot "+s.cfg.Token && !strings.HasPrefix(path, "/api/v9/interactions/") && !strings.HasPrefix(path, "/api/v9/webhooks/") {
			writeJSON(rec, http.StatusUnauthorized, map[string]any{"message": "401: Unauthorized", "code": 0})
			return
		}
		s.mu.Lock()
		var hit *limit
		for i := range s.limits {
			l := &s.limits[i]
			if l.n > 0 && l.method == r.Method && strings.HasPrefix(path, l.prefix) {
				l.n--
				hit = l
				break
			}
		}
		var ra time.Duration
		if hit != nil {
			ra = hit.retryAfter
		}
		s.mu.Unlock()
		if hit != nil {
			secs := ra.Seconds()
			h := rec.Header()
			h.Set("X-RateLimit-Limit", "5")
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(time.Now().Add(ra).UnixMilli())/1000, 'f', 3, 64))
			h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
			h.Set("X-RateLimit-Bucket", "fakebucket")
			h.Set("X-RateLimit-Scope", "user")
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
			writeJSON(rec, http.StatusTooManyRequests, map[string]any{"message": "You are being rate limited.", "retry_after": secs, "global": false})
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// Requests returns the REST calls received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) gateway(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"url": s.GatewayURL, "shards": 1})
}

func (s *Server) botUser() map[string]any {
	return map[string]any{"id": s.cfg.BotID, "username": s.cfg.BotName, "bot": true}
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad json"})
		return
	}
	cid := r.PathValue("cid")
	content, _ := body["content"].(string)
	if len([]rune(content)) > 2000 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid Form Body", "code": 50035})
		return
	}
	s.mu.Lock()
	id := s.newIDLocked()
	body["id"] = id
	body["channel_id"] = cid
	body["author"] = s.botUser()
	body["type"] = 0
	body["timestamp"] = time.Now().UTC().Format(time.RFC3339Nano)
	if g := s.guildOf[cid]; g != "" {
		body["guild_id"] = g
	}
	m := decodeMessage(body)
	s.messages = append(s.messages, m)
	s.byID[id] = m
	if !s.cfg.NoEcho {
		s.dispatchLocked("MESSAGE_CREATE", body)
	}
	s.notify()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func decodeMessage(raw map[string]any) *Message {
	b, _ := json.Marshal(raw)
	var m Message
	_ = json.Unmarshal(b, &m)
	m.raw = raw
	return &m
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad json"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.byID[r.PathValue("mid")]
	if !ok || cur.ChannelID != r.PathValue("cid") {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Unknown Message", "code": 10008})
		return
	}
	raw := map[string]any{}
	for k, v := range cur.raw {
		raw[k] = v
	}
	for k, v := range body {
		raw[k] = v
	}
	m := decodeMessage(raw)
	m.Edits = cur.Edits + 1
	*cur = *m
	s.notify()
	writeJSON(w, http.StatusOK, raw)
}

func (s *Server) startThread(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name        string `json:"name"`
		AutoArchive int    `json:"auto_archive_duration"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Name == "" || len([]rune(body.Name)) > 100 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid Form Body", "code": 50035})
		return
	}
	cid, mid := r.PathValue("cid"), r.PathValue("mid")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.threads {
		if t.MessageID == mid {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "A thread has already been created for this message", "code": 160004})
			return
		}
	}
	// A thread started from a message has the message's id.
	t := Thread{ID: mid, ParentID: cid, MessageID: mid, Name: body.Name, AutoArchive: body.AutoArchive}
	s.threads = append(s.threads, t)
	if g := s.guildOf[cid]; g != "" {
		s.guildOf[t.ID] = g
	}
	s.notify()
	writeJSON(w, http.StatusCreated, map[string]any{"id": t.ID, "type": 11, "parent_id": cid, "name": t.Name, "guild_id": s.guildOf[cid]})
}

func (s *Server) react(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reactions = append(s.reactions, Reaction{ChannelID: r.PathValue("cid"), MessageID: r.PathValue("mid"), Emoji: r.PathValue("emoji")})
	s.notify()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Type int `json:"type"`
		Data *struct {
			Content string `json:"content"`
			Flags   int    `json:"flags"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad json"})
		return
	}
	cb := Callback{InteractionID: r.PathValue("iid"), Token: r.PathValue("token"), Type: body.Type}
	if body.Data != nil {
		cb.Content, cb.Flags = body.Data.Content, body.Data.Flags
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.callbacks {
		if c.InteractionID == cb.InteractionID {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Interaction has already been acknowledged.", "code": 40060})
			return
		}
	}
	s.callbacks = append(s.callbacks, cb)
	s.notify()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) followup(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Content string `json:"content"`
		Flags   int    `json:"flags"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad json"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.followups = append(s.followups, Followup{Token: r.PathValue("token"), Content: body.Content, Flags: body.Flags})
	id := s.newIDLocked()
	s.notify()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "content": body.Content, "author": s.botUser()})
}

// Messages returns the bot's messages in a channel (all channels when
// channelID is empty), oldest first, as last edited.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if channelID == "" || m.ChannelID == channelID {
			out = append(out, *m)
		}
	}
	return out
}

// Message returns a bot message by id as last edited.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.byID[id]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Threads returns the threads the bot started.
func (s *Server) Threads() []Thread {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Thread(nil), s.threads...)
}

// Reactions returns the reactions the bot added.
func (s *Server) Reactions() []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Reaction(nil), s.reactions...)
}

// Callbacks returns the interaction responses the bot sent.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Callback(nil), s.callbacks...)
}

// Followups returns the interaction follow-ups the bot sent.
func (s *Server) Followups() []Followup {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Followup(nil), s.followups...)
}
