package web

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk-chat/frontdesk/bot"
)

const (
	// closeGrace is how long a closing side waits for the peer's close
	// reply before dropping the TCP connection.
	closeGrace = 2 * time.Second
	// historyTimeout bounds loading the history for a welcome frame.
	historyTimeout = 10 * time.Second
	// maxDrain bounds what we read and discard from a client after an
	// oversized frame, so closing does not reset the connection before the
	// client has read our error and close frames.
	maxDrain = 1 << 20
)

// conn is one WebSocket connection: one reader goroutine (readLoop) and one
// writer goroutine (writeLoop) fed by a bounded queue. The queue is a slice
// that is nil while idle, plus a one-slot wake channel, rather than a
// buffered channel: an idle connection then holds no queue memory at all.
type conn struct {
	s        *Server
	ws       *websocket.Conn
	wake     chan struct{} // capacity 1: "the queue changed" or "ping due"
	readDone chan struct{} // closed when readLoop ends
	pingDue  atomic.Bool

	mu       sync.Mutex
	queue    [][]byte
	closing  bool   // no more frames are accepted
	closeMsg []byte // close frame to write after the queue; nil: just drop

	// Only the reader goroutine touches these (user is written before the
	// connection is registered, so Send's lookups see it).
	user     string // engine UserID: "v:<visitor>" or "u:<sub>"
	profile  *bot.Profile
	rejected window
}

func newConn(s *Server, ws *websocket.Conn) *conn {
	c := &conn{s: s, ws: ws, wake: make(chan struct{}, 1), readDone: make(chan struct{})}
	ws.SetPongHandler(func(string) error {
		if c.user == "" {
			return nil // the hello deadline stands until hello
		}
		return ws.SetReadDeadline(time.Now().Add(s.cfg.PongWait))
	})
	// Answer a client's close through the writer, so frames already queued
	// go out before the close frame.
	ws.SetCloseHandler(func(code int, _ string) error {
		c.closeWith(code, "")
		return nil
	})
	return c
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// enqueue queues frame for the writer without blocking. When the queue is
// full the client is too slow to keep up: it is dropped at once so it
// cannot hold memory or delay anyone else.
func (c *conn) enqueue(frame []byte) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		c.s.framesDropped.Add(1)
		return false
	}
	if len(c.queue) >= c.s.cfg.SendQueue {
		n := len(c.queue) + 1
		c.queue, c.closing = nil, true
		c.mu.Unlock()
		c.s.framesDropped.Add(uint64(n))
		c.s.slowDropped.Add(1)
		c.s.log.Info("slow client dropped", "remote", c.ws.RemoteAddr().String(), "queued", n)
		_ = c.ws.NetConn().Close()
		c.signal()
		return false
	}
	c.queue = append(c.queue, frame)
	c.mu.Unlock()
	c.signal()
	return true
}

// closeWith asks the writer to write the queued frames, then a close frame
// with code and reason, then to end the connection. It is a no-op when the
// connection is already closing.
func (c *conn) closeWith(code int, reason string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.closeMsg = websocket.FormatCloseMessage(code, reason)
	c.mu.Unlock()
	c.signal()
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// markDead stops the queue when the reader is gone; a close already asked
// for is still written.
func (c *conn) markDead() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
}

func (c *conn) take() (frames [][]byte, closing bool, closeMsg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	frames, c.queue = c.queue, nil
	return frames, c.closing, c.closeMsg
}

// writeLoop is the connection's only writer: queued frames, pings when
// the server's ping timer says so (Server.pingAll), and the final close
// frame. The writes themselves run through offStack so this goroutine
// idles on the smallest stack.
func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	defer c.ws.Close()
	for {
		select {
		case <-c.wake:
		case <-c.readDone:
		}
		if !offStack(c.writeDue) {
			return
		}
	}
}

// writeDue writes a due ping and the queued frames, and the close frame
// when asked to. It reports whether the connection stays open.
func (c *conn) writeDue() bool {
	s := c.s
	if c.pingDue.Swap(false) {
		if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.cfg.WriteWait)); err != nil {
			return false
		}
	}
	frames, closing, closeMsg := c.take()
	if closing && closeMsg == nil {
		s.framesDropped.Add(uint64(len(frames)))
		return false
	}
	for i, f := range frames {
		_ = c.ws.SetWriteDeadline(time.Now().Add(s.cfg.WriteWait))
		if err := c.ws.WriteMessage(websocket.TextMessage, f); err != nil {
			s.framesDropped.Add(uint64(len(frames) - i))
			s.log.Debug("write failed", "remote", c.ws.RemoteAddr().String(), "err", err)
			return false
		}
	}
	if !closing {
		return true
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, closeMsg, time.Now().Add(s.cfg.WriteWait))
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-c.readDone:
	case <-t.C:
	}
	return false
}

// offStack runs fn on a short-lived goroutine and waits for it. Reading
// and writing need deep stacks (JSON, TLS, the engine, syscalls) and a
// grown stack stays with its goroutine, while most connections idle most
// of the time: the connection's own goroutines then idle on small stacks,
// which are most of an idle connection's memory.
func offStack[T any](fn func() T) T {
	done := make(chan T, 1)
	go func() { done <- fn() }()
	return <-done
}

// readLoop is the connection's only reader. Any read error ends the
// connection: gorilla connections cannot be read after an error.
func (c *conn) readLoop() {
	s := c.s
	defer s.wg.Done()
	defer close(c.readDone)
	defer c.markDead()
	defer s.unregister(c)

	helloBy := time.Now().Add(s.cfg.HelloTimeout)
	for {
		if c.isClosing() {
			c.drainFrames()
			return
		}
		deadline := helloBy
		if c.user != "" {
			deadline = time.Now().Add(s.cfg.PongWait)
		}
		_ = c.ws.SetReadDeadline(deadline)
		mt, r, err := c.ws.NextReader()
		if err != nil {
			if c.user == "" && isTimeout(err) {
				c.enqueue(errorJSON(perr("", CodeHelloRequired, "No hello frame was received in time.")))
				c.closeWith(websocket.ClosePolicyViolation, "hello expected")
			}
			return
		}
		// gorilla's SetReadLimit would send its close frame before we could
		// say why, so the limit is enforced here: read one byte past it.
		data, err := io.ReadAll(io.LimitReader(r, s.cfg.ReadLimit+1))
		if err != nil {
			return
		}
		if int64(len(data)) > s.cfg.ReadLimit {
			c.enqueue(errorJSON(perr("", bot.ECodeTooLarge, fmt.Sprintf("That frame is too large: the limit is %d bytes.", s.cfg.ReadLimit))))
			c.closeWith(websocket.CloseMessageTooBig, "frame too large")
			c.drainRaw()
			return
		}
		if mt != websocket.TextMessage {
			c.reject(perr("", bot.ECodeInvalid, "Only text frames carrying JSON are supported."))
			continue
		}
		offStack(func() bool { c.safeHandle(data); return true })
	}
}

// drainFrames reads and discards frames until the client's close reply, so
// our close is orderly.
func (c *conn) drainFrames() {
	_ = c.ws.SetReadDeadline(time.Now().Add(closeGrace))
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		if n, _ := io.CopyN(io.Discard, r, c.s.cfg.ReadLimit+1); n > c.s.cfg.ReadLimit {
			return
		}
	}
}

// drainRaw discards the rest of an oversized frame below the WebSocket
// layer: closing a socket with unread input makes the kernel reset it,
// and the client could lose our error and close frames.
func (c *conn) drainRaw() {
	nc := c.ws.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
	_, _ = io.CopyN(io.Discard, nc, maxDrain)
}

// reject sends an error frame and closes a connection that keeps sending
// frames we refuse.
func (c *conn) reject(e *protoError) {
	c.enqueue(errorJSON(e))
	if c.rejected.add(c.s.cfg.Now()) > c.s.cfg.FloodLimit {
		c.s.log.Info("flooding client closed", "remote", c.ws.RemoteAddr().String(), "user", c.user)
		c.closeWith(websocket.ClosePolicyViolation, "too many rejected frames")
	}
}

// safeHandle is handle with a panic in it (say, in the Bot) costing only
// this connection, as net/http does for handlers.
func (c *conn) safeHandle(data []byte) {
	defer func() {
		if r := recover(); r != nil {
			c.s.log.Error("panic handling a frame", "panic", fmt.Sprint(r), "user", c.user, "stack", string(debug.Stack()))
			c.enqueue(errorJSON(perr("", bot.ECodeInternal, internalMessage)))
			c.closeWith(websocket.CloseInternalServerErr, "internal error")
		}
	}()
	c.handle(data)
}

func (c *conn) handle(data []byte) {
	f, pe := decodeClientFrame(data, c.s.cfg.MaxTextBytes)
	if pe != nil {
		c.reject(pe)
		return
	}
	switch f.Type {
	case typeHello:
		if c.user != "" {
			c.reject(perr("", CodeHelloRequired, "This connection already said hello."))
			return
		}
		c.hello(f)
	case typeMessage, typeChoice:
		if c.user == "" {
			c.reject(perr(f.ID, CodeHelloRequired, "Send a hello frame before messages."))
			return
		}
		c.inbound(f)
	}
}

// hello identifies the visitor, registers the connection for Send and
// answers with the welcome frame and the conversation's history.
func (c *conn) hello(f clientFrame) {
	s := c.s
	user := "v:" + f.Visitor
	var profile *bot.Profile
	if f.Token != "" {
		p, err := VerifyIdentity(s.cfg.IdentitySecret, f.Token, s.cfg.Now())
		if err != nil {
			// The page's token is a shop integration problem; the visitor
			// can still chat anonymously.
			s.log.Info("identity token refused", "err", err)
			c.reject(perr("", bot.ECodeUnauthorized, bot.ErrorMessage(err)))
		} else {
			user, profile = "u:"+p.ExternalID, &p
		}
	}
	c.user, c.profile = user, profile
	// Register before reading the history: a reply stored meanwhile then
	// arrives live (the widget dedupes by message id) instead of being lost.
	s.register(c, user)

	ctx, cancel := context.WithTimeout(s.baseCtx, historyTimeout)
	conv, msgs, err := s.bot.History(ctx, bot.ChannelWeb, user, "", s.cfg.HistoryLimit)
	cancel()
	if err != nil {
		s.log.Error("load history", "user", user, "err", err)
		c.enqueue(errorJSON(perr("", bot.ECodeInternal, internalMessage)))
		c.closeWith(websocket.CloseInternalServerErr, "history unavailable")
		return
	}
	w := welcomeFrame{Type: typeWelcome, Visitor: f.Visitor, Conversation: conv.ID, Identified: profile != nil, History: make([]wireMessage, 0, len(msgs))}
	if profile != nil {
		w.Name = profile.Name
	}
	for _, m := range msgs {
		if m.Role != bot.RoleNote {
			w.History = append(w.History, toWire(m))
		}
	}
	c.enqueue(encode(w))
}

// inbound hands a message or choice to the engine. The ack is sent from the
// Stored callback: only once the message is durable, before the answer.
func (c *conn) inbound(f clientFrame) {
	s := c.s
	user := c.user
	if !s.lim.allow(user, s.cfg.Now()) {
		s.rateLimited.Add(1)
		c.reject(perr(f.ID, bot.ECodeRateLimited, "You're sending messages too quickly. Please wait a moment and try again."))
		return
	}
	in := bot.Inbound{Channel: bot.ChannelWeb, UserID: user, ClientID: f.ID, Text: f.Text, Profile: c.profile}
	if f.Type == typeChoice {
		in.Text, in.Choice = f.Label, f.Value
	}
	text := in.Text
	in.Stored = func(rc bot.Receipt) {
		c.enqueue(encode(ackFrame{Type: typeAck, ID: f.ID, Seq: rc.Seq, Duplicate: rc.Duplicate}))
		if rc.Duplicate {
			return
		}
		// Show the message in the visitor's other tabs too.
		clean, _ := bot.CleanText(text, s.cfg.MaxTextBytes)
		s.broadcast(user, c, encode(messageFrame{Type: typeMessage, Message: wireMessage{
			ID: rc.MessageID, Seq: rc.Seq, ClientID: f.ID, Role: bot.RoleCustomer, Text: clean, At: rc.At,
		}}))
	}
	_, err := s.bot.Handle(s.baseCtx, in)
	switch {
	case err == nil:
	case bot.IsUserError(err):
		c.reject(perr(f.ID, bot.ErrorCode(err), bot.ErrorMessage(err)))
	default:
		s.log.Error("handle message", "user", user, "client_id", f.ID, "err", err)
		c.enqueue(errorJSON(perr(f.ID, bot.ECodeInternal, internalMessage)))
	}
}
