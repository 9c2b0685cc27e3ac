package console

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Console WebSocket frames (server → agent's browser). All carry "type".
//
//	{"type":"hello","agent":{…}}
//	{"type":"queue","queue":QueueJSON}          the queue changed
//	{"type":"message","conversation_id":"…","message":MessageJSON}
//	{"type":"state","conversation_id":"…","from":"…","to":"…","agent_id":"…","by":"…","reason":"…"}
//	{"type":"canned"}                           canned replies changed
//	{"type":"refresh"}                          updates were dropped: reload what is shown
//
// The browser sends nothing but pongs; anything else is ignored.

type helloFrame struct {
	Type  string    `json:"type"`
	Agent AgentJSON `json:"agent"`
}

type queueFrame struct {
	Type  string    `json:"type"`
	Queue QueueJSON `json:"queue"`
}

type messageFrame struct {
	Type           string      `json:"type"`
	ConversationID string      `json:"conversation_id"`
	Message        MessageJSON `json:"message"`
}

type stateFrame struct {
	Type           string           `json:"type"`
	ConversationID string           `json:"conversation_id"`
	From           bot.HandoffState `json:"from"`
	To             bot.HandoffState `json:"to"`
	AgentID        string           `json:"agent_id,omitempty"`
	By             string           `json:"by"`
	Reason         string           `json:"reason"`
}

// Buffer sizes: events wait in the hub's inbox; frames wait per socket. A
// socket whose buffer is full is closed (the page reconnects and reloads)
// rather than slowing anyone else.
const (
	hubInbox  = 1024
	connQueue = 256
	readLimit = 4096
	writeWait = 10 * time.Second
)

// hub turns engine events into frames for every open console WebSocket.
type hub struct {
	c        *Console
	up       websocket.Upgrader
	in       chan bot.Event
	kickc    chan struct{}
	overflow atomic.Bool
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}

	mu     sync.Mutex
	conns  map[*agentConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newHub(c *Console) *hub {
	h := &hub{
		c:     c,
		in:    make(chan bot.Event, hubInbox),
		kickc: make(chan struct{}, 1),
		done:  make(chan struct{}),
		conns: map[*agentConn]struct{}{},
		up: websocket.Upgrader{
			ReadBufferSize: 1024, WriteBufferSize: 4096, HandshakeTimeout: writeWait,
			// serveWS checked the origin already and can answer in JSON.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	go h.run()
	return h
}

// publish is the engine subscriber: it must never block.
func (h *hub) publish(ev bot.Event) {
	select {
	case h.in <- ev:
	default:
		h.overflow.Store(true)
		h.kick()
	}
}

// kick asks for the queue to be sent again (presence changed, say).
func (h *hub) kick() {
	select {
	case h.kickc <- struct{}{}:
	default:
	}
}

func (h *hub) run() {
	defer close(h.done)
	for {
		dirty := false
		select {
		case <-h.ctx.Done():
			return
		case ev := <-h.in:
			dirty = h.handle(ev)
		case <-h.kickc:
			dirty = true
		}
		// Batch whatever else is waiting into one queue update.
		for more := true; more; {
			select {
			case ev := <-h.in:
				dirty = h.handle(ev) || dirty
			case <-h.kickc:
				dirty = true
			default:
				more = false
			}
		}
		if h.overflow.Swap(false) {
			h.broadcast(func(*agentConn) any { return map[string]string{"type": "refresh"} })
			dirty = true
		}
		if dirty {
			h.sendQueue()
		}
	}
}

// handle forwards one event and reports whether the queue may have changed.
func (h *hub) handle(ev bot.Event) bool {
	switch ev.Kind {
	case bot.EventMessage:
		if ev.Message == nil {
			return false
		}
		f := messageFrame{Type: "message", ConversationID: ev.Conversation.ID, Message: messageJSON(*ev.Message)}
		data := encodeFrame(f)
		h.each(func(ac *agentConn) {
			if canView(ac.acc, ev.Conversation) {
				ac.push(data)
			}
		})
		return false
	case bot.EventState:
		if ev.Transition == nil {
			return true
		}
		// Every agent learns that a conversation moved (ids and states
		// only), so a page showing it can reload.
		f := stateFrame{Type: "state", ConversationID: ev.Conversation.ID, From: ev.Transition.From, To: ev.Transition.To,
			AgentID: ev.Conversation.AgentID, By: ev.Transition.By, Reason: ev.Transition.Reason}
		data := encodeFrame(f)
		h.each(func(ac *agentConn) { ac.push(data) })
		return true
	default:
		return true
	}
}

func (h *hub) sendQueue() {
	if h.count() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	q, err := h.c.queue(ctx)
	if err != nil {
		if h.ctx.Err() == nil {
			h.c.log.Warn("console queue update", "err", err)
		}
		return
	}
	h.broadcast(func(ac *agentConn) any { return queueFrame{Type: "queue", Queue: q.forAgent(ac.acc)} })
}

func (h *hub) cannedChanged() {
	h.broadcast(func(*agentConn) any { return map[string]string{"type": "canned"} })
}

func (h *hub) broadcast(frame func(*agentConn) any) {
	h.each(func(ac *agentConn) { ac.push(encodeFrame(frame(ac))) })
}

func (h *hub) each(fn func(*agentConn)) {
	h.mu.Lock()
	conns := make([]*agentConn, 0, len(h.conns))
	for ac := range h.conns {
		conns = append(conns, ac)
	}
	h.mu.Unlock()
	for _, ac := range conns {
		fn(ac)
	}
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func encodeFrame(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"type":"refresh"}`)
	}
	return b
}

// closeSession closes the sockets of a session that signed out.
func (h *hub) closeSession(key string) {
	h.each(func(ac *agentConn) {
		if ac.sessionKey == key {
			ac.stop(websocket.ClosePolicyViolation, "signed out")
		}
	})
}

// close shuts every socket and stops the fan-out, waiting (up to ctx) for
// the sockets' goroutines.
func (h *hub) close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.each(func(ac *agentConn) { ac.stop(websocket.CloseGoingAway, "server shutting down") })
	h.cancel()
	waited := make(chan struct{})
	go func() {
		h.wg.Wait()
		<-h.done
		close(waited)
	}()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// agentConn is one open console WebSocket.
type agentConn struct {
	h          *hub
	ws         *websocket.Conn
	acc        Account
	sessionKey string
	send       chan []byte
	quit       chan struct{}
	once       sync.Once
	code       int
	reason     string
}

// push queues a frame; a socket that cannot keep up is closed.
func (ac *agentConn) push(data []byte) {
	select {
	case <-ac.quit:
	case ac.send <- data:
	default:
		ac.stop(websocket.CloseTryAgainLater, "too slow")
	}
}

func (ac *agentConn) stop(code int, reason string) {
	ac.once.Do(func() {
		ac.code, ac.reason = code, reason
		close(ac.quit)
	})
}

// serveWS upgrades an agent's console page to the live-update WebSocket.
// It needs a session cookie and, when the browser sends one, our Origin.
func (c *Console) serveWS(w http.ResponseWriter, r *http.Request) {
	p, err := c.sessionFrom(r)
	if err != nil {
		if err == errUnauthenticated {
			writeError(w, http.StatusUnauthorized, bot.ECodeUnauthorized, "Sign in first.")
			return
		}
		c.writeErr(w, r, err)
		return
	}
	if !c.sameOrigin(r) {
		writeError(w, http.StatusForbidden, bot.ECodeForbidden, "The console WebSocket only accepts its own origin.")
		return
	}
	h := c.hub
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		writeError(w, http.StatusServiceUnavailable, bot.ECodeUnavailable, "The server is shutting down.")
		return
	}
	ws, err := h.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	ac := &agentConn{h: h, ws: ws, acc: p.acc, sessionKey: p.sessionKey, send: make(chan []byte, connQueue), quit: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	h.conns[ac] = struct{}{}
	h.wg.Add(2)
	h.mu.Unlock()

	c.presence.connect(ac.acc.ID)
	ac.push(encodeFrame(helloFrame{Type: "hello", Agent: AgentJSON{ID: p.acc.ID, Name: p.acc.Name, Role: p.acc.Role, Online: true}}))
	h.kick() // the new page gets the queue; others see one more agent online
	go ac.writeLoop()
	go ac.readLoop()
}

func (ac *agentConn) readLoop() {
	h := ac.h
	defer h.wg.Done()
	defer func() {
		ac.stop(websocket.CloseNormalClosure, "")
		h.mu.Lock()
		delete(h.conns, ac)
		h.mu.Unlock()
		h.c.presence.disconnect(ac.acc.ID)
		h.kick()
	}()
	ping := h.c.cfg.PingInterval
	ac.ws.SetReadLimit(readLimit)
	_ = ac.ws.SetReadDeadline(time.Now().Add(2 * ping))
	ac.ws.SetPongHandler(func(string) error { return ac.ws.SetReadDeadline(time.Now().Add(2 * ping)) })
	for {
		if _, _, err := ac.ws.ReadMessage(); err != nil {
			return
		}
		_ = ac.ws.SetReadDeadline(time.Now().Add(2 * ping))
	}
}

func (ac *agentConn) writeLoop() {
	h := ac.h
	defer h.wg.Done()
	defer ac.ws.Close()
	t := time.NewTicker(h.c.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case data := <-ac.send:
			_ = ac.ws.SetWriteDeadline(time.Now().Add(writeWait))
			if err := ac.ws.WriteMessage(websocket.TextMessage, data); err != nil {
				ac.stop(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-t.C:
			// A session that expired or signed out elsewhere ends here.
			ctx, cancel := context.WithTimeout(h.ctx, writeWait)
			_, err := h.c.loadSession(ctx, ac.sessionKey)
			cancel()
			if err == errUnauthenticated {
				ac.stop(websocket.ClosePolicyViolation, "signed out")
				continue
			}
			if err := ac.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				ac.stop(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-ac.quit:
			if ac.code != websocket.CloseAbnormalClosure {
				_ = ac.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(ac.code, ac.reason), time.Now().Add(time.Second))
			}
			return
		}
	}
}
