// Package web is Frontdesk's website chat channel: a WebSocket server that
// speaks the protocol of docs/protocol.md, the embeddable widget
// (/widget.js, one script tag) and a demo shop page.
//
// The server is a bot.Sender: register it with the engine so bot answers
// and agent replies reach every open tab of the visitor.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Bot is what the web channel needs from the engine; *bot.Engine satisfies
// it. Keeping the interface here lets tests use a small fake.
type Bot interface {
	// Handle stores an inbound message, calls in.Stored once it is durable,
	// then answers through the registered bot.Sender.
	Handle(ctx context.Context, in bot.Inbound) (bot.Receipt, error)
	// History returns the conversation of a channel user and its newest
	// messages, oldest first.
	History(ctx context.Context, ch bot.Channel, userID, thread string, limit int) (bot.Conversation, []bot.Message, error)
}

var (
	_ bot.Sender = (*Server)(nil)
	_ Bot        = (*bot.Engine)(nil)
)

// writeBufferPool is shared by every connection of every Server: an idle
// connection then holds no write buffer at all.
var writeBufferPool sync.Pool

// internalMessage is the generic text shown for errors we must not explain.
var internalMessage = bot.ErrorMessage(errors.New("internal"))

// Server is the web chat channel. Create it with New, mount Handler, and
// register it with the engine as the sender of bot.ChannelWeb.
type Server struct {
	bot     Bot
	cfg     Config
	log     *slog.Logger
	up      websocket.Upgrader
	lim     *limiter
	origins map[string]bool
	anyOrig bool
	assets  assets

	// baseCtx bounds work started by connections (Handle, History). It
	// outlives any one connection so a message being handled when its tab
	// closes is still stored and answered; Shutdown cancels it.
	baseCtx    context.Context
	cancelBase context.CancelFunc

	mu      sync.Mutex
	conns   map[*conn]struct{}
	byUser  map[string][]*conn
	closing bool
	pinging bool // the ping timer is armed
	wg      sync.WaitGroup

	slots         atomic.Int64 // connections held against MaxConnections
	framesDropped atomic.Uint64
	slowDropped   atomic.Uint64
	rateLimited   atomic.Uint64
	refused       atomic.Uint64
}

// New returns a Server answering through b.
func New(b Bot, cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		bot:    b,
		cfg:    cfg,
		log:    cfg.Logger,
		lim:    newLimiter(cfg.RatePerMinute, cfg.Burst),
		conns:  map[*conn]struct{}{},
		byUser: map[string][]*conn{},
		assets: loadAssets(),
	}
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.origins = map[string]bool{}
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			s.anyOrig = true
			continue
		}
		s.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	s.up = websocket.Upgrader{
		ReadBufferSize:    1024,
		WriteBufferSize:   2048,
		WriteBufferPool:   &writeBufferPool,
		EnableCompression: false,
		HandshakeTimeout:  cfg.WriteWait,
		// The origin was checked in serveWS, where the answer can be JSON.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			writeHTTPError(w, status, bot.ECodeInvalid, "WebSocket handshake failed: "+reason.Error())
		},
	}
	return s
}

// Handler serves GET /ws (the WebSocket), GET /widget.js (the widget) and
// GET / (the demo shop page).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("GET /widget.js", s.assets.widget.serve)
	mux.HandleFunc("GET /{$}", s.assets.demo.serve)
	return mux
}

// Stats are counters for monitoring.
type Stats struct {
	// Connections is the number of open WebSocket connections.
	Connections int
	// Visitors is the number of distinct visitors connected (after hello).
	Visitors int
	// FramesDropped counts outbound frames never written: queued for a
	// client that was dropped or was closing.
	FramesDropped uint64
	// SlowClientsDropped counts clients disconnected because their send
	// queue was full.
	SlowClientsDropped uint64
	// RateLimited counts messages refused with "rate_limited".
	RateLimited uint64
	// Refused counts upgrades answered 503 at MaxConnections or during
	// shutdown.
	Refused uint64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Connections: len(s.conns), Visitors: len(s.byUser)}
	s.mu.Unlock()
	st.FramesDropped = s.framesDropped.Load()
	st.SlowClientsDropped = s.slowDropped.Load()
	st.RateLimited = s.rateLimited.Load()
	st.Refused = s.refused.Load()
	return st
}

// Send delivers msg to every open connection of conv.UserID (a visitor may
// have several tabs). It never blocks: a client whose queue is full is
// dropped. A visitor with no open connection is not an error: the message
// is stored, and the widget gets it in the history of its next welcome.
func (s *Server) Send(ctx context.Context, conv bot.Conversation, msg bot.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if conv.Channel != bot.ChannelWeb {
		return fmt.Errorf("web: send: conversation %s is on channel %q", conv.ID, conv.Channel)
	}
	if msg.Role == bot.RoleNote {
		return errors.New("web: send: private notes are never sent to customers")
	}
	s.broadcast(conv.UserID, nil, encode(messageFrame{Type: typeMessage, Message: toWire(msg)}))
	return nil
}

// broadcast enqueues frame to every connection of user except skip.
func (s *Server) broadcast(user string, skip *conn, frame []byte) {
	s.mu.Lock()
	cs := slices.Clone(s.byUser[user])
	s.mu.Unlock()
	for _, c := range cs {
		if c != skip {
			c.enqueue(frame)
		}
	}
}

// Shutdown stops accepting connections, closes every connection with close
// code 1001 (going away) after writing the frames already queued, and waits
// for the connections' goroutines. When ctx ends first, it cancels work in
// progress, drops the remaining connections and returns ctx.Err().
//
// http.Server.Shutdown does not know hijacked WebSocket connections: call
// both.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.closeWith(websocket.CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancelBase()
		return nil
	case <-ctx.Done():
		s.cancelBase()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.ws.NetConn().Close()
		}
		s.mu.Unlock()
		// With their work cancelled and sockets closed the goroutines end
		// promptly; wait a little so the store is not closed under them.
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			s.log.Warn("web shutdown: connections still running")
		}
		return ctx.Err()
	}
}

// serveWS upgrades GET /ws after the origin and capacity checks.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		s.log.Debug("origin refused", "origin", r.Header.Get("Origin"), "host", r.Host)
		writeHTTPError(w, http.StatusForbidden, bot.ECodeForbidden, "This site may not embed the chat widget (origin not allowed).")
		return
	}
	if limit := int64(s.cfg.MaxConnections); limit > 0 && s.slots.Add(1) > limit {
		s.slots.Add(-1)
		s.refused.Add(1)
		w.Header().Set("Retry-After", "30")
		writeHTTPError(w, http.StatusServiceUnavailable, bot.ECodeUnavailable, "The chat is busy right now. Please try again in a moment.")
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.releaseSlot()
		s.refused.Add(1)
		writeHTTPError(w, http.StatusServiceUnavailable, bot.ECodeUnavailable, "The chat is restarting. Please try again in a moment.")
		return
	}
	s.wg.Add(1) // holds Shutdown until this upgrade is registered or gone
	s.mu.Unlock()
	defer s.wg.Done()

	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		s.releaseSlot()
		s.log.Debug("upgrade failed", "err", err)
		return
	}
	c := newConn(s, ws)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.releaseSlot()
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), s.cfg.Now().Add(s.cfg.WriteWait))
		_ = ws.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(2)
	if !s.pinging {
		s.pinging = true
		time.AfterFunc(s.cfg.PingInterval, s.pingAll)
	}
	s.mu.Unlock()
	go c.writeLoop()
	go c.readLoop()
}

// pingAll asks every connection's writer to send a ping, then re-arms
// itself while there are connections. One timer for the whole server
// rather than a ticker per connection: idle connections are mostly memory,
// and a ticker is a few hundred bytes of it.
func (s *Server) pingAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || len(s.conns) == 0 {
		s.pinging = false
		return
	}
	for c := range s.conns {
		c.pingDue.Store(true)
		c.signal()
	}
	time.AfterFunc(s.cfg.PingInterval, s.pingAll)
}

func (s *Server) releaseSlot() {
	if s.cfg.MaxConnections > 0 {
		s.slots.Add(-1)
	}
}

// register files c under its engine user id so Send finds it.
func (s *Server) register(c *conn, user string) {
	s.mu.Lock()
	s.byUser[user] = append(s.byUser[user], c)
	s.mu.Unlock()
}

// unregister forgets c when its reader ends.
func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if c.user != "" {
		l := slices.DeleteFunc(s.byUser[c.user], func(x *conn) bool { return x == c })
		if len(l) == 0 {
			delete(s.byUser, c.user)
		} else {
			s.byUser[c.user] = l
		}
	}
	s.mu.Unlock()
	s.releaseSlot()
}

// originAllowed applies Config.AllowedOrigins. A request without Origin is
// not from a browser page (browsers always send it on WebSocket upgrades)
// and is allowed, as gorilla does.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || s.anyOrig {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return s.origins[strings.ToLower(u.Scheme+"://"+u.Host)]
}

// writeHTTPError answers a plain HTTP request with a JSON error body in the
// shape of the protocol's error frame.
func writeHTTPError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorFrame{Type: typeError, Code: code, Message: msg})
}

// isTimeout reports whether err is a read deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
