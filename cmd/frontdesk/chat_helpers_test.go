package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testFAQ is the shipped knowledge base, so end-to-end tests exercise what
// a shop gets.
const testFAQ = "../../faq.yaml"

// MustServe starts a real Frontdesk on 127.0.0.1:0 with its store in dir
// and stops it when the test ends (unless the test stops it first).
func MustServe(tb testing.TB, dir string, mutate ...func(*Main)) *Main {
	tb.Helper()
	cfg := Config{Addr: "127.0.0.1:0", DataDir: dir, FAQPath: testFAQ, FAQExplicit: true}
	m := NewMain(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.Getenv = func(string) string { return "" }
	// Scripted customers type faster than people: the rate limit itself
	// is tested with its defaults (see TestServe_FloodIsRateLimited).
	m.Config.Web.RatePerMinute, m.Config.Web.Burst = 6000, 100
	for _, f := range mutate {
		f(m)
	}
	if err := m.Open(context.Background()); err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { MustStop(tb, m) })
	return m
}

// MustStop shuts m down; stopping twice is harmless.
func MustStop(tb testing.TB, m *Main) {
	tb.Helper()
	if m.DB == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		tb.Errorf("close: %v", err)
	}
	m.DB = nil
}

// frame is any server frame of the web chat protocol (docs/protocol.md).
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
	History      []wireMsg       `json:"history"`
}

type wireMsg struct {
	ID      string `json:"id"`
	Seq     uint64 `json:"seq"`
	Role    string `json:"role"`
	Text    string `json:"text"`
	Author  string `json:"author"`
	Choices []struct {
		Label string `json:"label"`
		Value string `json:"value"`
	} `json:"choices"`
}

// msg decodes a "message" frame's message; errors carry a string instead.
func (f frame) msg(tb testing.TB) wireMsg {
	tb.Helper()
	var m wireMsg
	if err := json.Unmarshal(f.Message, &m); err != nil {
		tb.Fatalf("frame %s: message %s: %v", f.Type, f.Message, err)
	}
	return m
}

// errText is an error frame's message.
func (f frame) errText() string {
	var s string
	_ = json.Unmarshal(f.Message, &s)
	return s
}

// chatClient is a customer on a real WebSocket connection.
type chatClient struct {
	tb      testing.TB
	ws      *websocket.Conn
	visitor string
	welcome frame
	sent    int // messages sent by Say, for their client ids
}

var visitorSeq atomic.Int64

// newVisitor returns a fresh valid visitor id.
func newVisitor() string {
	return fmt.Sprintf("visitor-%012d-test", visitorSeq.Add(1))
}

// MustDial opens the chat as visitor (hello, then welcome).
func MustDial(tb testing.TB, m *Main, visitor string) *chatClient {
	tb.Helper()
	return MustDialToken(tb, m, visitor, "")
}

// MustDialToken opens the chat with an identity token.
func MustDialToken(tb testing.TB, m *Main, visitor, token string) *chatClient {
	tb.Helper()
	url := "ws" + strings.TrimPrefix(m.URL(), "http") + "/ws"
	h := http.Header{"Origin": {m.URL()}}
	ws, resp, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		tb.Fatalf("dial %s: %v (HTTP %d)", url, err, status)
	}
	c := &chatClient{tb: tb, ws: ws, visitor: visitor}
	tb.Cleanup(func() { ws.Close() })
	c.MustWrite(map[string]string{"type": "hello", "visitor": visitor, "token": token})
	c.welcome = c.MustNext("welcome")
	return c
}

// MustWrite sends one JSON frame.
func (c *chatClient) MustWrite(v any) {
	c.tb.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// MustWriteRaw sends one text frame as is.
func (c *chatClient) MustWriteRaw(b []byte) {
	c.tb.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// Read returns the next frame or an error (closed connection, timeout).
func (c *chatClient) Read(timeout time.Duration) (frame, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
	var f frame
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("decode %s: %w", data, err)
	}
	return f, nil
}

// MustNext reads frames until one of type typ arrives, skipping transient
// system messages (queue updates) in between when typ is not "message".
func (c *chatClient) MustNext(typ string) frame {
	c.tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		f, err := c.Read(time.Until(deadline))
		if err != nil {
			c.tb.Fatalf("waiting for %q: %v", typ, err)
		}
		if f.Type == typ {
			return f
		}
		if f.Type == "error" && typ != "error" {
			c.tb.Fatalf("waiting for %q got error %s: %s", typ, f.Code, f.Message)
		}
	}
	c.tb.Fatalf("no %q frame in time", typ)
	return frame{}
}

// MustReply reads until a message frame from role arrives.
func (c *chatClient) MustReply(role string) wireMsg {
	c.tb.Helper()
	for {
		m := c.MustNext("message").msg(c.tb)
		if m.Role == role {
			return m
		}
	}
}

// MustAsk sends text with a client id and returns its ack and the bot's
// first reply.
func (c *chatClient) MustAsk(id, text string) (frame, wireMsg) {
	c.tb.Helper()
	c.MustWrite(map[string]string{"type": "message", "id": id, "text": text})
	ack := c.MustNext("ack")
	if ack.ID != id {
		c.tb.Fatalf("ack for %q, want %q", ack.ID, id)
	}
	return ack, c.MustReply("bot")
}

// Say sends text with a fresh client id and returns the bot's replies up to
// the one containing until (the last reply expected for this message).
func (c *chatClient) Say(text, until string) []string {
	c.tb.Helper()
	c.sent++
	c.MustWrite(map[string]string{"type": "message", "id": fmt.Sprintf("say-%d", c.sent), "text": text})
	var got []string
	for {
		f := c.MustNext("message")
		m := f.msg(c.tb)
		if m.Role != "bot" {
			continue
		}
		got = append(got, m.Text)
		if strings.Contains(m.Text, until) {
			return got
		}
	}
}
