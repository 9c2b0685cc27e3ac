package main

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// The metrics plugin serves GET /metrics in the Prometheus text format:
//
//	FRONTDESK_METRICS        "off" removes /metrics (default on)
//	FRONTDESK_METRICS_TOKEN  if set, /metrics needs "Authorization: Bearer <token>"
//	FRONTDESK_PPROF          "1" serves /debug/pprof/ too, only when listening on loopback
//
// Everything here is cheap per scrape at tens of thousands of connections:
// counters are kept as events happen, and the handoff queue is counted from
// its index bucket (not Engine.Queue, which loads every conversation).
func init() {
	plugins = append(plugins, plugin{name: "metrics", open: openMetrics})
}

// storeCommitSeconds is the wall time of each committed store Update,
// batch wait and fsync included. It is process-wide because the store is
// opened before plugins: serve.go passes observeStoreCommit as
// store.Config.OnCommit.
var storeCommitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "frontdesk_store_commit_seconds",
	Help:    "Wall time of committed store updates, including the wait to share a group commit and the fsync.",
	Buckets: latencyBuckets,
})

// observeStoreCommit is the server's store.Config.OnCommit hook.
func observeStoreCommit(d time.Duration) { storeCommitSeconds.Observe(d.Seconds()) }

// latencyBuckets span 250µs to 10s: an fsync is a few ms, a handled
// message tens of ms, a stall seconds.
var latencyBuckets = []float64{.00025, .0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5, 10}

// Metric names the load generator (cmd/frontdesk-bench) reads.
const (
	metricWebConns        = "frontdesk_web_connections"
	metricConnMemory      = "frontdesk_web_connection_memory_bytes"
	metricConnMemoryConns = "frontdesk_web_connection_memory_sample_connections"
	metricConnMemoryAt    = "frontdesk_web_connection_memory_sample_timestamp_seconds"
)

// handleTracker times each customer message from its arrival (the
// message's stored timestamp is taken before its commit starts) to its
// acknowledgement and to the bot's first answer.
type handleTracker struct {
	ack, handle *prometheus.HistogramVec
	messages    *prometheus.CounterVec

	mu        sync.Mutex
	open      map[string]time.Time // conversation id → arrival of its unanswered message
	lastSweep time.Time
}

// unansweredTTL bounds how long a message waits for a bot answer in the
// tracker (a conversation handed to a person gets none): the map stays
// bounded by the conversations of the last minute.
const unansweredTTL = time.Minute

func (h *handleTracker) event(ev bot.Event) {
	if ev.Kind != bot.EventMessage || ev.Message == nil {
		return
	}
	msg, ch := ev.Message, string(ev.Conversation.Channel)
	dir := "out"
	if msg.Role == bot.RoleCustomer {
		dir = "in"
	}
	if msg.Role == bot.RoleNote {
		dir = "note"
	}
	h.messages.WithLabelValues(ch, dir, string(msg.Role)).Inc()
	now := time.Now()
	switch msg.Role {
	case bot.RoleCustomer:
		// Published right after the ack went out.
		h.ack.WithLabelValues(ch).Observe(now.Sub(msg.At).Seconds())
		h.mu.Lock()
		h.open[ev.Conversation.ID] = msg.At
		if now.Sub(h.lastSweep) > unansweredTTL {
			for id, at := range h.open {
				if now.Sub(at) > unansweredTTL {
					delete(h.open, id)
				}
			}
			h.lastSweep = now
		}
		h.mu.Unlock()
	case bot.RoleBot:
		h.mu.Lock()
		at, ok := h.open[ev.Conversation.ID]
		delete(h.open, ev.Conversation.ID)
		h.mu.Unlock()
		if ok {
			h.handle.WithLabelValues(ch).Observe(now.Sub(at).Seconds())
		}
	}
}

// handoffCounter counts the BucketHandoffs index (conversation id →
// state), at most once a second however often it is scraped.
type handoffCounter struct {
	store bot.Store

	mu            sync.Mutex
	at            time.Time
	waiting, agnt float64
}

func (c *handoffCounter) counts() (waiting, withAgent float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) < time.Second {
		return c.waiting, c.agnt
	}
	var w, a float64
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.store.View(ctx, func(tx bot.Tx) error {
		w, a = 0, 0
		return tx.Scan(bot.BucketHandoffs, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
			var state string
			if err := decode(&state); err != nil {
				return false, err
			}
			switch bot.HandoffState(state) {
			case bot.StateWaiting:
				w++
			case bot.StateAgent:
				a++
			}
			return true, nil
		})
	})
	if err == nil {
		c.waiting, c.agnt, c.at = w, a, time.Now()
	}
	return c.waiting, c.agnt
}

// memSampler measures the server's memory per open web connection: live
// heap after the latest GC plus goroutine stacks, minus the same measured
// when the server started, divided by the connections open at that GC. It
// samples from a finalizer that re-arms itself after every GC, so it costs
// nothing between GCs and never forces one; the sample is as fresh as the
// latest GC (the runtime forces one at least every 2 minutes).
type memSampler struct {
	count    func() int64
	baseline int64
	stopped  atomic.Bool
	cur      atomic.Pointer[memSample]
}

type memSample struct {
	perConn float64
	conns   int64
	at      time.Time
}

func newMemSampler(count func() int64) *memSampler {
	runtime.GC() // a clean baseline: the server before any connection
	m := &memSampler{count: count, baseline: heapAndStacks()}
	m.cur.Store(&memSample{at: time.Now()})
	m.arm()
	return m
}

func (m *memSampler) arm() {
	if m.stopped.Load() {
		return
	}
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

func heapAndStacks() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	var n int64
	for _, v := range s {
		if v.Value.Kind() == metrics.KindUint64 {
			n += int64(v.Value.Uint64())
		}
	}
	return n
}

func openMetrics(_ context.Context, m *Main, mux *http.ServeMux) (func(context.Context) error, error) {
	if m.Getenv("FRONTDESK_METRICS") == "off" {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		storeCommitSeconds,
	)

	// Web channel.
	gauge := func(name, help string, fn func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn)
	}
	counter := func(name, help string, fn func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn)
	}
	reg.MustRegister(
		gauge(metricWebConns, "Open web chat WebSocket connections.", func() float64 { return float64(m.Web.Stats().Connections) }),
		gauge("frontdesk_web_visitors", "Distinct web visitors connected (after hello).", func() float64 { return float64(m.Web.Stats().Visitors) }),
		counter("frontdesk_web_frames_dropped_total", "Outbound web frames never written (client dropped or closing).", func() float64 { return float64(m.Web.Stats().FramesDropped) }),
		counter("frontdesk_web_slow_clients_dropped_total", "Web clients disconnected because their send queue was full.", func() float64 { return float64(m.Web.Stats().SlowClientsDropped) }),
		counter("frontdesk_web_rate_limited_total", "Web messages refused with rate_limited.", func() float64 { return float64(m.Web.Stats().RateLimited) }),
		counter("frontdesk_web_refused_total", "WebSocket upgrades refused at the connection limit or during shutdown.", func() float64 { return float64(m.Web.Stats().Refused) }),
	)

	mem := newMemSampler(func() int64 { return int64(m.Web.Stats().Connections) })
	reg.MustRegister(
		gauge(metricConnMemory, "Server heap and goroutine stacks per open web connection, above the idle server, at the latest GC.", func() float64 { return mem.last().perConn }),
		gauge(metricConnMemoryConns, "Web connections open when the memory per connection was sampled.", func() float64 { return float64(mem.last().conns) }),
		gauge(metricConnMemoryAt, "When the memory per connection was sampled (the end of the latest GC), Unix seconds.", func() float64 {
			return float64(mem.last().at.UnixNano()) / 1e9
		}),
	)

	// Messages and latency, from the engine's events.
	ht := &handleTracker{
		open: map[string]time.Time{},
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "frontdesk_messages_total",
			Help: "Messages stored, by channel, direction (in: from customers; out: to them; note: private) and role."}, []string{"channel", "direction", "role"}),
		ack: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "frontdesk_ack_seconds",
			Help: "From a customer message's arrival to its durable store (the moment it is acknowledged).", Buckets: latencyBuckets}, []string{"channel"}),
		handle: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "frontdesk_handle_seconds",
			Help: "From a customer message's arrival to the bot's answer stored and handed to the channel.", Buckets: latencyBuckets}, []string{"channel"}),
	}
	reg.MustRegister(ht.messages, ht.ack, ht.handle)
	m.Engine.Subscribe(ht.event)

	// Handoff queue.
	hc := &handoffCounter{store: m.DB}
	reg.MustRegister(
		gauge("frontdesk_escalations_waiting", "Conversations waiting for a person.", func() float64 { w, _ := hc.counts(); return w }),
		gauge("frontdesk_conversations_with_agent", "Conversations a person is handling.", func() float64 { _, a := hc.counts(); return a }),
	)

	// Store counters (cumulative since the store opened).
	reg.MustRegister(
		counter("frontdesk_store_updates_total", "Store updates committed.", func() float64 { return float64(m.DB.Stats().Updates) }),
		counter("frontdesk_store_failed_total", "Store updates that returned an error.", func() float64 { return float64(m.DB.Stats().Failed) }),
		counter("frontdesk_store_commits_total", "Store write transactions committed (one fsync each); updates/commits is the group-commit size.", func() float64 { return float64(m.DB.Stats().Commits) }),
		counter("frontdesk_store_update_seconds_total", "Total wall time of committed store updates.", func() float64 { return m.DB.Stats().UpdateTime.Seconds() }),
		counter("frontdesk_store_disk_write_seconds_total", "Time the store spent writing and fsyncing commits.", func() float64 { return m.DB.Stats().DiskWriteTime.Seconds() }),
	)

	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{m}})
	if token := m.Getenv("FRONTDESK_METRICS_TOKEN"); token != "" {
		h = requireBearer(token, h)
	}
	mux.Handle("GET /metrics", h)

	if m.Getenv("FRONTDESK_PPROF") == "1" {
		if loopbackAddr(m.Config.Addr) {
			mux.HandleFunc("GET /debug/pprof/", pprof.Index)
			mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
			mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
			m.Logger.Info("profiling on", "path", "/debug/pprof/")
		} else {
			m.Logger.Warn("FRONTDESK_PPROF ignored: profiles are only served on a loopback listen address", "addr", m.Config.Addr)
		}
	}
	return func(context.Context) error {
		mem.stopped.Store(true)
		return nil
	}, nil
}

// requireBearer refuses requests without "Authorization: Bearer <token>".
func requireBearer(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="frontdesk"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackAddr reports whether a listen address is on the loopback network.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// slogPrinter adapts the logger to promhttp's error log.
type slogPrinter struct{ m *Main }

func (p slogPrinter) Println(v ...any) { p.m.Logger.Warn("metrics", "err", v) }
