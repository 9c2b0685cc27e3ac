package web

import (
	"io"
	"log/slog"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Config tunes a Server. The zero value works: every zero field takes the
// default stated in its comment.
type Config struct {
	// AllowedOrigins lists the sites that may embed the widget, as
	// "scheme://host[:port]" (for example "https://shop.example"). "*"
	// allows any origin. Requests from the server's own origin (Origin host
	// equal to Host) are always allowed. Default: same-origin only.
	AllowedOrigins []string

	// ReadLimit bounds one client frame in bytes. A bigger frame gets an
	// error frame (code "too_large") and the connection is closed with
	// close code 1009. Default 16 KiB.
	ReadLimit int64

	// SendQueue is how many outbound frames may wait for one connection.
	// When it is full the client is too slow: it is disconnected so it
	// never holds up anyone else. Default 64.
	SendQueue int

	// PingInterval is how often the server pings each client. Default 25s,
	// under the 30s idle timeouts of common proxies.
	PingInterval time.Duration
	// PongWait is how long a client may stay silent (no frame, no pong)
	// before the connection is considered dead. Default 60s.
	PongWait time.Duration
	// WriteWait bounds writing one frame. Default 10s.
	WriteWait time.Duration
	// HelloTimeout is how long a new connection has to send its hello
	// frame. Default 10s.
	HelloTimeout time.Duration

	// RatePerMinute is the sustained number of messages (and choices) a
	// visitor may send per minute, across all their tabs. Messages over the
	// limit get an error frame with code "rate_limited" and are not stored.
	// Default 20.
	RatePerMinute int
	// Burst is how many messages a visitor may send at once before the rate
	// applies. Default 5.
	Burst int
	// FloodLimit is how many frames of one connection may be rejected
	// (rate-limited or invalid) within a minute before the connection is
	// closed with close code 1008. Default 50.
	FloodLimit int

	// MaxConnections caps concurrent WebSocket connections. At the cap new
	// upgrades get HTTP 503 with a JSON body; existing connections keep
	// working. Default 0: unlimited.
	MaxConnections int

	// IdentitySecret is the HS256 secret that verifies visitor identity
	// tokens (see VerifyIdentity). Default empty: tokens are refused with an
	// "unauthorized" error frame and the visitor stays anonymous.
	IdentitySecret []byte

	// HistoryLimit is how many recent messages the welcome frame carries.
	// Default 200.
	HistoryLimit int
	// MaxTextBytes bounds a message's text, as the engine does; keep it equal
	// to bot.Config.MaxTextBytes. Default bot.DefaultMaxTextBytes.
	MaxTextBytes int

	// Logger receives the server's logs. Default: discard.
	Logger *slog.Logger
	// Now returns the current time (rate limits, token expiry). Default
	// time.Now.
	Now func() time.Time
}

// Defaults of Config.
const (
	DefaultReadLimit     = 16 << 10
	DefaultSendQueue     = 64
	DefaultPingInterval  = 25 * time.Second
	DefaultPongWait      = 60 * time.Second
	DefaultWriteWait     = 10 * time.Second
	DefaultHelloTimeout  = 10 * time.Second
	DefaultRatePerMinute = 20
	DefaultBurst         = 5
	DefaultFloodLimit    = 50
	DefaultHistoryLimit  = 200
)

func (c Config) withDefaults() Config {
	if c.ReadLimit <= 0 {
		c.ReadLimit = DefaultReadLimit
	}
	if c.SendQueue <= 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PongWait <= 0 {
		c.PongWait = DefaultPongWait
	}
	if c.PongWait <= c.PingInterval {
		// A pong can only arrive after a ping: waiting less than the ping
		// interval would drop every healthy idle client.
		c.PongWait = c.PingInterval * 2
	}
	if c.WriteWait <= 0 {
		c.WriteWait = DefaultWriteWait
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = DefaultHelloTimeout
	}
	if c.RatePerMinute <= 0 {
		c.RatePerMinute = DefaultRatePerMinute
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.FloodLimit <= 0 {
		c.FloodLimit = DefaultFloodLimit
	}
	if c.HistoryLimit <= 0 {
		c.HistoryLimit = DefaultHistoryLimit
	}
	if c.MaxTextBytes <= 0 {
		c.MaxTextBytes = bot.DefaultMaxTextBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
