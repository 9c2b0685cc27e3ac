package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk-chat/frontdesk/bot"
)

func TestMessageIsAckedThenAnswered(t *testing.T) {
	env := MustServe(t, Config{})
	c, welcome := env.MustConnect(t, visitorID("ask"))
	if welcome.Identified || welcome.Conversation != "" || len(welcome.History) != 0 {
		t.Fatalf("welcome of a new visitor = %+v, want anonymous and empty", welcome)
	}
	ack, reply := c.MustAsk("m1", hoursQuestion)
	if ack.Seq != 1 || ack.Duplicate {
		t.Errorf("ack = %+v, want seq 1, not duplicate", ack)
	}
	if m := reply.Msg(); m.Role != bot.RoleBot || m.Text != hoursAnswer || m.Seq != 2 {
		t.Errorf("reply = %+v, want the bot's hours answer with seq 2", m)
	}
	in := env.bot.Inbounds()
	if len(in) != 1 || in[0].UserID != "v:"+visitorID("ask") || in[0].ClientID != "m1" || in[0].Channel != bot.ChannelWeb || in[0].Profile != nil {
		t.Errorf("inbound = %+v", in)
	}
}

func TestChoiceIsSentAsValueWithLabelAsText(t *testing.T) {
	env := MustServe(t, Config{})
	c, _ := env.MustConnect(t, visitorID("choice"))
	_, reply := c.MustAsk("m1", "do you sell tents?")
	m := reply.Msg()
	if m.Text != dontKnow || len(m.Choices) != 2 {
		t.Fatalf("reply = %+v, want don't-know with two choices", m)
	}
	c.MustSend(map[string]string{"type": "choice", "id": "m2", "value": m.Choices[0].Value, "label": m.Choices[0].Label})
	c.MustReadType("ack")
	if got := c.MustReadType("message").Msg().Text; got != hoursAnswer {
		t.Errorf("answer to the choice = %q, want %q", got, hoursAnswer)
	}
	in := env.bot.Inbounds()
	if last := in[len(in)-1]; last.Choice != "hours" || last.Text != "Opening hours" {
		t.Errorf("inbound = Choice %q Text %q, want value and label", last.Choice, last.Text)
	}
}

func TestAckWaitsForStored(t *testing.T) {
	fb := newFakeBot()
	fb.gate = make(chan struct{})
	env := MustServeBot(t, fb, Config{})
	c, _ := env.MustConnect(t, visitorID("gate"))
	frames := make(chan frame, 8)
	go func() {
		defer close(frames)
		for {
			f, err := c.Read()
			if err != nil {
				return
			}
			frames <- f
		}
	}()
	c.MustSend(map[string]string{"type": "message", "id": "m1", "text": hoursQuestion})

	select {
	case f := <-frames:
		t.Fatalf("got %+v before the message was stored", f)
	case <-time.After(200 * time.Millisecond):
	}
	close(fb.gate)
	if f := <-frames; f.Type != "ack" || f.ID != "m1" {
		t.Fatalf("first frame after Stored = %+v, want the ack", f)
	}
	if f := <-frames; f.Type != "message" || f.Msg().Text != hoursAnswer {
		t.Fatalf("second frame = %+v, want the answer", f)
	}
}

func TestResentIDIsAckedAsDuplicate(t *testing.T) {
	env := MustServe(t, Config{})
	c, _ := env.MustConnect(t, visitorID("dup"))
	first, _ := c.MustAsk("m1", hoursQuestion)
	c.MustSend(map[string]string{"type": "message", "id": "m1", "text": hoursQuestion})
	again := c.MustReadType("ack")
	if !again.Duplicate || again.Seq != first.Seq {
		t.Errorf("second ack = %+v, want duplicate with seq %d", again, first.Seq)
	}
	// Nothing else follows the duplicate: the next frame answers m2.
	ack, _ := c.MustAsk("m2", "and on Sunday?")
	if ack.Seq != 3 {
		t.Errorf("m2 seq = %d, want 3 (m1 stored once)", ack.Seq)
	}
}

func TestReconnectGetsHistory(t *testing.T) {
	env := MustServe(t, Config{})
	v := visitorID("reload")
	c, _ := env.MustConnect(t, v)
	c.MustAsk("m1", hoursQuestion)
	_ = c.ws.Close()

	_, welcome := env.MustConnect(t, v)
	conv, _ := env.bot.conversation("v:" + v)
	if welcome.Conversation != conv.ID || welcome.Visitor != v {
		t.Errorf("welcome = %+v, want conversation %s", welcome, conv.ID)
	}
	if len(welcome.History) != 2 || welcome.History[0].ClientID != "m1" || welcome.History[1].Text != hoursAnswer {
		t.Errorf("history = %+v, want m1 and its answer", welcome.History)
	}
}

func TestSendReachesEveryTab(t *testing.T) {
	env := MustServe(t, Config{})
	v := visitorID("tabs")
	a, _ := env.MustConnect(t, v)
	b, _ := env.MustConnect(t, v)
	other, _ := env.MustConnect(t, visitorID("other"))
	a.MustAsk("m1", hoursQuestion)
	conv, _ := env.bot.conversation("v:" + v)

	if got := b.MustReadType("message").Msg(); got.ClientID != "m1" {
		t.Errorf("tab b first got %+v, want the echo of m1", got)
	}
	b.MustReadType("message")
	if err := env.srv.Send(context.Background(), conv, bot.Message{ID: "x", Seq: 9, Role: bot.RoleAgent, Author: "Dana", Text: "Hi, Dana here."}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*client{"a": a, "b": b} {
		if m := c.MustReadType("message").Msg(); m.Author != "Dana" || m.Role != bot.RoleAgent {
			t.Errorf("tab %s got %+v, want Dana's reply", name, m)
		}
	}
	other.MustSend(map[string]string{"type": "message", "id": "o1", "text": "hello?"})
	if f := other.MustRead(); f.Type != "ack" {
		t.Errorf("another visitor got %+v first, want only their own frames", f)
	}
}

func TestSendRefusesNotesAndOtherChannels(t *testing.T) {
	env := MustServe(t, Config{})
	tests := []struct {
		name string
		conv bot.Conversation
		msg  bot.Message
	}{
		{"note is refused", bot.Conversation{Channel: bot.ChannelWeb, UserID: "v:x"}, bot.Message{Role: bot.RoleNote, Text: "internal"}},
		{"slack conversation is refused", bot.Conversation{Channel: bot.ChannelSlack, UserID: "T:U"}, bot.Message{Role: bot.RoleBot, Text: "hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := env.srv.Send(context.Background(), tt.conv, tt.msg); err == nil {
				t.Error("Send succeeded")
			}
		})
	}
	t.Run("offline visitor is not an error", func(t *testing.T) {
		err := env.srv.Send(context.Background(), bot.Conversation{Channel: bot.ChannelWeb, UserID: "v:nobody"}, bot.Message{Role: bot.RoleAgent, Text: "hi"})
		if err != nil {
			t.Errorf("Send = %v", err)
		}
	})
}

func TestBadFramesGetErrorsAndConnectionSurvives(t *testing.T) {
	long := strings.Repeat("a", bot.DefaultMaxTextBytes+1)
	tests := []struct {
		name     string
		hello    bool // say hello first
		raw      []byte
		binary   bool
		wantCode string
		wantID   string
	}{
		{name: "malformed json is invalid", raw: []byte(`{"type":`), wantCode: bot.ECodeInvalid},
		{name: "json array is invalid", raw: []byte(`[1,2]`), wantCode: bot.ECodeInvalid},
		{name: "missing type is invalid", raw: []byte(`{"id":"x"}`), wantCode: bot.ECodeInvalid, wantID: "x"},
		{name: "unknown type is unknown_type", raw: []byte(`{"type":"typing","id":"t1"}`), wantCode: CodeUnknownType, wantID: "t1"},
		{name: "message before hello is hello_required", raw: []byte(`{"type":"message","id":"m1","text":"hi"}`), wantCode: CodeHelloRequired, wantID: "m1"},
		{name: "short visitor id is invalid", raw: []byte(`{"type":"hello","visitor":"abc"}`), wantCode: bot.ECodeInvalid},
		{name: "visitor id with slash is invalid", raw: []byte(`{"type":"hello","visitor":"aaaaaaaaaaaaaaaa/b"}`), wantCode: bot.ECodeInvalid},
		{name: "invalid utf-8 is invalid_utf8", hello: true, raw: []byte("{\"type\":\"message\",\"id\":\"m1\",\"text\":\"caf\xe9\"}"), wantCode: bot.ECodeInvalidUTF8},
		{name: "empty text is empty", hello: true, raw: []byte(`{"type":"message","id":"m1","text":"  \n "}`), wantCode: bot.ECodeEmpty, wantID: "m1"},
		{name: "text over the limit is too_large", hello: true, raw: []byte(`{"type":"message","id":"m1","text":"` + long + `"}`), wantCode: bot.ECodeTooLarge, wantID: "m1"},
		{name: "missing id is invalid", hello: true, raw: []byte(`{"type":"message","text":"hi"}`), wantCode: bot.ECodeInvalid},
		{name: "id with spaces is invalid", hello: true, raw: []byte(`{"type":"message","id":"a b","text":"hi"}`), wantCode: bot.ECodeInvalid},
		{name: "id over 64 characters is invalid", hello: true, raw: []byte(`{"type":"message","id":"` + strings.Repeat("x", 65) + `","text":"hi"}`), wantCode: bot.ECodeInvalid},
		{name: "choice without value is invalid", hello: true, raw: []byte(`{"type":"choice","id":"c1","label":"x"}`), wantCode: bot.ECodeInvalid, wantID: "c1"},
		{name: "second hello is hello_required", hello: true, raw: []byte(`{"type":"hello","visitor":"` + visitorID("again") + `"}`), wantCode: CodeHelloRequired},
		{name: "binary frame is invalid", hello: true, raw: []byte{1, 2, 3}, binary: true, wantCode: bot.ECodeInvalid},
	}
	env := MustServe(t, Config{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := env.MustDial(t, nil)
			v := visitorID(fmt.Sprint("bad", i))
			if tt.hello {
				c.MustHello(v, "")
			}
			mt := websocket.TextMessage
			if tt.binary {
				mt = websocket.BinaryMessage
			}
			c.MustSendRaw(mt, tt.raw)
			f := c.MustReadType("error")
			if f.Code != tt.wantCode || f.ID != tt.wantID || f.Text() == "" {
				t.Errorf("error = code %q id %q message %q, want code %q id %q", f.Code, f.ID, f.Text(), tt.wantCode, tt.wantID)
			}
			// The connection keeps working.
			if !tt.hello {
				c.MustHello(v, "")
			}
			if _, reply := c.MustAsk("ok1", hoursQuestion); reply.Msg().Text != hoursAnswer {
				t.Errorf("reply after the bad frame = %+v", reply.Msg())
			}
		})
	}
	if n := len(env.bot.Inbounds()); n != len(tests) {
		t.Errorf("the bot got %d messages, want only the %d good ones", n, len(tests))
	}
}

func TestHandleErrorsAreShownSafely(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantText string
	}{
		{"user error is shown", bot.Errorf(bot.ECodeConflict, "That order was already cancelled."), bot.ECodeConflict, "That order was already cancelled."},
		{"internal error is hidden", errBoom, bot.ECodeInternal, internalMessage},
		{"internal *bot.Error is hidden", &bot.Error{Code: bot.ECodeInternal, Message: "db path /var/x", Err: errBoom}, bot.ECodeInternal, internalMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBot()
			fb.handleErr = tt.err
			env := MustServeBot(t, fb, Config{})
			c, _ := env.MustConnect(t, visitorID("err"))
			c.MustSend(map[string]string{"type": "message", "id": "m1", "text": "hi"})
			f := c.MustReadType("error")
			if f.Code != tt.wantCode || f.Text() != tt.wantText || f.ID != "m1" {
				t.Errorf("error frame = %+v %q, want %q %q", f, f.Text(), tt.wantCode, tt.wantText)
			}
			if strings.Contains(f.Text(), "/var/") {
				t.Errorf("error frame leaks internals: %q", f.Text())
			}
		})
	}
}

func TestHistoryFailureClosesWith1011(t *testing.T) {
	fb := newFakeBot()
	fb.historyErr = errBoom
	env := MustServeBot(t, fb, Config{})
	c := env.MustDial(t, nil)
	c.MustSend(map[string]string{"type": "hello", "visitor": visitorID("hist")})
	if f := c.MustReadType("error"); f.Code != bot.ECodeInternal || strings.Contains(f.Text(), "disk") {
		t.Errorf("error = %+v %q", f, f.Text())
	}
	if code := c.MustClose(); code != websocket.CloseInternalServerErr {
		t.Errorf("close code = %d, want 1011", code)
	}
	if !strings.Contains(env.logs.String(), "disk on fire") {
		t.Error("the cause was not logged")
	}
}

func TestOversizeFrameClosesWith1009(t *testing.T) {
	env := MustServe(t, Config{ReadLimit: 1024})
	other, _ := env.MustConnect(t, visitorID("bystander"))
	c, _ := env.MustConnect(t, visitorID("big"))
	c.MustSend(map[string]string{"type": "message", "id": "m1", "text": strings.Repeat("x", 4096)})
	if f := c.MustReadType("error"); f.Code != bot.ECodeTooLarge {
		t.Errorf("error = %+v, want too_large", f)
	}
	if code := c.MustClose(); code != websocket.CloseMessageTooBig {
		t.Errorf("close code = %d, want 1009", code)
	}
	if _, reply := other.MustAsk("m1", hoursQuestion); reply.Msg().Text != hoursAnswer {
		t.Errorf("the other client got %+v", reply.Msg())
	}
}

func TestFloodIsRateLimitedWithoutHurtingOthers(t *testing.T) {
	env := MustServe(t, Config{RatePerMinute: 6, Burst: 3})
	flooder, _ := env.MustConnect(t, visitorID("flood"))
	calm, _ := env.MustConnect(t, visitorID("calm"))
	const n = 20
	for i := range n {
		flooder.MustSend(map[string]string{"type": "message", "id": fmt.Sprint("f", i), "text": "spam"})
	}
	acks, limited := 0, 0
	for acks+limited < n {
		f := flooder.MustRead()
		switch {
		case f.Type == "ack":
			acks++
		case f.Type == "error" && f.Code == bot.ECodeRateLimited:
			limited++
		}
	}
	if acks != 3 || limited != n-3 {
		t.Errorf("acks %d rate-limited %d, want the burst of 3 and %d refused", acks, limited, n-3)
	}
	if _, reply := calm.MustAsk("c1", hoursQuestion); reply.Msg().Text != hoursAnswer {
		t.Errorf("calm visitor got %+v", reply.Msg())
	}
	if got := env.srv.Stats().RateLimited; got != n-3 {
		t.Errorf("Stats.RateLimited = %d, want %d", got, n-3)
	}
	if stored := len(env.bot.Inbounds()); stored != 4 {
		t.Errorf("%d messages reached the bot, want 4", stored)
	}
}

func TestRateLimitIsPerVisitorAcrossTabs(t *testing.T) {
	env := MustServe(t, Config{RatePerMinute: 1, Burst: 1})
	v := visitorID("twotabs")
	a, _ := env.MustConnect(t, v)
	b, _ := env.MustConnect(t, v)
	a.MustAsk("a1", hoursQuestion)
	b.MustReadType("message") // echo
	b.MustReadType("message") // reply
	b.MustSend(map[string]string{"type": "message", "id": "b1", "text": "again"})
	if f := b.MustReadType("error"); f.Code != bot.ECodeRateLimited {
		t.Errorf("second tab got %+v, want rate_limited", f)
	}
}

func TestRepeatedFloodingClosesWith1008(t *testing.T) {
	env := MustServe(t, Config{FloodLimit: 10})
	c := env.MustDial(t, nil)
	for range 20 {
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte("not json")); err != nil {
			break // the server may already have closed
		}
	}
	if code := c.MustClose(); code != websocket.ClosePolicyViolation {
		t.Errorf("close code = %d, want 1008", code)
	}
}

func TestHelloTimeoutCloses(t *testing.T) {
	env := MustServe(t, Config{HelloTimeout: 100 * time.Millisecond})
	c := env.MustDial(t, nil)
	if f := c.MustReadType("error"); f.Code != CodeHelloRequired {
		t.Errorf("error = %+v", f)
	}
	if code := c.MustClose(); code != websocket.ClosePolicyViolation {
		t.Errorf("close code = %d, want 1008", code)
	}
}

func TestOrigins(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		origin  string
		want    int
	}{
		{"no origin header is allowed", nil, "", http.StatusSwitchingProtocols},
		{"same origin is allowed by default", nil, "http://SELF", http.StatusSwitchingProtocols},
		{"other origin is forbidden by default", nil, "https://evil.example", http.StatusForbidden},
		{"listed origin is allowed", []string{"https://shop.example"}, "https://shop.example", http.StatusSwitchingProtocols},
		{"listed origin ignores case and trailing slash", []string{"https://Shop.Example/"}, "https://shop.example", http.StatusSwitchingProtocols},
		{"same origin stays allowed with a list", []string{"https://shop.example"}, "http://SELF", http.StatusSwitchingProtocols},
		{"unlisted origin is forbidden", []string{"https://shop.example"}, "https://shop.example.evil.test", http.StatusForbidden},
		{"other scheme is forbidden", []string{"https://shop.example"}, "http://shop.example", http.StatusForbidden},
		{"star allows any origin", []string{"*"}, "https://anyone.example", http.StatusSwitchingProtocols},
		{"garbage origin is forbidden", nil, "::::", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := MustServe(t, Config{AllowedOrigins: tt.allowed})
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", strings.ReplaceAll(tt.origin, "SELF", strings.TrimPrefix(env.http.URL, "http://")))
			}
			ws, resp, err := websocket.DefaultDialer.Dial(env.wsURL(), h)
			if ws != nil {
				defer ws.Close()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d (err %v)", resp.StatusCode, tt.want, err)
			}
			if tt.want == http.StatusForbidden {
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("403 content type = %q, want JSON", ct)
				}
			}
		})
	}
}

func TestMaxConnectionsAnswers503(t *testing.T) {
	env := MustServe(t, Config{MaxConnections: 2})
	a, _ := env.MustConnect(t, visitorID("cap-a"))
	env.MustConnect(t, visitorID("cap-b"))

	_, resp, err := websocket.DefaultDialer.Dial(env.wsURL(), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third dial: resp %v err %v, want 503", resp, err)
	}
	var body errorFrame
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Code != bot.ECodeUnavailable || body.Message == "" {
		t.Errorf("503 body = %+v (%v), want a JSON error with code unavailable", body, err)
	}
	if _, reply := a.MustAsk("m1", hoursQuestion); reply.Msg().Text != hoursAnswer {
		t.Error("an existing connection stopped working at the cap")
	}
	if env.srv.Stats().Refused != 1 {
		t.Errorf("Stats.Refused = %d, want 1", env.srv.Stats().Refused)
	}

	_ = a.ws.Close()
	waitFor(t, "a slot to free up", func() bool { return env.srv.Stats().Connections == 1 })
	env.MustConnect(t, visitorID("cap-c"))
}

func TestSlowClientIsDropped(t *testing.T) {
	env := MustServe(t, Config{SendQueue: 4})
	slowV := visitorID("slow")
	slow := env.MustDial(t, nil)
	slow.MustHello(slowV, "")
	fast, _ := env.MustConnect(t, visitorID("fast"))

	// The slow client never reads: once the socket buffers are full the
	// writer blocks and the queue fills up.
	conv := bot.Conversation{Channel: bot.ChannelWeb, UserID: "v:" + slowV}
	big := bot.Message{Role: bot.RoleAgent, Text: strings.Repeat("z", 3900)}
	deadline := time.Now().Add(10 * time.Second)
	for env.srv.Stats().SlowClientsDropped == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow client was never dropped")
		}
		_ = env.srv.Send(context.Background(), conv, big)
	}
	if _, reply := fast.MustAsk("m1", hoursQuestion); reply.Msg().Text != hoursAnswer {
		t.Errorf("fast client got %+v", reply.Msg())
	}
	waitFor(t, "the slow connection to go", func() bool { return env.srv.Stats().Connections == 1 })
	if st := env.srv.Stats(); st.FramesDropped == 0 {
		t.Errorf("Stats = %+v, want dropped frames counted", st)
	}
}

func TestShutdownFlushesAndClosesWith1001(t *testing.T) {
	env := MustServe(t, Config{})
	v := visitorID("bye")
	c, _ := env.MustConnect(t, v)
	if err := env.srv.Send(context.Background(), bot.Conversation{Channel: bot.ChannelWeb, UserID: "v:" + v}, bot.Message{ID: "last", Role: bot.RoleSystem, Text: "We'll be right back."}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- env.srv.Shutdown(ctx) }()

	if m := c.MustReadType("message").Msg(); m.ID != "last" {
		t.Errorf("got %+v, want the queued message before the close", m)
	}
	if code := c.MustClose(); code != websocket.CloseGoingAway {
		t.Errorf("close code = %d, want 1001", code)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	_, resp, err := websocket.DefaultDialer.Dial(env.wsURL(), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after shutdown: %v, want 503", err)
	}
	if st := env.srv.Stats(); st.Connections != 0 {
		t.Errorf("Stats after shutdown = %+v", st)
	}
}

func TestStaticAssets(t *testing.T) {
	env := MustServe(t, Config{})
	get := func(t *testing.T, path string, h http.Header) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, env.http.URL+path, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := env.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	t.Run("widget is javascript with an etag", func(t *testing.T) {
		resp, body := get(t, "/widget.js", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/javascript; charset=utf-8" || !strings.Contains(body, "Frontdesk") {
			t.Fatalf("GET /widget.js = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("ETag") == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
			t.Errorf("cache headers = %v", resp.Header)
		}
		again, _ := get(t, "/widget.js", http.Header{"If-None-Match": {resp.Header.Get("ETag")}})
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("revalidation = %d, want 304", again.StatusCode)
		}
	})
	t.Run("demo page embeds the widget with one tag", func(t *testing.T) {
		resp, body := get(t, "/", nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET / = %d", resp.StatusCode)
		}
		if n := strings.Count(body, "<script"); n != 1 || !strings.Contains(body, `<script src="/widget.js"`) {
			t.Errorf("demo page has %d script tags, want one widget embed", n)
		}
		if !strings.Contains(body, "Northwind Outfitters") || resp.Header.Get("Content-Security-Policy") == "" {
			t.Error("demo page is not the shop, or has no CSP")
		}
	})
	t.Run("unknown path is not found", func(t *testing.T) {
		if resp, _ := get(t, "/nope", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("status = %d", resp.StatusCode)
		}
	})
}

func TestEtagMatches(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{`"abc"`, true},
		{`W/"abc"`, true},
		{`"x", "abc"`, true},
		{`*`, true},
		{`"abcd"`, false},
		{``, false},
	}
	for _, tt := range tests {
		if got := etagMatches(tt.header, `"abc"`); got != tt.want {
			t.Errorf("etagMatches(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

// panicBot panics on every message, like a buggy Bot would.
type panicBot struct{ *fakeBot }

func (panicBot) Handle(context.Context, bot.Inbound) (bot.Receipt, error) { panic("bot bug") }

func TestPanicInBotClosesOnlyThatConnection(t *testing.T) {
	fb := newFakeBot()
	env := MustServeWith(t, panicBot{fb}, fb, Config{})
	c, _ := env.MustConnect(t, visitorID("panic"))
	other, _ := env.MustConnect(t, visitorID("panic-other"))
	c.MustSend(map[string]string{"type": "message", "id": "m1", "text": "boom"})
	if f := c.MustReadType("error"); f.Code != bot.ECodeInternal || f.Text() != internalMessage {
		t.Errorf("error = %+v", f)
	}
	if code := c.MustClose(); code != websocket.CloseInternalServerErr {
		t.Errorf("close code = %d, want 1011", code)
	}
	conv := bot.Conversation{Channel: bot.ChannelWeb, UserID: "v:" + visitorID("panic-other")}
	if err := env.srv.Send(context.Background(), conv, bot.Message{ID: "x", Role: bot.RoleAgent, Text: "still here"}); err != nil {
		t.Fatal(err)
	}
	if m := other.MustReadType("message").Msg(); m.Text != "still here" {
		t.Errorf("other client got %+v", m)
	}
	if !strings.Contains(env.logs.String(), "bot bug") {
		t.Error("the panic was not logged")
	}
}
