// Package slack is Frontdesk's Slack channel. On the customer side the bot
// answers direct messages and mentions in channels it is invited to, in the
// thread of the question. On the agent side escalations from every channel
// are posted to an agents' Slack channel, one thread per conversation, with
// Claim and Resolve buttons; the claiming agent answers the customer from
// that thread with messages that start with "reply:", and everything else
// written there stays a private note.
//
// Slack reaches the adapter through Socket Mode (an app-level token; no
// public URL needed) or the Events API over HTTP (Handler, with request
// signature verification), or both. See docs/slack.md.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Errors of the adapter.
var (
	// ErrNoBotToken: Config.BotToken is required.
	ErrNoBotToken = errors.New("slack: no bot token")
	// ErrNoIntake: neither Socket Mode (AppToken) nor the Events API
	// (SigningSecret) is configured, so Slack could not reach the bot.
	ErrNoIntake = errors.New("slack: set an app-level token (Socket Mode) or a signing secret (Events API)")
	// ErrClosed: the adapter was closed.
	ErrClosed = errors.New("slack: closed")
	// ErrNoAddress: a conversation has no Slack channel to reply into.
	ErrNoAddress = errors.New("slack: conversation has no slack address")
)

// Config tunes an Adapter. Only BotToken is required, plus AppToken or
// SigningSecret so Slack can reach the bot.
type Config struct {
	// BotToken is the bot user OAuth token (xoxb-…). Required.
	BotToken string
	// AppToken is the app-level token (xapp-…) with connections:write.
	// When set the adapter connects through Socket Mode. Default: none.
	AppToken string
	// SigningSecret verifies Events API requests (Handler). Default: none,
	// and Handler refuses every request.
	SigningSecret string
	// AgentChannel is the channel id escalations are posted to unless a
	// route matches. Default: none; with no routes either, the agent side
	// is off.
	AgentChannel string
	// Routes send escalations to other channels by stage or topic; the
	// first match wins. Default: none.
	Routes []Route
	// APIURL is the Web API base URL, with a trailing slash. Default
	// Slack's (https://slack.com/api/); tests point it at a fake.
	APIURL string
	// HTTPClient makes Web API calls. Default: a client with a 30s timeout.
	HTTPClient *http.Client
	// Logger receives the adapter's logs (never tokens or secrets).
	// Default: the engine's logger.
	Logger *slog.Logger
	// Workers bounds how many Slack events are handled at once. Default 8.
	Workers int
	// QueueSize is how many acknowledged events may wait for a worker;
	// when full, intake waits (and Slack may redeliver, which is
	// deduplicated). Default 256.
	QueueSize int
	// HandleTimeout bounds the handling of one event. Default 30s.
	HandleTimeout time.Duration
	// DedupeTTL is how long event ids are remembered. Slack retries for
	// about an hour at most. Default 1h.
	DedupeTTL time.Duration
	// DedupeSize bounds how many event ids are remembered. Default 10000.
	DedupeSize int
	// PingInterval is how long Socket Mode waits for Slack's WebSocket
	// pings before it reconnects. Default 30s (socketmode's default).
	PingInterval time.Duration
	// MaxPending bounds the agent-side work (escalations to post, messages
	// to mirror) waiting for Slack; beyond it new work is dropped and
	// logged. Default 10000.
	MaxPending int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c *Config) defaults(e *bot.Engine) {
	if c.APIURL == "" {
		c.APIURL = slackapi.APIURL
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = e.Logger()
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 256
	}
	if c.HandleTimeout <= 0 {
		c.HandleTimeout = 30 * time.Second
	}
	if c.DedupeTTL <= 0 {
		c.DedupeTTL = time.Hour
	}
	if c.DedupeSize <= 0 {
		c.DedupeSize = 10000
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 10000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Stats count what the adapter did with what Slack sent, for logs, metrics
// and tests.
type Stats struct {
	// Events are Events API events and interactions accepted for handling.
	Events uint64
	// Duplicates are redeliveries dropped by event id.
	Duplicates uint64
	// Ignored are events handled by doing nothing: the bot's own
	// messages, edits, chatter the bot was not asked about.
	Ignored uint64
	// Handled are events that reached the engine or changed an escalation.
	Handled uint64
	// Failed are events whose handling failed (logged).
	Failed uint64
}

type counters struct {
	events, duplicates, ignored, handled, failed atomic.Uint64
}

// Adapter is the Slack channel: a bot.Sender for Slack conversations and
// the agents' side of every escalation. Create it with New, then Start;
// Close stops it.
type Adapter struct {
	engine *bot.Engine
	cfg    Config
	log    *slog.Logger
	api    *slackapi.Client

	// Set by Start from auth.test.
	botUserID, botID, teamID string

	agentChans map[string]bool
	seen       *seenSet
	users      *userCache
	stats      counters

	// Intake: jobs are handled by cfg.Workers goroutines.
	intake   sync.RWMutex
	started  bool
	stopping bool
	stop     chan struct{} // closed when intake stops
	jobs     chan func(context.Context)
	workers  sync.WaitGroup
	loops    sync.WaitGroup
	smCancel context.CancelFunc
	// hctx is the context handling runs under; cancelled only when Close
	// runs out of time.
	hctx    context.Context
	hcancel context.CancelFunc

	// Agent side: engine events queued by the subscriber, handled in order
	// by one goroutine.
	agentQ  *eventQueue
	agentWG sync.WaitGroup

	// parentMu is held while a new parent message is posted and stored.
	parentMu sync.RWMutex

	// suppress holds agent replies and notes written in a Slack thread
	// while they pass through the engine, so they are not mirrored back
	// into the thread they came from.
	suppressMu sync.Mutex
	suppress   map[string]int

	closing atomic.Bool
	closed  atomic.Bool
}

var _ bot.Sender = (*Adapter)(nil)

// New returns an adapter for engine. It does not talk to Slack until Start.
func New(engine *bot.Engine, cfg Config) (*Adapter, error) {
	if cfg.BotToken == "" {
		return nil, ErrNoBotToken
	}
	if cfg.AppToken == "" && cfg.SigningSecret == "" {
		return nil, ErrNoIntake
	}
	cfg.defaults(engine)
	for _, r := range cfg.Routes {
		if r.Channel == "" || (r.Stage == "" && r.Topic == "") {
			return nil, fmt.Errorf("%w: %q", ErrBadRoute, r.String())
		}
	}
	opts := []slackapi.Option{
		slackapi.OptionAPIURL(cfg.APIURL),
		slackapi.OptionHTTPClient(cfg.HTTPClient),
		slackapi.OptionLog(logOutput{cfg.Logger}),
	}
	if cfg.AppToken != "" {
		opts = append(opts, slackapi.OptionAppLevelToken(cfg.AppToken))
	}
	a := &Adapter{
		engine:     engine,
		cfg:        cfg,
		log:        cfg.Logger,
		api:        slackapi.New(cfg.BotToken, opts...),
		agentChans: map[string]bool{},
		seen:       newSeenSet(cfg.DedupeTTL, cfg.DedupeSize, cfg.Now),
		users:      newUserCache(userInfoTTL, userCacheSize, cfg.Now),
		stop:       make(chan struct{}),
		jobs:       make(chan func(context.Context), cfg.QueueSize),
		agentQ:     newEventQueue(cfg.MaxPending),
		suppress:   map[string]int{},
	}
	a.hctx, a.hcancel = context.WithCancel(context.Background())
	if cfg.AgentChannel != "" {
		a.agentChans[cfg.AgentChannel] = true
	}
	for _, r := range cfg.Routes {
		a.agentChans[r.Channel] = true
	}
	return a, nil
}

// Start checks the bot token (auth.test), registers the adapter as the
// engine's Slack sender, subscribes to escalations and, with an app-level
// token, connects Socket Mode. ctx bounds the start only.
func (a *Adapter) Start(ctx context.Context) error {
	a.intake.Lock()
	defer a.intake.Unlock()
	if a.stopping {
		return ErrClosed
	}
	if a.started {
		return nil
	}
	auth, err := a.api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("slack: auth.test: %w", err)
	}
	a.botUserID, a.botID, a.teamID = auth.UserID, auth.BotID, auth.TeamID
	a.engine.Register(bot.ChannelSlack, a)
	a.engine.Subscribe(a.onEngineEvent)

	for range a.cfg.Workers {
		a.workers.Go(func() {
			for job := range a.jobs {
				a.run(job)
			}
		})
	}
	a.agentWG.Go(a.agentLoop)
	if a.agentSide() {
		if err := a.resync(ctx); err != nil {
			a.log.Warn("slack resync of waiting conversations failed", "err", err)
		}
	}

	if a.cfg.AppToken != "" {
		smctx, cancel := context.WithCancel(context.Background())
		a.smCancel = cancel
		sm := socketmode.New(a.api,
			socketmode.OptionLog(logOutput{a.log}),
			socketmode.OptionPingInterval(a.pingInterval()),
			// Refuse absurd frames: events are a few KB.
			socketmode.OptionReadLimit(4<<20),
		)
		a.loops.Go(func() {
			err := sm.RunContext(smctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("slack socket mode stopped", "err", err)
			}
		})
		a.loops.Go(func() { a.socketLoop(smctx, sm) })
	}
	a.started = true
	a.log.Info("slack started", "team", a.teamID, "bot_user", a.botUserID,
		"socket_mode", a.cfg.AppToken != "", "events_api", a.cfg.SigningSecret != "",
		"agent_channel", a.cfg.AgentChannel, "routes", len(a.cfg.Routes))
	return nil
}

func (a *Adapter) pingInterval() time.Duration {
	if a.cfg.PingInterval > 0 {
		return a.cfg.PingInterval
	}
	return 30 * time.Second
}

// run handles one job with the per-event timeout, surviving panics so one
// bad payload cannot take the channel down.
func (a *Adapter) run(job func(context.Context)) {
	ctx, cancel := context.WithTimeout(a.hctx, a.cfg.HandleTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			a.stats.failed.Add(1)
			a.log.Error("slack handler panic", "panic", fmt.Sprint(p))
		}
	}()
	job(ctx)
}

// enqueue hands a job to the workers; false when intake has stopped.
func (a *Adapter) enqueue(job func(context.Context)) bool {
	a.intake.RLock()
	defer a.intake.RUnlock()
	if !a.started || a.stopping {
		return false
	}
	select {
	case a.jobs <- job:
		return true
	case <-a.stop:
		return false
	}
}

// Close stops intake (Socket Mode disconnects, Handler answers 503), lets
// the events already acknowledged finish, posts the agent-side work they
// caused, and returns. When ctx ends first, handling in flight is
// cancelled and ctx's error returned.
func (a *Adapter) Close(ctx context.Context) error {
	if !a.closing.CompareAndSwap(false, true) {
		return nil
	}
	// Wake intake waiting for room first, then make sure no new job can be
	// sent: after this, jobs may be closed.
	close(a.stop)
	a.intake.Lock()
	a.stopping = true
	started := a.started
	a.intake.Unlock()
	if a.smCancel != nil {
		a.smCancel()
	}
	if !started {
		a.closed.Store(true)
		a.hcancel()
		return nil
	}
	close(a.jobs)
	a.loops.Wait()

	err := wait(ctx, &a.workers)
	// Our own handling is over (or abandoned): close the agent queue once
	// what it holds is posted; later engine events are dropped.
	a.closed.Store(true)
	a.agentQ.close()
	if err == nil {
		err = wait(ctx, &a.agentWG)
	}
	a.hcancel()
	if err != nil {
		a.workers.Wait()
		a.agentWG.Wait()
		return fmt.Errorf("slack: close: %w", err)
	}
	a.log.Info("slack stopped")
	return nil
}

// wait waits for wg or ctx.
func wait(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the counters so far.
func (a *Adapter) Stats() Stats {
	return Stats{
		Events:     a.stats.events.Load(),
		Duplicates: a.stats.duplicates.Load(),
		Ignored:    a.stats.ignored.Load(),
		Handled:    a.stats.handled.Load(),
		Failed:     a.stats.failed.Load(),
	}
}

// logOutput lets slack-go log through slog at debug level. slack-go only
// logs in debug mode, which the adapter never enables, and redacts tokens.
type logOutput struct{ l *slog.Logger }

func (o logOutput) Output(_ int, s string) error {
	o.l.Debug("slack-go", "msg", strings.TrimSpace(s))
	return nil
}
