// Package discord is the Discord channel: customers ask the bot in direct
// messages or by mentioning it in a server's channels, and (optionally)
// agents take escalated conversations from any channel in threads of a
// staff server's channel.
//
// The adapter holds the Discord gateway WebSocket open through discordgo
// (Discord has no outgoing webhooks for messages), requests only the
// intents it needs, resumes after drops and lets discordgo's rate limiter
// pace REST calls. It implements bot.Sender for the discord channel.
package discord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Engine is what the adapter needs from the bot engine; *bot.Engine
// implements it.
type Engine interface {
	Handle(ctx context.Context, in bot.Inbound) (bot.Receipt, error)
	Claim(ctx context.Context, convID string, agent bot.Agent) (bot.Conversation, error)
	Resolve(ctx context.Context, convID string, agent bot.Agent) error
	Reply(ctx context.Context, convID string, agent bot.Agent, text string) (bot.Message, error)
	Note(ctx context.Context, convID string, agent bot.Agent, text string) (bot.Message, error)
	View(ctx context.Context, convID string) (bot.ConversationView, error)
	Queue(ctx context.Context) ([]bot.QueueEntry, error)
	Store() bot.Store
	Subscribe(fn func(bot.Event))
}

var _ Engine = (*bot.Engine)(nil)

// Mode is how the bot answers a mention in a server channel.
type Mode string

// Answer modes.
const (
	// ModeThread starts a thread from the customer's message and answers
	// there; follow-ups in the thread continue the conversation.
	ModeThread Mode = "thread"
	// ModeReply answers with a reply to the customer's message in the
	// channel itself.
	ModeReply Mode = "reply"
)

// ParseMode parses "thread" or "reply".
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case ModeThread, ModeReply:
		return Mode(s), nil
	}
	return "", fmt.Errorf("discord: unknown reply mode %q (want thread or reply)", s)
}

// Errors.
var (
	// ErrNoToken: Config.Token is empty.
	ErrNoToken = errors.New("discord: no bot token")
	// ErrClosed: the adapter was closed.
	ErrClosed = errors.New("discord: closed")
	// ErrNoAddress: the conversation has no Discord channel to answer in.
	ErrNoAddress = errors.New("discord: conversation has no discord channel")
	// ErrNote: private notes are never sent to customers.
	ErrNote = errors.New("discord: a private note is never sent to a customer")
)

// Config configures the adapter. Only Token is required.
type Config struct {
	// Token is the bot token from the developer portal ("Bot " is added
	// when missing). Never logged.
	Token string
	// AppID is the application id. Default: learnt from READY.
	AppID string
	// MessageContent requests the privileged Message Content intent, so
	// the bot reads follow-ups in its threads and agents' thread messages
	// without being mentioned. Default false: the bot reads only direct
	// messages and messages that mention it.
	MessageContent bool
	// ReplyMode is how mentions in server channels are answered. Default
	// ModeThread.
	ReplyMode Mode
	// GuildModes overrides ReplyMode per server (guild id). Default none.
	GuildModes map[string]Mode
	// AgentChannel is the staff server's channel id where escalations are
	// posted, one thread per conversation. Default "": no agent side.
	AgentChannel string
	// AgentRole, if set, is the role id a member needs to act as an agent.
	// Default "": everyone who can see the agents' channel.
	AgentRole string
	// ThreadArchive is the auto-archive time of customers' threads in
	// minutes (60, 1440, 4320 or 10080). Default 1440.
	ThreadArchive int
	// AgentThreadArchive is the same for agents' threads. Default 10080.
	AgentThreadArchive int
	// TranscriptLines is how many recent messages an escalation card
	// shows. Default 10.
	TranscriptLines int
	// MaxPending bounds queued inbound work; beyond it events are dropped
	// and logged. Default 1024.
	MaxPending int
	// Greeting answers a bare mention with no question. Default: "Hi! Ask
	// me your question in a message that mentions me."
	Greeting string
	// Logger receives the adapter's logs. Default: discard.
	Logger *slog.Logger
	// HTTPClient makes REST calls. Default: a client with a 20s timeout.
	HTTPClient *http.Client
	// NoReconnect turns off reconnecting after gateway errors (tests).
	// Default false: reconnect and resume.
	NoReconnect bool
	// APIURL redirects REST calls for https://discord.com to another base
	// URL, such as a local fake. Default "": Discord itself. Tests only.
	APIURL string
	// GatewayURL overrides the gateway URL discovered from the REST API.
	// Default "": discovered. Tests only.
	GatewayURL string
}

func (c Config) withDefaults() Config {
	if c.ReplyMode == "" {
		c.ReplyMode = ModeThread
	}
	if c.ThreadArchive <= 0 {
		c.ThreadArchive = 1440
	}
	if c.AgentThreadArchive <= 0 {
		c.AgentThreadArchive = 10080
	}
	if c.TranscriptLines <= 0 {
		c.TranscriptLines = 10
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 1024
	}
	if c.Greeting == "" {
		c.Greeting = "Hi! Ask me your question in a message that mentions me."
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 20 * time.Second}
	}
	return c
}

// Intents returns the gateway intents the configuration needs: server and
// direct messages, plus message content only when configured.
func (c Config) Intents() discordgo.Intent {
	in := discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages
	if c.MessageContent {
		in |= discordgo.IntentMessageContent
	}
	return in
}

// Stats are the adapter's counters.
type Stats struct {
	// Received counts gateway messages and interactions seen.
	Received int64
	// Ignored counts those not meant for the bot (its own, other bots',
	// unmentioned channel chatter, unreadable content).
	Ignored int64
	// Handled counts those processed to the end.
	Handled int64
	// Dropped counts those refused because the queue was full or closing.
	Dropped int64
	// Connects counts gateway sessions opened or resumed.
	Connects int64
}

// Adapter is the Discord channel. Create it with New, register it with
// the engine for bot.ChannelDiscord, then Open; Close when done.
type Adapter struct {
	engine Engine
	cfg    Config
	log    *slog.Logger
	s      *discordgo.Session
	lanes  *lanes

	// ctx is the base of all work; cancelled when Close gives up draining.
	ctx    context.Context
	cancel context.CancelFunc

	botID  atomic.Value // string
	appID  atomic.Value // string
	closed atomic.Bool

	received, ignored, handled, dropped, connects atomic.Int64
}

var _ bot.Sender = (*Adapter)(nil)

// New builds an adapter. It does not connect: call Open.
func New(engine Engine, cfg Config) (*Adapter, error) {
	if cfg.Token == "" {
		return nil, ErrNoToken
	}
	cfg = cfg.withDefaults()
	if _, err := ParseMode(string(cfg.ReplyMode)); err != nil {
		return nil, err
	}
	for g, m := range cfg.GuildModes {
		if _, err := ParseMode(string(m)); err != nil {
			return nil, fmt.Errorf("%w (guild %s)", err, g)
		}
	}
	token := cfg.Token
	if len(token) < 4 || token[:4] != "Bot " {
		token = "Bot " + token
	}
	s, err := discordgo.New(token)
	if err != nil {
		return nil, fmt.Errorf("discord: session: %w", err)
	}
	client := *cfg.HTTPClient
	if cfg.APIURL != "" || cfg.GatewayURL != "" {
		rt, err := newRewriter(cfg.APIURL, cfg.GatewayURL, client.Transport)
		if err != nil {
			return nil, err
		}
		client.Transport = rt
	}
	s.Client = &client
	s.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 15 * time.Second}
	s.Identify.Intents = cfg.Intents()
	s.StateEnabled = false
	// Errors only: its warnings dump whole events (customers' messages) and
	// its debug output the identify payload, token and all. Connects and
	// disconnects are logged by the adapter.
	s.LogLevel = discordgo.LogError
	// Handlers only classify and queue (never block), so running them on
	// the read loop keeps each person's messages in order.
	s.SyncEvents = true
	s.ShouldReconnectOnError = !cfg.NoReconnect
	s.ShouldRetryOnRateLimit = true

	ctx, cancel := context.WithCancel(context.Background())
	a := &Adapter{engine: engine, cfg: cfg, log: cfg.Logger, s: s, lanes: newLanes(cfg.MaxPending), ctx: ctx, cancel: cancel}
	a.botID.Store("")
	a.appID.Store(cfg.AppID)
	s.AddHandler(a.onReady)
	s.AddHandler(a.onConnect)
	s.AddHandler(a.onDisconnect)
	s.AddHandler(a.onMessage)
	s.AddHandler(a.onInteraction)
	s.AddHandler(a.onRateLimit)
	if cfg.AgentChannel != "" {
		engine.Subscribe(a.onEvent)
	}
	return a, nil
}

// Stats returns the counters.
func (a *Adapter) Stats() Stats {
	return Stats{
		Received: a.received.Load(), Ignored: a.ignored.Load(), Handled: a.handled.Load(),
		Dropped: a.dropped.Load(), Connects: a.connects.Load(),
	}
}

// BotID is the bot's user id once connected, else "".
func (a *Adapter) BotID() string { return a.botID.Load().(string) }

// Open connects to the gateway and returns once the session is ready.
// discordgo's handshake has no deadline of its own: ctx bounds it, and a
// handshake that completes after ctx ended is closed again.
func (a *Adapter) Open(ctx context.Context) error {
	if a.closed.Load() {
		return ErrClosed
	}
	done := make(chan error, 1)
	go func() { done <- a.s.Open() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("discord: open gateway: %w", err)
		}
		a.log.Info("discord connected", "bot", a.BotID(), "app", a.appID.Load(), "intents", int(a.cfg.Intents()))
		if a.cfg.AgentChannel != "" {
			a.backfill(ctx)
		}
		return nil
	case <-ctx.Done():
		go func() {
			if <-done == nil {
				_ = a.s.Close()
			}
		}()
		return fmt.Errorf("discord: open gateway: %w", ctx.Err())
	}
}

// Close stops taking events, closes the gateway and waits for messages
// in flight to be answered, at most until ctx ends; then it cancels what
// is left.
func (a *Adapter) Close(ctx context.Context) error {
	if a.closed.Swap(true) {
		return nil
	}
	a.lanes.close()
	closed := make(chan error, 1)
	go func() { closed <- a.s.Close() }()
	var errs []error
	select {
	case err := <-closed:
		errs = append(errs, err)
	case <-ctx.Done():
	}
	if err := a.lanes.wait(ctx); err != nil {
		a.log.Warn("discord drain incomplete", "err", err)
		errs = append(errs, fmt.Errorf("discord: drain: %w", err))
	}
	a.cancel()
	return errors.Join(errs...)
}

func (a *Adapter) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	if r.User != nil {
		a.botID.Store(r.User.ID)
	}
	if a.cfg.AppID == "" && r.Application != nil {
		a.appID.Store(r.Application.ID)
	}
}

func (a *Adapter) onConnect(s *discordgo.Session, _ *discordgo.Connect) {
	if a.connects.Add(1) > 1 {
		a.log.Info("discord gateway reconnected")
	}
	if a.closed.Load() {
		// A reconnect raced with Close and won: close again. Not inline:
		// Open holds the session lock while it emits this event.
		go func() { _ = s.Close() }()
	}
}

func (a *Adapter) onDisconnect(_ *discordgo.Session, _ *discordgo.Disconnect) {
	if !a.closed.Load() {
		a.log.Warn("discord gateway disconnected", "reconnect", !a.cfg.NoReconnect)
	}
}

func (a *Adapter) onRateLimit(_ *discordgo.Session, r *discordgo.RateLimit) {
	var after time.Duration
	if r.TooManyRequests != nil {
		after = r.RetryAfter
	}
	a.log.Info("discord rate limited", "retry_after", after)
}

// opt passes ctx to a REST call.
func opt(ctx context.Context) discordgo.RequestOption { return discordgo.WithContext(ctx) }
