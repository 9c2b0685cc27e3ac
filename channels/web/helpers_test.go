package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const readTimeout = 5 * time.Second

// testEnv is a Server with a fakeBot on an httptest server bound to
// 127.0.0.1.
type testEnv struct {
	srv  *Server
	bot  *fakeBot
	http *httptest.Server
	logs *syncBuffer
}

// syncBuffer collects logs from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// MustServe starts a Server with a fresh fakeBot; cfg.Logger defaults to
// a buffer the test can read.
func MustServe(tb testing.TB, cfg Config) *testEnv {
	tb.Helper()
	return MustServeBot(tb, newFakeBot(), cfg)
}

// MustServeBot is MustServe with a prepared fakeBot.
func MustServeBot(tb testing.TB, fb *fakeBot, cfg Config) *testEnv {
	tb.Helper()
	return MustServeWith(tb, fb, fb, cfg)
}

// MustServeWith serves b, a Bot wrapping fb (whose replies go out through
// the new server).
func MustServeWith(tb testing.TB, b Bot, fb *fakeBot, cfg Config) *testEnv {
	tb.Helper()
	logs := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := New(b, cfg)
	fb.send = srv.Send
	ts := httptest.NewUnstartedServer(srv.Handler())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	ts.Listener = l
	ts.Start()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		ts.Close()
	})
	return &testEnv{srv: srv, bot: fb, http: ts, logs: logs}
}

func (e *testEnv) wsURL() string { return "ws" + strings.TrimPrefix(e.http.URL, "http") + "/ws" }

// client is a gorilla WebSocket client speaking the protocol.
type client struct {
	tb testing.TB
	ws *websocket.Conn
}

// frame is any server frame. Message is raw because it is a string in
// error frames and an object in message frames.
type frame struct {
	Type         string          `json:"type"`
	ID           string          `json:"id"`
	Seq          uint64          `json:"seq"`
	Duplicate    bool            `json:"duplicate"`
	Code         string          `json:"code"`
	Message      json.RawMessage `json:"message"`
	Visitor      string          `json:"visitor"`
	Conversation string          `json:"conversation"`
	Identified   bool            `json:"identified"`
	Name         string          `json:"name"`
	History      []wireMessage   `json:"history"`
}

// Text is the error text of an error frame.
func (f frame) Text() string {
	var s string
	_ = json.Unmarshal(f.Message, &s)
	return s
}

// Msg is the message of a message frame.
func (f frame) Msg() wireMessage {
	var m wireMessage
	_ = json.Unmarshal(f.Message, &m)
	return m
}

// MustDial opens a WebSocket to the test server.
func (e *testEnv) MustDial(tb testing.TB, header http.Header) *client {
	tb.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(e.wsURL(), header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		tb.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	c := &client{tb: tb, ws: ws}
	tb.Cleanup(func() { _ = ws.Close() })
	return c
}

// MustConnect dials and says hello as visitor, returning the welcome.
func (e *testEnv) MustConnect(tb testing.TB, visitor string) (*client, frame) {
	tb.Helper()
	c := e.MustDial(tb, nil)
	return c, c.MustHello(visitor, "")
}

func (c *client) MustSend(v any) {
	c.tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.tb.Fatalf("marshal: %v", err)
	}
	c.MustSendRaw(websocket.TextMessage, b)
}

func (c *client) MustSendRaw(mt int, b []byte) {
	c.tb.Helper()
	_ = c.ws.SetWriteDeadline(time.Now().Add(readTimeout))
	if err := c.ws.WriteMessage(mt, b); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// Read returns the next frame or the read error (a *websocket.CloseError
// when the server closed).
func (c *client) Read() (frame, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(readTimeout))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, err
	}
	return f, nil
}

// MustRead returns the next frame, failing the test on any error.
func (c *client) MustRead() frame {
	c.tb.Helper()
	f, err := c.Read()
	if err != nil {
		c.tb.Fatalf("read: %v", err)
	}
	return f
}

// MustReadType reads the next frame and checks its type.
func (c *client) MustReadType(typ string) frame {
	c.tb.Helper()
	f := c.MustRead()
	if f.Type != typ {
		c.tb.Fatalf("got frame %+v (message %s), want type %q", f, f.Message, typ)
	}
	return f
}

func (c *client) MustHello(visitor, token string) frame {
	c.tb.Helper()
	c.MustSend(map[string]string{"type": "hello", "visitor": visitor, "token": token})
	return c.MustReadType("welcome")
}

// MustAsk sends a message and returns its ack and the bot's reply.
func (c *client) MustAsk(id, text string) (ack, reply frame) {
	c.tb.Helper()
	c.MustSend(map[string]string{"type": "message", "id": id, "text": text})
	ack = c.MustReadType("ack")
	if ack.ID != id {
		c.tb.Fatalf("ack id = %q, want %q", ack.ID, id)
	}
	reply = c.MustReadType("message")
	return ack, reply
}

// MustClose reads until the server closes and returns the close code.
func (c *client) MustClose() int {
	c.tb.Helper()
	for {
		_, err := c.Read()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		c.tb.Fatalf("read: %v, want a close frame", err)
	}
}

// visitorID returns a valid anonymous visitor id unique to name.
func visitorID(name string) string {
	v := "visitor-" + name + "-0123456789abcdef"
	if len(v) > maxVisitorID {
		v = v[:maxVisitorID]
	}
	return strings.Map(func(r rune) rune {
		if idByte(byte(r)) && r < 128 {
			return r
		}
		return '_'
	}, v)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(readTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
