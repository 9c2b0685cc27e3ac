// Package console is the agents' side of Frontdesk: agent accounts, login
// sessions, the agent console at /agent (a live queue over a WebSocket,
// transcripts, replies, private notes, canned replies, transfer, resolve)
// and the same operations as an authenticated JSON API under /api/.
//
// The handoff itself (who may claim, reply, resolve) is decided by
// bot.Engine; this package authenticates people, checks roles and turns the
// engine's events into live updates. docs/agents.md is the user guide.
package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Config tunes a Console. The zero value works.
type Config struct {
	// Logger receives the console's logs. Default: discard.
	Logger *slog.Logger
	// Orders feeds the orders panel. Default nil: the panel says no order
	// source is configured.
	Orders OrderLister
	// SecureCookies marks the session cookie Secure even on plain HTTP
	// requests (behind a TLS-terminating proxy). Default false: Secure only
	// when the request itself came over TLS.
	SecureCookies bool
	// SessionTTL is how long a login lasts. Default 12 hours.
	SessionTTL time.Duration
	// LoginFailures is how many failed logins an IP address or an agent id
	// may have per LoginWindow before further attempts are refused.
	// Default 5.
	LoginFailures int
	// LoginWindow is the login rate-limit window. Default 1 minute.
	LoginWindow time.Duration
	// HeartbeatTTL is how long a POST /api/heartbeat keeps an API client's
	// agent online. Default 90 seconds.
	HeartbeatTTL time.Duration
	// AllowedOrigins are extra origins ("https://admin.shop.example")
	// allowed to send state-changing requests with a session cookie and
	// to open the console WebSocket. The server's own origin is always
	// allowed. Default none.
	AllowedOrigins []string
	// TrustProxy takes the client address for login rate limiting from the
	// last X-Forwarded-For entry (set it only behind a reverse proxy that
	// appends it). Default false: the connection's address.
	TrustProxy bool
	// PingInterval is how often console WebSockets are pinged and their
	// sessions re-checked. Default 30 seconds.
	PingInterval time.Duration
	// BcryptCost is the cost of new password hashes. Default
	// bcrypt.DefaultCost; tests lower it.
	BcryptCost int
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.LoginFailures <= 0 {
		c.LoginFailures = 5
	}
	if c.LoginWindow <= 0 {
		c.LoginWindow = time.Minute
	}
	if c.HeartbeatTTL <= 0 {
		c.HeartbeatTTL = 90 * time.Second
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 30 * time.Second
	}
	return c
}

// Console serves the agent console and the agents' API. Create it with New,
// mount it with Mount, register it as the engine's presence and Close it on
// shutdown.
type Console struct {
	engine   *bot.Engine
	store    bot.Store
	cfg      Config
	log      *slog.Logger
	accounts *Accounts
	limiter  *limiter
	presence *presence
	hub      *hub

	mu     sync.RWMutex
	orders OrderLister
}

// New returns a console for the engine's conversations, keeping its own
// records in the engine's store. It subscribes to the engine's events.
func New(e *bot.Engine, cfg Config) *Console {
	cfg = cfg.withDefaults()
	c := &Console{
		engine:   e,
		store:    e.Store(),
		cfg:      cfg,
		log:      cfg.Logger,
		accounts: &Accounts{Store: e.Store(), Cost: cfg.BcryptCost, Now: e.Now},
		limiter:  newLimiter(cfg.LoginFailures, cfg.LoginWindow),
		presence: newPresence(cfg.HeartbeatTTL),
		orders:   cfg.Orders,
	}
	c.hub = newHub(c)
	e.Subscribe(c.hub.publish)
	return c
}

// Accounts gives access to the agent accounts.
func (c *Console) Accounts() *Accounts { return c.accounts }

// SetOrders sets (or replaces) the orders panel's source.
func (c *Console) SetOrders(o OrderLister) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.orders = o
}

func (c *Console) orderLister() OrderLister {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.orders
}

// OnlineAgents implements bot.Presence: agents with the console open or an
// API client sending heartbeats.
func (c *Console) OnlineAgents() int { return c.presence.count(c.engine.Now()) }

var _ bot.Presence = (*Console)(nil)

// Mount registers the console's routes on mux: /agent, /agent/… and the
// /api/… endpoints (each registered by method and path, so other parts may
// add their own /api/ routes).
func (c *Console) Mount(mux *http.ServeMux) {
	// Pages.
	mux.HandleFunc("GET /agent", c.page(c.serveConsole))
	mux.HandleFunc("GET /agent/{$}", redirectTo("/agent"))
	mux.HandleFunc("GET /agent/login", c.serveLoginPage)
	mux.HandleFunc("POST /agent/login", c.serveLoginForm)
	mux.HandleFunc("POST /agent/logout", c.page(c.serveLogoutForm))
	mux.HandleFunc("GET /agent/static/{file}", c.serveStatic)
	mux.HandleFunc("GET /agent/ws", c.serveWS)

	// API.
	mux.HandleFunc("POST /api/login", c.apiLogin)
	mux.HandleFunc("POST /api/logout", c.api(roleAgent, c.apiLogout))
	mux.HandleFunc("GET /api/me", c.api(roleAgent, c.apiMe))
	mux.HandleFunc("POST /api/heartbeat", c.api(roleAgent, c.apiHeartbeat))
	mux.HandleFunc("GET /api/queue", c.api(roleAgent, c.apiQueue))
	mux.HandleFunc("GET /api/conversations/{id}", c.api(roleAgent, c.apiView))
	mux.HandleFunc("POST /api/conversations/{id}/claim", c.api(roleAgent, c.apiClaim))
	mux.HandleFunc("POST /api/conversations/{id}/reply", c.api(roleAgent, c.apiReply))
	mux.HandleFunc("POST /api/conversations/{id}/notes", c.api(roleAgent, c.apiNote))
	mux.HandleFunc("POST /api/conversations/{id}/transfer", c.api(roleAgent, c.apiTransfer))
	mux.HandleFunc("POST /api/conversations/{id}/resolve", c.api(roleAgent, c.apiResolve))
	mux.HandleFunc("GET /api/canned", c.api(roleAgent, c.apiCannedList))
	mux.HandleFunc("POST /api/canned", c.api(roleAdmin, c.apiCannedCreate))
	mux.HandleFunc("PUT /api/canned/{id}", c.api(roleAdmin, c.apiCannedUpdate))
	mux.HandleFunc("DELETE /api/canned/{id}", c.api(roleAdmin, c.apiCannedDelete))
	mux.HandleFunc("GET /api/agents", c.api(roleAgent, c.apiAgents))
	mux.HandleFunc("POST /api/conversations/{id}/assign", c.api(roleAdmin, c.apiAssign))
	mux.HandleFunc("GET /api/customers", c.api(roleAgent, c.apiCustomerSearch))
	mux.HandleFunc("GET /api/customers/{id}", c.api(roleAgent, c.apiCustomer))
	mux.HandleFunc("POST /api/customers/{id}/link", c.api(roleAgent, c.apiCustomerLink))
	mux.HandleFunc("POST /api/customers/referrals", c.api(roleAgent, c.apiReferral))
}

// Handler returns a mux with only the console's routes, for tests and for
// serving the console on its own.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	c.Mount(mux)
	return mux
}

// Close closes every console WebSocket (agents' pages reconnect to the
// next server) and stops the event fan-out.
func (c *Console) Close(ctx context.Context) error {
	return c.hub.close(ctx)
}

func redirectTo(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, path, http.StatusSeeOther)
	}
}
