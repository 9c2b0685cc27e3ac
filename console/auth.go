package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// CookieName is the console's session cookie.
const CookieName = "frontdesk_agent"

// CSRFHeader carries the session's CSRF token on JSON API writes; forms
// send it in the hidden field CSRFField.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf"
)

// Session is a login, stored under the hash of its id. The id itself only
// exists in the agent's cookie.
type Session struct {
	AgentID   string    `json:"agent_id"`
	CSRF      string    `json:"csrf"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// principal is who made a request.
type principal struct {
	acc Account
	// session is nil for bearer-token requests.
	session *Session
	// sessionKey is the stored key (hash) of the session.
	sessionKey string
}

func (p *principal) agent() bot.Agent { return p.acc.Agent() }
func (p *principal) admin() bool      { return p.acc.Role == bot.RoleNameAdmin }

// newSession stores a session for acc and returns its id (for the cookie).
func (c *Console) newSession(ctx context.Context, acc Account) (string, Session, error) {
	id := randomString(32)
	now := c.engine.Now()
	s := Session{AgentID: acc.ID, CSRF: randomString(32), CreatedAt: now, ExpiresAt: now.Add(c.cfg.SessionTTL)}
	key := hashSecret(id)
	err := c.store.Update(ctx, func(tx bot.Tx) error {
		if err := purgeExpired(tx, now); err != nil {
			return err
		}
		return tx.Put(BucketSessions, []byte(key), s)
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("console: store session: %w", err)
	}
	return id, s, nil
}

// purgeExpired deletes sessions past their expiry. Keys are collected
// first: deleting while scanning could skip some.
func purgeExpired(tx bot.Tx, now time.Time) error {
	return deleteSessionsWhere(tx, func(s Session) bool { return !now.Before(s.ExpiresAt) })
}

func deleteSessions(tx bot.Tx, agentID string) error {
	return deleteSessionsWhere(tx, func(s Session) bool { return s.AgentID == agentID })
}

func deleteSessionsWhere(tx bot.Tx, match func(Session) bool) error {
	var keys [][]byte
	err := tx.Scan(BucketSessions, nil, nil, func(k []byte, decode func(any) error) (bool, error) {
		var s Session
		if err := decode(&s); err != nil {
			return false, err
		}
		if match(s) {
			keys = append(keys, append([]byte(nil), k...))
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(BucketSessions, k); err != nil {
			return err
		}
	}
	return nil
}

// errUnauthenticated means no valid credentials came with the request.
var errUnauthenticated = errors.New("not signed in")

// sessionFrom returns the valid session named by the request's cookie.
func (c *Console) sessionFrom(r *http.Request) (*principal, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return nil, errUnauthenticated
	}
	return c.loadSession(r.Context(), hashSecret(ck.Value))
}

func (c *Console) loadSession(ctx context.Context, key string) (*principal, error) {
	var s Session
	var acc Account
	err := c.store.View(ctx, func(tx bot.Tx) error {
		ok, err := tx.Get(BucketSessions, []byte(key), &s)
		if err != nil {
			return err
		}
		if !ok {
			return errUnauthenticated
		}
		acc, err = getAccount(tx, s.AgentID)
		if errors.Is(err, ErrNoAgent) {
			return errUnauthenticated
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !c.engine.Now().Before(s.ExpiresAt) {
		return nil, errUnauthenticated
	}
	return &principal{acc: acc, session: &s, sessionKey: key}, nil
}

// authenticate finds who made the request: a bearer API token or a
// session cookie.
func (c *Console) authenticate(r *http.Request) (*principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, errUnauthenticated
		}
		acc, err := c.accounts.ByToken(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, ErrNoAgent) {
			return nil, errUnauthenticated
		}
		if err != nil {
			return nil, err
		}
		return &principal{acc: acc}, nil
	}
	return c.sessionFrom(r)
}

// checkCSRF protects cookie-authenticated writes: the session's token must
// come in the X-CSRF-Token header (or the csrf form field), and the Origin
// or Referer, when present, must be ours.
func (c *Console) checkCSRF(r *http.Request, p *principal) error {
	if p.session == nil {
		return nil // bearer tokens are never sent by a browser on its own
	}
	if !c.sameOrigin(r) {
		return errors.New("cross-origin request")
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.session.CSRF)) != 1 {
		return errors.New("missing or wrong CSRF token")
	}
	return nil
}

// sameOrigin reports whether the request's Origin (or, without one, its
// Referer) is this server or an allowed origin. Requests with neither are
// allowed: non-browser clients send none, and browsers send Origin on
// every cross-site write.
func (c *Console) sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
		if src == "" {
			return true
		}
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return false // includes Origin: null
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, o := range c.cfg.AllowedOrigins {
		if strings.ToLower(strings.TrimRight(o, "/")) == origin {
			return true
		}
	}
	return false
}

// setSessionCookie sends the session cookie: HttpOnly so scripts cannot
// read it, SameSite=Strict so other sites' requests do not carry it, and
// Secure over TLS (or when configured, behind a TLS proxy).
func (c *Console) setSessionCookie(w http.ResponseWriter, r *http.Request, id string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: id, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || c.cfg.SecureCookies,
	})
}

// login checks credentials under the rate limit and starts a session.
// Errors are *bot.Error values fit for the client.
func (c *Console) login(r *http.Request, id, password string) (Account, string, Session, error) {
	ip := c.clientIP(r)
	// What was typed as an id may be a password typed in the wrong box, or
	// 64 KiB of junk: logs and limiter keys only ever see a valid id.
	nid, idErr := NormalizeID(id)
	if idErr != nil {
		nid = "(invalid)"
	}
	now := c.engine.Now()
	keys := []string{"ip:" + ip, "id:" + nid}
	if wait := c.limiter.blocked(now, keys...); wait > 0 {
		return Account{}, "", Session{}, &bot.Error{Code: bot.ECodeRateLimited,
			Message: fmt.Sprintf("Too many failed sign-ins. Try again in %d seconds.", int(wait.Seconds())+1)}
	}
	acc, err := c.accounts.Authenticate(r.Context(), id, password)
	if errors.Is(err, errWrongPassword) {
		c.limiter.fail(now, keys...)
		c.log.Info("agent login failed", "id", nid, "ip", ip)
		return Account{}, "", Session{}, bot.Errorf(bot.ECodeUnauthorized, "Wrong id or password.")
	}
	if err != nil {
		return Account{}, "", Session{}, err
	}
	c.limiter.reset("id:" + nid)
	sid, s, err := c.newSession(r.Context(), acc)
	if err != nil {
		return Account{}, "", Session{}, err
	}
	c.log.Info("agent logged in", "id", acc.ID, "ip", ip)
	return acc, sid, s, nil
}

// logout deletes the session and closes its console WebSockets.
func (c *Console) logout(ctx context.Context, p *principal) error {
	if p.session == nil {
		return nil
	}
	err := c.store.Update(ctx, func(tx bot.Tx) error { return tx.Delete(BucketSessions, []byte(p.sessionKey)) })
	c.hub.closeSession(p.sessionKey)
	return err
}

func (c *Console) clientIP(r *http.Request) string {
	if c.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if ip := strings.TrimSpace(parts[len(parts)-1]); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter counts failed logins per key in fixed windows.
type limiter struct {
	max    int
	window time.Duration

	mu sync.Mutex
	m  map[string]*window
}

type window struct {
	n     int
	until time.Time
}

// maxLimiterKeys bounds the limiter's memory under a flood of distinct ids.
const maxLimiterKeys = 100_000

func newLimiter(max int, w time.Duration) *limiter {
	return &limiter{max: max, window: w, m: map[string]*window{}}
}

// blocked returns how long until the most limited key may try again; 0
// when none is blocked.
func (l *limiter) blocked(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if w := l.m[k]; w != nil && w.n >= l.max && now.Before(w.until) {
			wait = max(wait, w.until.Sub(now))
		}
	}
	return wait
}

func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= maxLimiterKeys {
		for k, w := range l.m {
			if !now.Before(w.until) {
				delete(l.m, k)
			}
		}
	}
	for _, k := range keys {
		w := l.m[k]
		if w == nil || !now.Before(w.until) {
			if len(l.m) >= maxLimiterKeys {
				continue
			}
			w = &window{until: now.Add(l.window)}
			l.m[k] = w
		}
		w.n++
	}
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, key)
}
