package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/channels/web"
	"github.com/frontdesk-chat/frontdesk/faq"
	"github.com/frontdesk-chat/frontdesk/store"
)

// Config is everything Main needs; cmd parses flags and environment into it.
// The zero value serves the embedded FAQ on 127.0.0.1:8080 from ./data.
type Config struct {
	// Addr is the listen address. Default "127.0.0.1:8080"; tests use ":0".
	Addr string
	// DataDir holds frontdesk.db. Default "data".
	DataDir string
	// FAQPath is the FAQ file. Default "faq.yaml"; when it is missing and
	// FAQExplicit is false the embedded FAQ is served.
	FAQPath     string
	FAQExplicit bool
	// FAQPoll is how often the FAQ file is checked for edits. Default 2s.
	FAQPoll time.Duration
	// IdentitySecret verifies visitors' identity tokens. Default none:
	// tokens are refused.
	IdentitySecret []byte
	// AllowedOrigins are the sites that may embed the widget. Default:
	// same origin only.
	AllowedOrigins []string
	// NoSync skips fsync; only for tests and benchmarks.
	NoSync bool
	// Web tunes the chat channel. Default: web.Config{}.
	Web web.Config
}

// plugin wires one optional part of the product (a channel, the agent
// console, order sources) into Main. Each lives in its own file of this
// package and appends itself to plugins from an init function, so parts
// can be added without touching Open.
type plugin struct {
	name string
	// open starts the part; routes go on mux. The returned close (may be
	// nil) is called on shutdown before the store closes, in reverse order.
	open func(ctx context.Context, m *Main, mux *http.ServeMux) (close func(context.Context) error, err error)
	// consumer marks parts that only react to the engine's events
	// (webhooks, surveys): they close after every other part, so they still
	// see the events that draining the channels causes.
	consumer bool
}

// plugins are opened in order of registration (file name order).
var plugins []plugin

// Main is a running Frontdesk: store, engine, channels and HTTP server.
// Tests start it on ":0" with a temp data directory.
type Main struct {
	Config Config
	Logger *slog.Logger
	// Getenv reads plugin settings (tokens, secrets). Default os.Getenv;
	// tests replace it.
	Getenv func(string) string

	DB     *store.DB
	Engine *bot.Engine
	Web    *web.Server

	ln        net.Listener
	server    *http.Server
	watcher   *faq.Watcher
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closers   []func(context.Context) error // intake parts, closed first
	consumers []func(context.Context) error // event consumers, closed last
}

// NewMain returns a Main with cfg's defaults filled in.
func NewMain(cfg Config, logger *slog.Logger) *Main {
	if cfg.Addr == "" {
		cfg.Addr = defaultAddr
	}
	if cfg.DataDir == "" {
		cfg.DataDir = defaultData
	}
	if cfg.FAQPath == "" {
		cfg.FAQPath = defaultFAQ
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Main{Config: cfg, Logger: logger, Getenv: env}
}

// Open loads the FAQ, opens the store, starts the channels and begins
// serving. It returns once the listener is bound.
func (m *Main) Open(ctx context.Context) (err error) {
	log := m.Logger
	topics, src, err := loadTopics(m.Config.FAQPath, m.Config.FAQExplicit)
	if err != nil {
		return err
	}
	k, err := buildKnowledge(topics)
	if err != nil {
		return fmt.Errorf("faq %s: %w", src, err)
	}
	log.Info("faq loaded", "source", src, "topics", len(topics))

	// Bind first: a busy port fails before anything else has started.
	m.ln, err = net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", m.Config.Addr, err)
	}
	defer func() {
		if err != nil {
			m.ln.Close()
		}
	}()

	m.DB, err = store.Open(store.Config{
		Path: filepath.Join(m.Config.DataDir, "frontdesk.db"), NoSync: m.Config.NoSync, Logger: log,
		OnCommit: observeStoreCommit, // metrics.go
	})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// Parts that did start stop before the store closes.
			m.closePlugins(context.Background())
			m.DB.Close()
		}
	}()
	m.Engine = bot.NewEngine(m.DB, bot.Config{Logger: log})
	m.Engine.SetKnowledge(k)

	wcfg := m.Config.Web
	wcfg.Logger = log.With("channel", "web")
	if len(m.Config.IdentitySecret) > 0 {
		wcfg.IdentitySecret = m.Config.IdentitySecret
	}
	if len(m.Config.AllowedOrigins) > 0 {
		wcfg.AllowedOrigins = m.Config.AllowedOrigins
	}
	m.Web = web.New(m.Engine, wcfg)
	m.Engine.Register(bot.ChannelWeb, m.Web)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", m.healthz)
	mux.Handle("/", m.Web.Handler())
	for _, p := range plugins {
		closeFn, perr := p.open(ctx, m, mux)
		if perr != nil {
			return fmt.Errorf("%s: %w", p.name, perr)
		}
		switch {
		case closeFn == nil:
		case p.consumer:
			m.consumers = append(m.consumers, closeFn)
		default:
			m.closers = append(m.closers, closeFn)
		}
	}

	m.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	bg, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.server.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http serve", "err", err)
		}
	}()
	if src == m.Config.FAQPath {
		m.watcher = &faq.Watcher{Path: src, Interval: m.Config.FAQPoll, Logger: log, OnChange: m.reload}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			_ = m.watcher.Run(bg)
		}()
	}
	log.Info("serving", "url", m.URL(), "data", m.Config.DataDir)
	return nil
}

// reload swaps in a new FAQ; a file that loads but cannot be trained keeps
// the last good knowledge.
func (m *Main) reload(topics []bot.Topic) {
	k, err := buildKnowledge(topics)
	if err != nil {
		m.Logger.Warn("faq reload failed", "path", m.Config.FAQPath, "err", err)
		return
	}
	m.Engine.SetKnowledge(k)
	m.Logger.Info("faq reloaded", "path", m.Config.FAQPath, "topics", len(topics))
}

// Reload re-reads the FAQ now (SIGHUP).
func (m *Main) Reload() {
	if m.watcher == nil {
		m.Logger.Info("faq reload skipped: serving the embedded faq")
		return
	}
	// The watcher logs a broken file itself and keeps the last good one.
	_ = m.watcher.Reload()
}

// URL is the base URL the server listens on.
func (m *Main) URL() string {
	return "http://" + m.ln.Addr().String()
}

func (m *Main) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := m.DB.View(r.Context(), func(bot.Tx) error { return nil }); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable"})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
}

// Close shuts down in order: stop accepting, close the channels (which
// drains messages in flight), then close the store.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	if m.server != nil {
		errs = append(errs, m.server.Shutdown(ctx))
	}
	if m.Web != nil {
		errs = append(errs, m.Web.Shutdown(ctx))
	}
	errs = append(errs, m.closePlugins(ctx))
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	return errors.Join(errs...)
}

// closePlugins closes the intake parts (channels, console) in reverse
// order of opening, then the event consumers, so nothing a draining channel
// publishes is lost.
func (m *Main) closePlugins(ctx context.Context) error {
	var errs []error
	for _, list := range []*[]func(context.Context) error{&m.closers, &m.consumers} {
		for i := len(*list) - 1; i >= 0; i-- {
			errs = append(errs, (*list)[i](ctx))
		}
		*list = nil
	}
	return errors.Join(errs...)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	addr := fs.String("addr", envOr("FRONTDESK_ADDR", defaultAddr), "listen address (env FRONTDESK_ADDR)")
	data := dataFlag(fs)
	faqPath, explicit := faqFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := Config{
		Addr: *addr, DataDir: *data, FAQPath: *faqPath, FAQExplicit: explicit(),
		IdentitySecret: []byte(env("FRONTDESK_IDENTITY_SECRET")),
		AllowedOrigins: splitList(env("FRONTDESK_ALLOWED_ORIGINS")),
		Web:            webLimitsFromEnv(),
	}
	log := newLogger(stderr)
	m := NewMain(cfg, log)
	if err := m.Open(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Frontdesk is running: open %s and chat\n", m.URL())

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			m.Reload()
			continue
		case <-ctx.Done():
		}
		break
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return m.Close(sctx)
}

// webLimitsFromEnv reads the web channel's limits; unset means the
// channel's defaults, except MaxConnections, which defaults to the
// open-file limit minus room for the store, health checks and other
// channels: at the limit new widgets get a clean 503 instead of hanging in
// the accept backlog (docs/performance.md).
//
//	FRONTDESK_WEB_RATE             messages per visitor per minute (default 20)
//	FRONTDESK_WEB_BURST            messages a visitor may send at once (default 5)
//	FRONTDESK_WEB_MAX_CONNECTIONS  open widget connections (default: open-file limit - 128)
func webLimitsFromEnv() web.Config {
	atoi := func(k string) int { n, _ := strconv.Atoi(env(k)); return n }
	cfg := web.Config{RatePerMinute: atoi("FRONTDESK_WEB_RATE"), Burst: atoi("FRONTDESK_WEB_BURST"), MaxConnections: atoi("FRONTDESK_WEB_MAX_CONNECTIONS")}
	var lim syscall.Rlimit
	if cfg.MaxConnections == 0 && syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur > 256 && lim.Cur < 1<<31 {
		cfg.MaxConnections = int(lim.Cur) - 128
	}
	return cfg
}
