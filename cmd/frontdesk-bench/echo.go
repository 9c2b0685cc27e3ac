package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// echoServer is the baseline: the same WebSocket library and buffer
// settings as channels/web, one goroutine per connection, and just enough
// of the chat protocol for the bench client (welcome, ack, one "bot"
// message echoing the text). No storage, no classification: what is left
// is the transport and JSON framing.
type echoServer struct {
	up    websocket.Upgrader
	conns atomic.Int64
	mem   *memSampler
	seq   atomic.Uint64
}

var echoWriteBufferPool sync.Pool

func runEcho(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9100", "listen address (loopback only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("echo: --addr: %w", err)
	}
	if err := mustLoopback(host); err != nil {
		return fmt.Errorf("echo: --addr: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	e := newEchoServer()
	srv := &http.Server{Handler: e.handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "echo baseline on ws://%s/ws (metrics on http://%s/metrics)\n", ln.Addr(), ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

func newEchoServer() *echoServer {
	e := &echoServer{up: websocket.Upgrader{
		ReadBufferSize: 1024, WriteBufferSize: 2048, WriteBufferPool: &echoWriteBufferPool,
		CheckOrigin: func(*http.Request) bool { return true },
	}}
	e.mem = newMemSampler(func() int64 { return e.conns.Load() })
	return e
}

func (e *echoServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", e.serveWS)
	mux.HandleFunc("GET /metrics", e.metrics)
	return mux
}

func (e *echoServer) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := e.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	e.conns.Add(1)
	go func() {
		defer e.conns.Add(-1)
		defer ws.Close()
		ws.SetReadLimit(16 << 10)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var f struct {
				Type    string `json:"type"`
				ID      string `json:"id"`
				Visitor string `json:"visitor"`
				Text    string `json:"text"`
			}
			if json.Unmarshal(data, &f) != nil {
				continue
			}
			switch f.Type {
			case "hello":
				err = writeJSON(ws, map[string]any{"type": "welcome", "visitor": f.Visitor, "conversation": "", "history": []any{}})
			case "message":
				seq := e.seq.Add(2)
				err = writeJSON(ws, map[string]any{"type": "ack", "id": f.ID, "seq": seq - 1, "duplicate": false})
				if err == nil {
					err = writeJSON(ws, map[string]any{"type": "message", "message": map[string]any{
						"id": "e" + strconv.FormatUint(seq, 10), "seq": seq, "role": "bot", "text": f.Text, "at": time.Now().UTC()}})
				}
			}
			if err != nil {
				return
			}
		}
	}()
}

func writeJSON(ws *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.WriteMessage(websocket.TextMessage, b)
}

func (e *echoServer) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	s := e.mem.last()
	fmt.Fprintf(w, "%s %d\n", metricConns, e.conns.Load())
	fmt.Fprintf(w, "%s %g\n", metricMemPerConn, s.perConn)
	fmt.Fprintf(w, "%s %d\n", metricMemConns, s.conns)
	fmt.Fprintf(w, "%s %g\n", metricMemAt, float64(s.at.UnixNano())/1e9)
	fmt.Fprintf(w, "%s %d\n", metricRSS, rss())
}

// memSampler is the same measurement as cmd/frontdesk's metrics: heap
// live after the latest GC plus goroutine stacks, minus the same at start,
// divided by the connections open when the GC finished. It samples from a
// finalizer that re-arms itself, so it costs nothing between GCs.
type memSampler struct {
	count    func() int64
	baseline int64
	cur      atomic.Pointer[memSample]
}

type memSample struct {
	perConn float64
	conns   int64
	at      time.Time
}

func newMemSampler(count func() int64) *memSampler {
	runtime.GC()
	m := &memSampler{count: count, baseline: heapAndStacks()}
	m.cur.Store(&memSample{at: time.Now()})
	m.arm()
	return m
}

func (m *memSampler) arm() {
	sentinel := new([16]byte)
	runtime.SetFinalizer(sentinel, func(*[16]byte) {
		n := m.count()
		s := &memSample{conns: n, at: time.Now()}
		if n > 0 {
			s.perConn = float64(heapAndStacks()-m.baseline) / float64(n)
		}
		m.cur.Store(s)
		m.arm()
	})
}

func (m *memSampler) last() memSample { return *m.cur.Load() }

var memMetrics = []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}

func heapAndStacks() int64 {
	s := make([]metrics.Sample, len(memMetrics))
	copy(s, memMetrics)
	metrics.Read(s)
	var n int64
	for _, v := range s {
		if v.Value.Kind() == metrics.KindUint64 {
			n += int64(v.Value.Uint64())
		}
	}
	return n
}

// rss is the resident set size from /proc (0 where unavailable).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		return 0
	}
	return res * int64(os.Getpagesize())
}
