package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// workerConfig is one load-generating process's share of a run.
type workerConfig struct {
	ID       int           `json:"id"`
	URL      string        `json:"url"`
	Origin   string        `json:"origin"`
	Conns    int           `json:"conns"`
	Rate     float64       `json:"rate"` // messages/s for this worker; 0 with !Max: idle
	Max      bool          `json:"max"`  // closed loop: Inflight messages per connection
	Inflight int           `json:"inflight"`
	Duration time.Duration `json:"duration"`
	Drain    time.Duration `json:"drain"`
	Sources  []string      `json:"sources"`
	Texts    []string      `json:"texts"`
	// PerVisitor, if > 0, is how many messages a visitor sends before it
	// leaves and a new visitor connects in its place (a real chat is a few
	// messages long; one endless conversation makes every message pay for
	// the whole contact's history).
	PerVisitor int `json:"per_visitor"`
	// DialParallel bounds concurrent dials (and hellos) of this worker.
	DialParallel int    `json:"dial_parallel"`
	Nonce        string `json:"nonce"` // makes visitor ids unique per run
}

// report is one JSON line from a worker to the parent.
type report struct {
	Kind string `json:"kind"` // "ready", "tick", "final"
	ID   int    `json:"id"`

	Conns     int64 `json:"conns"` // open now
	DialFails int64 `json:"dial_fails"`
	Dropped   int64 `json:"dropped"` // connections the server closed

	Sent     int64            `json:"sent"`
	Acked    int64            `json:"acked"`
	Answered int64            `json:"answered"`
	Errors   map[string]int64 `json:"errors,omitempty"`
	Rotated  int64            `json:"rotated"` // visitors that left and were replaced
	Overrun  int64            `json:"overrun"` // sends the pacer could not hand out in time
	Pending  int64            `json:"pending"`

	// Latency samples since the previous tick (tick) or of the whole
	// measured phase (final).
	Ack    sparse `json:"ack"`
	Answer sparse `json:"answer"`

	FirstDialErr string `json:"first_dial_err,omitempty"`
}

type pend struct {
	id    string
	sent  time.Time
	seq   uint64
	acked bool
}

// client is one bench connection (one visitor).
type client struct {
	w   *worker
	i   int        // connection number within the worker
	wmu sync.Mutex // one writer at a time; guards ws, gen and n
	ws  *websocket.Conn
	gen int // visitor generation (PerVisitor)
	n   int // messages sent by this visitor

	mu      sync.Mutex
	pending []pend
	cur     atomic.Pointer[websocket.Conn] // the live connection, for readers
}

type worker struct {
	cfg       workerConfig
	clientsMu sync.Mutex // clients grows while connecting, as ticks read it
	clients   []*client
	measure   atomic.Bool // latencies and counts are recorded
	sending   atomic.Bool // max mode: an answer triggers the next send
	closing   atomic.Bool // we are closing the connections ourselves

	conns, dialFails, dropped, rotated     atomic.Int64
	sent, acked, answered, overrun         atomic.Int64
	errMu                                  sync.Mutex
	errs                                   map[string]int64
	histMu                                 sync.Mutex
	tickAck, tickAnswer, allAck, allAnswer hist
	firstDialErr                           atomic.Pointer[string]
}

// frameIn is the part of a server frame the bench reads.
type frameIn struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Seq     uint64 `json:"seq"`
	Code    string `json:"code"`
	Message struct {
		Seq  uint64 `json:"seq"`
		Role string `json:"role"`
	} `json:"message"`
}

// runWorker connects, reports "ready", waits for a line on in ("go"), runs
// the message phase, reports "final", and holds the connections until in
// ends. Reports are JSON lines on out.
func runWorker(ctx context.Context, cfg workerConfig, in io.Reader, out io.Writer) error {
	w := &worker{cfg: cfg, errs: map[string]int64{}}
	enc := json.NewEncoder(out)
	var encMu sync.Mutex
	emit := func(r report) error {
		encMu.Lock()
		defer encMu.Unlock()
		return enc.Encode(r)
	}
	lines := bufio.NewScanner(in)
	cmds := make(chan string)
	go func() {
		defer close(cmds)
		for lines.Scan() {
			cmds <- lines.Text()
		}
	}()

	stopTicks := make(chan struct{})
	var tickWG sync.WaitGroup
	tickWG.Add(1)
	go func() {
		defer tickWG.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopTicks:
				return
			case <-t.C:
				_ = emit(w.report("tick", false))
			}
		}
	}()
	// Ticks run while connecting too, so the parent can show progress.
	w.connectAll(ctx)
	if err := emit(w.report("ready", false)); err != nil {
		return err
	}
	select {
	case cmd, ok := <-cmds:
		if ok && cmd == "go" && (cfg.Rate > 0 || cfg.Max) {
			w.load(ctx)
		}
	case <-ctx.Done():
	}
	close(stopTicks)
	tickWG.Wait()
	if err := emit(w.report("final", true)); err != nil {
		return err
	}
	// Hold the connections until the parent has measured the server.
	select {
	case <-cmds:
	case <-ctx.Done():
	}
	w.closing.Store(true)
	for _, c := range w.clients {
		c.wmu.Lock()
		_ = c.ws.Close()
		c.wmu.Unlock()
	}
	return nil
}

func (w *worker) report(kind string, final bool) report {
	r := report{Kind: kind, ID: w.cfg.ID, Conns: w.conns.Load(), DialFails: w.dialFails.Load(), Dropped: w.dropped.Load(),
		Sent: w.sent.Load(), Acked: w.acked.Load(), Answered: w.answered.Load(), Overrun: w.overrun.Load(), Rotated: w.rotated.Load()}
	w.errMu.Lock()
	if len(w.errs) > 0 {
		r.Errors = map[string]int64{}
		for k, v := range w.errs {
			r.Errors[k] = v
		}
	}
	w.errMu.Unlock()
	w.clientsMu.Lock()
	clients := w.clients
	w.clientsMu.Unlock()
	for _, c := range clients {
		c.mu.Lock()
		r.Pending += int64(len(c.pending))
		c.mu.Unlock()
	}
	w.histMu.Lock()
	if final {
		r.Ack, r.Answer = w.allAck.sparse(), w.allAnswer.sparse()
	} else {
		r.Ack, r.Answer = w.tickAck.sparse(), w.tickAnswer.sparse()
		w.tickAck, w.tickAnswer = hist{}, hist{}
	}
	w.histMu.Unlock()
	if p := w.firstDialErr.Load(); p != nil {
		r.FirstDialErr = *p
	}
	return r
}

func (w *worker) countErr(code string) {
	w.errMu.Lock()
	w.errs[code]++
	w.errMu.Unlock()
}

// dialer returns a dialer bound to source address i (round robin), so
// many connections to one server port are not limited by one source
// address's ephemeral ports.
func (w *worker) dialer(i int) *websocket.Dialer {
	d := &net.Dialer{Timeout: 30 * time.Second, Control: bindNoPort}
	if n := len(w.cfg.Sources); n > 0 {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(w.cfg.Sources[(i+w.cfg.ID)%n])}
	}
	return &websocket.Dialer{
		NetDialContext:   d.DialContext,
		HandshakeTimeout: 30 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
	}
}

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT: with an explicit source address
// the kernel then picks the port at connect time, per destination, instead
// of reserving one per source address at bind time.
func bindNoPort(_, _ string, rc syscall.RawConn) error {
	const ipBindAddressNoPort = 24 // linux/in.h
	// Best effort: without it (not Linux, or old) binds still work, with
	// fewer ports per source address.
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	return nil
}

func (w *worker) connectAll(ctx context.Context) {
	par := max(w.cfg.DialParallel, 1)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range w.cfg.Conns {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := w.connect(ctx, i)
			if err != nil {
				w.dialFails.Add(1)
				s := err.Error()
				w.firstDialErr.CompareAndSwap(nil, &s)
				return
			}
			w.clientsMu.Lock()
			w.clients = append(w.clients, c)
			w.clientsMu.Unlock()
		}()
	}
	wg.Wait()
}

func (w *worker) connect(ctx context.Context, i int) (*client, error) {
	c := &client{w: w, i: i}
	ws, err := w.dialVisitor(ctx, i, 0)
	if err != nil {
		return nil, err
	}
	c.ws = ws
	c.cur.Store(ws)
	w.conns.Add(1)
	go c.readLoop(ws)
	return c, nil
}

// dialVisitor connects and says hello as visitor number i, generation gen.
func (w *worker) dialVisitor(ctx context.Context, i, gen int) (*websocket.Conn, error) {
	h := http.Header{}
	if w.cfg.Origin != "" {
		h.Set("Origin", w.cfg.Origin)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ws, resp, err := w.dialer(i).DialContext(ctx, w.cfg.URL, h)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	visitor := fmt.Sprintf("bench%s%02d%08dg%d", w.cfg.Nonce, w.cfg.ID%100, i, gen)
	_ = ws.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","visitor":"`+visitor+`"}`)); err != nil {
		ws.Close()
		return nil, fmt.Errorf("hello: %w", err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(60 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return nil, fmt.Errorf("welcome: %w", err)
	}
	var f frameIn
	if err := json.Unmarshal(data, &f); err != nil || f.Type != "welcome" {
		ws.Close()
		return nil, fmt.Errorf("welcome: got %.100q", data)
	}
	_ = ws.SetReadDeadline(time.Time{})
	return ws, nil
}

// rotate replaces a visitor that has sent its PerVisitor messages with a
// new one: it waits (bounded) for the last answers, closes, and dials
// again. The caller holds wmu.
func (c *client) rotate() error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		n := len(c.pending)
		c.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	old := c.ws
	ws, err := c.w.dialVisitor(context.Background(), c.i, c.gen+1)
	if err != nil {
		return err
	}
	c.cur.Store(ws) // before closing: the old reader sees it was retired
	_ = old.Close()
	c.mu.Lock()
	c.pending = nil // answers that never came are counted lost with the old visitor
	c.mu.Unlock()
	c.ws, c.gen, c.n = ws, c.gen+1, 0
	c.w.rotated.Add(1)
	go c.readLoop(ws)
	return nil
}

// send writes the client's next message.
func (c *client) send() {
	// Hold the write lock from numbering to writing, so messages go out
	// in the order they were numbered.
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if pv := c.w.cfg.PerVisitor; pv > 0 && c.n >= pv {
		if err := c.rotate(); err != nil {
			c.w.countErr("reconnect")
			return
		}
	}
	c.mu.Lock()
	c.n++
	id := "m" + strconv.Itoa(c.n)
	text := c.w.cfg.Texts[(c.n-1)%len(c.w.cfg.Texts)]
	c.pending = append(c.pending, pend{id: id, sent: time.Now()})
	c.mu.Unlock()
	b, _ := json.Marshal(map[string]string{"type": "message", "id": id, "text": text})
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err := c.ws.WriteMessage(websocket.TextMessage, b)
	if err != nil {
		c.w.countErr("write")
		c.mu.Lock()
		c.pending = c.pending[:len(c.pending)-1]
		c.mu.Unlock()
		return
	}
	if c.w.measure.Load() {
		c.w.sent.Add(1)
	}
}

func (c *client) readLoop(ws *websocket.Conn) {
	w := c.w
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			if c.cur.Load() != ws {
				return // retired by rotate: a new visitor took its place
			}
			w.conns.Add(-1)
			if !w.closing.Load() {
				w.dropped.Add(1)
			}
			return
		}
		var f frameIn
		if json.Unmarshal(data, &f) != nil {
			w.countErr("bad_frame")
			continue
		}
		now := time.Now()
		measure := w.measure.Load()
		next := false
		switch f.Type {
		case "ack":
			c.mu.Lock()
			for i := range c.pending {
				if p := &c.pending[i]; p.id == f.ID && !p.acked {
					p.acked, p.seq = true, f.Seq
					if measure {
						w.acked.Add(1)
						w.histMu.Lock()
						w.tickAck.add(now.Sub(p.sent))
						w.allAck.add(now.Sub(p.sent))
						w.histMu.Unlock()
					}
					break
				}
			}
			c.mu.Unlock()
		case "message":
			if f.Message.Role == "customer" {
				continue
			}
			c.mu.Lock()
			for i := range c.pending {
				if p := c.pending[i]; p.acked && p.seq < f.Message.Seq {
					c.pending = append(c.pending[:i], c.pending[i+1:]...)
					if measure {
						w.answered.Add(1)
						w.histMu.Lock()
						w.tickAnswer.add(now.Sub(p.sent))
						w.allAnswer.add(now.Sub(p.sent))
						w.histMu.Unlock()
					}
					next = true
					break
				}
			}
			c.mu.Unlock()
		case "error":
			w.countErr(f.Code)
			c.mu.Lock()
			for i := range c.pending {
				if c.pending[i].id == f.ID {
					c.pending = append(c.pending[:i], c.pending[i+1:]...)
					next = true
					break
				}
			}
			c.mu.Unlock()
		}
		if next && w.cfg.Max && w.sending.Load() {
			if w.cfg.PerVisitor > 0 {
				go c.send() // it may rotate, which waits for this reader
			} else {
				c.send()
			}
		}
	}
}

// load runs the message phase: closed loop (Max) or paced at Rate.
func (w *worker) load(ctx context.Context) {
	if len(w.clients) == 0 {
		return
	}
	w.measure.Store(true)
	w.sending.Store(true)
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Duration)
	defer cancel()
	if w.cfg.Max {
		for _, c := range w.clients {
			for range max(w.cfg.Inflight, 1) {
				go c.send()
			}
		}
		<-ctx.Done()
	} else {
		w.pace(ctx)
	}
	w.sending.Store(false)
	// Let the answers to messages already sent arrive (they still count:
	// each was sent inside the window); the rest are reported as pending.
	deadline := time.Now().Add(w.cfg.Drain)
	for time.Now().Before(deadline) {
		if w.pendingCount() == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.measure.Store(false)
}

func (w *worker) pendingCount() int {
	n := 0
	for _, c := range w.clients {
		c.mu.Lock()
		n += len(c.pending)
		c.mu.Unlock()
	}
	return n
}

// pace hands out sends at cfg.Rate, round robin over the connections, to
// a few writer goroutines. It never waits for answers (open loop), so a
// slow server shows as latency, not as a lower offered rate.
func (w *worker) pace(ctx context.Context) {
	jobs := make(chan *client, 8192)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				c.send()
			}
		}()
	}
	start := time.Now()
	var done int64
	next := 0
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
		}
		due := int64(time.Since(start).Seconds() * w.cfg.Rate)
		for ; done < due; done++ {
			c := w.clients[next%len(w.clients)]
			next++
			select {
			case jobs <- c:
			default:
				w.overrun.Add(1)
			}
		}
	}
	close(jobs)
	wg.Wait()
}

func newNonce() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
