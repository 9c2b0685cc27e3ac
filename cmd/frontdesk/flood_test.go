package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Abuse tests: whatever one client does, other customers keep being served
// and the server's memory stays bounded. They assert outcomes (who was
// refused, dropped, stored, answered), never how long anything took.

// MustServeDefaults starts a server with the web channel's default limits
// (MustServe raises the rate limit for scripted customers).
func MustServeDefaults(tb testing.TB, mutate ...func(*Main)) *Main {
	tb.Helper()
	return MustServe(tb, tb.TempDir(), append([]func(*Main){func(m *Main) {
		m.Config.Web.RatePerMinute, m.Config.Web.Burst = 0, 0
	}}, mutate...)...)
}

// MustCanary checks that an ordinary customer gets an answer.
func MustCanary(tb testing.TB, m *Main, what string) {
	tb.Helper()
	c := MustDial(tb, m, newVisitor())
	if _, reply := c.MustAsk("canary-1", "how much is delivery?"); reply.Text == "" {
		tb.Fatalf("%s: the canary customer got an empty answer", what)
	}
	c.ws.Close()
}

// heapAfterGC is the live heap, for bounds on what an attack makes the
// server hold.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// storedCustomerMessages counts a web visitor's stored messages.
func storedCustomerMessages(tb testing.TB, m *Main, visitor string) int {
	tb.Helper()
	_, msgs, err := m.Engine.History(context.Background(), bot.ChannelWeb, "v:"+visitor, "", 10000)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, msg := range msgs {
		if msg.Role == bot.RoleCustomer {
			n++
		}
	}
	return n
}

func TestFlood_OneClientFarOverTheRateIsCutOffOthersServed(t *testing.T) {
	m := MustServeDefaults(t)
	flooder := MustDial(t, m, newVisitor())
	const sent = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range sent {
			err := flooder.ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"type":"message","id":"f%d","text":"hello %d"}`, i, i)))
			if err != nil {
				return // closed by the server, as it should be
			}
		}
	}()
	MustCanary(t, m, "during a flood")

	// The flooder's connection ends with close code 1008 (policy).
	var closeErr *websocket.CloseError
	acks, limited := 0, 0
	for i := 0; i < 10*sent; i++ {
		f, err := flooder.Read(30 * time.Second)
		if err != nil {
			if !errors.As(err, &closeErr) {
				t.Fatalf("flooder's connection ended with %v, want close 1008", err)
			}
			break
		}
		switch {
		case f.Type == "ack":
			acks++
		case f.Type == "error" && f.Code == bot.ECodeRateLimited:
			limited++
		}
	}
	wg.Wait()
	if closeErr == nil || closeErr.Code != websocket.ClosePolicyViolation {
		t.Fatalf("flooder closed with %v, want 1008", closeErr)
	}
	burst := 5 // web.DefaultBurst
	if stored := storedCustomerMessages(t, m, flooder.visitor); stored > burst+1 || stored != acks {
		t.Errorf("stored %d of the flooder's messages (acked %d), want at most the burst (%d) and exactly the acked ones", stored, acks, burst)
	}
	if limited == 0 || m.Web.Stats().RateLimited == 0 {
		t.Errorf("no rate_limited errors (%d seen)", limited)
	}
	MustCanary(t, m, "after a flood")
}

func TestFlood_ThousandsOfConnectionsFromOneAddress(t *testing.T) {
	const limit, extra = 1500, 500
	m := MustServeDefaults(t, func(m *Main) { m.Config.Web.MaxConnections = limit })
	url := "ws" + strings.TrimPrefix(m.URL(), "http") + "/ws"

	canary := MustDial(t, m, newVisitor()) // holds one of the slots
	var (
		mu       sync.Mutex
		conns    []*websocket.Conn
		refused  int
		otherErr []error
	)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range limit + extra {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				conns = append(conns, ws)
				_ = ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"type":"hello","visitor":"many-%06d-visitor"}`, i)))
			case resp != nil && resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
				refused++
			default:
				otherErr = append(otherErr, err)
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, ws := range conns {
			ws.Close()
		}
	})
	if len(otherErr) > 0 {
		t.Fatalf("%d connections failed other than with 503; first: %v", len(otherErr), otherErr[0])
	}
	if len(conns) != limit-1 || refused != extra+1 {
		t.Errorf("%d accepted and %d refused, want %d and %d (the limit is %d with the canary holding one)", len(conns), refused, limit-1, extra+1, limit)
	}
	// Everyone already connected keeps being served at the limit.
	if _, reply := canary.MustAsk("c1", "where are you based?"); reply.Text == "" {
		t.Fatal("canary got no answer at the connection limit")
	}
	// Freeing slots lets new customers in again.
	for _, ws := range conns[:10] {
		ws.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for m.Web.Stats().Connections > limit-10 {
		if time.Now().After(deadline) {
			t.Fatalf("closed connections still counted: %d", m.Web.Stats().Connections)
		}
		time.Sleep(10 * time.Millisecond)
	}
	MustCanary(t, m, "after slots were freed")
}

func TestFlood_OversizedFramesAreRefusedAndClosed(t *testing.T) {
	m := MustServeDefaults(t)
	big := []byte(`{"type":"message","id":"big","text":"` + strings.Repeat("x", 4<<20) + `"}`)
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	told := make([]bool, n)
	clients := make([]*chatClient, n)
	for i := range clients {
		clients[i] = MustDial(t, m, newVisitor())
	}
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The write may fail half way when the server closes: fine.
			_ = c.ws.WriteMessage(websocket.TextMessage, big)
			for {
				f, err := c.Read(30 * time.Second)
				if err != nil {
					results[i] = err
					return
				}
				if f.Type == "error" {
					if f.Code != bot.ECodeTooLarge {
						results[i] = fmt.Errorf("error %s, want too_large", f.Code)
						return
					}
					told[i] = true
				}
			}
		}()
	}
	MustCanary(t, m, "during oversized frames")
	wg.Wait()
	refused := 0
	for i, err := range results {
		var ce *websocket.CloseError
		if told[i] || (errors.As(err, &ce) && ce.Code == websocket.CloseMessageTooBig) {
			refused++
		}
		// A reset is possible when the client is still writing as the
		// server closes; what matters is that the server ended it.
		if errors.As(err, &ce) && ce.Code != websocket.CloseMessageTooBig {
			t.Errorf("client %d: closed with %d, want 1009", i, ce.Code)
		}
		if err == nil {
			t.Errorf("client %d: connection still open", i)
		}
	}
	if refused == 0 {
		t.Errorf("no client was told too_large or closed with 1009: %v", results)
	}
	MustCanary(t, m, "after oversized frames")
}

func TestFlood_SlowReadersAreDroppedMemoryStaysBounded(t *testing.T) {
	m := MustServeDefaults(t)
	const (
		readers   = 5
		frames    = 4000
		frameText = 3900 // bytes, under the 4000-byte message limit
	)
	// Readers that say hello and then never read again.
	var convs []bot.Conversation
	for range readers {
		c := MustDial(t, m, newVisitor())
		convs = append(convs, bot.Conversation{ID: "slow", Channel: bot.ChannelWeb, UserID: "v:" + c.visitor})
	}
	before := heapAfterGC()
	text := strings.Repeat("y", frameText)
	// As an agent replying in a loop would: 4000 frames of ~4 KB each,
	// about 16 MB per reader, more than loopback socket buffers hold.
	for i := range frames {
		for _, conv := range convs {
			if err := m.Web.Send(context.Background(), conv, bot.Message{ID: fmt.Sprint(i), Seq: uint64(i), Role: bot.RoleAgent, Text: text}); err != nil {
				t.Fatal(err)
			}
		}
	}
	during := heapAfterGC()
	deadline := time.Now().Add(30 * time.Second)
	for m.Web.Stats().SlowClientsDropped < readers {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d slow readers dropped", m.Web.Stats().SlowClientsDropped, readers)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Unbounded queues would hold readers*frames*frameText = 78 MB here.
	const bound = 24 << 20
	if grew := int64(during) - int64(before); grew > bound {
		t.Errorf("heap grew by %d MB while slow readers were fed, want under %d MB", grew>>20, bound>>20)
	}
	MustCanary(t, m, "with slow readers")
}
